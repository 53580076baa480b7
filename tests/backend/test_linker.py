import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile.mode import Mode

from backend import ONNXLinker


def test_linker_instantiation():
    linker = ONNXLinker(opset_version=18)
    assert linker.opset_version == 18
    assert "inplace" in linker.incompatible_rewrites
    assert "cxx_only" in linker.incompatible_rewrites


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
