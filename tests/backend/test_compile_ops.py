"""CheckAndRaise / Assert: the check is exported (the run fails where it fails), never dropped."""

import numpy as np
import onnxruntime as ort
import pytensor.tensor as pt
import pytest
from pytensor.raise_op import Assert

from backend import ONNXExportUnsupported, export_onnx


def _session(inputs, output):
    return ort.InferenceSession(export_onnx(inputs, output).SerializeToString(), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("ndim", [0, 1, 3])
def test_a_symbolic_check_passes_values_through_and_fails_the_run_where_it_fails(ndim):
    x = pt.tensor("x", dtype="float64", shape=(None,) * ndim)
    session = _session([x], Assert("x must be non-negative")(x, pt.all(pt.ge(x, 0))))
    good = np.full((2,) * ndim, 3.5)
    good.flat[0] = -0.0  # compares >= 0 and keeps its sign through the check
    (out,) = session.run(None, {"x": good})
    assert out.shape == good.shape and np.array_equal(out, good) and np.signbit(out.flat[0])
    empty = np.zeros((0,) * ndim) if ndim else None
    if empty is not None:
        assert session.run(None, {"x": empty})[0].shape == empty.shape
    with pytest.raises(Exception, match="delta"):
        session.run(None, {"x": np.full((2,) * ndim, -1.0)})


def test_several_conditions_must_all_hold():
    x, y = pt.vector("x"), pt.vector("y")
    session = _session([x, y], Assert("same length, positive")(x, pt.eq(x.shape[0], y.shape[0]), pt.all(x > 0)))
    assert session.run(None, {"x": np.ones(3), "y": np.ones(3)})[0].tolist() == [1.0, 1.0, 1.0]
    for x_value, y_value in ((np.ones(3), np.ones(2)), (-np.ones(3), np.ones(3))):
        with pytest.raises(Exception, match="delta"):
            session.run(None, {"x": x_value, "y": y_value})


def test_constant_conditions_are_decided_at_export():
    x = pt.vector("x")
    model = export_onnx([x], Assert("always")(x, np.array(True)))
    assert "Range" not in {node.op_type for node in model.graph.node}
    with pytest.raises(ONNXExportUnsupported, match="always false"):
        export_onnx([x], Assert("never")(x, np.array(False)))
