"""Entries for ``backend/blas.py``: the BLAS ops of default-mode functions, built directly (gemv and
gemm with beta 0 on an uninitialised output, as the rewrites make them, and with beta 1).

To add one: a ``register(...)`` call whose build applies the BLAS op to the cell's inputs.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from hypothesis import strategies as st
from pytensor.tensor.blas import BatchedDot, Dot22, Dot22Scalar, Gemm, Gemv

from backend.compat import Ger
from backend.dtypes import ALL_DTYPES, FLOAT_DTYPES
from harness.registry.math import (
    EMPTY_CONTRACTION,
    OVERFLOW_ORDER,
    OVERFLOW_ORDER_UNPREDICTABLE,
    empty_contraction_into_values,
    overflow_depends_on_order,
)
from harness.registry.spec import REDUCTION, absent_entry, register
from strategies.shapes import BroadcastShapes
from strategies.values import ArrayExample, bounded_values, element_values

BLAS_DTYPES = ("float32", "float64")


def _finite(count):
    # BLAS skips the products of zero elements (0 * inf is not computed) and numpy's small-size loops
    # do not: which one PyTensor's perform reaches depends on sizes and layout, so these entries are
    # about the ops' scaling and draw finite values (dot and matmul cover IEEE specials)
    def elements(dtype):
        if dtype not in FLOAT_DTYPES:
            return [element_values(dtype)] * count  # integers wrap alike in numpy and the export
        return [bounded_values(dtype, magnitude=1e3 if dtype != "float16" else 30.0)] * count
    return elements


# BLAS sums and scales in its own order (and fuses): the matrix products' bound, signs of zero free
PRODUCT = {"tolerance": REDUCTION, "signed_zeros": False, "elementwise": False}


def _sides(count):
    return st.tuples(*[st.integers(0, 3)] * count)


def _gemv_shapes(dtype):
    return _sides(2).map(lambda s: BroadcastShapes(((s[0],), (s[0], s[1]), (s[1],)), (s[0],)))


def empty_gemv_contraction(example):
    """Gemv's A @ x contracts an empty dimension into a non-empty y (matmul's uint32/uint64 case)."""
    _, A, x = example.arrays
    return empty_contraction_into_values(ArrayExample((A, x), (A.shape, x.shape), example.dtypes[1:]))


def _gemv_scale(example):
    """beta * y + alpha * A @ x (beta 1, alpha 3) cancels: the terms' magnitudes."""
    y, A, x = (np.abs(np.asarray(a, np.float64)) for a in example.arrays)
    return y + 3.0 * (A @ x)


def _gemv_beta_zero_scale(example):
    A, x = (np.abs(np.asarray(a, np.float64)) for a in example.arrays)
    return 3.0 * (A @ x)


def _gemm_scale(example):
    """b * Z + a * X @ Y cancels: the terms' magnitudes."""
    z, x, y = (np.abs(np.asarray(a, np.float64)) for a in example.arrays)
    return z + 0.5 * (x @ y)


def _gemm(z, x, y):
    # PyTensor's Gemm builds for any dtype and raises "gemm requires floating-point dtypes" when it
    # runs: the entry refuses those dtypes when built, so the cells are the dtypes Gemm runs
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"gemm requires floating-point dtypes, got {x.dtype}")
    return Gemm(inplace=False)(z, _scalar(0.5, x), x, y, _scalar(-1.0, x))


def _matrix_vector_shapes(dtype):
    return _sides(2).map(lambda s: BroadcastShapes(((s[0], s[1]), (s[1],)), (s[0],)))


def _gemm_shapes(dtype):
    return _sides(3).map(lambda s: BroadcastShapes(((s[0], s[2]), (s[0], s[1]), (s[1], s[2])), (s[0], s[2])))


def _ger_shapes(dtype):
    return _sides(2).map(lambda s: BroadcastShapes(((s[0], s[1]), (s[0],), (s[1],)), (s[0], s[1])))


def _dot22_shapes(dtype):
    return _sides(3).map(lambda s: BroadcastShapes(((s[0], s[1]), (s[1], s[2])), (s[0], s[2])))


def _batched_shapes(dtype):
    return _sides(4).map(lambda s: BroadcastShapes(((s[0], s[1], s[2]), (s[0], s[2], s[3])), (s[0], s[1], s[3])))


def _scalar(value, like):
    return pt.constant(np.asarray(value, like.dtype))


def _gemv_beta_zero(A, x):
    # the rewrites' form: the output buffer is uninitialised and beta is 0
    empty = pt.empty((A.shape[0],), dtype=A.dtype)
    return Gemv(inplace=False)(empty, _scalar(3, A), A, x, _scalar(0, A))


register("gemv", arity=3, elements=_finite(3), dtypes=ALL_DTYPES, shapes=_gemv_shapes, probe_ndim=(1, 2, 1), onnx_ops=("MatMul",),
         build=lambda y, A, x: Gemv(inplace=False)(y, _scalar(3, A), A, x, _scalar(1, A)), error_scale=_gemv_scale,
         **PRODUCT).xfail(
    id="empty-contraction",
    reason=EMPTY_CONTRACTION, category="onnxruntime-kernel", dtypes=("uint32", "uint64"), when=empty_gemv_contraction,
)
register("gemv_beta_zero", arity=2, elements=_finite(2), dtypes=ALL_DTYPES, shapes=_matrix_vector_shapes,
         probe_ndim=(2, 1), onnx_ops=("MatMul", "Where"), build=_gemv_beta_zero, error_scale=_gemv_beta_zero_scale,
         **PRODUCT).xfail(
    id="empty-contraction",
    reason=EMPTY_CONTRACTION, category="onnxruntime-kernel", dtypes=("uint32", "uint64"),
    when=empty_contraction_into_values,
)
register("gemm", arity=3, elements=_finite(3), dtypes=FLOAT_DTYPES, shapes=_gemm_shapes, probe_ndim=2, onnx_ops=("MatMul",),
         build=_gemm, error_scale=_gemm_scale, **PRODUCT)
def _ger_scale(example):
    """A + alpha * x y^T cancels: the terms' magnitudes."""
    A, x, y = (np.abs(np.asarray(a, np.float64)) for a in example.arrays)
    return A + 3.0 * x[:, None] * y[None, :]


if Ger is None:
    absent_entry("ger", reason="PyTensor removed the Ger op after 3.3.0 (2.38 through 3.3.0 have it)")
else:
    register("ger", arity=3, elements=_finite(3), dtypes=BLAS_DTYPES, shapes=_ger_shapes, probe_ndim=(2, 1, 1),
             onnx_ops=("Mul", "Add"), error_scale=_ger_scale,
             build=lambda A, x, y: Ger(destructive=False)(A, _scalar(3.0, A), x, y), **PRODUCT)
register("dot22", arity=2, elements=_finite(2), dtypes=FLOAT_DTYPES, shapes=_dot22_shapes, probe_ndim=2, onnx_ops=("MatMul",),
         build=lambda x, y: Dot22()(x, y), **PRODUCT)
register("dot22scalar", arity=2, elements=_finite(2), dtypes=FLOAT_DTYPES, shapes=_dot22_shapes, probe_ndim=2, onnx_ops=("MatMul",),
         build=lambda x, y: Dot22Scalar()(x, y, _scalar(0.25, x)), **PRODUCT)
# numpy's matmul over a batch, in every dtype (integers wrap, bool is any-of-ands), IEEE specials included
register("batched_dot", arity=2, dtypes=ALL_DTYPES, shapes=_batched_shapes, probe_ndim=3, onnx_ops=("MatMul",),
         build=lambda x, y: BatchedDot()(x, y), tolerance=REDUCTION, signed_zeros=False, elementwise=False).xfail(
    id="empty-contraction",
    reason=EMPTY_CONTRACTION, category="onnxruntime-kernel", dtypes=("uint32", "uint64"),
    when=empty_contraction_into_values,
).xfail(
    id="overflow-order",
    reason=OVERFLOW_ORDER, category="onnxruntime-kernel", dtypes=FLOAT_DTYPES, when=overflow_depends_on_order,
    unpredictable=OVERFLOW_ORDER_UNPREDICTABLE,
)
