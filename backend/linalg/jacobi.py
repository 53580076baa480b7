"""Eigvalsh, SVD values, MatrixPinv and Lstsq by Jacobi's method (`jacobi`), in the parallel order that rotates
n/2 disjoint pairs per step: two-sided on the symmetric matrix (from the triangle LAPACK reads) for
eigenvalues, after sygv's reduction with a Cholesky factor for the generalized problem; one-sided
(Hestenes) on the columns of A or A^T, whichever has fewer, for singular values, and for pinv with
the rotations accumulated: A V = B, pinv(A) = V diag(1 / sigma^2) B^T over the sigma above numpy's
cutoff. The matrix is first divided by a power of two near its largest entry, so nothing overflows.
Singular vectors and eigenvectors are declined (`backend.linalg.declined`): their signs are LAPACK's
choice.

To extend: another spectral function from `jacobi`'s rotated matrix and accumulated rotations.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from backend.basic import onnx_funcify
from backend.compat import Eigh, EighGrad, Eigvalsh, Lstsq, MatrixPinv
from backend.dtypes import ONNXExportUnsupported, onnx_dtype
from backend.graph import make_subgraph
from backend.helpers import dtype_of, loop
from backend.linalg.helpers import axis_size, index_range, matrix_diagonal, solve_operands, swap_last_axes
from backend.linalg.solve import cholesky_lower, triangular_solve

# ---- eigenvalues and singular values: parallel cyclic Jacobi rotations ----

# Jacobi's method converges quadratically once the off-diagonal part is small: 5-8 sweeps for the
# sizes measured; the cap only bounds a run on non-finite input.
_MAX_SWEEPS = 30
# numpy's pinv: singular values at most 1e-15 times the largest count as zero
_PINV_RCOND = 1e-15


def power_of_two_scale(ctx, a, dtype):
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
    n = axis_size(ctx, a, ndim - 1)
    rows = ctx.op.Unsqueeze(index_range(ctx, n), ctx.constant([1], "int64"))
    kept = ctx.op.GreaterOrEqual(rows, index_range(ctx, n)) if lower else ctx.op.LessOrEqual(rows, index_range(ctx, n))
    return ctx.op.Where(kept, a, swap_last_axes(ctx, a, ndim))


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
    x_p, x_q = body.op.MatMul(x, swap_last_axes(body, p_rows, 2)), body.op.MatMul(x, swap_last_axes(body, q_rows, 2))
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
    n = axis_size(ctx, a, ndim - 1)
    columns = index_range(ctx, n)
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
        return body.op.MatMul(swap_last_axes(body, x, ndim), x) if one_sided else x

    def step(body, k, values):
        x = values[0]
        p_rows, q_rows = _circle_round(body, n, body.op.Mod(k, rounds), dtype)
        app, aqq, apq = _pair_entries(body, gram(body, x), p_rows, q_rows)
        cosine, sine = _rotation(body, app, aqq, apq, dtype)
        rotations = (p_rows, q_rows, cosine, sine)
        if one_sided:
            rotated = [_rotate_columns(body, x, *rotations, ndim)]
        else:
            rotated = swap_last_axes(body, _rotate_columns(body, swap_last_axes(body, _rotate_columns(body, x, *rotations, ndim),
                                                                       ndim), *rotations, ndim), ndim)
            # the rotated pairs' entries are 0 by construction (as in LAPACK's and Rutishauser's Jacobi):
            # their rounding, ~eps max(|a_pp|, |a_qq|), would keep small eigenvalues from converging
            pairs = body.op.Add(body.op.MatMul(swap_last_axes(body, p_rows, 2), q_rows),
                                body.op.MatMul(swap_last_axes(body, q_rows, 2), p_rows))
            rotated = [body.op.Where(body.op.Greater(pairs, body.constant(0.0, dtype)), body.constant(0.0, dtype),
                                     rotated)]
        if accumulate:
            rotated.append(_rotate_columns(body, values[1], *rotations, ndim))
        return rotated

    def keep_going(body, values):
        g = gram(body, values[0])
        diagonal = body.op.Abs(matrix_diagonal(body, g, n, ndim))
        bound = body.op.Mul(eps, body.op.Sqrt(body.op.Mul(body.op.Unsqueeze(diagonal, body.constant([-1], "int64")),
                                                          body.op.Unsqueeze(diagonal, body.constant([-2], "int64")))))
        off = body.op.Where(is_diagonal, body.constant(0.0, dtype), body.op.Abs(g))
        unconverged = body.op.Cast(body.op.Greater(off, bound), to=TensorProto.INT64)
        return body.op.Greater(body.op.ReduceSum(unconverged, keepdims=0), body.constant(0, "int64"))

    return loop(ctx, steps, carried, step, "jacobi_body", keep_going=keep_going)


def sorted_values(ctx, values, n, *, descending: bool):
    """``values`` sorted along the last axis (TopK of all n)."""
    k = ctx.op.Unsqueeze(n, ctx.constant([0], "int64"))
    return ctx.op.TopK(values, k, axis=-1, largest=int(descending), sorted=1, n_outputs=2)[0]


def if_then_else(ctx, condition, then_value, else_value, dtype, ndim, name):
    """``then_value(body)`` if the 0-d bool ``condition`` holds, else ``else_value(body)`` (ONNX If:
    the branches may have different shapes, unlike Where's)."""
    branches = []
    for label, build in (("then", then_value), ("else", else_value)):
        body = ctx.subgraph()
        branches.append(make_subgraph(body, ctx.fresh(f"{name}_{label}"), [], [build(body)], [(dtype, ndim)]))
    return ctx.op.If(condition, then_branch=branches[0], else_branch=branches[1], n_outputs=1)


def _wide(ctx, a, ndim):
    """0-d bool: A has fewer rows than columns."""
    return ctx.op.Less(axis_size(ctx, a, ndim - 2), axis_size(ctx, a, ndim - 1))


def _tall(ctx, a, wide, dtype, ndim):
    """A, or A^T where A is wide: the one-sided method orthogonalizes the shorter side's vectors."""
    return if_then_else(ctx, wide, lambda body: swap_last_axes(body, a, ndim), lambda body: body.op.Identity(a), dtype, ndim,
               "orient")


def eigenvalues_symmetric(ctx, a, dtype: str, ndim: int) -> str:
    """Ascending eigenvalues of symmetric A, shape (..., n)."""
    scale = power_of_two_scale(ctx, a, dtype)
    (diagonalized,) = jacobi(ctx, ctx.op.Div(a, scale), dtype, ndim, one_sided=False)
    n = axis_size(ctx, a, ndim - 1)
    values = sorted_values(ctx, matrix_diagonal(ctx, diagonalized, n, ndim), n, descending=False)
    return ctx.op.Mul(values, ctx.op.Squeeze(scale, ctx.constant([-1], "int64")))


@onnx_funcify.register(Eigh)
def onnx_funcify_Eigh(op, node, ctx, inputs):
    """Ascending eigenvalues and their eigenvectors (as columns): two-sided Jacobi with the rotations
    accumulated, V's columns ordered with the values (for A x = w B x, of sygv's standard form, mapped
    back). Each vector's sign (and, for a repeated
    eigenvalue, the basis of its eigenspace) is Jacobi's, not LAPACK's: the registry judges what is
    defined (`harness.registry.linalg`)."""
    operands, dtype = solve_operands(ctx, node, inputs)
    ndim = node.inputs[0].type.ndim
    lower = getattr(op, "lower", getattr(op, "UPLO", "L") == "L")
    a, factor = _standard_form(ctx, operands, dtype, ndim, lower=lower)
    scale = power_of_two_scale(ctx, a, dtype)
    diagonalized, vectors = jacobi(ctx, ctx.op.Div(a, scale), dtype, ndim, one_sided=False, accumulate=True)
    n = axis_size(ctx, a, ndim - 1)
    values, order = ctx.op.TopK(matrix_diagonal(ctx, diagonalized, n, ndim), ctx.op.Unsqueeze(n, ctx.constant([0], "int64")),
                                axis=-1, largest=0, sorted=1, n_outputs=2)
    columns = ctx.op.Expand(ctx.op.Unsqueeze(order, ctx.constant([-2], "int64")), ctx.op.Shape(vectors))
    vectors = ctx.op.GatherElements(vectors, columns, axis=-1)
    if factor is not None:  # A x = w B x: x = L^-T y, so that X^T B X = I (sygv's normalisation)
        vectors = triangular_solve(ctx, swap_last_axes(ctx, factor, ndim), vectors, dtype, ndim, lower=False,
                                   nan_if_singular=False)
    return [ctx.op.Mul(values, ctx.op.Squeeze(scale, ctx.constant([-1], "int64"))), vectors]


if EighGrad is not None:
    @onnx_funcify.register(EighGrad)
    def onnx_funcify_EighGrad(op, node, ctx, inputs):
        """PyTensor 2.38's eigh gradient: g = V diag(gw) V^T + V G^T with G = V ((V^T gV) * F), F[m, n] =
        1 / (w_n - w_m) off the diagonal; then the read triangle plus the other one's strict part transposed."""
        dtype = dtype_of(node.outputs[0])
        x, w, v, gw, gv = (ctx.cast(name, dtype_of(var), dtype) for name, var in zip(inputs, node.inputs))
        n = axis_size(ctx, x, 1)
        positions = index_range(ctx, n)
        row, column = ctx.op.Unsqueeze(positions, ctx.constant([1], "int64")), positions
        zero = ctx.constant(0.0, dtype)
        gaps = ctx.op.Sub(ctx.op.Unsqueeze(w, ctx.constant([0], "int64")), ctx.op.Unsqueeze(w, ctx.constant([1], "int64")))
        off_diagonal = ctx.op.Not(ctx.op.Equal(row, column))
        weights = ctx.op.Where(off_diagonal, ctx.op.Div(ctx.op.MatMul(ctx.op.Transpose(v, perm=[1, 0]), gv), gaps), zero)
        g = ctx.op.Add(ctx.op.MatMul(ctx.op.Mul(v, ctx.op.Unsqueeze(gw, ctx.constant([0], "int64"))),
                                     ctx.op.Transpose(v, perm=[1, 0])),
                       ctx.op.MatMul(v, ctx.op.Transpose(ctx.op.MatMul(v, weights), perm=[1, 0])))
        lower = op.UPLO == "L"
        kept = ctx.op.GreaterOrEqual(row, column) if lower else ctx.op.LessOrEqual(row, column)
        strict_other = ctx.op.Less(row, column) if lower else ctx.op.Greater(row, column)
        return [ctx.op.Add(ctx.op.Where(kept, g, zero),
                           ctx.op.Transpose(ctx.op.Where(strict_other, g, zero), perm=[1, 0]))]


@onnx_funcify.register(Eigvalsh)
def onnx_funcify_Eigvalsh(op, node, ctx, inputs):
    operands, dtype = solve_operands(ctx, node, inputs)
    ndim = node.inputs[0].type.ndim
    a, _ = _standard_form(ctx, operands, dtype, ndim, lower=op.lower)
    return [eigenvalues_symmetric(ctx, a, dtype, ndim)]


def _standard_form(ctx, operands, dtype, ndim, *, lower: bool):
    """(C, L): C = A (its ``lower`` triangle read), or for A x = w B x sygv's reduction C = L^-1 A L^-T
    with B = L L^T (L None without B)."""
    a = _symmetric_from(ctx, operands[0], ndim, lower=lower)
    if len(operands) == 1:
        return a, None
    b = operands[1] if lower else swap_last_axes(ctx, operands[1], ndim)
    factor = cholesky_lower(ctx, b, dtype, ndim)
    half = triangular_solve(ctx, factor, a, dtype, ndim, lower=True, nan_if_singular=False)
    reduced = triangular_solve(ctx, factor, swap_last_axes(ctx, half, ndim), dtype, ndim, lower=True,
                               nan_if_singular=False)
    return _symmetric_from(ctx, reduced, ndim, lower=True), factor


def singular_value_factors(ctx, a, dtype, ndim, *, accumulate):
    """One-sided Jacobi on the tall orientation of A/scale: the rotated columns B (and V), the scale,
    whether A is wide and the number of singular values."""
    wide = _wide(ctx, a, ndim)
    scale = power_of_two_scale(ctx, a, dtype)
    tall = _tall(ctx, ctx.op.Div(a, scale), wide, dtype, ndim)
    return jacobi(ctx, tall, dtype, ndim, one_sided=True, accumulate=accumulate), scale, wide, axis_size(ctx, tall, ndim - 1)


def pseudo_inverse(ctx, a, dtype, ndim, relative_cutoff):
    """(pinv(A), its singular values unsorted (..., 1, k), which are kept (..., 1, k)): A V = B with orthogonal columns
    b_j = sigma_j u_j, so pinv(A) = V diag(1 / sigma_j^2) B^T over the sigma_j above ``relative_cutoff``
    (a value name, (..., 1, 1) or 0-d) times the largest."""
    (columns, rotations), scale, wide, _ = singular_value_factors(ctx, a, dtype, ndim, accumulate=True)
    squares = ctx.op.ReduceSumSquare(columns, ctx.constant([-2], "int64"), keepdims=1)
    sigma = ctx.op.Sqrt(squares)
    cutoff = ctx.op.Mul(relative_cutoff, ctx.op.ReduceMax(sigma, ctx.constant([-1], "int64"), keepdims=1))
    zero = ctx.constant(0.0, dtype)
    kept = ctx.op.Greater(sigma, cutoff)
    weights = ctx.op.Where(kept, ctx.op.Div(ctx.constant(1.0, dtype), ctx.op.Where(kept, squares, ctx.constant(1.0, dtype))),
                           zero)
    inverse = ctx.op.Div(ctx.op.MatMul(ctx.op.Mul(rotations, weights), swap_last_axes(ctx, columns, ndim)), scale)
    inverse = if_then_else(ctx, wide, lambda body: swap_last_axes(body, inverse, ndim),
                           lambda body: body.op.Identity(inverse), dtype, ndim, "orient_back")
    # kept as rows (..., 1, k): onnxruntime 1.31 reduces an empty axis to a 0 where the 1 belongs, which a
    # Squeeze of that axis would refuse
    return inverse, ctx.op.Mul(sigma, scale), kept


@onnx_funcify.register(MatrixPinv)
def onnx_funcify_MatrixPinv(op, node, ctx, inputs):
    (a,), dtype = solve_operands(ctx, node, inputs)
    ndim = node.inputs[0].type.ndim
    if op.hermitian:
        a = _symmetric_from(ctx, a, ndim, lower=True)  # numpy's hermitian SVD is eigh of the lower triangle
    return [pseudo_inverse(ctx, a, dtype, ndim, ctx.constant(_PINV_RCOND, dtype))[0]]


@onnx_funcify.register(Lstsq)
def onnx_funcify_Lstsq(op, node, ctx, inputs):
    """numpy.linalg.lstsq (gelsd): x = pinv(A) b over the singular values above rcond times the largest
    (machine precision, 2**-53, for a negative rcond); the residuals ||b - A x||^2 per column where A has
    full column rank and more rows than columns (else empty), the rank (int32, as PyTensor types it) and
    the singular values in descending order."""
    if node.inputs[1].type.ndim != 2 or node.inputs[0].type.ndim != 2:
        raise ONNXExportUnsupported(f"{op}: a vector b gives numpy's vector x, which PyTensor types as a matrix; "
                                    "pass b as a one-column matrix")
    dtype = "float64"  # PyTensor types every output float64 (or int32)
    a, b, rcond = (ctx.cast(name, dtype_of(v), dtype) for name, v in zip(inputs, node.inputs))
    relative = ctx.op.Where(ctx.op.Less(rcond, ctx.constant(0.0, dtype)), ctx.constant(2.0**-53, dtype), rcond)
    inverse, sigma, kept = pseudo_inverse(ctx, a, dtype, 2, relative)
    x = ctx.op.MatMul(inverse, b)
    rank = ctx.op.ReduceSum(ctx.op.Cast(kept, to=TensorProto.INT64), keepdims=0)  # over all axes
    rows, columns = axis_size(ctx, a, 0), axis_size(ctx, a, 1)
    full = ctx.op.And(ctx.op.Equal(rank, columns), ctx.op.Greater(rows, columns))
    sums = ctx.op.ReduceSumSquare(ctx.op.Sub(b, ctx.op.MatMul(a, x)), ctx.constant([0], "int64"), keepdims=0)
    length = ctx.op.Where(full, ctx.op.Shape(sums), ctx.constant([0], "int64"))
    residuals = ctx.op.Slice(sums, ctx.constant([0], "int64"), length)
    sigma = ctx.op.Reshape(sigma, ctx.constant([-1], "int64"))
    values = sorted_values(ctx, sigma, ctx.op.Squeeze(ctx.op.Shape(sigma), ctx.constant([0], "int64")), descending=True)
    return [x, residuals, ctx.op.Cast(rank, to=TensorProto.INT32), values]
