"""erf, erfc, erfcx and the inverses erfinv, erfcinv composed in float64: cephes' rational
approximations (ndtr.c) in its order of evaluation, and Newton's method for the inverses.
Numerical notes: ``docs/special_functions.md``, "The error function family".

To extend: a function of this family composed from `backend.numerics` and these approximations.
"""

from __future__ import annotations

import math

import pytensor.scalar.math as psm

from backend.basic import onnx_funcify
from backend.helpers import one_to_one_converter, output_dtype, select_keeping_zero_sign
from backend.numerics import MAX_LOG, f64, float64_function, polevl_many
from backend.special_functions.gamma import gamma64

onnx_funcify.register(psm.Gamma)(float64_function(gamma64))

# cephes' erf/erfc coefficients (ndtr.c), highest power first; Q, S and U are monic (leading 1 omitted)
_ERF_T = (9.60497373987051638749e0, 9.00260197203842689217e1, 2.23200534594684319226e3, 7.00332514112805075473e3,
          5.55923013010394962768e4)
_ERF_U = (3.35617141647503099647e1, 5.21357949780152679795e2, 4.59432382970980127987e3, 2.26290000613890934246e4,
          4.92673942608635921086e4)
_ERFC_P = (2.46196981473530512524e-10, 5.64189564831068821977e-1, 7.46321056442269912687e0, 4.86371970985681366614e1,
           1.96520832956077098242e2, 5.26445194995477358631e2, 9.34528527171957607540e2, 1.02755188689515710272e3,
           5.57535335369399327526e2)
_ERFC_Q = (1.32281951154744992508e1, 8.67072140885989742329e1, 3.54937778887819891062e2, 9.75708501743205489753e2,
           1.82390916687909736289e3, 2.24633760818710981792e3, 1.65666309194161350182e3, 5.57535340817727675546e2)
_ERFC_R = (5.64189583547755073984e-1, 1.27536670759978104416e0, 5.01905042251180477414e0, 6.16021097993053585195e0,
           7.40974269950448939160e0, 2.97886665372100240670e0)
_ERFC_S = (2.26052863220117276590e0, 9.39603524938001434673e0, 1.20489539808096656605e1, 1.70814450747565897222e1,
           9.60896809063285878198e0, 3.36907645100081516050e0)
_INVERSE_SQRT_PI = 1.0 / math.sqrt(math.pi)
_ERFCX_CONTINUED_FRACTION_FROM = 50.0
_ERFCX_FIRST_TERM_FROM = 5e7  # 1 / (x sqrt(pi)) is exact to double precision from here on
_ERFCX_OVERFLOW_BELOW = -26.7  # 2 exp(x^2) overflows


def _central_polynomials(ctx, x):
    """T and U of erf(x) = x T(x^2) / U(x^2) for |x| <= 1, for `polevl_many`."""
    z = ctx.op.Mul(x, x)
    return [(_ERF_T, z, False), (_ERF_U, z, True)]


def _ratio_polynomials(ctx, a):
    """P, Q (below 8) and R, S (above) of exp(a^2) erfc(a) for a >= 1, for `polevl_many`; the arguments
    are clipped where the other branch is taken, so that no branch overflows into NaN."""
    near, far = ctx.op.Min(a, f64(ctx, 8.0)), ctx.op.Min(a, f64(ctx, 1e30))
    return [(_ERFC_P, near, False), (_ERFC_Q, near, True), (_ERFC_R, far, False), (_ERFC_S, far, True)]


def _erfc_ratio(ctx, a, p, q, r, s):
    """(numerator, denominator) of exp(a^2) erfc(a) for a >= 1, from the polynomials' values."""
    below_eight = ctx.op.Less(a, f64(ctx, 8.0))
    return ctx.op.Where(below_eight, p, r), ctx.op.Where(below_eight, q, s)


def _erf_central(ctx, x):
    """erf(x) for |x| <= 1: x T(x^2) / U(x^2); keeps -0.0."""
    t, u = polevl_many(ctx, _central_polynomials(ctx, x))
    return ctx.op.Div(ctx.op.Mul(x, t), u)


def _erfc_tail(ctx, x, ratio_argument, p, q, r, s):
    """erfc(x) for |x| >= 1 from the rational polynomials at ``ratio_argument`` = max(|x|, 1):
    exp(-x^2) P/Q (or R/S), 2 - that for x < 0, 0 (or 2) once exp(-x^2) underflows."""
    two = f64(ctx, 2.0)
    exponent = ctx.op.Neg(ctx.op.Mul(x, x))
    numerator, denominator = _erfc_ratio(ctx, ratio_argument, p, q, r, s)
    tail = ctx.op.Div(ctx.op.Mul(ctx.op.Exp(exponent), numerator), denominator)
    negative = ctx.op.Less(x, f64(ctx, 0.0))
    tail = ctx.op.Where(negative, ctx.op.Sub(two, tail), tail)
    underflow = ctx.op.Or(ctx.op.Less(exponent, f64(ctx, -MAX_LOG)), ctx.op.Equal(tail, f64(ctx, 0.0)))
    return ctx.op.Where(underflow, ctx.op.Where(negative, two, f64(ctx, 0.0)), tail)


def _erfc64(ctx, x):
    """cephes' erfc: 1 - erf(x) for |x| < 1, `_erfc_tail` beyond. The six polynomials take one pass."""
    one = f64(ctx, 1.0)
    a = ctx.op.Abs(x)
    ratio_argument, central_argument = ctx.op.Max(a, one), ctx.op.Min(ctx.op.Max(x, f64(ctx, -1.0)), one)
    t, u, *pqrs = polevl_many(ctx, _central_polynomials(ctx, central_argument)
                              + _ratio_polynomials(ctx, ratio_argument))
    central = ctx.op.Sub(one, ctx.op.Div(ctx.op.Mul(central_argument, t), u))
    return ctx.op.Where(ctx.op.Less(a, one), central, _erfc_tail(ctx, x, ratio_argument, *pqrs))


def _erf64(ctx, x):
    """cephes' erf: x T(x^2) / U(x^2) for |x| <= 1, sign(x) (1 - erfc(|x|)) beyond; one pass for the
    six polynomials."""
    one = f64(ctx, 1.0)
    a = ctx.op.Abs(x)
    outside = ctx.op.Max(a, one)
    central_argument = ctx.op.Min(ctx.op.Max(x, ctx.op.Neg(one)), one)
    t, u, *pqrs = polevl_many(ctx, _central_polynomials(ctx, central_argument) + _ratio_polynomials(ctx, outside))
    outer = ctx.op.Sub(one, _erfc_tail(ctx, outside, outside, *pqrs))
    outer = ctx.op.Where(ctx.op.Less(x, f64(ctx, 0.0)), ctx.op.Neg(outer), outer)
    central = ctx.op.Div(ctx.op.Mul(central_argument, t), u)
    # erf(-0.0) = -0.0: the central branch must keep the zero's sign through the Where
    return select_keeping_zero_sign(ctx, ctx.op.LessOrEqual(a, one), central, outer, "float64")


def _erfcx_nonnegative(ctx, a):
    """erfcx(a) for a >= 0 (NaN stays NaN)."""
    one = f64(ctx, 1.0)
    # below 1, exp(a^2) erfc(a) with erfc's central branch, 1 - a T(a^2)/U(a^2) (the only one erfc
    # takes there); its polynomials share the pass with the rational ones above 1
    central_argument, ratio_argument = ctx.op.Min(a, one), ctx.op.Max(a, one)
    t, u, *pqrs = polevl_many(ctx, _central_polynomials(ctx, central_argument) + _ratio_polynomials(ctx, ratio_argument))
    erfc_central = ctx.op.Sub(one, ctx.op.Div(ctx.op.Mul(central_argument, t), u))
    central = ctx.op.Mul(ctx.op.Exp(ctx.op.Mul(a, a)), erfc_central)
    numerator, denominator = _erfc_ratio(ctx, ratio_argument, *pqrs)
    rational = ctx.op.Div(numerator, denominator)
    b = ctx.op.Min(a, f64(ctx, _ERFCX_FIRST_TERM_FROM))
    b2 = ctx.op.Mul(b, b)
    fraction = ctx.op.Div(
        ctx.op.Mul(f64(ctx, _INVERSE_SQRT_PI), ctx.op.Add(ctx.op.Mul(b2, ctx.op.Add(b2, f64(ctx, 4.5))), f64(ctx, 2.0))),
        ctx.op.Mul(b, ctx.op.Add(ctx.op.Mul(b2, ctx.op.Add(b2, f64(ctx, 5.0))), f64(ctx, 3.75))))
    first_term = ctx.op.Div(f64(ctx, _INVERSE_SQRT_PI), a)
    result = ctx.op.Where(ctx.op.Greater(a, f64(ctx, _ERFCX_FIRST_TERM_FROM)), first_term, fraction)
    result = ctx.op.Where(ctx.op.Less(a, f64(ctx, _ERFCX_CONTINUED_FRACTION_FROM)), rational, result)
    return ctx.op.Where(ctx.op.Less(a, one), central, result)


def _erfcx64(ctx, x):
    zero = f64(ctx, 0.0)
    negative = ctx.op.Less(x, zero)
    positive = _erfcx_nonnegative(ctx, ctx.op.Abs(x))
    reflected = ctx.op.Sub(ctx.op.Mul(f64(ctx, 2.0), ctx.op.Exp(ctx.op.Mul(x, x))), positive)
    reflected = ctx.op.Where(ctx.op.Less(x, f64(ctx, _ERFCX_OVERFLOW_BELOW)), f64(ctx, math.inf), reflected)
    return ctx.op.Where(negative, reflected, positive)


_erf_float32 = one_to_one_converter("Erf")
_erf_float64 = float64_function(_erf64)


@onnx_funcify.register(psm.Erf)
def onnx_funcify_Erf(op, node, ctx, inputs):
    """onnxruntime's Erf where it has a kernel (float16 computes in float32), cephes' erf for float64."""
    convert = _erf_float64 if output_dtype(node) == "float64" else _erf_float32
    return convert(op, node, ctx, inputs)


onnx_funcify.register(psm.Erfc)(float64_function(_erfc64))
onnx_funcify.register(psm.Erfcx)(float64_function(_erfcx64))

_SQRT_PI_HALF = math.sqrt(math.pi) / 2  # 1 / erf'(0)
_HALF_LOG_PI = 0.5 * math.log(math.pi)
_CENTRAL_NEWTON_STEPS = 6  # from y sqrt(pi)/2: measured to converge for |y| <= erf(1)
_ERF_ONE = 0.8427007929497149  # erf(1): erfinv's central Newton serves |y| up to here
_TAIL_NEWTON_STEPS = 6  # from the asymptotic start: measured to converge for 0 < t <= 1/2


def _erfinv_central(ctx, y):
    """erfinv(y) for |y| <= erf(1): Newton on erf(x) = y from x = y sqrt(pi)/2, which erf's concavity
    keeps below the root (in magnitude), so every step moves towards it. Keeps -0.0."""
    constant, one = f64(ctx, _SQRT_PI_HALF), f64(ctx, 1.0)
    x = ctx.op.Mul(y, constant)
    for _ in range(_CENTRAL_NEWTON_STEPS):
        residual = ctx.op.Sub(_erf_central(ctx, ctx.op.Min(ctx.op.Max(x, ctx.op.Neg(one)), one)), y)
        x = ctx.op.Sub(x, ctx.op.Mul(ctx.op.Mul(residual, constant), ctx.op.Exp(ctx.op.Mul(x, x))))
    return x


def _erfcinv_small(ctx, t):
    """erfcinv(t) for 0 < t <= 1/2: Newton on log erfc(x) = log t, i.e. log(erfcx(x)) - x^2 = log t
    (no underflow down to the smallest subnormal t), from x^2 = -log t - log(-log t)/2 - log(pi)/2
    (the asymptotic expansion's first terms, at least 0.2); log erfc is concave and decreasing, so
    from above the root every step moves towards it (and a start below is thrown above by the first)."""
    log_t = ctx.op.Log(t)
    w = ctx.op.Neg(log_t)
    start = ctx.op.Sub(ctx.op.Sub(w, ctx.op.Mul(f64(ctx, 0.5), ctx.op.Log(w))), f64(ctx, _HALF_LOG_PI))
    x = ctx.op.Sqrt(ctx.op.Max(start, f64(ctx, 0.2)))
    one = f64(ctx, 1.0)
    for _ in range(_TAIL_NEWTON_STEPS):
        # below 1, log(erfc) directly: erfcx = exp(x^2) erfc would add exp's and log's rounding
        central_argument, ratio_argument = ctx.op.Min(x, one), ctx.op.Max(x, one)
        t, u, *pqrs = polevl_many(ctx, _central_polynomials(ctx, central_argument)
                                  + _ratio_polynomials(ctx, ratio_argument))
        near = ctx.op.Sub(one, ctx.op.Div(ctx.op.Mul(central_argument, t), u))
        numerator, denominator = _erfc_ratio(ctx, ratio_argument, *pqrs)
        log_erfc = ctx.op.Where(ctx.op.Less(x, one), ctx.op.Log(near),
                                ctx.op.Sub(ctx.op.Log(ctx.op.Div(numerator, denominator)), ctx.op.Mul(x, x)))
        scaled = _erfcx_nonnegative(ctx, x)
        residual = ctx.op.Sub(log_erfc, log_t)
        x = ctx.op.Add(x, ctx.op.Mul(ctx.op.Mul(residual, f64(ctx, _SQRT_PI_HALF)), scaled))
    return x


def _erfinv64(ctx, y):
    """erfinv: the central Newton for |y| <= erf(1) (its residual is erf's own rounding, where
    erfc(x) = 1 - erf(x) would add a cancellation), erfcinv(1 - |y|) with y's sign beyond (1 - |y|
    is exact there); +-inf at +-1, NaN outside [-1, 1]."""
    half, one, erf_one = f64(ctx, 0.5), f64(ctx, 1.0), f64(ctx, _ERF_ONE)
    a = ctx.op.Abs(y)
    central = _erfinv_central(ctx, ctx.op.Min(ctx.op.Max(y, ctx.op.Neg(erf_one)), erf_one))
    tail = _erfcinv_small(ctx, ctx.op.Min(ctx.op.Max(ctx.op.Sub(one, a), f64(ctx, 1e-300)), half))
    tail = ctx.op.Where(ctx.op.Equal(a, one), f64(ctx, math.inf), tail)
    tail = ctx.op.Where(ctx.op.Less(y, f64(ctx, 0.0)), ctx.op.Neg(tail), tail)
    tail = ctx.op.Where(ctx.op.Greater(a, one), f64(ctx, math.nan), tail)
    result = ctx.op.Where(ctx.op.LessOrEqual(a, erf_one), central, tail)
    # scipy's erfinv(-0.0) is +0.0; adding +0.0 changes nothing else
    return ctx.op.Add(result, f64(ctx, 0.0))


def _erfcinv64(ctx, t):
    """erfcinv like cephes' -ndtri(t / 2) / sqrt(2): the small-argument Newton on (0, 1/2] (with t
    through t / 2, which rounds subnormal t: 5e-324 / 2 = 0 gives inf), erfinv(1 - t) on (1/2, 3/2]
    and -erfcinv(2 - t) on (3/2, 2), all three differences exact; +inf at 0, -inf at 2, NaN outside."""
    half, two = f64(ctx, 0.5), f64(ctx, 2.0)
    rounded = ctx.op.Mul(two, ctx.op.Mul(half, t))
    upper = ctx.op.Greater(t, f64(ctx, 1.5))
    small = ctx.op.Where(upper, ctx.op.Sub(two, t), rounded)
    tail = _erfcinv_small(ctx, ctx.op.Min(ctx.op.Max(small, f64(ctx, 5e-324)), half))
    tail = ctx.op.Where(ctx.op.Equal(small, f64(ctx, 0.0)), f64(ctx, math.inf), tail)
    tail = ctx.op.Where(upper, ctx.op.Neg(tail), tail)
    central = _erfinv_central(ctx, ctx.op.Min(ctx.op.Max(ctx.op.Sub(f64(ctx, 1.0), t), ctx.op.Neg(half)), half))
    within = ctx.op.And(ctx.op.Greater(t, half), ctx.op.LessOrEqual(t, f64(ctx, 1.5)))
    result = ctx.op.Where(within, central, tail)
    # cephes negates ndtri(1/2) = +0.0: erfcinv(1) = -0.0 (a product, not a Where, keeps the sign)
    result = ctx.op.Mul(result, ctx.op.Where(ctx.op.Equal(t, f64(ctx, 1.0)), f64(ctx, -1.0), f64(ctx, 1.0)))
    outside = ctx.op.Or(ctx.op.Less(t, f64(ctx, 0.0)), ctx.op.Greater(t, two))
    return ctx.op.Where(outside, f64(ctx, math.nan), result)


onnx_funcify.register(psm.Erfinv)(float64_function(_erfinv64))
onnx_funcify.register(psm.Erfcinv)(float64_function(_erfcinv64))
