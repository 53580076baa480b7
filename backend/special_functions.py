"""Special functions of ``pytensor.scalar.math`` that ONNX lacks, composed in float64 the way
PyTensor's reference (scipy.special, i.e. cephes and boost) evaluates them, and cast to the output
dtype (scipy computes float16/float32 in double too).

- gammaln: Stirling's series with seven correction terms for z >= 10 (truncation < 1e-17 relative),
  the recurrence lgamma(y) = lgamma(y + n) - log(y (y+1) ... (y+n-1)) below 10, and the reflection
  lgamma(x) = log(pi / |sin(pi x)|) - lgamma(1 - x) for x < 0, with sin(pi x) taken from the exactly
  reduced distance of |x| to the nearest integer. Like cephes: +-inf for +-inf, inf at the poles, inf
  where 1/|x| overflows (|x| < 1/DBL_MAX) and beyond 2.556348e305.
- psi (digamma): the asymptotic series for z >= 10, the recurrence psi(x) = psi(x + n) - sum 1/(x+k)
  below, the reflection psi(x) = psi(1 - x) - pi / tan(pi x) for x < 0 with x's fractional part;
  like scipy: psi(+-0) = -+inf, NaN at negative integers and -inf.
- trigamma: the same shift and asymptotic series (all terms positive) and the reflection
  pi^2 / sin^2(pi x) - trigamma(1 - x).
- gamma: Stirling's formula in cephes' overflow-safe form after the same shift, corrected to first
  order for the rounding of y + k; gamma(x + 1) / x on (-1, 0) and the reflection below; the
  integers 1..33 exactly as cephes' product gives them.
- erf, erfc (float64 erf only: onnxruntime's Erf has float32 kernels), erfcx: cephes' rational
  approximations (ndtr.c), evaluated in its order, so that erf and erfc round like scipy's:
  x T(x^2) / U(x^2) on [-1, 1], exp(-x^2) P(x) / Q(x) on [1, 8) and exp(-x^2) R(x) / S(x) beyond,
  and the reflections erf(-x) = -erf(x), erfc(-x) = 2 - erfc(x). erfcx(x) = exp(x^2) erfc(x) is
  P / Q or R / S itself there (no exponential), the continued fraction 1/sqrt(pi) * (x^4 + 4.5 x^2
  + 2) / (x (x^4 + 5 x^2 + 3.75)) from 50 on (1 / (x sqrt(pi)) from 5e7), and 2 exp(x^2) - erfcx(-x)
  for x < 0.
- i0, i1 (modified Bessel functions of orders 0 and 1): cephes' Chebyshev series for exp(-x) I(x)
  on [0, 8] and exp(-x) sqrt(x) I(x) beyond, with its exp(x) (so, like the installed scipy, inf
  from x = log(DBL_MAX) on, NaN at +-inf); i1 is odd, i1(-0.0) = +0.0.
- ive(v, x) = exp(-|x|) I_v(x) for real v (PyTensor 3's iv is ive(v, x) exp(|x|)): the power series
  below |v| = 25 and x = max(40, v^2 / 2) (a Loop, negative non-integer orders included), the
  large-x expansion with 24 terms above, and Debye's uniform expansion (13 terms, its polynomials
  u_k computed exactly by their recurrence) from |v| = 25, with the reflection
  I_-v = I_v + (2/pi) sin(pi v) K_v for negative non-integer v there. scipy evaluates ive with AMOS,
  whose error conventions the export follows: NaN beyond |x| or |v| = 2^30 - 1/2, where the result
  overflows and at the pole x = 0, v < 0; 0 below e^-700.92 and for |x| below 1000 times the smallest
  normal. Against 40-digit mpmath the export was within ~100 ULP except where the result is an
  exponential of a large exponent (~|log value| ULP, as AMOS' own).
- polygamma(n, x) as scipy defines it: psi for n = 0, else (-1)^(n+1) gamma(n+1) zeta(n+1, x) with
  cephes' Hurwitz zeta: q^-s + (q+1)^-s + ... up to q + 9 (and on past 9 for negative q, a Loop of
  as many steps as the most negative q needs, as cephes' sum is), then twelve Euler-Maclaurin
  terms, stopping where cephes stops (a term below 2^-53 of the sum); NaN for n < 0.
- gammainc, gammaincc (regularized incomplete gamma P and Q): cephes' igam/igamc with its choice of
  method by region, each a Loop that stops where cephes stops (at most 2000 steps): the power
  series (DLMF 8.11.4), the continued fraction (8.9.2) and, for small x, the series 8.7.3 with
  lgamma(1 + a) by its Taylor series; the prefactor x^a e^-x / gamma(a) in cephes' Lanczos form.
  Where scipy switches to Temme's uniform asymptotic expansion (a > 20 and |x - a| / a < 0.3, or
  a > 200 and |x - a| / a < 4.5 / sqrt(a)), the series and continued fraction are used instead,
  for up to 2000 steps, enough up to a ~ 1e5; beyond a = 8e4 there the result is NaN (declared in
  the registry), not an unconverged sum.
- betainc: cephes' incbet (power series, two continued fractions, Loops), with log(1 - x) as
  log1p(-x) and log B(a, b) by Stirling's formula rearranged from 10 on; betaincinv: Newton's method
  on the logarithm of the smaller tail in log z, z = x or 1 - x (whichever is at most 1/2 at the
  root), a Loop whose body is betainc's composition, and Boost's closed forms for a = 1 or b = 1.
- erfinv, erfcinv: Newton's method on the erf/erfc above, from a start below (erf) or above (erfc)
  the root, where the iteration is monotone: erf(x) = y for |y| <= erf(1), log erfc(x) = log(t) with
  t = 1 - |y| (exact there) or erfcinv's argument beyond, its logarithm taken as log(erfcx(x)) - x^2
  so that it does not underflow.

Where the terms cancel (near the zeros of lgamma at 1 and 2, of psi at 1.46, and for negative x) the
error is relative to the terms, which the registry's ``error_scale`` gives.

To extend: another function composed from the float64 helpers below; measure it against scipy over
its whole domain and record the bound in ``harness/registry/special_functions.py``.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import NamedTuple

import numpy as np
import pytensor.scalar.math as psm
from onnx import TensorProto

from backend.basic import onnx_funcify
from backend.helpers import (
    dtype_of,
    inputs_as,
    loop,
    one_to_one_converter,
    output_dtype,
    select_keeping_zero_sign,
)
from backend.scalar import asinh64, expm1, log1p

SHIFT_TO = 10.0  # below this, the recurrence moves the argument up to [10, 11)
_TINY = 1.0 / 1.7976931348623157e308  # cephes' 1/x overflows below this
_MAX_LGAMMA = 2.556348e305  # cephes' MAXLGM
_MAX_GAMMA = 171.624376956302725  # cephes' MAXGAM: gamma is inf from here on
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


def _c(ctx, value):
    return ctx.constant(value, "float64")


def float64_function(compose):
    """A converter computing ``compose`` in float64 and casting to the output dtype (scipy's float16
    and float32 loops compute in double too)."""
    def convert(op, node, ctx, inputs):
        out = output_dtype(node)
        (x,) = inputs_as(node, ctx, inputs, out)
        return [ctx.cast(compose(ctx, ctx.cast(x, out, "float64")), "float64", out)]
    convert.__name__ = f"onnx_funcify_{compose.__name__.strip('_')}"
    return convert


def _polynomial(ctx, coefficients, t):
    """c0 + c1 t + c2 t^2 + ... by Horner's rule."""
    result = _c(ctx, coefficients[-1])
    for coefficient in reversed(coefficients[:-1]):
        result = ctx.op.Add(ctx.op.Mul(result, t), _c(ctx, coefficient))
    return result


def _shift_up(ctx, y):
    """For y > 0: z = y + n >= SHIFT_TO (n = 0 when y is already there), the candidate terms y + k
    (k = 0..SHIFT_TO) and whether each is one of the n terms."""
    terms, masks, count = [], [], _c(ctx, 0.0)
    for k in range(int(SHIFT_TO) + 1):
        term = ctx.op.Add(y, _c(ctx, float(k))) if k else y
        included = ctx.op.Less(term, _c(ctx, SHIFT_TO))
        terms.append(term)
        masks.append(included)
        count = ctx.op.Add(count, ctx.op.Cast(included, to=TensorProto.DOUBLE))
    return ctx.op.Add(y, count), terms, masks


def _stirling_correction(ctx, z):
    """lgamma(z) - ((z - 1/2) log z - z + log(2 pi) / 2) for z >= 10 (Stirling's series)."""
    inverse = ctx.op.Reciprocal(z)
    return ctx.op.Mul(inverse, _polynomial(ctx, _LGAMMA_SERIES, ctx.op.Mul(inverse, inverse)))


def _lgamma_positive(ctx, y):
    z, terms, masks = _shift_up(ctx, y)
    terms = [ctx.op.Where(m, t, _c(ctx, 1.0)) for t, m in zip(terms, masks)]
    series = _stirling_correction(ctx, z)
    stirling = ctx.op.Add(ctx.op.Sub(ctx.op.Mul(ctx.op.Sub(z, _c(ctx, 0.5)), ctx.op.Log(z)), z),
                          ctx.op.Add(_c(ctx, 0.5 * math.log(2 * math.pi)), series))
    # log of the product, its first term apart: y may be tiny (or subnormal) and the rest is >= 1
    rest = terms[1]
    for term in terms[2:]:
        rest = ctx.op.Mul(rest, term)
    log_terms = ctx.op.Add(ctx.op.Log(terms[0]), ctx.op.Log(rest))
    return ctx.op.Sub(stirling, log_terms)


def _sin_pi_distance(ctx, x):
    """|sin(pi x)| from the distance of |x| to the nearest integer (exact), in [0, 1/2]."""
    magnitude = ctx.op.Abs(x)
    fraction = ctx.op.Sub(magnitude, ctx.op.Floor(magnitude))
    distance = ctx.op.Min(fraction, ctx.op.Sub(_c(ctx, 1.0), fraction))
    return ctx.op.Sin(ctx.op.Mul(_c(ctx, math.pi), distance))


def _lgamma64(ctx, x):
    negative = ctx.op.Less(x, _c(ctx, 0.0))
    y = ctx.op.Where(negative, ctx.op.Sub(_c(ctx, 1.0), x), x)
    positive = _lgamma_positive(ctx, y)
    reflected = ctx.op.Sub(ctx.op.Log(ctx.op.Div(_c(ctx, math.pi), _sin_pi_distance(ctx, x))), positive)
    result = ctx.op.Where(negative, reflected, positive)
    inf = _c(ctx, math.inf)
    magnitude = ctx.op.Abs(x)
    overflow = ctx.op.Or(ctx.op.Less(magnitude, _c(ctx, _TINY)), ctx.op.Greater(x, _c(ctx, _MAX_LGAMMA)))
    pole = ctx.op.And(negative, ctx.op.Equal(x, ctx.op.Floor(x)))  # negative integers (and -inf, below)
    result = ctx.op.Where(ctx.op.Or(overflow, pole), inf, result)
    result = ctx.op.Where(ctx.op.IsInf(x), x, result)  # lgamma(+-inf) = +-inf in cephes
    # lgamma(1) = lgamma(2) = 0 exactly in cephes (log of an exact 1); the series gives ~1e-15
    unit = ctx.op.Or(ctx.op.Equal(x, _c(ctx, 1.0)), ctx.op.Equal(x, _c(ctx, 2.0)))
    result = ctx.op.Where(unit, _c(ctx, 0.0), result)
    return result


onnx_funcify.register(psm.GammaLn)(float64_function(_lgamma64))


def _psi64(ctx, x):
    zero = _c(ctx, 0.0)
    negative = ctx.op.Less(x, zero)
    # reflection: -pi / tan(pi r) with r = x's fractional part (signed), exact
    fraction = ctx.op.Sub(x, ctx.op.Where(negative, ctx.op.Ceil(x), ctx.op.Floor(x)))
    angle = ctx.op.Mul(_c(ctx, math.pi), fraction)
    reflection = ctx.op.Neg(ctx.op.Div(ctx.op.Mul(_c(ctx, math.pi), ctx.op.Cos(angle)), ctx.op.Sin(angle)))
    y = ctx.op.Where(negative, ctx.op.Sub(_c(ctx, 1.0), x), x)
    z, terms, masks = _shift_up(ctx, y)
    inverse = ctx.op.Reciprocal(z)
    inverse_squared = ctx.op.Mul(inverse, inverse)
    asymptotic = ctx.op.Sub(ctx.op.Sub(ctx.op.Log(z), ctx.op.Mul(_c(ctx, 0.5), inverse)),
                            ctx.op.Mul(inverse_squared, _polynomial(ctx, _PSI_SERIES, inverse_squared)))
    one = _c(ctx, 1.0)
    harmonic = None
    for term, included in zip(terms, masks):
        part = ctx.op.Where(included, ctx.op.Reciprocal(term), zero)
        harmonic = part if harmonic is None else ctx.op.Add(harmonic, part)
    positive = ctx.op.Sub(asymptotic, harmonic)
    result = ctx.op.Where(negative, ctx.op.Add(positive, reflection), positive)
    nan, inf = _c(ctx, math.nan), _c(ctx, math.inf)
    is_zero = ctx.op.Equal(x, zero)
    signed_inf = ctx.op.Where(ctx.op.Less(ctx.op.Div(one, x), zero), inf, ctx.op.Neg(inf))  # -copysign(inf, x)
    result = ctx.op.Where(is_zero, signed_inf, result)
    pole = ctx.op.And(negative, ctx.op.Equal(x, ctx.op.Floor(x)))  # negative integers and -inf
    result = ctx.op.Where(pole, nan, result)
    return result


onnx_funcify.register(psm.Psi)(float64_function(_psi64))


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
    zero = _c(ctx, 0.0)
    negative = ctx.op.Less(x, zero)
    y = ctx.op.Where(negative, ctx.op.Sub(_c(ctx, 1.0), x), x)
    z, terms, masks = _shift_up(ctx, y)
    inverse = ctx.op.Reciprocal(z)
    inverse_squared = ctx.op.Mul(inverse, inverse)
    tail = ctx.op.Mul(ctx.op.Mul(inverse, inverse_squared), _polynomial(ctx, _TRIGAMMA_SERIES, inverse_squared))
    asymptotic = ctx.op.Add(ctx.op.Add(inverse, ctx.op.Mul(_c(ctx, 0.5), inverse_squared)), tail)
    sum_of_squares = None
    for term, included in zip(terms, masks):
        part = ctx.op.Where(included, ctx.op.Reciprocal(ctx.op.Mul(term, term)), zero)
        sum_of_squares = part if sum_of_squares is None else ctx.op.Add(sum_of_squares, part)
    # the small terms first: the sum is dominated by 1/y^2
    positive = ctx.op.Add(asymptotic, sum_of_squares)
    sine = _sin_pi_distance(ctx, x)
    reflected = ctx.op.Sub(ctx.op.Div(_c(ctx, math.pi**2), ctx.op.Mul(sine, sine)), positive)
    result = ctx.op.Where(negative, reflected, positive)
    inf = _c(ctx, math.inf)
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
    zero, one = _c(ctx, 0.0), _c(ctx, 1.0)
    product, relative_error = None, None
    for k, (term, included) in enumerate(zip(terms, masks)):
        factor = ctx.op.Where(included, term, one)
        product = factor if product is None else ctx.op.Mul(product, factor)
        if k:
            error = ctx.op.Where(included, ctx.op.Div(_rounding_error(ctx, y, _c(ctx, float(k)), term), term), zero)
            relative_error = error if relative_error is None else ctx.op.Add(relative_error, error)
    count = None  # n, as _shift_up adds it to y
    for included in masks:
        one_if = ctx.op.Cast(included, to=TensorProto.DOUBLE)
        count = one_if if count is None else ctx.op.Add(count, one_if)
    z_error = _rounding_error(ctx, y, count, z)
    inverse = ctx.op.Reciprocal(z)
    correction = ctx.op.Exp(_stirling_correction(ctx, z))
    exp_z = ctx.op.Exp(z)
    # both exponents are exact in float64 (0.5 and 0.25 are multiples of ulp(z) in each range)
    whole = ctx.op.Div(ctx.op.Pow(z, ctx.op.Sub(z, _c(ctx, 0.5))), exp_z)
    half_power = ctx.op.Pow(z, ctx.op.Sub(ctx.op.Mul(_c(ctx, 0.5), z), _c(ctx, 0.25)))
    split = ctx.op.Mul(half_power, ctx.op.Div(half_power, exp_z))
    power = ctx.op.Where(ctx.op.Greater(z, _c(ctx, _MAX_STIRLING)), split, whole)
    stirling = ctx.op.Mul(power, ctx.op.Mul(_c(ctx, math.sqrt(2 * math.pi)), correction))
    # gamma(z + dz) / prod(t_k + dt_k) ~ gamma(z) / prod(t_k) * (1 + psi(z) dz - sum dt_k / t_k)
    digamma = ctx.op.Sub(ctx.op.Log(z), ctx.op.Mul(_c(ctx, 0.5), inverse))
    first_order = ctx.op.Sub(ctx.op.Mul(digamma, z_error), relative_error)
    result = ctx.op.Mul(ctx.op.Div(stirling, product), ctx.op.Add(one, first_order))
    return ctx.op.Where(ctx.op.GreaterOrEqual(z, _c(ctx, _MAX_GAMMA)), _c(ctx, math.inf), result)


def _gamma64(ctx, x):
    """gamma: `_gamma_positive` for x > 0; gamma(x + 1) / x for -1 < x < 0 (exact shift; tiny x gives
    1/x as cephes); for x <= -1 the reflection gamma(x) = -pi / (q sin(pi q) gamma(q)), q = -x, with
    the sign (-1)^(floor(q) + 1) and |sin| from the exact distance to the nearest integer (0 where
    gamma(q) overflows). Like scipy: +-inf at +-0, NaN at the negative integers and -inf."""
    zero, one = _c(ctx, 0.0), _c(ctx, 1.0)
    negative = ctx.op.Less(x, zero)
    q = ctx.op.Neg(x)
    below_minus_one = ctx.op.LessOrEqual(x, _c(ctx, -1.0))
    # one call of the positive branch serves all three cases
    argument = ctx.op.Where(negative, ctx.op.Where(below_minus_one, q, ctx.op.Add(x, one)), x)
    positive = _gamma_positive(ctx, ctx.op.Where(ctx.op.Greater(argument, zero), argument, one))
    shifted = ctx.op.Div(positive, x)
    odd = ctx.op.Equal(ctx.op.Mod(ctx.op.Floor(q), _c(ctx, 2.0), fmod=1), one)
    magnitude = ctx.op.Div(_c(ctx, math.pi), ctx.op.Mul(ctx.op.Mul(q, _sin_pi_distance(ctx, x)), positive))
    # a product, not a Where, carries the sign: -0.0 where gamma(q) overflows
    reflected = ctx.op.Mul(ctx.op.Where(odd, one, _c(ctx, -1.0)), magnitude)
    result = ctx.op.Where(negative, shifted, positive)
    signed_inf = ctx.op.Div(one, x)  # gamma(+-0) = +-inf
    result = ctx.op.Where(ctx.op.Equal(x, zero), signed_inf, result)
    pole = ctx.op.And(negative, ctx.op.Equal(x, ctx.op.Floor(x)))  # negative integers and -inf
    result = ctx.op.Where(ctx.op.Or(pole, ctx.op.IsNaN(x)), _c(ctx, math.nan), result)
    # cephes multiplies the integers 1..33 down to gamma(2) = 1 exactly: (n-1)! as that product
    # rounds it (exact up to 22!), which int(gamma(n)) relies on; Stirling errs by an ulp there
    integral = ctx.op.And(ctx.op.Equal(x, ctx.op.Floor(x)),
                          ctx.op.And(ctx.op.GreaterOrEqual(x, one), ctx.op.LessOrEqual(x, _c(ctx, 33.0))))
    position = ctx.op.Cast(ctx.op.Sub(ctx.op.Where(integral, x, one), one), to=TensorProto.INT64)
    result = ctx.op.Where(integral, ctx.op.Gather(ctx.constant(_CEPHES_FACTORIALS, "float64"), position), result)
    # last, so that no other Where can turn the reflection's -0.0 into +0.0
    result = select_keeping_zero_sign(ctx, ctx.op.And(below_minus_one, ctx.op.Not(pole)), reflected, result, "float64")
    return result


onnx_funcify.register(psm.Gamma)(float64_function(_gamma64))


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
_MAX_LOG = 7.09782712893383996843e2  # log(DBL_MAX): exp(-x^2) underflows to 0 below -_MAX_LOG
_INVERSE_SQRT_PI = 1.0 / math.sqrt(math.pi)
_ERFCX_CONTINUED_FRACTION_FROM = 50.0
_ERFCX_FIRST_TERM_FROM = 5e7  # 1 / (x sqrt(pi)) is exact to double precision from here on
_ERFCX_OVERFLOW_BELOW = -26.7  # 2 exp(x^2) overflows


def _polevl(ctx, coefficients, x, *, monic=False):
    """sum c_i x^(n-i) by Horner's rule in cephes' order (polevl; p1evl with a leading 1 when monic)."""
    if monic:
        result = ctx.op.Add(x, _c(ctx, coefficients[0]))
        rest = coefficients[1:]
    else:
        result, rest = _c(ctx, coefficients[0]), coefficients[1:]
    for coefficient in rest:
        result = ctx.op.Add(ctx.op.Mul(result, x), _c(ctx, coefficient))
    return result


def _erf_central(ctx, x):
    """erf(x) for |x| <= 1: x T(x^2) / U(x^2); keeps -0.0."""
    z = ctx.op.Mul(x, x)
    return ctx.op.Div(ctx.op.Mul(x, _polevl(ctx, _ERF_T, z)), _polevl(ctx, _ERF_U, z, monic=True))


def _erfc_ratio(ctx, a):
    """exp(a^2) erfc(a) for a >= 1 as cephes' rational functions give it: P / Q below 8, R / S above."""
    below_eight = ctx.op.Less(a, _c(ctx, 8.0))
    # the arguments are clipped where the other branch is taken, so that no branch overflows into NaN
    near, far = ctx.op.Min(a, _c(ctx, 8.0)), ctx.op.Min(a, _c(ctx, 1e30))
    numerator = ctx.op.Where(below_eight, _polevl(ctx, _ERFC_P, near), _polevl(ctx, _ERFC_R, far))
    denominator = ctx.op.Where(below_eight, _polevl(ctx, _ERFC_Q, near, monic=True),
                               _polevl(ctx, _ERFC_S, far, monic=True))
    return numerator, denominator


def _erfc64(ctx, x):
    """cephes' erfc: 1 - erf(x) for |x| < 1, exp(-x^2) P/Q (or R/S) beyond, 2 - erfc(|x|) for x < 0,
    0 (or 2) once exp(-x^2) underflows."""
    one, two = _c(ctx, 1.0), _c(ctx, 2.0)
    a = ctx.op.Abs(x)
    exponent = ctx.op.Neg(ctx.op.Mul(x, x))
    numerator, denominator = _erfc_ratio(ctx, ctx.op.Max(a, one))
    tail = ctx.op.Div(ctx.op.Mul(ctx.op.Exp(exponent), numerator), denominator)
    negative = ctx.op.Less(x, _c(ctx, 0.0))
    tail = ctx.op.Where(negative, ctx.op.Sub(two, tail), tail)
    underflow = ctx.op.Or(ctx.op.Less(exponent, _c(ctx, -_MAX_LOG)), ctx.op.Equal(tail, _c(ctx, 0.0)))
    tail = ctx.op.Where(underflow, ctx.op.Where(negative, two, _c(ctx, 0.0)), tail)
    central = ctx.op.Sub(one, _erf_central(ctx, ctx.op.Min(ctx.op.Max(x, _c(ctx, -1.0)), one)))
    return ctx.op.Where(ctx.op.Less(a, one), central, tail)


def _erf64(ctx, x):
    """cephes' erf: x T(x^2) / U(x^2) for |x| <= 1, sign(x) (1 - erfc(|x|)) beyond."""
    one = _c(ctx, 1.0)
    a = ctx.op.Abs(x)
    outer = ctx.op.Sub(one, _erfc64(ctx, ctx.op.Max(a, one)))
    outer = ctx.op.Where(ctx.op.Less(x, _c(ctx, 0.0)), ctx.op.Neg(outer), outer)
    central = _erf_central(ctx, ctx.op.Min(ctx.op.Max(x, ctx.op.Neg(one)), one))
    # erf(-0.0) = -0.0: the central branch must keep the zero's sign through the Where
    return select_keeping_zero_sign(ctx, ctx.op.LessOrEqual(a, one), central, outer, "float64")


def _erfcx_nonnegative(ctx, a):
    """erfcx(a) for a >= 0 (NaN stays NaN)."""
    one = _c(ctx, 1.0)
    central = ctx.op.Mul(ctx.op.Exp(ctx.op.Mul(a, a)), _erfc64(ctx, ctx.op.Min(a, one)))
    numerator, denominator = _erfc_ratio(ctx, ctx.op.Max(a, one))
    rational = ctx.op.Div(numerator, denominator)
    b = ctx.op.Min(a, _c(ctx, _ERFCX_FIRST_TERM_FROM))
    b2 = ctx.op.Mul(b, b)
    fraction = ctx.op.Div(
        ctx.op.Mul(_c(ctx, _INVERSE_SQRT_PI), ctx.op.Add(ctx.op.Mul(b2, ctx.op.Add(b2, _c(ctx, 4.5))), _c(ctx, 2.0))),
        ctx.op.Mul(b, ctx.op.Add(ctx.op.Mul(b2, ctx.op.Add(b2, _c(ctx, 5.0))), _c(ctx, 3.75))))
    first_term = ctx.op.Div(_c(ctx, _INVERSE_SQRT_PI), a)
    result = ctx.op.Where(ctx.op.Greater(a, _c(ctx, _ERFCX_FIRST_TERM_FROM)), first_term, fraction)
    result = ctx.op.Where(ctx.op.Less(a, _c(ctx, _ERFCX_CONTINUED_FRACTION_FROM)), rational, result)
    return ctx.op.Where(ctx.op.Less(a, one), central, result)


def _erfcx64(ctx, x):
    zero = _c(ctx, 0.0)
    negative = ctx.op.Less(x, zero)
    positive = _erfcx_nonnegative(ctx, ctx.op.Abs(x))
    reflected = ctx.op.Sub(ctx.op.Mul(_c(ctx, 2.0), ctx.op.Exp(ctx.op.Mul(x, x))), positive)
    reflected = ctx.op.Where(ctx.op.Less(x, _c(ctx, _ERFCX_OVERFLOW_BELOW)), _c(ctx, math.inf), reflected)
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
    constant, one = _c(ctx, _SQRT_PI_HALF), _c(ctx, 1.0)
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
    start = ctx.op.Sub(ctx.op.Sub(w, ctx.op.Mul(_c(ctx, 0.5), ctx.op.Log(w))), _c(ctx, _HALF_LOG_PI))
    x = ctx.op.Sqrt(ctx.op.Max(start, _c(ctx, 0.2)))
    one = _c(ctx, 1.0)
    for _ in range(_TAIL_NEWTON_STEPS):
        # below 1, log(erfc) directly: erfcx = exp(x^2) erfc would add exp's and log's rounding
        near = ctx.op.Sub(one, _erf_central(ctx, ctx.op.Min(x, one)))
        numerator, denominator = _erfc_ratio(ctx, ctx.op.Max(x, one))
        log_erfc = ctx.op.Where(ctx.op.Less(x, one), ctx.op.Log(near),
                                ctx.op.Sub(ctx.op.Log(ctx.op.Div(numerator, denominator)), ctx.op.Mul(x, x)))
        scaled = _erfcx_nonnegative(ctx, x)
        residual = ctx.op.Sub(log_erfc, log_t)
        x = ctx.op.Add(x, ctx.op.Mul(ctx.op.Mul(residual, _c(ctx, _SQRT_PI_HALF)), scaled))
    return x


def _erfinv64(ctx, y):
    """erfinv: the central Newton for |y| <= erf(1) (its residual is erf's own rounding, where
    erfc(x) = 1 - erf(x) would add a cancellation), erfcinv(1 - |y|) with y's sign beyond (1 - |y|
    is exact there); +-inf at +-1, NaN outside [-1, 1]."""
    half, one, erf_one = _c(ctx, 0.5), _c(ctx, 1.0), _c(ctx, _ERF_ONE)
    a = ctx.op.Abs(y)
    central = _erfinv_central(ctx, ctx.op.Min(ctx.op.Max(y, ctx.op.Neg(erf_one)), erf_one))
    tail = _erfcinv_small(ctx, ctx.op.Min(ctx.op.Max(ctx.op.Sub(one, a), _c(ctx, 1e-300)), half))
    tail = ctx.op.Where(ctx.op.Equal(a, one), _c(ctx, math.inf), tail)
    tail = ctx.op.Where(ctx.op.Less(y, _c(ctx, 0.0)), ctx.op.Neg(tail), tail)
    tail = ctx.op.Where(ctx.op.Greater(a, one), _c(ctx, math.nan), tail)
    result = ctx.op.Where(ctx.op.LessOrEqual(a, erf_one), central, tail)
    # scipy's erfinv(-0.0) is +0.0; adding +0.0 changes nothing else
    return ctx.op.Add(result, _c(ctx, 0.0))


def _erfcinv64(ctx, t):
    """erfcinv like cephes' -ndtri(t / 2) / sqrt(2): the small-argument Newton on (0, 1/2] (with t
    through t / 2, which rounds subnormal t: 5e-324 / 2 = 0 gives inf), erfinv(1 - t) on (1/2, 3/2]
    and -erfcinv(2 - t) on (3/2, 2), all three differences exact; +inf at 0, -inf at 2, NaN outside."""
    half, two = _c(ctx, 0.5), _c(ctx, 2.0)
    rounded = ctx.op.Mul(two, ctx.op.Mul(half, t))
    upper = ctx.op.Greater(t, _c(ctx, 1.5))
    small = ctx.op.Where(upper, ctx.op.Sub(two, t), rounded)
    tail = _erfcinv_small(ctx, ctx.op.Min(ctx.op.Max(small, _c(ctx, 5e-324)), half))
    tail = ctx.op.Where(ctx.op.Equal(small, _c(ctx, 0.0)), _c(ctx, math.inf), tail)
    tail = ctx.op.Where(upper, ctx.op.Neg(tail), tail)
    central = _erfinv_central(ctx, ctx.op.Min(ctx.op.Max(ctx.op.Sub(_c(ctx, 1.0), t), ctx.op.Neg(half)), half))
    within = ctx.op.And(ctx.op.Greater(t, half), ctx.op.LessOrEqual(t, _c(ctx, 1.5)))
    result = ctx.op.Where(within, central, tail)
    # cephes negates ndtri(1/2) = +0.0: erfcinv(1) = -0.0 (a product, not a Where, keeps the sign)
    result = ctx.op.Mul(result, ctx.op.Where(ctx.op.Equal(t, _c(ctx, 1.0)), _c(ctx, -1.0), _c(ctx, 1.0)))
    outside = ctx.op.Or(ctx.op.Less(t, _c(ctx, 0.0)), ctx.op.Greater(t, two))
    return ctx.op.Where(outside, _c(ctx, math.nan), result)


onnx_funcify.register(psm.Erfinv)(float64_function(_erfinv64))
onnx_funcify.register(psm.Erfcinv)(float64_function(_erfcinv64))



# cephes' Chebyshev coefficients (i0.c, i1.c): exp(-x) I0(x) and exp(-x) I1(x) / x on [0, 8] (_A), in
# x / 2 - 2; exp(-x) sqrt(x) I0(x) and I1(x) on [8, inf) (_B), in 32 / x - 2
_I0_A = (-4.41534164647933937950e-18, 3.33079451882223809783e-17, -2.43127984654795469359e-16,
         1.71539128555513303061e-15, -1.16853328779934516808e-14, 7.67618549860493561688e-14,
         -4.85644678311192946090e-13, 2.95505266312963983461e-12, -1.72682629144155570723e-11,
         9.67580903537323691224e-11, -5.18979560163526290666e-10, 2.65982372468238665035e-9,
         -1.30002500998624804212e-8, 6.04699502254191894932e-8, -2.67079385394061173391e-7,
         1.11738753912010371815e-6, -4.41673835845875056359e-6, 1.64484480707288970893e-5,
         -5.75419501008210370398e-5, 1.88502885095841655729e-4, -5.76375574538582365885e-4,
         1.63947561694133579842e-3, -4.32430999505057594430e-3, 1.05464603945949983183e-2,
         -2.37374148058994688156e-2, 4.93052842396707084878e-2, -9.49010970480476444210e-2,
         1.71620901522208775349e-1, -3.04682672343198398683e-1, 6.76795274409476084995e-1)
_I0_B = (-7.23318048787475395456e-18, -4.83050448594418207126e-18, 4.46562142029675999901e-17,
         3.46122286769746109310e-17, -2.82762398051658348494e-16, -3.42548561967721913462e-16,
         1.77256013305652638360e-15, 3.81168066935262242075e-15, -9.55484669882830764870e-15,
         -4.15056934728722208663e-14, 1.54008621752140982691e-14, 3.85277838274214270114e-13,
         7.18012445138366623367e-13, -1.79417853150680611778e-12, -1.32158118404477131188e-11,
         -3.14991652796324136454e-11, 1.18891471078464383424e-11, 4.94060238822496958910e-10,
         3.39623202570838634515e-9, 2.26666899049817806459e-8, 2.04891858946906374183e-7,
         2.89137052083475648297e-6, 6.88975834691682398426e-5, 3.36911647825569408990e-3,
         8.04490411014108831608e-1)
_I1_A = (2.77791411276104639959e-18, -2.11142121435816608115e-17, 1.55363195773620046921e-16,
         -1.10559694773538630805e-15, 7.60068429473540693410e-15, -5.04218550472791168711e-14,
         3.22379336594557470981e-13, -1.98397439776494371520e-12, 1.17361862988909016308e-11,
         -6.66348972350202774223e-11, 3.62559028155211703701e-10, -1.88724975172282928790e-9,
         9.38153738649577178388e-9, -4.44505912879632808065e-8, 2.00329475355213526229e-7,
         -8.56872026469545474066e-7, 3.47025130813767847674e-6, -1.32731636560394358279e-5,
         4.78156510755005422638e-5, -1.61760815825896745588e-4, 5.12285956168575772895e-4,
         -1.51357245063125314899e-3, 4.15642294431288815669e-3, -1.05640848946261981558e-2,
         2.47264490306265168283e-2, -5.29459812080949914269e-2, 1.02643658689847095384e-1,
         -1.76416518357834055153e-1, 2.52587186443633654823e-1)
_I1_B = (7.51729631084210481353e-18, 4.41434832307170791151e-18, -4.65030536848935832153e-17,
         -3.20952592199342395980e-17, 2.96262899764595013876e-16, 3.30820231092092828324e-16,
         -1.88035477551078244854e-15, -3.81440307243700780478e-15, 1.04202769841288027642e-14,
         4.27244001671195135429e-14, -2.10154184277266431302e-14, -4.08355111109219731823e-13,
         -7.19855177624590851209e-13, 2.03562854414708950722e-12, 1.41258074366137813316e-11,
         3.25260358301548823856e-11, -1.89749581235054123450e-11, -5.58974346219658380687e-10,
         -3.83538038596423702205e-9, -2.63146884688951950684e-8, -2.51223623787020892529e-7,
         -3.88256480887769039346e-6, -1.10588938762623716291e-4, -9.76109749136146840777e-3,
         7.78576235018280120474e-1)
_BESSEL_SPLIT = 8.0


def _chebyshev(ctx, coefficients, t):
    """sum' c_k T_k(t/2) by Clenshaw's recurrence in cephes' order (chbevl)."""
    b0, b1, b2 = _c(ctx, coefficients[0]), _c(ctx, 0.0), None
    for coefficient in coefficients[1:]:
        b2, b1 = b1, b0
        b0 = ctx.op.Add(ctx.op.Sub(ctx.op.Mul(t, b1), b2), _c(ctx, coefficient))
    return ctx.op.Mul(_c(ctx, 0.5), ctx.op.Sub(b0, b2))


def _bessel_series(ctx, z, near, far):
    """(the [0, 8] series at z / 2 - 2, the [8, inf) series at 32 / z - 2) for z = |x|, each argument
    clipped into its interval (the other branch's value is discarded)."""
    split = _c(ctx, _BESSEL_SPLIT)
    near_value = _chebyshev(ctx, near, ctx.op.Sub(ctx.op.Mul(ctx.op.Min(z, split), _c(ctx, 0.5)), _c(ctx, 2.0)))
    far_value = _chebyshev(ctx, far, ctx.op.Sub(ctx.op.Div(_c(ctx, 32.0), ctx.op.Max(z, split)), _c(ctx, 2.0)))
    return near_value, far_value


def _i0_64(ctx, x):
    z = ctx.op.Abs(x)
    exp_z = ctx.op.Exp(z)
    near, far = _bessel_series(ctx, z, _I0_A, _I0_B)
    inside = ctx.op.Mul(exp_z, near)
    outside = ctx.op.Div(ctx.op.Mul(exp_z, far), ctx.op.Sqrt(z))
    return ctx.op.Where(ctx.op.LessOrEqual(z, _c(ctx, _BESSEL_SPLIT)), inside, outside)


def _i1_64(ctx, x):
    z = ctx.op.Abs(x)
    exp_z = ctx.op.Exp(z)
    near, far = _bessel_series(ctx, z, _I1_A, _I1_B)
    inside = ctx.op.Mul(ctx.op.Mul(near, z), exp_z)
    outside = ctx.op.Div(ctx.op.Mul(exp_z, far), ctx.op.Sqrt(z))
    magnitude = ctx.op.Where(ctx.op.LessOrEqual(z, _c(ctx, _BESSEL_SPLIT)), inside, outside)
    # odd, with i1(-0.0) = +0.0 (cephes negates only for x < 0)
    return ctx.op.Mul(magnitude, ctx.op.Where(ctx.op.Less(x, _c(ctx, 0.0)), _c(ctx, -1.0), _c(ctx, 1.0)))


def i0e64(ctx, x):
    """exp(-|x|) i0(x) as cephes' i0e: i0's series without the exponential."""
    z = ctx.op.Abs(x)
    near, far = _bessel_series(ctx, z, _I0_A, _I0_B)
    return ctx.op.Where(ctx.op.LessOrEqual(z, _c(ctx, _BESSEL_SPLIT)), near, ctx.op.Div(far, ctx.op.Sqrt(z)))


def i1e64(ctx, x):
    """exp(-|x|) i1(x) as cephes' i1e, odd like i1."""
    z = ctx.op.Abs(x)
    near, far = _bessel_series(ctx, z, _I1_A, _I1_B)
    magnitude = ctx.op.Where(ctx.op.LessOrEqual(z, _c(ctx, _BESSEL_SPLIT)), ctx.op.Mul(near, z),
                             ctx.op.Div(far, ctx.op.Sqrt(z)))
    return ctx.op.Mul(magnitude, ctx.op.Where(ctx.op.Less(x, _c(ctx, 0.0)), _c(ctx, -1.0), _c(ctx, 1.0)))


onnx_funcify.register(psm.I0)(float64_function(_i0_64))
onnx_funcify.register(psm.I1)(float64_function(_i1_64))


# ---- ive(v, x) = exp(-|x|) I_v(x) for real v and x, as scipy's (AMOS' zbesi with kode 2) ----

# AMOS refuses |x| or |v| above min(0.5 / eps, (2^31 - 1) / 2) (ierr 4): scipy's result is NaN there
_AMOS_LARGEST_ARGUMENT = min(0.5 / float(np.finfo(np.float64).eps), (2**31 - 1) * 0.5)
# AMOS' ELIM, 2.303 (K log10(2) - 3) with K = 1021 (the exponent range): results below e^-ELIM are
# set to 0 (its underflow test)
_AMOS_ELIM = 2.303 * (1021 * math.log10(2.0) - 3.0)
# AMOS' power series takes |x| below 1000 times the smallest normal for 0 (I_0 = 1)
_AMOS_SMALLEST_ARGUMENT = 1e3 * float(np.finfo(np.float64).tiny)
# Debye's uniform expansion from |v| = 25: its truncation after u_12 is below |u_13| / 25^13 < 4e-17
_IVE_UNIFORM_FROM = 25.0
_IVE_UNIFORM_TERMS = 13
# The large-x expansion from x >= max(40, v^2 / 2): its terms fall below 1e-17 within 24 (slowest at
# v = 0, x = 40), and their alternating sum cancels by at most e^(v^2 / x) <= e^2
_IVE_HANKEL_FROM = 40.0
_IVE_HANKEL_TERMS = 24
# The power series runs below that: x < 312.5, its terms peak near k = x / 2 and fall below 2^-53 of
# the sum within ~80 more (and a negative order's first -v terms come before)
_IVE_SERIES_MAX_STEPS = 400


def uniform_expansion_polynomials(count: int) -> list[list[float]]:
    """u_0 .. u_(count-1) of Debye's expansions (DLMF 10.41.10): row k holds the coefficients of p^k,
    p^(k+2), ..., p^(3k), computed exactly by the recurrence
    u_(k+1)(p) = p^2 (1 - p^2) u_k'(p) / 2 + (1/8) int_0^p (1 - 5 t^2) u_k(t) dt."""
    polynomials = [[Fraction(1)]]  # coefficients of p^0, p^1, ...
    for _ in range(count - 1):
        previous = polynomials[-1]
        following = [Fraction(0)] * (len(previous) + 3)
        for power, coefficient in enumerate(previous):
            following[power + 1] += coefficient * power / 2 + coefficient / (8 * (power + 1))
            following[power + 3] -= coefficient * power / 2 + 5 * coefficient / (8 * (power + 3))
        polynomials.append(following)
    return [[float(c) for c in u[k::2]] for k, u in enumerate(polynomials)]


_UNIFORM_EXPANSION = uniform_expansion_polynomials(_IVE_UNIFORM_TERMS)


def _uniform_sums(ctx, p, nu):
    """(sum_k u_k(p) / nu^k, sum_k (-1)^k u_k(p) / nu^k): I's factor and K's, by Horner's rule in
    q = p / nu and -q, each u_k(p) / p^k a polynomial in p^2 evaluated once for both."""
    p_squared = ctx.op.Mul(p, p)
    q = ctx.op.Div(p, nu)
    minus_q = ctx.op.Neg(q)
    i_sum = k_sum = None
    for coefficients in reversed(_UNIFORM_EXPANSION):
        term = _polynomial(ctx, coefficients, p_squared)
        i_sum = term if i_sum is None else ctx.op.Add(ctx.op.Mul(i_sum, q), term)
        k_sum = term if k_sum is None else ctx.op.Add(ctx.op.Mul(k_sum, minus_q), term)
    return i_sum, k_sum


def _ive_uniform(ctx, nu, a, reflect):
    """For nu = |v| >= 25 and a = |x| > 0: I_nu(a) e^-a by Debye's expansion (DLMF 10.41.3) with
    z = a / nu, t = sqrt(1 + z^2), p = 1/t, and the exponent nu eta - a taken as
    nu (1 / (t + z) - asinh(1 / z)), free of cancellation; where ``reflect`` (v = -nu, not an integer)
    plus (2/pi) sin(pi nu) K_nu(a) e^-a, K by its expansion (10.41.4), exponent nu (asinh(1/z) - t - z)."""
    one = _c(ctx, 1.0)
    z = ctx.op.Div(a, nu)
    inverse_z = ctx.op.Reciprocal(z)
    # sqrt(1 + z^2) without overflowing z^2
    t = ctx.op.Where(ctx.op.Greater(z, one), ctx.op.Mul(z, ctx.op.Sqrt(ctx.op.Add(one, ctx.op.Mul(inverse_z, inverse_z)))),
                     ctx.op.Sqrt(ctx.op.Add(one, ctx.op.Mul(z, z))))
    p = ctx.op.Reciprocal(t)
    asinh_term = asinh64(ctx, inverse_z)
    i_sum, k_sum = _uniform_sums(ctx, p, nu)
    prefactor = ctx.op.Reciprocal(ctx.op.Mul(ctx.op.Sqrt(ctx.op.Mul(_c(ctx, 2 * math.pi), nu)), ctx.op.Sqrt(t)))
    i_exponent = ctx.op.Mul(nu, ctx.op.Sub(ctx.op.Reciprocal(ctx.op.Add(t, z)), asinh_term))
    i_part = ctx.op.Mul(ctx.op.Mul(ctx.op.Exp(i_exponent), i_sum), prefactor)
    k_exponent = ctx.op.Mul(nu, ctx.op.Sub(asinh_term, ctx.op.Add(t, z)))
    # sin(pi nu) = (-1)^floor(nu) |sin(pi nu)|, the latter from nu's exact distance to an integer
    odd_floor = ctx.op.Equal(ctx.op.Mod(ctx.op.Floor(nu), _c(ctx, 2.0), fmod=1), one)
    sine = ctx.op.Mul(ctx.op.Where(odd_floor, _c(ctx, -2.0), _c(ctx, 2.0)), _sin_pi_distance(ctx, nu))
    k_part = ctx.op.Mul(ctx.op.Mul(ctx.op.Mul(sine, ctx.op.Exp(k_exponent)), k_sum), prefactor)
    return ctx.op.Where(reflect, ctx.op.Add(i_part, k_part), i_part)


def _ive_hankel(ctx, nu, a):
    """I_nu(a) e^-a for large a by the expansion (DLMF 10.40.1) sum_k (-1)^k a_k(nu) / a^k over
    sqrt(2 pi a), 24 terms; the exponentially small term it leaves out is below e^-2a of the sum."""
    mu = ctx.op.Mul(_c(ctx, 4.0), ctx.op.Mul(nu, nu))
    eight_a = ctx.op.Mul(_c(ctx, 8.0), a)
    term = total = _c(ctx, 1.0)
    for k in range(1, _IVE_HANKEL_TERMS + 1):
        factor = ctx.op.Div(ctx.op.Sub(_c(ctx, float((2 * k - 1) ** 2)), mu), ctx.op.Mul(eight_a, _c(ctx, float(k))))
        term = ctx.op.Mul(term, factor)
        total = ctx.op.Add(total, term)
    return ctx.op.Div(total, ctx.op.Sqrt(ctx.op.Mul(_c(ctx, 2 * math.pi), a)))


def _ive_series(ctx, nu, a, needed):
    """I_nu(a) e^-a by the power series (DLMF 10.25.2) where ``needed``: its first term
    (a/2)^nu e^-a / gamma(nu + 1), then each term times (a^2/4) / (k (nu + k)), until past the peak
    (and past a negative order's sign changes) a term is below 2^-53 of the sum."""
    one = _c(ctx, 1.0)
    power = ctx.op.Pow(ctx.op.Mul(a, _c(ctx, 0.5)), nu)  # a is normal here: a / 2 is exact
    first = ctx.op.Mul(ctx.op.Mul(power, ctx.op.Exp(ctx.op.Neg(a))), ctx.op.Reciprocal(_gamma64(ctx, ctx.op.Add(nu, one))))
    quarter_square = ctx.op.Mul(_c(ctx, 0.25), ctx.op.Mul(a, a))
    # a first term that is 0, inf or NaN is the answer as it stands
    finite_nonzero = ctx.op.And(ctx.op.Not(ctx.op.Equal(first, _c(ctx, 0.0))),
                                ctx.op.Not(ctx.op.Or(ctx.op.IsInf(first), ctx.op.IsNaN(first))))
    settled = ctx.op.Not(ctx.op.And(needed, finite_nonzero))

    def step(body, iteration, values):
        k, term, total, done = values
        k = body.op.Add(k, body.constant(1.0, "float64"))
        order_plus_k = body.op.Add(nu, k)
        ratio = body.op.Div(quarter_square, body.op.Mul(k, order_plus_k))
        term = body.op.Mul(term, ratio)
        total = _masked_sum(body, total, term, done)
        # once nu + k > 0 the ratios only fall: a term below 2^-53 of the sum ends it once they are < 1
        falling = body.op.And(body.op.Greater(order_plus_k, body.constant(0.0, "float64")),
                              body.op.Less(ratio, body.constant(1.0, "float64")))
        negligible = body.op.LessOrEqual(body.op.Abs(term),
                                         body.op.Mul(body.constant(_MACHEP, "float64"), body.op.Abs(total)))
        done = body.op.Or(done, body.op.And(falling, negligible))
        return [k, term, total, done]

    zero = ctx.op.Mul(a, _c(ctx, 0.0))
    _, _, total, _ = loop(ctx, ctx.constant(_IVE_SERIES_MAX_STEPS, "int64"),
                          [(zero, "float64", None), (first, "float64", None), (first, "float64", None),
                           (settled, "bool", None)], step, "ive_series",
                          keep_going=lambda body, values: _not_any(body, values[3]))
    return total


def _ive64(ctx, v, x):
    """ive(v, x) with scipy's conventions: integer v of either sign give I_|v|, negated for x < 0 and
    odd v; NaN for x < 0 and v not an integer; ive(0, 0) = 1, 0 for v > 0 at x = 0. Where AMOS reports
    an error scipy's value is NaN, and so is the export's: beyond its argument limit, where the result
    overflows, and at x = 0 for negative non-integer v (a pole). Like scipy, results below AMOS'
    underflow threshold e^-ELIM are +0.0, and |x| below 1000 times the smallest normal counts as 0."""
    zero, one = _c(ctx, 0.0), _c(ctx, 1.0)
    nan = _c(ctx, math.nan)
    integer = ctx.op.Equal(v, ctx.op.Floor(v))
    nu = ctx.op.Where(ctx.op.And(ctx.op.Less(v, zero), integer), ctx.op.Neg(v), v)  # negative: not an integer
    a = ctx.op.Abs(x)
    magnitude = ctx.op.Abs(nu)
    positive_a = ctx.op.Greater(a, zero)
    uniform = ctx.op.GreaterOrEqual(magnitude, _c(ctx, _IVE_UNIFORM_FROM))
    hankel_from = ctx.op.Max(_c(ctx, _IVE_HANKEL_FROM), ctx.op.Mul(_c(ctx, 0.5), ctx.op.Mul(nu, nu)))
    hankel = ctx.op.And(ctx.op.Not(uniform), ctx.op.GreaterOrEqual(a, hankel_from))
    series = ctx.op.And(ctx.op.And(ctx.op.Not(uniform), ctx.op.Not(hankel)), positive_a)
    # each method gets arguments inside its own region (the others' values are discarded)
    uniform_nu = ctx.op.Where(uniform, magnitude, _c(ctx, _IVE_UNIFORM_FROM))
    uniform_a = ctx.op.Where(ctx.op.And(uniform, positive_a), a, one)
    negative_order = ctx.op.Less(nu, zero)
    from_uniform = _ive_uniform(ctx, uniform_nu, uniform_a, negative_order)
    from_hankel = _ive_hankel(ctx, ctx.op.Where(hankel, nu, zero), ctx.op.Where(hankel, a, _c(ctx, _IVE_HANKEL_FROM)))
    from_series = _ive_series(ctx, ctx.op.Where(series, nu, zero), ctx.op.Where(series, a, one), series)
    result = ctx.op.Where(uniform, from_uniform, ctx.op.Where(hankel, from_hankel, from_series))
    odd = ctx.op.Equal(ctx.op.Mod(ctx.op.Where(integer, nu, zero), _c(ctx, 2.0), fmod=1), one)
    result = ctx.op.Mul(result, ctx.op.Where(ctx.op.And(ctx.op.Less(x, zero), odd), _c(ctx, -1.0), one))
    at_zero = ctx.op.Where(ctx.op.Equal(nu, zero), one, ctx.op.Where(negative_order, nan, zero))
    result = ctx.op.Where(ctx.op.GreaterOrEqual(a, _c(ctx, _AMOS_SMALLEST_ARGUMENT)), result, at_zero)
    result = ctx.op.Where(ctx.op.Less(ctx.op.Abs(result), _c(ctx, math.exp(-_AMOS_ELIM))), zero, result)
    largest = _c(ctx, _AMOS_LARGEST_ARGUMENT)
    refused = ctx.op.Or(ctx.op.Greater(a, largest), ctx.op.Greater(magnitude, largest))
    invalid = ctx.op.Or(refused, ctx.op.IsInf(result))
    invalid = ctx.op.Or(invalid, ctx.op.And(ctx.op.Less(x, zero), ctx.op.Not(integer)))
    invalid = ctx.op.Or(invalid, ctx.op.Or(ctx.op.IsNaN(v), ctx.op.IsNaN(x)))
    return ctx.op.Where(invalid, nan, result)


def onnx_funcify_Ive(op, node, ctx, inputs):
    out, (v, x) = _float64_broadcast(node, ctx, inputs)
    return [ctx.cast(_ive64(ctx, v, x), "float64", out)]



# Euler-Maclaurin denominators (2k)! / B_2k of cephes' Hurwitz zeta (zeta.c)
_ZETA_EULER_MACLAURIN = (12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9, 7.47242496e10,
                         -2.950130727918164224e12, 1.1646782814350067249e14, -4.5979787224074726105e15,
                         1.8152105401943546773e17, -7.1661652561756670113e18)
_MACHEP = 2.0**-53
_ZETA_HEAD_TERMS = 9  # cephes sums at least q^-s ... (q+9)^-s, and on while q + i <= 9
_ZETA_ASYMPTOTIC_FROM = 1e8


def _hurwitz_zeta(ctx, s, q):
    """cephes' zeta(s, q) for float64 s, q: inf at s = 1 and at the poles q = 0, -1, ..., NaN for s < 1
    (and for negative q with non-integer s); (1/(s-1) + 1/(2q)) q^(1-s) beyond q = 1e8."""
    zero, one = _c(ctx, 0.0), _c(ctx, 1.0)
    minus_s = ctx.op.Neg(s)
    pole = ctx.op.And(ctx.op.LessOrEqual(q, zero), ctx.op.Equal(q, ctx.op.Floor(q)))
    finite = ctx.op.Not(ctx.op.Or(ctx.op.IsNaN(q), ctx.op.IsInf(q)))
    # steps of the head sum: at least 9, and until q + i > 9; only finite, non-pole q count
    steps = ctx.op.Max(_c(ctx, float(_ZETA_HEAD_TERMS)),
                       ctx.op.Add(ctx.op.Floor(ctx.op.Sub(_c(ctx, float(_ZETA_HEAD_TERMS)), q)), one))
    steps = ctx.op.Where(ctx.op.And(finite, ctx.op.Not(pole)), steps, _c(ctx, float(_ZETA_HEAD_TERMS)))
    # (the constant keeps an empty q's maximum defined)
    every_count = ctx.op.Concat(ctx.op.Reshape(steps, ctx.constant([-1], "int64")),
                                ctx.constant([float(_ZETA_HEAD_TERMS)], "float64"), axis=0)
    trip_count = ctx.op.Cast(ctx.op.ReduceMax(every_count, keepdims=0), to=TensorProto.INT64)
    first = ctx.op.Pow(q, minus_s)
    never = ctx.op.Less(q, _c(ctx, -math.inf))  # all False, in q's shape

    def head_step(body, iteration, values):
        a, b, total, done = values
        index = body.op.Cast(iteration, to=TensorProto.DOUBLE)
        active = body.op.And(body.op.Less(index, steps), body.op.Not(done))
        a_next = body.op.Where(active, body.op.Add(a, body.constant(1.0, "float64")), a)
        b_next = body.op.Where(active, body.op.Pow(a_next, minus_s), b)
        total_next = body.op.Where(active, body.op.Add(total, b_next), total)
        converged = body.op.Less(body.op.Abs(body.op.Div(b_next, total_next)), body.constant(_MACHEP, "float64"))
        return [a_next, b_next, total_next, body.op.Or(done, body.op.And(active, converged))]

    # a scalar op's converter does not know the rank of the tensors it is applied to
    a, b, total, done = loop(ctx, trip_count, [(q, "float64", None), (first, "float64", None),
                                               (first, "float64", None), (never, "bool", None)],
                             head_step, "zeta_head")
    w = a
    total = ctx.op.Where(done, total, ctx.op.Add(total, ctx.op.Div(ctx.op.Mul(b, w), ctx.op.Sub(s, one))))
    total = ctx.op.Where(done, total, ctx.op.Sub(total, ctx.op.Mul(_c(ctx, 0.5), b)))
    factor, k = one, 0.0
    for denominator in _ZETA_EULER_MACLAURIN:
        factor = ctx.op.Mul(factor, ctx.op.Add(s, _c(ctx, k)))
        b = ctx.op.Div(b, w)
        term = ctx.op.Div(ctx.op.Mul(factor, b), _c(ctx, denominator))
        total = ctx.op.Where(done, total, ctx.op.Add(total, term))
        done = ctx.op.Or(done, ctx.op.Less(ctx.op.Abs(ctx.op.Div(term, total)), _c(ctx, _MACHEP)))
        factor = ctx.op.Mul(factor, ctx.op.Add(s, _c(ctx, k + 1.0)))
        b = ctx.op.Div(b, w)
        k += 2.0
    far = ctx.op.Mul(ctx.op.Add(ctx.op.Reciprocal(ctx.op.Sub(s, one)), ctx.op.Reciprocal(ctx.op.Mul(_c(ctx, 2.0), q))),
                     ctx.op.Pow(q, ctx.op.Sub(one, s)))
    result = ctx.op.Where(ctx.op.Greater(q, _c(ctx, _ZETA_ASYMPTOTIC_FROM)), far, total)
    inf, nan = _c(ctx, math.inf), _c(ctx, math.nan)
    non_integer_s = ctx.op.Not(ctx.op.Equal(s, ctx.op.Floor(s)))
    result = ctx.op.Where(ctx.op.And(ctx.op.LessOrEqual(q, zero), non_integer_s), nan, result)
    result = ctx.op.Where(pole, inf, result)
    result = ctx.op.Where(ctx.op.Less(s, one), nan, result)
    return ctx.op.Where(ctx.op.Equal(s, one), inf, result)


@onnx_funcify.register(psm.PolyGamma)
def onnx_funcify_PolyGamma(op, node, ctx, inputs):
    """scipy's polygamma as PyTensor calls it on numpy arrays: n + 1 is computed in n's integer dtype
    (int8 127 + 1 wraps to -128: NaN), and zeta(n + 1, x) runs in scipy's float32 loop, rounding its
    double result to float32 (subnormals and underflow included), when n's and x's dtypes both fit
    in float32; the sign and gamma(n + 1) stay double."""
    out = output_dtype(node)
    n_dtype, x_dtype = dtype_of(node.inputs[0]), dtype_of(node.inputs[1])
    wide = "uint64" if n_dtype.startswith("uint") else "int64"
    successor = ctx.cast(ctx.op.Add(ctx.cast(inputs[0], n_dtype, wide), ctx.constant(1, wide)), wide, n_dtype)
    n = ctx.cast(inputs[0], n_dtype, "float64")
    order = ctx.cast(successor, n_dtype, "float64")
    x = ctx.cast(inputs[1], x_dtype, "float64")
    shape = ctx.op.Shape(ctx.op.Add(n, x))  # the broadcast shape, which the zeta Loop carries
    n, order, x = (ctx.op.Expand(v, shape) for v in (n, order, x))
    odd = ctx.op.Equal(ctx.op.Mod(n, _c(ctx, 2.0), fmod=1), _c(ctx, 1.0))
    sign = ctx.op.Where(odd, _c(ctx, 1.0), _c(ctx, -1.0))  # (-1.0)**(n+1)
    zeta = _hurwitz_zeta(ctx, order, x)
    if np.result_type(n_dtype, x_dtype, np.float32) == np.float32:
        zeta = ctx.cast(ctx.cast(zeta, "float64", "float32"), "float32", "float64")
    derivative = ctx.op.Mul(ctx.op.Mul(sign, _gamma64(ctx, ctx.op.Add(n, _c(ctx, 1.0)))), zeta)
    result = ctx.op.Where(ctx.op.Equal(n, _c(ctx, 0.0)), _psi64(ctx, x), derivative)
    return [ctx.cast(result, "float64", out)]



_IGAM_MAX_STEPS = 2000  # cephes' MAXITER for the series and the continued fraction
# where scipy uses Temme's expansion (x near a > 20), the series and the continued fraction take
# ~9 sqrt(a) steps: cephes' 2000 serve a up to ~1e5 (measured); more would make every call that
# meets a larger a slow (each step is a pass of the Loop body). Beyond _IGAM_OUT_OF_REACH, in
# scipy's asymptotic region, the result is NaN rather than an unconverged sum.
_IGAM_MAX_STEPS_NEAR_A = 2000
_IGAM_OUT_OF_REACH = 8e4
_IGAM_BIG = 4.503599627370496e15  # the continued fraction's convergents are rescaled beyond this
_LANCZOS_G = 6.024680040776729583740234375
# boost's Lanczos approximation (13 terms) as cephes' lanczos_sum_expg_scaled evaluates it
_LANCZOS_NUMERATOR = (0.006061842346248906525783753964555936883222, 0.5098416655656676188125178644804694509993,
                      19.51992788247617482847860966235652136208, 449.9445569063168119446858607650988409623,
                      6955.999602515376140356310115515198987526, 75999.29304014542649875303443598909137092,
                      601859.6171681098786670226533699352302507, 3481712.15498064590882071018964774556468,
                      14605578.08768506808414169982791359218571, 43338889.32467613834773723740590533316085,
                      86363131.28813859145546927288977868422342, 103794043.1163445451906271053616070238554,
                      56906521.91347156388090791033559122686859)
_LANCZOS_DENOMINATOR = (1.0, 66.0, 1925.0, 32670.0, 357423.0, 2637558.0, 13339535.0, 45995730.0, 105258076.0,
                        150917976.0, 120543840.0, 39916800.0, 0.0)
_EULER_GAMMA = 0.577215664901532860606512090082402431


def _riemann_zeta_integer(n: int) -> float:
    """zeta(n) for an integer n >= 2: 30 terms and the Euler-Maclaurin tail (error < 1e-19)."""
    head = math.fsum(k ** -n for k in range(1, 30))
    w = 30.0
    tail = w ** (1 - n) / (n - 1) + 0.5 * w ** -n
    factor, power = 1.0, w ** -n
    for k, denominator in enumerate(_ZETA_EULER_MACLAURIN[:6]):
        factor *= n + 2 * k
        power /= w
        tail += factor * power / denominator
        factor *= n + 2 * k + 1
        power /= w
    return head + tail


_LGAMMA1P_TAYLOR = [_riemann_zeta_integer(n) / n for n in range(2, 42)]  # lgamma(1+x) = -gamma x + sum z(n)/n (-x)^n


def _masked_sum(ctx, total, term, done):
    return ctx.op.Where(done, total, ctx.op.Add(total, term))


def _lgamma1p_taylor(ctx, t):
    """lgamma(1 + t) for |t| <= 1/2 by its Taylor series, stopping where cephes stops."""
    result = ctx.op.Mul(_c(ctx, -_EULER_GAMMA), t)
    power = ctx.op.Neg(t)
    done = ctx.op.Equal(t, _c(ctx, 0.0))
    for coefficient in _LGAMMA1P_TAYLOR:
        power = ctx.op.Mul(power, ctx.op.Neg(t))
        term = ctx.op.Mul(_c(ctx, coefficient), power)
        result = _masked_sum(ctx, result, term, done)
        done = ctx.op.Or(done, ctx.op.Less(ctx.op.Abs(term), ctx.op.Mul(_c(ctx, _MACHEP), ctx.op.Abs(result))))
    return ctx.op.Where(ctx.op.Equal(t, _c(ctx, 0.0)), _c(ctx, 0.0), result)


# lgamma(2 + t) = (1 - gamma) t + sum (-1)^n (zeta(n) - 1) / n t^n: the terms fall like (|t| / 2)^n, so
# 40 of them reach rounding for |t| <= 3/4
_LGAMMA_NEAR_TWO = [(_riemann_zeta_integer(n) - 1.0) / n for n in range(2, 42)]


def _lgamma_near_two(ctx, t):
    """lgamma(2 + t) for -3/4 <= t <= 1/4 by its Taylor series around 2, to rounding."""
    result = ctx.op.Mul(_c(ctx, 1.0 - _EULER_GAMMA), t)
    power = ctx.op.Neg(t)
    for coefficient in _LGAMMA_NEAR_TWO:
        power = ctx.op.Mul(power, ctx.op.Neg(t))
        result = ctx.op.Add(result, ctx.op.Mul(_c(ctx, coefficient), power))
    return result


def _lgamma1p(ctx, a):
    """cephes' lgam1p: the Taylor series around 0, and around 1 (plus log(a)), lgamma(a + 1) elsewhere;
    one Taylor evaluation serves both."""
    half = _c(ctx, 0.5)
    shifted = ctx.op.Sub(a, _c(ctx, 1.0))
    near_zero = ctx.op.LessOrEqual(ctx.op.Abs(a), half)
    near_one = ctx.op.Less(ctx.op.Abs(shifted), half)
    t = ctx.op.Where(near_zero, a, shifted)
    taylor = _lgamma1p_taylor(ctx, ctx.op.Min(ctx.op.Max(t, ctx.op.Neg(half)), half))
    result = ctx.op.Where(near_one, ctx.op.Add(ctx.op.Log(a), taylor), _lgamma64(ctx, ctx.op.Add(a, _c(ctx, 1.0))))
    return ctx.op.Where(near_zero, taylor, result)


def _log1pmx(ctx, t):
    """log(1 + t) - t: its series below |t| = 1/2 (cephes' order and stopping rule), log1p(t) - t above."""
    half = _c(ctx, 0.5)
    u = ctx.op.Min(ctx.op.Max(t, ctx.op.Neg(half)), half)
    power, result, done = u, _c(ctx, 0.0), ctx.op.Equal(u, _c(ctx, 0.0))
    for n in range(2, 60):  # |u| < 1/2: the terms fall below 2^-53 of the sum within 60
        power = ctx.op.Mul(power, ctx.op.Neg(u))
        term = ctx.op.Div(power, _c(ctx, float(n)))
        result = _masked_sum(ctx, result, term, done)
        done = ctx.op.Or(done, ctx.op.Less(ctx.op.Abs(term), ctx.op.Mul(_c(ctx, _MACHEP), ctx.op.Abs(result))))
    far = ctx.op.Sub(log1p(ctx, t, "float64"), t)
    return ctx.op.Where(ctx.op.Less(ctx.op.Abs(t), half), result, far)


def _lanczos_sum_expg_scaled(ctx, a):
    """cephes' ratevl of the Lanczos sum for a > 0: in a below 1, in 1/a (coefficients reversed) above."""
    def rational(y, numerator, denominator):
        return ctx.op.Div(_polevl(ctx, numerator, y), _polevl(ctx, denominator, y))
    below = rational(ctx.op.Min(a, _c(ctx, 1.0)), _LANCZOS_NUMERATOR, _LANCZOS_DENOMINATOR)
    above = rational(ctx.op.Reciprocal(ctx.op.Max(a, _c(ctx, 1.0))), _LANCZOS_NUMERATOR[::-1],
                     _LANCZOS_DENOMINATOR[::-1])
    return ctx.op.Where(ctx.op.Greater(a, _c(ctx, 1.0)), above, below)


def _igam_prefactor(ctx, a, x, lgamma_a):
    """x^a e^-x / gamma(a) as cephes' igam_fac: exp(a log x - x - lgamma(a)) (0 below exp's range) away
    from a = x, the Lanczos form near it. For a <= 5/4, a exp(a log x - x - lgamma(1 + a)) instead,
    with lgamma(1 + a) from Taylor series exact to rounding (cephes' around 1 up to a = 1/4, around 2
    beyond): the export's lgamma (unlike cephes') is 10-50 ULPs off there, which exp would carry into
    P and Q (measured against mpmath: up to 90 ULPs at a = 1e-4)."""
    quarter = _c(ctx, 0.25)
    small_a = ctx.op.LessOrEqual(a, _c(ctx, 1.25))
    near_two = _lgamma_near_two(ctx, ctx.op.Min(ctx.op.Max(ctx.op.Sub(a, _c(ctx, 1.0)), _c(ctx, -0.75)), quarter))
    log_gamma_1p = ctx.op.Where(ctx.op.LessOrEqual(a, quarter), _lgamma1p_taylor(ctx, ctx.op.Min(a, quarter)), near_two)
    log_gamma = ctx.op.Where(small_a, log_gamma_1p, lgamma_a)
    direct = ctx.op.Sub(ctx.op.Sub(ctx.op.Mul(a, ctx.op.Log(x)), x), log_gamma)
    direct = ctx.op.Where(ctx.op.Less(direct, _c(ctx, -_MAX_LOG)), _c(ctx, 0.0), ctx.op.Exp(direct))
    direct = ctx.op.Where(small_a, ctx.op.Mul(a, direct), direct)
    fac = ctx.op.Add(a, _c(ctx, _LANCZOS_G - 0.5))
    res = ctx.op.Div(ctx.op.Sqrt(ctx.op.Div(fac, _c(ctx, math.e))), _lanczos_sum_expg_scaled(ctx, a))
    small = ctx.op.Mul(ctx.op.Exp(ctx.op.Sub(a, x)), ctx.op.Pow(ctx.op.Div(x, fac), a))
    num = ctx.op.Add(ctx.op.Sub(ctx.op.Sub(x, a), _c(ctx, _LANCZOS_G)), _c(ctx, 0.5))
    large = ctx.op.Exp(ctx.op.Add(ctx.op.Mul(a, _log1pmx(ctx, ctx.op.Div(num, fac))),
                                  ctx.op.Div(ctx.op.Mul(x, _c(ctx, 0.5 - _LANCZOS_G)), fac)))
    both_small = ctx.op.And(ctx.op.Less(a, _c(ctx, 200.0)), ctx.op.Less(x, _c(ctx, 200.0)))
    lanczos = ctx.op.Mul(res, ctx.op.Where(both_small, small, large))
    away = ctx.op.Greater(ctx.op.Abs(ctx.op.Sub(a, x)), ctx.op.Mul(_c(ctx, 0.4), ctx.op.Abs(a)))
    return ctx.op.Where(away, direct, lanczos)


def _not_any(body, done):
    """0-d: whether some element is not done (the Loop goes on while one is)."""
    flat = body.op.Reshape(body.op.Not(done), body.constant([-1], "int64"))
    padded = body.op.Concat(flat, body.constant([False], "bool"), axis=0)
    return body.op.Cast(body.op.ReduceMax(body.op.Cast(padded, to=TensorProto.INT32), keepdims=0), to=TensorProto.BOOL)


def _igam_series(ctx, a, x, prefactor, needed):
    """P(a, x) by its power series where ``needed`` (cephes' igam_series); 0 where the prefactor
    x^a e^-x / gamma(a) underflows, without summing (the sum may overflow there)."""
    one = _c(ctx, 1.0)
    underflow = ctx.op.Equal(prefactor, _c(ctx, 0.0))
    needed = ctx.op.And(needed, ctx.op.Not(underflow))

    def step(body, iteration, values):
        r, c, total, done = values
        r = body.op.Add(r, body.constant(1.0, "float64"))
        c = body.op.Mul(c, body.op.Div(x, r))
        total = _masked_sum(body, total, c, done)
        done = body.op.Or(done, body.op.LessOrEqual(c, body.op.Mul(body.constant(_MACHEP, "float64"), total)))
        return [r, c, total, done]

    ones = ctx.op.Add(ctx.op.Mul(a, _c(ctx, 0.0)), one)
    _, _, total, _ = loop(ctx, ctx.constant(_IGAM_MAX_STEPS_NEAR_A, "int64"),
                          [(a, "float64", None), (ones, "float64", None), (ones, "float64", None),
                           (ctx.op.Not(needed), "bool", None)], step, "igam_series",
                          keep_going=lambda body, values: _not_any(body, values[3]))
    return ctx.op.Where(underflow, _c(ctx, 0.0), ctx.op.Div(ctx.op.Mul(total, prefactor), a))


def _igamc_continued_fraction(ctx, a, x, prefactor, needed):
    """Q(a, x) by its continued fraction where ``needed`` (cephes' igamc_continued_fraction); 0 where
    the prefactor underflows, without iterating (the convergents may overflow there)."""
    one = _c(ctx, 1.0)
    underflow = ctx.op.Equal(prefactor, _c(ctx, 0.0))
    needed = ctx.op.And(needed, ctx.op.Not(underflow))
    y = ctx.op.Sub(one, a)
    z = ctx.op.Add(ctx.op.Add(x, y), one)
    zero = ctx.op.Mul(a, _c(ctx, 0.0))
    pkm2, qkm2 = ctx.op.Add(zero, one), x
    pkm1 = ctx.op.Add(x, one)
    qkm1 = ctx.op.Mul(z, x)
    answer = ctx.op.Div(pkm1, qkm1)

    def step(body, iteration, values):
        c, y, z, pkm2, pkm1, qkm2, qkm1, answer, done = values
        c = body.op.Add(c, body.constant(1.0, "float64"))
        y = body.op.Add(y, body.constant(1.0, "float64"))
        z = body.op.Add(z, body.constant(2.0, "float64"))
        yc = body.op.Mul(y, c)
        pk = body.op.Sub(body.op.Mul(pkm1, z), body.op.Mul(pkm2, yc))
        qk = body.op.Sub(body.op.Mul(qkm1, z), body.op.Mul(qkm2, yc))
        nonzero = body.op.Not(body.op.Equal(qk, body.constant(0.0, "float64")))
        r = body.op.Div(pk, qk)
        change = body.op.Where(nonzero, body.op.Abs(body.op.Div(body.op.Sub(answer, r), r)),
                               body.constant(1.0, "float64"))
        answer = body.op.Where(body.op.And(nonzero, body.op.Not(done)), r, answer)
        pkm2, pkm1, qkm2, qkm1 = pkm1, pk, qkm1, qk
        rescale = body.op.Greater(body.op.Abs(pk), body.constant(_IGAM_BIG, "float64"))
        factor = body.op.Where(rescale, body.constant(2.0**-52, "float64"), body.constant(1.0, "float64"))
        pkm2, pkm1, qkm2, qkm1 = (body.op.Mul(v, factor) for v in (pkm2, pkm1, qkm2, qkm1))
        done = body.op.Or(done, body.op.LessOrEqual(change, body.constant(_MACHEP, "float64")))
        return [c, y, z, pkm2, pkm1, qkm2, qkm1, answer, done]

    carried = [zero, y, z, pkm2, pkm1, qkm2, qkm1, answer]
    finals = loop(ctx, ctx.constant(_IGAM_MAX_STEPS_NEAR_A, "int64"),
                  [(v, "float64", None) for v in carried] + [(ctx.op.Not(needed), "bool", None)], step,
                  "igamc_fraction", keep_going=lambda body, values: _not_any(body, values[8]))
    return ctx.op.Where(underflow, _c(ctx, 0.0), ctx.op.Mul(finals[7], prefactor))


def _igamc_small_x_series(ctx, a, x, lgamma_a, needed):
    """Q(a, x) for small x by DLMF 8.7.3 where ``needed`` (cephes' igamc_series)."""
    zero = ctx.op.Mul(a, _c(ctx, 0.0))

    def step(body, iteration, values):
        fac, total, done = values
        n = body.op.Add(body.op.Cast(iteration, to=TensorProto.DOUBLE), body.constant(1.0, "float64"))
        fac = body.op.Mul(fac, body.op.Div(body.op.Neg(x), n))
        term = body.op.Div(fac, body.op.Add(a, n))
        total = _masked_sum(body, total, term, done)
        done = body.op.Or(done, body.op.LessOrEqual(body.op.Abs(term),
                                                    body.op.Mul(body.constant(_MACHEP, "float64"), body.op.Abs(total))))
        return [fac, total, done]

    _, total, _ = loop(ctx, ctx.constant(_IGAM_MAX_STEPS - 1, "int64"),
                       [(ctx.op.Add(zero, _c(ctx, 1.0)), "float64", None), (zero, "float64", None),
                        (ctx.op.Not(needed), "bool", None)], step, "igamc_series",
                       keep_going=lambda body, values: _not_any(body, values[2]))
    a_log_x = ctx.op.Mul(a, ctx.op.Log(x))
    scaled_power = ctx.op.Sub(a_log_x, _lgamma1p(ctx, a))  # log(x^a / gamma(a + 1))
    head = ctx.op.Neg(expm1(ctx, scaled_power, "float64"))
    # x^a / gamma(a): for a <= 1/4 as a x^a / gamma(a + 1), as in _igam_prefactor (the result cancels
    # up to 4x, so lgamma(a)'s rounding would show)
    power = ctx.op.Where(ctx.op.LessOrEqual(a, _c(ctx, 0.25)), ctx.op.Mul(a, ctx.op.Exp(scaled_power)),
                         ctx.op.Exp(ctx.op.Sub(a_log_x, lgamma_a)))
    return ctx.op.Sub(head, ctx.op.Mul(power, total))


def _either(ctx, condition, if_true, if_false):
    """Where for booleans, which onnxruntime's Where has no kernel for."""
    return ctx.op.Or(ctx.op.And(condition, if_true), ctx.op.And(ctx.op.Not(condition), if_false))


class IncompleteGammas(NamedTuple):
    p: str | None  # P(a, x), if asked for
    q: str | None  # Q(a, x), if asked for
    prefactor: str  # x^a e^-x / gamma(a) (1 where a or x is an edge value)


def _incomplete_gammas(ctx, a, x, *, lower: bool, upper: bool, lgamma_a=None) -> IncompleteGammas:
    """P(a, x) (if ``lower``) and Q(a, x) (if ``upper``) with cephes' choice of method and its edge
    values; asking for both runs each Loop once for the elements either needs. ``lgamma_a``, if
    given, is lgamma(a) (for a Loop body, where a does not change)."""
    zero, one = _c(ctx, 0.0), _c(ctx, 1.0)
    nan = _c(ctx, math.nan)
    # the Loops see in-range arguments only; the edge cases are set below
    regular = ctx.op.And(ctx.op.And(ctx.op.Greater(a, zero), ctx.op.Greater(x, zero)),
                         ctx.op.Not(ctx.op.Or(ctx.op.IsInf(a), ctx.op.IsInf(x))))
    # beyond the series' reach (see _IGAM_OUT_OF_REACH): NaN, without iterating
    beyond = ctx.op.And(ctx.op.Greater(a, _c(ctx, _IGAM_OUT_OF_REACH)),
                        ctx.op.Less(ctx.op.Div(ctx.op.Abs(ctx.op.Sub(x, a)), a),
                                    ctx.op.Div(_c(ctx, 4.5), ctx.op.Sqrt(a))))
    beyond = ctx.op.And(regular, beyond)
    regular = ctx.op.And(regular, ctx.op.Not(beyond))
    a_in = ctx.op.Where(regular, a, one)
    x_in = ctx.op.Where(regular, x, one)
    x_above_1_1 = ctx.op.Greater(x_in, _c(ctx, 1.1))
    x_below_a = ctx.op.Less(x_in, a_in)
    x_at_most_half = ctx.op.LessOrEqual(x_in, _c(ctx, 0.5))
    # igamc's regions: 1 - series, the continued fraction, or the small-x series
    small_a = _either(ctx, x_at_most_half, ctx.op.Less(ctx.op.Div(_c(ctx, -0.4), ctx.op.Log(x_in)), a_in),
                      ctx.op.Less(ctx.op.Mul(x_in, _c(ctx, 1.1)), a_in))
    use_series = _either(ctx, x_above_1_1, x_below_a, small_a)
    use_fraction = ctx.op.And(x_above_1_1, ctx.op.Not(x_below_a))
    use_small_x = ctx.op.And(ctx.op.Not(x_above_1_1), ctx.op.Not(small_a))
    # igam: 1 - igamc where x > 1 and x > a, the series elsewhere
    complement = ctx.op.And(ctx.op.Greater(x_in, one), ctx.op.Greater(x_in, a_in))
    series_for_p = ctx.op.Or(ctx.op.Not(complement), use_series)
    if upper:
        series_needed, q_needed = ctx.op.And(regular, series_for_p if lower else use_series), regular
    else:
        series_needed = ctx.op.And(regular, series_for_p)
        q_needed = ctx.op.And(regular, complement)
    fraction_needed = ctx.op.And(q_needed, use_fraction)
    small_x_needed = ctx.op.And(q_needed, use_small_x)
    # the prefactor and the small-x series share it
    lgamma_a = _lgamma64(ctx, a_in) if lgamma_a is None else ctx.op.Where(regular, lgamma_a, zero)
    prefactor = _igam_prefactor(ctx, a_in, x_in, lgamma_a)
    series = _igam_series(ctx, a_in, x_in, prefactor, series_needed)
    fraction = _igamc_continued_fraction(ctx, a_in, x_in, prefactor, fraction_needed)
    small_x = _igamc_small_x_series(ctx, a_in, x_in, lgamma_a, small_x_needed)
    q = ctx.op.Where(use_series, ctx.op.Sub(one, series), ctx.op.Where(use_fraction, fraction, small_x))
    p = ctx.op.Where(complement, ctx.op.Sub(one, q), series)
    # a subnormal a has too few digits for the series' a x^a e^-x / gamma(1 + a) / a (it gave up to 2):
    # there 1 - P ~ a E1(x) < 2e-305, so P is 1 to rounding (x = 0 is an edge value below)
    p = ctx.op.Where(ctx.op.Less(a_in, _c(ctx, _SMALLEST_NORMAL)), one, p)
    invalid = ctx.op.Or(ctx.op.Or(ctx.op.Less(x, zero), ctx.op.Less(a, zero)), ctx.op.Or(ctx.op.IsNaN(a), ctx.op.IsNaN(x)))
    results = []
    for wanted, result, (low, high) in ((lower, p, (zero, one)), (upper, q, (one, zero))):
        if not wanted:
            results.append(None)
            continue
        result = ctx.op.Where(beyond, nan, result)
        # edge values (cephes' order of tests, applied last to first)
        result = ctx.op.Where(ctx.op.IsInf(x), high, result)
        result = ctx.op.Where(ctx.op.IsInf(a), ctx.op.Where(ctx.op.IsInf(x), nan, low), result)
        result = ctx.op.Where(ctx.op.Equal(x, zero), low, result)
        result = ctx.op.Where(ctx.op.Equal(a, zero), ctx.op.Where(ctx.op.Greater(x, zero), high, nan), result)
        results.append(ctx.op.Where(invalid, nan, result))
    return IncompleteGammas(*results, prefactor=prefactor)


def _incomplete_gamma(ctx, a, x, *, upper: bool):
    """P(a, x) (upper=False) or Q(a, x)."""
    gammas = _incomplete_gammas(ctx, a, x, lower=not upper, upper=upper)
    return gammas.q if upper else gammas.p


def _float64_broadcast(node, ctx, inputs) -> tuple[str, list]:
    """The output dtype and the inputs in float64, expanded to their broadcast shape (which Loops
    carry: a Loop's carried values keep one shape)."""
    out = output_dtype(node)
    values = [ctx.cast(v, out, "float64") for v in inputs_as(node, ctx, inputs, out)]
    total = values[0]
    for value in values[1:]:
        total = ctx.op.Add(total, value)
    shape = ctx.op.Shape(total)
    return out, [ctx.op.Expand(v, shape) for v in values]


def _incomplete_gamma_converter(upper: bool):
    def convert(op, node, ctx, inputs):
        out, (a, x) = _float64_broadcast(node, ctx, inputs)
        return [ctx.cast(_incomplete_gamma(ctx, a, x, upper=upper), "float64", out)]
    convert.__name__ = "onnx_funcify_GammaIncC" if upper else "onnx_funcify_GammaInc"
    return convert


onnx_funcify.register(psm.GammaInc)(_incomplete_gamma_converter(upper=False))
onnx_funcify.register(psm.GammaIncC)(_incomplete_gamma_converter(upper=True))
onnx_funcify.register(psm.Ive)(onnx_funcify_Ive)


# ---- their inverses: gammaincinv (x with P(a, x) = p) and gammainccinv (x with Q(a, x) = q) ----

_IGAMI_MAX_STEPS = 64  # Newton converges in under 10 from the starts below; bisection needs ~60 at most
_IGAMI_STEP_TOLERANCE = 2.0**-48  # a Newton step this small (relative) leaves x within rounding of the root
_IGAMI_NEGLIGIBLE_STEP = 2.0**-40  # a step this small is taken even onto or past the bracket's end
_IGAMI_SWITCH = 0.9  # beyond this y, the other tail is solved for (as scipy's igami/igamci do)
# cephes' prefactor x^a e^-x / gamma(a) is 0 below exp(-709.78), so the Newton iteration cannot see a
# tail that small: where the smaller tail is below 1e-300 the result is NaN (unless the root is below
# the smallest normal, where P's bound is the answer); scipy starts from DiDonato & Morris' asymptotic
# estimates there
_IGAMI_SMALLEST_TAIL = 1e-300
_SMALLEST_SUBNORMAL = float(np.finfo(np.float64).smallest_subnormal)
_LARGEST_FLOAT64 = float(np.finfo(np.float64).max)
_SMALLEST_NORMAL = float(np.finfo(np.float64).tiny)
# Abramowitz & Stegun 26.2.23: the normal quantile to 4.5e-4, enough for a starting point
_NORMAL_QUANTILE_NUMERATOR = (2.515517, 0.802853, 0.010328)
_NORMAL_QUANTILE_DENOMINATOR = (1.0, 1.432788, 0.189269, 0.001308)


def _rough_upper_normal_quantile(ctx, t):
    """z with 1 - Phi(z) = t, for 0 < t <= 1/2, to 4.5e-4 (a starting point only)."""
    w = ctx.op.Sqrt(ctx.op.Mul(_c(ctx, -2.0), ctx.op.Log(t)))
    correction = ctx.op.Div(_polynomial(ctx, _NORMAL_QUANTILE_NUMERATOR, w),
                            _polynomial(ctx, _NORMAL_QUANTILE_DENOMINATOR, w))
    return ctx.op.Sub(w, correction)


def _bracketed_log_newton_step(body, state, g, condition):
    """One step of Newton's method on g(u), increasing in u = log x, given g and 1 / (dg/du)
    (``condition``) at x; ``state`` is [x, bracket_low, bracket_high, done], returned updated. g's sign
    narrows the bracket; a step out of it, or not finite, bisects it in u instead. Converged: a step
    within 2^-48 of the rounding's effect on u (``condition``, at least 1), and inside the bracket or
    too small to matter (it may round to no move at all, onto the bracket's end x just became; a far
    point's huge condition makes a large step look small against it); or g = 0, or a bracket within
    2^-50."""
    x, bracket_low, bracket_high, done = state
    zero, one = _c(body, 0.0), _c(body, 1.0)
    bracket_low = body.op.Where(body.op.Less(g, zero), x, bracket_low)
    bracket_high = body.op.Where(body.op.Greater(g, zero), x, bracket_high)
    newton_step = body.op.Mul(g, condition)
    newton = body.op.Mul(x, body.op.Exp(body.op.Neg(newton_step)))
    inside = body.op.And(body.op.Greater(newton, bracket_low), body.op.Less(newton, bracket_high))
    size = body.op.Abs(newton_step)
    converged = body.op.And(
        body.op.LessOrEqual(size, body.op.Mul(_c(body, _IGAMI_STEP_TOLERANCE), body.op.Max(condition, one))),
        body.op.Or(inside, body.op.LessOrEqual(size, _c(body, _IGAMI_NEGLIGIBLE_STEP))))
    bisection = body.op.Mul(body.op.Sqrt(bracket_low), body.op.Sqrt(bracket_high))
    moved = body.op.Where(body.op.Or(inside, converged), newton, bisection)  # NaN compares false: bisects
    at_root = body.op.Equal(g, zero)
    converged = body.op.Or(converged, at_root)
    x = body.op.Where(done, x, body.op.Where(at_root, x, moved))
    narrow = body.op.LessOrEqual(bracket_high, body.op.Mul(bracket_low, _c(body, 1.0 + 2.0**-50)))
    return [x, bracket_low, bracket_high, body.op.Or(done, body.op.Or(converged, narrow))]


def _inverse_incomplete_gamma(ctx, a, y, *, upper: bool):
    """x with P(a, x) = y (upper=False) or Q(a, x) = y: Newton's method on the logarithm of a tail T in
    u = log x, where T is P for P = y <= 0.9 or Q = 1 - y > 0.9 (upper=False), Q for Q = y <= 0.9 or P
    = 1 - y < 0.1 (upper=True), as scipy's igami/igamci choose (which side of the series cephes' Q
    takes where P is the accurate one matters; 1 - y is exact beyond 0.9): d log P / du =
    x^a e^-x / (gamma(a) P), and -(the same) / Q for Q. log P and log Q are concave in u (the
    log-gamma density is log-concave), so from below the root (P's start, the bound
    P(a, x) <= x^a / gamma(a + 1)) every step stays below it and moves towards it, and a step from any
    point lands beyond Q's root, from where the steps move back monotonically. A bracket kept from
    the signs guards the rest: a step out of it or not finite (T or the derivative under- or
    overflowing) bisects it in u. Stops once a step is within 2^-48 times the rounding's effect on u
    (T / (x dT/dx), the inversion's condition). For 0 < y < 1 and 0 < a <= 8e4 (the converter sets
    the rest), NaN where the smaller tail is below _IGAMI_SMALLEST_TAIL."""
    zero, one, half = _c(ctx, 0.0), _c(ctx, 1.0), _c(ctx, 0.5)
    nan = _c(ctx, math.nan)
    regular = ctx.op.And(ctx.op.And(ctx.op.Greater(a, zero), ctx.op.LessOrEqual(a, _c(ctx, _IGAM_OUT_OF_REACH))),
                         ctx.op.And(ctx.op.Greater(y, zero), ctx.op.Less(y, one)))
    a = ctx.op.Where(regular, a, one)
    y = ctx.op.Where(regular, y, half)
    y_large = ctx.op.Greater(y, _c(ctx, _IGAMI_SWITCH))
    target = ctx.op.Where(y_large, ctx.op.Sub(one, y), y)  # exact: y > 0.9 there
    solve_p = y_large if upper else ctx.op.Not(y_large)  # which tail T is, per element
    log_target = ctx.op.Log(target)
    lower_probability = ctx.op.Where(solve_p, target, ctx.op.Sub(one, target))  # P at the root (rounded)
    smaller_tail = ctx.op.Min(y, ctx.op.Sub(one, y))
    # x_low: P(a, x_low) <= target (solving for P) or <= (1 - target) / 2 (for Q, so Q(a, x_low) > target)
    lgamma_a_plus_1 = _lgamma1p(ctx, a)
    level = ctx.op.Where(solve_p, log_target, ctx.op.Log(ctx.op.Mul(half, lower_probability)))
    log_low = ctx.op.Div(ctx.op.Add(level, lgamma_a_plus_1), a)
    low = ctx.op.Exp(ctx.op.Max(log_low, _c(ctx, -745.0)))  # 0 (or 5e-324) where it underflows
    # P's start: the bound, or Wilson & Hilferty's x = a (1 - 1/(9a) + z / (3 sqrt(a)))^3 if larger
    # (for large a the bound is far below the root); Q's: Wilson & Hilferty, or a - log q; z is the
    # normal quantile of P at the root
    z = _rough_upper_normal_quantile(ctx, smaller_tail)
    z = ctx.op.Where(ctx.op.LessOrEqual(lower_probability, half), ctx.op.Neg(z), z)
    base = ctx.op.Add(ctx.op.Sub(one, ctx.op.Div(one, ctx.op.Mul(_c(ctx, 9.0), a))),
                      ctx.op.Div(z, ctx.op.Mul(_c(ctx, 3.0), ctx.op.Sqrt(a))))
    wilson_hilferty = ctx.op.Mul(a, ctx.op.Mul(ctx.op.Mul(base, base), base))
    usable = ctx.op.Greater(base, zero)
    p_start = ctx.op.Where(usable, ctx.op.Max(low, wilson_hilferty), low)
    q_start = ctx.op.Where(usable, wilson_hilferty, ctx.op.Sub(a, log_target))
    start = ctx.op.Max(ctx.op.Where(solve_p, p_start, q_start), _c(ctx, _SMALLEST_SUBNORMAL))
    lgamma_a = _lgamma64(ctx, a)
    sign = ctx.op.Where(solve_p, one, _c(ctx, -1.0))  # g(u) = sign (log T - log target) increases with u

    def step(body, iteration, values):
        x, bracket_low, bracket_high, done = values
        gammas = _incomplete_gammas(body, a, x, lower=True, upper=True, lgamma_a=lgamma_a)
        tail = body.op.Where(solve_p, gammas.p, gammas.q)
        g = body.op.Mul(sign, body.op.Sub(body.op.Log(tail), log_target))
        condition = body.op.Div(tail, gammas.prefactor)  # 1 / (dg/du)
        return _bracketed_log_newton_step(body, [x, bracket_low, bracket_high, done], g, condition)

    floor = ctx.op.Max(ctx.op.Where(solve_p, low, zero), _c(ctx, _SMALLEST_SUBNORMAL))
    # the bound is below the root; for a tiny bound (the root near it) the bound is the answer
    underflowing_root = ctx.op.And(solve_p, ctx.op.Less(low, _c(ctx, _SMALLEST_NORMAL)))
    settled = ctx.op.Or(ctx.op.Not(regular), underflowing_root)
    x, _, _, _ = loop(ctx, ctx.constant(_IGAMI_MAX_STEPS, "int64"),
                      [(start, "float64", None), (floor, "float64", None),
                       (ctx.op.Add(ctx.op.Mul(a, zero), _c(ctx, _LARGEST_FLOAT64)), "float64", None),
                       (settled, "bool", None)], step, "inverse_incomplete_gamma",
                      keep_going=lambda body, values: _not_any(body, values[3]))
    result = ctx.op.Where(underflowing_root, ctx.op.Exp(log_low), x)
    too_small = ctx.op.And(ctx.op.Less(smaller_tail, _c(ctx, _IGAMI_SMALLEST_TAIL)), ctx.op.Not(underflowing_root))
    return ctx.op.Where(too_small, nan, result)


def _inverse_incomplete_gamma_converter(upper: bool):
    def convert(op, node, ctx, inputs):
        out, (a, y) = _float64_broadcast(node, ctx, inputs)
        zero, one, nan = _c(ctx, 0.0), _c(ctx, 1.0), _c(ctx, math.nan)
        result = _inverse_incomplete_gamma(ctx, a, y, upper=upper)
        # scipy's order: NaN; a < 0 or y outside [0, 1] (a domain error); y = 0 or 1, for every a >= 0
        # (-0.0 included); then NaN for a = 0, subnormal or inf (its starting point is NaN there)
        degenerate = ctx.op.Or(ctx.op.Less(a, _c(ctx, _SMALLEST_NORMAL)), ctx.op.IsInf(a))
        degenerate = ctx.op.Or(degenerate, ctx.op.Greater(a, _c(ctx, _IGAM_OUT_OF_REACH)))
        result = ctx.op.Where(degenerate, nan, result)
        at_zero, at_one = (_c(ctx, math.inf), zero) if upper else (zero, _c(ctx, math.inf))
        result = ctx.op.Where(ctx.op.Equal(y, zero), at_zero, result)
        result = ctx.op.Where(ctx.op.Equal(y, one), at_one, result)
        invalid = ctx.op.Or(ctx.op.Less(a, zero), ctx.op.Or(ctx.op.Less(y, zero), ctx.op.Greater(y, one)))
        invalid = ctx.op.Or(invalid, ctx.op.Or(ctx.op.IsNaN(a), ctx.op.IsNaN(y)))
        return [ctx.cast(ctx.op.Where(invalid, nan, result), "float64", out)]
    convert.__name__ = "onnx_funcify_GammaIncCInv" if upper else "onnx_funcify_GammaIncInv"
    return convert


onnx_funcify.register(psm.GammaIncInv)(_inverse_incomplete_gamma_converter(upper=False))
onnx_funcify.register(psm.GammaIncCInv)(_inverse_incomplete_gamma_converter(upper=True))


# ---- the regularized incomplete beta function I_x(a, b) (betainc) ----

_INCBET_MAX_STEPS = 3000  # cephes stops at 300, unconverged for small b and x near 1 (measured: up to 456 needed)
# The reach of cephes' method, measured against mpmath (30 digits) on 2e5 triples with a, b log-uniform
# over 1e-8..1e8 and x uniform, near 0 and near 1: within 8 ULPs of the prefactor's terms everywhere but
# where b < 0.0036, 1 - x < 6.5e-4 and a (1 - x) < 0.0061 (errors up to 1e-5 relative: 1 - I_(1-x)(b, a)
# cancels, or the first fraction crawls). The export gives NaN there (with margins), and beyond the
# measured range of a and b.
_INCBET_SMALL_B = 0.01
_INCBET_NEAR_ONE = 1e-3
_INCBET_NEAR_ONE_A = 0.05
_INCBET_MIN_PARAMETER = 1e-8
_INCBET_MAX_PARAMETER = 1e8
_INCBET_BIG = 4.503599627370496e15  # the convergents are rescaled beyond this (and below its inverse)


def _incbet_power_series(ctx, a, b, x, needed):
    """cephes' incbet pseries without its prefactor: the sum s with I_x(a, b) = s x^a / B(a, b), where
    ``needed`` (for b x <= 1 and x <= 0.95)."""
    one = _c(ctx, 1.0)
    reciprocal_a = ctx.op.Div(one, a)
    u = ctx.op.Mul(ctx.op.Sub(one, b), x)
    v = ctx.op.Div(u, ctx.op.Add(a, one))
    threshold = ctx.op.Mul(_c(ctx, _MACHEP), reciprocal_a)

    def step(body, iteration, values):
        n, t, total, done = values
        t = body.op.Mul(t, body.op.Div(body.op.Mul(body.op.Sub(n, b), x), n))
        term = body.op.Div(t, body.op.Add(a, n))
        total = _masked_sum(body, total, term, done)
        done = body.op.Or(done, body.op.LessOrEqual(body.op.Abs(term), threshold))
        return [body.op.Add(n, body.constant(1.0, "float64")), t, total, done]

    zero = ctx.op.Mul(a, _c(ctx, 0.0))
    done = ctx.op.Or(ctx.op.Not(needed), ctx.op.LessOrEqual(ctx.op.Abs(v), threshold))
    # cephes sums while the term exceeds the threshold, without a step limit; a needed element's
    # terms fall geometrically (|(n - b) x / n| < 1 once n > b), so the cap is only a bound
    _, _, total, _ = loop(ctx, ctx.constant(10 * _INCBET_MAX_STEPS, "int64"),
                          [(ctx.op.Add(zero, _c(ctx, 2.0)), "float64", None), (u, "float64", None),
                           (zero, "float64", None), (done, "bool", None)], step, "incbet_series",
                          keep_going=lambda body, values: _not_any(body, values[3]))
    return ctx.op.Add(ctx.op.Add(total, v), reciprocal_a)


def _incbet_continued_fraction(ctx, z, starts, steps, needed):
    """cephes' incbcf and incbd: the continued fraction with coefficients k1..k8 (``starts``, moved by
    ``steps`` per iteration) in z = x (incbcf) or x / (1 - x) (incbd), where ``needed``; stops once a
    convergent changes by less than 3 MACHEP relatively."""
    one, zero = _c(ctx, 1.0), ctx.op.Mul(z, _c(ctx, 0.0))
    big, small = _c(ctx, _INCBET_BIG), _c(ctx, 1.0 / _INCBET_BIG)

    def step(body, iteration, values):
        k, (pkm2, pkm1, qkm2, qkm1, answer, r), done = values[:8], values[8:14], values[14]
        xk = body.op.Neg(body.op.Div(body.op.Mul(body.op.Mul(z, k[0]), k[1]), body.op.Mul(k[2], k[3])))
        pk, qk = body.op.Add(pkm1, body.op.Mul(pkm2, xk)), body.op.Add(qkm1, body.op.Mul(qkm2, xk))
        pkm2, pkm1, qkm2, qkm1 = pkm1, pk, qkm1, qk
        xk = body.op.Div(body.op.Mul(body.op.Mul(z, k[4]), k[5]), body.op.Mul(k[6], k[7]))
        pk, qk = body.op.Add(pkm1, body.op.Mul(pkm2, xk)), body.op.Add(qkm1, body.op.Mul(qkm2, xk))
        pkm2, pkm1, qkm2, qkm1 = pkm1, pk, qkm1, qk
        r = body.op.Where(body.op.Equal(qk, zero), r, body.op.Div(pk, body.op.Where(body.op.Equal(qk, zero), one, qk)))
        nonzero = body.op.Not(body.op.Equal(r, zero))
        change = body.op.Where(nonzero, body.op.Abs(body.op.Div(body.op.Sub(answer, r),
                                                                body.op.Where(nonzero, r, one))), one)
        answer = body.op.Where(body.op.And(nonzero, body.op.Not(done)), r, answer)
        converged = body.op.Less(change, _c(body, 3.0 * _MACHEP))
        k = [body.op.Add(value, _c(body, delta)) for value, delta in zip(k, steps)]
        magnitude = body.op.Add(body.op.Abs(qk), body.op.Abs(pk))
        shrink = body.op.Where(body.op.Greater(magnitude, big), small, one)
        grow = body.op.Where(body.op.Or(body.op.Less(body.op.Abs(qk), small), body.op.Less(body.op.Abs(pk), small)),
                             big, one)
        factor = body.op.Mul(shrink, grow)
        pkm2, pkm1, qkm2, qkm1 = (body.op.Mul(v, factor) for v in (pkm2, pkm1, qkm2, qkm1))
        # a finished element keeps its values: later steps could overflow them
        frozen = [body.op.Where(done, old, new) for old, new in
                  zip(values[:14], [*k, pkm2, pkm1, qkm2, qkm1, answer, r])]
        return [*frozen, body.op.Or(done, converged)]

    ones = ctx.op.Add(zero, one)
    carried = [*starts, zero, ones, ones, ones, ones, ones]
    finals = loop(ctx, ctx.constant(_INCBET_MAX_STEPS, "int64"),
                  [(v, "float64", None) for v in carried] + [(ctx.op.Not(needed), "bool", None)], step,
                  "incbet_fraction", keep_going=lambda body, values: _not_any(body, values[14]))
    return finals[12]


def _beta(ctx, a, b):
    """B(a, b) for a + b below MAXGAM as cephes' beta: gamma(a + b) divides the factor it cancels best."""
    gamma_a, gamma_b, gamma_sum = _gamma64(ctx, a), _gamma64(ctx, b), _gamma64(ctx, ctx.op.Add(a, b))
    a_first = ctx.op.Greater(ctx.op.Abs(ctx.op.Sub(ctx.op.Abs(gamma_a), ctx.op.Abs(gamma_sum))),
                             ctx.op.Abs(ctx.op.Sub(ctx.op.Abs(gamma_b), ctx.op.Abs(gamma_sum))))
    return ctx.op.Where(a_first, ctx.op.Mul(ctx.op.Div(gamma_b, gamma_sum), gamma_a),
                        ctx.op.Mul(ctx.op.Div(gamma_a, gamma_sum), gamma_b))


def _log_beta(ctx, a, b):
    """log B(a, b) for a, b > 0. Below 10 as lgamma(a) + lgamma(b) - lgamma(a + b); from 10 on with
    Stirling's formula rearranged so that the large logarithms cancel before they are rounded (the
    plain difference of lgammas of ~4e6 is 1e-9 off at B(136, 330469)): with s <= t,
    log(2 pi) / 2 - s log1p(t/s) - t log1p(s/t) + (log(s + t) - log s - log t) / 2 for s >= 10, and
    lgamma(s) + s - s log(s + t) - (t - 1/2) log1p(s/t) for s < 10 <= t, each plus
    the Stirling corrections."""
    half_log_two_pi = _c(ctx, 0.5 * math.log(2 * math.pi))
    ten, half = _c(ctx, SHIFT_TO), _c(ctx, 0.5)
    small, large = ctx.op.Min(a, b), ctx.op.Max(a, b)
    total = ctx.op.Add(small, large)
    # each formula sees arguments inside its own region (the others' values are discarded)
    large_enough = ctx.op.Max(large, ten)
    both_large = ctx.op.GreaterOrEqual(small, ten)
    s = ctx.op.Where(both_large, small, ten)
    st_total = ctx.op.Add(s, large_enough)
    corrections = ctx.op.Sub(ctx.op.Add(_stirling_correction(ctx, s), _stirling_correction(ctx, large_enough)),
                             _stirling_correction(ctx, st_total))
    logs = ctx.op.Mul(half, ctx.op.Sub(ctx.op.Log(st_total), ctx.op.Add(ctx.op.Log(s), ctx.op.Log(large_enough))))
    both = ctx.op.Add(ctx.op.Sub(ctx.op.Sub(half_log_two_pi, ctx.op.Mul(s, log1p(ctx, ctx.op.Div(large_enough, s), "float64"))),
                                 ctx.op.Mul(large_enough, log1p(ctx, ctx.op.Div(s, large_enough), "float64"))),
                      ctx.op.Add(logs, corrections))
    r = ctx.op.Where(both_large, ten, small)  # the small one, below 10
    r_total = ctx.op.Add(r, large_enough)
    one_large = ctx.op.Add(_lgamma64(ctx, r), r)
    one_large = ctx.op.Sub(one_large, ctx.op.Mul(r, ctx.op.Log(r_total)))
    one_large = ctx.op.Sub(one_large, ctx.op.Mul(ctx.op.Sub(large_enough, half), log1p(ctx, ctx.op.Div(r, large_enough), "float64")))
    one_large = ctx.op.Add(one_large, ctx.op.Sub(_stirling_correction(ctx, large_enough), _stirling_correction(ctx, r_total)))
    plain = ctx.op.Sub(ctx.op.Add(_lgamma64(ctx, a), _lgamma64(ctx, b)), _lgamma64(ctx, total))
    return ctx.op.Where(both_large, both, ctx.op.Where(ctx.op.GreaterOrEqual(large, ten), one_large, plain))


class BetaTerms(NamedTuple):
    log_beta: str  # log B(a, b)
    reciprocal_beta: str  # 1 / B(a, b) where a + b < MAXGAM (placeholder values elsewhere)


def _beta_terms(ctx, a, b) -> BetaTerms:
    """B(a, b) as `_incomplete_beta_tails` needs it, symmetric in a and b: its logarithm, and its
    reciprocal below 10 as cephes, from gamma functions (each within an ULP or two), and above as
    exp(-log B), whose error is relative to |log B| (gamma(98)'s rounding gave 2.7e-14 at B(0.172, 98))."""
    log_beta = _log_beta(ctx, a, b)
    below_ten = ctx.op.Less(ctx.op.Max(a, b), _c(ctx, SHIFT_TO))
    one = _c(ctx, 1.0)
    small_a, small_b = ctx.op.Where(below_ten, a, one), ctx.op.Where(below_ten, b, one)
    reciprocal_beta = ctx.op.Where(below_ten, ctx.op.Div(one, _beta(ctx, small_a, small_b)),
                                   ctx.op.Exp(ctx.op.Neg(log_beta)))
    return BetaTerms(log_beta, reciprocal_beta)


def _incomplete_beta_tails(ctx, a, b, x, regular, beta_terms: BetaTerms | None = None):
    """(I_x(a, b), 1 - I_x(a, b)) for 0 < x < 1 and a, b in reach, where ``regular`` (elsewhere the
    arguments are placeholders): cephes computes one of them directly (I itself, or with a and b
    swapped and x -> 1 - x beyond the mean, the other one), the other as 1 minus it. ``beta_terms``
    (`_beta_terms` of a and b), if given, is not computed again (a Loop's body passes it in)."""
    one, zero = _c(ctx, 1.0), _c(ctx, 0.0)
    beta_terms = beta_terms or _beta_terms(ctx, a, b)
    w = ctx.op.Sub(one, x)
    near_zero = ctx.op.And(ctx.op.LessOrEqual(ctx.op.Mul(b, x), one), ctx.op.LessOrEqual(x, _c(ctx, 0.95)))
    swap = ctx.op.And(ctx.op.Not(near_zero), ctx.op.Greater(x, ctx.op.Div(a, ctx.op.Add(a, b))))
    a_, b_ = ctx.op.Where(swap, b, a), ctx.op.Where(swap, a, b)
    x_, xc = ctx.op.Where(swap, w, x), ctx.op.Where(swap, x, w)
    series = ctx.op.Or(near_zero, ctx.op.And(swap, ctx.op.And(ctx.op.LessOrEqual(ctx.op.Mul(b_, x_), one),
                                                                  ctx.op.LessOrEqual(x_, _c(ctx, 0.95)))))
    first_fraction = ctx.op.Less(ctx.op.Sub(ctx.op.Mul(x_, ctx.op.Sub(ctx.op.Add(a_, b_), _c(ctx, 2.0))),
                                            ctx.op.Sub(a_, one)), zero)
    fraction_needed = ctx.op.And(regular, ctx.op.Not(series))
    total = _incbet_power_series(ctx, a_, b_, x_, ctx.op.And(regular, series))
    k = [a_, ctx.op.Add(a_, b_), a_, ctx.op.Add(a_, one), one, ctx.op.Sub(b_, one), ctx.op.Add(a_, one),
         ctx.op.Add(a_, _c(ctx, 2.0))]
    first = _incbet_continued_fraction(ctx, x_, k, (1.0, 1.0, 2.0, 2.0, 1.0, -1.0, 2.0, 2.0),
                                       ctx.op.And(fraction_needed, first_fraction))
    k = [a_, ctx.op.Sub(b_, one), a_, ctx.op.Add(a_, one), one, ctx.op.Add(a_, b_), ctx.op.Add(a_, one),
         ctx.op.Add(a_, _c(ctx, 2.0))]
    second = _incbet_continued_fraction(ctx, ctx.op.Div(x_, xc), k, (1.0, -1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0),
                                        ctx.op.And(fraction_needed, ctx.op.Not(first_fraction)))
    fraction = ctx.op.Where(first_fraction, first, ctx.op.Div(second, xc))
    # the series' result is s x^a / B(a, b); the fractions' w x^a (1 - x)^b / (a B(a, b)): as cephes,
    # by powers and gamma functions while a + b < MAXGAM and the powers stay in range, else by logarithms
    # (whose exp, unlike cephes', goes on into the subnormals as scipy's does)
    # log(1 - x) as log1p(-x): 1 - x is rounded, and b log(1 - x) would carry b times its rounding
    # (1.3e-12 at I_4e-6(2, 330469.5)); the same for the powers of 1 - x below
    log_x, log_w = ctx.op.Log(x), log1p(ctx, ctx.op.Neg(x), "float64")
    log_x_, log_xc = ctx.op.Where(swap, log_w, log_x), ctx.op.Where(swap, log_x, log_w)
    a_log_x, b_log_xc = ctx.op.Mul(a_, log_x_), ctx.op.Mul(b_, log_xc)
    # one logarithm serves both: log s for the series, b log(1 - x) + log(w / a) for the fractions
    rest = ctx.op.Where(series, ctx.op.Log(total), ctx.op.Add(b_log_xc, ctx.op.Log(ctx.op.Div(fraction, a_))))
    logarithmic = ctx.op.Exp(ctx.op.Add(ctx.op.Sub(a_log_x, beta_terms.log_beta), rest))
    in_range = ctx.op.And(ctx.op.Less(ctx.op.Add(a_, b_), _c(ctx, _MAX_GAMMA)),
                          ctx.op.Less(ctx.op.Abs(a_log_x), _c(ctx, _MAX_LOG)))
    in_range = ctx.op.And(in_range, ctx.op.Or(series, ctx.op.Less(ctx.op.Abs(b_log_xc), _c(ctx, _MAX_LOG))))
    small_a = ctx.op.Where(in_range, a_, one)
    small_b = ctx.op.Where(in_range, b_, one)
    reciprocal_beta = beta_terms.reciprocal_beta  # B is symmetric: a_, b_ are a and b in some order
    x_power = ctx.op.Where(swap, ctx.op.Exp(ctx.op.Mul(small_a, log_w)), ctx.op.Pow(x_, small_a))
    xc_power = ctx.op.Where(swap, ctx.op.Pow(xc, small_b), ctx.op.Exp(ctx.op.Mul(small_b, log_w)))
    series_direct = ctx.op.Mul(ctx.op.Mul(total, reciprocal_beta), x_power)
    fraction_direct = ctx.op.Mul(ctx.op.Mul(ctx.op.Div(ctx.op.Mul(xc_power, x_power), small_a),
                                            fraction), reciprocal_beta)
    direct = ctx.op.Where(series, series_direct, fraction_direct)
    t = ctx.op.Where(in_range, direct, logarithmic)
    return ctx.op.Where(swap, ctx.op.Sub(one, t), t), ctx.op.Where(swap, t, ctx.op.Sub(one, t))


def _incomplete_beta(ctx, a, b, x):
    """I_x(a, b) with cephes incbet's choice of method: the power series where b x <= 1 and x <= 0.95;
    otherwise, with a and b swapped and x -> 1 - x beyond the mean a / (a + b) (then 1 - I), the power
    series again or one of its two continued fractions; the prefactor x^a (1 - x)^b / (a B(a, b)) in
    logarithms. Edge values as scipy's betainc (Boost's ibeta) gives them."""
    zero, one, nan = _c(ctx, 0.0), _c(ctx, 1.0), _c(ctx, math.nan)
    given_a, given_b, given_x = a, b, x
    finite = ctx.op.Not(ctx.op.Or(ctx.op.IsInf(a), ctx.op.IsInf(b)))
    regular = ctx.op.And(ctx.op.And(ctx.op.Greater(a, zero), ctx.op.Greater(b, zero)),
                         ctx.op.And(ctx.op.And(ctx.op.Greater(x, zero), ctx.op.Less(x, one)), finite))
    # beyond the method's measured reach (see _INCBET_SMALL_B): NaN, without iterating
    low, high = _c(ctx, _INCBET_MIN_PARAMETER), _c(ctx, _INCBET_MAX_PARAMETER)
    beyond = ctx.op.Or(ctx.op.Or(ctx.op.Less(a, low), ctx.op.Less(b, low)),
                       ctx.op.Or(ctx.op.Greater(a, high), ctx.op.Greater(b, high)))
    near_one = ctx.op.Sub(one, x)
    crawling = ctx.op.And(ctx.op.And(ctx.op.Less(b, _c(ctx, _INCBET_SMALL_B)), ctx.op.Less(near_one, _c(ctx, _INCBET_NEAR_ONE))),
                          ctx.op.Less(ctx.op.Mul(a, near_one), _c(ctx, _INCBET_NEAR_ONE_A)))
    beyond = ctx.op.And(regular, ctx.op.Or(beyond, crawling))
    regular = ctx.op.And(regular, ctx.op.Not(beyond))
    # the Loops see in-range arguments only; the edge values are set below
    a = ctx.op.Where(regular, a, one)
    b = ctx.op.Where(regular, b, one)
    x = ctx.op.Where(regular, x, _c(ctx, 0.5))
    result, _ = _incomplete_beta_tails(ctx, a, b, x, regular)
    result = ctx.op.Where(beyond, nan, result)
    # edge values, applied last to first: x = 0 gives 0 and x = 1 gives 1, before a = 0 or b = inf (1)
    # and b = 0 or a = inf (0); a = b = 0, a = b = inf, NaN and arguments out of range give NaN
    a, b, x = given_a, given_b, given_x
    a_inf, b_inf = ctx.op.IsInf(a), ctx.op.IsInf(b)
    a_zero, b_zero = ctx.op.Equal(a, zero), ctx.op.Equal(b, zero)
    result = ctx.op.Where(ctx.op.Or(b_zero, a_inf), zero, result)
    result = ctx.op.Where(ctx.op.Or(a_zero, b_inf), one, result)
    result = ctx.op.Where(ctx.op.Equal(x, one), one, result)
    result = ctx.op.Where(ctx.op.Equal(x, zero), zero, result)
    invalid = ctx.op.Or(ctx.op.Or(ctx.op.Or(ctx.op.IsNaN(a), ctx.op.IsNaN(b)), ctx.op.IsNaN(x)),
                        ctx.op.Or(ctx.op.Or(ctx.op.Less(a, zero), ctx.op.Less(b, zero)),
                                  ctx.op.Or(ctx.op.Less(x, zero), ctx.op.Greater(x, one))))
    invalid = ctx.op.Or(invalid, ctx.op.Or(ctx.op.And(a_zero, b_zero), ctx.op.And(a_inf, b_inf)))
    return ctx.op.Where(invalid, nan, result)


@onnx_funcify.register(psm.BetaInc)
def onnx_funcify_BetaInc(op, node, ctx, inputs):
    out, (a, b, x) = _float64_broadcast(node, ctx, inputs)
    return [ctx.cast(_incomplete_beta(ctx, a, b, x), "float64", out)]


# ---- its inverse: betaincinv (x with I_x(a, b) = y) ----

_IBETA_INV_MAX_STEPS = 80  # Newton converges in under 10 from the start below; bisection in log x needs ~70


def _inverse_incomplete_beta(ctx, a, b, y):
    """x with I_x(a, b) = y for 0 < y < 1 and a, b in `_incomplete_beta`'s reach (the converter sets the
    rest). The root is solved for in the variable z that is at most 1/2 there (x where I_1/2(a, b) >= y,
    else w = 1 - x with I_w(b, a) = 1 - y, so z = x or 1 - x keeps its digits), with parameters (p, q),
    on the tail T that is the smaller there (T = I_z(p, q) or 1 - I_z(p, q), target tau = min(y, 1 - y),
    exact). Newton's method on g(u) = +-(log T - log tau) in u = log z, signed to increase with u, where
    dg/du = z f(z) / T with f the beta density, from the root of z^p / (p B(p, q)) = tau (or 1 - tau for
    the upper tail), within the bracket [smallest subnormal, 1/2] narrowed by g's signs: a step out of
    it, or not finite, bisects it in u. Stops once a step is within 2^-48 of the rounding's effect on u
    (T / (z f(z)), the inversion's condition), as `_inverse_incomplete_gamma` does. Returns x and where
    it is one (NaN elsewhere: outside the reach, or a root where I is not computed)."""
    zero, one, half = _c(ctx, 0.0), _c(ctx, 1.0), _c(ctx, 0.5)
    low, high = _c(ctx, _INCBET_MIN_PARAMETER), _c(ctx, _INCBET_MAX_PARAMETER)
    regular = ctx.op.And(ctx.op.And(ctx.op.GreaterOrEqual(a, low), ctx.op.LessOrEqual(a, high)),
                         ctx.op.And(ctx.op.GreaterOrEqual(b, low), ctx.op.LessOrEqual(b, high)))
    regular = ctx.op.And(regular, ctx.op.And(ctx.op.Greater(y, zero), ctx.op.Less(y, one)))
    a, b, y = ctx.op.Where(regular, a, one), ctx.op.Where(regular, b, one), ctx.op.Where(regular, y, half)
    at_half, _ = _incomplete_beta_tails(ctx, a, b, ctx.op.Add(ctx.op.Mul(a, zero), half), regular,
                                        _beta_terms(ctx, a, b))
    complement = ctx.op.Less(at_half, y)  # the root is above 1/2: solve for w = 1 - x
    p, q = ctx.op.Where(complement, b, a), ctx.op.Where(complement, a, b)
    lower_target = ctx.op.Where(complement, ctx.op.Sub(one, y), y)  # I_z(p, q) at the root
    lower_tail = ctx.op.LessOrEqual(lower_target, half)
    log_target = ctx.op.Log(ctx.op.Min(y, ctx.op.Sub(one, y)))
    sign = ctx.op.Where(lower_tail, one, _c(ctx, -1.0))
    beta_terms = _beta_terms(ctx, p, q)  # once, outside the Loop
    log_beta = beta_terms.log_beta
    level = ctx.op.Log(lower_target)  # the bound's root: I_z(p, q) <= z^p / (p B) = I at the root
    log_bound = ctx.op.Div(ctx.op.Add(ctx.op.Add(level, ctx.op.Log(p)), log_beta), p)
    smallest = _c(ctx, _SMALLEST_SUBNORMAL)
    start = ctx.op.Min(ctx.op.Max(ctx.op.Exp(ctx.op.Max(log_bound, _c(ctx, -745.0))), smallest), half)

    def step(body, iteration, values):
        z, bracket_low, bracket_high, done = values
        lower, upper = _incomplete_beta_tails(body, p, q, z, body.op.Not(done), beta_terms)
        tail = body.op.Where(lower_tail, lower, upper)
        g = body.op.Mul(sign, body.op.Sub(body.op.Log(tail), log_target))
        log_z_density = body.op.Sub(body.op.Add(body.op.Mul(p, body.op.Log(z)),
                                                body.op.Mul(body.op.Sub(q, one), log1p(body, body.op.Neg(z), "float64"))),
                                    log_beta)
        condition = body.op.Div(tail, body.op.Exp(log_z_density))  # 1 / (dg/du)
        return _bracketed_log_newton_step(body, [z, bracket_low, bracket_high, done], g, condition)

    z, _, _, _ = loop(ctx, ctx.constant(_IBETA_INV_MAX_STEPS, "int64"),
                      [(start, "float64", None), (ctx.op.Add(ctx.op.Mul(a, zero), smallest), "float64", None),
                       (ctx.op.Add(ctx.op.Mul(a, zero), half), "float64", None), (ctx.op.Not(regular), "bool", None)],
                      step, "inverse_incomplete_beta", keep_going=lambda body, values: _not_any(body, values[3]))
    return ctx.op.Where(complement, ctx.op.Sub(one, z), z), regular


@onnx_funcify.register(psm.BetaIncInv)
def onnx_funcify_BetaIncInv(op, node, ctx, inputs):
    out, (a, b, y) = _float64_broadcast(node, ctx, inputs)
    zero, one, nan = _c(ctx, 0.0), _c(ctx, 1.0), _c(ctx, math.nan)
    result, regular = _inverse_incomplete_beta(ctx, a, b, y)
    result = ctx.op.Where(regular, result, nan)
    # Boost's closed forms, for every a or b (infinite too): x = y^(1/a) for b = 1, and
    # 1 - (1 - y)^(1/b) for a = 1; other infinite parameters give NaN
    unit_b, unit_a = ctx.op.Equal(b, one), ctx.op.Equal(a, one)
    result = ctx.op.Where(ctx.op.Or(ctx.op.IsInf(a), ctx.op.IsInf(b)), nan, result)
    result = ctx.op.Where(unit_a, ctx.op.Neg(expm1(ctx, ctx.op.Div(log1p(ctx, ctx.op.Neg(y), "float64"), b), "float64")),
                          result)
    result = ctx.op.Where(unit_b, ctx.op.Pow(y, ctx.op.Reciprocal(a)), result)
    # y = 0 and 1 give 0 and 1, whatever the (positive) a and b
    result = ctx.op.Where(ctx.op.Equal(y, zero), zero, result)
    result = ctx.op.Where(ctx.op.Equal(y, one), one, result)
    invalid = ctx.op.Or(ctx.op.LessOrEqual(a, zero), ctx.op.LessOrEqual(b, zero))
    invalid = ctx.op.Or(invalid, ctx.op.Or(ctx.op.Less(y, zero), ctx.op.Greater(y, one)))
    invalid = ctx.op.Or(invalid, ctx.op.Or(ctx.op.Or(ctx.op.IsNaN(a), ctx.op.IsNaN(b)), ctx.op.IsNaN(y)))
    return [ctx.cast(ctx.op.Where(invalid, nan, result), "float64", out)]
