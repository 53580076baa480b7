"""Modified Bessel functions: i0, i1 (cephes' Chebyshev series; `i0e64` and `i1e64` serve PyMC's
i0e/i1e too) and ive(v, x) = exp(-|x|) I_v(x) for real v with AMOS' conventions (power series,
large-x expansion, Debye's uniform expansion). Numerical notes: ``docs/special_functions.md``,
"Bessel functions".

To extend: another Bessel function composed from `backend.numerics` and the series here.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytensor.scalar.math as psm

from backend.basic import onnx_funcify
from backend.compat import PYTENSOR_VERSION
from backend.dtypes import ONNXExportUnsupported
from backend.helpers import loop
from backend.numerics import (
    MACHEP,
    chebyshev,
    f64,
    float64_broadcast,
    float64_function,
    masked_sum,
    not_any,
    polynomial,
)
from backend.scalar import asinh64
from backend.special_functions.gamma import gamma64, sin_pi_distance

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


def _bessel_series(ctx, z, near, far):
    """(the [0, 8] series at z / 2 - 2, the [8, inf) series at 32 / z - 2) for z = |x|, each argument
    clipped into its interval (the other branch's value is discarded)."""
    split = f64(ctx, _BESSEL_SPLIT)
    near_value = chebyshev(ctx, near, ctx.op.Sub(ctx.op.Mul(ctx.op.Min(z, split), f64(ctx, 0.5)), f64(ctx, 2.0)))
    far_value = chebyshev(ctx, far, ctx.op.Sub(ctx.op.Div(f64(ctx, 32.0), ctx.op.Max(z, split)), f64(ctx, 2.0)))
    return near_value, far_value


def _i0_64(ctx, x):
    z = ctx.op.Abs(x)
    exp_z = ctx.op.Exp(z)
    near, far = _bessel_series(ctx, z, _I0_A, _I0_B)
    inside = ctx.op.Mul(exp_z, near)
    outside = ctx.op.Div(ctx.op.Mul(exp_z, far), ctx.op.Sqrt(z))
    return ctx.op.Where(ctx.op.LessOrEqual(z, f64(ctx, _BESSEL_SPLIT)), inside, outside)


def _i1_64(ctx, x):
    z = ctx.op.Abs(x)
    exp_z = ctx.op.Exp(z)
    near, far = _bessel_series(ctx, z, _I1_A, _I1_B)
    inside = ctx.op.Mul(ctx.op.Mul(near, z), exp_z)
    outside = ctx.op.Div(ctx.op.Mul(exp_z, far), ctx.op.Sqrt(z))
    magnitude = ctx.op.Where(ctx.op.LessOrEqual(z, f64(ctx, _BESSEL_SPLIT)), inside, outside)
    # odd, with i1(-0.0) = +0.0 (cephes negates only for x < 0)
    return ctx.op.Mul(magnitude, ctx.op.Where(ctx.op.Less(x, f64(ctx, 0.0)), f64(ctx, -1.0), f64(ctx, 1.0)))


def i0e64(ctx, x):
    """exp(-|x|) i0(x) as cephes' i0e: i0's series without the exponential."""
    z = ctx.op.Abs(x)
    near, far = _bessel_series(ctx, z, _I0_A, _I0_B)
    return ctx.op.Where(ctx.op.LessOrEqual(z, f64(ctx, _BESSEL_SPLIT)), near, ctx.op.Div(far, ctx.op.Sqrt(z)))


def i1e64(ctx, x):
    """exp(-|x|) i1(x) as cephes' i1e, odd like i1."""
    z = ctx.op.Abs(x)
    near, far = _bessel_series(ctx, z, _I1_A, _I1_B)
    magnitude = ctx.op.Where(ctx.op.LessOrEqual(z, f64(ctx, _BESSEL_SPLIT)), ctx.op.Mul(near, z),
                             ctx.op.Div(far, ctx.op.Sqrt(z)))
    return ctx.op.Mul(magnitude, ctx.op.Where(ctx.op.Less(x, f64(ctx, 0.0)), f64(ctx, -1.0), f64(ctx, 1.0)))


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
        term = polynomial(ctx, coefficients, p_squared)
        i_sum = term if i_sum is None else ctx.op.Add(ctx.op.Mul(i_sum, q), term)
        k_sum = term if k_sum is None else ctx.op.Add(ctx.op.Mul(k_sum, minus_q), term)
    return i_sum, k_sum


def _ive_uniform(ctx, nu, a, reflect):
    """For nu = |v| >= 25 and a = |x| > 0: I_nu(a) e^-a by Debye's expansion (DLMF 10.41.3) with
    z = a / nu, t = sqrt(1 + z^2), p = 1/t, and the exponent nu eta - a taken as
    nu (1 / (t + z) - asinh(1 / z)), free of cancellation; where ``reflect`` (v = -nu, not an integer)
    plus (2/pi) sin(pi nu) K_nu(a) e^-a, K by its expansion (10.41.4), exponent nu (asinh(1/z) - t - z)."""
    one = f64(ctx, 1.0)
    z = ctx.op.Div(a, nu)
    inverse_z = ctx.op.Reciprocal(z)
    # sqrt(1 + z^2) without overflowing z^2
    t = ctx.op.Where(ctx.op.Greater(z, one), ctx.op.Mul(z, ctx.op.Sqrt(ctx.op.Add(one, ctx.op.Mul(inverse_z, inverse_z)))),
                     ctx.op.Sqrt(ctx.op.Add(one, ctx.op.Mul(z, z))))
    p = ctx.op.Reciprocal(t)
    asinh_term = asinh64(ctx, inverse_z)
    i_sum, k_sum = _uniform_sums(ctx, p, nu)
    prefactor = ctx.op.Reciprocal(ctx.op.Mul(ctx.op.Sqrt(ctx.op.Mul(f64(ctx, 2 * math.pi), nu)), ctx.op.Sqrt(t)))
    i_exponent = ctx.op.Mul(nu, ctx.op.Sub(ctx.op.Reciprocal(ctx.op.Add(t, z)), asinh_term))
    i_part = ctx.op.Mul(ctx.op.Mul(ctx.op.Exp(i_exponent), i_sum), prefactor)
    k_exponent = ctx.op.Mul(nu, ctx.op.Sub(asinh_term, ctx.op.Add(t, z)))
    # sin(pi nu) = (-1)^floor(nu) |sin(pi nu)|, the latter from nu's exact distance to an integer
    odd_floor = ctx.op.Equal(ctx.op.Mod(ctx.op.Floor(nu), f64(ctx, 2.0), fmod=1), one)
    sine = ctx.op.Mul(ctx.op.Where(odd_floor, f64(ctx, -2.0), f64(ctx, 2.0)), sin_pi_distance(ctx, nu))
    k_part = ctx.op.Mul(ctx.op.Mul(ctx.op.Mul(sine, ctx.op.Exp(k_exponent)), k_sum), prefactor)
    return ctx.op.Where(reflect, ctx.op.Add(i_part, k_part), i_part)


def _ive_hankel(ctx, nu, a):
    """I_nu(a) e^-a for large a by the expansion (DLMF 10.40.1) sum_k (-1)^k a_k(nu) / a^k over
    sqrt(2 pi a), 24 terms; the exponentially small term it leaves out is below e^-2a of the sum."""
    mu = ctx.op.Mul(f64(ctx, 4.0), ctx.op.Mul(nu, nu))
    eight_a = ctx.op.Mul(f64(ctx, 8.0), a)
    term = total = f64(ctx, 1.0)
    for k in range(1, _IVE_HANKEL_TERMS + 1):
        factor = ctx.op.Div(ctx.op.Sub(f64(ctx, float((2 * k - 1) ** 2)), mu), ctx.op.Mul(eight_a, f64(ctx, float(k))))
        term = ctx.op.Mul(term, factor)
        total = ctx.op.Add(total, term)
    return ctx.op.Div(total, ctx.op.Sqrt(ctx.op.Mul(f64(ctx, 2 * math.pi), a)))


def _ive_series(ctx, nu, a, needed):
    """I_nu(a) e^-a by the power series (DLMF 10.25.2) where ``needed``: its first term
    (a/2)^nu e^-a / gamma(nu + 1), then each term times (a^2/4) / (k (nu + k)), until past the peak
    (and past a negative order's sign changes) a term is below 2^-53 of the sum."""
    one = f64(ctx, 1.0)
    power = ctx.op.Pow(ctx.op.Mul(a, f64(ctx, 0.5)), nu)  # a is normal here: a / 2 is exact
    first = ctx.op.Mul(ctx.op.Mul(power, ctx.op.Exp(ctx.op.Neg(a))), ctx.op.Reciprocal(gamma64(ctx, ctx.op.Add(nu, one))))
    quarter_square = ctx.op.Mul(f64(ctx, 0.25), ctx.op.Mul(a, a))
    # a first term that is 0, inf or NaN is the answer as it stands
    finite_nonzero = ctx.op.And(ctx.op.Not(ctx.op.Equal(first, f64(ctx, 0.0))),
                                ctx.op.Not(ctx.op.Or(ctx.op.IsInf(first), ctx.op.IsNaN(first))))
    settled = ctx.op.Not(ctx.op.And(needed, finite_nonzero))

    def step(body, iteration, values):
        k, term, total, done = values
        k = body.op.Add(k, body.constant(1.0, "float64"))
        order_plus_k = body.op.Add(nu, k)
        ratio = body.op.Div(quarter_square, body.op.Mul(k, order_plus_k))
        term = body.op.Mul(term, ratio)
        total = masked_sum(body, total, term, done)
        # once nu + k > 0 the ratios only fall: a term below 2^-53 of the sum ends it once they are < 1
        falling = body.op.And(body.op.Greater(order_plus_k, body.constant(0.0, "float64")),
                              body.op.Less(ratio, body.constant(1.0, "float64")))
        negligible = body.op.LessOrEqual(body.op.Abs(term),
                                         body.op.Mul(body.constant(MACHEP, "float64"), body.op.Abs(total)))
        done = body.op.Or(done, body.op.And(falling, negligible))
        return [k, term, total, done]

    zero = ctx.op.Mul(a, f64(ctx, 0.0))
    _, _, total, _ = loop(ctx, ctx.constant(_IVE_SERIES_MAX_STEPS, "int64"),
                          [(zero, "float64", None), (first, "float64", None), (first, "float64", None),
                           (settled, "bool", None)], step, "ive_series",
                          keep_going=lambda body, values: not_any(body, values[3]))
    return total


def _ive64(ctx, v, x):
    """ive(v, x) with scipy's conventions: integer v of either sign give I_|v|, negated for x < 0 and
    odd v; NaN for x < 0 and v not an integer; ive(0, 0) = 1, 0 for v > 0 at x = 0. Where AMOS reports
    an error scipy's value is NaN, and so is the export's: beyond its argument limit, where the result
    overflows, and at x = 0 for negative non-integer v (a pole). Like scipy, results below AMOS'
    underflow threshold e^-ELIM are +0.0, and |x| below 1000 times the smallest normal counts as 0."""
    zero, one = f64(ctx, 0.0), f64(ctx, 1.0)
    nan = f64(ctx, math.nan)
    integer = ctx.op.Equal(v, ctx.op.Floor(v))
    nu = ctx.op.Where(ctx.op.And(ctx.op.Less(v, zero), integer), ctx.op.Neg(v), v)  # negative: not an integer
    a = ctx.op.Abs(x)
    magnitude = ctx.op.Abs(nu)
    positive_a = ctx.op.Greater(a, zero)
    uniform = ctx.op.GreaterOrEqual(magnitude, f64(ctx, _IVE_UNIFORM_FROM))
    hankel_from = ctx.op.Max(f64(ctx, _IVE_HANKEL_FROM), ctx.op.Mul(f64(ctx, 0.5), ctx.op.Mul(nu, nu)))
    hankel = ctx.op.And(ctx.op.Not(uniform), ctx.op.GreaterOrEqual(a, hankel_from))
    series = ctx.op.And(ctx.op.And(ctx.op.Not(uniform), ctx.op.Not(hankel)), positive_a)
    # each method gets arguments inside its own region (the others' values are discarded)
    uniform_nu = ctx.op.Where(uniform, magnitude, f64(ctx, _IVE_UNIFORM_FROM))
    uniform_a = ctx.op.Where(ctx.op.And(uniform, positive_a), a, one)
    negative_order = ctx.op.Less(nu, zero)
    from_uniform = _ive_uniform(ctx, uniform_nu, uniform_a, negative_order)
    from_hankel = _ive_hankel(ctx, ctx.op.Where(hankel, nu, zero), ctx.op.Where(hankel, a, f64(ctx, _IVE_HANKEL_FROM)))
    from_series = _ive_series(ctx, ctx.op.Where(series, nu, zero), ctx.op.Where(series, a, one), series)
    result = ctx.op.Where(uniform, from_uniform, ctx.op.Where(hankel, from_hankel, from_series))
    odd = ctx.op.Equal(ctx.op.Mod(ctx.op.Where(integer, nu, zero), f64(ctx, 2.0), fmod=1), one)
    result = ctx.op.Mul(result, ctx.op.Where(ctx.op.And(ctx.op.Less(x, zero), odd), f64(ctx, -1.0), one))
    at_zero = ctx.op.Where(ctx.op.Equal(nu, zero), one, ctx.op.Where(negative_order, nan, zero))
    result = ctx.op.Where(ctx.op.GreaterOrEqual(a, f64(ctx, _AMOS_SMALLEST_ARGUMENT)), result, at_zero)
    result = ctx.op.Where(ctx.op.Less(ctx.op.Abs(result), f64(ctx, math.exp(-_AMOS_ELIM))), zero, result)
    largest = f64(ctx, _AMOS_LARGEST_ARGUMENT)
    refused = ctx.op.Or(ctx.op.Greater(a, largest), ctx.op.Greater(magnitude, largest))
    invalid = ctx.op.Or(refused, ctx.op.IsInf(result))
    invalid = ctx.op.Or(invalid, ctx.op.And(ctx.op.Less(x, zero), ctx.op.Not(integer)))
    invalid = ctx.op.Or(invalid, ctx.op.Or(ctx.op.IsNaN(v), ctx.op.IsNaN(x)))
    return ctx.op.Where(invalid, nan, result)


def onnx_funcify_Ive(op, node, ctx, inputs):
    out, (v, x) = float64_broadcast(node, ctx, inputs)
    return [ctx.cast(_ive64(ctx, v, x), "float64", out)]


onnx_funcify.register(psm.Ive)(onnx_funcify_Ive)


def onnx_funcify_Iv(op, node, ctx, inputs):
    raise ONNXExportUnsupported(
        "Iv (PyTensor 2.38's iv, which i1's gradient builds): PyTensor 2.38 computes it with scipy's iv; "
        "composed as ive(v, x)·exp(|x|), as PyTensor 3 defines iv, it would overflow where scipy's iv does "
        "not (|x| just above 709.78), so it is exported from PyTensor 3.0 on only")


if PYTENSOR_VERSION < (3, 0) and hasattr(psm, "Iv"):
    onnx_funcify.register(psm.Iv)(onnx_funcify_Iv)
