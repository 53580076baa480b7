"""Comparisons, logic and bits, NaN/inf tests, Switch and Clip (scalar ops inside `Elemwise`).

Comparisons run in the common input dtype (or an order-preserving wider one where onnxruntime has no
kernel); logical ops on bools and bitwise ops on integers are the same PyTensor ops, so the converter
picks the ONNX op by the output dtype. Switch and Clip follow numpy's selection rules, not ONNX's
(Clip: scalar bounds only, NaN-propagating).

To add a comparison, extend `COMPARISONS`; a logical/bitwise pair, `BITWISE`.
"""

from __future__ import annotations

import pytensor.scalar.basic as ps

from backend.basic import onnx_funcify
from backend.dtypes import FLOAT_DTYPES
from backend.helpers import dtype_of, inputs_as, output_dtype
from backend.kernels import compute_dtype

COMPARISONS = {ps.EQ: "Equal", ps.LT: "Less", ps.LE: "LessOrEqual", ps.GT: "Greater", ps.GE: "GreaterOrEqual"}


def _common(node) -> str:
    return str(ps.upcast(*[dtype_of(v) for v in node.inputs]))


def _comparison_converter(onnx_op):
    def convert(op, node, ctx, inputs):
        common = _common(node)
        compute = compute_dtype(onnx_op, common, allow_widening=True)
        args = [ctx.cast(ctx.cast(a, dtype_of(v), common), common, compute) for a, v in zip(inputs, node.inputs)]
        return [ctx.op[onnx_op](*args)]

    convert.__name__ = f"onnx_funcify_{onnx_op}"
    return convert


for _op_class, _onnx_op in COMPARISONS.items():
    onnx_funcify.register(_op_class)(_comparison_converter(_onnx_op))


@onnx_funcify.register(ps.NEQ)
def onnx_funcify_NEQ(op, node, ctx, inputs):
    (equal,) = _comparison_converter("Equal")(op, node, ctx, inputs)
    return [ctx.op.Not(equal)]


BITWISE = {ps.AND: ("And", "BitwiseAnd"), ps.OR: ("Or", "BitwiseOr"), ps.XOR: ("Xor", "BitwiseXor")}


def _bitwise_converter(logical_op, bitwise_op):
    def convert(op, node, ctx, inputs):
        out = output_dtype(node)
        args = inputs_as(node, ctx, inputs, out)
        return [ctx.op[logical_op if out == "bool" else bitwise_op](*args)]

    convert.__name__ = f"onnx_funcify_{bitwise_op}"
    return convert


for _op_class, (_logical, _bitwise) in BITWISE.items():
    onnx_funcify.register(_op_class)(_bitwise_converter(_logical, _bitwise))


@onnx_funcify.register(ps.Invert)
def onnx_funcify_Invert(op, node, ctx, inputs):
    out = output_dtype(node)
    (x,) = inputs_as(node, ctx, inputs, out)
    return [ctx.op["Not" if out == "bool" else "BitwiseNot"](x)]


@onnx_funcify.register(ps.IsNan)
@onnx_funcify.register(ps.IsInf)
def onnx_funcify_IsNan_IsInf(op, node, ctx, inputs):
    (x,) = inputs
    in_dtype = dtype_of(node.inputs[0])
    onnx_op = "IsNaN" if isinstance(op, ps.IsNan) else "IsInf"
    if in_dtype not in FLOAT_DTYPES:
        # integers are never nan/inf: False, in x's shape
        return [ctx.op.Expand(ctx.constant(False, "bool"), ctx.op.Shape(x))]
    if onnx_op == "IsInf" and in_dtype == "float16" and ctx.opset_version < 20:
        x, in_dtype = ctx.cast(x, "float16", "float32"), "float32"  # float16 IsInf exists from opset 20
    return [ctx.op[onnx_op](x)]


@onnx_funcify.register(ps.Switch)
def onnx_funcify_Switch(op, node, ctx, inputs):
    """``switch(cond, a, b)``: any non-zero (or NaN) condition is true, as numpy's bool()."""
    cond, a, b = inputs
    out = output_dtype(node)
    cond = ctx.cast(cond, dtype_of(node.inputs[0]), "bool")
    compute = compute_dtype("Where", out, allow_widening=True)
    a = ctx.cast(ctx.cast(a, dtype_of(node.inputs[1]), out), out, compute)
    b = ctx.cast(ctx.cast(b, dtype_of(node.inputs[2]), out), out, compute)
    return [ctx.cast(ctx.op.Where(cond, a, b), compute, out)]


@onnx_funcify.register(ps.Clip)
def onnx_funcify_Clip(op, node, ctx, inputs):
    """PyTensor's definition: lo if x < lo, else hi if x > hi, else x (so lo wins when lo > hi and a
    NaN bound is ignored); ONNX Clip only takes scalar bounds and NaN-propagates."""
    out = output_dtype(node)
    x, lo, hi = inputs_as(node, ctx, inputs, out)
    order = compute_dtype("Less", out, allow_widening=True)  # comparisons in an order-preserving dtype
    above = ctx.op.Greater(ctx.cast(x, out, order), ctx.cast(hi, out, order))
    below = ctx.op.Less(ctx.cast(x, out, order), ctx.cast(lo, out, order))
    compute = compute_dtype("Where", out, allow_widening=True)
    x, lo, hi = (ctx.cast(a, out, compute) for a in (x, lo, hi))
    result = ctx.op.Where(below, lo, ctx.op.Where(above, hi, x))
    return [ctx.cast(result, compute, out)]
