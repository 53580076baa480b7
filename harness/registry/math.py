"""Entries for ``backend/math.py``: matrix products (numpy's dot for 1-d and 2-d operands).

To add one: a ``register(...)`` call below; operand shapes come from ``strategies/shapes.py``.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from backend.dtypes import ALL_DTYPES, FLOAT_DTYPES
from harness.registry.spec import REDUCTION, register
from strategies.shapes import matmul_shapes
from strategies.values import ArrayExample


def empty_contraction_into_values(example: ArrayExample) -> bool:
    """The contracted dimension is 0 and the result still has elements (an empty result is fine);
    for dot and (batched) matmul operands alike."""
    a, b = example.shapes
    return a[-1] == 0 and math.prod(np.matmul(np.zeros(a, bool), np.zeros(b, bool)).shape) > 0


def overflow_depends_on_order(example: ArrayExample) -> bool:
    """Some output element's finite products can be summed in an order that overflows and in one
    that does not: the sum of its positive (or negative) products reaches the overflow threshold
    (the largest float plus half its ulp), while the exact total does not exceed it (both allowing
    for the rounding of n terms). With fused multiply-adds a product beyond the threshold need not
    overflow either (numpy: -1.1984620899082105e308 * 1.5 + 1 is -inf, onnxruntime's fused sum
    -1.7976931348623157e308), and never does once an infinite term is in the accumulator (numpy:
    -inf + 1.8e308 * 1.5 is nan, onnxruntime -inf); where both signs' sums overflow, numpy's
    inf - inf is nan and the fused sum the first infinity. Which order numpy (OpenBLAS) and
    onnxruntime (MLAS) take is their business. For dot and (batched) matmul operands alike."""
    a, b = (np.asarray(v) for v in example.arrays)
    if a.dtype.kind != "f" or a.size == 0 or b.size == 0:
        return False
    info = np.finfo(a.dtype)
    largest = Fraction(float(info.max))
    threshold = largest + (largest - Fraction(float(np.nextafter(info.max, np.zeros((), a.dtype))))) / 2
    rows = a if a.ndim >= 2 else a[None, :]
    columns = b if b.ndim >= 2 else b[:, None]
    batch = np.broadcast_shapes(rows.shape[:-2], columns.shape[:-2])
    rows = np.broadcast_to(rows, batch + rows.shape[-2:])
    columns = np.broadcast_to(columns, batch + columns.shape[-2:])
    for index in np.ndindex(*batch, rows.shape[-2], columns.shape[-1]):
        *where, i, j = index
        pairs = list(zip(rows[(*where, i)].tolist(), columns[(*where, slice(None), j)].tolist()))
        if _sum_may_overflow_either_way(pairs, info, threshold):
            return True
    return False


def _sum_may_overflow_either_way(pairs, info, threshold) -> bool:
    """For one output element, the sum of ``x * y`` over ``pairs``: see `overflow_depends_on_order`."""
    with np.errstate(invalid="ignore", over="ignore"):
        products = [x * y for x, y in pairs if not (np.isfinite(x) and np.isfinite(y))]
    if any(np.isnan(p) for p in products):
        return False  # a NaN product makes the sum NaN in any order
    terms = [Fraction(x) * Fraction(y) for x, y in pairs if np.isfinite(x) and np.isfinite(y)]
    if not terms:
        return False
    positive, negative = sum(t for t in terms if t > 0), -sum(t for t in terms if t < 0)
    rounding = len(terms) * Fraction(float(info.eps))  # what n roundings can move a sum by
    reach = threshold * (1 - rounding)
    some_order_overflows = max(positive, negative) >= reach
    some_order_finite = bool(products) or abs(positive - negative) <= threshold * (1 + rounding)
    # both signs overflowing unfused gives inf - inf = nan; a fused sum stays at the first inf
    both_signs_overflow = min(positive, negative) >= reach
    return some_order_overflows and (some_order_finite or both_signs_overflow)


EMPTY_CONTRACTION = ("onnxruntime's uint32/uint64 MatMul fails ('Tensor::MutableData') when the contracted "
                     "dimension is 0 and the result is not empty, where numpy returns zeros")
OVERFLOW_ORDER = ("summation order decides overflow: where the products' partial sums can reach the largest float "
                  "in one order and not in another, numpy (OpenBLAS) and onnxruntime (MLAS, fused multiply-add) "
                  "may give inf on one side and a finite value (or inf vs nan) on the other")
OVERFLOW_ORDER_UNPREDICTABLE = ("the two libraries' summation orders are not modelled, so inputs on which some "
                                "order overflows may still agree")

# The sign of a zero dot product depends on the order and start of the accumulation (BLAS vs MLAS).
register("dot", arity=2, dtypes=ALL_DTYPES, shapes=lambda d: matmul_shapes(), onnx_ops=("MatMul",),
         elementwise=False, tolerance=REDUCTION, probe_ndim=2, signed_zeros=False).xfail(
    id="empty-contraction",
    reason=EMPTY_CONTRACTION, category="onnxruntime-kernel", dtypes=("uint32", "uint64"),
    when=empty_contraction_into_values,
).xfail(
    id="overflow-order",
    reason=OVERFLOW_ORDER, category="onnxruntime-kernel", dtypes=FLOAT_DTYPES, when=overflow_depends_on_order,
    unpredictable=OVERFLOW_ORDER_UNPREDICTABLE,
)
