"""The BLAS ops PyTensor's default rewrites put in compiled functions (``pytensor.function`` without a
mode): Dot22, Dot22Scalar, Gemm, Gemv, Ger, BatchedDot (the C linker's CGemv/CGer subclass Gemv/Ger
and convert alike). The rewrites make them for float32/float64; the ops accept other dtypes, which
PyTensor computes with numpy (integers wrap) and the export computes in the exact wider dtype
onnxruntime has. They export as ``MatMul`` with the scaling BLAS applies:

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

from pytensor.tensor.blas import BatchedDot, Dot22, Dot22Scalar, Gemm, Gemv

from backend.basic import onnx_funcify, register_if_present
from backend.compat import Ger
from backend.helpers import apply_in, dtype_of
from backend.kernels import compute_dtype
from backend.math import matmul, onnx_funcify_Dot


def _in(ctx, onnx_op, args, dtype):
    """``onnx_op`` computed in ``dtype`` or the exact wider dtype onnxruntime has a kernel for."""
    return apply_in(ctx, onnx_op, args, compute_dtype(onnx_op, dtype, allow_widening=True), dtype)


def _product(ctx, a, b, dtype, b_ndim: int):
    compute = "int32" if dtype == "bool" else compute_dtype("MatMul", dtype, allow_widening=True)
    return ctx.cast(matmul(ctx, ctx.cast(a, dtype, compute), ctx.cast(b, dtype, compute), b_ndim), compute, dtype)


def _scaled_sum(ctx, base, beta, product, alpha, dtype):
    """beta * base + alpha * product in ``dtype`` (integers wrap like PyTensor's in-place numpy),
    with base ignored where beta == 0 (BLAS's convention)."""
    scaled = _in(ctx, "Mul", [alpha, product], dtype)
    with_base = _in(ctx, "Add", [_in(ctx, "Mul", [beta, base], dtype), scaled], dtype)
    compute = compute_dtype("Where", dtype, allow_widening=True)
    zero = ctx.cast(ctx.constant(0, "int64"), "int64", dtype)
    chosen = ctx.op.Where(_in_equal(ctx, beta, zero, dtype), ctx.cast(scaled, dtype, compute),
                          ctx.cast(with_base, dtype, compute))
    return ctx.cast(chosen, compute, dtype)


def _in_equal(ctx, a, b, dtype):
    compute = compute_dtype("Equal", dtype, allow_widening=True)
    return ctx.op.Equal(ctx.cast(a, dtype, compute), ctx.cast(b, dtype, compute))


def _as(ctx, node, inputs, dtype):
    return [ctx.cast(name, dtype_of(var), dtype) for name, var in zip(inputs, node.inputs)]


@onnx_funcify.register(Gemv)
def onnx_funcify_Gemv(op, node, ctx, inputs):
    dtype = dtype_of(node.outputs[0])
    y, alpha, A, x, beta = _as(ctx, node, inputs, dtype)
    return [_scaled_sum(ctx, y, beta, _product(ctx, A, x, dtype, b_ndim=1), alpha, dtype)]


@onnx_funcify.register(Gemm)
def onnx_funcify_Gemm(op, node, ctx, inputs):
    dtype = dtype_of(node.outputs[0])
    z, a, x, y, b = _as(ctx, node, inputs, dtype)
    product = _product(ctx, x, y, dtype, b_ndim=2)
    # Z may broadcast against the product (PyTensor's Gemm.perform does)
    return [_scaled_sum(ctx, z, b, product, a, dtype)]


@register_if_present(Ger)  # removed after PyTensor 3.3.0
def onnx_funcify_Ger(op, node, ctx, inputs):
    dtype = dtype_of(node.outputs[0])
    A, alpha, x, y = _as(ctx, node, inputs, dtype)
    column = ctx.op.Unsqueeze(x, ctx.constant([1], "int64"))
    row = ctx.op.Unsqueeze(y, ctx.constant([0], "int64"))
    return [ctx.op.Add(A, ctx.op.Mul(alpha, ctx.op.Mul(column, row)))]


@onnx_funcify.register(Dot22)
@onnx_funcify.register(BatchedDot)
def onnx_funcify_Dot22(op, node, ctx, inputs):
    # a (batched) matrix product in every dtype, as Dot converts it (integers wrap, bool is any-of-ands)
    return onnx_funcify_Dot(op, node, ctx, inputs)


@onnx_funcify.register(Dot22Scalar)
def onnx_funcify_Dot22Scalar(op, node, ctx, inputs):
    dtype = dtype_of(node.outputs[0])
    x, y, scalar = _as(ctx, node, inputs, dtype)
    return [_in(ctx, "Mul", [scalar, _product(ctx, x, y, dtype, b_ndim=2)], dtype)]
