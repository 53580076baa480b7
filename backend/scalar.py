"""Scalar ops (the ones inside `Elemwise` and `Composite`): arithmetic, rounding, casts, powers and
divisions, trigonometric/hyperbolic and special functions.

`ONE_TO_ONE_SCALAR_OPS` is the rule table for scalar ops that are one ONNX op with every input cast
to the output dtype (computed in an exact wider dtype where onnxruntime has no kernel). Where
onnxruntime lacks a float64 kernel, `FLOAT64_COMPOSITIONS` takes over for float64 outputs. Where
onnxruntime lacks an accurate op (Log1p, Expm1, Sigmoid's tails, float64 Softplus), the converter
composes one that follows PyTensor's own definition; where no accurate composition exists (float64
Asin, ...), export declines with `ONNXExportUnsupported`. Erf and the special functions PyTensor
takes from scipy are in `special_functions`.

To add a one-to-one op, add it to `ONE_TO_ONE_SCALAR_OPS`; a float64 composition goes into
`FLOAT64_COMPOSITIONS` (measure its ULP error against numpy and record the bound in the registry).
Anything with other semantics gets its own converter below.
"""

from __future__ import annotations

import math

import numpy as np
import pytensor.scalar.basic as ps
import pytensor.scalar.math as psm

from backend.basic import onnx_funcify, register_if_present
from backend.compat import Deg2Rad, Rad2Deg
from backend.dtypes import (
    FLOAT_DTYPES,
    SIGNED_DTYPES,
    UNSIGNED_DTYPES,
    ONNXExportUnsupported,
)
from backend.helpers import (
    apply_in,
    dtype_of,
    inputs_as,
    one_to_one_converter,
    output_dtype,
    select_keeping_zero_sign,
    sign_bit,
)
from backend.kernels import compute_dtype
from backend.numerics import polevl_many

ONE_TO_ONE_SCALAR_OPS: dict[type, str] = {
    ps.Add: "Add", ps.Sub: "Sub", ps.Mul: "Mul", ps.TrueDiv: "Div",
    ps.Abs: "Abs", ps.Maximum: "Max", ps.Minimum: "Min",
    ps.Exp: "Exp", ps.Log: "Log", ps.Sqrt: "Sqrt",
    ps.Floor: "Floor", ps.Ceil: "Ceil", ps.RoundHalfToEven: "Round",
    ps.Sin: "Sin", ps.Cos: "Cos", ps.Tan: "Tan",
    ps.ArcSin: "Asin", ps.ArcCos: "Acos", ps.ArcTan: "Atan",
    ps.Sinh: "Sinh", ps.Cosh: "Cosh", ps.Tanh: "Tanh",
    ps.ArcSinh: "Asinh", ps.ArcCosh: "Acosh", ps.ArcTanh: "Atanh",
}


def _one_to_one_or_float64_composition(onnx_op, compose_float64=None):
    """The one-to-one op, or for float64 outputs (no onnxruntime kernel) ``compose_float64``."""
    one_to_one = one_to_one_converter(onnx_op)
    if compose_float64 is None:
        return one_to_one

    def converter(op, node, ctx, inputs):
        if output_dtype(node) != "float64":
            return one_to_one(op, node, ctx, inputs)
        (x,) = inputs_as(node, ctx, inputs, "float64")
        return [compose_float64(ctx, x)]

    converter.__name__ = f"onnx_funcify_{onnx_op}"
    return converter


def _f64(ctx, value):
    return ctx.constant(value, "float64")


def _with_sign(ctx, negative, magnitude):
    """float64 ``magnitude`` (>= 0) negated where ``negative``; a +0.0 magnitude becomes -0.0 there."""
    return ctx.op.Mul(magnitude, ctx.op.Where(negative, _f64(ctx, -1.0), _f64(ctx, 1.0)))


def _with_sign_of(ctx, x, magnitude):
    """``magnitude`` with float64 x's sign, -0.0 included (odd functions: f(-0.0) = -0.0)."""
    return _with_sign(ctx, sign_bit(ctx, x, "float64"), magnitude)


def _atanh64(ctx, x):
    """atanh(|x|) = log1p(2|x| / (1 - |x|)) / 2 (inf at 1, NaN beyond)."""
    a = ctx.op.Abs(x)
    ratio = ctx.op.Div(ctx.op.Add(a, a), ctx.op.Sub(_f64(ctx, 1.0), a))
    return _with_sign_of(ctx, x, ctx.op.Mul(_f64(ctx, 0.5), log1p(ctx, ratio, "float64")))


def asinh64(ctx, x):
    """asinh(|x|) = log1p(|x| + x^2 / (1 + sqrt(1 + x^2))); log(|x|) + log(2) once x^2 would overflow."""
    a = ctx.op.Abs(x)
    square = ctx.op.Mul(a, a)
    root = ctx.op.Sqrt(ctx.op.Add(_f64(ctx, 1.0), square))
    near = log1p(ctx, ctx.op.Add(a, ctx.op.Div(square, ctx.op.Add(_f64(ctx, 1.0), root))),
                  "float64")
    far = ctx.op.Add(ctx.op.Log(a), _f64(ctx, math.log(2.0)))
    return _with_sign_of(ctx, x, ctx.op.Where(ctx.op.Greater(a, _f64(ctx, 2.0**28)), far, near))


def _acosh64(ctx, x):
    """log1p(t + sqrt(2t + t^2)) with t = x - 1 below 2, log(2x - 1/(x + sqrt(x^2 - 1))) up to 2**28,
    log(x) + log(2) beyond; NaN below 1."""
    t = ctx.op.Sub(x, _f64(ctx, 1.0))
    near = log1p(ctx, ctx.op.Add(t, ctx.op.Sqrt(ctx.op.Add(ctx.op.Add(t, t), ctx.op.Mul(t, t)))), "float64")
    root = ctx.op.Sqrt(ctx.op.Sub(ctx.op.Mul(x, x), _f64(ctx, 1.0)))
    middle = ctx.op.Log(ctx.op.Sub(ctx.op.Add(x, x), ctx.op.Div(_f64(ctx, 1.0), ctx.op.Add(x, root))))
    far = ctx.op.Add(ctx.op.Log(x), _f64(ctx, math.log(2.0)))
    result = ctx.op.Where(ctx.op.Greater(x, _f64(ctx, 2.0**28)), far, middle)
    result = ctx.op.Where(ctx.op.Less(x, _f64(ctx, 2.0)), near, result)
    return ctx.op.Where(ctx.op.Less(x, _f64(ctx, 1.0)), _f64(ctx, math.nan), result)


def _half_exp_squared(ctx, a):
    """exp(a) / 2 for a where exp(a) itself overflows but the result does not (709 < a < 710.5)."""
    half = ctx.op.Exp(ctx.op.Mul(_f64(ctx, 0.5), a))
    return ctx.op.Mul(ctx.op.Mul(_f64(ctx, 0.5), half), half)


def _cosh64(ctx, x):
    a = ctx.op.Abs(x)
    e = ctx.op.Exp(a)
    middle = ctx.op.Mul(_f64(ctx, 0.5), ctx.op.Add(e, ctx.op.Div(_f64(ctx, 1.0), e)))
    return ctx.op.Where(ctx.op.Greater(a, _f64(ctx, 709.0)), _half_exp_squared(ctx, a), middle)


def _sinh64(ctx, x):
    """(t + t/(t+1)) / 2 with t = expm1(|x|) below 1 (no cancellation), (e - 1/e) / 2 above."""
    a = ctx.op.Abs(x)
    t = expm1(ctx, a, "float64")
    near = ctx.op.Mul(_f64(ctx, 0.5), ctx.op.Add(t, ctx.op.Div(t, ctx.op.Add(t, _f64(ctx, 1.0)))))
    e = ctx.op.Exp(a)
    middle = ctx.op.Mul(_f64(ctx, 0.5), ctx.op.Sub(e, ctx.op.Div(_f64(ctx, 1.0), e)))
    result = ctx.op.Where(ctx.op.Greater(a, _f64(ctx, 709.0)), _half_exp_squared(ctx, a), middle)
    return _with_sign_of(ctx, x, ctx.op.Where(ctx.op.Less(a, _f64(ctx, 1.0)), near, result))


# ---- inverse trigonometric functions and tan in float64 (Cephes' atan.c and tan.c: their reductions
# and rational approximations; the accuracy measured is in docs/special_functions.md) ----

_ATAN_P = (-8.750608600031904122785e-1, -1.615753718733365076637e1, -7.500855792314704667340e1,
           -1.228866684490136173410e2, -6.485021904942025371773e1)
_ATAN_Q = (1.0, 2.485846490142306297962e1, 1.650270098316988542046e2, 4.328810604912902668951e2,
           4.853903996359136964868e2, 1.945506571482613964425e2)
_TAN_3PI_8 = 2.41421356237309504880
_PI_LOW = 1.2246467991473532e-16  # pi - float64(pi)


def _atan_magnitude(ctx, a):
    """atan(a) for a >= 0 (NaN stays NaN, inf gives pi/2): a reduced to [0, 0.66] by atan(a) = pi/2 -
    atan(1/a) above tan(3 pi/8) and pi/4 + atan((a - 1)/(a + 1)) above 0.66, then x + x z P(z)/Q(z)
    with z = x^2; the low bits of pi/2 and pi/4 are added to the small term before the large one."""
    far, middle = ctx.op.Greater(a, _f64(ctx, _TAN_3PI_8)), ctx.op.Greater(a, _f64(ctx, 0.66))
    one = _f64(ctx, 1.0)
    x = ctx.op.Where(far, ctx.op.Div(_f64(ctx, -1.0), a),
                     ctx.op.Where(middle, ctx.op.Div(ctx.op.Sub(a, one), ctx.op.Add(a, one)), a))
    z = ctx.op.Mul(x, x)
    numerator, denominator = polevl_many(ctx, [(_ATAN_P, z, False), (_ATAN_Q, z, False)])
    ratio = ctx.op.Div(ctx.op.Mul(z, numerator), denominator)
    small = ctx.op.Add(ctx.op.Mul(x, ratio), x)
    offset_low = ctx.op.Where(far, _f64(ctx, _PI_LOW / 2), ctx.op.Where(middle, _f64(ctx, _PI_LOW / 4), _f64(ctx, 0.0)))
    offset = ctx.op.Where(far, _f64(ctx, math.pi / 2), ctx.op.Where(middle, _f64(ctx, math.pi / 4), _f64(ctx, 0.0)))
    return ctx.op.Add(offset, ctx.op.Add(small, offset_low))


def _atan64(ctx, x):
    return _with_sign_of(ctx, x, _atan_magnitude(ctx, ctx.op.Abs(x)))


def _asin64(ctx, x):
    """asin(x) = atan(x / sqrt((1 - x)(1 + x))): 1 - |x| is exact where it matters (|x| >= 0.5); +-1
    give +-pi/2 through inf, |x| > 1 NaN through the square root."""
    a = ctx.op.Abs(x)
    one = _f64(ctx, 1.0)
    root = ctx.op.Sqrt(ctx.op.Mul(ctx.op.Sub(one, a), ctx.op.Add(one, a)))
    return _with_sign_of(ctx, x, _atan_magnitude(ctx, ctx.op.Div(a, root)))


def _acos64(ctx, x):
    """acos(x) = 2 atan(sqrt((1 - x) / (1 + x))): 0 at 1, pi at -1 (through inf), NaN beyond."""
    one = _f64(ctx, 1.0)
    half_angle = _atan_magnitude(ctx, ctx.op.Sqrt(ctx.op.Div(ctx.op.Sub(one, x), ctx.op.Add(one, x))))
    return ctx.op.Add(half_angle, half_angle)


_TAN_P = (-1.30936939181383777646e4, 1.15351664838587416140e6, -1.79565251976484877988e7)
_TAN_Q = (1.0, 1.36812963470692954678e4, -1.32089234440210967447e6, 2.50083801823357915839e7,
          -5.38695755929454629881e7)
# pi/2 in parts: four of 27 significant bits (n * part is exact for n < 2**26) and the rest to 53 bits
_PI_2_PARTS = (1.570796325802803, 9.920935739593517e-10, 5.721188709663575e-18, 1.6446256892965207e-26,
               4.3359050650618903e-35)
TAN_REDUCTION_LIMIT = 2.0**26 * math.pi / 2
"""Beyond this |x| the reduction by pi/2 would need more bits of pi than the parts hold (Payne-Hanek's
reduction is not composed): the export gives NaN there, and the registry declares it."""


def _tan64(ctx, x):
    """tan(x): n = |x| / (pi/2) rounded, r = |x| - n pi/2 in [-pi/4, pi/4] (pi/2 in five parts, so r
    keeps its bits however close x is to a multiple of pi/2), tan(r) = r + r z P(z)/Q(z) with z = r^2
    (Cephes' tan.c approximation, also for tiny r: its cut-off to r below z = 1e-14 costs 25 ULP
    near 1e-7), -1/tan(r) for odd n; x's sign last. NaN
    for inf, NaN and |x| beyond `TAN_REDUCTION_LIMIT`."""
    a = ctx.op.Abs(x)
    n = ctx.op.Round(ctx.op.Mul(a, _f64(ctx, 2.0 / math.pi)))
    r = a
    for part in _PI_2_PARTS:
        r = ctx.op.Sub(r, ctx.op.Mul(n, _f64(ctx, part)))
    z = ctx.op.Mul(r, r)
    numerator, denominator = polevl_many(ctx, [(_TAN_P, z, False), (_TAN_Q, z, False)])
    ratio = ctx.op.Div(ctx.op.Mul(z, numerator), denominator)
    t = ctx.op.Add(r, ctx.op.Mul(r, ratio))
    odd = ctx.op.Equal(ctx.op.Mod(n, _f64(ctx, 2.0), fmod=1), _f64(ctx, 1.0))
    t = ctx.op.Where(odd, ctx.op.Div(_f64(ctx, -1.0), t), t)
    t = ctx.op.Where(ctx.op.Greater(a, _f64(ctx, TAN_REDUCTION_LIMIT)), _f64(ctx, math.nan), t)
    return _with_sign_of(ctx, x, t)


# onnxruntime has no float64 kernel for these; the registry's float64 bounds are the compositions'
# measured accuracy
FLOAT64_COMPOSITIONS = {ps.ArcTanh: _atanh64, ps.ArcSinh: asinh64, ps.ArcCosh: _acosh64, ps.Cosh: _cosh64,
                        ps.Sinh: _sinh64, ps.ArcTan: _atan64, ps.ArcSin: _asin64, ps.ArcCos: _acos64,
                        ps.Tan: _tan64}
for _op_class, _onnx_op in ONE_TO_ONE_SCALAR_OPS.items():
    onnx_funcify.register(_op_class)(_one_to_one_or_float64_composition(_onnx_op, FLOAT64_COMPOSITIONS.get(_op_class)))


@onnx_funcify.register(ps.Neg)
def onnx_funcify_Neg(op, node, ctx, inputs):
    out_dtype = dtype_of(node.outputs[0])
    (x,) = inputs_as(node, ctx, inputs, out_dtype)
    if out_dtype in UNSIGNED_DTYPES:
        # ONNX Neg rejects unsigned types; PyTensor wraps (-uint8(1) == 255), as 0 - x does.
        return [ctx.op.Sub(ctx.constant(0, out_dtype), x)]
    return [ctx.op.Neg(x)]


@onnx_funcify.register(ps.Pow)
def onnx_funcify_Pow(op, node, ctx, inputs):
    out_dtype = dtype_of(node.outputs[0])
    base, exponent = inputs_as(node, ctx, inputs, out_dtype)
    if out_dtype in FLOAT_DTYPES:
        return [ctx.op.Pow(base, exponent)]
    return [_int_pow_by_squaring(ctx, base, exponent, out_dtype)]


def _int_pow_by_squaring(ctx, base, exponent, dtype):
    """Exact integer power, wrapping modulo 2**bits like numpy.

    onnxruntime's integer Pow goes through double: it loses the low bits above 2**53 and saturates
    on overflow. Square-and-multiply over the exponent's bits with integer Mul (which wraps) is exact.
    Negative exponents have no answer in PyTensor (numpy raises), so they are not handled.
    """
    one, two = ctx.constant(1, dtype), ctx.constant(2, dtype)
    result = ctx.op.Expand(one, ctx.op.Shape(base))
    power = base
    for bit_index in range(np.dtype(dtype).itemsize * 8):
        bit = ctx.op.Mod(exponent, two)
        # result *= power if bit else 1, written without Where (no int16/uint16/uint64 kernel)
        factor = ctx.op.Add(ctx.op.Mul(power, bit), ctx.op.Sub(one, bit))
        result = ctx.op.Mul(result, factor)
        if bit_index < np.dtype(dtype).itemsize * 8 - 1:
            exponent = ctx.op.Div(exponent, two)
            power = ctx.op.Mul(power, power)
    return result


@onnx_funcify.register(ps.IntDiv)
def onnx_funcify_IntDiv(op, node, ctx, inputs):
    """numpy's floor_divide, including its zero-divisor results.

    ONNX Div truncates integers toward zero and raises on a zero divisor (onnxruntime); numpy floors,
    gives 0 for ``x // 0`` and wraps ``INT_MIN // -1``. Floats follow numpy's ``npy_divmod`` so that
    ``1.0 // 0.1 == 9.0`` (``Floor(Div)`` gives 10.0).
    """
    out_dtype = dtype_of(node.outputs[0])
    x, y = inputs_as(node, ctx, inputs, out_dtype)
    if out_dtype in FLOAT_DTYPES:
        return [_float_floor_divide(ctx, x, y, out_dtype)]
    compute = out_dtype
    if out_dtype == "bool":
        compute = "uint8"
        x, y = ctx.cast(x, "bool", compute), ctx.cast(y, "bool", compute)
    return [ctx.cast(_int_floor_divide(ctx, x, y, compute), compute, out_dtype)]


def _int_floor_divide(ctx, x, y, dtype):
    zero, one = ctx.constant(0, dtype), ctx.constant(1, dtype)
    y_is_zero = ctx.op.Equal(y, zero)
    # A zero divisor becomes 1 and the quotient is zeroed afterwards (numpy's x // 0 == 0).
    safe_y = ctx.op.Add(y, ctx.cast(y_is_zero, "bool", dtype))
    if dtype in SIGNED_DTYPES:
        # x // -1 is -x: dividing would trap on INT_MIN // -1 (SIGFPE on x86), so -1 becomes 1 and
        # the quotient is negated (0 - q, which wraps INT_MIN like numpy) afterwards.
        flip = ctx.cast(ctx.op.Equal(safe_y, ctx.constant(-1, dtype)), "bool", dtype)
        safe_y = ctx.op.Add(safe_y, ctx.op.Add(flip, flip))
        quotient = ctx.op.Div(x, safe_y)
        # Truncation -> floor: subtract 1 where the remainder is non-zero and signs differ.
        remainder = ctx.op.Sub(x, ctx.op.Mul(quotient, safe_y))
        rem_nonzero = ctx.op.Not(ctx.op.Equal(remainder, zero))
        signs_differ = ctx.op.Xor(ctx.op.Less(remainder, zero), ctx.op.Less(safe_y, zero))
        adjust = ctx.cast(ctx.op.And(rem_nonzero, signs_differ), "bool", dtype)
        quotient = ctx.op.Sub(quotient, adjust)
        negated = ctx.op.Sub(zero, quotient)
        quotient = ctx.op.Add(ctx.op.Mul(negated, flip),
                                        ctx.op.Mul(quotient, ctx.op.Sub(one, flip)))
    else:
        quotient = ctx.op.Div(x, safe_y)
    keep = ctx.cast(ctx.op.Not(y_is_zero), "bool", dtype)
    return ctx.op.Mul(quotient, keep)


def _float_floor_divide(ctx, a, b, dtype):
    """numpy's npy_divmod floor-division branch, written with ONNX ops."""
    compute = compute_dtype("Where", dtype, allow_widening=True)
    a, b = ctx.cast(a, dtype, compute), ctx.cast(b, dtype, compute)
    zero, one, half = (ctx.constant(v, compute) for v in (0.0, 1.0, 0.5))
    mod = ctx.op.Mod(a, b, fmod=1)
    div = ctx.op.Div(ctx.op.Sub(a, mod), b)
    mod_nonzero = ctx.op.Not(ctx.op.Equal(mod, zero))
    signs_differ = ctx.op.Xor(ctx.op.Less(b, zero), ctx.op.Less(mod, zero))
    div = ctx.op.Where(
        ctx.op.And(mod_nonzero, signs_differ), ctx.op.Sub(div, one), div)
    floordiv = ctx.op.Floor(div)
    floordiv = ctx.op.Where(
        ctx.op.Greater(ctx.op.Sub(div, floordiv), half),
         ctx.op.Add(floordiv, one), floordiv)
    plain_quotient = ctx.op.Div(a, b)
    # div == 0 -> a zero carrying the sign of a / b. onnxruntime's Where turns a -0.0 taken from
    # its true branch into +0.0, and its optimizer swaps branches (Where(Not(c), x, y)), so the
    # sign is applied by multiplying +0.0 by -1 instead of selecting a -0.0.
    div_is_zero = ctx.op.Equal(div, zero)
    quotient_negative = ctx.op.Less(ctx.op.Div(one, plain_quotient), zero)
    sign = ctx.op.Where(
        ctx.op.And(div_is_zero, quotient_negative), ctx.constant(-1.0, compute), one)
    result = ctx.op.Mul(ctx.op.Where(div_is_zero, zero, floordiv), sign)
    # b == 0 -> a / b (inf or nan), as numpy does
    result = ctx.op.Where(ctx.op.Equal(b, zero), plain_quotient, result)
    return ctx.cast(result, compute, dtype)


@onnx_funcify.register(ps.RoundHalfAwayFromZero)
def onnx_funcify_RoundHalfAwayFromZero(op, node, ctx, inputs):
    """PyTensor's definition: ``floor(x + 0.5)`` for x > 0, else ``ceil(x - 0.5)`` (not ONNX Round),
    evaluated on Python floats (``np.vectorize``), i.e. in float64 whatever the float dtype: for
    float32 x = 2**23 + 1, x + 0.5 is exact there and would round to even in float32."""
    out_dtype = dtype_of(node.outputs[0])
    (x,) = inputs_as(node, ctx, inputs, out_dtype)
    compute = "float64" if out_dtype in FLOAT_DTYPES else compute_dtype("Where", out_dtype, allow_widening=True)
    x = ctx.cast(x, out_dtype, compute)
    half = ctx.constant(0.5, compute)
    up = ctx.op.Floor(ctx.op.Add(x, half))
    down = ctx.op.Ceil(ctx.op.Sub(x, half))
    # `down` may be -0.0, so it sits in Where's false branch (see _float_floor_divide).
    positive = ctx.op.Greater(x, ctx.constant(0.0, compute))
    return [ctx.cast(ctx.op.Where(positive, up, down), compute, out_dtype)]


@onnx_funcify.register(ps.Cast)
def onnx_funcify_Cast(op, node, ctx, inputs):
    return [ctx.cast(inputs[0], dtype_of(node.inputs[0]), dtype_of(node.outputs[0]))]


@onnx_funcify.register(ps.Identity)
def onnx_funcify_Identity(op, node, ctx, inputs):
    return [ctx.cast(inputs[0], dtype_of(node.inputs[0]), dtype_of(node.outputs[0]))]


@onnx_funcify.register(ps.Second)
def onnx_funcify_Second(op, node, ctx, inputs):
    """``second(x, y)``: y broadcast against x (``fill``), in the output dtype."""
    x, y = inputs
    out_dtype = dtype_of(node.outputs[0])
    y = ctx.cast(y, dtype_of(node.inputs[1]), out_dtype)
    return [ctx.op.Expand(y, ctx.op.Shape(x))]


def _float_compute(node, ctx, inputs, op_for_kernel="Where"):
    """Inputs cast to the (float) output dtype, then to a dtype onnxruntime runs ``op_for_kernel`` in."""
    out = output_dtype(node)
    compute = compute_dtype(op_for_kernel, out, allow_widening=True)
    return [ctx.cast(a, out, compute) for a in inputs_as(node, ctx, inputs, out)], compute, out


@onnx_funcify.register(ps.Sqr)
def onnx_funcify_Sqr(op, node, ctx, inputs):
    out = output_dtype(node)
    (x,) = inputs_as(node, ctx, inputs, out)
    return [apply_in(ctx, "Mul", [x, x], compute_dtype("Mul", out), out)]


@onnx_funcify.register(ps.Reciprocal)
def onnx_funcify_Reciprocal(op, node, ctx, inputs):
    out = output_dtype(node)
    (x,) = inputs_as(node, ctx, inputs, out)
    return [apply_in(ctx, "Div", [ctx.constant(1, out), x], compute_dtype("Div", out), out)]


@onnx_funcify.register(ps.Log2)
@onnx_funcify.register(ps.Log10)
def onnx_funcify_Log_base(op, node, ctx, inputs):
    (x,), compute, out = _float_compute(node, ctx, inputs, "Log")
    base = 2.0 if isinstance(op, ps.Log2) else 10.0
    result = ctx.op.Div(ctx.op.Log(x), ctx.constant(math.log(base), compute))
    return [ctx.cast(result, compute, out)]


@onnx_funcify.register(ps.Exp2)
def onnx_funcify_Exp2(op, node, ctx, inputs):
    (x,), compute, out = _float_compute(node, ctx, inputs, "Pow")
    return [ctx.cast(ctx.op.Pow(ctx.constant(2.0, compute), x), compute, out)]


def _not_equal(ctx, a, b):
    return ctx.op.Not(ctx.op.Equal(a, b))


def _x_where_exact(ctx, inexact, x, other, compute):
    """``other`` where ``inexact``, else x, keeping a -0.0 in x.

    onnxruntime's Where turns a -0.0 taken from its *true* branch into +0.0, and its optimizer swaps
    the branches of a Where whose condition is a Not node. So x only ever sits in a false branch
    (``inexact`` is built from And/Or, never a top-level Not) and the two parts are added: x + (-0.0)
    is x, 0 + other is other (other is never zero where inexact).
    """
    x_part = ctx.op.Where(inexact, ctx.constant(0.0, compute), x)
    other_part = ctx.op.Where(inexact, other, ctx.constant(-0.0, compute))
    return ctx.op.Add(x_part, other_part)


def log1p(ctx, x, compute):
    """log(1 + x) without losing tiny x: log(u) * (x / (u - 1)) with u = 1 + x (Goldberg's trick)."""
    one = ctx.constant(1.0, compute)
    u = ctx.op.Add(x, one)
    ratio = ctx.op.Mul(ctx.op.Log(u), ctx.op.Div(x, ctx.op.Sub(u, one)))
    # u == 1 (|x| tiny, maybe -0.0) and u == +inf give x itself.
    inexact = ctx.op.And(_not_equal(ctx, u, one), _not_equal(ctx, u, ctx.constant(math.inf, compute)))
    return _x_where_exact(ctx, inexact, x, ratio, compute)


@onnx_funcify.register(ps.Log1p)
def onnx_funcify_Log1p(op, node, ctx, inputs):
    (x,), compute, out = _float_compute(node, ctx, inputs, "Log")
    return [ctx.cast(log1p(ctx, x, compute), compute, out)]


@onnx_funcify.register(ps.Expm1)
def onnx_funcify_Expm1(op, node, ctx, inputs):
    (x,), compute, out = _float_compute(node, ctx, inputs, "Exp")
    return [ctx.cast(expm1(ctx, x, compute), compute, out)]


def expm1(ctx, x, compute):
    """exp(x) - 1 without losing tiny x: (u - 1) * (x / log(u)) with u = exp(x) (Kahan's trick)."""
    one = ctx.constant(1.0, compute)
    u = ctx.op.Exp(x)
    um1 = ctx.op.Sub(u, one)
    ratio = ctx.op.Mul(um1, ctx.op.Div(x, ctx.op.Log(u)))
    # once exp(x) >= 2**(mantissa bits + 2), exp(x) - 1 rounds to exp(x) itself (inf included)
    big = 2.0 ** (np.finfo(compute).nmant + 2)
    ratio = ctx.op.Where(ctx.op.GreaterOrEqual(u, ctx.constant(big, compute)), u, ratio)
    ratio = ctx.op.Where(ctx.op.Equal(um1, ctx.constant(-1.0, compute)), um1, ratio)
    inexact = ctx.op.Or(ctx.op.Less(u, one), ctx.op.Greater(u, one))
    return _x_where_exact(ctx, inexact, x, ratio, compute)


@onnx_funcify.register(psm.Sigmoid)
def onnx_funcify_Sigmoid(op, node, ctx, inputs):
    """Accurate in both tails (onnxruntime's Sigmoid underflows early): e/(1+e) with e = exp(-|x|)."""
    (x,), compute, out = _float_compute(node, ctx, inputs, "Exp")
    one = ctx.constant(1.0, compute)
    e = ctx.op.Exp(ctx.op.Neg(ctx.op.Abs(x)))
    small = ctx.op.Div(e, ctx.op.Add(one, e))  # sigmoid(-|x|)
    large = ctx.op.Div(one, ctx.op.Add(one, e))  # sigmoid(|x|)
    positive = ctx.op.Greater(x, ctx.constant(0.0, compute))
    return [ctx.cast(ctx.op.Where(positive, large, small), compute, out)]


@onnx_funcify.register(psm.Softplus)
def onnx_funcify_Softplus(op, node, ctx, inputs):
    """PyTensor's piecewise definition: exp(x) | log1p(exp(x)) | x + exp(-x) | x at -37, 18, 33.3."""
    (x,), compute, out = _float_compute(node, ctx, inputs, "Exp")
    exp_x = ctx.op.Exp(x)
    middle = log1p(ctx, exp_x, compute)
    upper = ctx.op.Add(x, ctx.op.Exp(ctx.op.Neg(x)))

    def below(threshold):
        return ctx.op.Less(x, ctx.constant(threshold, compute))

    result = ctx.op.Where(below(33.3), upper, x)
    result = ctx.op.Where(below(18.0), middle, result)
    result = ctx.op.Where(below(-37.0), exp_x, result)
    return [ctx.cast(result, compute, out)]


@onnx_funcify.register(psm.Log1mexp)
def onnx_funcify_Log1mexp(op, node, ctx, inputs):
    """PyTensor's definition: log1p(-exp(x)) below log(1/2), log(-expm1(x)) from there on."""
    (x,), compute, out = _float_compute(node, ctx, inputs, "Exp")
    far = log1p(ctx, ctx.op.Neg(ctx.op.Exp(x)), compute)
    near = ctx.op.Log(ctx.op.Neg(expm1(ctx, x, compute)))
    # log1p(-0.0) = -0.0 far out: a Where that keeps the zero's sign
    result = select_keeping_zero_sign(ctx, ctx.op.Less(x, ctx.constant(math.log(0.5), compute)), far, near, compute)
    return [ctx.cast(result, compute, out)]


def _angle_conversion(numerator: float, denominator: float):
    """numpy's deg2rad/rad2deg: x times the ratio rounded in the computing dtype (float16 computes
    in float32, as numpy's half loops do)."""
    def convert(op, node, ctx, inputs):
        out = output_dtype(node)
        compute = "float32" if out == "float16" else out
        (x,) = inputs_as(node, ctx, inputs, out)
        ratio = np.asarray(numerator, compute) / np.asarray(denominator, compute)
        return [ctx.cast(ctx.op.Mul(ctx.cast(x, out, compute), ctx.constant(ratio, compute)), compute, out)]
    return convert


# PyTensor < 3.2 (later releases build deg2rad / rad2deg as a multiplication)
register_if_present(Deg2Rad)(_angle_conversion(math.pi, 180.0))
register_if_present(Rad2Deg)(_angle_conversion(180.0, math.pi))


@onnx_funcify.register(ps.ArcTan2)
def onnx_funcify_ArcTan2(op, node, ctx, inputs):
    """atan2(y, x) from float32 Atan: the angle of (|x|, |y|) in [0, pi/2], reflected to pi - angle
    when x is negative (or -0.0), then given y's sign. Every intermediate is a non-negative magnitude,
    so zero signs come only from the final multiplication (atan2(-0.0, +0.0) = -0.0, atan2(+0.0,
    -0.0) = pi); 0/0 and inf/inf, which the ratio cannot express, are set to 0 and pi/4. The
    reflection and the sign are applied in float64, so only the ratio and Atan round in float32."""
    out = output_dtype(node)
    if out not in FLOAT_DTYPES:
        raise ONNXExportUnsupported(f"arctan2 with {out} output: only float outputs are converted")
    work = "float64" if out == "float64" else "float32"
    y, x = (ctx.cast(a, dtype_of(v), work) for a, v in zip(inputs, node.inputs))
    abs_y, abs_x = ctx.op.Abs(y), ctx.op.Abs(x)
    ratio = ctx.op.Div(abs_y, abs_x)
    zero, inf = ctx.constant(0.0, work), ctx.constant(math.inf, work)
    both_zero = ctx.op.And(ctx.op.Equal(abs_y, zero), ctx.op.Equal(abs_x, zero))
    both_inf = ctx.op.And(ctx.op.Equal(abs_y, inf), ctx.op.Equal(abs_x, inf))
    # float64: the composed atan (onnxruntime has no float64 Atan); pi - angle adds pi's low bits
    angle = _atan_magnitude(ctx, ratio) if work == "float64" else ctx.op.Atan(ratio)
    angle = ctx.op.Where(both_inf, ctx.constant(math.pi / 4, work), angle)
    angle = ctx.cast(ctx.op.Where(both_zero, zero, angle), work, "float64")
    reflected = ctx.op.Add(ctx.op.Sub(ctx.constant(math.pi, "float64"), angle), ctx.constant(_PI_LOW, "float64"))
    magnitude = ctx.op.Where(sign_bit(ctx, x, work), reflected, angle)
    return [ctx.cast(_with_sign(ctx, sign_bit(ctx, y, work), magnitude), "float64", out)]


@onnx_funcify.register(ps.Sign)
def onnx_funcify_Sign(op, node, ctx, inputs):
    out = output_dtype(node)
    (x,) = inputs_as(node, ctx, inputs, out)
    if out == "bool":
        return [x]
    result = apply_in(ctx, "Sign", [x], compute_dtype("Sign", out), out)
    if out in FLOAT_DTYPES:
        # numpy: sign(nan) is nan (onnxruntime's Sign gives 0); sign(-0.0) is +0.0 in both.
        result = ctx.op.Where(ctx.op.IsNaN(x), x, result)
    return [result]


@onnx_funcify.register(ps.Mod)
def onnx_funcify_Mod(op, node, ctx, inputs):
    """numpy's remainder: the sign of the divisor; x % 0 is 0 for ints and nan for floats."""
    out = output_dtype(node)
    x, y = inputs_as(node, ctx, inputs, out)
    if out not in FLOAT_DTYPES:
        compute = "uint8" if out == "bool" else out
        x, y = ctx.cast(x, out, compute), ctx.cast(y, out, compute)
        zero = ctx.constant(0, compute)
        y_is_zero = ctx.op.Equal(y, zero)
        safe_y = ctx.op.Add(y, ctx.cast(y_is_zero, "bool", compute))
        if compute in SIGNED_DTYPES:
            # x % -1 is 0 as x % 1 is, but computing INT_MIN % -1 traps (SIGFPE: onnxruntime 1.31 dies).
            minus_one = ctx.cast(ctx.op.Equal(safe_y, ctx.constant(-1, compute)), "bool", compute)
            safe_y = ctx.op.Add(safe_y, ctx.op.Add(minus_one, minus_one))
        mod = ctx.op.Mod(x, safe_y)  # fmod=0: integer remainder with the divisor's sign
        keep = ctx.cast(ctx.op.Not(y_is_zero), "bool", compute)
        return [ctx.cast(ctx.op.Mul(mod, keep), compute, out)]
    compute = compute_dtype("Where", out, allow_widening=True)
    x, y = ctx.cast(x, out, compute), ctx.cast(y, out, compute)
    zero = ctx.constant(0.0, compute)
    mod = ctx.op.Mod(x, y, fmod=1)
    signs_differ = ctx.op.Xor(ctx.op.Less(y, zero), ctx.op.Less(mod, zero))
    fix = ctx.op.And(ctx.op.Not(ctx.op.Equal(mod, zero)), signs_differ)
    adjusted = ctx.op.Where(fix, ctx.op.Add(mod, y), mod)
    # A zero remainder takes the divisor's sign (numpy's copysign(0, y)) as |0| * sign(y); it sits in
    # Where's false branch, the only one in which onnxruntime keeps a -0.0.
    zero_part = ctx.op.Mul(ctx.op.Abs(mod), ctx.op.Sign(y))
    nonzero = ctx.op.Or(ctx.op.Less(mod, zero), ctx.op.Greater(mod, zero))
    result = ctx.op.Where(nonzero, adjusted, zero_part)
    return [ctx.cast(result, compute, out)]
