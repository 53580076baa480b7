"""Every package the project imports is declared in pyproject.toml (a direct import of an undeclared
package works only while something else happens to install it)."""

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("backend", "common", "harness", "strategies", "reports")


def _imported_top_level_names() -> dict[str, str]:
    """Top-level module name -> a file importing it, over the project's packages."""
    names = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    names.setdefault(module.split(".")[0], str(path.relative_to(ROOT)))
    return names


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    return {re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


def test_every_imported_package_is_declared():
    distributions = importlib.metadata.packages_distributions()
    declared = _declared()
    undeclared = {}
    for name, where in _imported_top_level_names().items():
        if name in sys.stdlib_module_names or name in PACKAGES or name == "__future__":
            continue
        providers = {d.lower().replace("_", "-") for d in distributions.get(name, [name])}
        if not providers & declared:
            undeclared[name] = where
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


def test_the_check_sees_a_missing_declaration():
    """scipy is imported directly (scipy.special): the check would flag it without its declaration."""
    assert "scipy" in _imported_top_level_names() and "scipy" in _declared()
