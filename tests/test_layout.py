"""The project's structure rules, checked on the source: no import cycles between the project's
modules (imports inside functions included), no private name imported across modules, and every
module says in its docstring what it is for."""

import ast
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("backend", "common", "harness", "strategies", "reports")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def _imports(path: Path):
    """(module imported, names taken from it) for every import statement in the file."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [a.name for a in node.names]
            submodules = [f"{node.module}.{n}" for n in names if f"{node.module}.{n}" in MODULES]
            yield node.module, [n for n in names if f"{node.module}.{n}" not in MODULES]
            for sub in submodules:
                yield sub, []


def _project_edges():
    edges = {}
    for name, path in MODULES.items():
        edges[name] = {target for target, _ in _imports(path) if target in MODULES and target != name}
    return edges


def _cycles(edges):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in edges:
        if v not in index:
            visit(v)
    return found


def test_the_checks_see_the_project():
    assert {"backend.basic", "harness.conformance.engine", "harness.registry.spec", "reports.matrix"} <= set(MODULES)
    assert "backend.basic" in _project_edges()["backend.scalar"]


def test_cycle_detection_finds_a_planted_cycle():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(edges) == [["a", "b", "c"]]


def test_no_module_imports_one_that_imports_it_back():
    cycles = _cycles(_project_edges())
    assert not cycles, f"import cycles (directly or through others): {cycles}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_private_names_are_imported_across_modules(name):
    private = [(target, n) for target, names in _imports(MODULES[name]) if target in MODULES
               for n in names if n.startswith("_") and not n.startswith("__")]
    assert not private, f"{name} imports private names {private}: make them public or move them"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_module_has_a_docstring(name):
    tree = ast.parse(MODULES[name].read_text())
    if name.endswith("__main__") or not tree.body:
        return
    assert ast.get_docstring(tree), f"{name} has no module docstring saying what it is for"


def test_layers_point_one_way():
    """common imports nothing of the project; reports import only common; backend and strategies never
    import the harness or the reports; the harness's lower layers (registry, the engine, the reference)
    never import the products' runners, commands or the CLI above them, and only the CLI imports the
    commands."""
    edges = _project_edges()
    commands = {name for name in MODULES if name.endswith(".commands")}
    upper = {"harness.cli", "harness.usage", "harness.conformance.runner", "harness.conformance.promotion",
             "harness.fuzz.search", "harness.bench.runner", "harness.bench.graphs", "harness.plugins"} | commands
    for name, targets in edges.items():
        package = name.split(".")[0]
        if package == "common":
            assert not {t for t in targets if not t.startswith("common")}, f"{name} imports {targets}"
        if package == "reports":
            assert not {t for t in targets if t.split(".")[0] not in ("common", "reports")}, f"{name} imports {targets}"
        if package in ("backend", "strategies"):
            assert not {t for t in targets if t.split(".")[0] in ("harness", "reports")}, name
        if name.startswith(("harness.registry", "harness.conformance.engine", "harness.testing")):
            assert not targets & upper, f"{name} imports {targets & upper}"
        if name != "harness.cli":
            assert not targets & commands, f"{name} imports the commands {targets & commands}"


def test_the_cli_only_parses_and_dispatches():
    """harness.cli imports nothing that runs cells, fuzzes or times: the subcommands import it."""
    assert _project_edges()["harness.cli"] <= {"harness.usage"}


def test_a_non_editable_install_ships_every_module():
    """`pip install .` (tox, a wheel) ships only the packages pyproject.toml names: a subpackage left
    out (harness.registry once was) works in the editable install and breaks every other one."""
    pyprojecttoml = pytest.importorskip(
        "setuptools.config.pyprojecttoml", reason="needs setuptools in the venv (Python 3.11's venv has it)")
    from setuptools.dist import Distribution

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # setuptools calls its [tool.setuptools] support beta
        shipped = set(pyprojecttoml.apply_configuration(Distribution(), ROOT / "pyproject.toml").packages)
    packages = {".".join(path.relative_to(ROOT).parent.parts) for path in MODULES.values()}
    assert packages <= shipped, f"not shipped by a non-editable install: {sorted(packages - shipped)}"


def test_rendering_reports_loads_neither_pytensor_nor_the_exporter():
    """A fresh interpreter imports every reports module: PyTensor, onnx and the backend stay unloaded,
    so a report renders in a fraction of a second wherever pandas is."""
    import subprocess
    import sys

    reports = sorted(name for name in MODULES if name.startswith("reports."))
    code = (f"import sys, {', '.join(reports)}; "
            "print(sorted(m for m in ('pytensor', 'onnx', 'onnxruntime', 'backend', 'harness') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "[]", f"importing {reports} loaded {loaded.stdout.strip()}"
