import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile.mode import Mode

from backend import ONNXLinker


def test_linker_refuses_an_opset_outside_the_supported_range():
    import pytest

    with pytest.raises(ValueError, match="choose an opset from 18"):
        ONNXLinker(opset_version=12)


def test_onnx_mode_compiles_without_in_place_ops():
    """The rewrites the linker excludes really stay out: the default mode computes exp(sum) + y in
    the sum's buffer (a destroy_map), the ONNX mode's graph destroys nothing."""
    X, y = pt.matrix("X", dtype="float64"), pt.vector("y", dtype="float64")
    out = pt.exp(X.sum(axis=0)) + y
    default = pytensor.function([X, y], out, mode="FAST_RUN")
    assert any(getattr(node.op, "destroy_map", None) for node in default.maker.fgraph.toposort())
    onnx_fn = pytensor.function([X, y], out, mode="ONNX")
    assert not any(getattr(node.op, "destroy_map", None) for node in onnx_fn.maker.fgraph.toposort())
    np.testing.assert_allclose(onnx_fn(np.zeros((2, 2)), [1.0, 2.0]), [2.0, 3.0])


def test_linker_empty_graph():
    x = pt.scalar("x", dtype="float32")
    fn = pytensor.function([x], x, mode=Mode(linker=ONNXLinker()))
    result = fn(5.0)
    assert result == 5.0 and result.dtype == np.float32
    assert fn.maker.linker.onnx_model is not None
    assert [n.op_type for n in fn.maker.linker.onnx_model.graph.node] == ["Identity"]


def test_linker_constant_graph():
    x = pt.scalar("x", dtype="float32")
    c = pt.constant(2.0, dtype="float32")
    fn = pytensor.function([x], x * c, mode=Mode(linker=ONNXLinker(), optimizer=None))
    np.testing.assert_allclose(fn(3.0), 6.0)
    model = fn.maker.linker.onnx_model
    assert len(model.graph.initializer) == 1
    assert model.graph.initializer[0].float_data or model.graph.initializer[0].raw_data


def test_linker_runs_one_cached_session():
    x = pt.vector("x", dtype="float64")
    fn = pytensor.function([x], pt.exp(x), mode=Mode(linker=ONNXLinker()))
    session = fn.maker.linker.session
    for n in (0, 3, 7):
        np.testing.assert_allclose(fn(np.arange(n, dtype="float64")), np.exp(np.arange(n)))
    assert fn.maker.linker.session is session


def test_linker_export_to_file(tmp_path):
    import onnx

    x = pt.vector("x", dtype="float32")
    fn = pytensor.function([x], x + 1, mode=Mode(linker=ONNXLinker()))
    path = tmp_path / "m.onnx"
    fn.maker.linker.export_to_file(path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)


def test_session_settings_reach_onnxruntime_for_every_function_of_a_mode():
    import onnxruntime as ort

    from backend import compile_onnx, onnx_mode

    x = pt.dvector("x")
    mode = onnx_mode(intra_op_num_threads=2, optimization_level="basic")
    for k in range(2):  # PyTensor makes a new linker per function from the mode's
        options = pytensor.function([x], x * 2 + k, mode=mode).maker.linker.session.get_session_options()
        assert options.intra_op_num_threads == 2
        assert options.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    default = pytensor.function([x], x + 1, mode="ONNX").maker.linker.session.get_session_options()
    assert default.intra_op_num_threads == 1
    assert default.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    fn = compile_onnx([x], x - 1, intra_op_num_threads=None, optimization_level="disabled")
    assert fn.maker.linker.session.get_session_options().graph_optimization_level == \
        ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    np.testing.assert_array_equal(fn([1.0, 2.0]), [0.0, 1.0])


def test_bad_session_settings_name_the_setting_and_what_is_valid():
    import pytest

    from backend import onnx_mode

    with pytest.raises(ValueError, match="optimization_level must be one of all, extended, basic, disabled"):
        onnx_mode(optimization_level="fast")
    with pytest.raises(ValueError, match="intra_op_num_threads must be a positive integer"):
        onnx_mode(intra_op_num_threads=0)
