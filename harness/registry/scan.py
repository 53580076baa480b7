"""Entries for ``backend/scan.py``: Scan (``pytensor.scan``) exported as an ONNX Loop — one entry per
kind of recurrence: a sequence with a sit-sot state (cumulative sum), a non-sequence (AR(1)), a
vector state through a matrix product (tanh RNN) and its gradient (a reverse Scan with mit-mot
buffers), a matrix state with taps [-2, -1] and its gradient, a while loop (``until``), nit-sot
outputs, and a body drawn from the registry's exact binary elementwise ops.

Sequence lengths are drawn from 0 (a Loop that never runs) upwards; the sizes of the inputs are tied
with `strategies.shapes.template_shapes`.

To add one: a ``register(...)`` call below whose ``build`` calls ``pytensor.scan`` on the cell's
inputs; ``shapes`` ties the inputs' sizes.
"""

from __future__ import annotations

import functools

import pytensor
import pytensor.tensor as pt
from hypothesis import strategies as st
from pytensor.scan.utils import until

from backend.dtypes import ALL_DTYPES, FLOAT_DTYPES, NUMERIC_DTYPES
from harness.registry.spec import EXACT, ONNX_OPERATIONS, REDUCTION, register
from strategies.shapes import template_shapes
from strategies.values import bounded_values

STEPS = (0, 5)
"""Sequence lengths drawn for every Scan entry (0: the Loop never runs)."""


def _scan(fn, **kwargs):
    return pytensor.scan(fn, return_updates=False, **kwargs)


def _cumulative_sum(x):
    return _scan(lambda row, total: total + row, sequences=x, outputs_info=pt.zeros(x.shape[1:], dtype=x.dtype))


def _ar1(phi, noise, x0):
    return _scan(lambda e, previous, p: p * previous + e, sequences=noise, outputs_info=x0, non_sequences=phi)


def _tanh_states(w, h0, xs):
    return _scan(lambda x_t, h, w_: pt.tanh(pt.dot(w_, h) + x_t), sequences=xs, outputs_info=h0, non_sequences=w)


def _tanh_weight_gradient(w, h0, xs):
    return pytensor.grad(_tanh_states(w, h0, xs).sum(), w)


def _fibonacci(initial):
    """A matrix state that reads the two previous steps (taps [-2, -1]), for four steps."""
    return _scan(lambda older, newer: older + newer, outputs_info=dict(initial=initial, taps=[-2, -1]), n_steps=4)


def _damped_fibonacci_gradient(a, initial):
    """Gradient through a taps [-2, -1] recurrence: PyTensor's reverse Scan has a mit-mot buffer."""
    states = _scan(lambda older, newer, a_: newer * a_ + older, outputs_info=dict(initial=initial, taps=[-2, -1]),
                   non_sequences=a, n_steps=3)
    return pytensor.grad(states.sum(), a)


def _double_until_over(x0, limit):
    """Doubles the state until it exceeds ``limit`` (a while loop), at most 12 steps."""
    return _scan(lambda previous, lim: (previous + previous, until(previous + previous > lim)), outputs_info=x0,
                 non_sequences=limit, n_steps=12)


def _squares(x):
    return _scan(lambda row: row * row, sequences=x)


@functools.cache
def _exact_binary_ops() -> tuple[str, ...]:
    """Binary elementwise entries that can step a state: exact, no declarations, signed zeros
    compared, every numeric dtype kept (built once, when first drawn)."""
    def keeps_dtype(spec):
        return all(spec.build(pt.vector(dtype=d), pt.vector(dtype=d)).dtype == d for d in NUMERIC_DTYPES)

    return tuple(sorted(
        name for name, spec in ONNX_OPERATIONS.items()
        if spec.arity == 2 and spec.elementwise and not spec.xfails and spec.tolerance == EXACT
        and spec.signed_zeros and set(NUMERIC_DTYPES) <= set(spec.dtypes) and spec.params is None
        and spec.elements is None and spec.input_dtypes is None and not name.startswith("scan_")
        and keeps_dtype(spec)
    ))


def _drawn_body(x, initial, *, body="add"):
    step = ONNX_OPERATIONS[body].build
    return _scan(lambda row, state: step(state, row), sequences=x, outputs_info=initial)


def _body_params(input_shapes):
    return st.fixed_dictionaries({"body": st.sampled_from(_exact_binary_ops())})


register("scan_cumulative_sum", arity=1, dtypes=NUMERIC_DTYPES, build=_cumulative_sum, probe_ndim=2,
         shapes=lambda d: template_shapes("T,n", sizes={"T": STEPS, "n": (0, 3)}), elementwise=False,
         onnx_ops=("Loop",))
register("scan_ar1", arity=3, dtypes=FLOAT_DTYPES, build=_ar1, probe_ndim=(0, 1, 0),
         shapes=lambda d: template_shapes("", "T", "", sizes={"T": STEPS}), elementwise=False, onnx_ops=("Loop",))
# a matrix product in the body: its order of summation decides where an overflow lands (dot's own
# entry declares that), so these recurrences draw bounded values
def _bounded(dtype):
    return [bounded_values(dtype, magnitude=8.0)] * 3


register("scan_tanh_recurrence", arity=3, dtypes=FLOAT_DTYPES, build=_tanh_states, probe_ndim=(2, 1, 2),
         shapes=lambda d: template_shapes("n,n", "n", "T,n", sizes={"T": STEPS, "n": (0, 3)}), elementwise=False,
         elements=_bounded, tolerance=REDUCTION, onnx_ops=("Loop", "Tanh"))
register("scan_tanh_recurrence_gradient", arity=3, dtypes=FLOAT_DTYPES, build=_tanh_weight_gradient,
         probe_ndim=(2, 1, 2), shapes=lambda d: template_shapes("n,n", "n", "T,n", sizes={"T": STEPS, "n": (0, 3)}),
         elementwise=False, elements=_bounded, tolerance=REDUCTION, onnx_ops=("Loop",))
register("scan_taps_fibonacci", arity=1, dtypes=ALL_DTYPES, build=_fibonacci, probe_ndim=3,
         shapes=lambda d: template_shapes("2,n,m", sizes={"n": (0, 3), "m": (0, 3)}), elementwise=False,
         onnx_ops=("Loop",))
register("scan_taps_gradient", arity=2, dtypes=FLOAT_DTYPES, build=_damped_fibonacci_gradient,
         probe_ndim=(1, 2), shapes=lambda d: template_shapes("n", "2,n", sizes={"n": (0, 3)}), elementwise=False,
         elements=lambda d: _bounded(d)[:2], tolerance=REDUCTION, onnx_ops=("Loop", "ScatterND"))
register("scan_until", arity=2, dtypes=NUMERIC_DTYPES, build=_double_until_over, probe_ndim=(0, 0),
         shapes=lambda d: template_shapes("", "", sizes={}), elementwise=False, onnx_ops=("Loop",))
register("scan_nit_sot", arity=1, dtypes=NUMERIC_DTYPES, build=_squares, probe_ndim=2,
         shapes=lambda d: template_shapes("T,n", sizes={"T": STEPS, "n": (0, 3)}), elementwise=False,
         onnx_ops=("Loop",))
register("scan_drawn_body", arity=2, dtypes=NUMERIC_DTYPES, build=_drawn_body, probe_ndim=(2, 1),
         shapes=lambda d: template_shapes("T,n", "n", sizes={"T": STEPS, "n": (0, 3)}), elementwise=False,
         params=_body_params, onnx_ops=("Loop",))
