"""Matrix helpers the linear algebra compositions share: batched transposes and sizes, the diagonal,
right-hand sides as matrices, NaN for failed factorizations, and the operands of a solve.

To extend: a helper used by more than one module of this package.
"""

from __future__ import annotations

from backend.dtypes import ONNXExportUnsupported
from backend.helpers import dtype_of

UNROLLED_SIZE = 16
"""Factorizations and solves of matrices with a static size up to this are unrolled, one step per column
written out, instead of being an ONNX Loop (`backend.helpers.loop`); the crossover is measured in
``docs/speed.md``."""


def swap_last_axes(ctx, x, ndim):
    perm = list(range(ndim - 2)) + [ndim - 1, ndim - 2]
    return ctx.op.Transpose(x, perm=perm)


def axis_size(ctx, x, axis: int):
    """Length of ``axis`` of ``x`` as a 0-d int64."""
    shape = ctx.op.Shape(x)
    return ctx.op.Squeeze(ctx.op.Gather(shape, ctx.constant([axis], "int64"), axis=0), ctx.constant([0], "int64"))


def index_range(ctx, n):
    return ctx.op.Range(ctx.constant(0, "int64"), n, ctx.constant(1, "int64"))


def identity(ctx, n, dtype: str):
    """The n x n identity in ``dtype`` (``n`` a 0-d int64)."""
    from backend.dtypes import onnx_dtype

    positions = index_range(ctx, n)
    return ctx.op.Cast(ctx.op.Equal(ctx.op.Unsqueeze(positions, ctx.constant([1], "int64")), positions),
                       to=onnx_dtype(dtype))


def nan_where(ctx, failed, x, dtype, expand_axes):
    """``x`` with every matrix whose batch entry of ``failed`` holds replaced by NaN."""
    mask = ctx.op.Unsqueeze(failed, ctx.constant(expand_axes, "int64"))
    return ctx.op.Where(mask, ctx.constant(float("nan"), dtype), x)


def matrix_diagonal(ctx, a, n, ndim):
    """The main diagonal of the last two axes, shape (..., n)."""
    identity = ctx.op.Equal(ctx.op.Unsqueeze(index_range(ctx, n), ctx.constant([1], "int64")), index_range(ctx, n))
    zero = ctx.op.CastLike(ctx.constant(0.0, "float64"), a)
    return ctx.op.ReduceSum(ctx.op.Where(identity, a, zero), ctx.constant([-1], "int64"), keepdims=0)


def as_matrix_rhs(ctx, b, b_ndim: int):
    return ctx.op.Unsqueeze(b, ctx.constant([-1], "int64")) if b_ndim == 1 else b


def from_matrix_rhs(ctx, x, b_ndim: int):
    return ctx.op.Squeeze(x, ctx.constant([-1], "int64")) if b_ndim == 1 else x


def solve_operands(ctx, node, inputs):
    dtype = dtype_of(node.outputs[0])
    if dtype not in ("float32", "float64"):
        raise ONNXExportUnsupported(f"{node.op}: LAPACK computes in float32/float64, the output is {dtype}")
    return [ctx.cast(x, dtype_of(v), dtype) for x, v in zip(inputs, node.inputs)], dtype
