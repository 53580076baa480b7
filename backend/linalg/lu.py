"""LU factorisations with partial pivoting and what is built on them: LU (``scipy.linalg.lu``: P, L, U;
``p_indices``; ``permute_l``), LUFactor (``lu_factor``: L and U in one matrix and LAPACK's pivot
indices) and PivotToPermutations (``lu_solve``'s pivots turned into a row order).

The elimination is getf2's: at step k the row with the first largest |a_ik| (i >= k) is swapped into
row k, the multipliers a_ik / a_kk (divided, where LAPACK multiplies by the reciprocal: the registry's
bound covers the difference) fill L's column k, and the rows below are updated. An exactly zero pivot
(a singular matrix) leaves its column's multipliers 0, as LAPACK does (it reports the column, scipy
warns). The row order r (A[r] = L U) is carried along; P is its one-hot transpose, and scipy's p
indices are its inverse.

To extend: another output of the same elimination (its determinant is in `backend.linalg.solve`).
"""

from __future__ import annotations

from backend.basic import onnx_funcify
from backend.compat import LU, LUFactor, PivotToPermutations
from backend.dtypes import ONNXExportUnsupported, onnx_dtype
from backend.helpers import dtype_of, loop
from backend.linalg.helpers import UNROLLED_SIZE, axis_size, index_range, solve_operands


def lu_factorize(ctx, a, dtype: str, ndim: int) -> tuple[str, str, str, str]:
    """(L with a unit diagonal, U, the row order r with A[r] = L U, LAPACK's pivots) of A (..., n, n);
    r and the pivots are int64 (..., n)."""
    n = axis_size(ctx, a, ndim - 1)
    zero = ctx.constant(0.0, dtype)
    positions = index_range(ctx, n)
    batch_shape = ctx.op.Slice(ctx.op.Shape(a), ctx.constant([0], "int64"), ctx.constant([ndim - 2], "int64"))
    vector_shape = ctx.op.Concat(batch_shape, ctx.op.Unsqueeze(n, ctx.constant([0], "int64")), axis=0)
    order = ctx.op.Expand(positions, vector_shape)
    last_axis = ctx.constant([-1], "int64")

    def step(body, k, values):
        upper, lower, rows, pivots = values
        column = body.op.Gather(upper, k, axis=-1)
        candidates = body.op.Where(body.op.Less(positions, k), body.constant(-1.0, dtype), body.op.Abs(column))
        pivot_row = body.op.ArgMax(candidates, axis=-1, keepdims=1, select_last_index=0)
        k_vec = body.op.Unsqueeze(k, body.constant([0], "int64"))
        swap = body.op.Where(body.op.Equal(positions, k), pivot_row,
                             body.op.Where(body.op.Equal(positions, pivot_row), k_vec, positions))
        by_row = body.op.Unsqueeze(swap, last_axis)
        upper = body.op.GatherElements(upper, body.op.Expand(by_row, body.op.Shape(upper)), axis=-2)
        lower = body.op.GatherElements(lower, body.op.Expand(by_row, body.op.Shape(lower)), axis=-2)
        rows = body.op.GatherElements(rows, swap, axis=-1)
        pivots = body.op.Where(body.op.Equal(positions, k), pivot_row, pivots)
        pivot_row_values = body.op.Gather(upper, k_vec, axis=-2)
        pivot = body.op.Gather(pivot_row_values, k_vec, axis=-1)
        safe_pivot = body.op.Where(body.op.Equal(pivot, zero), body.constant(1.0, dtype), pivot)
        below = body.op.Unsqueeze(body.op.Greater(positions, k), last_axis)
        factors = body.op.Where(below, body.op.Div(body.op.Gather(upper, k_vec, axis=-1), safe_pivot), zero)
        upper = body.op.Where(below, body.op.Sub(upper, body.op.Mul(factors, pivot_row_values)), upper)
        lower = body.op.Where(body.op.And(below, body.op.Equal(positions, k)), factors, lower)
        return [upper, lower, rows, pivots]

    upper, lower, rows, pivots = loop(
        ctx, n, [(a, dtype, ndim), (ctx.op.Mul(a, zero), dtype, ndim), (order, "int64", ndim - 1),
                 (order, "int64", ndim - 1)], step, "lu_factor_body", unroll_up_to=UNROLLED_SIZE)
    above = ctx.op.LessOrEqual(ctx.op.Unsqueeze(positions, last_axis), positions)  # i <= j
    diagonal = ctx.op.Equal(ctx.op.Unsqueeze(positions, last_axis), positions)
    unit_lower = ctx.op.Where(diagonal, ctx.constant(1.0, dtype), lower)
    # the eliminated entries below the diagonal are rounding residue in `upper`; LAPACK never forms them
    return unit_lower, ctx.op.Where(above, upper, zero), rows, pivots


def inverse_permutation(ctx, order):
    """p with p[order[i]] = i along the last axis."""
    positions = ctx.op.Expand(index_range(ctx, axis_size_last(ctx, order)), ctx.op.Shape(order))
    return ctx.op.ScatterElements(positions, order, positions, axis=-1)


def axis_size_last(ctx, x):
    return ctx.op.Squeeze(ctx.op.Slice(ctx.op.Shape(x), ctx.constant([-1], "int64"), ctx.constant([2**62], "int64")),
                          ctx.constant([0], "int64"))


def rows_taken(ctx, x, order):
    """x's rows (axis -2) taken in ``order`` (..., n)."""
    indices = ctx.op.Expand(ctx.op.Unsqueeze(order, ctx.constant([-1], "int64")), ctx.op.Shape(x))
    return ctx.op.GatherElements(x, indices, axis=-2)


if LU is not None:
    @onnx_funcify.register(LU)
    def onnx_funcify_LU(op, node, ctx, inputs):
        dtype = dtype_of(node.outputs[-1])  # U's (p_indices makes the first output int32)
        a = ctx.cast(inputs[0], dtype_of(node.inputs[0]), dtype)
        ndim = node.inputs[0].type.ndim
        lower, upper, order, _ = lu_factorize(ctx, a, dtype, ndim)
        inverse = inverse_permutation(ctx, order)  # A = L[inverse] U
        if op.permute_l:
            return [rows_taken(ctx, lower, inverse), upper]
        if op.p_indices:
            return [ctx.cast(inverse, "int64", str(node.outputs[0].type.dtype)), lower, upper]
        # P[i, j] = 1 where order[j] = i: A = P L U
        one_hot = ctx.op.Equal(ctx.op.Unsqueeze(index_range(ctx, axis_size_last(ctx, order)), ctx.constant([-1], "int64")),
                               ctx.op.Unsqueeze(order, ctx.constant([-2], "int64")))
        return [ctx.op.Cast(one_hot, to=onnx_dtype(str(node.outputs[0].type.dtype))), lower, upper]


if LUFactor is not None:
    @onnx_funcify.register(LUFactor)
    def onnx_funcify_LUFactor(op, node, ctx, inputs):
        dtype = dtype_of(node.outputs[0])
        if dtype not in ("float32", "float64"):
            raise ONNXExportUnsupported(
                f"{op} of a {dtype_of(node.inputs[0])} matrix: PyTensor types the factor {dtype}, but its values are "
                f"fractions (its py mode returns scipy's float32/float64 factor): no {dtype} export is faithful")
        (a,), dtype = solve_operands(ctx, node, inputs)
        ndim = node.inputs[0].type.ndim
        lower, upper, _, pivots = lu_factorize(ctx, a, dtype, ndim)
        n = axis_size(ctx, a, ndim - 1)
        positions = index_range(ctx, n)
        strictly_lower = ctx.op.Greater(ctx.op.Unsqueeze(positions, ctx.constant([-1], "int64")), positions)
        combined = ctx.op.Where(strictly_lower, lower, upper)
        return [combined, ctx.cast(pivots, "int64", str(node.outputs[1].type.dtype))]


if PivotToPermutations is not None:
    @onnx_funcify.register(PivotToPermutations)
    def onnx_funcify_PivotToPermutations(op, node, ctx, inputs):
        """The swaps row i <-> pivots[i], in order, applied to 0..n-1 (a Loop over i)."""
        pivots = ctx.cast(inputs[0], str(node.inputs[0].type.dtype), "int64")
        n = axis_size_last(ctx, pivots)
        positions = index_range(ctx, n)

        def step(body, i, values):
            (order,) = values
            target = body.op.Gather(pivots, i, axis=0)
            at_i, at_target = body.op.Gather(order, i, axis=0), body.op.Gather(order, target, axis=0)
            swapped = body.op.Where(body.op.Equal(positions, i), at_target,
                                    body.op.Where(body.op.Equal(positions, target), at_i, order))
            return [swapped]

        (order,) = loop(ctx, n, [(positions, "int64", 1)], step, "pivot_swaps_body", unroll_up_to=UNROLLED_SIZE)
        return [order if op.inverse else inverse_permutation(ctx, order)]
