"""Shared pytest set-up: Hypothesis profiles, benchmark mode, and every project module imported first
(`harness.source_constants`).

- ``--hypothesis-profile=NAME`` or $HYPOTHESIS_PROFILE selects dev / ci / nightly (default dev).
- Benchmarks under tests/bench run once, as plain tests, unless ``--benchmark-only`` (or
  ``--benchmark-enable``) asks for timing: speed is measured in benchmarks, not in the test run.
  Timing runs switch pytest-xdist's parallel workers (``-n auto`` in pyproject.toml) off.
- The property tests of one registry cell (op x dtype) are collected next to each other, so that
  pytest-xdist hands them to the same worker, whose compile cache (`harness.conformance.engine.compile_signature`)
  then exports and compiles each graph once for all of them.
"""

import os

import pytest

from harness.source_constants import import_every_project_module
from strategies.profiles import load_profile


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    # every project module before any draw: a derandomized test then draws the same examples whichever
    # tests its xdist worker ran before (Hypothesis draws constants from the local modules loaded)
    import_every_project_module()
    # The hypothesis plugin loads --hypothesis-profile itself; fall back to the environment variable.
    if not config.getoption("hypothesis_profile", default=None):
        load_profile(os.environ.get("HYPOTHESIS_PROFILE") or "dev")
    wants_timing = config.getoption("benchmark_only", default=False) or config.getoption(
        "benchmark_enable", default=False)
    if wants_timing:
        # Timing runs in one process: parallel workers would disturb each other's measurements.
        config.option.numprocesses = 0
        config.option.dist = "no"
    elif hasattr(config.option, "benchmark_disable"):
        config.option.benchmark_disable = True


def _cell_of(item) -> str | None:
    """The registry cell a property test checks (its ``spec-dtype`` id), None for other tests."""
    callspec = getattr(item, "callspec", None)
    if callspec is None or not item.nodeid.startswith("tests/harness/conformance/test_properties.py"):
        return None
    return callspec.id


def pytest_collection_modifyitems(session, config, items):
    positions = {}
    for index, item in enumerate(items):
        positions.setdefault(_cell_of(item) or item.nodeid, index)
    # stable: each cell's tests move to where its first one was, in their own order
    items.sort(key=lambda item: positions[_cell_of(item) or item.nodeid])
