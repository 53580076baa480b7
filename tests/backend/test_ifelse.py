"""IfElse -> If: several outputs, conditions of any dtype, lazy branches, nesting, as built and
from default-mode functions."""

import numpy as np
import onnxruntime as ort
import pytensor
import pytensor.tensor as pt
import pytest

from backend import export_function_onnx, export_onnx
from backend.compat import ifelse
from harness.testing import reference_function

HOW = ["as built", "default-mode function"]


def _run(model, values):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {i.name: np.asarray(v) for i, v in zip(session.get_inputs(), values)})


def _export(inputs, outputs, how):
    return export_onnx(inputs, outputs) if how == "as built" else export_function_onnx(pytensor.function(inputs, outputs))


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("condition", [1.0, 0.0, -0.0, np.nan])
def test_two_outputs_and_a_float_condition_truthy_like_python(how, condition):
    c, x, y = pt.scalar("c"), pt.vector("x"), pt.vector("y")
    outputs = ifelse(c, [x * 2, y.sum()], [x[:1], y.prod()])
    values = [np.float64(condition), np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0])]
    got = _run(_export([c, x, y], outputs, how), values)
    want = reference_function([c, x, y], outputs)(*values)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("how", HOW)
def test_branch_not_taken_is_not_computed(how):
    """The false branch indexes out of bounds; PyTensor never evaluates it, nor may onnxruntime."""
    c, x, i = pt.lscalar("c"), pt.vector("x"), pt.lscalar("i")
    out = ifelse(pt.gt(c, 0), pt.exp(x).sum() * x, x[i:i + 1] * 2)
    model = _export([c, x, i], [out], how)
    assert [node.op_type for node in model.graph.node][-1] == "If"
    # the exclusive work (Exp, the index) lives inside the branches, not before the If
    assert not {"Exp", "Gather", "Slice"} & {node.op_type for node in model.graph.node}
    values = [np.int64(1), np.array([0.5, 1.5]), np.int64(99)]
    (got,) = _run(model, values)
    np.testing.assert_allclose(got, reference_function([c, x, i], out)(*values), rtol=1e-15)


def test_value_used_by_both_branches_is_computed_once_before_the_if():
    c, x = pt.bscalar("c"), pt.vector("x")
    shared = pt.exp(x)
    model = export_onnx([c, x], ifelse(c, shared + 1, shared * 2))
    top = [node.op_type for node in model.graph.node]
    assert top.count("Exp") == 1 and top.index("Exp") < top.index("If")


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("outer, inner", [(1, 1), (1, 0), (0, 1)])
def test_nested_ifelse(how, outer, inner):
    a, b, x = pt.iscalar("a"), pt.iscalar("b"), pt.vector("x")
    out = ifelse(a, ifelse(b, x + 1, x - 1), x * 0)
    values = [np.int32(outer), np.int32(inner), np.array([1.0, 2.0])]
    (got,) = _run(_export([a, b, x], [out], how), values)
    np.testing.assert_array_equal(got, reference_function([a, b, x], out)(*values))
