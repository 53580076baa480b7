"""Factorizations and solves as LAPACK's unblocked routines run them, each a Loop over columns or rows:

- Cholesky (``potrf``): column j of L is ``(A[:, j] - L @ L[j, :]) / sqrt(pivot)`` below the diagonal.
  Only the triangle LAPACK reads is read. A pivot <= 0 (not positive definite) makes the whole
  matrix NaN, as PyTensor's Cholesky returns; a NaN pivot just propagates (the OpenBLAS potrf that
  scipy ships reports no error for it).
- SolveTriangular (``trtrs``): forward or backward substitution, one row per step; an exactly zero
  diagonal (singular) makes the whole solution NaN, as PyTensor returns, unless ``unit_diagonal``.
- CholeskySolve (``potrs``): two triangular solves.
- Solve (``gesv``: LU with partial pivoting, the first largest |pivot| as ``idamax`` picks): Gaussian
  elimination applied to A and b together, then back substitution; ``assume_a="pos"`` goes through
  Cholesky, ``"tridiagonal"`` (``gtsv``) is the same elimination on A's band (the LU ops PyTensor's
  rewrites make of it are in `backend.linalg.tridiagonal`). An exactly zero pivot
  (singular) gives NaN, as PyTensor's Solve does.
- MatrixInverse: Solve against the identity; TensorInv and TensorSolve (numpy's) the same on reshaped
  operands. SLogDet (what PyTensor's rewrites make of
  ``log(abs(det))``) from the same elimination's U, and Det as numpy computes it, ``sign * exp(log|det|)``
  (onnxruntime has no CPU kernel for ONNX ``Det`` in float64, and its product would round differently).

To extend: another solver composed from `cholesky_lower`, `triangular_solve` and `lu_eliminate`.
"""

from __future__ import annotations

from onnx import TensorProto

from backend.basic import onnx_funcify
from backend.compat import (
    Cholesky,
    CholeskySolve,
    Det,
    MatrixInverse,
    SLogDet,
    Solve,
    SolveTriangular,
    TensorInv,
    TensorSolve,
)
from backend.dtypes import ONNXExportUnsupported
from backend.helpers import dtype_of, loop
from backend.linalg.helpers import (
    UNROLLED_SIZE,
    as_matrix_rhs,
    axis_size,
    from_matrix_rhs,
    identity,
    index_range,
    matrix_diagonal,
    nan_where,
    solve_operands,
    swap_last_axes,
)


def cholesky_lower(ctx, a, dtype: str, ndim: int) -> str:
    """L with L @ L.T = A from A's lower triangle; NaN matrices where A is not positive definite."""
    n = axis_size(ctx, a, ndim - 1)
    zero = ctx.constant(0.0, dtype)
    positions = index_range(ctx, n)
    initial = ctx.op.Expand(zero, ctx.op.Shape(a))
    batch_shape = ctx.op.Slice(ctx.op.Shape(a), ctx.constant([0], "int64"), ctx.constant([ndim - 2], "int64"))
    no_failure = ctx.op.Expand(ctx.constant(False, "bool"), batch_shape)

    def step(body, j, values):
        lower, failed = values
        row_j = body.op.Gather(lower, j, axis=-2)
        column = body.op.Gather(a, j, axis=-1)
        products = body.op.Squeeze(body.op.MatMul(lower, body.op.Unsqueeze(row_j, body.constant([-1], "int64"))),
                                   body.constant([-1], "int64"))
        remainder = body.op.Sub(column, products)
        pivot = body.op.Gather(remainder, j, axis=-1)
        diagonal = body.op.Sqrt(pivot)
        scaled = body.op.Div(remainder, body.op.Unsqueeze(diagonal, body.constant([-1], "int64")))
        new_column = body.op.Where(body.op.Greater(positions, j), scaled,
                                   body.op.Where(body.op.Equal(positions, j),
                                                 body.op.Unsqueeze(diagonal, body.constant([-1], "int64")), zero))
        is_column_j = body.op.Equal(positions, j)
        lower = body.op.Where(is_column_j, body.op.Unsqueeze(new_column, body.constant([-1], "int64")), lower)
        failed = body.op.Or(failed, body.op.LessOrEqual(pivot, zero))
        return [lower, failed]

    lower, failed = loop(ctx, n, [(initial, dtype, ndim), (no_failure, "bool", ndim - 2)], step, "cholesky_body",
                         unroll_up_to=UNROLLED_SIZE)
    return nan_where(ctx, failed, lower, dtype, [-1, -2])


def triangular_solve(ctx, a, b, dtype: str, ndim: int, *, lower: bool, unit_diagonal: bool = False,
                     nan_if_singular: bool = True) -> str:
    """X with A @ X = B for triangular A (the triangle ``lower`` says), B of shape (..., n, k)."""
    n = axis_size(ctx, a, ndim - 1)
    zero = ctx.constant(0.0, dtype)
    positions = index_range(ctx, n)
    # the solution's shape: batch dimensions of A and B broadcast
    initial = ctx.op.MatMul(ctx.op.Expand(zero, ctx.op.Shape(a)), ctx.op.Expand(zero, ctx.op.Shape(b)))
    last = ctx.op.Sub(n, ctx.constant(1, "int64"))

    def step(body, j, values):
        (solution,) = values
        i = j if lower else body.op.Sub(last, j)
        row = body.op.Gather(a, i, axis=-2)
        known = body.op.Less(positions, i) if lower else body.op.Greater(positions, i)
        off_diagonal = body.op.Unsqueeze(body.op.Where(known, row, zero), body.constant([-2], "int64"))
        rest = body.op.Sub(body.op.Gather(b, body.op.Unsqueeze(i, body.constant([0], "int64")), axis=-2),
                           body.op.MatMul(off_diagonal, solution))
        if not unit_diagonal:
            pivot = body.op.Gather(row, body.op.Unsqueeze(i, body.constant([0], "int64")), axis=-1)
            rest = body.op.Div(rest, body.op.Unsqueeze(pivot, body.constant([-1], "int64")))
        is_row_i = body.op.Unsqueeze(body.op.Equal(positions, i), body.constant([-1], "int64"))
        return [body.op.Where(is_row_i, rest, solution)]

    (solution,) = loop(ctx, n, [(initial, dtype, ndim)], step, "triangular_solve_body",
                       unroll_up_to=UNROLLED_SIZE)
    if unit_diagonal or not nan_if_singular:
        return solution
    diagonal = matrix_diagonal(ctx, a, n, ndim)
    singular = ctx.op.Cast(ctx.op.ReduceMax(ctx.op.Cast(ctx.op.Equal(diagonal, zero), to=TensorProto.INT32),
                                            ctx.constant([-1], "int64"), keepdims=0), to=TensorProto.BOOL)
    return nan_where(ctx, singular, solution, dtype, [-1, -2])


def lu_eliminate(ctx, a, b, dtype: str, ndim: int) -> tuple[str, str, str, str]:
    """Gaussian elimination with partial pivoting applied to A and B together: U, the transformed B,
    whether a pivot was exactly 0 and the permutation's sign (+-1), per batch entry."""
    n = axis_size(ctx, a, ndim - 1)
    zero = ctx.constant(0.0, dtype)
    positions = index_range(ctx, n)
    shape_b = ctx.op.Shape(ctx.op.MatMul(ctx.op.Expand(zero, ctx.op.Shape(a)), ctx.op.Expand(zero, ctx.op.Shape(b))))
    b = ctx.op.Expand(b, shape_b)
    shape_a = ctx.op.Concat(ctx.op.Slice(shape_b, ctx.constant([0], "int64"), ctx.constant([-1], "int64")),
                            ctx.op.Unsqueeze(n, ctx.constant([0], "int64")), axis=0)
    a = ctx.op.Expand(a, shape_a)
    batch_shape = ctx.op.Slice(shape_b, ctx.constant([0], "int64"), ctx.constant([ndim - 2], "int64"))
    no_failure = ctx.op.Expand(ctx.constant(False, "bool"), batch_shape)
    minus_one = ctx.constant(-1.0, dtype)
    last_axis = ctx.constant([-1], "int64")
    even = ctx.op.Expand(ctx.constant(1.0, dtype), batch_shape)

    def step(body, k, values):
        upper, rhs, failed, sign = values
        column = body.op.Gather(upper, k, axis=-1)
        candidates = body.op.Where(body.op.Less(positions, k), minus_one, body.op.Abs(column))
        pivot_row = body.op.ArgMax(candidates, axis=-1, keepdims=1, select_last_index=0)
        # swap rows k and pivot_row: the permutation as indices along the row axis
        k_vec = body.op.Unsqueeze(k, body.constant([0], "int64"))
        order = body.op.Where(body.op.Equal(positions, k), pivot_row,
                              body.op.Where(body.op.Equal(positions, pivot_row), k_vec, positions))
        order = body.op.Unsqueeze(order, last_axis)
        upper = body.op.GatherElements(upper, body.op.Expand(order, body.op.Shape(upper)), axis=-2)
        rhs = body.op.GatherElements(rhs, body.op.Expand(order, body.op.Shape(rhs)), axis=-2)
        pivot_row_values = body.op.Gather(upper, k_vec, axis=-2)
        pivot = body.op.Gather(pivot_row_values, k_vec, axis=-1)
        # a zero pivot (LAPACK skips the column: everything below it is 0 too) divides by 1 instead
        safe_pivot = body.op.Where(body.op.Equal(pivot, zero), body.constant(1.0, dtype), pivot)
        factors = body.op.Div(body.op.Gather(upper, k_vec, axis=-1), safe_pivot)
        below = body.op.Unsqueeze(body.op.Greater(positions, k), last_axis)
        factors = body.op.Where(below, factors, zero)
        upper = body.op.Where(below, body.op.Sub(upper, body.op.Mul(factors, pivot_row_values)), upper)
        rhs = body.op.Where(below, body.op.Sub(rhs, body.op.Mul(factors, body.op.Gather(rhs, k_vec, axis=-2))), rhs)
        is_zero = body.op.Equal(body.op.Squeeze(pivot, body.constant([-1, -2], "int64")), zero)
        swapped = body.op.Not(body.op.Equal(body.op.Squeeze(pivot_row, last_axis), k))
        sign = body.op.Where(swapped, body.op.Neg(sign), sign)
        return [upper, rhs, body.op.Or(failed, is_zero), sign]

    return tuple(loop(ctx, n, [(a, dtype, ndim), (b, dtype, ndim), (no_failure, "bool", ndim - 2),
                                (even, dtype, ndim - 2)], step, "lu_body", unroll_up_to=UNROLLED_SIZE))


def lu_solve(ctx, a, b, dtype: str, ndim: int) -> str:
    """X with A @ X = B by Gaussian elimination with partial pivoting; NaN where a pivot is 0."""
    upper, rhs, failed, _ = lu_eliminate(ctx, a, b, dtype, ndim)
    solution = triangular_solve(ctx, upper, rhs, dtype, ndim, lower=False, nan_if_singular=False)
    return nan_where(ctx, failed, solution, dtype, [-1, -2])


@onnx_funcify.register(Cholesky)
def onnx_funcify_Cholesky(op, node, ctx, inputs):
    (a,), dtype = solve_operands(ctx, node, inputs)
    ndim = node.inputs[0].type.ndim
    if op.lower:
        return [cholesky_lower(ctx, a, dtype, ndim)]
    return [swap_last_axes(ctx, cholesky_lower(ctx, swap_last_axes(ctx, a, ndim), dtype, ndim), ndim)]


@onnx_funcify.register(SolveTriangular)
def onnx_funcify_SolveTriangular(op, node, ctx, inputs):
    (a, b), dtype = solve_operands(ctx, node, inputs)
    ndim = node.inputs[0].type.ndim
    x = triangular_solve(ctx, a, as_matrix_rhs(ctx, b, op.b_ndim), dtype, ndim, lower=op.lower,
                         unit_diagonal=op.unit_diagonal)
    return [from_matrix_rhs(ctx, x, op.b_ndim)]


@onnx_funcify.register(CholeskySolve)
def onnx_funcify_CholeskySolve(op, node, ctx, inputs):
    (c, b), dtype = solve_operands(ctx, node, inputs)
    ndim = node.inputs[0].type.ndim
    b = as_matrix_rhs(ctx, b, op.b_ndim)
    lower = c if op.lower else swap_last_axes(ctx, c, ndim)
    return [from_matrix_rhs(ctx, _factor_solve(ctx, lower, b, dtype, ndim), op.b_ndim)]


def _factor_solve(ctx, lower, b, dtype, ndim):
    """X with L @ L.T @ X = B: forward then backward substitution (potrs; no singularity check)."""
    y = triangular_solve(ctx, lower, b, dtype, ndim, lower=True, nan_if_singular=False)
    return triangular_solve(ctx, swap_last_axes(ctx, lower, ndim), y, dtype, ndim, lower=False, nan_if_singular=False)


@onnx_funcify.register(Solve)
def onnx_funcify_Solve(op, node, ctx, inputs):
    (a, b), dtype = solve_operands(ctx, node, inputs)
    ndim = node.inputs[0].type.ndim
    b = as_matrix_rhs(ctx, b, op.b_ndim)
    if op.assume_a == "pos":
        lower = cholesky_lower(ctx, a if op.lower else swap_last_axes(ctx, a, ndim), dtype, ndim)
        x = _factor_solve(ctx, lower, b, dtype, ndim)
    elif op.assume_a in ("gen", "sym", "her"):
        x = lu_solve(ctx, a, b, dtype, ndim)
    elif op.assume_a == "tridiagonal":
        # gtsv: partial pivoting on the band only (the entries outside it are not read): the same
        # elimination on A with everything outside the band set to 0
        n = axis_size(ctx, a, ndim - 1)
        positions = index_range(ctx, n)
        distance = ctx.op.Abs(ctx.op.Sub(ctx.op.Unsqueeze(positions, ctx.constant([-1], "int64")), positions))
        band = ctx.op.LessOrEqual(distance, ctx.constant(1, "int64"))
        x = lu_solve(ctx, ctx.op.Where(band, a, ctx.constant(0.0, dtype)), b, dtype, ndim)
    else:
        raise ONNXExportUnsupported(f"{op}: assume_a={op.assume_a!r} is not exported; gen, sym, pos and "
                                    "tridiagonal are")
    return [from_matrix_rhs(ctx, x, op.b_ndim)]


@onnx_funcify.register(MatrixInverse)
def onnx_funcify_MatrixInverse(op, node, ctx, inputs):
    (a,), dtype = solve_operands(ctx, node, inputs)
    ndim = node.inputs[0].type.ndim
    return [lu_solve(ctx, a, identity(ctx, axis_size(ctx, a, ndim - 1), dtype), dtype, ndim)]


def _typed_as_float(op, node):
    """Refuse a result PyTensor types in an integer input's dtype though numpy computes fractions."""
    dtype = dtype_of(node.outputs[0])
    if dtype == "float16":
        raise ONNXExportUnsupported(f"{op}: PyTensor types the result float16, which numpy.linalg refuses (its "
                                    "perform raises); cast the input to float32 to export it")
    if dtype not in ("float32", "float64"):
        raise ONNXExportUnsupported(f"{op}: PyTensor types the result {dtype} (its input's dtype) although numpy "
                                    "returns float64 fractions; cast the input to a float dtype to export it")


@onnx_funcify.register(TensorInv)
def onnx_funcify_TensorInv(op, node, ctx, inputs):
    """numpy.linalg.tensorinv: the inverse of A as a prod(shape[:ind]) x prod(shape[ind:]) matrix, shaped
    shape[ind:] + shape[:ind]."""
    _typed_as_float(op, node)
    (a,), dtype = solve_operands(ctx, node, inputs)
    leading, trailing = ctx.op.Shape(a, start=0, end=op.ind), ctx.op.Shape(a, start=op.ind)
    rows = ctx.op.ReduceProd(leading, keepdims=1)
    matrix = ctx.op.Reshape(a, ctx.op.Concat(rows, ctx.op.ReduceProd(trailing, keepdims=1), axis=0), allowzero=1)
    inverse = lu_solve(ctx, matrix, identity(ctx, ctx.op.Squeeze(rows, ctx.constant([0], "int64")), dtype), dtype, 2)
    return [ctx.op.Reshape(inverse, ctx.op.Concat(trailing, leading, axis=0), allowzero=1)]


@onnx_funcify.register(TensorSolve)
def onnx_funcify_TensorSolve(op, node, ctx, inputs):
    """numpy.linalg.tensorsolve: ``axes`` of A moved last, A as a square matrix of side prod(A.shape[b.ndim:]),
    solved against b flattened, the solution shaped A.shape[b.ndim:]."""
    _typed_as_float(op, node)
    (a, b), dtype = solve_operands(ctx, node, inputs)
    a_ndim, b_ndim = node.inputs[0].type.ndim, node.inputs[1].type.ndim
    if op.axes is not None:
        order = list(range(a_ndim))
        for axis in op.axes:
            order.remove(axis % a_ndim)
            order.append(axis % a_ndim)
        a = ctx.op.Transpose(a, perm=order)
    unknowns = ctx.op.Shape(a, start=b_ndim)
    side = ctx.op.ReduceProd(unknowns, keepdims=1)
    matrix = ctx.op.Reshape(a, ctx.op.Concat(side, side, axis=0), allowzero=1)
    rhs = ctx.op.Reshape(b, ctx.op.Concat(side, ctx.constant([1], "int64"), axis=0), allowzero=1)
    return [ctx.op.Reshape(lu_solve(ctx, matrix, rhs, dtype, 2), unknowns, allowzero=1)]


def _slogdet(ctx, node, inputs):
    """numpy's slogdet: the permutation's sign times the signs of U's diagonal and the sum of
    log|u_ii|, in diagonal order; a singular matrix (a zero pivot) has sign 0 and log|det| -inf."""
    (a,), dtype = solve_operands(ctx, node, inputs)
    ndim = node.inputs[0].type.ndim
    upper, _, _, sign = lu_eliminate(ctx, a, _no_rhs(ctx, a), dtype, ndim)
    diagonal = matrix_diagonal(ctx, upper, axis_size(ctx, a, ndim - 1), ndim)
    last, zero = ctx.constant([-1], "int64"), ctx.constant(0.0, dtype)
    sign = ctx.op.Mul(sign, ctx.op.ReduceProd(ctx.op.Sign(diagonal), last, keepdims=0))
    sign = ctx.op.Where(ctx.op.Equal(sign, zero), zero, sign)  # +0.0, never -0.0
    return sign, ctx.op.ReduceSum(ctx.op.Log(ctx.op.Abs(diagonal)), last, keepdims=0)


@onnx_funcify.register(Det)
def onnx_funcify_Det(op, node, ctx, inputs):
    # numpy computes det as sign * exp(log|det|) from its slogdet
    sign, log_abs = _slogdet(ctx, node, inputs)
    return [ctx.op.Mul(sign, ctx.op.Exp(log_abs))]


@onnx_funcify.register(SLogDet)
def onnx_funcify_SLogDet(op, node, ctx, inputs):
    return list(_slogdet(ctx, node, inputs))


def _no_rhs(ctx, a):
    """A right-hand side with no columns, for an elimination that only wants U."""
    return ctx.op.Slice(a, ctx.constant([0], "int64"), ctx.constant([0], "int64"), ctx.constant([-1], "int64"))
