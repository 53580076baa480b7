"""Matrix products: Dot (numpy's dot for 1-d and 2-d operands) as ONNX MatMul.

onnxruntime's MatMul has kernels for float16/32/64 and 32/64-bit integers; narrower integers are
computed in int32 and cast back, which wraps like numpy's integer dot; bool dot (numpy: any of ands)
is an int32 product tested for non-zero.
"""

from __future__ import annotations

from pytensor.tensor.math import Dot

from backend.basic import onnx_funcify
from backend.kernels import compute_dtype


def matmul(ctx, a, b, b_ndim: int):
    """ONNX MatMul, with a vector right operand multiplied as a one-column matrix: onnxruntime's
    optimizer (1.32, every float type) fuses Transpose(A) into MatMul(A^T, v) and computes the fused
    product wrongly when v is 1-D (a reproducer: tests/backend/test_export.py). The column form is
    the same product."""
    if b_ndim != 1:
        return ctx.op.MatMul(a, b)
    last = ctx.constant([-1], "int64")
    return ctx.op.Squeeze(ctx.op.MatMul(a, ctx.op.Unsqueeze(b, last)), last)


@onnx_funcify.register(Dot)
def onnx_funcify_Dot(op, node, ctx, inputs):
    out = str(node.outputs[0].type.dtype)
    compute = "int32" if out == "bool" else compute_dtype("MatMul", out, allow_widening=True)
    a, b = (ctx.cast(ctx.cast(name, str(var.type.dtype), out), out, compute)
            for name, var in zip(inputs, node.inputs))
    product = matmul(ctx, a, b, node.inputs[1].type.ndim)
    return [ctx.cast(product, compute, out)]
