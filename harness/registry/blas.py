"""Entries for ``backend/blas.py``: the BLAS ops of default-mode functions, built directly (gemv and
gemm with beta 0 on an uninitialised output, as the rewrites make them, and with beta 1).

To add one: a ``register(...)`` call whose build applies the BLAS op to the cell's inputs.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from hypothesis import strategies as st
from pytensor.tensor.blas import BatchedDot, Dot22, Dot22Scalar, Gemm, Gemv, Ger

from harness.registry.spec import REDUCTION, register
from strategies.shapes import BroadcastShapes
from strategies.values import bounded_values

BLAS_DTYPES = ("float32", "float64")


def _finite(count):
    # BLAS skips the products of zero elements (0 * inf is not computed) and numpy's small-size loops
    # do not: which one PyTensor's perform reaches depends on sizes and layout, so these entries are
    # about the ops' scaling and draw finite values (dot and matmul cover IEEE specials)
    return lambda dtype: [bounded_values(dtype, magnitude=1e3)] * count


# BLAS sums and scales in its own order (and fuses): the matrix products' bound, signs of zero free
PRODUCT = {"tolerance": REDUCTION, "signed_zeros": False, "elementwise": False}


def _sides(count):
    return st.tuples(*[st.integers(0, 3)] * count)


def _gemv_shapes(dtype):
    return _sides(2).map(lambda s: BroadcastShapes(((s[0],), (s[0], s[1]), (s[1],)), (s[0],)))


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


def _gemv_beta_zero(y, A, x):
    # the rewrites' form: the output buffer is uninitialised and beta is 0
    empty = pt.empty((A.shape[0],), dtype=A.dtype)
    return Gemv(inplace=False)(empty, _scalar(1.5, A), A, x, _scalar(0.0, A)) + 0 * y


register("gemv", arity=3, elements=_finite(3), dtypes=BLAS_DTYPES, shapes=_gemv_shapes, probe_ndim=(1, 2, 1), onnx_ops=("MatMul",),
         build=lambda y, A, x: Gemv(inplace=False)(y, _scalar(-2.0, A), A, x, _scalar(1.0, A)), **PRODUCT)
register("gemv_beta_zero", arity=3, elements=_finite(3), dtypes=BLAS_DTYPES, shapes=_gemv_shapes, probe_ndim=(1, 2, 1),
         onnx_ops=("MatMul", "Where"), build=_gemv_beta_zero, **PRODUCT)
register("gemm", arity=3, elements=_finite(3), dtypes=BLAS_DTYPES, shapes=_gemm_shapes, probe_ndim=2, onnx_ops=("MatMul",),
         build=lambda z, x, y: Gemm(inplace=False)(z, _scalar(0.5, x), x, y, _scalar(-1.0, x)), **PRODUCT)
register("ger", arity=3, elements=_finite(3), dtypes=BLAS_DTYPES, shapes=_ger_shapes, probe_ndim=(2, 1, 1), onnx_ops=("Mul", "Add"),
         build=lambda A, x, y: Ger(destructive=False)(A, _scalar(3.0, A), x, y), **PRODUCT)
register("dot22", arity=2, elements=_finite(2), dtypes=BLAS_DTYPES, shapes=_dot22_shapes, probe_ndim=2, onnx_ops=("MatMul",),
         build=lambda x, y: Dot22()(x, y), **PRODUCT)
register("dot22scalar", arity=2, elements=_finite(2), dtypes=BLAS_DTYPES, shapes=_dot22_shapes, probe_ndim=2, onnx_ops=("MatMul",),
         build=lambda x, y: Dot22Scalar()(x, y, _scalar(0.25, x)), **PRODUCT)
register("batched_dot", arity=2, elements=_finite(2), dtypes=BLAS_DTYPES, shapes=_batched_shapes, probe_ndim=3, onnx_ops=("MatMul",),
         build=lambda x, y: BatchedDot()(x, y), **PRODUCT)
