"""The runtime guards (`backend.runtime_guards`): standalone ONNX reproducers of the onnxruntime rewrites
they guard against (strict: each fails once the runtime is fixed), and exports that give PyTensor's
values under default session options."""

import numpy as np
import onnx
import onnxruntime as ort
import pytensor
import pytensor.tensor as pt
import pytest
from onnx import TensorProto, helper, numpy_helper

from backend import export_onnx
from backend.compat import ONNXRUNTIME_VERSION
from harness.testing import raw_onnx_mode

# ---- onnxruntime's NoopElimination judges float64 constants in float32 ------------------------------

NEAR_ONE = 1.0000000342285429  # a float64 that rounds to 1.0 in float32 (from a PyMC gradient)


def _default_and_unoptimized(model, feed):
    results = []
    for level in (ort.GraphOptimizationLevel.ORT_ENABLE_ALL, ort.GraphOptimizationLevel.ORT_DISABLE_ALL):
        options = ort.SessionOptions()
        options.graph_optimization_level = level
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        results.append(session.run(None, feed)[0])
    return results


def test_onnxruntime_still_removes_a_multiply_by_a_float64_that_rounds_to_one_in_float32():
    """A standalone ONNX reproducer of the runtime bug `GraphBuilder` guards against: Neg, then Mul by
    1.0000000342285429, under default session options gives -x (the Mul removed as a multiply by one).
    Strict: once onnxruntime keeps the Mul this fails, and the guard can go."""
    nodes = [helper.make_node("Neg", ["x"], ["negated"]), helper.make_node("Mul", ["negated", "c"], ["scaled"]),
             helper.make_node("Identity", ["scaled"], ["y"])]
    graph = helper.make_graph(nodes, "near_one", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [3])],
                              [helper.make_tensor_value_info("y", TensorProto.DOUBLE, [3])],
                              [numpy_helper.from_array(np.array(NEAR_ONE), "c")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8)
    onnx.checker.check_model(model, full_check=True)
    x = np.array([1.0, 3.0, -7.5])
    default, unoptimized = _default_and_unoptimized(model, {"x": x})
    np.testing.assert_array_equal(unoptimized, -x * NEAR_ONE)
    np.testing.assert_array_equal(default, -x)  # the bug: the product by NEAR_ONE is gone


@pytest.mark.parametrize("build", [
    lambda x: pt.sqr(-x * NEAR_ONE),
    lambda x: pt.sqr(-x / NEAR_ONE),
    lambda x: (-x + 1e-320) * 3.0,  # 1e-320 rounds to 0.0 in float32: an Add of zero to onnxruntime
    lambda x: pt.sqr((pt.outer(x, x) @ x) * NEAR_ONE),
], ids=["mul", "div", "add-tiny", "after-matmul"])
def test_float64_constants_that_round_to_an_identity_in_float32_survive_default_session_options(build):
    """The node with the constant feeds another (onnxruntime removes no node whose output is the graph's)."""
    x = pt.vector("x", dtype="float64")
    model = export_onnx([x], build(x))
    values = np.array([1.0, 3.0, -1e-310])
    expected = pytensor.function([x], build(x), mode=raw_onnx_mode().clone(linker="py"))(values)
    default, unoptimized = _default_and_unoptimized(model, {"x": values})
    np.testing.assert_array_equal(unoptimized, expected)
    np.testing.assert_array_equal(default, expected)


def test_onnxruntime_rounds_a_float64_matmul_scale_to_float32_before_1_32():
    """MatMul, then Mul by 1.5 + 2**-40: onnxruntime 1.31 fuses them into a FusedMatMul with a float32
    alpha (1.5); 1.32 keeps the float64 scale."""
    scale = 1.5 + 2.0**-40
    nodes = [helper.make_node("MatMul", ["a", "b"], ["product"]), helper.make_node("Mul", ["product", "c"], ["scaled"]),
             helper.make_node("Neg", ["scaled"], ["y"])]
    graph = helper.make_graph(nodes, "matmul_scale", [helper.make_tensor_value_info("a", TensorProto.DOUBLE, [2, 2]),
                                                      helper.make_tensor_value_info("b", TensorProto.DOUBLE, [2, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.DOUBLE, [2, 2])],
                              [numpy_helper.from_array(np.array(scale), "c")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8)
    a, b = np.array([[1.0, 2.0], [3.0, 4.0]]), np.eye(2)
    default, unoptimized = _default_and_unoptimized(model, {"a": a, "b": b})
    np.testing.assert_array_equal(unoptimized, -(a @ b) * scale)
    if ONNXRUNTIME_VERSION < (1, 32):
        np.testing.assert_array_equal(default, -(a @ b) * 1.5)  # the bug: the scale rounded to float32
    else:
        np.testing.assert_array_equal(default, unoptimized)


@pytest.mark.parametrize("build", [
    lambda A: pt.sqr((A @ A) * 0.1),
    lambda A: pt.sqr((A @ A) / 7.0),
    lambda A: pt.sqr((A * 0.1) @ A),
], ids=["scale-after", "divide-after", "scale-before"])
def test_float64_scales_next_to_a_matrix_product_survive_default_session_options(build):
    A = pt.matrix("A", dtype="float64")
    model = export_onnx([A], build(A))
    values = np.array([[1.0, 2.0], [3.0, 4.5]])
    expected = pytensor.function([A], build(A), mode=raw_onnx_mode().clone(linker="py"))(values)
    default, unoptimized = _default_and_unoptimized(model, {"A": values})
    np.testing.assert_array_equal(unoptimized, expected)
    np.testing.assert_array_equal(default, expected)


def test_the_guard_leaves_other_constants_alone():
    """No Reshape for constants onnxruntime reads correctly (0.5, 2.0) or float32 graphs."""
    x = pt.vector("x", dtype="float64")
    y = pt.vector("y", dtype="float32")
    for out, inputs in (((x * 0.5 + 2.0) * x, [x]), ((y * np.float32(1.0000001)) * y, [y])):
        assert "Reshape" not in {n.op_type for n in export_onnx(inputs, out).graph.node}


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("build", [
    lambda x: -((-x) + 0.0),
    lambda x: -(0.0 + (-x)),
    lambda x: -((-x) - np.array(-0.0, dtype=x.dtype)),
], ids=["add-zero", "zero-add", "sub-negative-zero"])
def test_adding_zero_still_turns_negative_zero_positive_under_default_session_options(build, dtype):
    """NoopElimination drops ``x + 0.0`` and ``x - (-0.0)`` (upstream/add-of-zero-keeps-negative-zero);
    the guarded export keeps them: -0.0 + 0.0 is +0.0."""
    x = pt.vector("x", dtype=dtype)
    y = build(x)
    model = export_onnx([x], y)
    values = np.array([0.0, -0.0, 2.5], dtype=dtype)
    expected = pytensor.function([x], y, mode=raw_onnx_mode().clone(linker="py"))(values)
    assert np.signbit(expected[:2]).all()  # -(+0.0) twice: what PyTensor computes
    default, _ = _default_and_unoptimized(model, {"x": values})
    np.testing.assert_array_equal(np.signbit(default), np.signbit(expected))
    np.testing.assert_array_equal(default, expected)
