"""Entries for ``backend/special.py``: softmax and log_softmax over one axis or all of them.

To add one: a ``register(...)`` call below; compositions whose terms cancel give ``error_scale``.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
import scipy.special

from backend.compat import PYTENSOR_VERSION, SoftmaxGrad
from backend.dtypes import ALL_DTYPES, FLOAT_DTYPES, NUMERIC_DTYPES
from harness.registry.older_onnxruntime import WIDE_INTEGER_REDUCTION
from harness.registry.quirks import FLOAT16_CHAIN, float16_apart, float16_chain_differs, onnxruntime_float16_chain
from harness.registry.spec import REDUCTION, TRANSCENDENTAL, absent_entry, register
from strategies.ops import axis_params
from strategies.values import ArrayExample


def _log_softmax_terms(example: ArrayExample):
    """log_softmax(x) = d - log(s), d = x - max(x), s = sum(exp(d)) >= 1: s is rounded (in an order
    that differs between numpy and onnxruntime) before log turns its error into an absolute one, so
    the scale is the largest of |d|, |log(s)| and s."""
    x = np.asarray(example.arrays[0], dtype=np.float64)
    axis = dict(example.params).get("axis")
    if x.size == 0:
        return np.zeros(x.shape)
    d = x - np.max(x, axis=axis, keepdims=True)
    total = np.sum(np.exp(d), axis=axis, keepdims=True)
    return np.maximum(np.maximum(np.abs(d), np.abs(np.log(total))), total)


def _softmax(x, axis=None):
    return pt.special.softmax(x, axis=axis)


def _log_softmax(x, axis=None):
    return pt.special.log_softmax(x, axis=axis)


# PyTensor 2.38 also builds softmax and log_softmax of a bool tensor (3.0 refuses it)
SOFTMAX_DTYPES = NUMERIC_DTYPES + (("bool",) if PYTENSOR_VERSION < (3, 0) else ())

# Both sum exp(d) over the axis: REDUCTION bounds, like sum and mean.
register("softmax", arity=1, dtypes=SOFTMAX_DTYPES, build=_softmax, elementwise=False, tolerance=REDUCTION,
         params=axis_params(keepdims=False, multiple=False), onnx_ops=("Exp", "ReduceSum"),
         ).xfail(**WIDE_INTEGER_REDUCTION)


def _scipy_shift_of_an_infinite_max(example: ArrayExample) -> bool:
    """PyTensor 2.38 computes log_softmax with scipy, which shifts a slice whose max is +inf by 0 rather
    than by the max: a slice holding +inf, no NaN and a smaller element gives -inf there (3.0: NaN)."""
    if PYTENSOR_VERSION >= (3, 0):
        return False
    x = np.asarray(example.arrays[0])
    if x.dtype.kind != "f" or x.size == 0:
        return False
    axis = dict(example.params).get("axis")
    holds_inf, holds_nan = np.isposinf(x).any(axis=axis), np.isnan(x).any(axis=axis)
    return bool((holds_inf & ~holds_nan & (x < np.inf).any(axis=axis)).any())


register("log_softmax", arity=1, dtypes=SOFTMAX_DTYPES, build=_log_softmax, elementwise=False, tolerance=REDUCTION,
         params=axis_params(keepdims=False, multiple=False), onnx_ops=("Exp", "ReduceSum"),
         error_scale=_log_softmax_terms).xfail(
    id="scipy-infinite-max-shift",
    reason="PyTensor 2.38's log_softmax is scipy's, which shifts a slice whose max is +inf by 0: its finite "
           "elements give -inf where the export (PyTensor 3.0's formula, x - max) gives NaN",
    category="pytensor", dtypes=FLOAT_DTYPES, when=_scipy_shift_of_an_infinite_max,
).xfail(**WIDE_INTEGER_REDUCTION)

def _logaddexp_scale(example: ArrayExample) -> np.ndarray:
    """m + log(exp(x - m) + exp(y - m)), m = max(x, y): the log of a sum between 1 and 2 turns the
    sum's rounding (~ulp(1)) into an absolute error, added to m: the scale is max(1, |m|, |result|)."""
    x, y = (np.asarray(a, np.float64) for a in example.arrays)
    with np.errstate(all="ignore"):
        return np.maximum(1.0, np.maximum(np.abs(np.maximum(x, y)), np.abs(np.logaddexp(x, y))))


# PyTensor 3.3's LogAddExp op: m + log(exp(x - m) + exp(y - m)), in float32 at least (float16 inputs give
# a float32 result); before 3.3, log(exp(x) + exp(y)) in the inputs' dtype
logaddexp = register("logaddexp", arity=2, dtypes=ALL_DTYPES, tolerance=TRANSCENDENTAL, error_scale=_logaddexp_scale,
                     onnx_ops=("Exp", "Log"))
if PYTENSOR_VERSION < (3, 3):
    logaddexp.xfail(id="float16-chain", reason=FLOAT16_CHAIN, category="onnxruntime-kernel", dtypes=("float16",),
                    when=float16_chain_differs(lambda x, y: np.log(np.exp(x) + np.exp(y)),
                                               beyond_ulps=TRANSCENDENTAL["float16"], error_scale=_logaddexp_scale))


def _softmax_grad(x, axis=None):
    """softmax's gradient as PyTensor 2.38 builds it, for an upstream gradient 2x - 1."""
    return SoftmaxGrad(axis=axis)(2 * x - 1, pt.special.softmax(x, axis=axis))


def _softmax_grad_terms(example: ArrayExample):
    """dy*sm - sum(dy*sm)*sm is a difference of two terms: each rounded in the input dtype, so the error
    is a few ULPs of the larger of |dy*sm| and |sum(dy*sm)*sm|, not of the (cancelling) result."""
    x = np.asarray(example.arrays[0], dtype=np.float64)
    axis = dict(example.params).get("axis")
    if x.size == 0:
        return np.zeros(x.shape)
    with np.errstate(all="ignore"):
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        sm = e / np.sum(e, axis=axis, keepdims=True)
        term = (2 * x - 1) * sm
        return np.maximum(np.abs(term), np.abs(np.sum(term, axis=axis, keepdims=True) * sm))


def _softmax_grad_in_numpy(x, axis=None):
    """PyTensor 2.38's steps in the dtype of ``x``: scipy's softmax, then SoftmaxGrad's perform."""
    dy = 2 * x - x.dtype.type(1)
    dy_times_sm = dy * scipy.special.softmax(x, axis=axis).astype(x.dtype)
    return dy_times_sm - np.sum(dy_times_sm, axis=axis, keepdims=True) * scipy.special.softmax(x, axis=axis).astype(x.dtype)


def _float16_softmax_grad_differs(example: ArrayExample) -> bool:
    """The float16 chain rounded once (onnxruntime, in float32) and after every step (PyTensor) are more
    than the bound apart, in ULPs of the terms, on this example's axis."""
    x = example.arrays[0]
    if x.dtype != np.float16 or x.size == 0:
        return False
    axis = dict(example.params).get("axis")
    with np.errstate(all="ignore"):
        stepwise = _softmax_grad_in_numpy(x, axis)
    once = onnxruntime_float16_chain(lambda v: _softmax_grad_in_numpy(v, axis), x)
    return float16_apart(once, stepwise, REDUCTION["float16"], _softmax_grad_terms(example))


if SoftmaxGrad is not None:
    register("softmax_grad", arity=1, dtypes=SOFTMAX_DTYPES, build=_softmax_grad, elementwise=False,
             tolerance=REDUCTION, error_scale=_softmax_grad_terms, params=axis_params(keepdims=False, multiple=False),
             signed_zeros=False,  # a zero from dy*sm - sum*sm cancelling exactly: its sign follows the rounding order
             onnx_ops=("ReduceSum", "Mul")).xfail(
        id="float16-chain", reason=FLOAT16_CHAIN, category="onnxruntime-kernel", dtypes=("float16",),
        when=_float16_softmax_grad_differs)
else:
    absent_entry("softmax_grad", reason="only PyTensor 2.38 has SoftmaxGrad; from 3.0 softmax's gradient is built "
                                        "from elementwise ops and a sum")
