"""Models of runtime behaviour that declarations predict with: what a kernel computes, written out in
numpy, so that a ``when`` predicate can say exactly which inputs diverge.

Each model is checked against the installed onnxruntime by a property test
(``tests/harness/registry/test_quirks.py``), so a declaration built on it fails loudly when a new
onnxruntime changes the kernel. To add a model: a public function here and such a test.
"""

from __future__ import annotations

import numpy as np

from strategies.values import ArrayExample

WHERE_NEGATIVE_ZERO = ("onnxruntime's Where merges its two selections by 'x != 0', so a chosen -0.0 can come "
                       "back as +0.0 (which depends on the broadcast shapes; see onnxruntime_where)")


def onnxruntime_where(cond, x, y) -> np.ndarray:
    """What onnxruntime's CPU Where returns, as its kernel computes it: ``x_sel = cond ? x : 0`` and
    ``y_sel = cond ? 0 : y`` (each broadcast against ``cond``), then a merge that takes ``x_sel``
    where it is nonzero and ``y_sel`` elsewhere, except when its broadcaster treats ``y_sel`` as a
    scalar per span and ``x_sel`` not: then ``y_sel`` is taken where nonzero and ``x_sel``
    elsewhere. A -0.0 compares equal to 0, so either way the merge can replace a chosen -0.0 by the
    other side's +0.0."""
    cond, x, y = np.asarray(cond, bool), np.asarray(x), np.asarray(y)
    zero = np.zeros((), x.dtype)
    x_sel, y_sel = np.where(cond, x, zero), np.where(cond, zero, y)
    x_axis, y_axis = first_broadcast_axes(x_sel.shape, y_sel.shape)
    if y_axis <= 1 < x_axis:
        return np.where(y_sel != 0, y_sel, x_sel)
    return np.where(x_sel != 0, x_sel, y_sel)


def first_broadcast_axes(a: tuple, b: tuple) -> tuple[int, int]:
    """The sizes onnxruntime's broadcaster reads for the innermost span: an input whose size there is
    1 is a scalar per span. 0-d inputs are scalars; otherwise the innermost common dimension that is
    not 1 in both, or the outermost common one."""
    if not a or not b:
        return (1 if not a else a[-1]), (1 if not b else b[-1])
    common = min(len(a), len(b))
    for k in range(1, common + 1):
        if max(a[-k], b[-k]) != 1 or k == common:
            return a[-k], b[-k]
    raise AssertionError("unreachable")


def same_including_zero_signs(a, b) -> bool:
    """Equal arrays, NaN equal to NaN and -0.0 different from +0.0."""
    a, b = np.broadcast_arrays(np.asarray(a), np.asarray(b))
    both_nan = np.isnan(a) & np.isnan(b)
    # a NaN's sign bit is not a value: numpy and onnxruntime set it differently for the same NaN
    return bool(np.all(both_nan | ((a == b) & (np.signbit(a) == np.signbit(b)))))


def as_elemwise_inputs(example: ArrayExample) -> list[np.ndarray]:
    """The inputs with equal ranks, as PyTensor's Elemwise (and so the exported graph) feeds them."""
    arrays = [np.asarray(v) for v in example.arrays]
    ndim = max(a.ndim for a in arrays)
    return [a.reshape((1,) * (ndim - a.ndim) + a.shape) for a in arrays]


ONNXRUNTIME_FLOAT64_SIN_COS_ULP = 4
"""The bound that goes with `onnxruntime_float64_sin_cos_scale`."""


def onnxruntime_float64_sin_cos_scale(x: np.ndarray, result: np.ndarray) -> np.ndarray:
    """The error model of onnxruntime's float64 Sin and Cos: they reduce the argument with an absolute
    error of about one ulp of x, so their error is at most 2 * (ulp(x) + ulp(result)) (measured
    against numpy on 4e6 values from 1e-300 to 1e300, up to 1.9999 of that next to multiples of
    pi/2, where the result is tiny and its own ULPs mean nothing). As an ``error_scale``:
    ``max(|x|, |result|)`` with a bound of `ONNXRUNTIME_FLOAT64_SIN_COS_ULP` ULPs of that magnitude
    covers it, since ulp(x) + ulp(result) <= 2 * ulp(max(|x|, |result|))."""
    return np.maximum(np.abs(x), np.abs(result))


FLOAT16_CHAIN = ("onnxruntime's CPU provider runs float16 elementwise ops in float32 and drops the Cast pairs "
                 "between consecutive ones (even with graph optimizations off), so a chain of them rounds to "
                 "float16 once, at the end, where PyTensor rounds after every op")


def onnxruntime_float16_chain(function, *arrays) -> np.ndarray:
    """What onnxruntime computes for a chain of float16 elementwise ops (``function`` of numpy
    arrays): the chain in float32, rounded to float16 once."""
    with np.errstate(all="ignore"):
        return np.asarray(function(*(np.asarray(a, np.float32) for a in arrays))).astype(np.float16)


def float16_apart(a, b, ulps: int, scale=None) -> bool:
    """Float16 arrays that differ in NaN positions, infinities, zero signs or by more than ``ulps``
    float16 steps somewhere; with a ``scale`` (the magnitude of the terms, as an entry's
    ``error_scale``), also by more than ``ulps`` steps of that magnitude."""
    a, b = np.broadcast_arrays(np.asarray(a, np.float16), np.asarray(b, np.float16))
    finite = np.isfinite(a) & np.isfinite(b)
    if not same_including_zero_signs(np.where(finite, 0, a), np.where(finite, 0, b)):
        return True
    if not same_including_zero_signs(np.where(finite & (a == b), a, 0), np.where(finite & (a == b), b, 0)):
        return True
    # float16 bit patterns on one integer line: neighbouring floats one apart, -0.0 meeting +0.0
    bits_a, bits_b = (x.view(np.int16).astype(np.int32) for x in (a, b))
    line_a, line_b = (np.where(bits < 0, -(bits & 0x7FFF), bits) for bits in (bits_a, bits_b))
    apart = np.abs(line_a - line_b) > ulps
    if scale is not None:
        magnitude = np.maximum(np.abs(np.asarray(scale, np.float64)), np.finfo(np.float16).smallest_subnormal)
        step = np.maximum(np.exp2(np.floor(np.log2(magnitude)) - 10), np.finfo(np.float16).smallest_subnormal)
        apart &= np.abs(a.astype(np.float64) - b.astype(np.float64)) > ulps * step
    return bool(np.any(finite & apart))


def float16_chain_differs(function, *, beyond_ulps: int = 0, error_scale=None):
    """A ``when`` predicate: rounding once (onnxruntime) and after every op (PyTensor) disagree on
    the example's float16 inputs, zero signs and NaN included; by more than ``beyond_ulps`` float16
    steps (of ``error_scale(example)`` where given), for an entry whose bound allows that many."""
    def predicate(example: ArrayExample) -> bool:
        arrays = as_elemwise_inputs(example)
        if not any(a.dtype == np.float16 for a in arrays):  # other inputs may be step counts
            return False
        with np.errstate(all="ignore"):
            stepwise = np.asarray(function(*arrays))
        once = onnxruntime_float16_chain(function, *arrays)
        if beyond_ulps == 0:
            return not same_including_zero_signs(once, stepwise)
        scale = None if error_scale is None else error_scale(example)
        return float16_apart(once, stepwise, beyond_ulps, scale)
    return predicate


ONNXRUNTIME_TINY_TANH = ("onnxruntime's float32 Tanh is off by more than 4 ULP for |x| from ~7e-45 to ~7.5e-37, "
                         "where tanh(x) == x")
TINY_TANH_LIMIT = 7.6e-37
"""Below this magnitude onnxruntime's float32 Tanh leaves tanh(x) == x (`ONNXRUNTIME_TINY_TANH`; measured on
2e5 values from 1e-45 to 1e-30: every value off by more than 4 ULP lies in 7e-45..7.52e-37)."""
TINY_TANH_UNPREDICTABLE = ("not every value below the limit is off by more than the bound, and which are is not "
                           "modelled")
