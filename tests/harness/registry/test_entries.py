"""Every entry against PyTensor and the exporter: dtypes, expected ONNX nodes, and the layout that
mirrors ``backend/``."""

import importlib
from pathlib import Path

import pytensor.tensor as pt
import pytest

from backend import ONNXExportUnsupported, export_onnx
from backend.dtypes import ALL_DTYPES
from harness.registry import FAMILY_MODULES, ONNX_OPERATIONS, build_graph

ROOT = Path(__file__).resolve().parents[3]


def test_entries_without_build_are_the_pytensor_functions_of_their_name():
    for name in ("add", "int_div", "round_half_to_even", "exp"):
        assert ONNX_OPERATIONS[name].build is getattr(pt, name)


@pytest.mark.parametrize("spec", [s for s in ONNX_OPERATIONS.values() if not s.name.startswith(("graph:", "grad:"))],
                         ids=lambda s: s.name)  # model and gradient rows take the float dtypes they are chosen in
def test_declared_dtypes_are_exactly_what_pytensor_allows(spec):
    accepted = []
    for dtype in ALL_DTYPES:
        try:
            build_graph(spec, dtype)
        except (TypeError, ValueError):  # Scan refuses a state whose dtype its step changes with ValueError
            continue
        accepted.append(dtype)
    assert tuple(spec.dtypes) == tuple(accepted), (
        f"{spec.name}: registry says {spec.dtypes}, PyTensor builds the graph for {tuple(accepted)}"
    )


def test_model_graphs_are_registered_in_the_float_dtypes_models_are_written_in():
    graphs = [s for s in ONNX_OPERATIONS.values() if s.name.startswith("graph:")]
    assert len(graphs) >= 10
    assert all(s.dtypes == ("float32", "float64") for s in graphs), [s.name for s in graphs]


@pytest.mark.parametrize("spec", [s for s in ONNX_OPERATIONS.values() if s.onnx_ops], ids=lambda s: s.name)
def test_expected_onnx_nodes_appear_in_the_export(spec):
    dtype = "float64" if "float64" in spec.dtypes else spec.dtypes[0]
    inputs, out = build_graph(spec, dtype)
    try:
        model = export_onnx(inputs, out)
    except ONNXExportUnsupported:
        pytest.skip("declined")
    node_types = _node_types(model.graph)
    assert set(spec.onnx_ops) <= node_types, f"{spec.name}: expected {spec.onnx_ops} in {sorted(node_types)}"


def _node_types(graph) -> set[str]:
    """Op types of a graph's nodes and of the nodes of its subgraphs (Loop bodies, If branches)."""
    types = set()
    for node in graph.node:
        types.add(node.op_type)
        for attribute in node.attribute:
            for subgraph in [attribute.g, *attribute.graphs]:
                types |= _node_types(subgraph)
    return types


def test_registry_modules_mirror_the_backend_modules():
    # graphs.py and pymc_models.py hold whole models (the graph: and model: rows), which span families
    # and have no converter module; older_onnxruntime.py, declarations that span families; gradients.py
    # derives the grad: rows from the other entries
    registry = ROOT / "harness" / "registry"
    entries = ({p.stem for p in registry.glob("*.py")} | {p.parent.name for p in registry.glob("*/__init__.py")}) - {
        "__init__", "spec", "quirks", "completeness", "graphs", "pymc_models", "older_onnxruntime", "gradients"}
    # pymc_ops needs PyMC (the [pymc] extra), so it is not among the families every install imports
    assert entries == set(FAMILY_MODULES) | {"pymc_ops"}
    for family in (*FAMILY_MODULES, "pymc_ops"):
        module, package = ROOT / "backend" / f"{family}.py", ROOT / "backend" / family / "__init__.py"
        assert module.exists() or package.exists(), f"harness/registry/{family}.py has no backend/{family}(.py or /)"
    # every entry lives in a family module
    modules = {family: importlib.import_module(f"harness.registry.{family}") for family in FAMILY_MODULES}
    assert all(m.__doc__ and "backend/" in m.__doc__ for m in modules.values())


# The entries for ops that only PyTensor 3.3's rewrites make: each built graph holds the op it is for
# (else the entry would test something else and the op would go unexported).
REWRITTEN_ENTRIES = {"lazy_ifelse": "LazyIfElse", "numba_fused_elemwise_sum": "FusedElemwise",
                     "numba_scalar_careduce": "ScalarCAReduce", "numba_scalarized_join": "ScalarizedJoin",
                     "numba_scalar_subtensor": "ScalarSubtensor"}


@pytest.mark.parametrize("name", sorted(REWRITTEN_ENTRIES))
def test_entries_of_rewritten_ops_build_that_op_or_are_absent_with_a_reason(name):
    from pytensor.graph.traversal import applys_between

    from harness.registry import ABSENT_ENTRIES, ONNX_OPERATIONS, build_graph

    if name not in ONNX_OPERATIONS:
        assert "3.3" in ABSENT_ENTRIES[name], f"{name} is neither registered nor declared absent"
        return
    spec = ONNX_OPERATIONS[name]
    inputs, output = build_graph(spec, spec.dtypes[-1])
    ops = {type(apply.op).__name__ for apply in applys_between(inputs, [output])}
    assert REWRITTEN_ENTRIES[name] in ops, f"{name} builds {sorted(ops)}"
