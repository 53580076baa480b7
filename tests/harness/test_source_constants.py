"""`harness.source_constants`: every project module is loaded before Hypothesis draws, so its pool of source
constants (the literals of the local modules in ``sys.modules``) is the same in every process."""

import sys
from pathlib import Path

from harness.source_constants import PROJECT_PACKAGES, import_every_project_module

ROOT = Path(__file__).resolve().parents[2]


def test_every_module_of_the_project_packages_is_imported_but_those_of_missing_extras():
    missing = import_every_project_module()
    sources = {p.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
               for package in PROJECT_PACKAGES for p in (ROOT / package).rglob("*.py")}
    expected = {name.removesuffix(".__init__") for name in sources if not name.endswith("__main__")}
    assert expected - set(sys.modules) == set(missing)
    # only modules of an optional dependency may be missing (pymc's, without the [pymc] extra)
    assert all("pymc" in name for name in missing)
