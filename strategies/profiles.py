"""Hypothesis settings profiles shared by the test suite and the `harness run` command.

- ``dev``: fast feedback while editing (few examples, random).
- ``ci``: derandomized and bounded so the whole suite stays well under 15 minutes on 2 cores; an op
  whose graph is slow to compile per input shape gets a share of its examples (`examples_for`).
- ``nightly``: many random examples, for the scheduled conformance run.

Select with ``pytest --hypothesis-profile=NAME`` or ``HYPOTHESIS_PROFILE=NAME``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

PROFILE_NAMES = ("dev", "ci", "nightly")

_COMMON = dict(
    deadline=None,  # compile times vary; speed belongs in benchmarks, not in property tests
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

settings.register_profile("dev", max_examples=10, **_COMMON)
settings.register_profile(
    "ci",
    # the nightly profile is where depth goes; the ci suite has to stay near 15 minutes on 2 cores
    max_examples=16,
    derandomize=True,
    database=None,
    print_blob=True,
    **_COMMON,
)
settings.register_profile(
    "nightly",
    max_examples=300,
    phases=list(Phase),
    print_blob=True,
    **_COMMON,
)


def load_profile(name: str | None = None) -> str:
    """Load ``name`` (or $HYPOTHESIS_PROFILE, else ``dev``); a clear error for unknown names."""
    name = name or os.environ.get("HYPOTHESIS_PROFILE") or "dev"
    if name not in PROFILE_NAMES:
        raise ValueError(f"unknown Hypothesis profile {name!r}; choose one of {', '.join(PROFILE_NAMES)}")
    settings.load_profile(name)
    return name


def examples_for(max_examples: int, *, ci_share: float) -> int:
    """``max_examples``, or ``ci_share`` of it (at least 2) while the ci profile is loaded: each new
    input shape compiles a new graph, and a Loop-based composition's graph takes ~0.5 s to export and
    load, so such ops get fewer ci examples; the dev and nightly profiles keep every example."""
    if not 0 < ci_share <= 1:
        raise ValueError(f"ci_share must be in (0, 1], got {ci_share!r}")
    if ci_share == 1 or settings.get_current_profile_name() != "ci":
        return max_examples
    return max(2, round(max_examples * ci_share))
