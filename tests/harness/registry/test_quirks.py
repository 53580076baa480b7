"""The runtime models that declarations predict with, checked against the installed onnxruntime."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from onnx import TensorProto, helper

from backend.linker import make_session
from harness.registry.quirks import as_elemwise_inputs, first_broadcast_axes, onnxruntime_where
from strategies.shapes import broadcastable_shapes
from strategies.values import ArrayExample


@settings(max_examples=150, database=None, deadline=None)
@given(shapes=broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3), data=st.data())
def test_onnxruntime_where_model_matches_the_installed_runtime(shapes, data):
    """The declared Where divergence is predicted by `onnxruntime_where`; check the model, zero
    signs included, against the real kernel so the declaration cannot drift from onnxruntime."""
    cond_shape, x_shape, y_shape = shapes.input_shapes
    zeros = st.sampled_from([0.0, -0.0, 1.0])
    cond = data.draw(hnp.arrays(np.bool_, cond_shape))
    x, y = (data.draw(hnp.arrays(np.float32, s, elements=zeros)) for s in (x_shape, y_shape))
    graph = helper.make_graph(
        [helper.make_node("Where", ["c", "x", "y"], ["out"])], "where",
        [helper.make_tensor_value_info("c", TensorProto.BOOL, cond_shape),
         helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape),
         helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8)
    actual = make_session(model, optimize=False).run(None, {"c": cond, "x": x, "y": y})[0]
    predicted = onnxruntime_where(cond, x, y)
    assert actual.shape == predicted.shape
    np.testing.assert_array_equal(np.signbit(actual), np.signbit(predicted))
    np.testing.assert_array_equal(actual, predicted)


def test_first_broadcast_axes_reads_the_innermost_span_that_is_not_1():
    assert first_broadcast_axes((), (3,)) == (1, 3)
    assert first_broadcast_axes((2, 1), (2, 1)) == (2, 2)
    assert first_broadcast_axes((4, 1), (1, 1)) == (4, 1)


def test_elemwise_inputs_get_equal_ranks():
    example = ArrayExample((np.zeros((2, 3)), np.zeros(3), np.zeros(())), ((2, 3), (3,), ()), ("float64",) * 3)
    assert [a.shape for a in as_elemwise_inputs(example)] == [(2, 3), (1, 3), (1, 1)]


@settings(max_examples=100, database=None, deadline=None)
@given(data=st.data())
def test_onnxruntime_float16_chain_model_matches_the_installed_runtime(data):
    """A float16 Mul -> Sub chain, as onnxruntime runs it: in float32, rounded once."""
    from harness.registry.quirks import onnxruntime_float16_chain

    values = hnp.arrays(np.float16, 8, elements=hnp.from_dtype(np.dtype("float16"), allow_nan=False))
    x, y = data.draw(values), data.draw(values)
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "y"], ["p"]), helper.make_node("Sub", ["p", "x"], ["out"])], "chain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT16, [8]),
         helper.make_tensor_value_info("y", TensorProto.FLOAT16, [8])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT16, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8)
    actual = make_session(model, optimize=False).run(None, {"x": x, "y": y})[0]
    np.testing.assert_array_equal(actual, onnxruntime_float16_chain(lambda a, b: a * b - a, x, y))
