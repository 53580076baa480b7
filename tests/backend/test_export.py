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


ORT_TRANSPOSED_MATMUL_VECTOR = """A standalone onnxruntime reproducer (1.32): Transpose(X) -> MatMul(X^T, v) with a 1-D v gives
a wrong product when graph optimizations are on (FusedMatMul), in every float type."""


def _transpose_matmul_vector_model():
    from onnx import TensorProto, helper

    inputs = [helper.make_tensor_value_info("X", TensorProto.DOUBLE, ["n", "k"]),
              helper.make_tensor_value_info("v", TensorProto.DOUBLE, ["n"])]
    nodes = [helper.make_node("Transpose", ["X"], ["XT"], perm=[1, 0]), helper.make_node("MatMul", ["XT", "v"], ["y"])]
    output = helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)
    model = helper.make_model(helper.make_graph(nodes, "transpose_matmul_vector", inputs, [output]),
                              opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    return model


def test_onnxruntime_transposed_matmul_with_a_vector_is_still_wrong_when_optimized():
    """The runtime bug `backend.math.matmul` works around; when this fails onnxruntime is fixed and the
    workaround (a one-column matrix) can go."""
    x = np.arange(60.0).reshape(20, 3) % 7 - 3
    v = np.linspace(-1.0, 1.0, 20)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(_transpose_matmul_vector_model().SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"X": x, "v": v})
    assert not np.allclose(got, x.T @ v), ORT_TRANSPOSED_MATMUL_VECTOR


def test_gemv_of_a_transposed_matrix_is_right_on_the_optimized_session():
    """PyTensor 2.38's default rewrites make Gemv(y, 1, X.T, residual, 0) of a regression's gradient;
    exported as Transpose -> MatMul with a vector, onnxruntime's optimizer got it wrong."""
    from pytensor.tensor.blas import gemv_no_inplace

    X, v, y = pt.matrix("X", dtype="float64"), pt.vector("v", dtype="float64"), pt.vector("y", dtype="float64")
    out = gemv_no_inplace(y, np.float64(1.0), X.T, v, np.float64(0.0))
    x = np.arange(60.0).reshape(20, 3) % 7 - 3
    values = {"X": x, "v": np.linspace(-1.0, 1.0, 20), "y": np.zeros(3)}
    model = export_onnx([X, v, y], out)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    (got,) = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"]).run(
        None, values)
    np.testing.assert_allclose(got, x.T @ values["v"], rtol=1e-14)


def test_blockwise_whose_batch_dimensions_are_static_ones_is_its_core_op():
    # PyTensor 2.38's MvNormal gradient builds Blockwise(ARange) over ExpandDims'ed scalars
    from pytensor.tensor.basic import ARange
    from pytensor.tensor.blockwise import Blockwise

    start, stop = pt.scalar("start", dtype="int64"), pt.scalar("stop", dtype="int64")
    batched = Blockwise(ARange("int64"), signature="(),(),()->(o)")(start[None], stop[None], pt.constant([1]))
    assert batched.type.shape[0] == 1
    model = export_onnx([start, stop], batched)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"start": np.array(2), "stop": np.array(7)})
    np.testing.assert_array_equal(got, [[2, 3, 4, 5, 6]])


def _session(model):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def _layer():
    x = pt.matrix("x", dtype="float64")
    weights = pytensor.shared(np.arange(6.0).reshape(3, 2), name="W")
    bias = pytensor.shared(np.array([0.5, -0.5]), name="b")
    hidden = pt.tanh(x @ weights + bias)
    hidden.name = "hidden"
    return x, weights, bias, hidden


def test_shared_weights_are_initializers_named_after_them_and_the_model_runs_on_x_alone():
    x, weights, bias, hidden = _layer()
    model = export_onnx([x], [hidden])
    assert [i.name for i in model.graph.input] == ["x"]
    assert {"W", "b"} <= {t.name for t in model.graph.initializer}
    assert [o.name for o in model.graph.output] == ["hidden"]
    value = np.linspace(-1, 1, 12).reshape(4, 3)
    (got,) = _session(model).run(None, {"x": value})
    np.testing.assert_allclose(got, np.tanh(value @ weights.get_value() + bias.get_value()), rtol=1e-14)
    kept = export_onnx([x], [hidden], keep_shared_as_inputs=True)
    names = [i.name for i in kept.graph.input]
    assert names[0] == "x" and sorted(names[1:]) == ["W", "b"]
    (fed,) = _session(kept).run(None, {"x": value, "W": 2 * weights.get_value(), "b": bias.get_value()})
    np.testing.assert_allclose(fed, np.tanh(value @ (2 * weights.get_value()) + bias.get_value()), rtol=1e-14)


def test_a_compiled_function_exports_its_weights_current_values_and_its_updates_as_named_outputs():
    x, weights, bias, hidden = _layer()
    fn = pytensor.function([x], hidden, updates={weights: weights * 2}, mode=py_mode())
    fn(np.ones((1, 3)))  # W doubles: the export holds the value it has now
    model = export_function_onnx(fn)
    assert [i.name for i in model.graph.input] == ["x"]
    assert [o.name for o in model.graph.output] == ["hidden", "update:W"]
    value = np.ones((2, 3))
    got, updated = _session(model).run(None, {"x": value})
    np.testing.assert_allclose(got, np.tanh(value @ weights.get_value() + bias.get_value()), rtol=1e-14)
    np.testing.assert_allclose(updated, 2 * weights.get_value())


def test_inputs_no_node_reads_are_dropped_only_where_asked():
    from pytensor.graph.fg import FunctionGraph

    from backend.graph import fgraph_to_onnx

    x, county = pt.vector("x"), pt.scalar("county", dtype="int64")
    fgraph = FunctionGraph([x, county], [pt.exp(x)], clone=False)
    assert [i.name for i in fgraph_to_onnx(fgraph, drop_unread=[county]).graph.input] == ["x"]
    assert [i.name for i in fgraph_to_onnx(fgraph).graph.input] == ["x", "county"]


def test_names_are_kept_exactly_and_clashes_get_a_suffix():
    value = pt.vector("chol_cholesky-cov-packed__", dtype="float64")
    first, second = pt.exp(value), pt.log(value)
    first.name = second.name = "out put"
    model = export_onnx([value], [first, second, value])
    assert [i.name for i in model.graph.input] == ["chol_cholesky-cov-packed__"]
    names = [o.name for o in model.graph.output]
    assert names[0] == "out put" and names[1].startswith("out put_") and len(set(names)) == 3
    results = _session(model).run(None, {"chol_cholesky-cov-packed__": np.array([1.0, 2.0])})
    np.testing.assert_allclose(results[0], np.exp([1.0, 2.0]))


def test_named_dims_are_shared_by_inputs_and_reach_the_outputs():
    x, y = pt.matrix("X", dtype="float64"), pt.vector("y", dtype="float64")
    residual = (x.sum(axis=1) - y) ** 2
    model = export_onnx([x, y], [residual], dim_names={"X": ("batch", "features"), "y": ("batch",)})
    dims = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input}
    assert dims == {"X": ["batch", "features"], "y": ["batch"]}
    assert [d.dim_param for d in model.graph.output[0].type.tensor_type.shape.dim] == ["batch"]
    assert model.producer_name == "pytensor-onnx-conformance" and model.producer_version
    assert f"PyTensor {pytensor.__version__}" in model.doc_string
    with pytest.raises(ValueError, match="dim_names names \\['z'\\]"):
        export_onnx([x, y], [residual], dim_names={"z": ("batch",)})
    with pytest.raises(ValueError, match="must name each of its 2 axes"):
        export_onnx([x, y], [residual], dim_names={"X": ("batch",)})


def test_a_pymc_model_with_dims_exports_without_its_coords_lengths_and_runs_on_its_value_names():
    pm = pytest.importorskip("pymc")
    with pm.Model(coords={"county": ["a", "b", "c"]}) as model:
        sigma = pm.HalfNormal("sigma")
        effect = pm.Normal("effect", 0, sigma, dims="county")
        pm.Normal("y", effect.sum(), 1.0, observed=np.array([0.1, -0.3]))
    onnx_model = export_function_onnx(model.compile_logp())
    point = model.initial_point()
    assert sorted(i.name for i in onnx_model.graph.input) == sorted(point)
    (logp,) = _session(onnx_model).run(None, {name: np.asarray(v) for name, v in point.items()})
    np.testing.assert_allclose(logp, model.compile_logp()(point), rtol=1e-12)
