"""Shared pytest set-up: Hypothesis profiles (``--hypothesis-profile`` or $HYPOTHESIS_PROFILE)."""

import os

from strategies.profiles import load_profile


def pytest_configure(config):
    # The hypothesis plugin loads --hypothesis-profile itself; fall back to the environment variable.
    if not config.getoption("hypothesis_profile", default=None):
        load_profile(os.environ.get("HYPOTHESIS_PROFILE") or "dev")
