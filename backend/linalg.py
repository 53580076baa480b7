"""Linear algebra (``pytensor.tensor.slinalg`` / ``nlinalg``) as compositions of standard ONNX ops.

ONNX has ``Det`` and nothing else of LAPACK, so the factorizations are written out as ``Loop``s that
carry whole matrices and update one column or row per step with masked ``Where``/``MatMul``, the
algorithms LAPACK's unblocked routines run:

- Cholesky (``potrf``): column j of L is ``(A[:, j] - L @ L[j, :]) / sqrt(pivot)`` below the diagonal.
  Only the triangle LAPACK reads is read. A pivot <= 0 (not positive definite) makes the whole
  matrix NaN, as PyTensor's Cholesky returns; a NaN pivot just propagates (the OpenBLAS potrf that
  scipy ships reports no error for it).
- SolveTriangular (``trtrs``): forward or backward substitution, one row per step; an exactly zero
  diagonal (singular) makes the whole solution NaN, as PyTensor returns, unless ``unit_diagonal``.
- CholeskySolve (``potrs``): two triangular solves.
- Solve (``gesv``: LU with partial pivoting, the first largest |pivot| as ``idamax`` picks): Gaussian
  elimination applied to A and b together, then back substitution; ``assume_a="pos"`` goes through
  Cholesky. An exactly zero pivot (singular) gives NaN, as PyTensor's Solve does.
- MatrixInverse: Solve against the identity. SLogDet (what PyTensor's rewrites make of
  ``log(abs(det))``) from the same elimination's U, and Det as numpy computes it, ``sign * exp(log|det|)``
  (onnxruntime has no CPU kernel for ONNX ``Det`` in float64, and its product would round differently).
- Eigvalsh, SVD values, MatrixPinv: Jacobi's method (`jacobi`), in the parallel order that rotates
  n/2 disjoint pairs per step: two-sided on the symmetric matrix (from the triangle LAPACK reads) for
  eigenvalues, after sygv's reduction with a Cholesky factor for the generalized problem; one-sided
  (Hestenes) on the columns of A or A^T, whichever has fewer, for singular values, and for pinv with
  the rotations accumulated: A V = B, pinv(A) = V diag(1 / sigma^2) B^T over the sigma above numpy's
  cutoff. The matrix is first divided by a power of two near its largest entry, so nothing
  overflows. Singular vectors and eigenvectors are declined: their signs are LAPACK's choice.

Every converter here treats leading dimensions as batch dimensions (broadcasting like numpy), so
their Blockwise versions use them as they are (`backend.blockwise.BATCH_POLYMORPHIC`). The rounding
differs from LAPACK's (different summation order, division instead of multiplying by a reciprocal):
the registry's bounds say by how much.

To extend: compose another factorization from `backend.helpers.loop` and the masked updates below.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from backend.basic import onnx_funcify
from backend.compat import (
    QR,
    SVD,
    Cholesky,
    CholeskySolve,
    Det,
    Eig,
    Eigh,
    Eigvalsh,
    Expm,
    MatrixInverse,
    MatrixPinv,
    SLogDet,
    Solve,
    SolveTriangular,
)
from backend.dtypes import ONNXExportUnsupported, onnx_dtype
from backend.graph import make_subgraph
from backend.helpers import dtype_of, loop, select_keeping_zero_sign, sign_bit

LINALG_OPS = (Cholesky, SolveTriangular, CholeskySolve, Solve, MatrixInverse, Det, SLogDet, Eigvalsh, SVD, MatrixPinv, QR,
              Expm)


def _swap_last(ctx, x, ndim):
    perm = list(range(ndim - 2)) + [ndim - 1, ndim - 2]
    return ctx.op.Transpose(x, perm=perm)


def _size(ctx, x, axis: int):
    """Length of ``axis`` of ``x`` as a 0-d int64."""
    shape = ctx.op.Shape(x)
    return ctx.op.Squeeze(ctx.op.Gather(shape, ctx.constant([axis], "int64"), axis=0), ctx.constant([0], "int64"))


def _positions(ctx, n):
    return ctx.op.Range(ctx.constant(0, "int64"), n, ctx.constant(1, "int64"))


def _nan_where(ctx, failed, x, dtype, expand_axes):
    """``x`` with every matrix whose batch entry of ``failed`` holds replaced by NaN."""
    mask = ctx.op.Unsqueeze(failed, ctx.constant(expand_axes, "int64"))
    return ctx.op.Where(mask, ctx.constant(float("nan"), dtype), x)


def cholesky_lower(ctx, a, dtype: str, ndim: int) -> str:
    """L with L @ L.T = A from A's lower triangle; NaN matrices where A is not positive definite."""
    n = _size(ctx, a, ndim - 1)
    zero = ctx.constant(0.0, dtype)
    positions = _positions(ctx, n)
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

    lower, failed = loop(ctx, n, [(initial, dtype, ndim), (no_failure, "bool", ndim - 2)], step, "cholesky_body")
    return _nan_where(ctx, failed, lower, dtype, [-1, -2])


def triangular_solve(ctx, a, b, dtype: str, ndim: int, *, lower: bool, unit_diagonal: bool = False,
                     nan_if_singular: bool = True) -> str:
    """X with A @ X = B for triangular A (the triangle ``lower`` says), B of shape (..., n, k)."""
    n = _size(ctx, a, ndim - 1)
    zero = ctx.constant(0.0, dtype)
    positions = _positions(ctx, n)
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

    (solution,) = loop(ctx, n, [(initial, dtype, ndim)], step, "triangular_solve_body")
    if unit_diagonal or not nan_if_singular:
        return solution
    diagonal = _diagonal(ctx, a, n, ndim)
    singular = ctx.op.Cast(ctx.op.ReduceMax(ctx.op.Cast(ctx.op.Equal(diagonal, zero), to=TensorProto.INT32),
                                            ctx.constant([-1], "int64"), keepdims=0), to=TensorProto.BOOL)
    return _nan_where(ctx, singular, solution, dtype, [-1, -2])


def _diagonal(ctx, a, n, ndim):
    """The main diagonal of the last two axes, shape (..., n)."""
    identity = ctx.op.Equal(ctx.op.Unsqueeze(_positions(ctx, n), ctx.constant([1], "int64")), _positions(ctx, n))
    zero = ctx.op.CastLike(ctx.constant(0.0, "float64"), a)
    return ctx.op.ReduceSum(ctx.op.Where(identity, a, zero), ctx.constant([-1], "int64"), keepdims=0)


def _as_matrix_rhs(ctx, b, b_ndim: int):
    return ctx.op.Unsqueeze(b, ctx.constant([-1], "int64")) if b_ndim == 1 else b


def _from_matrix_rhs(ctx, x, b_ndim: int):
    return ctx.op.Squeeze(x, ctx.constant([-1], "int64")) if b_ndim == 1 else x


def _operands(ctx, node, inputs):
    dtype = dtype_of(node.outputs[0])
    if dtype not in ("float32", "float64"):
        raise ONNXExportUnsupported(f"{node.op}: LAPACK computes in float32/float64, the output is {dtype}")
    return [ctx.cast(x, dtype_of(v), dtype) for x, v in zip(inputs, node.inputs)], dtype


def lu_eliminate(ctx, a, b, dtype: str, ndim: int) -> tuple[str, str, str, str]:
    """Gaussian elimination with partial pivoting applied to A and B together: U, the transformed B,
    whether a pivot was exactly 0 and the permutation's sign (+-1), per batch entry."""
    n = _size(ctx, a, ndim - 1)
    zero = ctx.constant(0.0, dtype)
    positions = _positions(ctx, n)
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
                                (even, dtype, ndim - 2)], step, "lu_body"))


def lu_solve(ctx, a, b, dtype: str, ndim: int) -> str:
    """X with A @ X = B by Gaussian elimination with partial pivoting; NaN where a pivot is 0."""
    upper, rhs, failed, _ = lu_eliminate(ctx, a, b, dtype, ndim)
    solution = triangular_solve(ctx, upper, rhs, dtype, ndim, lower=False, nan_if_singular=False)
    return _nan_where(ctx, failed, solution, dtype, [-1, -2])


@onnx_funcify.register(Cholesky)
def onnx_funcify_Cholesky(op, node, ctx, inputs):
    (a,), dtype = _operands(ctx, node, inputs)
    ndim = node.inputs[0].type.ndim
    if op.lower:
        return [cholesky_lower(ctx, a, dtype, ndim)]
    return [_swap_last(ctx, cholesky_lower(ctx, _swap_last(ctx, a, ndim), dtype, ndim), ndim)]


@onnx_funcify.register(SolveTriangular)
def onnx_funcify_SolveTriangular(op, node, ctx, inputs):
    (a, b), dtype = _operands(ctx, node, inputs)
    ndim = node.inputs[0].type.ndim
    x = triangular_solve(ctx, a, _as_matrix_rhs(ctx, b, op.b_ndim), dtype, ndim, lower=op.lower,
                         unit_diagonal=op.unit_diagonal)
    return [_from_matrix_rhs(ctx, x, op.b_ndim)]


@onnx_funcify.register(CholeskySolve)
def onnx_funcify_CholeskySolve(op, node, ctx, inputs):
    (c, b), dtype = _operands(ctx, node, inputs)
    ndim = node.inputs[0].type.ndim
    b = _as_matrix_rhs(ctx, b, op.b_ndim)
    lower = c if op.lower else _swap_last(ctx, c, ndim)
    return [_from_matrix_rhs(ctx, _factor_solve(ctx, lower, b, dtype, ndim), op.b_ndim)]


def _factor_solve(ctx, lower, b, dtype, ndim):
    """X with L @ L.T @ X = B: forward then backward substitution (potrs; no singularity check)."""
    y = triangular_solve(ctx, lower, b, dtype, ndim, lower=True, nan_if_singular=False)
    return triangular_solve(ctx, _swap_last(ctx, lower, ndim), y, dtype, ndim, lower=False, nan_if_singular=False)


@onnx_funcify.register(Solve)
def onnx_funcify_Solve(op, node, ctx, inputs):
    (a, b), dtype = _operands(ctx, node, inputs)
    ndim = node.inputs[0].type.ndim
    b = _as_matrix_rhs(ctx, b, op.b_ndim)
    if op.assume_a == "pos":
        lower = cholesky_lower(ctx, a if op.lower else _swap_last(ctx, a, ndim), dtype, ndim)
        x = _factor_solve(ctx, lower, b, dtype, ndim)
    elif op.assume_a in ("gen", "sym", "her"):
        x = lu_solve(ctx, a, b, dtype, ndim)
    else:
        raise ONNXExportUnsupported(f"{op}: assume_a={op.assume_a!r} is not exported; gen, sym and pos are")
    return [_from_matrix_rhs(ctx, x, op.b_ndim)]


@onnx_funcify.register(MatrixInverse)
def onnx_funcify_MatrixInverse(op, node, ctx, inputs):
    (a,), dtype = _operands(ctx, node, inputs)
    ndim = node.inputs[0].type.ndim
    n = _size(ctx, a, ndim - 1)
    identity = ctx.op.Cast(ctx.op.Equal(ctx.op.Unsqueeze(_positions(ctx, n), ctx.constant([1], "int64")),
                                        _positions(ctx, n)), to=onnx_dtype(dtype))
    return [lu_solve(ctx, a, identity, dtype, ndim)]


def _slogdet(ctx, node, inputs):
    """numpy's slogdet: the permutation's sign times the signs of U's diagonal and the sum of
    log|u_ii|, in diagonal order; a singular matrix (a zero pivot) has sign 0 and log|det| -inf."""
    (a,), dtype = _operands(ctx, node, inputs)
    ndim = node.inputs[0].type.ndim
    upper, _, _, sign = lu_eliminate(ctx, a, _no_rhs(ctx, a), dtype, ndim)
    diagonal = _diagonal(ctx, upper, _size(ctx, a, ndim - 1), ndim)
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


# ---- eigenvalues and singular values: parallel cyclic Jacobi rotations ----

# Jacobi's method converges quadratically once the off-diagonal part is small: 5-8 sweeps for the
# sizes measured; the cap only bounds a run on non-finite input.
_MAX_SWEEPS = 30
# numpy's pinv: singular values at most 1e-15 times the largest count as zero
_PINV_RCOND = 1e-15


def _power_of_two_scale(ctx, a, dtype):
    """A power of two near max|A| per matrix, shape (..., 1, 1) (1 for a zero or empty matrix):
    dividing by it is exact and keeps squares and products of the entries in range."""
    largest = ctx.op.ReduceMax(ctx.op.Abs(a), ctx.constant([-2, -1], "int64"), keepdims=1)
    exponent = ctx.op.Floor(ctx.op.Div(ctx.op.Log(largest), ctx.constant(np.log(2.0), dtype)))
    power = ctx.op.Pow(ctx.constant(2.0, dtype), exponent)
    usable = ctx.op.And(ctx.op.Greater(largest, ctx.constant(0.0, dtype)),
                        ctx.op.Less(power, ctx.constant(np.inf, dtype)))
    return ctx.op.Where(usable, power, ctx.constant(1.0, dtype))


def _symmetric_from(ctx, a, ndim, *, lower: bool):
    """The symmetric matrix LAPACK's symmetric routines see: A's lower (or upper) triangle mirrored."""
    n = _size(ctx, a, ndim - 1)
    rows = ctx.op.Unsqueeze(_positions(ctx, n), ctx.constant([1], "int64"))
    kept = ctx.op.GreaterOrEqual(rows, _positions(ctx, n)) if lower else ctx.op.LessOrEqual(rows, _positions(ctx, n))
    return ctx.op.Where(kept, a, _swap_last(ctx, a, ndim))


def _circle_round(body, n, round_, dtype):
    """Round ``round_`` of a round-robin tournament among the n columns (the circle method: column 0
    stays, the others rotate), as two (n_pairs, n) one-hot matrices P and Q of disjoint pairs p < q.
    An odd n plays with a bye, column n, whose one-hot row is zero (its rotation is the identity)."""
    one, zero = body.constant(1, "int64"), body.constant(0, "int64")
    players = body.op.Add(n, body.op.Mod(n, body.constant(2, "int64")))
    others = body.op.Sub(players, one)

    def player(position):
        rotated = body.op.Add(body.op.Mod(body.op.Add(body.op.Sub(position, one), round_), others), one)
        return body.op.Where(body.op.Equal(position, zero), zero, rotated)

    seats = body.op.Range(zero, body.op.Div(players, body.constant(2, "int64")), one)
    first, second = player(seats), player(body.op.Sub(others, seats))
    columns = body.op.Range(zero, n, one)

    def one_hot(index):
        return body.op.Cast(body.op.Equal(body.op.Unsqueeze(index, body.constant([1], "int64")), columns),
                            to=onnx_dtype(dtype))

    return one_hot(body.op.Min(first, second)), one_hot(body.op.Max(first, second))


def _rotation(body, app, aqq, apq, dtype):
    """cos and sin of the rotation J (J_pp = J_qq = c, J_pq = s, J_qp = -s) with (J^T A J)_pq = 0:
    Rutishauser's t = tan = sign(theta) / (|theta| + sqrt(theta^2 + 1)), theta = (a_qq - a_pp) / 2a_pq,
    written in 1/theta beyond |theta| = 1 so that nothing overflows; no rotation where a_pq = 0."""
    zero, one = body.constant(0.0, dtype), body.constant(1.0, dtype)
    theta = body.op.Div(body.op.Sub(aqq, app), body.op.Mul(body.constant(2.0, dtype), apq))
    sign = body.op.Where(body.op.Less(theta, zero), body.constant(-1.0, dtype), one)
    near = body.op.Div(sign, body.op.Add(body.op.Abs(theta), body.op.Sqrt(body.op.Add(body.op.Mul(theta, theta), one))))
    inverse = body.op.Div(one, theta)
    far = body.op.Div(inverse, body.op.Add(one, body.op.Sqrt(body.op.Add(body.op.Mul(inverse, inverse), one))))
    tangent = body.op.Where(body.op.LessOrEqual(body.op.Abs(theta), one), near, far)
    tangent = body.op.Where(body.op.Equal(apq, zero), zero, tangent)
    cosine = body.op.Div(one, body.op.Sqrt(body.op.Add(body.op.Mul(tangent, tangent), one)))
    return cosine, body.op.Mul(tangent, cosine)


def _pair_entries(body, g, p_rows, q_rows):
    """(g_pp, g_qq, g_pq) for every pair of the round, each of shape (..., n_pairs)."""
    last = body.constant([-1], "int64")
    p_times_g = body.op.MatMul(p_rows, g)
    return (body.op.ReduceSum(body.op.Mul(p_times_g, p_rows), last, keepdims=0),
            body.op.ReduceSum(body.op.Mul(body.op.MatMul(q_rows, g), q_rows), last, keepdims=0),
            body.op.ReduceSum(body.op.Mul(p_times_g, q_rows), last, keepdims=0))


def _rotate_columns(body, x, p_rows, q_rows, cosine, sine, ndim):
    """X J: columns p and q of X become c x_p - s x_q and s x_p + c x_q for every pair. Picking the
    columns with one-hot MatMuls is exact; the rotation itself is elementwise (a MatMul with J
    could fuse a product into the sum, FMA, and leave rounding where two equal columns should cancel
    exactly, as LAPACK's cancel)."""
    x_p, x_q = body.op.MatMul(x, _swap_last(body, p_rows, 2)), body.op.MatMul(x, _swap_last(body, q_rows, 2))
    c = body.op.Unsqueeze(cosine, body.constant([-2], "int64"))
    s = body.op.Unsqueeze(sine, body.constant([-2], "int64"))
    new_p = body.op.Sub(body.op.Mul(c, x_p), body.op.Mul(s, x_q))
    new_q = body.op.Add(body.op.Mul(s, x_p), body.op.Mul(c, x_q))
    # every column is in exactly one pair (an odd n's last one plays the bye, as p): put them back
    return body.op.Add(body.op.MatMul(new_p, p_rows), body.op.MatMul(new_q, q_rows))


def jacobi(ctx, a, dtype: str, ndim: int, *, one_sided: bool, accumulate: bool = False) -> list[str]:
    """Cyclic Jacobi rotations in the parallel (round-robin) order, n/2 disjoint rotations per step:

    - two-sided (``one_sided=False``, A symmetric): A <- J^T A J until A is diagonal; its diagonal
      holds the eigenvalues (syev's values; Jacobi is at least as accurate).
    - one-sided (Hestenes): A <- A J until A's columns are orthogonal; their norms are the singular
      values, and with ``accumulate`` the product V of the rotations (A_0 V = A) is returned too.

    Each step's rotations come from the matrix (two-sided) or the Gram matrix A^T A of the columns
    (one-sided); the Loop ends once every off-diagonal entry is below eps * sqrt(g_ii g_jj), the
    relative criterion of Demmel and Veselic.
    """
    n = _size(ctx, a, ndim - 1)
    columns = _positions(ctx, n)
    is_diagonal = ctx.op.Equal(ctx.op.Unsqueeze(columns, ctx.constant([1], "int64")), columns)
    identity = ctx.op.Cast(is_diagonal, to=onnx_dtype(dtype))
    one = ctx.constant(1, "int64")
    rounds = ctx.op.Max(ctx.op.Sub(ctx.op.Add(n, ctx.op.Mod(n, ctx.constant(2, "int64"))), one),
                        ctx.constant(0, "int64"))
    steps = ctx.op.Mul(rounds, ctx.constant(_MAX_SWEEPS, "int64"))
    eps = ctx.constant(np.finfo(dtype).eps, dtype)
    carried = [(a, dtype, ndim)]
    if accumulate:
        shape = ctx.op.Concat(ctx.op.Slice(ctx.op.Shape(a), ctx.constant([0], "int64"), ctx.constant([-2], "int64")),
                              ctx.op.Unsqueeze(n, ctx.constant([0], "int64")),
                              ctx.op.Unsqueeze(n, ctx.constant([0], "int64")), axis=0)
        carried.append((ctx.op.Expand(identity, shape), dtype, ndim))

    def gram(body, x):
        return body.op.MatMul(_swap_last(body, x, ndim), x) if one_sided else x

    def step(body, k, values):
        x = values[0]
        p_rows, q_rows = _circle_round(body, n, body.op.Mod(k, rounds), dtype)
        app, aqq, apq = _pair_entries(body, gram(body, x), p_rows, q_rows)
        cosine, sine = _rotation(body, app, aqq, apq, dtype)
        rotations = (p_rows, q_rows, cosine, sine)
        if one_sided:
            rotated = [_rotate_columns(body, x, *rotations, ndim)]
        else:
            rotated = _swap_last(body, _rotate_columns(body, _swap_last(body, _rotate_columns(body, x, *rotations, ndim),
                                                                       ndim), *rotations, ndim), ndim)
            # the rotated pairs' entries are 0 by construction (as in LAPACK's and Rutishauser's Jacobi):
            # their rounding, ~eps max(|a_pp|, |a_qq|), would keep small eigenvalues from converging
            pairs = body.op.Add(body.op.MatMul(_swap_last(body, p_rows, 2), q_rows),
                                body.op.MatMul(_swap_last(body, q_rows, 2), p_rows))
            rotated = [body.op.Where(body.op.Greater(pairs, body.constant(0.0, dtype)), body.constant(0.0, dtype),
                                     rotated)]
        if accumulate:
            rotated.append(_rotate_columns(body, values[1], *rotations, ndim))
        return rotated

    def keep_going(body, values):
        g = gram(body, values[0])
        diagonal = body.op.Abs(_diagonal(body, g, n, ndim))
        bound = body.op.Mul(eps, body.op.Sqrt(body.op.Mul(body.op.Unsqueeze(diagonal, body.constant([-1], "int64")),
                                                          body.op.Unsqueeze(diagonal, body.constant([-2], "int64")))))
        off = body.op.Where(is_diagonal, body.constant(0.0, dtype), body.op.Abs(g))
        unconverged = body.op.Cast(body.op.Greater(off, bound), to=TensorProto.INT64)
        return body.op.Greater(body.op.ReduceSum(unconverged, keepdims=0), body.constant(0, "int64"))

    return loop(ctx, steps, carried, step, "jacobi_body", keep_going=keep_going)


def _sorted(ctx, values, n, *, descending: bool):
    """``values`` sorted along the last axis (TopK of all n)."""
    k = ctx.op.Unsqueeze(n, ctx.constant([0], "int64"))
    return ctx.op.TopK(values, k, axis=-1, largest=int(descending), sorted=1, n_outputs=2)[0]


def _if(ctx, condition, then_value, else_value, dtype, ndim, name):
    """``then_value(body)`` if the 0-d bool ``condition`` holds, else ``else_value(body)`` (ONNX If:
    the branches may have different shapes, unlike Where's)."""
    branches = []
    for label, build in (("then", then_value), ("else", else_value)):
        body = ctx.subgraph()
        branches.append(make_subgraph(body, ctx.fresh(f"{name}_{label}"), [], [build(body)], [(dtype, ndim)]))
    return ctx.op.If(condition, then_branch=branches[0], else_branch=branches[1], n_outputs=1)


def _wide(ctx, a, ndim):
    """0-d bool: A has fewer rows than columns."""
    return ctx.op.Less(_size(ctx, a, ndim - 2), _size(ctx, a, ndim - 1))


def _tall(ctx, a, wide, dtype, ndim):
    """A, or A^T where A is wide: the one-sided method orthogonalizes the shorter side's vectors."""
    return _if(ctx, wide, lambda body: _swap_last(body, a, ndim), lambda body: body.op.Identity(a), dtype, ndim,
               "orient")


def eigenvalues_symmetric(ctx, a, dtype: str, ndim: int) -> str:
    """Ascending eigenvalues of symmetric A, shape (..., n)."""
    scale = _power_of_two_scale(ctx, a, dtype)
    (diagonalized,) = jacobi(ctx, ctx.op.Div(a, scale), dtype, ndim, one_sided=False)
    n = _size(ctx, a, ndim - 1)
    values = _sorted(ctx, _diagonal(ctx, diagonalized, n, ndim), n, descending=False)
    return ctx.op.Mul(values, ctx.op.Squeeze(scale, ctx.constant([-1], "int64")))


@onnx_funcify.register(Eigvalsh)
def onnx_funcify_Eigvalsh(op, node, ctx, inputs):
    operands, dtype = _operands(ctx, node, inputs)
    ndim = node.inputs[0].type.ndim
    a = _symmetric_from(ctx, operands[0], ndim, lower=op.lower)
    if len(operands) == 2:
        # sygv's reduction of A x = w B x to C y = w y, C = L^-1 A L^-T with B = L L^T
        b = operands[1] if op.lower else _swap_last(ctx, operands[1], ndim)
        factor = cholesky_lower(ctx, b, dtype, ndim)
        half = triangular_solve(ctx, factor, a, dtype, ndim, lower=True, nan_if_singular=False)
        reduced = triangular_solve(ctx, factor, _swap_last(ctx, half, ndim), dtype, ndim, lower=True,
                                   nan_if_singular=False)
        a = _symmetric_from(ctx, reduced, ndim, lower=True)
    return [eigenvalues_symmetric(ctx, a, dtype, ndim)]


def _singular_value_factors(ctx, a, dtype, ndim, *, accumulate):
    """One-sided Jacobi on the tall orientation of A/scale: the rotated columns B (and V), the scale,
    whether A is wide and the number of singular values."""
    wide = _wide(ctx, a, ndim)
    scale = _power_of_two_scale(ctx, a, dtype)
    tall = _tall(ctx, ctx.op.Div(a, scale), wide, dtype, ndim)
    return jacobi(ctx, tall, dtype, ndim, one_sided=True, accumulate=accumulate), scale, wide, _size(ctx, tall, ndim - 1)


@onnx_funcify.register(SVD)
def onnx_funcify_SVD(op, node, ctx, inputs):
    if op.compute_uv:
        raise ONNXExportUnsupported(_SIGN_CHOICE.format(op=op, what="singular vectors", values="singular values"))
    (a,), dtype = _operands(ctx, node, inputs)
    ndim = node.inputs[0].type.ndim
    (columns,), scale, _, k = _singular_value_factors(ctx, a, dtype, ndim, accumulate=False)
    norms = ctx.op.Sqrt(ctx.op.ReduceSumSquare(columns, ctx.constant([-2], "int64"), keepdims=0))
    return [ctx.op.Mul(_sorted(ctx, norms, k, descending=True), ctx.op.Squeeze(scale, ctx.constant([-1], "int64")))]


@onnx_funcify.register(MatrixPinv)
def onnx_funcify_MatrixPinv(op, node, ctx, inputs):
    (a,), dtype = _operands(ctx, node, inputs)
    ndim = node.inputs[0].type.ndim
    if op.hermitian:
        a = _symmetric_from(ctx, a, ndim, lower=True)  # numpy's hermitian SVD is eigh of the lower triangle
    (columns, rotations), scale, wide, _ = _singular_value_factors(ctx, a, dtype, ndim, accumulate=True)
    # A V = B with orthogonal columns b_j = sigma_j u_j, so pinv(A) = V diag(1 / sigma_j^2) B^T,
    # keeping the sigma_j above numpy's cutoff
    squares = ctx.op.ReduceSumSquare(columns, ctx.constant([-2], "int64"), keepdims=1)
    cutoff = ctx.op.Mul(ctx.constant(_PINV_RCOND, dtype),
                        ctx.op.ReduceMax(ctx.op.Sqrt(squares), ctx.constant([-1], "int64"), keepdims=1))
    zero = ctx.constant(0.0, dtype)
    kept = ctx.op.Greater(ctx.op.Sqrt(squares), cutoff)
    weights = ctx.op.Where(kept, ctx.op.Div(ctx.constant(1.0, dtype), ctx.op.Where(kept, squares, ctx.constant(1.0, dtype))),
                           zero)
    inverse = ctx.op.Div(ctx.op.MatMul(ctx.op.Mul(rotations, weights), _swap_last(ctx, columns, ndim)), scale)
    return [_if(ctx, wide, lambda body: _swap_last(body, inverse, ndim), lambda body: body.op.Identity(inverse),
                dtype, ndim, "orient_back")]


# ---- QR: Householder reflections as LAPACK's geqr2 and org2r compute them ----

def householder_qr(ctx, a, dtype: str, ndim: int) -> tuple[str, str, str]:
    """geqr2 on A (..., m, n): the work matrix (R on and above the diagonal, the reflectors' v below
    it, as LAPACK stores them), tau (..., min(m, n)) and Q = H_0 H_1 ... (..., m, m).

    Reflector k is dlarfg's: alpha = a_kk, beta = -sign(alpha) |(alpha, x)| (-0.0 counts as negative), tau = (beta - alpha) /
    beta, v = x / (alpha - beta) below a 1; no reflection (tau = 0) where x is exactly 0. It is applied
    to the columns right of k as dlarf does: w = C^T v, C - v (tau w)^T.
    """
    m, n = _size(ctx, a, ndim - 2), _size(ctx, a, ndim - 1)
    rows, columns = _positions(ctx, m), _positions(ctx, n)
    zero, one = ctx.constant(0.0, dtype), ctx.constant(1.0, dtype)
    last = ctx.constant([-1], "int64")
    batch_shape = ctx.op.Slice(ctx.op.Shape(a), ctx.constant([0], "int64"), ctx.constant([ndim - 2], "int64"))
    m_vector = ctx.op.Unsqueeze(m, ctx.constant([0], "int64"))
    identity = ctx.op.Cast(ctx.op.Equal(ctx.op.Unsqueeze(rows, ctx.constant([1], "int64")), rows), to=onnx_dtype(dtype))
    q_initial = ctx.op.Expand(identity, ctx.op.Concat(batch_shape, m_vector, m_vector, axis=0))
    steps = ctx.op.Min(m, n)
    tau_initial = ctx.op.Expand(zero, ctx.op.Concat(batch_shape, ctx.op.Unsqueeze(steps, ctx.constant([0], "int64")),
                                                     axis=0))

    def step(body, k, values):
        trailing, factor, tau_all, q = values
        below, at = body.op.Greater(rows, k), body.op.Equal(rows, k)
        column = body.op.Gather(trailing, k, axis=-1)
        alpha = body.op.Gather(column, k, axis=-1)
        # (selections here keep the sign of zeros: dlarfg and dlarf carry a -0.0 into a later beta's sign)
        tail = select_keeping_zero_sign(body, below, column, zero, dtype)
        x_norm = body.op.Sqrt(body.op.ReduceSumSquare(tail, last, keepdims=0))
        norm = body.op.Sqrt(body.op.Add(body.op.Mul(alpha, alpha), body.op.Mul(x_norm, x_norm)))
        # Fortran's SIGN(norm, alpha) sees the sign of a zero: alpha = -0.0 gives beta = +norm
        beta = body.op.Where(sign_bit(body, alpha, dtype), norm, body.op.Neg(norm))
        reflects = body.op.Not(body.op.Equal(x_norm, zero))
        safe_beta = body.op.Where(reflects, beta, one)
        tau = body.op.Where(reflects, body.op.Div(body.op.Sub(beta, alpha), safe_beta), zero)
        # dlarfg scales x by the reciprocal 1 / (alpha - beta)
        reciprocal = body.op.Div(one, body.op.Where(reflects, body.op.Sub(alpha, beta), one))
        v = select_keeping_zero_sign(body, at, one, body.op.Mul(tail, body.op.Unsqueeze(reciprocal, last)), dtype)
        # the columns right of k: C - v (tau C^T v)^T (dlarf skips tau = 0)
        row_v = body.op.Unsqueeze(v, body.constant([-2], "int64"))
        scaled_w = body.op.Mul(body.op.Unsqueeze(body.op.Unsqueeze(tau, last), last), body.op.MatMul(row_v, trailing))
        changes = body.op.And(body.op.Greater(columns, k),
                              body.op.Unsqueeze(reflects, body.constant([-1, -2], "int64")))
        trailing = select_keeping_zero_sign(body, changes, body.op.Sub(trailing, body.op.Mul(body.op.Unsqueeze(v, last),
                                                                                             scaled_w)), trailing, dtype)
        # the finished column: beta (or alpha, unreflected) on the diagonal, v below it
        new_column = body.op.Where(at, body.op.Unsqueeze(body.op.Where(reflects, beta, alpha), last),
                                   body.op.Where(below, v, column))
        factor = body.op.Where(body.op.Equal(columns, k), body.op.Unsqueeze(new_column, last), factor)
        tau_all = body.op.Where(body.op.Equal(_positions(body, steps), k), body.op.Unsqueeze(tau, last), tau_all)
        # Q H: Q - (Q v) (tau v)^T
        q_v = body.op.MatMul(q, body.op.Unsqueeze(v, last))
        q = body.op.Sub(q, body.op.Mul(q_v, body.op.Mul(body.op.Unsqueeze(body.op.Unsqueeze(tau, last), last), row_v)))
        return [trailing, factor, tau_all, q]

    trailing, factor, tau, q = loop(ctx, steps, [(a, dtype, ndim), (a, dtype, ndim), (tau_initial, dtype, ndim - 1),
                                                 (q_initial, dtype, ndim)], step, "householder_body")
    # a wide A's columns past the last reflector are the trailing matrix's
    return ctx.op.Where(ctx.op.Less(columns, steps), factor, trailing), tau, q


def _upper(ctx, x, rows: str | None, dtype, ndim):
    """The first ``rows`` rows of x (all of them for None) with everything below the diagonal 0."""
    if rows is not None:
        x = ctx.op.Slice(x, ctx.constant([0], "int64"), ctx.op.Unsqueeze(rows, ctx.constant([0], "int64")),
                         ctx.constant([ndim - 2], "int64"))
    i = ctx.op.Unsqueeze(_positions(ctx, _size(ctx, x, ndim - 2)), ctx.constant([1], "int64"))
    return ctx.op.Where(ctx.op.LessOrEqual(i, _positions(ctx, _size(ctx, x, ndim - 1))), x, ctx.constant(0.0, dtype))


@onnx_funcify.register(QR)
def onnx_funcify_QR(op, node, ctx, inputs):
    if op.pivoting:
        raise ONNXExportUnsupported(f"{op}: column pivoting (geqp3) is not exported; QR without pivoting is")
    (a,), dtype = _operands(ctx, node, inputs)
    ndim = node.inputs[0].type.ndim
    # on A divided by a power of two near its largest entry (squares neither overflow nor underflow);
    # the reflectors and Q do not depend on it, R is multiplied back
    scale = _power_of_two_scale(ctx, a, dtype)
    work, tau, q = householder_qr(ctx, ctx.op.Div(a, scale), dtype, ndim)
    m, n = _size(ctx, a, ndim - 2), _size(ctx, a, ndim - 1)
    upper = ctx.op.LessOrEqual(ctx.op.Unsqueeze(_positions(ctx, m), ctx.constant([1], "int64")), _positions(ctx, n))
    work = ctx.op.Where(upper, ctx.op.Mul(work, scale), work)
    k = ctx.op.Min(m, n)
    # PyTensor: R is m x n except for economic and raw modes of a tall A, which keep n rows
    r = _upper(ctx, work, k if op.mode in ("economic", "raw") else None, dtype, ndim)
    if op.mode == "r":
        return [r]
    if op.mode == "raw":
        return [work, tau, r]
    if op.mode == "economic":
        q = ctx.op.Slice(q, ctx.constant([0], "int64"), ctx.op.Unsqueeze(k, ctx.constant([0], "int64")),
                         ctx.constant([ndim - 1], "int64"))
    return [q, r]


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
    n = _size(ctx, a, ndim - 1)
    zero = ctx.constant(0.0, dtype)
    positions = _positions(ctx, n)
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
    (a,), dtype = _operands(ctx, node, inputs)
    return [matrix_exponential(ctx, a, dtype, node.inputs[0].type.ndim)]


# ---- declined: named here so that users get the reason instead of "no conversion available" ----

_SIGN_CHOICE = ("{op}: {what} are defined only up to sign (and, for repeated {values}, up to a rotation of their "
                "basis); LAPACK's choice follows from its own rounding, which no composition reproduces, so the "
                "export could not be compared with PyTensor's result")
_NOT_COMPOSED = "{op}: not composed yet: needs {method} as an ONNX Loop, its accuracy measured against LAPACK"
_DECLINED = {
    Eigh: lambda op: _SIGN_CHOICE.format(op=op, what="eigenvectors", values="eigenvalues"),
    Eig: lambda op: (f"{op}: the eigenvalues of a general matrix are complex; onnxruntime's CPU kernels have no "
                     "complex tensors"),
}


def _decline(op, node, ctx, inputs):
    raise ONNXExportUnsupported(_DECLINED[type(op)](op))


for _op_type in _DECLINED:
    onnx_funcify.register(_op_type)(_decline)
