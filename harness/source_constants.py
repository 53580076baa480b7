"""Hypothesis draws a share of its values from the numeric and string literals of the *local* modules
loaded when it draws (every module outside site-packages and tests: this project's), and adds a module's
literals once it appears in ``sys.modules``. A module imported lazily in the middle of a run therefore
changes the examples of every later draw, so that a derandomized cell drew different inputs depending on
which cells a worker had run before it. `import_every_project_module` loads them all first: the same code
then draws the same examples in every worker and every run.

To extend: a new top-level package of the project goes in `PROJECT_PACKAGES`.
"""

from __future__ import annotations

import importlib
import pkgutil

PROJECT_PACKAGES = ("common", "backend", "strategies", "harness", "reports")


def import_every_project_module() -> list[str]:
    """Import every module of `PROJECT_PACKAGES` but ``__main__`` ones (which run a command); returns the names
    of those whose optional dependencies are not installed (pymc's, say), which no run imports either."""
    missing = []
    for package in PROJECT_PACKAGES:
        for module in pkgutil.walk_packages(importlib.import_module(package).__path__, f"{package}."):
            if module.name.rsplit(".", 1)[-1] == "__main__":
                continue
            try:
                importlib.import_module(module.name)
            except ModuleNotFoundError as exc:
                if exc.name and exc.name.split(".")[0] in PROJECT_PACKAGES:
                    raise
                missing.append(module.name)
    return missing
