"""betainc (cephes' incbet: power series and two continued fractions, Loops) and betaincinv
(Newton on the logarithm of the smaller tail, a Loop whose body is betainc's composition). Numerical
notes: ``docs/special_functions.md``, "The incomplete beta function and its inverse".

`INCBET_MIN_PARAMETER`, `INCBET_MAX_PARAMETER`, `INCBET_SMALL_B`, `INCBET_NEAR_ONE` and
`INCBET_NEAR_ONE_A` bound the measured reach of the method: outside it the export gives NaN, which the registry's declarations import rather than
restate. To extend: another region's method, selected in `_incomplete_beta_tails`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import pytensor.scalar.math as psm

from backend.basic import onnx_funcify
from backend.helpers import loop
from backend.numerics import (
    MACHEP,
    MAX_LOG,
    SMALLEST_SUBNORMAL,
    bracketed_log_newton_step,
    f64,
    float64_broadcast,
    masked_sum,
    not_any,
)
from backend.scalar import expm1, log1p
from backend.special_functions.gamma import MAX_GAMMA, SHIFT_TO, gamma64, lgamma64, stirling_correction

# ---- the regularized incomplete beta function I_x(a, b) (betainc) ----

_INCBET_MAX_STEPS = 3000  # cephes stops at 300, unconverged for small b and x near 1 (measured: up to 456 needed)
# The reach of cephes' method, measured against mpmath (30 digits) on 2e5 triples with a, b log-uniform
# over 1e-8..1e8 and x uniform, near 0 and near 1: within 8 ULPs of the prefactor's terms everywhere but
# where b < 0.0036, 1 - x < 6.5e-4 and a (1 - x) < 0.0061 (errors up to 1e-5 relative: 1 - I_(1-x)(b, a)
# cancels, or the first fraction crawls). The export gives NaN there (with margins), and beyond the
# measured range of a and b.
INCBET_SMALL_B = 0.01
INCBET_NEAR_ONE = 1e-3
INCBET_NEAR_ONE_A = 0.05
INCBET_MIN_PARAMETER = 1e-8
INCBET_MAX_PARAMETER = 1e8
_INCBET_BIG = 4.503599627370496e15  # the convergents are rescaled beyond this (and below its inverse)


def _incbet_power_series(ctx, a, b, x, needed):
    """cephes' incbet pseries without its prefactor: the sum s with I_x(a, b) = s x^a / B(a, b), where
    ``needed`` (for b x <= 1 and x <= 0.95)."""
    one = f64(ctx, 1.0)
    reciprocal_a = ctx.op.Div(one, a)
    u = ctx.op.Mul(ctx.op.Sub(one, b), x)
    v = ctx.op.Div(u, ctx.op.Add(a, one))
    threshold = ctx.op.Mul(f64(ctx, MACHEP), reciprocal_a)

    def step(body, iteration, values):
        n, t, total, done = values
        t = body.op.Mul(t, body.op.Div(body.op.Mul(body.op.Sub(n, b), x), n))
        term = body.op.Div(t, body.op.Add(a, n))
        total = masked_sum(body, total, term, done)
        done = body.op.Or(done, body.op.LessOrEqual(body.op.Abs(term), threshold))
        return [body.op.Add(n, body.constant(1.0, "float64")), t, total, done]

    zero = ctx.op.Mul(a, f64(ctx, 0.0))
    done = ctx.op.Or(ctx.op.Not(needed), ctx.op.LessOrEqual(ctx.op.Abs(v), threshold))
    # cephes sums while the term exceeds the threshold, without a step limit; a needed element's
    # terms fall geometrically (|(n - b) x / n| < 1 once n > b), so the cap is only a bound
    _, _, total, _ = loop(ctx, ctx.constant(10 * _INCBET_MAX_STEPS, "int64"),
                          [(ctx.op.Add(zero, f64(ctx, 2.0)), "float64", None), (u, "float64", None),
                           (zero, "float64", None), (done, "bool", None)], step, "incbet_series",
                          keep_going=lambda body, values: not_any(body, values[3]))
    return ctx.op.Add(ctx.op.Add(total, v), reciprocal_a)


def _incbet_continued_fraction(ctx, z, starts, steps, needed):
    """cephes' incbcf and incbd: the continued fraction with coefficients k1..k8 (``starts``, moved by
    ``steps`` per iteration) in z = x (incbcf) or x / (1 - x) (incbd), where ``needed``; stops once a
    convergent changes by less than 3 MACHEP relatively."""
    one, zero = f64(ctx, 1.0), ctx.op.Mul(z, f64(ctx, 0.0))
    big, small = f64(ctx, _INCBET_BIG), f64(ctx, 1.0 / _INCBET_BIG)

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
        converged = body.op.Less(change, f64(body, 3.0 * MACHEP))
        k = [body.op.Add(value, f64(body, delta)) for value, delta in zip(k, steps)]
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
                  "incbet_fraction", keep_going=lambda body, values: not_any(body, values[14]))
    return finals[12]


def _beta(ctx, a, b):
    """B(a, b) for a + b below MAXGAM as cephes' beta: gamma(a + b) divides the factor it cancels best."""
    gamma_a, gamma_b, gamma_sum = gamma64(ctx, a), gamma64(ctx, b), gamma64(ctx, ctx.op.Add(a, b))
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
    half_log_two_pi = f64(ctx, 0.5 * math.log(2 * math.pi))
    ten, half = f64(ctx, SHIFT_TO), f64(ctx, 0.5)
    small, large = ctx.op.Min(a, b), ctx.op.Max(a, b)
    total = ctx.op.Add(small, large)
    # each formula sees arguments inside its own region (the others' values are discarded)
    large_enough = ctx.op.Max(large, ten)
    both_large = ctx.op.GreaterOrEqual(small, ten)
    s = ctx.op.Where(both_large, small, ten)
    st_total = ctx.op.Add(s, large_enough)
    corrections = ctx.op.Sub(ctx.op.Add(stirling_correction(ctx, s), stirling_correction(ctx, large_enough)),
                             stirling_correction(ctx, st_total))
    logs = ctx.op.Mul(half, ctx.op.Sub(ctx.op.Log(st_total), ctx.op.Add(ctx.op.Log(s), ctx.op.Log(large_enough))))
    both = ctx.op.Add(ctx.op.Sub(ctx.op.Sub(half_log_two_pi, ctx.op.Mul(s, log1p(ctx, ctx.op.Div(large_enough, s), "float64"))),
                                 ctx.op.Mul(large_enough, log1p(ctx, ctx.op.Div(s, large_enough), "float64"))),
                      ctx.op.Add(logs, corrections))
    r = ctx.op.Where(both_large, ten, small)  # the small one, below 10
    r_total = ctx.op.Add(r, large_enough)
    one_large = ctx.op.Add(lgamma64(ctx, r), r)
    one_large = ctx.op.Sub(one_large, ctx.op.Mul(r, ctx.op.Log(r_total)))
    one_large = ctx.op.Sub(one_large, ctx.op.Mul(ctx.op.Sub(large_enough, half), log1p(ctx, ctx.op.Div(r, large_enough), "float64")))
    one_large = ctx.op.Add(one_large, ctx.op.Sub(stirling_correction(ctx, large_enough), stirling_correction(ctx, r_total)))
    plain = ctx.op.Sub(ctx.op.Add(lgamma64(ctx, a), lgamma64(ctx, b)), lgamma64(ctx, total))
    return ctx.op.Where(both_large, both, ctx.op.Where(ctx.op.GreaterOrEqual(large, ten), one_large, plain))


class BetaTerms(NamedTuple):
    log_beta: str  # log B(a, b)
    reciprocal_beta: str  # 1 / B(a, b) where a + b < MAXGAM (placeholder values elsewhere)


def _beta_terms(ctx, a, b) -> BetaTerms:
    """B(a, b) as `_incomplete_beta_tails` needs it, symmetric in a and b: its logarithm, and its
    reciprocal below 10 as cephes, from gamma functions (each within an ULP or two), and above as
    exp(-log B), whose error is relative to |log B| (gamma(98)'s rounding gave 2.7e-14 at B(0.172, 98))."""
    log_beta = _log_beta(ctx, a, b)
    below_ten = ctx.op.Less(ctx.op.Max(a, b), f64(ctx, SHIFT_TO))
    one = f64(ctx, 1.0)
    small_a, small_b = ctx.op.Where(below_ten, a, one), ctx.op.Where(below_ten, b, one)
    reciprocal_beta = ctx.op.Where(below_ten, ctx.op.Div(one, _beta(ctx, small_a, small_b)),
                                   ctx.op.Exp(ctx.op.Neg(log_beta)))
    return BetaTerms(log_beta, reciprocal_beta)


def _incomplete_beta_tails(ctx, a, b, x, regular, beta_terms: BetaTerms | None = None):
    """(I_x(a, b), 1 - I_x(a, b)) for 0 < x < 1 and a, b in reach, where ``regular`` (elsewhere the
    arguments are placeholders): cephes computes one of them directly (I itself, or with a and b
    swapped and x -> 1 - x beyond the mean, the other one), the other as 1 minus it. ``beta_terms``
    (`_beta_terms` of a and b), if given, is not computed again (a Loop's body passes it in)."""
    one, zero = f64(ctx, 1.0), f64(ctx, 0.0)
    beta_terms = beta_terms or _beta_terms(ctx, a, b)
    w = ctx.op.Sub(one, x)
    near_zero = ctx.op.And(ctx.op.LessOrEqual(ctx.op.Mul(b, x), one), ctx.op.LessOrEqual(x, f64(ctx, 0.95)))
    swap = ctx.op.And(ctx.op.Not(near_zero), ctx.op.Greater(x, ctx.op.Div(a, ctx.op.Add(a, b))))
    a_, b_ = ctx.op.Where(swap, b, a), ctx.op.Where(swap, a, b)
    x_, xc = ctx.op.Where(swap, w, x), ctx.op.Where(swap, x, w)
    series = ctx.op.Or(near_zero, ctx.op.And(swap, ctx.op.And(ctx.op.LessOrEqual(ctx.op.Mul(b_, x_), one),
                                                                  ctx.op.LessOrEqual(x_, f64(ctx, 0.95)))))
    first_fraction = ctx.op.Less(ctx.op.Sub(ctx.op.Mul(x_, ctx.op.Sub(ctx.op.Add(a_, b_), f64(ctx, 2.0))),
                                            ctx.op.Sub(a_, one)), zero)
    fraction_needed = ctx.op.And(regular, ctx.op.Not(series))
    total = _incbet_power_series(ctx, a_, b_, x_, ctx.op.And(regular, series))
    k = [a_, ctx.op.Add(a_, b_), a_, ctx.op.Add(a_, one), one, ctx.op.Sub(b_, one), ctx.op.Add(a_, one),
         ctx.op.Add(a_, f64(ctx, 2.0))]
    first = _incbet_continued_fraction(ctx, x_, k, (1.0, 1.0, 2.0, 2.0, 1.0, -1.0, 2.0, 2.0),
                                       ctx.op.And(fraction_needed, first_fraction))
    k = [a_, ctx.op.Sub(b_, one), a_, ctx.op.Add(a_, one), one, ctx.op.Add(a_, b_), ctx.op.Add(a_, one),
         ctx.op.Add(a_, f64(ctx, 2.0))]
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
    in_range = ctx.op.And(ctx.op.Less(ctx.op.Add(a_, b_), f64(ctx, MAX_GAMMA)),
                          ctx.op.Less(ctx.op.Abs(a_log_x), f64(ctx, MAX_LOG)))
    in_range = ctx.op.And(in_range, ctx.op.Or(series, ctx.op.Less(ctx.op.Abs(b_log_xc), f64(ctx, MAX_LOG))))
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
    zero, one, nan = f64(ctx, 0.0), f64(ctx, 1.0), f64(ctx, math.nan)
    given_a, given_b, given_x = a, b, x
    finite = ctx.op.Not(ctx.op.Or(ctx.op.IsInf(a), ctx.op.IsInf(b)))
    regular = ctx.op.And(ctx.op.And(ctx.op.Greater(a, zero), ctx.op.Greater(b, zero)),
                         ctx.op.And(ctx.op.And(ctx.op.Greater(x, zero), ctx.op.Less(x, one)), finite))
    # beyond the method's measured reach (see INCBET_SMALL_B): NaN, without iterating
    low, high = f64(ctx, INCBET_MIN_PARAMETER), f64(ctx, INCBET_MAX_PARAMETER)
    beyond = ctx.op.Or(ctx.op.Or(ctx.op.Less(a, low), ctx.op.Less(b, low)),
                       ctx.op.Or(ctx.op.Greater(a, high), ctx.op.Greater(b, high)))
    near_one = ctx.op.Sub(one, x)
    crawling = ctx.op.And(ctx.op.And(ctx.op.Less(b, f64(ctx, INCBET_SMALL_B)), ctx.op.Less(near_one, f64(ctx, INCBET_NEAR_ONE))),
                          ctx.op.Less(ctx.op.Mul(a, near_one), f64(ctx, INCBET_NEAR_ONE_A)))
    beyond = ctx.op.And(regular, ctx.op.Or(beyond, crawling))
    regular = ctx.op.And(regular, ctx.op.Not(beyond))
    # the Loops see in-range arguments only; the edge values are set below
    a = ctx.op.Where(regular, a, one)
    b = ctx.op.Where(regular, b, one)
    x = ctx.op.Where(regular, x, f64(ctx, 0.5))
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
    out, (a, b, x) = float64_broadcast(node, ctx, inputs)
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
    zero, one, half = f64(ctx, 0.0), f64(ctx, 1.0), f64(ctx, 0.5)
    low, high = f64(ctx, INCBET_MIN_PARAMETER), f64(ctx, INCBET_MAX_PARAMETER)
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
    sign = ctx.op.Where(lower_tail, one, f64(ctx, -1.0))
    beta_terms = _beta_terms(ctx, p, q)  # once, outside the Loop
    log_beta = beta_terms.log_beta
    level = ctx.op.Log(lower_target)  # the bound's root: I_z(p, q) <= z^p / (p B) = I at the root
    log_bound = ctx.op.Div(ctx.op.Add(ctx.op.Add(level, ctx.op.Log(p)), log_beta), p)
    smallest = f64(ctx, SMALLEST_SUBNORMAL)
    start = ctx.op.Min(ctx.op.Max(ctx.op.Exp(ctx.op.Max(log_bound, f64(ctx, -745.0))), smallest), half)

    def step(body, iteration, values):
        z, bracket_low, bracket_high, done = values
        lower, upper = _incomplete_beta_tails(body, p, q, z, body.op.Not(done), beta_terms)
        tail = body.op.Where(lower_tail, lower, upper)
        g = body.op.Mul(sign, body.op.Sub(body.op.Log(tail), log_target))
        log_z_density = body.op.Sub(body.op.Add(body.op.Mul(p, body.op.Log(z)),
                                                body.op.Mul(body.op.Sub(q, one), log1p(body, body.op.Neg(z), "float64"))),
                                    log_beta)
        condition = body.op.Div(tail, body.op.Exp(log_z_density))  # 1 / (dg/du)
        return bracketed_log_newton_step(body, [z, bracket_low, bracket_high, done], g, condition)

    z, _, _, _ = loop(ctx, ctx.constant(_IBETA_INV_MAX_STEPS, "int64"),
                      [(start, "float64", None), (ctx.op.Add(ctx.op.Mul(a, zero), smallest), "float64", None),
                       (ctx.op.Add(ctx.op.Mul(a, zero), half), "float64", None), (ctx.op.Not(regular), "bool", None)],
                      step, "inverse_incomplete_beta", keep_going=lambda body, values: not_any(body, values[3]))
    return ctx.op.Where(complement, ctx.op.Sub(one, z), z), regular


@onnx_funcify.register(psm.BetaIncInv)
def onnx_funcify_BetaIncInv(op, node, ctx, inputs):
    out, (a, b, y) = float64_broadcast(node, ctx, inputs)
    zero, one, nan = f64(ctx, 0.0), f64(ctx, 1.0), f64(ctx, math.nan)
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
