"""Float64 building blocks of the composed functions (special functions, linear algebra): constants,
polynomial (one at a time or several in one pass) and Chebyshev evaluation in cephes' orders, masked sums for Loops whose elements stop at
different steps, and the bracketed Newton step the inverses share, with the float64 limits they use.

Every block writes ONNX nodes through the converter's ``ctx`` (a `backend.basic.GraphBuilder` or a
Loop body). To extend: a block used by more than one composition; one used once stays beside it.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from backend.helpers import inputs_as, output_dtype


def f64(ctx, value):
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


def polynomial(ctx, coefficients, t):
    """c0 + c1 t + c2 t^2 + ... by Horner's rule."""
    result = f64(ctx, coefficients[-1])
    for coefficient in reversed(coefficients[:-1]):
        result = ctx.op.Add(ctx.op.Mul(result, t), f64(ctx, coefficient))
    return result


MAX_LOG = 7.09782712893383996843e2  # log(DBL_MAX): exp(-x^2) underflows to 0 below -MAX_LOG


def polevl(ctx, coefficients, x, *, monic=False):
    """sum c_i x^(n-i) by Horner's rule in cephes' order (polevl; p1evl with a leading 1 when monic)."""
    if monic:
        result = ctx.op.Add(x, f64(ctx, coefficients[0]))
        rest = coefficients[1:]
    else:
        result, rest = f64(ctx, coefficients[0]), coefficients[1:]
    for coefficient in rest:
        result = ctx.op.Add(ctx.op.Mul(result, x), f64(ctx, coefficient))
    return result


def polevl_many(ctx, polynomials):
    """Several polynomials in one Horner pass: ``polynomials`` is a list of (coefficients highest power
    first, argument, monic) and the result their values, each bit for bit what `polevl` gives (fewer
    nodes: a deployed model pays per node).

    The arguments are stacked along a new last axis (broadcast to their common shape), so each Horner
    step is one Mul and one Add over all of them. A polynomial of lower degree waits at its leading
    coefficient while the longer ones take their first steps: its multiplier there is 1 (selected, so
    an infinite argument never meets it) and its addend 0, which leaves it unchanged. A monic
    polynomial's leading 1 times x is x, as cephes' p1evl starts."""
    rows = [((1.0, *coefficients) if monic else tuple(coefficients), argument)
            for coefficients, argument, monic in polynomials]
    length = max(len(c) for c, _ in rows)
    arguments = list(dict.fromkeys(argument for _, argument in rows))
    last = ctx.constant([-1], "int64")
    if len(arguments) == 1:
        x = ctx.op.Unsqueeze(arguments[0], last)
    else:
        common = arguments[0]
        for argument in arguments[1:]:
            common = ctx.op.Expand(common, ctx.op.Shape(argument))  # Expand broadcasts both ways
        shape = ctx.op.Shape(common)
        x = ctx.op.Concat(*(ctx.op.Unsqueeze(ctx.op.Expand(argument, shape), last) for _, argument in rows), axis=-1)
    waits = [length - len(c) for c, _ in rows]
    result = ctx.constant([c[0] for c, _ in rows], "float64")
    for step in range(1, length):
        waiting = [step <= wait for wait in waits]
        multiplier = ctx.op.Where(ctx.constant(waiting, "bool"), f64(ctx, 1.0), x) if any(waiting) else x
        addend = [0.0 if wait >= step else c[step - wait] for (c, _), wait in zip(rows, waits)]
        result = ctx.op.Add(ctx.op.Mul(result, multiplier), ctx.constant(addend, "float64"))
    return [ctx.op.Gather(result, ctx.constant(k, "int64"), axis=-1) for k in range(len(rows))]


def chebyshev(ctx, coefficients, t):
    """sum' c_k T_k(t/2) by Clenshaw's recurrence in cephes' order (chbevl)."""
    b0, b1, b2 = f64(ctx, coefficients[0]), f64(ctx, 0.0), None
    for coefficient in coefficients[1:]:
        b2, b1 = b1, b0
        b0 = ctx.op.Add(ctx.op.Sub(ctx.op.Mul(t, b1), b2), f64(ctx, coefficient))
    return ctx.op.Mul(f64(ctx, 0.5), ctx.op.Sub(b0, b2))


MACHEP = 2.0**-53


def masked_sum(ctx, total, term, done):
    return ctx.op.Where(done, total, ctx.op.Add(total, term))


def not_any(body, done):
    """0-d: whether some element is not done (the Loop goes on while one is)."""
    flat = body.op.Reshape(body.op.Not(done), body.constant([-1], "int64"))
    padded = body.op.Concat(flat, body.constant([False], "bool"), axis=0)
    return body.op.Cast(body.op.ReduceMax(body.op.Cast(padded, to=TensorProto.INT32), keepdims=0), to=TensorProto.BOOL)


def either(ctx, condition, if_true, if_false):
    """Where for booleans, which onnxruntime's Where has no kernel for."""
    return ctx.op.Or(ctx.op.And(condition, if_true), ctx.op.And(ctx.op.Not(condition), if_false))


def float64_broadcast(node, ctx, inputs) -> tuple[str, list]:
    """The output dtype and the inputs in float64, expanded to their broadcast shape (which Loops
    carry: a Loop's carried values keep one shape)."""
    out = output_dtype(node)
    values = [ctx.cast(v, out, "float64") for v in inputs_as(node, ctx, inputs, out)]
    total = values[0]
    for value in values[1:]:
        total = ctx.op.Add(total, value)
    shape = ctx.op.Shape(total)
    return out, [ctx.op.Expand(v, shape) for v in values]


NEWTON_STEP_TOLERANCE = 2.0**-48  # a Newton step this small (relative) leaves x within rounding of the root
NEGLIGIBLE_NEWTON_STEP = 2.0**-40  # a step this small is taken even onto or past the bracket's end
SMALLEST_SUBNORMAL = float(np.finfo(np.float64).smallest_subnormal)


def bracketed_log_newton_step(body, state, g, condition):
    """One step of Newton's method on g(u), increasing in u = log x, given g and 1 / (dg/du)
    (``condition``) at x; ``state`` is [x, bracket_low, bracket_high, done], returned updated. g's sign
    narrows the bracket; a step out of it, or not finite, bisects it in u instead. Converged: a step
    within 2^-48 of the rounding's effect on u (``condition``, at least 1), and inside the bracket or
    too small to matter (it may round to no move at all, onto the bracket's end x just became; a far
    point's huge condition makes a large step look small against it); or g = 0, or a bracket within
    2^-50."""
    x, bracket_low, bracket_high, done = state
    zero, one = f64(body, 0.0), f64(body, 1.0)
    bracket_low = body.op.Where(body.op.Less(g, zero), x, bracket_low)
    bracket_high = body.op.Where(body.op.Greater(g, zero), x, bracket_high)
    newton_step = body.op.Mul(g, condition)
    newton = body.op.Mul(x, body.op.Exp(body.op.Neg(newton_step)))
    inside = body.op.And(body.op.Greater(newton, bracket_low), body.op.Less(newton, bracket_high))
    size = body.op.Abs(newton_step)
    converged = body.op.And(
        body.op.LessOrEqual(size, body.op.Mul(f64(body, NEWTON_STEP_TOLERANCE), body.op.Max(condition, one))),
        body.op.Or(inside, body.op.LessOrEqual(size, f64(body, NEGLIGIBLE_NEWTON_STEP))))
    bisection = body.op.Mul(body.op.Sqrt(bracket_low), body.op.Sqrt(bracket_high))
    moved = body.op.Where(body.op.Or(inside, converged), newton, bisection)  # NaN compares false: bisects
    at_root = body.op.Equal(g, zero)
    converged = body.op.Or(converged, at_root)
    x = body.op.Where(done, x, body.op.Where(at_root, x, moved))
    narrow = body.op.LessOrEqual(bracket_high, body.op.Mul(bracket_low, f64(body, 1.0 + 2.0**-50)))
    return [x, bracket_low, bracket_high, body.op.Or(done, body.op.Or(converged, narrow))]
