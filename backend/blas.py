"""The BLAS ops PyTensor's default rewrites put in compiled functions (``pytensor.function`` without a
mode): Dot22, Dot22Scalar, Gemm, Gemv, Ger, BatchedDot (the C linker's CGemv/CGer subclass Gemv/Ger
and convert alike). They are
float32/float64 only and export as ``MatMul`` with the scaling BLAS applies:

- Gemv: ``beta * y + alpha * (A @ x)``; Gemm: ``b * Z + a * (X @ Y)``; Ger: ``A + alpha * outer(x, y)``.
  BLAS ignores ``y``/``Z`` when ``beta``/``b`` is 0 (PyTensor relies on it: the rewrites feed an
  uninitialised AllocEmpty there), so a zero beta selects the product alone and never multiplies
  garbage (0 * NaN would be NaN).
- Dot22 / Dot22Scalar: ``X @ Y`` (times the scalar); BatchedDot: batched ``MatMul``.

BLAS accumulates in its own order (and may fuse multiply-adds), so results differ from PyTensor's by
a few ULP of the products: the entries carry the matrix products' bound.
To extend: another BLAS op as MatMul plus its scaling.
"""

from __future__ import annotations

from pytensor.tensor.blas import BatchedDot, Dot22, Dot22Scalar, Gemm, Gemv, Ger

from backend.basic import onnx_funcify
from backend.helpers import dtype_of


def _scaled_sum(ctx, base, beta, product, alpha, dtype):
    """beta * base + alpha * product, with base ignored where beta == 0 (BLAS's convention)."""
    zero = ctx.constant(0.0, dtype)
    scaled = ctx.op.Mul(alpha, product)
    with_base = ctx.op.Add(ctx.op.Mul(beta, base), scaled)
    return ctx.op.Where(ctx.op.Equal(beta, zero), scaled, with_base)


def _as(ctx, node, inputs, dtype):
    return [ctx.cast(name, dtype_of(var), dtype) for name, var in zip(inputs, node.inputs)]


@onnx_funcify.register(Gemv)
def onnx_funcify_Gemv(op, node, ctx, inputs):
    dtype = dtype_of(node.outputs[0])
    y, alpha, A, x, beta = _as(ctx, node, inputs, dtype)
    return [_scaled_sum(ctx, y, beta, ctx.op.MatMul(A, x), alpha, dtype)]


@onnx_funcify.register(Gemm)
def onnx_funcify_Gemm(op, node, ctx, inputs):
    dtype = dtype_of(node.outputs[0])
    z, a, x, y, b = _as(ctx, node, inputs, dtype)
    product = ctx.op.MatMul(x, y)
    # Z may broadcast against the product (PyTensor's Gemm.perform does)
    return [_scaled_sum(ctx, z, b, product, a, dtype)]


@onnx_funcify.register(Ger)
def onnx_funcify_Ger(op, node, ctx, inputs):
    dtype = dtype_of(node.outputs[0])
    A, alpha, x, y = _as(ctx, node, inputs, dtype)
    column = ctx.op.Unsqueeze(x, ctx.constant([1], "int64"))
    row = ctx.op.Unsqueeze(y, ctx.constant([0], "int64"))
    return [ctx.op.Add(A, ctx.op.Mul(alpha, ctx.op.Mul(column, row)))]


@onnx_funcify.register(Dot22)
@onnx_funcify.register(BatchedDot)
def onnx_funcify_Dot22(op, node, ctx, inputs):
    dtype = dtype_of(node.outputs[0])
    x, y = _as(ctx, node, inputs, dtype)
    return [ctx.op.MatMul(x, y)]


@onnx_funcify.register(Dot22Scalar)
def onnx_funcify_Dot22Scalar(op, node, ctx, inputs):
    dtype = dtype_of(node.outputs[0])
    x, y, scalar = _as(ctx, node, inputs, dtype)
    return [ctx.op.Mul(scalar, ctx.op.MatMul(x, y))]
