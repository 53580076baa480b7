"""Matrix products: Dot (numpy's dot for 1-d and 2-d operands) as ONNX MatMul.

onnxruntime's MatMul has kernels for float16/32/64 and 32/64-bit integers; narrower integers are
computed in int32 and cast back, which wraps like numpy's integer dot; bool dot (numpy: any of ands)
is an int32 product tested for non-zero.
"""

from __future__ import annotations

from pytensor.tensor.math import Dot

from backend.basic import onnx_funcify
from backend.kernels import compute_dtype


@onnx_funcify.register(Dot)
def onnx_funcify_Dot(op, node, ctx, inputs):
    out = str(node.outputs[0].type.dtype)
    compute = "int32" if out == "bool" else compute_dtype("MatMul", out, allow_widening=True)
    a, b = (ctx.cast(ctx.cast(name, str(var.type.dtype), out), out, compute)
            for name, var in zip(inputs, node.inputs))
    product = ctx.op.MatMul(a, b)
    return [ctx.cast(product, compute, out)]
