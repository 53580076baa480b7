import numpy as np
import onnx
import pytensor
import pytensor.tensor as pt
import pytest
from onnx import TensorProto, numpy_helper

from backend import ONNX_OPSET_VERSION, export_onnx, make_value_info, max_supported_opset, onnx_funcify, onnx_typify
from backend.basic import ir_version_for_opset
from harness.testing import compare_onnx_and_py, get_onnx_node_types, raw_onnx_mode


def test_onnx_funcify_unregistered_op():
    class FakeOp:
        pass

    with pytest.raises(NotImplementedError) as exc_info:
        onnx_funcify(FakeOp())
    message = str(exc_info.value)
    assert "No ONNX conversion available" in message
    assert "FakeOp" in message


def test_unsupported_op_in_graph_names_the_op_and_node():
    x = pt.matrix("x", dtype="float64")
    out = pt.jv(x, x)  # no converter for Jv (Bessel functions of real order)
    with pytest.raises(NotImplementedError, match=r"No ONNX conversion available for: .*Jv"):
        export_onnx([x], out)


def test_onnx_typify_ndarray():
    arr = np.array([1, 2, 3], dtype="float32")
    result = onnx_typify(arr, name="t")
    assert isinstance(result, onnx.TensorProto)
    assert result.name == "t"
    np.testing.assert_array_equal(numpy_helper.to_array(result), arr)


@pytest.mark.parametrize("value", [np.float32(2.5), np.array(7, dtype="int8"), True])
def test_onnx_typify_keeps_scalars_0d(value):
    result = numpy_helper.to_array(onnx_typify(value))
    assert result.shape == ()
    assert result.dtype == np.asarray(value).dtype


def test_make_value_info_basic():
    x = pt.vector("x", dtype="float32")
    info = make_value_info(x, "x")
    assert isinstance(info, onnx.ValueInfoProto)
    assert info.name == "x"
    assert info.type.tensor_type.elem_type == TensorProto.FLOAT


def test_make_value_info_static_and_symbolic_dims():
    x = pt.tensor("x", dtype="float64", shape=(3, None, 1, None))
    dims = make_value_info(x, "x").type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [3, 0, 1, 0]
    assert dims[1].dim_param == "x_dim1" and dims[3].dim_param == "x_dim3"
    assert dims[1].dim_param != dims[3].dim_param, "each unknown dim needs its own symbol"


def test_model_serves_every_shape_its_types_allow():
    x = pt.matrix("x", dtype="float64")
    y = pt.row("y", dtype="float64")  # broadcastable first dim -> static 1
    fn = pytensor.function([x, y], x + y, mode=raw_onnx_mode())
    for rows, cols in [(0, 3), (1, 1), (4, 5)]:
        a = np.arange(rows * cols, dtype="float64").reshape(rows, cols)
        b = np.ones((1, cols))
        np.testing.assert_array_equal(fn(a, b), a + b)


def test_opset_and_ir_version_are_stamped():
    x = pt.vector("x", dtype="float32")
    for opset in sorted({ONNX_OPSET_VERSION, max_supported_opset()}):
        model = export_onnx([x], x + 1, opset_version=opset)
        assert [(o.domain, o.version) for o in model.opset_import] == [("", opset)]
        assert model.ir_version == ir_version_for_opset(opset)
    assert ir_version_for_opset(18) == 8  # onnx's table: opset 18 shipped with IR version 8


@pytest.mark.parametrize("bad", [17, 10_000, "18"])
def test_bad_opset_names_the_valid_range(bad):
    x = pt.vector("x", dtype="float32")
    with pytest.raises(ValueError, match=r"opset_version=.* choose an opset from 18 to \d+"):
        export_onnx([x], x + 1, opset_version=bad)


def test_compare_onnx_and_py_simple():
    x = pt.vector("x", dtype="float32")
    x_val = np.array([1, 2, 3], dtype="float32")
    _, result = compare_onnx_and_py([x], x, [x_val])
    np.testing.assert_array_equal(result, x_val)


def test_compare_onnx_and_py_detects_a_difference():
    x = pt.vector("x", dtype="float32")

    def wrong(actual, expected, what="output"):
        raise AssertionError("planted")

    with pytest.raises(AssertionError, match="planted"):
        compare_onnx_and_py([x], x + 1, [np.ones(2, "float32")], assert_fn=wrong)
    from harness.testing import assert_same_result

    with pytest.raises(AssertionError, match="dtype"):
        assert_same_result(np.ones(2, "float32"), np.ones(2, "float64"))
    with pytest.raises(AssertionError):
        assert_same_result(np.array([1.0, np.nan]), np.array([1.0, 2.0]))


def test_get_onnx_node_types():
    x = pt.vector("x", dtype="float32")
    y = pt.vector("y", dtype="float32")
    fn = pytensor.function([x, y], x + y, mode=raw_onnx_mode())
    assert "Add" in get_onnx_node_types(fn)


def test_output_that_is_an_input_and_duplicate_outputs():
    x = pt.vector("x", dtype="float64")
    y = x * 2
    model = export_onnx([x], [x, y, y])
    assert len({o.name for o in model.graph.output}) == 3
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    a, b, c = session.run(None, {"x": np.array([1.0, 2.0])})
    np.testing.assert_array_equal(a, [1.0, 2.0])
    np.testing.assert_array_equal(b, [2.0, 4.0])
    np.testing.assert_array_equal(c, [2.0, 4.0])


# ----------------------------------------------------------------------------------------------
# ctx.op: nodes checked against onnx.defs for the model's opset
# ----------------------------------------------------------------------------------------------

def test_op_factory_builds_the_node_it_names_with_its_attributes():
    from backend.basic import GraphBuilder

    ctx = GraphBuilder(18)
    first, second = ctx.op.Split("x", "sizes", n_outputs=2, axis=1)
    total = ctx.op["Add"](first, second)
    assert [(n.op_type, list(n.input), len(n.output)) for n in ctx.nodes] == [
        ("Split", ["x", "sizes"], 2), ("Add", [first, second], 1)]
    assert ctx.nodes[0].attribute[0].name == "axis" and ctx.nodes[0].attribute[0].i == 1
    assert total == ctx.nodes[1].output[0]


@pytest.mark.parametrize("build,message", [
    (lambda op: op.Relux("x"), "no operator 'Relux'"),
    (lambda op: op.ArgMax("x", axes=0), "ArgMax .* has no attribute axes; its attributes: axis, keepdims"),
    (lambda op: op.Cast("x"), "Cast .* needs attribute to"),
    (lambda op: op.Add("x"), "Add .* takes 2 to 2 inputs, got 1"),
    (lambda op: op.Relu("x", n_outputs=2), "Relu .* has 1 to 1 outputs, asked for 2"),
    (lambda op: op.Gelu("x"), "Gelu does not exist at opset 18 .*added in opset 20"),
])
def test_op_factory_refuses_what_the_opset_schema_does_not_allow(build, message):
    from backend.basic import GraphBuilder, ONNXSchemaError

    ctx = GraphBuilder(18)
    with pytest.raises(ONNXSchemaError, match=message):
        build(ctx.op)
    assert ctx.nodes == []


def test_op_factory_follows_the_target_opset():
    from backend.basic import GraphBuilder

    if max_supported_opset() < 20:
        pytest.skip("the installed onnx/onnxruntime stop before opset 20")
    ctx = GraphBuilder(20)
    ctx.op.Gelu("x", approximate="tanh")
    assert ctx.nodes[0].op_type == "Gelu"


def test_constants_reshaped_by_dimshuffle_are_folded_at_export():
    """``maximum(x, 0)`` as built broadcasts the literal with DimShuffle: the export holds the reshaped
    constant, not an Unsqueeze computed at run time."""
    x = pt.matrix("x", dtype="float32")
    model = export_onnx([x], pt.maximum(x, 0.0))
    assert "Unsqueeze" not in {node.op_type for node in model.graph.node}
    assert any(list(init.dims) == [1, 1] for init in model.graph.initializer)
