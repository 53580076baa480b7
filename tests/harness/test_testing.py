"""The reference is Python-mode evaluation throughout (harness/testing.py): no C or Numba code runs
for any registry entry, inner graphs (Scan, OpFromGraph, IfElse) included, on the installed PyTensor,
and the caller's graph and ops are left as they were."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from hypothesis import HealthCheck, given, settings
from pytensor.graph.traversal import applys_between
from pytensor.link.basic import JITLinker
from pytensor.link.c.basic import CLinker
from pytensor.link.c.op import COp
from pytensor.scan.op import Scan
from pytensor.tensor.special import softmax

from backend.compat import PYTENSOR_VERSION
from harness.conformance.engine import cell_strategy, signature_of
from harness.registry import ONNX_OPERATIONS, build_graph
from harness.testing import reference_context, reference_function


@pytest.fixture
def compiled_code(monkeypatch):
    """Every C thunk, C linker and JIT (Numba, JAX, ...) linker PyTensor builds while the test runs."""
    made = []

    def spy(cls, method, kind):
        original = getattr(cls, method)

        def wrapper(self, *args, **kwargs):
            made.append((kind, str(self)))
            return original(self, *args, **kwargs)

        monkeypatch.setattr(cls, method, wrapper)

    spy(COp, "make_c_thunk", "C thunk")
    spy(CLinker, "make_thunk", "C linker")
    spy(JITLinker, "make_all", "JIT linker")
    return made


def _dtype_for(spec) -> str:
    return next((d for d in ("float64", "float32", "int64") if d in spec.dtypes), spec.dtypes[0])


@pytest.mark.parametrize("op_name", sorted(ONNX_OPERATIONS))
def test_reference_runs_no_compiled_code(op_name, compiled_code):
    spec = ONNX_OPERATIONS[op_name]
    dtype = _dtype_for(spec)
    evaluated = []

    @settings(max_examples=10, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(example=cell_strategy(spec, dtype))
    def evaluate(example):
        inputs, output = build_graph(spec, dtype, signature_of(example, elementwise=spec.elementwise),
                                     example.params)
        fn = reference_function(inputs, output, on_unused_input="ignore")
        with reference_context(), np.errstate(all="ignore"):
            try:
                fn(*example.arrays)
            except Exception as exc:  # PyTensor refusing an input is no evidence either way
                evaluated.append(f"refused: {type(exc).__name__}")
                return
        evaluated.append("evaluated")

    evaluate()
    assert "evaluated" in evaluated, f"{op_name}: no example was evaluated ({evaluated})"
    assert compiled_code == [], f"{op_name}: the reference built compiled code: {compiled_code[:5]}"


def test_the_spy_sees_compiled_inner_graphs(compiled_code):
    """Outside the reference context PyTensor compiles the inner graph of softmax (an OpFromGraph from
    3.0) or a Scan body with C or Numba: the fixture notices, so the test above can fail."""
    x = pt.vector("x")
    steps, _ = pytensor.scan(lambda prev: prev * 2.0 + 1.0, outputs_info=[x], n_steps=3)
    fn = pytensor.function([x], [softmax(x), steps[-1]], mode=pytensor.compile.mode.Mode(linker="py", optimizer=None))
    fn(np.arange(3.0))
    assert compiled_code, "neither the Scan body nor softmax's inner graph was compiled: the spy is blind"


def _scan_graph(n_steps=4):
    x = pt.vector("x")
    a = pt.scalar("a")
    steps, _ = pytensor.scan(lambda prev, a: prev * a + 1.0, outputs_info=[x], non_sequences=[a], n_steps=n_steps)
    return x, a, steps[-1]


def test_reference_leaves_the_callers_scan_unchanged():
    x, a, out = _scan_graph()
    (scan_node,) = [n for n in applys_between([x, a], [out]) if isinstance(n.op, Scan)]
    op, mode, body = scan_node.op, scan_node.op.mode, list(scan_node.op.fgraph.apply_nodes)
    fn = reference_function([x, a], out)
    with reference_context():
        result = fn(np.array([1.0, -2.0]), np.array(3.0))
    np.testing.assert_array_equal(result, [1.0 * 81 + 40, -2.0 * 81 + 40])
    assert scan_node.op is op and op.mode == mode and list(op.fgraph.apply_nodes) == body


def test_reference_scan_bodies_are_not_fused_multiply_adds():
    """prev * a + 1 evaluated as the graph says rounds twice; a fused multiply-add rounds once. Here
    the sum cancels, so the two differ: (1 + 2^-30)^2 = 1 + 2^-29 + 2^-60 rounds to 1 + 2^-29, and
    -that + 1 is -2^-29, where an FMA keeps -(2^-29 + 2^-60)."""
    x, a, out = _scan_graph(n_steps=1)
    fn = reference_function([x, a], out)
    with reference_context():
        result = fn(np.array([-(1.0 + 2.0**-30)]), np.array(1.0 + 2.0**-30))
    assert result[0] == -(2.0**-29), f"{result[0]!r}: not two roundings"


def test_supported_version_is_known():
    assert (2, 38) <= PYTENSOR_VERSION <= (3, 3)
