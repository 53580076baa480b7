"""Entries for ``backend/reduction.py``: sum, prod, max, min, all, any, argmax, argmin, mean over every
axis combination (axis None, one axis, a negative axis, several) with and without keepdims.

To add one: a ``register(...)`` call below with ``params=axis_params()``.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from backend.dtypes import ALL_DTYPES, FLOAT_DTYPES, INT_DTYPES
from harness.registry.older_onnxruntime import (
    EMPTY_ARG_REDUCTION,
    WIDE_INTEGER_REDUCTION,
)
from harness.registry.spec import EXACT, REDUCTION, register
from strategies.ops import axis_params
from strategies.values import ArrayExample


def _reduction(function):
    return lambda x, axis=None, keepdims=False: function(x, axis=axis, keepdims=keepdims)


def onnxruntime_int64_product(values) -> int:
    """onnxruntime's int64 ReduceProd of one slice: a product in double, element by element, then
    saturated to the int64 range, NaN (inf * 0) as INT64_MIN (matched on 3,000 random slices of huge,
    zero and negative values)."""
    product = 1.0
    for v in values:
        product *= float(v)
    if product != product:
        return -(2**63)
    if product >= 2.0**63:
        return 2**63 - 1
    if product < -(2.0**63):
        return -(2**63)
    return int(product)


def int64_product_differs(example: ArrayExample) -> bool:
    """Some output element of the integer product differs between onnxruntime's double-based int64
    product (`onnxruntime_int64_product`) and the exact one wrapped to 64 bits (PyTensor's product
    of any integer dtype is int64 or uint64)."""
    x = np.asarray(example.arrays[0])
    if x.dtype.kind not in "iu" or x.size == 0 or x.ndim == 0:
        return False  # a 0-d product is exported as Identity: the element itself, exactly
    axis = dict(example.params).get("axis")
    axes = tuple(range(x.ndim)) if axis is None else tuple(a % x.ndim for a in np.atleast_1d(axis))
    kept = [a for a in range(x.ndim) if a not in axes]
    slices = np.transpose(x.astype(np.int64), kept + list(axes)).reshape(-1, int(np.prod([x.shape[a] for a in axes])))
    bits = 64
    for row in slices:
        exact = 1
        for v in row:
            exact *= int(v)
        ort = onnxruntime_int64_product(row)
        if (exact - ort) % 2**bits:
            return True
    return False


def _summation_scale(example: ArrayExample) -> np.ndarray:
    """Any order of summation errs by a few ULPs of sum(|x|), not of the sum: where terms cancel
    (1e308 - 1e308 + 0.5) onnxruntime's order and numpy's pairwise one legitimately differ. Per output
    element, in float64 (inf when sum(|x|) overflows: the order then decides everything)."""
    x = np.asarray(example.arrays[0])
    if x.dtype.kind != "f":
        return np.ones(())  # integer sums are exact
    params = dict(example.params)
    with np.errstate(all="ignore"):
        return np.sum(np.abs(x.astype(np.float64)), axis=params.get("axis"), keepdims=params.get("keepdims", False))


def finite_terms_overflow(example: ArrayExample) -> bool:
    """Some reduced slice of a float input whose finite terms' |x| add up beyond the largest finite
    value of the input dtype: then some partial sums overflow in one order and not in another."""
    x = np.asarray(example.arrays[0])
    if x.dtype.kind != "f" or x.size == 0:
        return False
    params = dict(example.params)
    with np.errstate(all="ignore"):
        magnitude = np.sum(np.where(np.isfinite(x), np.abs(x.astype(np.float64)), 0.0), axis=params.get("axis"))
    return bool(np.any(magnitude > float(np.finfo(x.dtype).max)))


register("sum", arity=1, onnx_ops=("ReduceSum",), dtypes=ALL_DTYPES, build=_reduction(pt.sum), params=axis_params(), elementwise=False,
         tolerance=REDUCTION, error_scale=_summation_scale).xfail(
    id="summation-order",
    reason="onnxruntime's vectorised ReduceSum adds in another order than numpy's pairwise sum: where partial sums "
           "overflow, one order gives inf and the other NaN (-max - max + inf) or a finite value",
    category="onnxruntime-kernel", dtypes=FLOAT_DTYPES, when=finite_terms_overflow,
    unpredictable="which partial sums overflow depends on onnxruntime's packet width and blocking, not modelled",
)
register("prod", arity=1, onnx_ops=("ReduceProd",), dtypes=ALL_DTYPES, build=_reduction(pt.prod), params=axis_params(), elementwise=False,
         tolerance=REDUCTION).xfail(
    id="int64-reduceprod-low-bits",
    reason="onnxruntime's int64 ReduceProd loses the low bits of products beyond 2**53 and saturates "
           "instead of wrapping on overflow (as if it multiplied in double); sums are exported exactly",
    category="onnxruntime-kernel", dtypes=INT_DTYPES, when=int64_product_differs,
)


def _prod_without_zeros(x, axis=None, keepdims=False):
    """The product of the nonzero elements (what ``prod``'s gradient divides by)."""
    from pytensor.tensor.math import ProdWithoutZeros

    reduced = ProdWithoutZeros(axis=None if axis is None else tuple(np.atleast_1d(axis)))(x)
    return pt.expand_dims(reduced, axis) if keepdims and axis is not None else reduced


def _zeros_as_ones(example: ArrayExample) -> ArrayExample:
    """The example as the export multiplies it: zeros replaced by ones (a slice of zeros is 0 either way)."""
    x = np.asarray(example.arrays[0])
    return example._replace(arrays=(np.where(x == 0, np.ones((), x.dtype), x),))


def partial_products_leave_the_normal_range(example: ArrayExample) -> bool:
    """Some reduced slice of a float input whose nonzero finite factors, multiplied in some order, pass
    below the smallest normal or above the largest finite value: then the order of multiplication
    decides what underflows or overflows."""
    x = np.asarray(example.arrays[0])
    if x.dtype.kind != "f" or x.size == 0 or x.ndim == 0:
        return False
    info = np.finfo(x.dtype)
    with np.errstate(all="ignore"):
        magnitude = np.abs(x.astype(np.float64))
        exponent = np.where(np.isfinite(magnitude) & (magnitude > 0), np.log2(np.where(magnitude > 0, magnitude, 1.0)), 0.0)
        axis = dict(example.params).get("axis")
        lowest = np.sum(np.minimum(exponent, 0.0), axis=axis)
        highest = np.sum(np.maximum(exponent, 0.0), axis=axis)
    return bool(np.any(lowest < np.log2(info.tiny)) or np.any(highest > np.log2(info.max)))


register("prod_without_zeros", arity=1, onnx_ops=("ReduceProd",), dtypes=ALL_DTYPES,
         build=_prod_without_zeros, params=axis_params(), elementwise=False, tolerance=REDUCTION,
         signed_zeros=False,  # a slice of zeros gives its last zero, whose sign PyTensor keeps and the export does not
         ).xfail(
    id="int64-reduceprod-low-bits",
    reason="onnxruntime's int64 ReduceProd loses the low bits of products beyond 2**53 and saturates "
           "instead of wrapping on overflow (as if it multiplied in double)",
    category="onnxruntime-kernel", dtypes=INT_DTYPES, when=lambda example: int64_product_differs(_zeros_as_ones(example)),
).xfail(
    id="multiplication-order",
    reason="onnxruntime's ReduceProd multiplies in another order than PyTensor's sequential mul_without_zeros: "
           "where partial products underflow or overflow, the orders give 0 or inf against a finite product",
    category="onnxruntime-kernel", dtypes=FLOAT_DTYPES, when=partial_products_leave_the_normal_range,
    unpredictable="which partial products underflow depends on onnxruntime's order of multiplication, not modelled",
)
# max(+0.0, -0.0) is unspecified, as for maximum: the sign of a zero max/min is not compared
register("max", arity=1, onnx_ops=("ReduceMax",), dtypes=ALL_DTYPES, build=_reduction(pt.max), params=axis_params(), elementwise=False,
         tolerance=EXACT, signed_zeros=False).xfail(**WIDE_INTEGER_REDUCTION)
register("min", arity=1, dtypes=ALL_DTYPES, build=_reduction(pt.min), params=axis_params(), elementwise=False,
         tolerance=EXACT, signed_zeros=False).xfail(**WIDE_INTEGER_REDUCTION)
register("all", arity=1, onnx_ops=("ReduceMin",), dtypes=ALL_DTYPES, build=_reduction(pt.all), params=axis_params(), elementwise=False)
register("any", arity=1, onnx_ops=("ReduceMax",), dtypes=ALL_DTYPES, build=_reduction(pt.any), params=axis_params(), elementwise=False)
register("argmax", arity=1, onnx_ops=("ArgMax",), dtypes=ALL_DTYPES, build=_reduction(pt.argmax), params=axis_params(),
         elementwise=False).xfail(**EMPTY_ARG_REDUCTION)
register("argmin", arity=1, onnx_ops=("ArgMax",), dtypes=ALL_DTYPES, build=_reduction(pt.argmin), params=axis_params(),
         elementwise=False).xfail(**EMPTY_ARG_REDUCTION)
register("mean", arity=1, onnx_ops=("ReduceSum",), dtypes=ALL_DTYPES, build=_reduction(pt.mean), params=axis_params(), elementwise=False,
         tolerance=REDUCTION)

def _logsumexp_scale(example: ArrayExample) -> np.ndarray:
    """log(sum(exp(x))) near 0 is the log of a sum near 1, whose rounding (~ulp(1)) the log turns into
    an absolute error: the scale is max(1, |result|)."""
    x = np.asarray(example.arrays[0], np.float64)
    params = dict(example.params)
    with np.errstate(all="ignore"):
        result = np.logaddexp.reduce(x, axis=params.get("axis"), keepdims=params.get("keepdims", False))
    return np.maximum(1.0, np.abs(result))


FLOAT16_EXP_RANGE = ("PyTensor rounds the float16 chain's exp(x) to float16 (subnormal below e^-9.70, inf above "
                     "e^11.09, a sum beyond 65504 is inf); onnxruntime computes exp, sum and log in float32")
FLOAT16_EXP_RANGE_UNPREDICTABLE = ("how far a subnormal exp moves the result depends on the other terms of its "
                                   "sum: not every such example leaves the bound")


def float16_exp_leaves_range(example: ArrayExample) -> bool:
    """A float16 input whose exp (or the sum of exps) is not a normal float16: below e^-9.70, above
    e^11.09 (NaN and infinities aside), or adding up beyond 65504."""
    x = np.asarray(example.arrays[0])
    if x.dtype != np.float16 or x.size == 0:
        return False
    finite = x[np.isfinite(x)].astype(np.float64)
    with np.errstate(all="ignore"):
        beyond_max = np.sum(np.exp(finite)) > 65504
    return bool(np.any(finite < np.log(2.0**-14)) or np.any(finite > np.log(65504.0)) or beyond_max)


# logsumexp as built is log(sum(exp(x))) (PyTensor stabilizes it only when compiling with rewrites):
# the sum's order differs (REDUCTION) and exp/log add a few ULP
register("logsumexp", arity=1, dtypes=ALL_DTYPES, build=_reduction(pt.logsumexp), params=axis_params(),
         elementwise=False, tolerance={"float16": 2, "float32": 16, "float64": 16}, error_scale=_logsumexp_scale,
         onnx_ops=("ReduceSum", "Log")).xfail(
    id="float16-exp-range",
    reason=FLOAT16_EXP_RANGE, category="onnxruntime-kernel", dtypes=("float16",), when=float16_exp_leaves_range,
    unpredictable=FLOAT16_EXP_RANGE_UNPREDICTABLE,
)
