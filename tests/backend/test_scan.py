"""Scan -> Loop: the recurrences users write, exported as built and from default-mode functions
(whose rewrites make in-place Scans and shorten buffers to the values kept), against PyTensor's
reference evaluation."""

import numpy as np
import onnx
import onnxruntime as ort
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.graph.fg import FunctionGraph
from pytensor.scan.op import Scan
from pytensor.scan.utils import until

from backend import ONNXExportUnsupported, export_function_onnx, export_onnx
from backend.graph import fgraph_to_onnx
from harness.testing import reference_function

HOW = ["as built", "default-mode function"]


def _scan(fn, **kwargs):
    return pytensor.scan(fn, return_updates=False, **kwargs)


def _export(inputs, outputs, how):
    if how == "as built":
        return export_onnx(inputs, outputs)
    return export_function_onnx(pytensor.function(inputs, outputs))


def _check(inputs, outputs, values, how, *, rtol=0.0):
    """Export, run on onnxruntime, compare with PyTensor's reference (dtype, shape, values)."""
    model = _export(inputs, outputs, how)
    assert any(node.op_type == "Loop" for node in model.graph.node)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {i.name: np.asarray(v) for i, v in zip(session.get_inputs(), values)})
    want = reference_function(inputs, outputs)(*values)
    for k, (g, w) in enumerate(zip(got, want)):
        assert g.dtype == w.dtype, f"output {k}: dtype {g.dtype} != {w.dtype}"
        assert g.shape == w.shape, f"output {k}: shape {g.shape} != {w.shape}"
        np.testing.assert_allclose(g, w, rtol=rtol, atol=0, err_msg=f"output {k}")
    return model


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("length", [0, 1, 7])
def test_cumulative_sum_written_as_scan(how, length):
    x = pt.vector("x", dtype="int32")
    total = _scan(lambda v, acc: acc + v, sequences=x, outputs_info=pt.zeros((), "int32"))
    _check([x], [total], [np.arange(length, dtype="int32") - 3], how)


@pytest.mark.parametrize("how", HOW)
def test_ar1_simulation_with_a_non_sequence(how):
    phi, x0 = pt.scalar("phi"), pt.scalar("x0")
    noise = pt.vector("noise")
    path = _scan(lambda e, prev, p: p * prev + e, sequences=noise, outputs_info=x0, non_sequences=phi)
    rng = np.random.default_rng(1)
    _check([phi, noise, x0], [path], [np.float64(0.8), rng.normal(size=50), np.float64(2.0)], how)


@pytest.mark.parametrize("how", HOW)
def test_tanh_recurrence_and_its_gradient_with_respect_to_the_weight(how):
    w, h0, xs = pt.matrix("w"), pt.vector("h0"), pt.matrix("xs")
    states = _scan(lambda x_t, h, w_: pt.tanh(w_ @ h + x_t), sequences=xs, outputs_info=h0, non_sequences=w)
    gradient = pytensor.grad(states[-1].sum(), w)
    rng = np.random.default_rng(2)
    model = _check([w, h0, xs], [states, gradient],
                   [rng.normal(size=(4, 4)) / 2, rng.normal(size=4), rng.normal(size=(9, 4))], how, rtol=1e-12)
    # forward and reverse Scan: two Loops (the default rewrites may merge nothing here)
    assert sum(node.op_type == "Loop" for node in model.graph.node) >= 2


@pytest.mark.parametrize("how", HOW)
def test_matrix_state_with_taps_minus_two_and_minus_one(how):
    initial = pt.tensor3("initial")
    states = _scan(lambda older, newer: newer @ older * 0.5 + newer,
                   outputs_info=dict(initial=initial, taps=[-2, -1]), n_steps=6)
    rng = np.random.default_rng(3)
    _check([initial], [states], [rng.normal(size=(2, 3, 3)) / 3], how, rtol=1e-12)


@pytest.mark.parametrize("how", HOW)
def test_gradient_through_taps_uses_a_mit_mot_buffer(how):
    a, initial = pt.vector("a"), pt.matrix("initial")
    states = _scan(lambda older, newer, a_: newer * a_ + older * 0.3,
                   outputs_info=dict(initial=initial, taps=[-2, -1]), non_sequences=a, n_steps=5)
    gradients = pytensor.grad(states.sum(), [a, initial])
    reverse = [n.op for n in pytensor.graph.traversal.applys_between([a, initial], gradients) if isinstance(n.op, Scan)]
    assert any(op.info.n_mit_mot for op in reverse), "the gradient should need a mit-mot Scan"
    rng = np.random.default_rng(4)
    _check([a, initial], [states, *gradients], [rng.normal(size=3), rng.normal(size=(2, 3))], how, rtol=1e-12)


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("start", [1.0, 200.0, -1.0])
def test_while_loop_stops_where_pytensor_stops(how, start):
    x0 = pt.scalar("x0")
    states = _scan(lambda prev: (prev * 2, until(prev * 2 > 100)), outputs_info=x0, n_steps=20)
    _check([x0], [states], [np.float64(start)], how)


@pytest.mark.parametrize("how", HOW)
def test_last_value_only_uses_a_short_buffer_in_default_mode(how):
    x = pt.vector("x")
    total = _scan(lambda v, acc: acc * 0.5 + v, sequences=x, outputs_info=pt.zeros(()))
    _check([x], [total[-1], total[-3:]], [np.arange(10.0)], how)


@pytest.mark.parametrize("how", HOW)
def test_symbolic_number_of_steps_and_several_outputs(how):
    n = pt.iscalar("n")
    x0 = pt.vector("x0")
    squares, doubled = _scan(lambda prev: (prev * prev, prev + prev), outputs_info=[None, x0], n_steps=n)
    _check([n, x0], [squares, doubled], [np.int32(4), np.array([1.5, -0.5])], how)
    _check([n, x0], [squares, doubled], [np.int32(0), np.array([1.5, -0.5])], how)


def test_scan_drawing_random_numbers_is_declined_naming_the_generator():
    rng = pytensor.shared(np.random.default_rng(0), name="rng")
    x0 = pt.scalar("x0")

    def step(prev, generator):
        next_generator, noise = pt.random.normal(0, 1, rng=generator).owner.outputs
        return prev + noise, {generator: next_generator}

    states, _updates = pytensor.scan(step, outputs_info=x0, non_sequences=rng, n_steps=3, return_updates=True)
    with pytest.raises(ONNXExportUnsupported, match="graph input rng .*is read by Scan.*pass the draws as an input"):
        fgraph_to_onnx(FunctionGraph([x0, rng], [states], clone=True))


def test_loop_body_passes_the_onnx_checker_with_outer_scope_values():
    x, w = pt.vector("x"), pt.scalar("w")
    out = _scan(lambda v, acc, w_: acc * w_ + v, sequences=x, outputs_info=pt.zeros(()), non_sequences=w)
    model = export_onnx([x, w], out)
    onnx.checker.check_model(model, full_check=True)
    loop = next(node for node in model.graph.node if node.op_type == "Loop")
    body = loop.attribute[0].g
    # the sequence and the non-sequence are read from the enclosing graph, not carried
    assert len(body.input) == 3  # iteration, condition, the state
