"""The matrix exponential: scaling and squaring with Higham's [13/13] Pade approximant, as scipy's
expm computes it.

To extend: a lower-order approximant for small norms, selected like the squarings.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from backend.basic import onnx_funcify
from backend.compat import Expm
from backend.dtypes import onnx_dtype
from backend.helpers import loop
from backend.linalg.helpers import axis_size, index_range, solve_operands
from backend.linalg.solve import lu_solve

# ---- the matrix exponential: scaling and squaring with a Pade approximant ----

# Higham (2005): the [13/13] Pade approximant's coefficients and the largest 1-norm (theta_13) for which
# it is accurate to double precision
_PADE_13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0, 129060195264000.0,
            10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0, 40840800.0, 960960.0, 16380.0, 182.0, 1.0)
_THETA_13 = 5.371920351148152
# more squarings than this overflow any float64 result: the bound only keeps the Loop's count finite
_MAX_SQUARINGS = 1100


def matrix_exponential(ctx, a, dtype: str, ndim: int) -> str:
    """exp(A) by Higham's scaling and squaring: A / 2^s with ||A / 2^s||_1 <= theta_13, the [13/13] Pade
    approximant (U, V; (V - U) X = V + U by LU), then s squarings, s per matrix. A diagonal A gives
    exp of its diagonal, as scipy's expm special-cases it."""
    n = axis_size(ctx, a, ndim - 1)
    zero = ctx.constant(0.0, dtype)
    positions = index_range(ctx, n)
    is_diagonal = ctx.op.Equal(ctx.op.Unsqueeze(positions, ctx.constant([1], "int64")), positions)
    identity = ctx.op.Cast(is_diagonal, to=onnx_dtype(dtype))
    norm = ctx.op.ReduceMax(ctx.op.ReduceSum(ctx.op.Abs(a), ctx.constant([-2], "int64"), keepdims=1),
                            ctx.constant([-1], "int64"), keepdims=1)
    exponent = ctx.op.Ceil(ctx.op.Div(ctx.op.Log(ctx.op.Div(norm, ctx.constant(_THETA_13, dtype))),
                                      ctx.constant(np.log(2.0), dtype)))
    # NaN and -inf (a zero matrix) count as no scaling
    exponent = ctx.op.Where(ctx.op.Greater(exponent, zero), exponent, zero)
    exponent = ctx.op.Min(exponent, ctx.constant(float(_MAX_SQUARINGS), dtype))
    scaled = ctx.op.Mul(a, ctx.op.Pow(ctx.constant(2.0, dtype), ctx.op.Neg(exponent)))
    b = [ctx.constant(c, dtype) for c in _PADE_13]
    a2 = ctx.op.MatMul(scaled, scaled)
    a4 = ctx.op.MatMul(a2, a2)
    a6 = ctx.op.MatMul(a4, a2)

    def combination(*terms):
        total = None
        for coefficient, power in terms:
            term = ctx.op.Mul(coefficient, power)
            total = term if total is None else ctx.op.Add(total, term)
        return total

    u = ctx.op.MatMul(scaled, ctx.op.Add(ctx.op.MatMul(a6, combination((b[13], a6), (b[11], a4), (b[9], a2))),
                                         combination((b[7], a6), (b[5], a4), (b[3], a2), (b[1], identity))))
    v = ctx.op.Add(ctx.op.MatMul(a6, combination((b[12], a6), (b[10], a4), (b[8], a2))),
                   combination((b[6], a6), (b[4], a4), (b[2], a2), (b[0], identity)))
    approximant = lu_solve(ctx, ctx.op.Sub(v, u), ctx.op.Add(v, u), dtype, ndim)
    squarings = ctx.op.Cast(exponent, to=TensorProto.INT64)
    count = ctx.op.ReduceMax(ctx.op.Concat(ctx.op.Reshape(squarings, ctx.constant([-1], "int64")),
                                           ctx.constant([0], "int64"), axis=0), keepdims=0)

    def step(body, j, values):
        (x,) = values
        return [body.op.Where(body.op.Less(j, squarings), body.op.MatMul(x, x), x)]

    (result,) = loop(ctx, count, [(approximant, dtype, ndim)], step, "squaring_body")
    diagonal_only = ctx.op.Not(ctx.op.Cast(ctx.op.ReduceMax(
        ctx.op.Cast(ctx.op.And(ctx.op.Not(is_diagonal), ctx.op.Not(ctx.op.Equal(a, zero))), to=TensorProto.INT32),
        ctx.constant([-2, -1], "int64"), keepdims=1), to=TensorProto.BOOL))
    return ctx.op.Where(diagonal_only, ctx.op.Where(is_diagonal, ctx.op.Exp(a), zero), result)


@onnx_funcify.register(Expm)
def onnx_funcify_Expm(op, node, ctx, inputs):
    (a,), dtype = solve_operands(ctx, node, inputs)
    return [matrix_exponential(ctx, a, dtype, node.inputs[0].type.ndim)]
