"""polygamma(n, x) as scipy defines it, through cephes' Hurwitz zeta (a head sum, then
Euler-Maclaurin terms). Numerical notes: ``docs/special_functions.md``, "polygamma and the Hurwitz
zeta function".

To extend: another zeta-based function reusing `hurwitz_zeta`'s composition.
"""

from __future__ import annotations

import math

import numpy as np
import pytensor.scalar.math as psm
from onnx import TensorProto

from backend.basic import onnx_funcify
from backend.helpers import dtype_of, loop, output_dtype
from backend.numerics import MACHEP, f64
from backend.special_functions.gamma import gamma64, psi64

# Euler-Maclaurin denominators (2k)! / B_2k of cephes' Hurwitz zeta (zeta.c)
ZETA_EULER_MACLAURIN = (12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9, 7.47242496e10,
                         -2.950130727918164224e12, 1.1646782814350067249e14, -4.5979787224074726105e15,
                         1.8152105401943546773e17, -7.1661652561756670113e18)
_ZETA_HEAD_TERMS = 9  # cephes sums at least q^-s ... (q+9)^-s, and on while q + i <= 9
_ZETA_ASYMPTOTIC_FROM = 1e8


def _hurwitz_zeta(ctx, s, q):
    """cephes' zeta(s, q) for float64 s, q: inf at s = 1 and at the poles q = 0, -1, ..., NaN for s < 1
    (and for negative q with non-integer s); (1/(s-1) + 1/(2q)) q^(1-s) beyond q = 1e8."""
    zero, one = f64(ctx, 0.0), f64(ctx, 1.0)
    minus_s = ctx.op.Neg(s)
    pole = ctx.op.And(ctx.op.LessOrEqual(q, zero), ctx.op.Equal(q, ctx.op.Floor(q)))
    finite = ctx.op.Not(ctx.op.Or(ctx.op.IsNaN(q), ctx.op.IsInf(q)))
    # steps of the head sum: at least 9, and until q + i > 9; only finite, non-pole q count
    steps = ctx.op.Max(f64(ctx, float(_ZETA_HEAD_TERMS)),
                       ctx.op.Add(ctx.op.Floor(ctx.op.Sub(f64(ctx, float(_ZETA_HEAD_TERMS)), q)), one))
    steps = ctx.op.Where(ctx.op.And(finite, ctx.op.Not(pole)), steps, f64(ctx, float(_ZETA_HEAD_TERMS)))
    # (the constant keeps an empty q's maximum defined)
    every_count = ctx.op.Concat(ctx.op.Reshape(steps, ctx.constant([-1], "int64")),
                                ctx.constant([float(_ZETA_HEAD_TERMS)], "float64"), axis=0)
    trip_count = ctx.op.Cast(ctx.op.ReduceMax(every_count, keepdims=0), to=TensorProto.INT64)
    first = ctx.op.Pow(q, minus_s)
    never = ctx.op.Less(q, f64(ctx, -math.inf))  # all False, in q's shape

    def head_step(body, iteration, values):
        a, b, total, done = values
        index = body.op.Cast(iteration, to=TensorProto.DOUBLE)
        active = body.op.And(body.op.Less(index, steps), body.op.Not(done))
        a_next = body.op.Where(active, body.op.Add(a, body.constant(1.0, "float64")), a)
        b_next = body.op.Where(active, body.op.Pow(a_next, minus_s), b)
        total_next = body.op.Where(active, body.op.Add(total, b_next), total)
        converged = body.op.Less(body.op.Abs(body.op.Div(b_next, total_next)), body.constant(MACHEP, "float64"))
        return [a_next, b_next, total_next, body.op.Or(done, body.op.And(active, converged))]

    # a scalar op's converter does not know the rank of the tensors it is applied to
    a, b, total, done = loop(ctx, trip_count, [(q, "float64", None), (first, "float64", None),
                                               (first, "float64", None), (never, "bool", None)],
                             head_step, "zeta_head")
    w = a
    total = ctx.op.Where(done, total, ctx.op.Add(total, ctx.op.Div(ctx.op.Mul(b, w), ctx.op.Sub(s, one))))
    total = ctx.op.Where(done, total, ctx.op.Sub(total, ctx.op.Mul(f64(ctx, 0.5), b)))
    factor, k = one, 0.0
    for denominator in ZETA_EULER_MACLAURIN:
        factor = ctx.op.Mul(factor, ctx.op.Add(s, f64(ctx, k)))
        b = ctx.op.Div(b, w)
        term = ctx.op.Div(ctx.op.Mul(factor, b), f64(ctx, denominator))
        total = ctx.op.Where(done, total, ctx.op.Add(total, term))
        done = ctx.op.Or(done, ctx.op.Less(ctx.op.Abs(ctx.op.Div(term, total)), f64(ctx, MACHEP)))
        factor = ctx.op.Mul(factor, ctx.op.Add(s, f64(ctx, k + 1.0)))
        b = ctx.op.Div(b, w)
        k += 2.0
    far = ctx.op.Mul(ctx.op.Add(ctx.op.Reciprocal(ctx.op.Sub(s, one)), ctx.op.Reciprocal(ctx.op.Mul(f64(ctx, 2.0), q))),
                     ctx.op.Pow(q, ctx.op.Sub(one, s)))
    result = ctx.op.Where(ctx.op.Greater(q, f64(ctx, _ZETA_ASYMPTOTIC_FROM)), far, total)
    inf, nan = f64(ctx, math.inf), f64(ctx, math.nan)
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
    odd = ctx.op.Equal(ctx.op.Mod(n, f64(ctx, 2.0), fmod=1), f64(ctx, 1.0))
    sign = ctx.op.Where(odd, f64(ctx, 1.0), f64(ctx, -1.0))  # (-1.0)**(n+1)
    zeta = _hurwitz_zeta(ctx, order, x)
    if np.result_type(n_dtype, x_dtype, np.float32) == np.float32:
        zeta = ctx.cast(ctx.cast(zeta, "float64", "float32"), "float32", "float64")
    derivative = ctx.op.Mul(ctx.op.Mul(sign, gamma64(ctx, ctx.op.Add(n, f64(ctx, 1.0)))), zeta)
    result = ctx.op.Where(ctx.op.Equal(n, f64(ctx, 0.0)), psi64(ctx, x), derivative)
    return [ctx.cast(result, "float64", out)]
