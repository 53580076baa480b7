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

import numpy as np
import pytensor
import pytensor.tensor as pt
from hypothesis import strategies as st
from pytensor.scan.utils import until

from backend.dtypes import ALL_DTYPES, FLOAT_DTYPES
from harness.registry.quirks import (
    FLOAT16_CHAIN,
    ONNXRUNTIME_TINY_TANH,
    TINY_TANH_LIMIT,
    TINY_TANH_UNPREDICTABLE,
    float16_chain_differs,
)
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


def _state_terms(w, h0, xs):
    """Per state element, the sum of the magnitudes of the terms it is computed from, errors carried
    over from earlier steps included: ``|W| @ terms[t-1] + |W| @ |h[t-1]| + |x[t]|`` (|tanh'| <= 1).
    Also returns the states themselves (float64)."""
    states, terms = [], []
    h, carried = h0, np.zeros_like(h0)
    for x_t in xs:
        carried = np.abs(w) @ carried + np.abs(w) @ np.abs(h) + np.abs(x_t)
        h = np.tanh(w @ h + x_t)
        states.append(h)
        terms.append(carried)
    return np.array(states).reshape(xs.shape), np.array(terms).reshape(xs.shape)


def _recurrence_terms(example):
    """Magnitudes of the terms each state of `_tanh_states` is a sum of, per element: where they
    cancel (W @ h + x near 0) errors are relative to them, not to the result (measured: up to 384
    ULP of the result in float64, under 1 ULP of these terms)."""
    w, h0, xs = (np.asarray(a, np.float64) for a in example.arrays)
    with np.errstate(all="ignore"):
        return _state_terms(w, h0, xs)[1]


def _gradient_terms(example):
    """Magnitudes of the terms each element of `_tanh_weight_gradient` is a sum of: the backward
    pass run on absolute values, ``|delta[t]| <= (1 - h[t]**2) * (1 + |W|.T @ |delta[t+1]|)`` plus
    what the forward states' own errors contribute, and ``sum_t |delta[t]| * |h[t-1]|``. The
    gradient's 1 - tanh(z)**2 cancels where tanh saturates (measured: up to 63 ULP of the result in
    float64, under 1 ULP of these terms)."""
    w, h0, xs = (np.asarray(a, np.float64) for a in example.arrays)
    with np.errstate(all="ignore"):
        states, state_terms = _state_terms(w, h0, xs)
        previous = np.vstack([h0[None, :], states[:-1]]) if len(xs) else np.zeros((0, len(h0)))
        delta = np.zeros_like(h0)
        total = np.zeros_like(w)
        for t in range(len(xs) - 1, -1, -1):
            delta = (1 - states[t] ** 2 + 2 * state_terms[t]) * (1 + np.abs(w).T @ delta)
            total += np.outer(delta, np.abs(previous[t]) + state_terms[t - 1] if t else np.abs(previous[t]))
        return total


def _tiny_preactivation(example) -> bool:
    """Some step's tanh argument W @ h + x is nonzero and tiny (float32 states, computed here in
    float64)."""
    w, h0, xs = (np.asarray(a, np.float64) for a in example.arrays)
    h = h0
    with np.errstate(all="ignore"):
        for x_t in xs:
            z = np.asarray(w @ h + x_t, np.float32).astype(np.float64)
            if np.any((np.abs(z) > 0) & (np.abs(z) < TINY_TANH_LIMIT)):
                return True
            h = np.tanh(z).astype(np.float32).astype(np.float64)
    return False


def _taps_gradient_terms(example):
    """The states of `_damped_fibonacci_gradient` grow by at most 1 + max|a| per step; its gradient
    sums products of states and back-propagated errors of that size, and in float16 PyTensor rounds
    every one of them where onnxruntime computes in float32 (measured: 5 ULP of the result, under
    1 ULP of this bound)."""
    a, initial = (np.asarray(v, np.float64) for v in example.arrays)
    growth = 1.0 + np.max(np.abs(a), initial=0.0)
    return np.float64(3 * max(1.0, np.max(np.abs(initial), initial=0.0)) * growth ** 3)


def _float16_ar1_in_numpy(phi, noise, x0):
    """`_ar1` stepped in numpy: the state is rounded to float16 after every step (the Loop carries
    it as float16), whatever precision a step computes in."""
    state, path = x0, []
    for e in noise:
        state = np.asarray(phi * state + e).astype(np.float16)
        path.append(state)
    return np.array(path, dtype=np.float16).reshape(len(noise))


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
    compared, every dtype kept, bool included (built once, when first drawn)."""
    def keeps_dtype(spec):
        try:
            return all(spec.build(pt.vector(dtype=d), pt.vector(dtype=d)).dtype == d for d in ALL_DTYPES)
        except TypeError:  # PyTensor refuses a dtype (sub of bools)
            return False

    return tuple(sorted(
        name for name, spec in ONNX_OPERATIONS.items()
        if spec.arity == 2 and spec.elementwise and not spec.xfails and spec.tolerance == EXACT
        and spec.signed_zeros and set(ALL_DTYPES) <= set(spec.dtypes) and spec.params is None
        and spec.elements is None and spec.input_dtypes is None and not name.startswith("scan_")
        and keeps_dtype(spec)
    ))


def _drawn_body(x, initial, *, body="add"):
    step = ONNX_OPERATIONS[body].build
    return _scan(lambda row, state: step(state, row), sequences=x, outputs_info=initial)


def _body_params(input_shapes):
    return st.fixed_dictionaries({"body": st.sampled_from(_exact_binary_ops())})


register("scan_cumulative_sum", arity=1, dtypes=ALL_DTYPES, build=_cumulative_sum, probe_ndim=2,
         shapes=lambda d: template_shapes("T,n", sizes={"T": STEPS, "n": (0, 3)}), elementwise=False,
         onnx_ops=("Loop",))
register("scan_ar1", arity=3, dtypes=ALL_DTYPES, build=_ar1, probe_ndim=(0, 1, 0),
         shapes=lambda d: template_shapes("", "T", "", sizes={"T": STEPS}), elementwise=False,
         onnx_ops=("Loop",)).xfail(
    id="float16-chain-in-loop",
    reason=FLOAT16_CHAIN + " (here: within each step of the Loop body)", category="onnxruntime-kernel",
    dtypes=("float16",), when=float16_chain_differs(_float16_ar1_in_numpy),
)
# a matrix product in the body: its order of summation decides where an overflow lands (dot's own
# entry declares that), so these recurrences draw bounded values: weights up to 2, states up to 8;
# and, as for dot, the sign of a zero sum depends on that order, so it is not compared
def _bounded(dtype):
    return [bounded_values(dtype, magnitude=2.0), bounded_values(dtype, magnitude=8.0),
            bounded_values(dtype, magnitude=8.0)]


register("scan_tanh_recurrence", arity=3, dtypes=FLOAT_DTYPES, build=_tanh_states, probe_ndim=(2, 1, 2),
         shapes=lambda d: template_shapes("n,n", "n", "T,n", sizes={"T": STEPS, "n": (0, 3)}), elementwise=False,
         elements=_bounded, tolerance=REDUCTION, error_scale=_recurrence_terms, signed_zeros=False,
         onnx_ops=("Loop", "Tanh")).xfail(
    id="onnxruntime-tiny-tanh",
    reason=ONNXRUNTIME_TINY_TANH, category="onnxruntime-kernel", dtypes=("float32",), when=_tiny_preactivation,
    unpredictable=TINY_TANH_UNPREDICTABLE,
)
register("scan_tanh_recurrence_gradient", arity=3, dtypes=FLOAT_DTYPES, build=_tanh_weight_gradient,
         probe_ndim=(2, 1, 2), shapes=lambda d: template_shapes("n,n", "n", "T,n", sizes={"T": STEPS, "n": (0, 3)}),
         elementwise=False, elements=_bounded, tolerance=REDUCTION, error_scale=_gradient_terms,
         signed_zeros=False, onnx_ops=("Loop",)).xfail(
    id="onnxruntime-tiny-tanh",
    reason=ONNXRUNTIME_TINY_TANH, category="onnxruntime-kernel", dtypes=("float32",), when=_tiny_preactivation,
    unpredictable=TINY_TANH_UNPREDICTABLE,
)
register("scan_taps_fibonacci", arity=1, dtypes=ALL_DTYPES, build=_fibonacci, probe_ndim=3,
         shapes=lambda d: template_shapes("2,n,m", sizes={"n": (0, 3), "m": (0, 3)}), elementwise=False,
         onnx_ops=("Loop",))
register("scan_taps_gradient", arity=2, dtypes=ALL_DTYPES, build=_damped_fibonacci_gradient,
         probe_ndim=(1, 2), shapes=lambda d: template_shapes("n", "2,n", sizes={"n": (0, 3)}), elementwise=False,
         elements=lambda d: _bounded(d)[:2] if d in FLOAT_DTYPES else None, tolerance=REDUCTION, error_scale=_taps_gradient_terms, onnx_ops=("Loop", "ScatterND"))
def _doubling_overflows_against_minus_inf(example) -> bool:
    """The limit is -inf and the first doubling of x0 overflows float16 (|x0| >= 32768): PyTensor
    compares -inf > -inf (false, goes on); onnxruntime compares the unrounded float32 sum (true, stops).
    Measured: an overflow at a later step (|x0| from 16 to 32752) does not diverge."""
    x0, limit = (np.asarray(a, np.float64) for a in example.arrays)
    return bool(np.isneginf(limit) and np.isfinite(x0) and abs(x0) >= 32768.0)


register("scan_until", arity=2, dtypes=ALL_DTYPES, build=_double_until_over, probe_ndim=(0, 0),
         shapes=lambda d: template_shapes("", "", sizes={}), elementwise=False, onnx_ops=("Loop",)).xfail(
    id="float16-chain-across-steps",
    reason="onnxruntime runs the float16 Add in float32 and drops the Cast pair before the comparison (even "
           "with graph optimizations off): the first step, where doubling x0 overflows float16, compares a "
           "finite float32 sum with the limit, where PyTensor and the ONNX reference evaluator compare -inf",
    category="onnxruntime-kernel", dtypes=("float16",), when=_doubling_overflows_against_minus_inf,
)
def _zero_steps_of_nonempty_rows(example) -> bool:
    """No step runs and each step's output would not be empty."""
    (x,) = example.arrays
    return x.shape[0] == 0 and x.shape[1] != 0


register("scan_nit_sot", arity=1, dtypes=ALL_DTYPES, build=_squares, probe_ndim=2,
         shapes=lambda d: template_shapes("T,n", sizes={"T": STEPS, "n": (0, 3)}), elementwise=False,
         onnx_ops=("Loop",)).xfail(
    id="zero-steps-all-dimensions-zero",
    reason="PyTensor's Scan run for zero steps returns a nit_sot output with every dimension 0 ((0, 0) for rows of "
           "length 1), never having run the inner function, even where its own static type fixes the row length "
           "(shape (?, 1)); the export gives (0, 1) where that length is static and, like onnxruntime's zero-step "
           "Loop, (0, 0) where it is not",
    category="pytensor", when=_zero_steps_of_nonempty_rows,
    unpredictable="the export differs only where the input's row length is static (a fuzzed graph's fitted "
                  "operand), which the values do not tell",
)
register("scan_drawn_body", arity=2, dtypes=ALL_DTYPES, build=_drawn_body, probe_ndim=(2, 1),
         shapes=lambda d: template_shapes("T,n", "n", sizes={"T": STEPS, "n": (0, 3)}), elementwise=False,
         params=_body_params, onnx_ops=("Loop",))
