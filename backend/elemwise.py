"""Elementwise ops: `Elemwise`, fused `Composite` graphs and the scalar ops inside them.

An `Elemwise` node is converted by converting its scalar op on whole tensors: ONNX elementwise
operators broadcast like numpy once ranks agree, and PyTensor aligns ranks with DimShuffle first.
Scalar converters get a scalar-level Apply node whose types carry PyTensor's dtypes, so the same
converter serves a plain Elemwise and a node inside a fused Composite.

PyTensor upcasts mixed inputs implicitly (``float32 + int64 -> float64``, ``exp(int8) -> float32``)
without a Cast node in the graph; the converters insert those Casts (`_inputs_as`).

To add a scalar op that maps one to one onto an ONNX op computed in the output dtype, add it to
`SAME_DTYPE_OPS`. Anything with other semantics gets its own converter below.
"""

from __future__ import annotations

import numpy as np
import pytensor.scalar.basic as ps
from pytensor.tensor.elemwise import Elemwise

from backend.basic import GraphBuilder, onnx_funcify
from backend.kernels import FLOAT_DTYPES, SIGNED_DTYPES, UNSIGNED_DTYPES, compute_dtype


def _dtype(var) -> str:
    return str(var.type.dtype)


def _inputs_as(node, ctx: GraphBuilder, inputs, dtype: str) -> list[str]:
    return [ctx.cast(name, _dtype(var), dtype) for name, var in zip(inputs, node.inputs)]


def _apply_in(ctx, onnx_op, args, compute, out_dtype, **attrs):
    """Run ``onnx_op`` on ``args`` (already in the output dtype) in ``compute`` dtype, cast back."""
    args = [ctx.cast(a, out_dtype, compute) for a in args]
    if len(args) > 2 and onnx_op in ("Add", "Mul"):
        # Fusion and canonicalisation make variadic Add/Mul; ONNX's are binary.
        result = args[0]
        for arg in args[1:]:
            result = ctx.add_node(onnx_op, [result, arg], **attrs)
    else:
        result = ctx.add_node(onnx_op, args, **attrs)
    return ctx.cast(result, compute, out_dtype)


# Scalar op -> ONNX op, computed with every input cast to PyTensor's output dtype.
SAME_DTYPE_OPS: dict[type, str] = {
    ps.Add: "Add",
    ps.Sub: "Sub",
    ps.Mul: "Mul",
    ps.TrueDiv: "Div",
    ps.Abs: "Abs",
    ps.Maximum: "Max",
    ps.Minimum: "Min",
    ps.Exp: "Exp",
    ps.Log: "Log",
    ps.Sqrt: "Sqrt",
    ps.Floor: "Floor",
    ps.Ceil: "Ceil",
    ps.RoundHalfToEven: "Round",
}


def _same_dtype_converter(onnx_op: str):
    def convert(op, node, ctx, inputs):
        out_dtype = _dtype(node.outputs[0])
        compute = compute_dtype(onnx_op, out_dtype)
        return [_apply_in(ctx, onnx_op, _inputs_as(node, ctx, inputs, out_dtype), compute, out_dtype)]

    convert.__name__ = f"onnx_funcify_{onnx_op}"
    return convert


for _scalar_op_class, _onnx_op in SAME_DTYPE_OPS.items():
    onnx_funcify.register(_scalar_op_class)(_same_dtype_converter(_onnx_op))


@onnx_funcify.register(ps.Neg)
def onnx_funcify_Neg(op, node, ctx, inputs):
    out_dtype = _dtype(node.outputs[0])
    (x,) = _inputs_as(node, ctx, inputs, out_dtype)
    if out_dtype in UNSIGNED_DTYPES:
        # ONNX Neg rejects unsigned types; PyTensor wraps (-uint8(1) == 255), as 0 - x does.
        return [ctx.add_node("Sub", [ctx.constant(0, out_dtype), x])]
    return [ctx.add_node("Neg", [x])]


@onnx_funcify.register(ps.Pow)
def onnx_funcify_Pow(op, node, ctx, inputs):
    out_dtype = _dtype(node.outputs[0])
    base, exponent = _inputs_as(node, ctx, inputs, out_dtype)
    if out_dtype in FLOAT_DTYPES:
        return [ctx.add_node("Pow", [base, exponent])]
    return [_int_pow_by_squaring(ctx, base, exponent, out_dtype)]


def _int_pow_by_squaring(ctx, base, exponent, dtype):
    """Exact integer power, wrapping modulo 2**bits like numpy.

    onnxruntime's integer Pow goes through double: it loses the low bits above 2**53 and saturates
    on overflow. Square-and-multiply over the exponent's bits with integer Mul (which wraps) is exact.
    Negative exponents have no answer in PyTensor (numpy raises), so they are not handled.
    """
    one, two = ctx.constant(1, dtype), ctx.constant(2, dtype)
    result = ctx.add_node("Expand", [one, ctx.add_node("Shape", [base])])
    power = base
    for bit_index in range(np.dtype(dtype).itemsize * 8):
        bit = ctx.add_node("Mod", [exponent, two])
        # result *= power if bit else 1, written without Where (no int16/uint16/uint64 kernel)
        factor = ctx.add_node("Add", [ctx.add_node("Mul", [power, bit]), ctx.add_node("Sub", [one, bit])])
        result = ctx.add_node("Mul", [result, factor])
        if bit_index < np.dtype(dtype).itemsize * 8 - 1:
            exponent = ctx.add_node("Div", [exponent, two])
            power = ctx.add_node("Mul", [power, power])
    return result


@onnx_funcify.register(ps.IntDiv)
def onnx_funcify_IntDiv(op, node, ctx, inputs):
    """numpy's floor_divide, including its zero-divisor results.

    ONNX Div truncates integers toward zero and raises on a zero divisor (onnxruntime); numpy floors,
    gives 0 for ``x // 0`` and wraps ``INT_MIN // -1``. Floats follow numpy's ``npy_divmod`` so that
    ``1.0 // 0.1 == 9.0`` (``Floor(Div)`` gives 10.0).
    """
    out_dtype = _dtype(node.outputs[0])
    x, y = _inputs_as(node, ctx, inputs, out_dtype)
    if out_dtype in FLOAT_DTYPES:
        return [_float_floor_divide(ctx, x, y, out_dtype)]
    compute = out_dtype
    if out_dtype == "bool":
        compute = "uint8"
        x, y = ctx.cast(x, "bool", compute), ctx.cast(y, "bool", compute)
    return [ctx.cast(_int_floor_divide(ctx, x, y, compute), compute, out_dtype)]


def _int_floor_divide(ctx, x, y, dtype):
    zero, one = ctx.constant(0, dtype), ctx.constant(1, dtype)
    y_is_zero = ctx.add_node("Equal", [y, zero])
    # A zero divisor becomes 1 and the quotient is zeroed afterwards (numpy's x // 0 == 0).
    safe_y = ctx.add_node("Add", [y, ctx.cast(y_is_zero, "bool", dtype)])
    if dtype in SIGNED_DTYPES:
        # x // -1 is -x: dividing would trap on INT_MIN // -1 (SIGFPE on x86), so -1 becomes 1 and
        # the quotient is negated (0 - q, which wraps INT_MIN like numpy) afterwards.
        flip = ctx.cast(ctx.add_node("Equal", [safe_y, ctx.constant(-1, dtype)]), "bool", dtype)
        safe_y = ctx.add_node("Add", [safe_y, ctx.add_node("Add", [flip, flip])])
        quotient = ctx.add_node("Div", [x, safe_y])
        # Truncation -> floor: subtract 1 where the remainder is non-zero and signs differ.
        remainder = ctx.add_node("Sub", [x, ctx.add_node("Mul", [quotient, safe_y])])
        rem_nonzero = ctx.add_node("Not", [ctx.add_node("Equal", [remainder, zero])])
        signs_differ = ctx.add_node(
            "Xor", [ctx.add_node("Less", [remainder, zero]), ctx.add_node("Less", [safe_y, zero])]
        )
        adjust = ctx.cast(ctx.add_node("And", [rem_nonzero, signs_differ]), "bool", dtype)
        quotient = ctx.add_node("Sub", [quotient, adjust])
        negated = ctx.add_node("Sub", [zero, quotient])
        quotient = ctx.add_node("Add", [ctx.add_node("Mul", [negated, flip]),
                                        ctx.add_node("Mul", [quotient, ctx.add_node("Sub", [one, flip])])])
    else:
        quotient = ctx.add_node("Div", [x, safe_y])
    keep = ctx.cast(ctx.add_node("Not", [y_is_zero]), "bool", dtype)
    return ctx.add_node("Mul", [quotient, keep])


def _float_floor_divide(ctx, a, b, dtype):
    """numpy's npy_divmod floor-division branch, written with ONNX ops."""
    compute = compute_dtype("Where", dtype, allow_widening=True)
    a, b = ctx.cast(a, dtype, compute), ctx.cast(b, dtype, compute)
    zero, one, half = (ctx.constant(v, compute) for v in (0.0, 1.0, 0.5))
    mod = ctx.add_node("Mod", [a, b], fmod=1)
    div = ctx.add_node("Div", [ctx.add_node("Sub", [a, mod]), b])
    mod_nonzero = ctx.add_node("Not", [ctx.add_node("Equal", [mod, zero])])
    signs_differ = ctx.add_node(
        "Xor", [ctx.add_node("Less", [b, zero]), ctx.add_node("Less", [mod, zero])]
    )
    div = ctx.add_node(
        "Where",
        [ctx.add_node("And", [mod_nonzero, signs_differ]), ctx.add_node("Sub", [div, one]), div],
    )
    floordiv = ctx.add_node("Floor", [div])
    floordiv = ctx.add_node(
        "Where",
        [ctx.add_node("Greater", [ctx.add_node("Sub", [div, floordiv]), half]),
         ctx.add_node("Add", [floordiv, one]), floordiv],
    )
    plain_quotient = ctx.add_node("Div", [a, b])
    # div == 0 -> a zero carrying the sign of a / b. onnxruntime's Where turns a -0.0 taken from
    # its true branch into +0.0, and its optimizer swaps branches (Where(Not(c), x, y)), so the
    # sign is applied by multiplying +0.0 by -1 instead of selecting a -0.0.
    div_is_zero = ctx.add_node("Equal", [div, zero])
    quotient_negative = ctx.add_node("Less", [ctx.add_node("Div", [one, plain_quotient]), zero])
    sign = ctx.add_node(
        "Where",
        [ctx.add_node("And", [div_is_zero, quotient_negative]), ctx.constant(-1.0, compute), one],
    )
    result = ctx.add_node("Mul", [ctx.add_node("Where", [div_is_zero, zero, floordiv]), sign])
    # b == 0 -> a / b (inf or nan), as numpy does
    result = ctx.add_node("Where", [ctx.add_node("Equal", [b, zero]), plain_quotient, result])
    return ctx.cast(result, compute, dtype)


@onnx_funcify.register(ps.RoundHalfAwayFromZero)
def onnx_funcify_RoundHalfAwayFromZero(op, node, ctx, inputs):
    """PyTensor's definition: ``floor(x + 0.5)`` for x > 0, else ``ceil(x - 0.5)`` (not ONNX Round)."""
    out_dtype = _dtype(node.outputs[0])
    (x,) = _inputs_as(node, ctx, inputs, out_dtype)
    compute = compute_dtype("Where", out_dtype, allow_widening=True)
    x = ctx.cast(x, out_dtype, compute)
    half = ctx.constant(0.5, compute)
    up = ctx.add_node("Floor", [ctx.add_node("Add", [x, half])])
    down = ctx.add_node("Ceil", [ctx.add_node("Sub", [x, half])])
    # `down` may be -0.0, so it sits in Where's false branch (see _float_floor_divide).
    positive = ctx.add_node("Greater", [x, ctx.constant(0.0, compute)])
    return [ctx.cast(ctx.add_node("Where", [positive, up, down]), compute, out_dtype)]


@onnx_funcify.register(ps.Cast)
def onnx_funcify_Cast(op, node, ctx, inputs):
    return [ctx.cast(inputs[0], _dtype(node.inputs[0]), _dtype(node.outputs[0]))]


@onnx_funcify.register(ps.Identity)
def onnx_funcify_Identity(op, node, ctx, inputs):
    return [ctx.cast(inputs[0], _dtype(node.inputs[0]), _dtype(node.outputs[0]))]


@onnx_funcify.register(ps.Second)
def onnx_funcify_Second(op, node, ctx, inputs):
    """``second(x, y)``: y broadcast against x (``fill``), in the output dtype."""
    x, y = inputs
    out_dtype = _dtype(node.outputs[0])
    y = ctx.cast(y, _dtype(node.inputs[1]), out_dtype)
    return [ctx.add_node("Expand", [y, ctx.add_node("Shape", [x])])]


@onnx_funcify.register(ps.Composite)
def onnx_funcify_Composite(op, node, ctx, inputs):
    """Inline the fused scalar graph: one ONNX node (or a few) per inner scalar op."""
    names = dict(zip(op.fgraph.inputs, inputs))
    for inner in op.fgraph.toposort():
        inner_inputs = []
        for var in inner.inputs:
            if var not in names:
                names[var] = ctx.constant(var.data, dtype=_dtype(var))  # a ScalarConstant
            inner_inputs.append(names[var])
        for var, name in zip(inner.outputs, onnx_funcify(inner.op, inner, ctx, inner_inputs)):
            names[var] = name
    outputs = []
    for var in op.fgraph.outputs:
        if var not in names:
            names[var] = ctx.constant(var.data, dtype=_dtype(var))
        outputs.append(names[var])
    return outputs


@onnx_funcify.register(Elemwise)
def onnx_funcify_Elemwise(op, node, ctx, inputs):
    scalar_inputs = [ps.get_scalar_type(_dtype(v)).make_variable() for v in node.inputs]
    scalar_node = op.scalar_op.make_node(*scalar_inputs)
    for scalar_out, tensor_out in zip(scalar_node.outputs, node.outputs):
        if _dtype(scalar_out) != _dtype(tensor_out):
            raise RuntimeError(
                f"{op}: scalar output dtype {_dtype(scalar_out)} differs from the tensor output "
                f"dtype {_dtype(tensor_out)}"
            )
    # make_node may return a new scalar op (a Composite re-typed for these inputs): convert that one.
    outputs = onnx_funcify(scalar_node.op, scalar_node, ctx, inputs)
    return [_full_shape(ctx, name, inputs) for name in outputs]


def _full_shape(ctx, name, inputs):
    """Broadcast an output that is a constant or an input to the shape of the Elemwise result."""
    if name in inputs:
        others = [n for n in inputs if n != name]
    elif ctx.is_constant(name):
        others = list(inputs)
    else:
        return name
    for other in others:
        name = ctx.add_node("Expand", [name, ctx.add_node("Shape", [other])])
    return name
