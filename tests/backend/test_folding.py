"""The lean exporter (`backend.folding`, `GraphBuilder.add_node`, `backend.graph.live_nodes`) and the
unrolled linear algebra (`backend.helpers.loop` with ``unroll_up_to``)."""

from collections import Counter

import numpy as np
import onnx
import pytensor.tensor as pt
import pytest
import scipy.linalg
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from backend import export_onnx
from backend.basic import GraphBuilder
from backend.folding import fold, unchanged_by
from backend.graph import live_nodes
from backend.linker import make_session
from harness.testing import compare_onnx_and_py

I64 = np.int64


def _reference_result(op_type, inputs, attrs):
    """What onnx's reference evaluator computes for one node over constant inputs."""
    names = [f"in{k}" for k in range(len(inputs))]
    node = helper.make_node(op_type, names, ["out"], **attrs)
    graph = helper.make_graph(
        [node], "one", [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(x.dtype), x.shape)
                        for n, x in zip(names, inputs)],
        [helper.make_tensor_value_info("out", TensorProto.UNDEFINED, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    return ReferenceEvaluator(model).run(None, dict(zip(names, inputs)))[0]


FOLDED_CASES = [
    ("Gather", [np.array([4, 5, 6], I64), np.array([-1, 0], I64)], {"axis": 0}),
    ("Slice", [np.arange(10, dtype=I64), np.array([2], I64), np.array([I64(2**62)], I64)], {}),
    ("Slice", [np.arange(12, dtype=I64).reshape(3, 4), np.array([-3], I64), np.array([-1], I64),
               np.array([1], I64), np.array([2], I64)], {}),
    ("Concat", [np.array([1], I64), np.array([2, 3], I64)], {"axis": 0}),
    ("Range", [np.array(0, I64), np.array(7, I64), np.array(3, I64)], {}),
    ("Expand", [np.array([[1.5], [2.5]], np.float32), np.array([1, 3], I64)], {}),
    ("Equal", [np.array([0.0, np.nan, -0.0]), np.array([-0.0, np.nan, 0.0])], {}),
    ("Where", [np.array([True, False]), np.array([1.0, 2.0]), np.array([3.0, 4.0])], {}),
    ("Add", [np.array([np.iinfo(I64).max], I64), np.array([1], I64)], {}),
    ("Mul", [np.array([1e-300, np.inf]), np.array([1e-300, 0.0])], {}),
    ("Div", [np.array([1.0, -1.0, 0.0], np.float32), np.array([0.0, 0.0, 0.0], np.float32)], {}),
    ("Sqrt", [np.array([2.0, -1.0, 0.5], np.float16)], {}),
    ("Max", [np.array([3, -7], np.int32), np.array([5, -9], np.int32)], {}),
    ("Shape", [np.zeros((2, 3, 4))], {"start": 1}),
    ("ConstantOfShape", [np.array([2, 2], I64)], {"value": helper.make_tensor("v", TensorProto.INT32, [1], [7])}),
]


@pytest.mark.parametrize(("op_type", "inputs", "attrs"), FOLDED_CASES, ids=[c[0] for c in FOLDED_CASES])
def test_folding_computes_what_the_onnx_op_computes(op_type, inputs, attrs):
    folded = fold(op_type, inputs, attrs)
    expected = _reference_result(op_type, inputs, attrs)
    assert folded is not None
    assert folded.dtype == expected.dtype and folded.shape == expected.shape
    np.testing.assert_array_equal(folded, expected)


@pytest.mark.parametrize(("op_type", "inputs", "attrs"), [
    ("Gather", [np.array([4, 5, 6], I64), np.array([3], I64)], {"axis": 0}),  # out of range: keep the error
    ("Div", [np.array([7], I64), np.array([-2], I64)], {}),  # integer division truncates in onnxruntime
    ("Max", [np.array([np.nan]), np.array([1.0])], {}),  # NaN handling is the runtime's
    ("Range", [np.array(0, I64), np.array(1, I64), np.array(0, I64)], {}),  # a zero delta must fail at run time
    ("Slice", [np.arange(4, dtype=I64), np.array([-1], I64), np.array([-5], I64), np.array([0], I64),
               np.array([-1], I64)], {}),
    ("Exp", [np.array([1.0])], {}),  # libm results differ between numpy and onnxruntime
    ("Expand", [np.array([1.0]), np.array([1 << 17], I64)], {}),  # too big to store
])
def test_what_is_not_folded(op_type, inputs, attrs):
    assert fold(op_type, inputs, attrs) is None


def test_unchanged_shapes_are_recognised():
    assert unchanged_by("Expand", (2, 3), np.array([1, 3]), {})
    assert not unchanged_by("Expand", (2, 1), np.array([2, 3]), {})
    assert not unchanged_by("Expand", (2, 3), np.array([4]), {})  # an error onnxruntime reports
    assert unchanged_by("Reshape", (2, 3), np.array([0, 3]), {})
    assert not unchanged_by("Reshape", (2, 3), np.array([0, 3]), {"allowzero": 1})
    assert not unchanged_by("Reshape", (2, 3), np.array([3, 2]), {})


def test_identical_nodes_are_emitted_once_and_random_ones_twice():
    ctx = GraphBuilder(18)
    first, second = ctx.op.Exp("x"), ctx.op.Exp("x")
    assert first == second and len(ctx.nodes) == 1
    assert ctx.op.Exp("y") != first
    assert ctx.op.LeakyRelu("x", alpha=0.1) != ctx.op.LeakyRelu("x", alpha=0.2)
    ctx.op.RandomUniformLike("x")
    ctx.op.RandomUniformLike("x")
    assert [n.op_type for n in ctx.nodes].count("RandomUniformLike") == 2


def test_a_subgraph_reuses_its_enclosing_values_but_not_the_reverse():
    ctx = GraphBuilder(18)
    outer = ctx.op.Exp("x")
    body = ctx.subgraph()
    assert body.op.Exp("x") == outer and not body.nodes
    inner = body.op.Log("x")
    assert ctx.op.Log("x") != inner  # the body's value is not visible outside it
    assert len(ctx.nodes) == 2


def test_static_shapes_fold_shape_arithmetic_and_drop_no_op_expands():
    x = pt.matrix("x", shape=(3, 4), dtype="float64")
    y = pt.matrix("y", dtype="float64")
    static = export_onnx([x], pt.alloc(x, 3, 4) + x.shape[0])
    dynamic = export_onnx([y], pt.alloc(y, 3, 4) + y.shape[0])
    static_ops = Counter(n.op_type for n in static.graph.node)
    assert "Shape" not in static_ops and "Expand" not in static_ops
    assert "Shape" in Counter(n.op_type for n in dynamic.graph.node)
    value = np.arange(12.0).reshape(3, 4)
    for model in (static, dynamic):
        (result,) = make_session(model).run(None, {model.graph.input[0].name: value})
        np.testing.assert_array_equal(result, value + 3)


def test_a_check_on_a_static_shape_still_fails_at_run_time():
    from pytensor.raise_op import Assert

    x = pt.vector("x", shape=(3,), dtype="float64")
    model = export_onnx([x], Assert("positive")(x, pt.all(x > 0)))
    session = make_session(model)
    np.testing.assert_array_equal(session.run(None, {"x": np.ones(3)})[0], np.ones(3))
    with pytest.raises(Exception, match="Range|delta"):
        session.run(None, {"x": -np.ones(3)})


def test_dead_nodes_are_dropped_unless_a_subgraph_reads_them():
    used_by_body = helper.make_node("Exp", ["x"], ["e"])
    dead = helper.make_node("Log", ["x"], ["l"])
    body = helper.make_graph([helper.make_node("Add", ["e", "i"], ["o"])], "body", [], [])
    loop = helper.make_node("Loop", ["n", "c"], ["out"], body=body)
    assert live_nodes([used_by_body, dead, loop], ["out"]) == [used_by_body, loop]


def _linalg_graph(n, static: bool):
    a = pt.matrix("a", shape=(n, n) if static else (None, None), dtype="float64")
    b = pt.vector("b", shape=(n,) if static else (None,), dtype="float64")
    chol = pt.linalg.cholesky(a)
    q, r = pt.linalg.qr(a)
    outputs = [chol, pt.linalg.solve_triangular(chol, b, lower=True), pt.linalg.solve(a, b), q, r,
               pt.grad(pt.log(pt.linalg.det(a)) + pt.linalg.cholesky(a).sum(), a)]
    return [a, b], outputs


@pytest.mark.parametrize("n", [1, 3, 7])
def test_static_sized_linear_algebra_is_unrolled_and_computes_what_the_loops_compute(n):
    from backend.linalg.helpers import UNROLLED_SIZE

    assert n <= UNROLLED_SIZE
    rng = np.random.default_rng(n)
    m = rng.normal(size=(n, n))
    a, b = m @ m.T + n * np.eye(n), rng.normal(size=n)
    results = {}
    for static in (True, False):
        inputs, outputs = _linalg_graph(n, static)
        model = export_onnx(inputs, outputs)
        loops = [node for node in model.graph.node if node.op_type == "Loop"]
        assert bool(loops) != static
        results[static] = make_session(model).run(None, {"a": a, "b": b})
    for unrolled, looped in zip(results[True], results[False]):
        np.testing.assert_allclose(unrolled, looped, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(results[True][0], scipy.linalg.cholesky(a, lower=True), rtol=1e-12)
    np.testing.assert_allclose(results[True][2], np.linalg.solve(a, b), rtol=1e-10)
    compare_onnx_and_py(*_linalg_graph(n, True), [a, b])


def test_a_large_static_matrix_keeps_its_loop():
    from backend.linalg.helpers import UNROLLED_SIZE

    n = UNROLLED_SIZE + 1
    a = pt.matrix("a", shape=(n, n), dtype="float64")
    model = export_onnx([a], pt.linalg.cholesky(a))
    assert [node.op_type for node in model.graph.node].count("Loop") == 1
    onnx.checker.check_model(model, full_check=True)


def test_a_cast_to_the_type_a_value_has_is_no_node():
    x = pt.vector("x", shape=(3,), dtype="float32")
    ctx = GraphBuilder(18)
    ctx.static_types["x"] = (TensorProto.FLOAT, (3,))
    assert ctx.op.Cast("x", to=TensorProto.FLOAT) == "x" and not ctx.nodes
    assert ctx.op.Cast("x", to=TensorProto.DOUBLE) != "x" and len(ctx.nodes) == 1
    model = export_onnx([x], pt.cast(x, "float64") + 1)
    assert [n.op_type for n in model.graph.node].count("Cast") == 1


def _loops_in(graph):
    """Every Loop node in ``graph`` and its bodies."""
    found = []
    for node in graph.node:
        found += [node] if node.op_type == "Loop" else []
        for attribute in node.attribute:
            if attribute.g.node:
                found += _loops_in(attribute.g)
    return found


@pytest.mark.parametrize("static", [True, False])
def test_a_loop_of_fixed_shapes_unrolls_the_factorizations_in_its_body(static):
    """The Schur iteration's body runs a Householder QR of a matrix of the carried one's shape: with the
    shape known at export time it is written out, as the Hessenberg reduction before it (one Loop in all),
    else both are Loops, one of them in the iteration's."""
    a = pt.matrix("a", shape=(4, 4) if static else (None, None), dtype="float64")
    model = export_onnx([a], list(pt.linalg.schur(a)))
    assert len(_loops_in(model.graph)) == (1 if static else 3)
    m = np.random.default_rng(4).normal(size=(4, 4))
    t, z = make_session(model).run(None, {"a": m})
    np.testing.assert_allclose(z @ t @ z.T, m, atol=1e-13)
