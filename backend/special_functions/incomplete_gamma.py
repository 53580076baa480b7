"""gammainc, gammaincc (regularized incomplete gamma P and Q, cephes' igam/igamc by region, each a
Loop) and their inverses gammaincinv, gammainccinv (bracketed Newton in log x). Numerical notes:
``docs/special_functions.md``, "Incomplete gamma functions and their inverses".

`IGAM_OUT_OF_REACH` is the largest a the series reach near x = a, `IGAMI_SMALLEST_TAIL` the smallest
tail the inverses solve for: beyond them the export gives NaN, which the registry's declarations
import rather than restate. To extend: another method for a region,
as a Loop built with `backend.helpers.loop` and combined by `_incomplete_gammas`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pytensor.scalar.math as psm
from onnx import TensorProto

from backend.basic import onnx_funcify
from backend.helpers import loop
from backend.numerics import (
    MACHEP,
    MAX_LOG,
    SMALLEST_SUBNORMAL,
    bracketed_log_newton_step,
    either,
    f64,
    float64_broadcast,
    masked_sum,
    not_any,
    polevl_many,
)
from backend.scalar import expm1, log1p
from backend.special_functions.gamma import lgamma64
from backend.special_functions.zeta import ZETA_EULER_MACLAURIN

_IGAM_MAX_STEPS = 2000  # cephes' MAXITER for the series and the continued fraction
# where scipy uses Temme's expansion (x near a > 20), the series and the continued fraction take
# ~9 sqrt(a) steps: cephes' 2000 serve a up to ~1e5 (measured); more would make every call that
# meets a larger a slow (each step is a pass of the Loop body). Beyond IGAM_OUT_OF_REACH, in
# scipy's asymptotic region, the result is NaN rather than an unconverged sum.
_IGAM_MAX_STEPS_NEAR_A = 2000
IGAM_OUT_OF_REACH = 8e4
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
    for k, denominator in enumerate(ZETA_EULER_MACLAURIN[:6]):
        factor *= n + 2 * k
        power /= w
        tail += factor * power / denominator
        factor *= n + 2 * k + 1
        power /= w
    return head + tail


_LGAMMA1P_TAYLOR = [_riemann_zeta_integer(n) / n for n in range(2, 42)]  # lgamma(1+x) = -gamma x + sum z(n)/n (-x)^n


def _lgamma1p_taylor(ctx, t):
    """lgamma(1 + t) for |t| <= 1/2 by its Taylor series, stopping where cephes stops."""
    result = ctx.op.Mul(f64(ctx, -_EULER_GAMMA), t)
    power = ctx.op.Neg(t)
    done = ctx.op.Equal(t, f64(ctx, 0.0))
    for coefficient in _LGAMMA1P_TAYLOR:
        power = ctx.op.Mul(power, ctx.op.Neg(t))
        term = ctx.op.Mul(f64(ctx, coefficient), power)
        result = masked_sum(ctx, result, term, done)
        done = ctx.op.Or(done, ctx.op.Less(ctx.op.Abs(term), ctx.op.Mul(f64(ctx, MACHEP), ctx.op.Abs(result))))
    return ctx.op.Where(ctx.op.Equal(t, f64(ctx, 0.0)), f64(ctx, 0.0), result)


# lgamma(2 + t) = (1 - gamma) t + sum (-1)^n (zeta(n) - 1) / n t^n: the terms fall like (|t| / 2)^n, so
# 40 of them reach rounding for |t| <= 3/4
_LGAMMA_NEAR_TWO = [(_riemann_zeta_integer(n) - 1.0) / n for n in range(2, 42)]


def _lgamma_near_two(ctx, t):
    """lgamma(2 + t) for -3/4 <= t <= 1/4 by its Taylor series around 2, to rounding."""
    result = ctx.op.Mul(f64(ctx, 1.0 - _EULER_GAMMA), t)
    power = ctx.op.Neg(t)
    for coefficient in _LGAMMA_NEAR_TWO:
        power = ctx.op.Mul(power, ctx.op.Neg(t))
        result = ctx.op.Add(result, ctx.op.Mul(f64(ctx, coefficient), power))
    return result


def _lgamma1p(ctx, a):
    """cephes' lgam1p: the Taylor series around 0, and around 1 (plus log(a)), lgamma(a + 1) elsewhere;
    one Taylor evaluation serves both."""
    half = f64(ctx, 0.5)
    shifted = ctx.op.Sub(a, f64(ctx, 1.0))
    near_zero = ctx.op.LessOrEqual(ctx.op.Abs(a), half)
    near_one = ctx.op.Less(ctx.op.Abs(shifted), half)
    t = ctx.op.Where(near_zero, a, shifted)
    taylor = _lgamma1p_taylor(ctx, ctx.op.Min(ctx.op.Max(t, ctx.op.Neg(half)), half))
    result = ctx.op.Where(near_one, ctx.op.Add(ctx.op.Log(a), taylor), lgamma64(ctx, ctx.op.Add(a, f64(ctx, 1.0))))
    return ctx.op.Where(near_zero, taylor, result)


def _log1pmx(ctx, t):
    """log(1 + t) - t: its series below |t| = 1/2 (cephes' order and stopping rule), log1p(t) - t above."""
    half = f64(ctx, 0.5)
    u = ctx.op.Min(ctx.op.Max(t, ctx.op.Neg(half)), half)
    power, result, done = u, f64(ctx, 0.0), ctx.op.Equal(u, f64(ctx, 0.0))
    for n in range(2, 60):  # |u| < 1/2: the terms fall below 2^-53 of the sum within 60
        power = ctx.op.Mul(power, ctx.op.Neg(u))
        term = ctx.op.Div(power, f64(ctx, float(n)))
        result = masked_sum(ctx, result, term, done)
        done = ctx.op.Or(done, ctx.op.Less(ctx.op.Abs(term), ctx.op.Mul(f64(ctx, MACHEP), ctx.op.Abs(result))))
    far = ctx.op.Sub(log1p(ctx, t, "float64"), t)
    return ctx.op.Where(ctx.op.Less(ctx.op.Abs(t), half), result, far)


def _lanczos_sum_expg_scaled(ctx, a):
    """cephes' ratevl of the Lanczos sum for a > 0: in a below 1, in 1/a (coefficients reversed) above."""
    small, large = ctx.op.Min(a, f64(ctx, 1.0)), ctx.op.Reciprocal(ctx.op.Max(a, f64(ctx, 1.0)))
    values = polevl_many(ctx, [(_LANCZOS_NUMERATOR, small, False), (_LANCZOS_DENOMINATOR, small, False),
                               (_LANCZOS_NUMERATOR[::-1], large, False), (_LANCZOS_DENOMINATOR[::-1], large, False)])
    below, above = ctx.op.Div(values[0], values[1]), ctx.op.Div(values[2], values[3])
    return ctx.op.Where(ctx.op.Greater(a, f64(ctx, 1.0)), above, below)


def _igam_prefactor(ctx, a, x, lgamma_a):
    """x^a e^-x / gamma(a) as cephes' igam_fac: exp(a log x - x - lgamma(a)) (0 below exp's range) away
    from a = x, the Lanczos form near it. For a <= 5/4, a exp(a log x - x - lgamma(1 + a)) instead,
    with lgamma(1 + a) from Taylor series exact to rounding (cephes' around 1 up to a = 1/4, around 2
    beyond): the export's lgamma (unlike cephes') is 10-50 ULPs off there, which exp would carry into
    P and Q (measured against mpmath: up to 90 ULPs at a = 1e-4)."""
    quarter = f64(ctx, 0.25)
    small_a = ctx.op.LessOrEqual(a, f64(ctx, 1.25))
    near_two = _lgamma_near_two(ctx, ctx.op.Min(ctx.op.Max(ctx.op.Sub(a, f64(ctx, 1.0)), f64(ctx, -0.75)), quarter))
    log_gamma_1p = ctx.op.Where(ctx.op.LessOrEqual(a, quarter), _lgamma1p_taylor(ctx, ctx.op.Min(a, quarter)), near_two)
    log_gamma = ctx.op.Where(small_a, log_gamma_1p, lgamma_a)
    direct = ctx.op.Sub(ctx.op.Sub(ctx.op.Mul(a, ctx.op.Log(x)), x), log_gamma)
    direct = ctx.op.Where(ctx.op.Less(direct, f64(ctx, -MAX_LOG)), f64(ctx, 0.0), ctx.op.Exp(direct))
    direct = ctx.op.Where(small_a, ctx.op.Mul(a, direct), direct)
    fac = ctx.op.Add(a, f64(ctx, _LANCZOS_G - 0.5))
    res = ctx.op.Div(ctx.op.Sqrt(ctx.op.Div(fac, f64(ctx, math.e))), _lanczos_sum_expg_scaled(ctx, a))
    small = ctx.op.Mul(ctx.op.Exp(ctx.op.Sub(a, x)), ctx.op.Pow(ctx.op.Div(x, fac), a))
    num = ctx.op.Add(ctx.op.Sub(ctx.op.Sub(x, a), f64(ctx, _LANCZOS_G)), f64(ctx, 0.5))
    large = ctx.op.Exp(ctx.op.Add(ctx.op.Mul(a, _log1pmx(ctx, ctx.op.Div(num, fac))),
                                  ctx.op.Div(ctx.op.Mul(x, f64(ctx, 0.5 - _LANCZOS_G)), fac)))
    both_small = ctx.op.And(ctx.op.Less(a, f64(ctx, 200.0)), ctx.op.Less(x, f64(ctx, 200.0)))
    lanczos = ctx.op.Mul(res, ctx.op.Where(both_small, small, large))
    away = ctx.op.Greater(ctx.op.Abs(ctx.op.Sub(a, x)), ctx.op.Mul(f64(ctx, 0.4), ctx.op.Abs(a)))
    return ctx.op.Where(away, direct, lanczos)


def _igam_series(ctx, a, x, prefactor, needed):
    """P(a, x) by its power series where ``needed`` (cephes' igam_series); 0 where the prefactor
    x^a e^-x / gamma(a) underflows, without summing (the sum may overflow there)."""
    one = f64(ctx, 1.0)
    underflow = ctx.op.Equal(prefactor, f64(ctx, 0.0))
    needed = ctx.op.And(needed, ctx.op.Not(underflow))

    def step(body, iteration, values):
        r, c, total, done = values
        r = body.op.Add(r, body.constant(1.0, "float64"))
        c = body.op.Mul(c, body.op.Div(x, r))
        total = masked_sum(body, total, c, done)
        done = body.op.Or(done, body.op.LessOrEqual(c, body.op.Mul(body.constant(MACHEP, "float64"), total)))
        return [r, c, total, done]

    ones = ctx.op.Add(ctx.op.Mul(a, f64(ctx, 0.0)), one)
    _, _, total, _ = loop(ctx, ctx.constant(_IGAM_MAX_STEPS_NEAR_A, "int64"),
                          [(a, "float64", None), (ones, "float64", None), (ones, "float64", None),
                           (ctx.op.Not(needed), "bool", None)], step, "igam_series",
                          keep_going=lambda body, values: not_any(body, values[3]))
    return ctx.op.Where(underflow, f64(ctx, 0.0), ctx.op.Div(ctx.op.Mul(total, prefactor), a))


def _igamc_continued_fraction(ctx, a, x, prefactor, needed):
    """Q(a, x) by its continued fraction where ``needed`` (cephes' igamc_continued_fraction); 0 where
    the prefactor underflows, without iterating (the convergents may overflow there)."""
    one = f64(ctx, 1.0)
    underflow = ctx.op.Equal(prefactor, f64(ctx, 0.0))
    needed = ctx.op.And(needed, ctx.op.Not(underflow))
    y = ctx.op.Sub(one, a)
    z = ctx.op.Add(ctx.op.Add(x, y), one)
    zero = ctx.op.Mul(a, f64(ctx, 0.0))
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
        done = body.op.Or(done, body.op.LessOrEqual(change, body.constant(MACHEP, "float64")))
        return [c, y, z, pkm2, pkm1, qkm2, qkm1, answer, done]

    carried = [zero, y, z, pkm2, pkm1, qkm2, qkm1, answer]
    finals = loop(ctx, ctx.constant(_IGAM_MAX_STEPS_NEAR_A, "int64"),
                  [(v, "float64", None) for v in carried] + [(ctx.op.Not(needed), "bool", None)], step,
                  "igamc_fraction", keep_going=lambda body, values: not_any(body, values[8]))
    return ctx.op.Where(underflow, f64(ctx, 0.0), ctx.op.Mul(finals[7], prefactor))


def _igamc_small_x_series(ctx, a, x, lgamma_a, needed):
    """Q(a, x) for small x by DLMF 8.7.3 where ``needed`` (cephes' igamc_series)."""
    zero = ctx.op.Mul(a, f64(ctx, 0.0))

    def step(body, iteration, values):
        fac, total, done = values
        n = body.op.Add(body.op.Cast(iteration, to=TensorProto.DOUBLE), body.constant(1.0, "float64"))
        fac = body.op.Mul(fac, body.op.Div(body.op.Neg(x), n))
        term = body.op.Div(fac, body.op.Add(a, n))
        total = masked_sum(body, total, term, done)
        done = body.op.Or(done, body.op.LessOrEqual(body.op.Abs(term),
                                                    body.op.Mul(body.constant(MACHEP, "float64"), body.op.Abs(total))))
        return [fac, total, done]

    _, total, _ = loop(ctx, ctx.constant(_IGAM_MAX_STEPS - 1, "int64"),
                       [(ctx.op.Add(zero, f64(ctx, 1.0)), "float64", None), (zero, "float64", None),
                        (ctx.op.Not(needed), "bool", None)], step, "igamc_series",
                       keep_going=lambda body, values: not_any(body, values[2]))
    a_log_x = ctx.op.Mul(a, ctx.op.Log(x))
    scaled_power = ctx.op.Sub(a_log_x, _lgamma1p(ctx, a))  # log(x^a / gamma(a + 1))
    head = ctx.op.Neg(expm1(ctx, scaled_power, "float64"))
    # x^a / gamma(a): for a <= 1/4 as a x^a / gamma(a + 1), as in _igam_prefactor (the result cancels
    # up to 4x, so lgamma(a)'s rounding would show)
    power = ctx.op.Where(ctx.op.LessOrEqual(a, f64(ctx, 0.25)), ctx.op.Mul(a, ctx.op.Exp(scaled_power)),
                         ctx.op.Exp(ctx.op.Sub(a_log_x, lgamma_a)))
    return ctx.op.Sub(head, ctx.op.Mul(power, total))


class IncompleteGammas(NamedTuple):
    p: str | None  # P(a, x), if asked for
    q: str | None  # Q(a, x), if asked for
    prefactor: str  # x^a e^-x / gamma(a) (1 where a or x is an edge value)


def _incomplete_gammas(ctx, a, x, *, lower: bool, upper: bool, lgamma_a=None) -> IncompleteGammas:
    """P(a, x) (if ``lower``) and Q(a, x) (if ``upper``) with cephes' choice of method and its edge
    values; asking for both runs each Loop once for the elements either needs. ``lgamma_a``, if
    given, is lgamma(a) (for a Loop body, where a does not change)."""
    zero, one = f64(ctx, 0.0), f64(ctx, 1.0)
    nan = f64(ctx, math.nan)
    # the Loops see in-range arguments only; the edge cases are set below
    regular = ctx.op.And(ctx.op.And(ctx.op.Greater(a, zero), ctx.op.Greater(x, zero)),
                         ctx.op.Not(ctx.op.Or(ctx.op.IsInf(a), ctx.op.IsInf(x))))
    # beyond the series' reach (see IGAM_OUT_OF_REACH): NaN, without iterating
    beyond = ctx.op.And(ctx.op.Greater(a, f64(ctx, IGAM_OUT_OF_REACH)),
                        ctx.op.Less(ctx.op.Div(ctx.op.Abs(ctx.op.Sub(x, a)), a),
                                    ctx.op.Div(f64(ctx, 4.5), ctx.op.Sqrt(a))))
    beyond = ctx.op.And(regular, beyond)
    regular = ctx.op.And(regular, ctx.op.Not(beyond))
    a_in = ctx.op.Where(regular, a, one)
    x_in = ctx.op.Where(regular, x, one)
    x_above_1_1 = ctx.op.Greater(x_in, f64(ctx, 1.1))
    x_below_a = ctx.op.Less(x_in, a_in)
    x_at_most_half = ctx.op.LessOrEqual(x_in, f64(ctx, 0.5))
    # igamc's regions: 1 - series, the continued fraction, or the small-x series
    small_a = either(ctx, x_at_most_half, ctx.op.Less(ctx.op.Div(f64(ctx, -0.4), ctx.op.Log(x_in)), a_in),
                      ctx.op.Less(ctx.op.Mul(x_in, f64(ctx, 1.1)), a_in))
    use_series = either(ctx, x_above_1_1, x_below_a, small_a)
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
    lgamma_a = lgamma64(ctx, a_in) if lgamma_a is None else ctx.op.Where(regular, lgamma_a, zero)
    prefactor = _igam_prefactor(ctx, a_in, x_in, lgamma_a)
    series = _igam_series(ctx, a_in, x_in, prefactor, series_needed)
    fraction = _igamc_continued_fraction(ctx, a_in, x_in, prefactor, fraction_needed)
    small_x = _igamc_small_x_series(ctx, a_in, x_in, lgamma_a, small_x_needed)
    q = ctx.op.Where(use_series, ctx.op.Sub(one, series), ctx.op.Where(use_fraction, fraction, small_x))
    p = ctx.op.Where(complement, ctx.op.Sub(one, q), series)
    # a subnormal a has too few digits for the series' a x^a e^-x / gamma(1 + a) / a (it gave up to 2):
    # there 1 - P ~ a E1(x) < 2e-305, so P is 1 to rounding (x = 0 is an edge value below)
    p = ctx.op.Where(ctx.op.Less(a_in, f64(ctx, _SMALLEST_NORMAL)), one, p)
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


def _incomplete_gamma_converter(upper: bool):
    def convert(op, node, ctx, inputs):
        out, (a, x) = float64_broadcast(node, ctx, inputs)
        return [ctx.cast(_incomplete_gamma(ctx, a, x, upper=upper), "float64", out)]
    convert.__name__ = "onnx_funcify_GammaIncC" if upper else "onnx_funcify_GammaInc"
    return convert


onnx_funcify.register(psm.GammaInc)(_incomplete_gamma_converter(upper=False))
onnx_funcify.register(psm.GammaIncC)(_incomplete_gamma_converter(upper=True))

# ---- their inverses: gammaincinv (x with P(a, x) = p) and gammainccinv (x with Q(a, x) = q) ----

_IGAMI_MAX_STEPS = 64  # Newton converges in under 10 from the starts below; bisection needs ~60 at most
_IGAMI_SWITCH = 0.9  # beyond this y, the other tail is solved for (as scipy's igami/igamci do)
# cephes' prefactor x^a e^-x / gamma(a) is 0 below exp(-709.78), so the Newton iteration cannot see a
# tail that small: where the smaller tail is below 1e-300 the result is NaN (unless the root is below
# the smallest normal, where P's bound is the answer); scipy starts from DiDonato & Morris' asymptotic
# estimates there
IGAMI_SMALLEST_TAIL = 1e-300
_LARGEST_FLOAT64 = float(np.finfo(np.float64).max)
_SMALLEST_NORMAL = float(np.finfo(np.float64).tiny)
# Abramowitz & Stegun 26.2.23: the normal quantile to 4.5e-4, enough for a starting point
_NORMAL_QUANTILE_NUMERATOR = (2.515517, 0.802853, 0.010328)
_NORMAL_QUANTILE_DENOMINATOR = (1.0, 1.432788, 0.189269, 0.001308)


def _rough_upper_normal_quantile(ctx, t):
    """z with 1 - Phi(z) = t, for 0 < t <= 1/2, to 4.5e-4 (a starting point only)."""
    w = ctx.op.Sqrt(ctx.op.Mul(f64(ctx, -2.0), ctx.op.Log(t)))
    # c0 + c1 w + ...: lowest power first, reversed for polevl_many
    numerator, denominator = polevl_many(ctx, [(_NORMAL_QUANTILE_NUMERATOR[::-1], w, False),
                                               (_NORMAL_QUANTILE_DENOMINATOR[::-1], w, False)])
    correction = ctx.op.Div(numerator, denominator)
    return ctx.op.Sub(w, correction)


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
    the rest), NaN where the smaller tail is below IGAMI_SMALLEST_TAIL."""
    zero, one, half = f64(ctx, 0.0), f64(ctx, 1.0), f64(ctx, 0.5)
    nan = f64(ctx, math.nan)
    regular = ctx.op.And(ctx.op.And(ctx.op.Greater(a, zero), ctx.op.LessOrEqual(a, f64(ctx, IGAM_OUT_OF_REACH))),
                         ctx.op.And(ctx.op.Greater(y, zero), ctx.op.Less(y, one)))
    a = ctx.op.Where(regular, a, one)
    y = ctx.op.Where(regular, y, half)
    y_large = ctx.op.Greater(y, f64(ctx, _IGAMI_SWITCH))
    target = ctx.op.Where(y_large, ctx.op.Sub(one, y), y)  # exact: y > 0.9 there
    solve_p = y_large if upper else ctx.op.Not(y_large)  # which tail T is, per element
    log_target = ctx.op.Log(target)
    lower_probability = ctx.op.Where(solve_p, target, ctx.op.Sub(one, target))  # P at the root (rounded)
    smaller_tail = ctx.op.Min(y, ctx.op.Sub(one, y))
    # x_low: P(a, x_low) <= target (solving for P) or <= (1 - target) / 2 (for Q, so Q(a, x_low) > target)
    lgamma_a_plus_1 = _lgamma1p(ctx, a)
    level = ctx.op.Where(solve_p, log_target, ctx.op.Log(ctx.op.Mul(half, lower_probability)))
    log_low = ctx.op.Div(ctx.op.Add(level, lgamma_a_plus_1), a)
    low = ctx.op.Exp(ctx.op.Max(log_low, f64(ctx, -745.0)))  # 0 (or 5e-324) where it underflows
    # P's start: the bound, or Wilson & Hilferty's x = a (1 - 1/(9a) + z / (3 sqrt(a)))^3 if larger
    # (for large a the bound is far below the root); Q's: Wilson & Hilferty, or a - log q; z is the
    # normal quantile of P at the root
    z = _rough_upper_normal_quantile(ctx, smaller_tail)
    z = ctx.op.Where(ctx.op.LessOrEqual(lower_probability, half), ctx.op.Neg(z), z)
    base = ctx.op.Add(ctx.op.Sub(one, ctx.op.Div(one, ctx.op.Mul(f64(ctx, 9.0), a))),
                      ctx.op.Div(z, ctx.op.Mul(f64(ctx, 3.0), ctx.op.Sqrt(a))))
    wilson_hilferty = ctx.op.Mul(a, ctx.op.Mul(ctx.op.Mul(base, base), base))
    usable = ctx.op.Greater(base, zero)
    p_start = ctx.op.Where(usable, ctx.op.Max(low, wilson_hilferty), low)
    q_start = ctx.op.Where(usable, wilson_hilferty, ctx.op.Sub(a, log_target))
    start = ctx.op.Max(ctx.op.Where(solve_p, p_start, q_start), f64(ctx, SMALLEST_SUBNORMAL))
    lgamma_a = lgamma64(ctx, a)
    sign = ctx.op.Where(solve_p, one, f64(ctx, -1.0))  # g(u) = sign (log T - log target) increases with u

    def step(body, iteration, values):
        x, bracket_low, bracket_high, done = values
        gammas = _incomplete_gammas(body, a, x, lower=True, upper=True, lgamma_a=lgamma_a)
        tail = body.op.Where(solve_p, gammas.p, gammas.q)
        g = body.op.Mul(sign, body.op.Sub(body.op.Log(tail), log_target))
        condition = body.op.Div(tail, gammas.prefactor)  # 1 / (dg/du)
        return bracketed_log_newton_step(body, [x, bracket_low, bracket_high, done], g, condition)

    floor = ctx.op.Max(ctx.op.Where(solve_p, low, zero), f64(ctx, SMALLEST_SUBNORMAL))
    # the bound is below the root; for a tiny bound (the root near it) the bound is the answer
    underflowing_root = ctx.op.And(solve_p, ctx.op.Less(low, f64(ctx, _SMALLEST_NORMAL)))
    settled = ctx.op.Or(ctx.op.Not(regular), underflowing_root)
    x, _, _, _ = loop(ctx, ctx.constant(_IGAMI_MAX_STEPS, "int64"),
                      [(start, "float64", None), (floor, "float64", None),
                       (ctx.op.Add(ctx.op.Mul(a, zero), f64(ctx, _LARGEST_FLOAT64)), "float64", None),
                       (settled, "bool", None)], step, "inverse_incomplete_gamma",
                      keep_going=lambda body, values: not_any(body, values[3]))
    result = ctx.op.Where(underflowing_root, ctx.op.Exp(log_low), x)
    too_small = ctx.op.And(ctx.op.Less(smaller_tail, f64(ctx, IGAMI_SMALLEST_TAIL)), ctx.op.Not(underflowing_root))
    return ctx.op.Where(too_small, nan, result)


def _inverse_incomplete_gamma_converter(upper: bool):
    def convert(op, node, ctx, inputs):
        out, (a, y) = float64_broadcast(node, ctx, inputs)
        zero, one, nan = f64(ctx, 0.0), f64(ctx, 1.0), f64(ctx, math.nan)
        result = _inverse_incomplete_gamma(ctx, a, y, upper=upper)
        # scipy's order: NaN; a < 0 or y outside [0, 1] (a domain error); y = 0 or 1, for every a >= 0
        # (-0.0 included); then NaN for a = 0, subnormal or inf (its starting point is NaN there)
        degenerate = ctx.op.Or(ctx.op.Less(a, f64(ctx, _SMALLEST_NORMAL)), ctx.op.IsInf(a))
        degenerate = ctx.op.Or(degenerate, ctx.op.Greater(a, f64(ctx, IGAM_OUT_OF_REACH)))
        result = ctx.op.Where(degenerate, nan, result)
        at_zero, at_one = (f64(ctx, math.inf), zero) if upper else (zero, f64(ctx, math.inf))
        result = ctx.op.Where(ctx.op.Equal(y, zero), at_zero, result)
        result = ctx.op.Where(ctx.op.Equal(y, one), at_one, result)
        invalid = ctx.op.Or(ctx.op.Less(a, zero), ctx.op.Or(ctx.op.Less(y, zero), ctx.op.Greater(y, one)))
        invalid = ctx.op.Or(invalid, ctx.op.Or(ctx.op.IsNaN(a), ctx.op.IsNaN(y)))
        return [ctx.cast(ctx.op.Where(invalid, nan, result), "float64", out)]
    convert.__name__ = "onnx_funcify_GammaIncCInv" if upper else "onnx_funcify_GammaIncInv"
    return convert


onnx_funcify.register(psm.GammaIncInv)(_inverse_incomplete_gamma_converter(upper=False))
onnx_funcify.register(psm.GammaIncCInv)(_inverse_incomplete_gamma_converter(upper=True))
