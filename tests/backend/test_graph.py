"""Graph-level conversion: values read inside subgraphs (Loop bodies, If branches) stay reachable when
the outer graph renames them, for every registry entry that emits subgraphs, alone and in pairs."""

import itertools

import numpy as np
import onnxruntime as ort
import pytensor.tensor as pt
import pytest
from pytensor.graph.basic import Constant
from pytensor.graph.replace import clone_replace

from backend import export_onnx

try:  # moved in PyTensor 3.0
    from pytensor.graph.traversal import ancestors
except ImportError:
    from pytensor.graph.basic import ancestors
from harness.registry import ONNX_OPERATIONS, build_graph


def _graph(name):
    spec = ONNX_OPERATIONS[name]
    dtype = "float64" if "float64" in spec.dtypes else spec.dtypes[0]
    inputs, out = build_graph(spec, dtype)
    return inputs, list(out) if isinstance(out, list | tuple) else [out]


def _emits_subgraphs(name) -> bool:
    try:
        model = export_onnx(*_graph(name))
    except Exception:  # entries the exporter declines are the matrix's business, not this test's
        return False
    return any(node.op_type in ("Loop", "If", "Scan") for node in model.graph.node)


SUBGRAPH_ENTRIES = [name for name in ONNX_OPERATIONS if _emits_subgraphs(name)]


def _signature(name):
    inputs, _ = _graph(name)
    return tuple((i.type.dtype, i.type.ndim) for i in inputs)


def test_some_entries_emit_subgraphs():
    assert len(SUBGRAPH_ENTRIES) >= 40 and {"cholesky", "solve_triangular_lower", "scan_ar1"} <= set(SUBGRAPH_ENTRIES)


@pytest.mark.parametrize("name", SUBGRAPH_ENTRIES)
def test_every_intermediate_value_can_also_be_an_output(name):
    """Each value becomes a graph output (renamed in place); a Loop body or If branch that reads it as an
    outer value must follow the renaming."""
    inputs, outputs = _graph(name)
    intermediates = [v for v in ancestors(outputs, blockers=inputs)
                     if v.owner is not None and not isinstance(v, Constant) and v not in outputs
                     and hasattr(v.type, "dtype")]
    model = export_onnx(inputs, [*outputs, *intermediates])  # full_check: every name is produced before use
    ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def _pairs():
    by_signature = {}
    for name in SUBGRAPH_ENTRIES:
        by_signature.setdefault(_signature(name), []).append(name)
    return [pair for names in by_signature.values() for pair in itertools.combinations(names, 2)]


def test_every_pair_of_subgraph_entries_exports_as_one_graph_on_shared_inputs():
    """``export_onnx([A, b], [cholesky(A), solve_triangular(cholesky(A), b)])`` and its like: both
    entries' graphs on the same input variables, outputs of one model."""
    pairs = _pairs()
    assert len(pairs) > 100
    failures = []
    for first, second in pairs:
        inputs, outputs = _graph(first)
        other_inputs, other_outputs = _graph(second)
        shared = clone_replace(other_outputs, replace=dict(zip(other_inputs, inputs)))
        try:
            export_onnx(inputs, [*outputs, *shared])
        except Exception as exc:
            failures.append(f"{first} + {second}: {type(exc).__name__}: {str(exc)[:200]}")
    assert not failures, "\n".join(failures)


def test_a_factor_used_as_output_and_inside_a_solve_loop():
    """The reported case: L is an output (renamed) and read by solve_triangular's Loop body."""
    from pytensor.tensor.linalg import cholesky, solve_triangular

    a, b = pt.matrix("A", dtype="float64"), pt.vector("b", dtype="float64")
    factor = cholesky(a)
    model = export_onnx([a, b], [factor, solve_triangular(factor, b, lower=True)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    spd = np.array([[4.0, 2.0], [2.0, 3.0]])
    got_factor, got_x = session.run(None, {"A": spd, "b": np.array([1.0, 2.0])})
    np.testing.assert_allclose(got_factor, np.linalg.cholesky(spd), rtol=1e-12)
    np.testing.assert_allclose(got_factor @ got_x, [1.0, 2.0], rtol=1e-12)
