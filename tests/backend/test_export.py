import numpy as np
import onnx
import onnxruntime as ort
import pytensor
import pytensor.tensor as pt
import pytest

from backend import compile_onnx, export_function_onnx, export_onnx
from harness.testing import py_mode


def _run(model, **feed):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feed)


def test_export_onnx_basic(tmp_path):
    x = pt.vector("x", dtype="float32")
    path = tmp_path / "model.onnx"
    model = export_onnx([x], x * 2, path)
    assert path.exists()
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    (out,) = _run(model, x=np.array([1, 2], "float32"))
    np.testing.assert_array_equal(out, [2, 4])


def test_export_onnx_done_when_example(tmp_path):
    """The issue's acceptance example: (x*2+3)/4 with float32 x and Python int literals."""
    x = pt.vector("x", dtype="float32")
    y = (x * 2 + 3) / 4
    path = tmp_path / "affine.onnx"
    export_onnx([x], y, path)
    loaded = onnx.load(str(path))
    onnx.checker.check_model(loaded, full_check=True)
    value = np.array([-1.5, 0.0, 1.0, 3.0e7], "float32")
    (got,) = _run(loaded, x=value)
    want = pytensor.function([x], y, mode=py_mode())(value)
    assert got.dtype == want.dtype == np.float32
    np.testing.assert_array_equal(got, want)


def test_compile_onnx_basic():
    x = pt.vector("x", dtype="float32")
    fn = compile_onnx([x], x + 1)
    result = fn(np.array([1, 2, 3], "float32"))
    np.testing.assert_array_equal(result, np.array([2, 3, 4], "float32"))
    assert result.dtype == np.float32


def test_export_function_onnx(tmp_path):
    x = pt.vector("x", dtype="float32")
    fn = pytensor.function([x], pt.sqrt(x))
    path = tmp_path / "function.onnx"
    model = export_function_onnx(fn, path)
    assert path.exists()
    onnx.checker.check_model(model, full_check=True)
    (out,) = _run(model, x=np.array([4.0, 9.0], "float32"))
    np.testing.assert_array_equal(out, [2.0, 3.0])


def test_export_function_onnx_rejects_non_functions():
    with pytest.raises(TypeError, match="compiled pytensor Function"):
        export_function_onnx(lambda x: x)


def test_export_is_atomic_and_leaves_no_temp_file(tmp_path):
    x = pt.vector("x", dtype="float32")
    export_onnx([x], x + 1, tmp_path / "m.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]


def _logistic_regression():
    X, y, w = pt.matrix("X"), pt.vector("y"), pt.vector("w")
    b = pt.scalar("b")
    p = pt.sigmoid(X @ w + b)
    loss = -pt.mean(y * pt.log(p) + (1 - y) * pt.log(1 - p))
    return [X, y, w, b], [loss, *pytensor.grad(loss, [w, b])]


@pytest.mark.parametrize("how", ["as built", "default-mode function"])
def test_logistic_regression_written_with_matmul_and_its_gradient_export(how):
    """What users write: `X @ w` (Blockwise Matmul as built, Dot after the default rewrites)."""
    inputs, outputs = _logistic_regression()
    if how == "as built":
        model = export_onnx(inputs, outputs)
    else:
        model = export_function_onnx(pytensor.function(inputs, outputs))
    rng = np.random.default_rng(0)
    values = [rng.normal(size=(20, 3)), (rng.random(20) > 0.5).astype("float64"), rng.normal(size=3),
              np.asarray(0.3)]
    got = _run(model, **dict(zip([i.name for i in model.graph.input], values)))
    want = pytensor.function(inputs, outputs, mode=py_mode())(*values)
    assert [g.shape for g in got] == [np.shape(w) for w in want]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)
