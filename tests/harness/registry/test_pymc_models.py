"""PyMC models (harness/registry/pymc_models.py, the ``[pymc]`` extra): the rows' declared value
variables are the models' own, and PyMC's compiled logp/dlogp functions export with the value
variables' names and compute PyTensor's values. Skipped, with the reason, where PyMC is not installed
(tox env ``pymc`` runs them)."""

import numpy as np
import pytest

pm = pytest.importorskip("pymc", reason="PyMC is not installed: pip install -e '.[pymc]' (tox -e pymc)")

import onnxruntime as ort  # noqa: E402  (after the skip: PyMC's models import PyMC)

from backend import export_function_onnx  # noqa: E402
from harness.registry.pymc_models import MODELS  # noqa: E402

ROWS = [pytest.param(name, id=name) for name in MODELS]


@pytest.mark.parametrize("row", ROWS)
def test_declared_value_variables_are_the_models(row):
    make_model, values = MODELS[row]
    model = make_model()
    assert [v.name for v in model.value_vars] == list(values)
    point = model.initial_point()
    for v in model.value_vars:  # an axis over ``dims`` has no static size: its coords give the length
        assert point[v.name].shape == values[v.name]
        assert all(s is None or s == d for s, d in zip(v.type.shape, values[v.name], strict=True))


@pytest.mark.parametrize("row", ROWS)
def test_compiled_logp_and_dlogp_export_with_value_names_and_agree(row):
    make_model, values = MODELS[row]
    model = make_model()
    point = {name: np.full(shape, 0.3) for name, shape in values.items()}
    for compiled in (model.compile_logp(), model.compile_dlogp()):
        onnx_model = export_function_onnx(compiled)
        assert [i.name for i in onnx_model.graph.input] == list(values)
        session = ort.InferenceSession(onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
        (got,) = session.run(None, point)
        np.testing.assert_allclose(got, compiled(point), rtol=1e-12, atol=1e-12)


def test_logp_dlogp_function_exports_on_its_raveled_input():
    make_model, values = MODELS["model:linear_regression"]
    function = make_model().logp_dlogp_function(ravel_inputs=True)
    onnx_model = export_function_onnx(function)
    assert [i.name for i in onnx_model.graph.input] == ["joined_inputs"]
    session = ort.InferenceSession(onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
    point = np.linspace(-0.5, 0.5, sum(int(np.prod(s)) for s in values.values()))
    logp, gradient = session.run(None, {"joined_inputs": point})
    function.set_extra_values({})
    expected_logp, expected_gradient = function(point)
    np.testing.assert_allclose(logp, expected_logp, rtol=1e-12)
    np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-12, atol=1e-12)
