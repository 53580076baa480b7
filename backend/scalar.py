"""Scalar ops beyond Tier 1: trigonometric/hyperbolic functions, special functions, comparisons,
logical and bitwise ops, Switch, Clip, IsNan/IsInf, Mod.

Like ``backend/elemwise.py`` these convert scalar-level Apply nodes (inside an Elemwise or a
Composite). Where onnxruntime lacks an accurate op (Log1p, Expm1, Sigmoid's tails, float64 Softplus),
the converter composes one that follows PyTensor's own definition; where no accurate composition
exists (float64 Asin, Erf, ...), export declines with `ONNXExportUnsupported`.

To add a one-to-one op, add it to `UNARY_FLOAT_OPS` (computed in the output dtype); where
onnxruntime lacks its float64 kernel, a composition in `FLOAT64_COMPOSITIONS` takes over for float64
outputs (measure its ULP error against numpy and record the bound in the registry).
"""

from __future__ import annotations

import math

import numpy as np
import pytensor.scalar.basic as ps
import pytensor.scalar.math as psm

from backend.basic import ONNXExportUnsupported, onnx_funcify
from backend.elemwise import _apply_in, _dtype, _inputs_as, _same_dtype_converter
from backend.kernels import FLOAT_DTYPES, compute_dtype

UNARY_FLOAT_OPS: dict[type, str] = {
    ps.Sin: "Sin", ps.Cos: "Cos", ps.Tan: "Tan",
    ps.ArcSin: "Asin", ps.ArcCos: "Acos", ps.ArcTan: "Atan",
    ps.Sinh: "Sinh", ps.Cosh: "Cosh", ps.Tanh: "Tanh",
    ps.ArcSinh: "Asinh", ps.ArcCosh: "Acosh", ps.ArcTanh: "Atanh",
    psm.Erf: "Erf",
}


def _unary_float_converter(onnx_op, compose_float64=None):
    """The one-to-one op, or for float64 outputs (no onnxruntime kernel) ``compose_float64``."""
    one_to_one = _same_dtype_converter(onnx_op)
    if compose_float64 is None:
        return one_to_one

    def converter(op, node, ctx, inputs):
        if _dtype(node.outputs[0]) != "float64":
            return one_to_one(op, node, ctx, inputs)
        (x,) = _inputs_as(node, ctx, inputs, "float64")
        return [compose_float64(ctx, x)]

    return converter


def _f64(ctx, value):
    return ctx.constant(value, "float64")


def _sign_bit(ctx, x, dtype):
    """True for negative numbers, -0.0 and -inf (1/x < 0 sees the zero's sign, x < 0 the infinity's)."""
    zero = ctx.constant(0.0, dtype)
    reciprocal = ctx.add_node("Div", [ctx.constant(1.0, dtype), x])
    return ctx.add_node("Or", [ctx.add_node("Less", [x, zero]), ctx.add_node("Less", [reciprocal, zero])])


def _with_sign(ctx, negative, magnitude):
    """float64 ``magnitude`` (>= 0) negated where ``negative``; a +0.0 magnitude becomes -0.0 there."""
    return ctx.add_node("Mul", [magnitude, ctx.add_node("Where", [negative, _f64(ctx, -1.0), _f64(ctx, 1.0)])])


def _with_sign_of(ctx, x, magnitude):
    """``magnitude`` with float64 x's sign, -0.0 included (odd functions: f(-0.0) = -0.0)."""
    return _with_sign(ctx, _sign_bit(ctx, x, "float64"), magnitude)


def _atanh64(ctx, x):
    """atanh(|x|) = log1p(2|x| / (1 - |x|)) / 2 (inf at 1, NaN beyond)."""
    a = ctx.add_node("Abs", [x])
    ratio = ctx.add_node("Div", [ctx.add_node("Add", [a, a]), ctx.add_node("Sub", [_f64(ctx, 1.0), a])])
    return _with_sign_of(ctx, x, ctx.add_node("Mul", [_f64(ctx, 0.5), _log1p(ctx, ratio, "float64")]))


def _asinh64(ctx, x):
    """asinh(|x|) = log1p(|x| + x^2 / (1 + sqrt(1 + x^2))); log(|x|) + log(2) once x^2 would overflow."""
    a = ctx.add_node("Abs", [x])
    square = ctx.add_node("Mul", [a, a])
    root = ctx.add_node("Sqrt", [ctx.add_node("Add", [_f64(ctx, 1.0), square])])
    near = _log1p(ctx, ctx.add_node("Add", [a, ctx.add_node("Div", [square, ctx.add_node("Add", [_f64(ctx, 1.0), root])])]),
                  "float64")
    far = ctx.add_node("Add", [ctx.add_node("Log", [a]), _f64(ctx, math.log(2.0))])
    return _with_sign_of(ctx, x, ctx.add_node("Where", [ctx.add_node("Greater", [a, _f64(ctx, 2.0**28)]), far, near]))


def _acosh64(ctx, x):
    """log1p(t + sqrt(2t + t^2)) with t = x - 1 below 2, log(2x - 1/(x + sqrt(x^2 - 1))) up to 2**28,
    log(x) + log(2) beyond; NaN below 1."""
    t = ctx.add_node("Sub", [x, _f64(ctx, 1.0)])
    near = _log1p(ctx, ctx.add_node("Add", [t, ctx.add_node("Sqrt", [ctx.add_node(
        "Add", [ctx.add_node("Add", [t, t]), ctx.add_node("Mul", [t, t])])])]), "float64")
    root = ctx.add_node("Sqrt", [ctx.add_node("Sub", [ctx.add_node("Mul", [x, x]), _f64(ctx, 1.0)])])
    middle = ctx.add_node("Log", [ctx.add_node("Sub", [ctx.add_node("Add", [x, x]), ctx.add_node(
        "Div", [_f64(ctx, 1.0), ctx.add_node("Add", [x, root])])])])
    far = ctx.add_node("Add", [ctx.add_node("Log", [x]), _f64(ctx, math.log(2.0))])
    result = ctx.add_node("Where", [ctx.add_node("Greater", [x, _f64(ctx, 2.0**28)]), far, middle])
    result = ctx.add_node("Where", [ctx.add_node("Less", [x, _f64(ctx, 2.0)]), near, result])
    return ctx.add_node("Where", [ctx.add_node("Less", [x, _f64(ctx, 1.0)]), _f64(ctx, math.nan), result])


def _half_exp_squared(ctx, a):
    """exp(a) / 2 for a where exp(a) itself overflows but the result does not (709 < a < 710.5)."""
    half = ctx.add_node("Exp", [ctx.add_node("Mul", [_f64(ctx, 0.5), a])])
    return ctx.add_node("Mul", [ctx.add_node("Mul", [_f64(ctx, 0.5), half]), half])


def _cosh64(ctx, x):
    a = ctx.add_node("Abs", [x])
    e = ctx.add_node("Exp", [a])
    middle = ctx.add_node("Mul", [_f64(ctx, 0.5), ctx.add_node("Add", [e, ctx.add_node("Div", [_f64(ctx, 1.0), e])])])
    return ctx.add_node("Where", [ctx.add_node("Greater", [a, _f64(ctx, 709.0)]), _half_exp_squared(ctx, a), middle])


def _sinh64(ctx, x):
    """(t + t/(t+1)) / 2 with t = expm1(|x|) below 1 (no cancellation), (e - 1/e) / 2 above."""
    a = ctx.add_node("Abs", [x])
    t = _expm1(ctx, a, "float64")
    near = ctx.add_node("Mul", [_f64(ctx, 0.5), ctx.add_node("Add", [t, ctx.add_node(
        "Div", [t, ctx.add_node("Add", [t, _f64(ctx, 1.0)])])])])
    e = ctx.add_node("Exp", [a])
    middle = ctx.add_node("Mul", [_f64(ctx, 0.5), ctx.add_node("Sub", [e, ctx.add_node("Div", [_f64(ctx, 1.0), e])])])
    result = ctx.add_node("Where", [ctx.add_node("Greater", [a, _f64(ctx, 709.0)]), _half_exp_squared(ctx, a), middle])
    return _with_sign_of(ctx, x, ctx.add_node("Where", [ctx.add_node("Less", [a, _f64(ctx, 1.0)]), near, result]))


# onnxruntime has no float64 kernel for these; the registry's float64 bounds are the compositions'
# measured accuracy
FLOAT64_COMPOSITIONS = {ps.ArcTanh: _atanh64, ps.ArcSinh: _asinh64, ps.ArcCosh: _acosh64, ps.Cosh: _cosh64,
                        ps.Sinh: _sinh64}
for _op_class, _onnx_op in UNARY_FLOAT_OPS.items():
    onnx_funcify.register(_op_class)(_unary_float_converter(_onnx_op, FLOAT64_COMPOSITIONS.get(_op_class)))


def _out(node) -> str:
    return _dtype(node.outputs[0])


def _float_compute(node, ctx, inputs, op_for_kernel="Where"):
    """Inputs cast to the (float) output dtype, then to a dtype onnxruntime runs ``op_for_kernel`` in."""
    out = _out(node)
    compute = compute_dtype(op_for_kernel, out, allow_widening=True)
    return [ctx.cast(a, out, compute) for a in _inputs_as(node, ctx, inputs, out)], compute, out


@onnx_funcify.register(ps.Sqr)
def onnx_funcify_Sqr(op, node, ctx, inputs):
    out = _out(node)
    (x,) = _inputs_as(node, ctx, inputs, out)
    return [_apply_in(ctx, "Mul", [x, x], compute_dtype("Mul", out), out)]


@onnx_funcify.register(ps.Reciprocal)
def onnx_funcify_Reciprocal(op, node, ctx, inputs):
    out = _out(node)
    (x,) = _inputs_as(node, ctx, inputs, out)
    return [_apply_in(ctx, "Div", [ctx.constant(1, out), x], compute_dtype("Div", out), out)]


@onnx_funcify.register(ps.Log2)
@onnx_funcify.register(ps.Log10)
def onnx_funcify_Log_base(op, node, ctx, inputs):
    (x,), compute, out = _float_compute(node, ctx, inputs, "Log")
    base = 2.0 if isinstance(op, ps.Log2) else 10.0
    result = ctx.add_node("Div", [ctx.add_node("Log", [x]), ctx.constant(math.log(base), compute)])
    return [ctx.cast(result, compute, out)]


@onnx_funcify.register(ps.Exp2)
def onnx_funcify_Exp2(op, node, ctx, inputs):
    (x,), compute, out = _float_compute(node, ctx, inputs, "Pow")
    return [ctx.cast(ctx.add_node("Pow", [ctx.constant(2.0, compute), x]), compute, out)]


def _not_equal(ctx, a, b):
    return ctx.add_node("Not", [ctx.add_node("Equal", [a, b])])


def _x_where_exact(ctx, inexact, x, other, compute):
    """``other`` where ``inexact``, else x, keeping a -0.0 in x.

    onnxruntime's Where turns a -0.0 taken from its *true* branch into +0.0, and its optimizer swaps
    the branches of a Where whose condition is a Not node. So x only ever sits in a false branch
    (``inexact`` is built from And/Or, never a top-level Not) and the two parts are added: x + (-0.0)
    is x, 0 + other is other (other is never zero where inexact).
    """
    x_part = ctx.add_node("Where", [inexact, ctx.constant(0.0, compute), x])
    other_part = ctx.add_node("Where", [inexact, other, ctx.constant(-0.0, compute)])
    return ctx.add_node("Add", [x_part, other_part])


def _log1p(ctx, x, compute):
    """log(1 + x) without losing tiny x: log(u) * (x / (u - 1)) with u = 1 + x (Goldberg's trick)."""
    one = ctx.constant(1.0, compute)
    u = ctx.add_node("Add", [x, one])
    ratio = ctx.add_node("Mul", [ctx.add_node("Log", [u]), ctx.add_node("Div", [x, ctx.add_node("Sub", [u, one])])])
    # u == 1 (|x| tiny, maybe -0.0) and u == +inf give x itself.
    inexact = ctx.add_node("And", [_not_equal(ctx, u, one), _not_equal(ctx, u, ctx.constant(math.inf, compute))])
    return _x_where_exact(ctx, inexact, x, ratio, compute)


@onnx_funcify.register(ps.Log1p)
def onnx_funcify_Log1p(op, node, ctx, inputs):
    (x,), compute, out = _float_compute(node, ctx, inputs, "Log")
    return [ctx.cast(_log1p(ctx, x, compute), compute, out)]


@onnx_funcify.register(ps.Expm1)
def onnx_funcify_Expm1(op, node, ctx, inputs):
    (x,), compute, out = _float_compute(node, ctx, inputs, "Exp")
    return [ctx.cast(_expm1(ctx, x, compute), compute, out)]


def _expm1(ctx, x, compute):
    """exp(x) - 1 without losing tiny x: (u - 1) * (x / log(u)) with u = exp(x) (Kahan's trick)."""
    one = ctx.constant(1.0, compute)
    u = ctx.add_node("Exp", [x])
    um1 = ctx.add_node("Sub", [u, one])
    ratio = ctx.add_node("Mul", [um1, ctx.add_node("Div", [x, ctx.add_node("Log", [u])])])
    # once exp(x) >= 2**(mantissa bits + 2), exp(x) - 1 rounds to exp(x) itself (inf included)
    big = 2.0 ** (np.finfo(compute).nmant + 2)
    ratio = ctx.add_node("Where", [ctx.add_node("GreaterOrEqual", [u, ctx.constant(big, compute)]), u, ratio])
    ratio = ctx.add_node("Where", [ctx.add_node("Equal", [um1, ctx.constant(-1.0, compute)]), um1, ratio])
    inexact = ctx.add_node("Or", [ctx.add_node("Less", [u, one]), ctx.add_node("Greater", [u, one])])
    return _x_where_exact(ctx, inexact, x, ratio, compute)


@onnx_funcify.register(psm.Sigmoid)
def onnx_funcify_Sigmoid(op, node, ctx, inputs):
    """Accurate in both tails (onnxruntime's Sigmoid underflows early): e/(1+e) with e = exp(-|x|)."""
    (x,), compute, out = _float_compute(node, ctx, inputs, "Exp")
    one = ctx.constant(1.0, compute)
    e = ctx.add_node("Exp", [ctx.add_node("Neg", [ctx.add_node("Abs", [x])])])
    small = ctx.add_node("Div", [e, ctx.add_node("Add", [one, e])])  # sigmoid(-|x|)
    large = ctx.add_node("Div", [one, ctx.add_node("Add", [one, e])])  # sigmoid(|x|)
    positive = ctx.add_node("Greater", [x, ctx.constant(0.0, compute)])
    return [ctx.cast(ctx.add_node("Where", [positive, large, small]), compute, out)]


@onnx_funcify.register(psm.Softplus)
def onnx_funcify_Softplus(op, node, ctx, inputs):
    """PyTensor's piecewise definition: exp(x) | log1p(exp(x)) | x + exp(-x) | x at -37, 18, 33.3."""
    (x,), compute, out = _float_compute(node, ctx, inputs, "Exp")
    exp_x = ctx.add_node("Exp", [x])
    middle = _log1p(ctx, exp_x, compute)
    upper = ctx.add_node("Add", [x, ctx.add_node("Exp", [ctx.add_node("Neg", [x])])])

    def below(threshold):
        return ctx.add_node("Less", [x, ctx.constant(threshold, compute)])

    result = ctx.add_node("Where", [below(33.3), upper, x])
    result = ctx.add_node("Where", [below(18.0), middle, result])
    result = ctx.add_node("Where", [below(-37.0), exp_x, result])
    return [ctx.cast(result, compute, out)]


@onnx_funcify.register(psm.Erfc)
def onnx_funcify_Erfc(op, node, ctx, inputs):
    raise ONNXExportUnsupported(
        "erfc: ONNX has no Erfc and 1 - Erf(x) loses every significant digit for x > ~4 (erfc(5) = 1.5e-12)"
    )


@onnx_funcify.register(ps.ArcTan2)
def onnx_funcify_ArcTan2(op, node, ctx, inputs):
    """atan2(y, x) from float32 Atan: the angle of (|x|, |y|) in [0, pi/2], reflected to pi - angle
    when x is negative (or -0.0), then given y's sign. Every intermediate is a non-negative magnitude,
    so zero signs come only from the final multiplication (atan2(-0.0, +0.0) = -0.0, atan2(+0.0,
    -0.0) = pi); 0/0 and inf/inf, which the ratio cannot express, are set to 0 and pi/4. The
    reflection and the sign are applied in float64, so only the ratio and Atan round in float32."""
    out = _out(node)
    if out not in ("float16", "float32"):
        raise ONNXExportUnsupported(f"arctan2 with {out} output: onnxruntime's Atan has no {out} kernel "
                                    "and a float32 angle would lose the precision")
    y, x = (ctx.cast(a, _dtype(v), "float32") for a, v in zip(inputs, node.inputs))
    abs_y, abs_x = ctx.add_node("Abs", [y]), ctx.add_node("Abs", [x])
    angle = ctx.add_node("Atan", [ctx.add_node("Div", [abs_y, abs_x])])
    zero, inf = ctx.constant(0.0, "float32"), ctx.constant(math.inf, "float32")
    both_zero = ctx.add_node("And", [ctx.add_node("Equal", [abs_y, zero]), ctx.add_node("Equal", [abs_x, zero])])
    both_inf = ctx.add_node("And", [ctx.add_node("Equal", [abs_y, inf]), ctx.add_node("Equal", [abs_x, inf])])
    angle = ctx.add_node("Where", [both_inf, ctx.constant(math.pi / 4, "float32"), angle])
    angle = ctx.cast(ctx.add_node("Where", [both_zero, zero, angle]), "float32", "float64")
    reflected = ctx.add_node("Sub", [ctx.constant(math.pi, "float64"), angle])
    magnitude = ctx.add_node("Where", [_sign_bit(ctx, x, "float32"), reflected, angle])
    return [ctx.cast(_with_sign(ctx, _sign_bit(ctx, y, "float32"), magnitude), "float64", out)]


@onnx_funcify.register(ps.Sign)
def onnx_funcify_Sign(op, node, ctx, inputs):
    out = _out(node)
    (x,) = _inputs_as(node, ctx, inputs, out)
    if out == "bool":
        return [x]
    result = _apply_in(ctx, "Sign", [x], compute_dtype("Sign", out), out)
    if out in FLOAT_DTYPES:
        # numpy: sign(nan) is nan (onnxruntime's Sign gives 0); sign(-0.0) is +0.0 in both.
        result = ctx.add_node("Where", [ctx.add_node("IsNaN", [x]), x, result])
    return [result]


@onnx_funcify.register(ps.Mod)
def onnx_funcify_Mod(op, node, ctx, inputs):
    """numpy's remainder: the sign of the divisor; x % 0 is 0 for ints and nan for floats."""
    out = _out(node)
    x, y = _inputs_as(node, ctx, inputs, out)
    if out not in FLOAT_DTYPES:
        compute = "uint8" if out == "bool" else out
        x, y = ctx.cast(x, out, compute), ctx.cast(y, out, compute)
        zero = ctx.constant(0, compute)
        y_is_zero = ctx.add_node("Equal", [y, zero])
        safe_y = ctx.add_node("Add", [y, ctx.cast(y_is_zero, "bool", compute)])
        mod = ctx.add_node("Mod", [x, safe_y])  # fmod=0: integer remainder with the divisor's sign
        keep = ctx.cast(ctx.add_node("Not", [y_is_zero]), "bool", compute)
        return [ctx.cast(ctx.add_node("Mul", [mod, keep]), compute, out)]
    compute = compute_dtype("Where", out, allow_widening=True)
    x, y = ctx.cast(x, out, compute), ctx.cast(y, out, compute)
    zero = ctx.constant(0.0, compute)
    mod = ctx.add_node("Mod", [x, y], fmod=1)
    signs_differ = ctx.add_node("Xor", [ctx.add_node("Less", [y, zero]), ctx.add_node("Less", [mod, zero])])
    fix = ctx.add_node("And", [ctx.add_node("Not", [ctx.add_node("Equal", [mod, zero])]), signs_differ])
    adjusted = ctx.add_node("Where", [fix, ctx.add_node("Add", [mod, y]), mod])
    # A zero remainder takes the divisor's sign (numpy's copysign(0, y)) as |0| * sign(y); it sits in
    # Where's false branch, the only one in which onnxruntime keeps a -0.0.
    zero_part = ctx.add_node("Mul", [ctx.add_node("Abs", [mod]), ctx.add_node("Sign", [y])])
    nonzero = ctx.add_node("Or", [ctx.add_node("Less", [mod, zero]), ctx.add_node("Greater", [mod, zero])])
    result = ctx.add_node("Where", [nonzero, adjusted, zero_part])
    return [ctx.cast(result, compute, out)]


# ----------------------------------------------------------------------------------------------
# Comparisons, logic, bits
# ----------------------------------------------------------------------------------------------

COMPARISONS = {ps.EQ: "Equal", ps.LT: "Less", ps.LE: "LessOrEqual", ps.GT: "Greater", ps.GE: "GreaterOrEqual"}


def _common(node) -> str:
    return str(ps.upcast(*[_dtype(v) for v in node.inputs]))


def _comparison_converter(onnx_op):
    def convert(op, node, ctx, inputs):
        common = _common(node)
        compute = compute_dtype(onnx_op, common, allow_widening=True)
        args = [ctx.cast(ctx.cast(a, _dtype(v), common), common, compute) for a, v in zip(inputs, node.inputs)]
        return [ctx.add_node(onnx_op, args)]

    convert.__name__ = f"onnx_funcify_{onnx_op}"
    return convert


for _op_class, _onnx_op in COMPARISONS.items():
    onnx_funcify.register(_op_class)(_comparison_converter(_onnx_op))


@onnx_funcify.register(ps.NEQ)
def onnx_funcify_NEQ(op, node, ctx, inputs):
    (equal,) = _comparison_converter("Equal")(op, node, ctx, inputs)
    return [ctx.add_node("Not", [equal])]


BITWISE = {ps.AND: ("And", "BitwiseAnd"), ps.OR: ("Or", "BitwiseOr"), ps.XOR: ("Xor", "BitwiseXor")}


def _bitwise_converter(logical_op, bitwise_op):
    def convert(op, node, ctx, inputs):
        out = _out(node)
        args = _inputs_as(node, ctx, inputs, out)
        return [ctx.add_node(logical_op if out == "bool" else bitwise_op, args)]

    convert.__name__ = f"onnx_funcify_{bitwise_op}"
    return convert


for _op_class, (_logical, _bitwise) in BITWISE.items():
    onnx_funcify.register(_op_class)(_bitwise_converter(_logical, _bitwise))


@onnx_funcify.register(ps.Invert)
def onnx_funcify_Invert(op, node, ctx, inputs):
    out = _out(node)
    (x,) = _inputs_as(node, ctx, inputs, out)
    return [ctx.add_node("Not" if out == "bool" else "BitwiseNot", [x])]


@onnx_funcify.register(ps.IsNan)
@onnx_funcify.register(ps.IsInf)
def onnx_funcify_IsNan_IsInf(op, node, ctx, inputs):
    (x,) = inputs
    in_dtype = _dtype(node.inputs[0])
    onnx_op = "IsNaN" if isinstance(op, ps.IsNan) else "IsInf"
    if in_dtype not in FLOAT_DTYPES:
        # integers are never nan/inf: False, in x's shape
        return [ctx.add_node("Expand", [ctx.constant(False, "bool"), ctx.add_node("Shape", [x])])]
    if onnx_op == "IsInf" and in_dtype == "float16" and ctx.opset_version < 20:
        x, in_dtype = ctx.cast(x, "float16", "float32"), "float32"  # float16 IsInf exists from opset 20
    return [ctx.add_node(onnx_op, [x])]


@onnx_funcify.register(ps.Switch)
def onnx_funcify_Switch(op, node, ctx, inputs):
    """``switch(cond, a, b)``: any non-zero (or NaN) condition is true, as numpy's bool()."""
    cond, a, b = inputs
    out = _out(node)
    cond = ctx.cast(cond, _dtype(node.inputs[0]), "bool")
    compute = compute_dtype("Where", out, allow_widening=True)
    a = ctx.cast(ctx.cast(a, _dtype(node.inputs[1]), out), out, compute)
    b = ctx.cast(ctx.cast(b, _dtype(node.inputs[2]), out), out, compute)
    return [ctx.cast(ctx.add_node("Where", [cond, a, b]), compute, out)]


@onnx_funcify.register(ps.Clip)
def onnx_funcify_Clip(op, node, ctx, inputs):
    """PyTensor's definition: lo if x < lo, else hi if x > hi, else x (so lo wins when lo > hi and a
    NaN bound is ignored); ONNX Clip only takes scalar bounds and NaN-propagates."""
    out = _out(node)
    x, lo, hi = _inputs_as(node, ctx, inputs, out)
    order = compute_dtype("Less", out, allow_widening=True)  # comparisons in an order-preserving dtype
    above = ctx.add_node("Greater", [ctx.cast(x, out, order), ctx.cast(hi, out, order)])
    below = ctx.add_node("Less", [ctx.cast(x, out, order), ctx.cast(lo, out, order)])
    compute = compute_dtype("Where", out, allow_widening=True)
    x, lo, hi = (ctx.cast(a, out, compute) for a in (x, lo, hi))
    result = ctx.add_node("Where", [below, lo, ctx.add_node("Where", [above, hi, x])])
    return [ctx.cast(result, compute, out)]
