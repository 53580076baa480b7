"""OpFromGraph: inlined into the model, nested ones too, and the gradients PyTensor builds for one
(its own or a user's override), as built and from default-mode functions."""

import numpy as np
import onnxruntime as ort
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.builders import OpFromGraph
from pytensor.graph.traversal import applys_between
from pytensor.scan.op import Scan

from backend import export_function_onnx, export_onnx
from harness.testing import reference_function

HOW = ["as built", "default-mode function"]


def _run(inputs, outputs, values, how):
    model = (export_onnx(inputs, outputs) if how == "as built"
             else export_function_onnx(pytensor.function(inputs, outputs)))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return model, session.run(None, {i.name: np.asarray(v) for i, v in zip(session.get_inputs(), values)})


def _softplus_op():
    a = pt.vector("a")
    return OpFromGraph([a], [pt.log1p(pt.exp(a))])


@pytest.mark.parametrize("how", HOW)
def test_gradient_of_an_op_from_graph(how):
    x = pt.vector("x")
    y = _softplus_op()(x).sum()
    outputs = [y, pytensor.grad(y, x)]
    values = [np.array([-3.0, 0.0, 2.5])]
    model, got = _run([x], outputs, values, how)
    assert not any(node.op_type == "OpFromGraph" for node in model.graph.node)  # inlined
    for g, w in zip(got, reference_function([x], outputs)(*values)):
        np.testing.assert_allclose(g, w, rtol=1e-14)


@pytest.mark.parametrize("how", HOW)
def test_gradient_override_is_what_gets_exported(how):
    """A user's pullback override replaces the gradient: the export must compute the override (here a
    deliberately different one, 2 * output_gradient), not the derivative of the inner graph."""
    a = pt.vector("a")

    def override(inputs, outputs, output_gradients):
        return [output_gradients[0] * 2]

    import inspect

    # the keyword is PyTensor 3's `pullback`, 2.38's `lop_overrides` (2.38 takes unknown keywords silently)
    keyword = "pullback" if "pullback" in inspect.signature(OpFromGraph.__init__).parameters else "lop_overrides"
    op = OpFromGraph([a], [pt.sin(a)], **{keyword: override})
    x = pt.vector("x")
    gradient = pytensor.grad(op(x).sum(), x)
    values = [np.array([0.1, 1.0, 2.0])]
    _, (got,) = _run([x], [gradient], values, how)
    np.testing.assert_array_equal(got, np.full(3, 2.0))


@pytest.mark.parametrize("how", HOW)
def test_nested_op_from_graph_with_two_outputs(how):
    a, b = pt.vector("a"), pt.vector("b")
    inner = OpFromGraph([a, b], [a * b, a - b])
    c, d = pt.vector("c"), pt.vector("d")
    product, difference = inner(c, d)
    outer = OpFromGraph([c, d], [product + difference, pt.exp(difference)])
    x, y = pt.vector("x"), pt.vector("y")
    outputs = outer(x, y)
    values = [np.array([1.0, -2.0]), np.array([0.5, 3.0])]
    _, got = _run([x, y], outputs, values, how)
    for g, w in zip(got, reference_function([x, y], outputs)(*values)):
        np.testing.assert_allclose(g, w, rtol=1e-15)


def _holds_a_scan(inputs, outputs) -> bool:
    """A Scan anywhere in the graph, inner graphs of OpFromGraphs included."""
    for apply in applys_between(inputs, outputs):
        if isinstance(apply.op, Scan) or (isinstance(apply.op, OpFromGraph) and _holds_a_scan(
                apply.op.fgraph.inputs, apply.op.fgraph.outputs)):
            return True
    return False


@pytest.mark.parametrize("mode", ["reflect", "symmetric"])
def test_pad_modes_built_with_scan_export(mode):
    """PyTensor builds reflect and symmetric padding inside an OpFromGraph, with a Scan up to 3.0 (a Loop
    in the export) and from 3.3 without one."""
    x = pt.matrix("x")
    padded = pt.pad(x, 2, mode=mode)
    values = [np.arange(12.0).reshape(3, 4)]
    model, (got,) = _run([x], [padded], values, "as built")
    assert _holds_a_scan([x], [padded]) == any(node.op_type == "Loop" for node in model.graph.node)
    want = reference_function([x], padded)(*values)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)
