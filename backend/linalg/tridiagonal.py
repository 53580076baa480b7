"""LAPACK's tridiagonal LU, as PyTensor's rewrites make of ``solve(assume_a="tridiagonal")`` and its
gradient: `LUFactorTridiagonal` (``gttrf``) and `SolveLUFactorTridiagonal` (``gttrs``).

gttrf eliminates the subdiagonal one row at a time, swapping rows i and i+1 where |dl_i| > |d_i| (so
NaN swaps too, as Fortran's ``.GE.`` is false for it); a swap fills the second superdiagonal du2 and
records ``ipiv_i = i + 2`` (LAPACK's 1-based row). The export runs the same steps, a Loop over i
(unrolled for static sizes), on the diagonals padded by one zero so that the last step, which has no
du_(i+1), is the same step. gttrs applies the row swaps and L, then back-substitutes with U's three
diagonals (or the transposed order), one row per step, as ``dgtts2`` does. The arithmetic is LAPACK's
operation for operation, so the factors are the same numbers; signed zeros may differ (onnxruntime's
Where turns a selected -0.0 into +0.0).

To extend: another banded routine in the same row-at-a-time form.
"""

from __future__ import annotations

from backend.basic import onnx_funcify
from backend.compat import LUFactorTridiagonal, SolveLUFactorTridiagonal
from backend.dtypes import ONNXExportUnsupported
from backend.helpers import dtype_of, loop, select_keeping_zero_sign
from backend.linalg.helpers import UNROLLED_SIZE, axis_size, index_range


def _at(ctx, vector, i):
    """Element i (0-d int64) of a vector, 0-d."""
    return ctx.op.Gather(vector, i, axis=0)


def _put(ctx, x, i, value):
    """``x`` with element (or row) i set to ``value``, copied exactly (a Where would lose a -0.0)."""
    return ctx.op.ScatterND(x, ctx.op.Reshape(i, ctx.constant([1, 1], "int64")),
                            ctx.op.Unsqueeze(value, ctx.constant([0], "int64")))


def _float_dtype(op, node):
    dtype = dtype_of(node.outputs[0])
    if dtype not in ("float32", "float64"):
        raise ONNXExportUnsupported(f"{op}: LAPACK computes in float32/float64, the output is {dtype}")
    return dtype


if LUFactorTridiagonal is not None:
    @onnx_funcify.register(LUFactorTridiagonal)
    def onnx_funcify_LUFactorTridiagonal(op, node, ctx, inputs):
        dtype = _float_dtype(op, node)
        dl, d, du = (ctx.cast(name, dtype_of(v), dtype) for name, v in zip(inputs, node.inputs))
        n = axis_size(ctx, d, 0)
        zero_pad = ctx.constant([0.0], dtype)
        dl, du = ctx.op.Concat(dl, zero_pad, axis=0), ctx.op.Concat(du, zero_pad, axis=0)  # length n
        du2 = ctx.op.Expand(ctx.constant(0.0, dtype), ctx.op.Shape(d))  # length n; n - 2 kept
        one, two = ctx.constant(1, "int64"), ctx.constant(2, "int64")
        ipiv = ctx.op.Add(index_range(ctx, n), one)
        zero = ctx.constant(0.0, dtype)

        def step(body, i, values):
            dl, d, du, du2, ipiv = values

            def choose(condition, x, y):  # the signs of zeros matter: a later division by one gives +-inf
                return select_keeping_zero_sign(body, condition, x, y, dtype)

            following = body.op.Add(i, one)
            d_i, l_i, u_i = _at(body, d, i), _at(body, dl, i), _at(body, du, i)
            d_next, u_next = _at(body, d, following), _at(body, du, following)
            swap = body.op.Not(body.op.GreaterOrEqual(body.op.Abs(d_i), body.op.Abs(l_i)))
            # no interchange: eliminate with d_i unless it is 0 (then nothing changes)
            nonzero = body.op.Not(body.op.Equal(d_i, zero))
            kept = body.op.Div(l_i, d_i)
            kept_l = choose(nonzero, kept, l_i)
            kept_d_next = choose(nonzero, body.op.Sub(d_next, body.op.Mul(kept, u_i)), d_next)
            # interchange rows i and i + 1
            swapped = body.op.Div(d_i, l_i)
            swapped_d_next = body.op.Sub(u_i, body.op.Mul(swapped, d_next))
            swapped_u_next = body.op.Neg(body.op.Mul(swapped, u_next))
            d = _put(body, d, i, choose(swap, l_i, d_i))
            d = _put(body, d, following, choose(swap, swapped_d_next, kept_d_next))
            dl = _put(body, dl, i, choose(swap, swapped, kept_l))
            du = _put(body, du, i, choose(swap, d_next, u_i))
            du = _put(body, du, following, choose(swap, swapped_u_next, u_next))
            du2 = _put(body, du2, i, choose(swap, u_next, _at(body, du2, i)))
            ipiv = _put(body, ipiv, i, body.op.Where(swap, body.op.Add(i, two), _at(body, ipiv, i)))
            return [dl, d, du, du2, ipiv]

        steps = ctx.op.Max(ctx.op.Sub(n, one), ctx.constant(0, "int64"))
        dl, d, du, du2, ipiv = loop(ctx, steps, [(dl, dtype, 1), (d, dtype, 1), (du, dtype, 1), (du2, dtype, 1),
                                                 (ipiv, "int64", 1)], step, "gttrf_body", unroll_up_to=UNROLLED_SIZE)
        start = ctx.constant([0], "int64")
        shorter, shortest = ctx.op.Sub(n, one), ctx.op.Sub(n, two)
        keep = [ctx.op.Slice(dl, start, ctx.op.Unsqueeze(shorter, start)), d,
                ctx.op.Slice(du, start, ctx.op.Unsqueeze(shorter, start)),
                ctx.op.Slice(du2, start, ctx.op.Unsqueeze(ctx.op.Max(shortest, ctx.constant(0, "int64")), start)),
                ctx.cast(ipiv, "int64", dtype_of(node.outputs[4]))]
        return keep


if SolveLUFactorTridiagonal is not None:
    @onnx_funcify.register(SolveLUFactorTridiagonal)
    def onnx_funcify_SolveLUFactorTridiagonal(op, node, ctx, inputs):
        dtype = _float_dtype(op, node)
        dl, d, du, du2, ipiv, b = inputs
        dl, d, du, du2, b = (ctx.cast(name, dtype_of(v), dtype)
                             for name, v in zip((dl, d, du, du2, b), (node.inputs[k] for k in (0, 1, 2, 3, 5))))
        pivots = ctx.op.Sub(ctx.cast(ipiv, dtype_of(node.inputs[4]), "int64"), ctx.constant(1, "int64"))
        n = axis_size(ctx, d, 0)
        zero_pad = ctx.constant([0.0, 0.0], dtype)
        dl, du, du2 = (ctx.op.Concat(v, zero_pad, axis=0) for v in (dl, du, du2))  # index n - 1 and beyond: 0
        pivots = ctx.op.Concat(pivots, ctx.constant([0], "int64"), axis=0)
        one, two = ctx.constant(1, "int64"), ctx.constant(2, "int64")
        last = ctx.op.Sub(n, one)

        def row(body, x, i):
            return body.op.Gather(x, i, axis=0)

        def forward(body, i, values):  # L (with the row swaps): rows i, i + 1
            (x,) = values

            def choose(condition, a, b):
                return select_keeping_zero_sign(body, condition, a, b, dtype)

            following = body.op.Add(i, one)
            swapped = body.op.Equal(_at(body, pivots, i), following)
            x_i, x_next, l_i = row(body, x, i), row(body, x, following), _at(body, dl, i)
            if op.transposed:  # L^T, rows from the bottom: i runs n - 2 .. 0
                temp = body.op.Sub(x_i, body.op.Mul(l_i, x_next))
                x = _put(body, x, i, choose(swapped, x_next, temp))
                return [_put(body, x, following, choose(swapped, temp, x_next))]
            temp = body.op.Sub(choose(swapped, x_i, x_next), body.op.Mul(l_i, choose(swapped, x_next, x_i)))
            x = _put(body, x, i, choose(swapped, x_next, x_i))
            return [_put(body, x, following, temp)]

        def backward(body, i, values):  # U: row i from rows i + 1, i + 2 (U^T: from rows i - 1, i - 2)
            (x,) = values
            zero_index, zero_value = ctx.constant(0, "int64"), ctx.constant(0.0, dtype)
            if op.transposed:
                neighbours = [(body.op.Sub(i, one), du), (body.op.Sub(i, two), du2)]
                exists = [body.op.GreaterOrEqual(k, zero_index) for k, _ in neighbours]
                clipped = [body.op.Max(k, zero_index) for k, _ in neighbours]
            else:
                neighbours = [(body.op.Add(i, one), du), (body.op.Add(i, two), du2)]
                exists = [body.op.LessOrEqual(k, last) for k, _ in neighbours]
                clipped = [body.op.Min(k, last) for k, _ in neighbours]
            value = row(body, x, i)
            for (_, diagonal), present, k in zip(neighbours, exists, clipped):
                coefficient = _at(body, diagonal, k if op.transposed else i)
                # a row beyond the matrix has no term (LAPACK's loops start inside it): not 0 * x
                term = body.op.Mul(coefficient, row(body, x, k))
                value = body.op.Sub(value, select_keeping_zero_sign(body, present, term, zero_value, dtype))
            return [_put(body, x, i, body.op.Div(value, _at(body, d, i)))]

        steps = ctx.op.Max(last, ctx.constant(0, "int64"))

        def reversed_index(step_function, count):
            return lambda body, k, values: step_function(body, body.op.Sub(body.op.Sub(count, one), k), values)

        if op.transposed:
            (x,) = loop(ctx, n, [(b, dtype, op.b_ndim)], backward, "gttrs_u_body", unroll_up_to=UNROLLED_SIZE)
            (x,) = loop(ctx, steps, [(x, dtype, op.b_ndim)], reversed_index(forward, steps), "gttrs_l_body",
                        unroll_up_to=UNROLLED_SIZE)
        else:
            (x,) = loop(ctx, steps, [(b, dtype, op.b_ndim)], forward, "gttrs_l_body", unroll_up_to=UNROLLED_SIZE)
            (x,) = loop(ctx, n, [(x, dtype, op.b_ndim)], reversed_index(backward, n), "gttrs_u_body",
                        unroll_up_to=UNROLLED_SIZE)
        return [x]
