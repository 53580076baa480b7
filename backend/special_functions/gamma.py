"""gammaln, psi (digamma), trigamma and gamma composed in float64 as cephes evaluates them: Stirling's
series after shifting the argument up to [10, 11), reflections below 0, cephes' overflow limits.
Numerical notes: ``docs/special_functions.md``, "The gamma family".

To extend: a function of this family composed from `backend.numerics`, registered at the end of its
section with `float64_function`.
"""

from __future__ import annotations

import math

import pytensor.scalar.math as psm
from onnx import TensorProto

from backend.basic import onnx_funcify
from backend.helpers import inputs_as, output_dtype, select_keeping_zero_sign
from backend.numerics import f64, float64_function, polynomial

SHIFT_TO = 10.0  # below this, the recurrence moves the argument up to [10, 11)
_TINY = 1.0 / 1.7976931348623157e308  # cephes' 1/x overflows below this
_MAX_LGAMMA = 2.556348e305  # cephes' MAXLGM
MAX_GAMMA = 171.624376956302725  # cephes' MAXGAM: gamma is inf from here on
_MAX_STIRLING = 143.01608  # cephes' MAXSTIR: z^(z - 1/2) overflows above


def _cephes_factorial(n: int) -> float:
    """gamma(n) for an integer 1 <= n <= 33 as cephes computes it: (n-1)(n-2)...2 in that order."""
    x, product = float(n), 1.0
    while x >= 3.0:
        x -= 1.0
        product *= x
    return product


_CEPHES_FACTORIALS = [_cephes_factorial(n) for n in range(1, 34)]
# Stirling's series for lgamma: B_2k / (2k (2k-1) z^(2k-1)), k = 1..7
_LGAMMA_SERIES = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156)
# asymptotic series for psi: B_2k / (2k z^2k), k = 1..7 (subtracted)
_PSI_SERIES = (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12)


def _shift_up(ctx, y):
    """For y > 0: z = y + n >= SHIFT_TO (n = 0 when y is already there), the candidate terms y + k
    (k = 0..SHIFT_TO) and whether each is one of the n terms."""
    terms, masks, count = [], [], f64(ctx, 0.0)
    for k in range(int(SHIFT_TO) + 1):
        term = ctx.op.Add(y, f64(ctx, float(k))) if k else y
        included = ctx.op.Less(term, f64(ctx, SHIFT_TO))
        terms.append(term)
        masks.append(included)
        count = ctx.op.Add(count, ctx.op.Cast(included, to=TensorProto.DOUBLE))
    return ctx.op.Add(y, count), terms, masks


def stirling_correction(ctx, z):
    """lgamma(z) - ((z - 1/2) log z - z + log(2 pi) / 2) for z >= 10 (Stirling's series)."""
    inverse = ctx.op.Reciprocal(z)
    return ctx.op.Mul(inverse, polynomial(ctx, _LGAMMA_SERIES, ctx.op.Mul(inverse, inverse)))


def _lgamma_positive(ctx, y):
    z, terms, masks = _shift_up(ctx, y)
    terms = [ctx.op.Where(m, t, f64(ctx, 1.0)) for t, m in zip(terms, masks)]
    series = stirling_correction(ctx, z)
    stirling = ctx.op.Add(ctx.op.Sub(ctx.op.Mul(ctx.op.Sub(z, f64(ctx, 0.5)), ctx.op.Log(z)), z),
                          ctx.op.Add(f64(ctx, 0.5 * math.log(2 * math.pi)), series))
    # log of the product, its first term apart: y may be tiny (or subnormal) and the rest is >= 1
    rest = terms[1]
    for term in terms[2:]:
        rest = ctx.op.Mul(rest, term)
    log_terms = ctx.op.Add(ctx.op.Log(terms[0]), ctx.op.Log(rest))
    return ctx.op.Sub(stirling, log_terms)


def sin_pi_distance(ctx, x):
    """|sin(pi x)| from the distance of |x| to the nearest integer (exact), in [0, 1/2]."""
    magnitude = ctx.op.Abs(x)
    fraction = ctx.op.Sub(magnitude, ctx.op.Floor(magnitude))
    distance = ctx.op.Min(fraction, ctx.op.Sub(f64(ctx, 1.0), fraction))
    return ctx.op.Sin(ctx.op.Mul(f64(ctx, math.pi), distance))


def lgamma64(ctx, x):
    negative = ctx.op.Less(x, f64(ctx, 0.0))
    y = ctx.op.Where(negative, ctx.op.Sub(f64(ctx, 1.0), x), x)
    positive = _lgamma_positive(ctx, y)
    reflected = ctx.op.Sub(ctx.op.Log(ctx.op.Div(f64(ctx, math.pi), sin_pi_distance(ctx, x))), positive)
    result = ctx.op.Where(negative, reflected, positive)
    inf = f64(ctx, math.inf)
    magnitude = ctx.op.Abs(x)
    overflow = ctx.op.Or(ctx.op.Less(magnitude, f64(ctx, _TINY)), ctx.op.Greater(x, f64(ctx, _MAX_LGAMMA)))
    pole = ctx.op.And(negative, ctx.op.Equal(x, ctx.op.Floor(x)))  # negative integers (and -inf, below)
    result = ctx.op.Where(ctx.op.Or(overflow, pole), inf, result)
    result = ctx.op.Where(ctx.op.IsInf(x), x, result)  # lgamma(+-inf) = +-inf in cephes
    # lgamma(1) = lgamma(2) = 0 exactly in cephes (log of an exact 1); the series gives ~1e-15
    unit = ctx.op.Or(ctx.op.Equal(x, f64(ctx, 1.0)), ctx.op.Equal(x, f64(ctx, 2.0)))
    result = ctx.op.Where(unit, f64(ctx, 0.0), result)
    return result


onnx_funcify.register(psm.GammaLn)(float64_function(lgamma64))


def psi64(ctx, x):
    zero = f64(ctx, 0.0)
    negative = ctx.op.Less(x, zero)
    # reflection: -pi / tan(pi r) with r = x's fractional part (signed), exact
    fraction = ctx.op.Sub(x, ctx.op.Where(negative, ctx.op.Ceil(x), ctx.op.Floor(x)))
    angle = ctx.op.Mul(f64(ctx, math.pi), fraction)
    reflection = ctx.op.Neg(ctx.op.Div(ctx.op.Mul(f64(ctx, math.pi), ctx.op.Cos(angle)), ctx.op.Sin(angle)))
    y = ctx.op.Where(negative, ctx.op.Sub(f64(ctx, 1.0), x), x)
    z, terms, masks = _shift_up(ctx, y)
    inverse = ctx.op.Reciprocal(z)
    inverse_squared = ctx.op.Mul(inverse, inverse)
    asymptotic = ctx.op.Sub(ctx.op.Sub(ctx.op.Log(z), ctx.op.Mul(f64(ctx, 0.5), inverse)),
                            ctx.op.Mul(inverse_squared, polynomial(ctx, _PSI_SERIES, inverse_squared)))
    one = f64(ctx, 1.0)
    harmonic = None
    for term, included in zip(terms, masks):
        part = ctx.op.Where(included, ctx.op.Reciprocal(term), zero)
        harmonic = part if harmonic is None else ctx.op.Add(harmonic, part)
    positive = ctx.op.Sub(asymptotic, harmonic)
    result = ctx.op.Where(negative, ctx.op.Add(positive, reflection), positive)
    nan, inf = f64(ctx, math.nan), f64(ctx, math.inf)
    is_zero = ctx.op.Equal(x, zero)
    signed_inf = ctx.op.Where(ctx.op.Less(ctx.op.Div(one, x), zero), inf, ctx.op.Neg(inf))  # -copysign(inf, x)
    result = ctx.op.Where(is_zero, signed_inf, result)
    pole = ctx.op.And(negative, ctx.op.Equal(x, ctx.op.Floor(x)))  # negative integers and -inf
    result = ctx.op.Where(pole, nan, result)
    return result


onnx_funcify.register(psm.Psi)(float64_function(psi64))

# asymptotic series for trigamma: B_2k / z^(2k+1), k = 1..8 (the first two terms 1/z + 1/(2 z^2) apart)
_TRIGAMMA_SERIES = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)


@onnx_funcify.register(psm.TriGamma)
def onnx_funcify_TriGamma(op, node, ctx, inputs):
    """trigamma: the asymptotic series for z >= 10, the recurrence psi1(y) = psi1(y + n) + sum 1/(y+k)^2
    below (positive terms: no cancellation), the reflection psi1(x) = pi^2 / sin^2(pi x) - psi1(1 - x)
    for x < 0; like scipy: inf at 0, the negative integers and -inf, 0 at +inf."""
    out = output_dtype(node)
    (x,) = inputs_as(node, ctx, inputs, out)
    x = ctx.cast(x, out, "float64")
    zero = f64(ctx, 0.0)
    negative = ctx.op.Less(x, zero)
    y = ctx.op.Where(negative, ctx.op.Sub(f64(ctx, 1.0), x), x)
    z, terms, masks = _shift_up(ctx, y)
    inverse = ctx.op.Reciprocal(z)
    inverse_squared = ctx.op.Mul(inverse, inverse)
    tail = ctx.op.Mul(ctx.op.Mul(inverse, inverse_squared), polynomial(ctx, _TRIGAMMA_SERIES, inverse_squared))
    asymptotic = ctx.op.Add(ctx.op.Add(inverse, ctx.op.Mul(f64(ctx, 0.5), inverse_squared)), tail)
    sum_of_squares = None
    for term, included in zip(terms, masks):
        part = ctx.op.Where(included, ctx.op.Reciprocal(ctx.op.Mul(term, term)), zero)
        sum_of_squares = part if sum_of_squares is None else ctx.op.Add(sum_of_squares, part)
    # the small terms first: the sum is dominated by 1/y^2
    positive = ctx.op.Add(asymptotic, sum_of_squares)
    sine = sin_pi_distance(ctx, x)
    reflected = ctx.op.Sub(ctx.op.Div(f64(ctx, math.pi**2), ctx.op.Mul(sine, sine)), positive)
    result = ctx.op.Where(negative, reflected, positive)
    inf = f64(ctx, math.inf)
    pole = ctx.op.Or(ctx.op.Equal(x, zero), ctx.op.And(negative, ctx.op.Equal(x, ctx.op.Floor(x))))
    result = ctx.op.Where(pole, inf, result)  # 0, negative integers and -inf
    return [ctx.cast(result, "float64", out)]


def _rounding_error(ctx, a, b, total):
    """The exact error of total = fl(a + b) (Knuth's TwoSum)."""
    b_part = ctx.op.Sub(total, a)
    return ctx.op.Add(ctx.op.Sub(a, ctx.op.Sub(total, b_part)), ctx.op.Sub(b, b_part))


def _gamma_positive(ctx, y):
    """gamma(y) for y > 0: Stirling's formula at z = y + n >= 10 divided by y (y+1) ... (y+n-1).
    z^(z - 1/2) e^-z is taken as p (p / e^z) with p = z^(z/2 - 1/4) above 143 (cephes' MAXSTIR), so
    that it overflows only where gamma does; the correction is exp of lgamma's series (< 1/120).
    y + k rounds away y's low bits (y < 1), and gamma(z) magnifies a relative error of z by z psi(z)
    (~23 at 10): the sums' exact errors correct both, to first order."""
    z, terms, masks = _shift_up(ctx, y)
    zero, one = f64(ctx, 0.0), f64(ctx, 1.0)
    product, relative_error = None, None
    for k, (term, included) in enumerate(zip(terms, masks)):
        factor = ctx.op.Where(included, term, one)
        product = factor if product is None else ctx.op.Mul(product, factor)
        if k:
            error = ctx.op.Where(included, ctx.op.Div(_rounding_error(ctx, y, f64(ctx, float(k)), term), term), zero)
            relative_error = error if relative_error is None else ctx.op.Add(relative_error, error)
    count = None  # n, as _shift_up adds it to y
    for included in masks:
        one_if = ctx.op.Cast(included, to=TensorProto.DOUBLE)
        count = one_if if count is None else ctx.op.Add(count, one_if)
    z_error = _rounding_error(ctx, y, count, z)
    inverse = ctx.op.Reciprocal(z)
    correction = ctx.op.Exp(stirling_correction(ctx, z))
    exp_z = ctx.op.Exp(z)
    # both exponents are exact in float64 (0.5 and 0.25 are multiples of ulp(z) in each range)
    whole = ctx.op.Div(ctx.op.Pow(z, ctx.op.Sub(z, f64(ctx, 0.5))), exp_z)
    half_power = ctx.op.Pow(z, ctx.op.Sub(ctx.op.Mul(f64(ctx, 0.5), z), f64(ctx, 0.25)))
    split = ctx.op.Mul(half_power, ctx.op.Div(half_power, exp_z))
    power = ctx.op.Where(ctx.op.Greater(z, f64(ctx, _MAX_STIRLING)), split, whole)
    stirling = ctx.op.Mul(power, ctx.op.Mul(f64(ctx, math.sqrt(2 * math.pi)), correction))
    # gamma(z + dz) / prod(t_k + dt_k) ~ gamma(z) / prod(t_k) * (1 + psi(z) dz - sum dt_k / t_k)
    digamma = ctx.op.Sub(ctx.op.Log(z), ctx.op.Mul(f64(ctx, 0.5), inverse))
    first_order = ctx.op.Sub(ctx.op.Mul(digamma, z_error), relative_error)
    result = ctx.op.Mul(ctx.op.Div(stirling, product), ctx.op.Add(one, first_order))
    return ctx.op.Where(ctx.op.GreaterOrEqual(z, f64(ctx, MAX_GAMMA)), f64(ctx, math.inf), result)


def gamma64(ctx, x):
    """gamma: `_gamma_positive` for x > 0; gamma(x + 1) / x for -1 < x < 0 (exact shift; tiny x gives
    1/x as cephes); for x <= -1 the reflection gamma(x) = -pi / (q sin(pi q) gamma(q)), q = -x, with
    the sign (-1)^(floor(q) + 1) and |sin| from the exact distance to the nearest integer (0 where
    gamma(q) overflows). Like scipy: +-inf at +-0, NaN at the negative integers and -inf."""
    zero, one = f64(ctx, 0.0), f64(ctx, 1.0)
    negative = ctx.op.Less(x, zero)
    q = ctx.op.Neg(x)
    below_minus_one = ctx.op.LessOrEqual(x, f64(ctx, -1.0))
    # one call of the positive branch serves all three cases
    argument = ctx.op.Where(negative, ctx.op.Where(below_minus_one, q, ctx.op.Add(x, one)), x)
    positive = _gamma_positive(ctx, ctx.op.Where(ctx.op.Greater(argument, zero), argument, one))
    shifted = ctx.op.Div(positive, x)
    odd = ctx.op.Equal(ctx.op.Mod(ctx.op.Floor(q), f64(ctx, 2.0), fmod=1), one)
    magnitude = ctx.op.Div(f64(ctx, math.pi), ctx.op.Mul(ctx.op.Mul(q, sin_pi_distance(ctx, x)), positive))
    # a product, not a Where, carries the sign: -0.0 where gamma(q) overflows
    reflected = ctx.op.Mul(ctx.op.Where(odd, one, f64(ctx, -1.0)), magnitude)
    result = ctx.op.Where(negative, shifted, positive)
    signed_inf = ctx.op.Div(one, x)  # gamma(+-0) = +-inf
    result = ctx.op.Where(ctx.op.Equal(x, zero), signed_inf, result)
    pole = ctx.op.And(negative, ctx.op.Equal(x, ctx.op.Floor(x)))  # negative integers and -inf
    result = ctx.op.Where(ctx.op.Or(pole, ctx.op.IsNaN(x)), f64(ctx, math.nan), result)
    # cephes multiplies the integers 1..33 down to gamma(2) = 1 exactly: (n-1)! as that product
    # rounds it (exact up to 22!), which int(gamma(n)) relies on; Stirling errs by an ulp there
    integral = ctx.op.And(ctx.op.Equal(x, ctx.op.Floor(x)),
                          ctx.op.And(ctx.op.GreaterOrEqual(x, one), ctx.op.LessOrEqual(x, f64(ctx, 33.0))))
    position = ctx.op.Cast(ctx.op.Sub(ctx.op.Where(integral, x, one), one), to=TensorProto.INT64)
    result = ctx.op.Where(integral, ctx.op.Gather(ctx.constant(_CEPHES_FACTORIALS, "float64"), position), result)
    # last, so that no other Where can turn the reflection's -0.0 into +0.0
    result = select_keeping_zero_sign(ctx, ctx.op.And(below_minus_one, ctx.op.Not(pole)), reflected, result, "float64")
    return result
