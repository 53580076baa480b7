"""Schur forms: the real Schur decomposition A = Z T Z^T (``schur(A, output="real")``, LAPACK's gees: Z
orthogonal, T quasi-upper-triangular, a 2 x 2 block on its diagonal for each pair of complex conjugate
eigenvalues) and the generalized real Schur form of a pencil (``qz``, gges; `onnx_funcify_QZ`).

`real_schur`: a Householder reduction to Hessenberg form H = Q^T A Q (`_hessenberg`; exact zeros in a column
become zero subdiagonal entries, the structure of nilpotent and permutation-like matrices), then shifted QR
steps with Francis' double shift in explicit form: on the unreduced window at the bottom of the active rows
(`_split`: above the lowest block left of the diagonal that is negligible, eps times the neighbouring
diagonal entries as LAPACK's dlahqr tests, set to 0), M = H^2 - s H + t I with s and t the trace and
determinant of the window's trailing 2 x 2 block (two real shifts or a complex pair, in real arithmetic),
Q the Householder Q of M (`backend.linalg.qr`, the identity outside the window) and H <- Q^T H Q,
Z <- Z Q on the whole matrix (`_shifted_step`). A window of one or two rows is split off. After 10 and 20
steps without a split the shifts are LAPACK's exceptional ones (they break the cycles of matrices such as
a cyclic permutation), and the test turns normwise (a defective eigenvalue's tiny diagonal entries could
otherwise hold a tail of rounding size forever). Each step is an orthogonal similarity, so T and Z are
backward stable whatever the number of steps; rows outside the window are copied exactly.

Every 2 x 2 block is then put in LAPACK's standard form (dlanv2's conditions, `_standardized`): a block with
real eigenvalues is made upper triangular by the rotation onto its eigenvector; a complex pair's block gets
equal diagonal entries and off-diagonal entries of opposite signs. The rotations of all blocks are
applied at once (they act on disjoint pairs of rows and columns), and each block's entries are then
those computed for it.

The matrix is first divided by a power of two near its largest entry (exact), so nothing overflows.
Non-finite input gives NaN (as PyTensor), and so does an iteration that has not converged after
30 max(n, 10) steps (LAPACK's limit, where gees reports failure and PyTensor returns NaN).

What T and Z are is LAPACK's choice among many (the order of the eigenvalues on the diagonal, the signs
of Z's columns): the registry judges what is defined (`harness.registry.linalg`).

To extend: an ordered form (``sort=``) needs the swaps of adjacent blocks (LAPACK's trexc, tgsen for QZ)
applied to T and Z after `real_schur`.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from backend.basic import onnx_funcify
from backend.compat import QZ, Schur
from backend.dtypes import ONNXExportUnsupported, onnx_dtype
from backend.helpers import loop
from backend.linalg.helpers import (
    UNROLLED_SIZE,
    axis_size,
    identity,
    index_range,
    matrix_diagonal,
    nan_where,
    solve_operands,
    swap_last_axes,
)
from backend.linalg.jacobi import power_of_two_scale
from backend.linalg.qr import householder_qr
from backend.linalg.solve import lu_solve

# LAPACK's dlahqr: exceptional shifts every 10 steps without deflation, at most 30 max(n, 10) steps
_EXCEPTIONAL_EVERY = 10
_STEPS_PER_SIZE = 30


class _Positions:
    """Row and column indices of an n x n matrix, to mask entries relative to a per-matrix index."""

    def __init__(self, ctx, n):
        self.columns = index_range(ctx, n)
        self.rows = ctx.op.Unsqueeze(self.columns, ctx.constant([1], "int64"))


def _as_matrix_index(ctx, index):
    """A per-matrix index (...) as (..., 1, 1), to compare with the row and column positions."""
    return ctx.op.Unsqueeze(index, ctx.constant([-1, -2], "int64"))


def _entry(ctx, h, at: _Positions, row, column, dtype):
    """H[row, column] per matrix (0 where the index is outside the matrix), shape (...)."""
    mask = ctx.op.And(ctx.op.Equal(at.rows, _as_matrix_index(ctx, row)),
                      ctx.op.Equal(at.columns, _as_matrix_index(ctx, column)))
    return ctx.op.ReduceSum(ctx.op.Where(mask, h, ctx.constant(0.0, dtype)), ctx.constant([-2, -1], "int64"),
                            keepdims=0)


def _largest_where(ctx, mask, magnitudes, dtype):
    """max |H| over the masked entries per matrix (0 for none), shape (...)."""
    return ctx.op.ReduceMax(ctx.op.Where(mask, magnitudes, ctx.constant(0.0, dtype)), ctx.constant([-2, -1], "int64"),
                            keepdims=0)


def _window(body, at: _Positions, low, active):
    """The rows (or columns) of the unreduced window [low, active) as a (..., n, 1) and a (..., 1, n) mask."""
    low, active = _as_matrix_index(body, low), _as_matrix_index(body, active)
    return (body.op.And(body.op.GreaterOrEqual(at.rows, low), body.op.Less(at.rows, active)),
            body.op.And(body.op.GreaterOrEqual(at.columns, low), body.op.Less(at.columns, active)))


def _shifted_step(body, h, z, low, active, stalled, at: _Positions, dtype, ndim):
    """One explicit double-shift QR step on the window [low, active) of H: (H, Z) <- (Q^T H Q, Z Q) with Q the
    Householder Q of H^2 - s H + t I there (the identity elsewhere, so the rest of H's rows and columns
    outside the window are copied exactly)."""
    one = body.constant(1, "int64")
    k1, k2 = body.op.Sub(active, body.constant(2, "int64")), body.op.Sub(active, one)
    h11, h12 = _entry(body, h, at, k1, k1, dtype), _entry(body, h, at, k1, k2, dtype)
    h21, h22 = _entry(body, h, at, k2, k1, dtype), _entry(body, h, at, k2, k2, dtype)
    # dlahqr's exceptional shift: a 2 x 2 block built from the last two rows' entries left of the diagonal
    # within the window (their subdiagonal entries on a Hessenberg matrix; rounding fills in below them)
    exceptional = body.op.And(body.op.Greater(stalled, body.constant(0, "int64")),
                              body.op.Equal(body.op.Mod(stalled, body.constant(_EXCEPTIONAL_EVERY, "int64")),
                                            body.constant(0, "int64")))
    magnitudes = body.op.Abs(h)
    in_window = body.op.GreaterOrEqual(at.columns, _as_matrix_index(body, low))

    def left_of_diagonal(row):
        return _largest_where(body, body.op.And(body.op.And(body.op.Equal(at.rows, _as_matrix_index(body, row)),
                                                            body.op.Less(at.columns, _as_matrix_index(body, row))),
                                                in_window), magnitudes, dtype)

    w = body.op.Add(left_of_diagonal(k2), left_of_diagonal(k1))
    diagonal_shift = body.op.Add(body.op.Mul(body.constant(0.75, dtype), w), h22)
    h11 = body.op.Where(exceptional, diagonal_shift, h11)
    h12 = body.op.Where(exceptional, body.op.Mul(body.constant(-0.4375, dtype), w), h12)
    h21 = body.op.Where(exceptional, w, h21)
    h22 = body.op.Where(exceptional, diagonal_shift, h22)
    trace = body.op.Add(h11, h22)
    determinant = body.op.Sub(body.op.Mul(h11, h22), body.op.Mul(h12, h21))

    window_rows, window_columns = _window(body, at, low, active)
    inside = body.op.And(window_rows, window_columns)
    zero = body.constant(0.0, dtype)
    h_window = body.op.Where(inside, h, zero)
    eye = identity(body, axis_size(body, h, ndim - 1), dtype)
    shifted = body.op.Add(body.op.Sub(body.op.MatMul(h_window, h_window),
                                      body.op.Mul(_as_matrix_index(body, trace), h_window)),
                          body.op.Mul(_as_matrix_index(body, determinant), eye))
    # outside the window: the identity, so that Q is the identity there exactly
    shifted = body.op.Where(inside, shifted, eye)
    # Q does not change when M's columns are scaled: keep M's squares in range
    shifted = body.op.Div(shifted, power_of_two_scale(body, shifted, dtype))
    _, _, q = householder_qr(body, shifted, dtype, ndim)
    return (body.op.MatMul(swap_last_axes(body, q, ndim), body.op.MatMul(h, q)), body.op.MatMul(z, q))


def _split(body, h, active, stalled, at: _Positions, n, dtype, eps, floor):
    """(H, low, active, deflated): ``low`` the start of the unreduced window at the bottom of the active rows,
    the largest k with H[k:active, :k] negligible (dlahqr's search for a small subdiagonal entry, over the
    whole block left of it since rounding fills in below the subdiagonal), those entries set to 0; where the
    window has 1 or 2 rows it is split off (``active`` becomes ``low``).

    Negligible: at most eps times the two diagonal entries beside the split (the whole active block's largest
    entry where both are 0, or after `_EXCEPTIONAL_EVERY` steps without a split: a defective eigenvalue's
    tiny diagonal entries may otherwise hold a tail of rounding size forever), never below an underflow
    threshold."""
    magnitudes = body.op.Abs(h)
    # per candidate split k (a leading axis): the rows k..active-1 left of column k
    splits = body.op.Unsqueeze(at.columns, body.constant([1, 2], "int64"))  # (n, 1, 1)
    active_3 = body.op.Unsqueeze(active, body.constant([-1, -2, -3], "int64"))
    rows, columns = body.op.Unsqueeze(at.rows, body.constant([0], "int64")), body.op.Unsqueeze(
        at.columns, body.constant([0], "int64"))
    below_left = body.op.And(body.op.And(body.op.GreaterOrEqual(rows, splits), body.op.Less(rows, active_3)),
                             body.op.Less(columns, splits))
    zero = body.constant(0.0, dtype)
    tails = body.op.ReduceMax(body.op.Where(below_left, body.op.Unsqueeze(magnitudes, body.constant([-3], "int64")),
                                            zero), body.constant([-2, -1], "int64"), keepdims=0)  # (..., n)
    active_rows, active_columns = _window(body, at, body.op.Mul(active, body.constant(0, "int64")), active)
    block_size = _largest_where(body, body.op.And(active_rows, active_columns), magnitudes, dtype)
    diagonal = body.op.Abs(matrix_diagonal(body, h, n, ndim=None))
    reference = body.op.Add(diagonal, _shifted_by_one(body, diagonal, n, dtype, forward=False))
    block_size_here = body.op.Unsqueeze(block_size, body.constant([-1], "int64"))
    use_block = body.op.Or(body.op.Equal(reference, zero),
                           body.op.Unsqueeze(body.op.GreaterOrEqual(stalled, body.constant(_EXCEPTIONAL_EVERY, "int64")),
                                             body.constant([-1], "int64")))
    reference = body.op.Where(use_block, body.op.Max(reference, block_size_here), reference)
    candidate = body.op.And(body.op.GreaterOrEqual(at.columns, body.constant(1, "int64")),
                            body.op.Less(at.columns, body.op.Unsqueeze(active, body.constant([-1], "int64"))))
    negligible = body.op.And(candidate, body.op.LessOrEqual(tails, body.op.Max(body.op.Mul(eps, reference), floor)))
    low = body.op.ReduceMax(body.op.Where(negligible, at.columns, body.constant(0, "int64")),
                            body.constant([-1], "int64"), keepdims=0)
    low = body.op.Max(low, body.constant(0, "int64"))  # an empty matrix's reduction is the lowest integer
    window_rows, _ = _window(body, at, low, active)
    cleared = body.op.And(window_rows, body.op.Less(at.columns, _as_matrix_index(body, low)))
    h = body.op.Where(cleared, zero, h)
    small = body.op.And(body.op.Greater(active, body.constant(0, "int64")),
                        body.op.LessOrEqual(body.op.Sub(active, low), body.constant(2, "int64")))
    return h, low, body.op.Where(small, low, active), small


def _shifted_by_one(ctx, vector, n, dtype, *, forward: bool):
    """v[i + 1] (``forward``) or v[i - 1] at position i, 0 past the ends, by a MatMul with a shift matrix
    (one nonzero term per entry: exact)."""
    at = _Positions(ctx, n)
    one = ctx.constant(1, "int64")
    # (v S)[i] = sum_j v[j] S[j, i], S[j, i] = 1 where j = i + 1 (forward) or j = i - 1
    shift = ctx.op.Equal(at.rows, ctx.op.Add(at.columns, one) if forward else ctx.op.Sub(at.columns, one))
    return ctx.op.MatMul(vector, ctx.op.Cast(shift, to=onnx_dtype(dtype)))


def _signed_one(ctx, x, dtype):
    """+1 for x >= 0, -1 below (dlanv2's SIGN(1, x) for the values it meets)."""
    return ctx.op.Where(ctx.op.Less(x, ctx.constant(0.0, dtype)), ctx.constant(-1.0, dtype), ctx.constant(1.0, dtype))


def _standard_blocks(ctx, a, b, c, d, dtype):
    """dlanv2's standard form of the 2 x 2 blocks [[a, b], [c, d]] (elementwise over blocks): the rotation
    R = [[cs, -sn], [sn, cs]] and R^T [[a, b], [c, d]] R as (cs, sn, a, b, c, d). A complex pair's block is
    rotated to equal diagonal entries; a block with real eigenvalues (also one that rounding left real after
    that) onto its eigenvector, which makes it upper triangular."""
    zero, one, half = ctx.constant(0.0, dtype), ctx.constant(1.0, dtype), ctx.constant(0.5, dtype)

    def discriminant(a, b, c, d):
        p = ctx.op.Mul(half, ctx.op.Sub(a, d))
        return p, ctx.op.Add(ctx.op.Mul(p, p), ctx.op.Mul(b, c))

    # complex pair: tan(2 theta) = -(a - d) / (b + c) equalizes the diagonal
    _, disc = discriminant(a, b, c, d)
    complex_pair = ctx.op.And(ctx.op.Not(ctx.op.Equal(c, zero)), ctx.op.Less(disc, zero))
    sigma, delta = ctx.op.Add(b, c), ctx.op.Sub(a, d)
    radius = ctx.op.Sqrt(ctx.op.Add(ctx.op.Mul(sigma, sigma), ctx.op.Mul(delta, delta)))
    turns = ctx.op.And(complex_pair, ctx.op.Greater(radius, zero))
    safe_radius = ctx.op.Where(turns, radius, one)
    cos_double = ctx.op.Div(ctx.op.Abs(sigma), safe_radius)
    sin_double = ctx.op.Neg(ctx.op.Div(ctx.op.Mul(delta, _signed_one(ctx, sigma, dtype)), safe_radius))
    cs1 = ctx.op.Sqrt(ctx.op.Mul(half, ctx.op.Add(one, cos_double)))
    sn1 = ctx.op.Div(sin_double, ctx.op.Add(cs1, cs1))
    cs1, sn1 = ctx.op.Where(turns, cs1, one), ctx.op.Where(turns, sn1, zero)
    # B R, then R^T (B R)
    ar, br = ctx.op.Add(ctx.op.Mul(a, cs1), ctx.op.Mul(b, sn1)), ctx.op.Sub(ctx.op.Mul(b, cs1), ctx.op.Mul(a, sn1))
    cr, dr = ctx.op.Add(ctx.op.Mul(c, cs1), ctx.op.Mul(d, sn1)), ctx.op.Sub(ctx.op.Mul(d, cs1), ctx.op.Mul(c, sn1))
    a1, b1 = ctx.op.Add(ctx.op.Mul(cs1, ar), ctx.op.Mul(sn1, cr)), ctx.op.Add(ctx.op.Mul(cs1, br), ctx.op.Mul(sn1, dr))
    c1, d1 = ctx.op.Sub(ctx.op.Mul(cs1, cr), ctx.op.Mul(sn1, ar)), ctx.op.Sub(ctx.op.Mul(cs1, dr), ctx.op.Mul(sn1, br))
    mean = ctx.op.Mul(half, ctx.op.Add(a1, d1))
    a1, d1 = ctx.op.Where(turns, mean, a1), ctx.op.Where(turns, mean, d1)
    a1, b1, c1 = (ctx.op.Where(turns, new, old) for new, old in ((a1, a), (b1, b), (c1, c)))
    d1 = ctx.op.Where(turns, d1, d)

    # real eigenvalues: the first column of R is the eigenvector (z, c) of a + z = d + z, z = p + sign(p) sqrt(disc)
    p, disc = discriminant(a1, b1, c1, d1)
    real_pair = ctx.op.And(ctx.op.Not(ctx.op.Equal(c1, zero)), ctx.op.GreaterOrEqual(disc, zero))
    root = ctx.op.Sqrt(ctx.op.Where(real_pair, disc, zero))
    z = ctx.op.Add(p, ctx.op.Mul(_signed_one(ctx, p, dtype), root))
    tau = ctx.op.Sqrt(ctx.op.Add(ctx.op.Mul(z, z), ctx.op.Mul(c1, c1)))
    safe_tau = ctx.op.Where(real_pair, tau, one)
    cs2 = ctx.op.Where(real_pair, ctx.op.Div(z, safe_tau), one)
    sn2 = ctx.op.Where(real_pair, ctx.op.Div(c1, safe_tau), zero)
    # the second eigenvalue from the product of both (d - bc / z); z = 0 only for a defective block, a = d
    safe_z = ctx.op.Where(ctx.op.Equal(z, zero), one, z)
    second = ctx.op.Where(ctx.op.Equal(z, zero), a1, ctx.op.Sub(d1, ctx.op.Div(ctx.op.Mul(b1, c1), safe_z)))
    a2 = ctx.op.Where(real_pair, ctx.op.Add(d1, z), a1)
    d2 = ctx.op.Where(real_pair, second, d1)
    b2 = ctx.op.Where(real_pair, ctx.op.Sub(b1, c1), b1)  # b - c is invariant under a rotation
    c2 = ctx.op.Where(real_pair, zero, c1)
    # R = R1 R2: the angles add
    cs = ctx.op.Sub(ctx.op.Mul(cs1, cs2), ctx.op.Mul(sn1, sn2))
    sn = ctx.op.Add(ctx.op.Mul(sn1, cs2), ctx.op.Mul(cs1, sn2))
    return cs, sn, a2, b2, c2, d2


def _standardized(ctx, t, z, n, dtype, ndim):
    """T and Z with every 2 x 2 block of T (a nonzero subdiagonal entry) in standard form."""
    at = _Positions(ctx, n)
    zero = ctx.constant(0.0, dtype)
    sub_mask = ctx.op.Equal(at.rows, ctx.op.Add(at.columns, ctx.constant(1, "int64")))   # T[i + 1, i]
    super_mask = ctx.op.Equal(at.columns, ctx.op.Add(at.rows, ctx.constant(1, "int64")))  # T[i, i + 1]
    # per block start i: a = T[i, i], b = T[i, i + 1], c = T[i + 1, i], d = T[i + 1, i + 1]
    a = matrix_diagonal(ctx, t, n, ndim)
    b = ctx.op.ReduceSum(ctx.op.Where(super_mask, t, zero), ctx.constant([-1], "int64"), keepdims=0)
    c = ctx.op.ReduceSum(ctx.op.Where(sub_mask, t, zero), ctx.constant([-2], "int64"), keepdims=0)
    d = _shifted_by_one(ctx, a, n, dtype, forward=True)
    starts = ctx.op.Not(ctx.op.Equal(c, zero))
    cs, sn, a2, b2, c2, d2 = _standard_blocks(ctx, a, b, c, d, dtype)
    cs, sn = ctx.op.Where(starts, cs, ctx.constant(1.0, dtype)), ctx.op.Where(starts, sn, zero)
    # G: cs at (i, i) and (i + 1, i + 1), -sn at (i, i + 1), sn at (i + 1, i) for each block start i
    row_vector, column_vector = ctx.constant([-1], "int64"), ctx.constant([-2], "int64")
    starts_before = ctx.op.Cast(_shifted_by_one(ctx, ctx.op.Cast(starts, to=onnx_dtype(dtype)), n, dtype, forward=False),
                                to=TensorProto.BOOL)
    g_diagonal = ctx.op.Where(starts, cs, ctx.op.Where(starts_before, _shifted_by_one(ctx, cs, n, dtype, forward=False),
                                                       ctx.constant(1.0, dtype)))
    g = ctx.op.Add(ctx.op.Mul(identity(ctx, n, dtype), ctx.op.Unsqueeze(g_diagonal, column_vector)),
                   ctx.op.Sub(ctx.op.Where(sub_mask, ctx.op.Unsqueeze(sn, column_vector), zero),
                              ctx.op.Where(super_mask, ctx.op.Unsqueeze(sn, row_vector), zero)))
    t = ctx.op.MatMul(swap_last_axes(ctx, g, ndim), ctx.op.MatMul(t, g))
    z = ctx.op.MatMul(z, g)
    # each block's entries as computed for it (the rotation of the rest leaves rounding there)
    new_diagonal = ctx.op.Where(starts, a2, ctx.op.Where(starts_before, _shifted_by_one(ctx, d2, n, dtype, forward=False),
                                                         matrix_diagonal(ctx, t, n, ndim)))
    is_diagonal = ctx.op.Equal(at.rows, at.columns)
    block_diagonal = ctx.op.And(is_diagonal, ctx.op.Or(ctx.op.Unsqueeze(starts, row_vector),
                                                       ctx.op.Unsqueeze(starts_before, row_vector)))
    t = ctx.op.Where(block_diagonal, ctx.op.Unsqueeze(new_diagonal, row_vector), t)
    t = ctx.op.Where(ctx.op.And(super_mask, ctx.op.Unsqueeze(starts, row_vector)), ctx.op.Unsqueeze(b2, row_vector), t)
    t = ctx.op.Where(ctx.op.And(sub_mask, ctx.op.Unsqueeze(starts, column_vector)), ctx.op.Unsqueeze(c2, column_vector), t)
    return t, z


def _hessenberg(ctx, a, z, n, dtype: str, ndim: int) -> tuple[str, str]:
    """(H, Z Q) with H = Q^T A Q upper Hessenberg, Q the product of Householder reflections (LAPACK's gehd2):
    reflection k maps column k below row k + 1 onto its first entry. Exact zeros in a column (a matrix with
    invariant subspaces along the coordinates, as integer matrices often have) become zero subdiagonal
    entries, where the iteration splits the matrix as LAPACK's does."""
    at = _Positions(ctx, n)
    zero, one = ctx.constant(0.0, dtype), ctx.constant(1.0, dtype)
    last = ctx.constant([-1], "int64")

    def step(body, k, values):
        h, z = values
        next_row = body.op.Add(k, body.constant(1, "int64"))
        column = body.op.Gather(h, k, axis=-1)  # (..., n)
        alpha = _entry_of_vector(body, column, at, next_row, dtype)
        tail = body.op.Where(body.op.Greater(at.columns, next_row), column, zero)
        x_norm = body.op.Sqrt(body.op.ReduceSumSquare(tail, last, keepdims=0))
        norm = body.op.Sqrt(body.op.Add(body.op.Mul(alpha, alpha), body.op.Mul(x_norm, x_norm)))
        beta = body.op.Where(body.op.Less(alpha, zero), norm, body.op.Neg(norm))
        reflects = body.op.Not(body.op.Equal(x_norm, zero))
        tau = body.op.Where(reflects, body.op.Div(body.op.Sub(beta, alpha), body.op.Where(reflects, beta, one)), zero)
        reciprocal = body.op.Div(one, body.op.Where(reflects, body.op.Sub(alpha, beta), one))
        v = body.op.Where(body.op.Equal(at.columns, next_row), one, body.op.Mul(tail, body.op.Unsqueeze(reciprocal, last)))
        v_column = body.op.Unsqueeze(v, last)                              # (..., n, 1)
        v_row = body.op.Unsqueeze(v, body.constant([-2], "int64"))         # (..., 1, n)
        tau_matrix = _as_matrix_index(body, tau)
        # P = I - tau v v^T on both sides of H, and on the right of Z
        h = body.op.Sub(h, body.op.Mul(tau_matrix, body.op.Mul(v_column, body.op.MatMul(v_row, h))))
        h = body.op.Sub(h, body.op.Mul(tau_matrix, body.op.Mul(body.op.MatMul(h, v_column), v_row)))
        z = body.op.Sub(z, body.op.Mul(tau_matrix, body.op.Mul(body.op.MatMul(z, v_column), v_row)))
        # column k as the reflection leaves it exactly: beta at row k + 1, 0 below
        below = body.op.And(body.op.Equal(at.columns, k), body.op.Greater(at.rows, next_row))
        at_next = body.op.And(body.op.Equal(at.columns, k), body.op.Equal(at.rows, next_row))
        reflected = _as_matrix_index(body, reflects)
        h = body.op.Where(body.op.And(reflected, below), zero, h)
        h = body.op.Where(body.op.And(reflected, at_next), _as_matrix_index(body, beta), h)
        return [h, z]

    steps = ctx.op.Max(ctx.op.Sub(n, ctx.constant(2, "int64")), ctx.constant(0, "int64"))
    return tuple(loop(ctx, steps, [(a, dtype, ndim), (z, dtype, ndim)], step, "hessenberg_body",
                      unroll_up_to=UNROLLED_SIZE))


def _entry_of_vector(ctx, v, at: _Positions, index, dtype):
    """v[index] per vector (index a 0-d int64), shape (...)."""
    return ctx.op.ReduceSum(ctx.op.Where(ctx.op.Equal(at.columns, index), v, ctx.constant(0.0, dtype)),
                            ctx.constant([-1], "int64"), keepdims=0)


def real_schur(ctx, a, dtype: str, ndim: int) -> tuple[str, str]:
    """(T, Z) with A = Z T Z^T for A (..., n, n): T quasi-upper-triangular with its 2 x 2 blocks in standard
    form, Z orthogonal; NaN for non-finite A or an iteration that did not converge."""
    scale = power_of_two_scale(ctx, a, dtype)
    n = axis_size(ctx, a, ndim - 1)
    at = _Positions(ctx, n)
    batch_shape = ctx.op.Slice(ctx.op.Shape(a), ctx.constant([0], "int64"), ctx.constant([ndim - 2], "int64"))
    z_initial = ctx.op.Expand(identity(ctx, n, dtype), ctx.op.Shape(a))
    active_initial = ctx.op.Expand(n, batch_shape)
    stalled_initial = ctx.op.Expand(ctx.constant(0, "int64"), batch_shape)
    # none for an empty matrix (onnxruntime 1.31 gives reductions over its empty axes wrong shapes in a Loop)
    steps = ctx.op.Mul(ctx.op.Mul(ctx.constant(_STEPS_PER_SIZE, "int64"), ctx.op.Max(n, ctx.constant(10, "int64"))),
                       ctx.op.Min(n, ctx.constant(1, "int64")))
    eps = ctx.constant(np.finfo(dtype).eps, dtype)
    # LAPACK's smlnum: below it a tail counts as negligible whatever the diagonal
    floor = ctx.op.Mul(ctx.constant(np.finfo(dtype).tiny / np.finfo(dtype).eps, dtype), ctx.op.Cast(n, to=onnx_dtype(dtype)))

    def step(body, _, values):
        h, z, active, stalled = values
        h, low, active, split = _split(body, h, active, stalled, at, n, dtype, eps, floor)
        stalled = body.op.Where(split, body.constant(0, "int64"), body.op.Add(stalled, body.constant(1, "int64")))
        stepped_h, stepped_z = _shifted_step(body, h, z, low, active, stalled, at, dtype, ndim)
        steps_here = _as_matrix_index(body, body.op.GreaterOrEqual(body.op.Sub(active, low), body.constant(3, "int64")))
        return [body.op.Where(steps_here, stepped_h, h), body.op.Where(steps_here, stepped_z, z), active, stalled]

    def keep_going(body, values):
        running = body.op.Cast(body.op.Greater(values[2], body.constant(0, "int64")), to=TensorProto.INT64)
        return body.op.Greater(body.op.ReduceSum(running, keepdims=0), body.constant(0, "int64"))

    h, z = _hessenberg(ctx, ctx.op.Div(a, scale), z_initial, n, dtype, ndim)
    t, z, active, _ = loop(ctx, steps, [(h, dtype, ndim), (z, dtype, ndim),
                                        (active_initial, "int64", ndim - 2), (stalled_initial, "int64", ndim - 2)],
                           step, "schur_body", keep_going=keep_going, fixed_shapes=True)
    t, z = _standardized(ctx, t, z, n, dtype, ndim)
    finite = ctx.op.Not(ctx.op.Or(ctx.op.IsNaN(a), ctx.op.IsInf(a)))
    all_finite = ctx.op.Cast(ctx.op.ReduceMin(ctx.op.Cast(finite, to=TensorProto.INT64), ctx.constant([-2, -1], "int64"),
                                              keepdims=0), to=TensorProto.BOOL)
    failed = ctx.op.Or(ctx.op.Not(all_finite), ctx.op.Greater(active, ctx.constant(0, "int64")))
    return (nan_where(ctx, failed, ctx.op.Mul(t, scale), dtype, [-1, -2]),
            nan_where(ctx, failed, z, dtype, [-1, -2]))


# ---- the generalized real Schur form (QZ) ----

# Shifts mu for the pencil's Moebius transform, far from any algebraic number of low degree (an exact
# eigenvalue of a small integer pencil): Euler's gamma, -zeta(3), Khinchin's constant, -1/e
_PENCIL_SHIFTS = (0.5772156649015329, -1.2020569031595942, 2.6854520010653062, -0.36787944117144233)


def _one_norm(ctx, x):
    """max column sum of |x| per matrix, shape (...)."""
    return ctx.op.ReduceMax(ctx.op.ReduceSum(ctx.op.Abs(x), ctx.constant([-2], "int64"), keepdims=0),
                            ctx.constant([-1], "int64"), keepdims=0)


def _best_resolvent(ctx, a, b, n, dtype, ndim):
    """(K, K^-1 B) for K = A - mu B with the mu of `_PENCIL_SHIFTS` whose K is best conditioned (in the
    1-norm); NaN where every K is singular (a singular pencil, det(A - x B) = 0 for every x)."""
    shifts = ctx.constant(np.array(_PENCIL_SHIFTS).reshape((len(_PENCIL_SHIFTS),) + (1,) * ndim), dtype)
    candidates = ctx.op.Sub(ctx.op.Unsqueeze(a, ctx.constant([0], "int64")),
                            ctx.op.Mul(shifts, ctx.op.Unsqueeze(b, ctx.constant([0], "int64"))))  # (4, ..., n, n)
    eye = ctx.op.Expand(identity(ctx, n, dtype), ctx.op.Shape(a))
    rhs = ctx.op.Concat(eye, b, axis=-1)
    rhs = ctx.op.Expand(ctx.op.Unsqueeze(rhs, ctx.constant([0], "int64")),
                        ctx.op.Concat(ctx.constant([len(_PENCIL_SHIFTS)], "int64"), ctx.op.Shape(rhs), axis=0))
    solved = lu_solve(ctx, candidates, rhs, dtype, ndim + 1)   # [K^-1 | K^-1 B]
    n_vector = ctx.op.Unsqueeze(n, ctx.constant([0], "int64"))
    inverse = ctx.op.Slice(solved, ctx.constant([0], "int64"), n_vector, ctx.constant([-1], "int64"))
    resolvent = ctx.op.Slice(solved, n_vector, ctx.op.Mul(n_vector, ctx.constant([2], "int64")),
                             ctx.constant([-1], "int64"))
    condition = ctx.op.Mul(_one_norm(ctx, candidates), _one_norm(ctx, inverse))  # (4, ...)
    condition = ctx.op.Where(ctx.op.IsNaN(condition), ctx.constant(np.inf, dtype), condition)
    best = ctx.op.ArgMin(condition, axis=0, keepdims=1)  # (1, ...)
    index = ctx.op.Expand(ctx.op.Unsqueeze(best, ctx.constant([-1, -2], "int64")), ctx.op.Shape(ctx.op.Unsqueeze(a, ctx.constant([0], "int64"))))
    picked_k = ctx.op.Squeeze(ctx.op.GatherElements(candidates, index, axis=0), ctx.constant([0], "int64"))
    picked_c = ctx.op.Squeeze(ctx.op.GatherElements(resolvent, index, axis=0), ctx.constant([0], "int64"))
    return picked_k, picked_c


def _diagonalizing_rotations(ctx, p, q, r, s, dtype):
    """For the 2 x 2 blocks B = [[p, q], [r, s]] (elementwise over blocks): U = [[cu, -su], [su, cu]] and
    V = [[cv, -sv], [sv, cv]] diag(e1, e2) with U^T B V diagonal and nonnegative (a 2 x 2 SVD): U's first
    rotation makes B symmetric, a Jacobi rotation diagonalizes that, signs e make the diagonal positive.
    Returns (cu, su, cv, sv, e1, e2)."""
    zero, one, two = ctx.constant(0.0, dtype), ctx.constant(1.0, dtype), ctx.constant(2.0, dtype)
    # U1 = rotation onto (p + s, r - q): (U1^T B) is symmetric
    x, y = ctx.op.Add(p, s), ctx.op.Sub(r, q)
    h = ctx.op.Sqrt(ctx.op.Add(ctx.op.Mul(x, x), ctx.op.Mul(y, y)))
    turns = ctx.op.Greater(h, zero)
    safe_h = ctx.op.Where(turns, h, one)
    c1, s1 = ctx.op.Where(turns, ctx.op.Div(x, safe_h), one), ctx.op.Where(turns, ctx.op.Div(y, safe_h), zero)
    # M = U1^T B, with U1^T = [[c1, s1], [-s1, c1]]
    m11 = ctx.op.Add(ctx.op.Mul(c1, p), ctx.op.Mul(s1, r))
    m12 = ctx.op.Add(ctx.op.Mul(c1, q), ctx.op.Mul(s1, s))
    m22 = ctx.op.Sub(ctx.op.Mul(c1, s), ctx.op.Mul(s1, q))
    # Jacobi: J = [[cj, sj], [-sj, cj]] with J^T M J diagonal (Rutishauser's tangent)
    rotates = ctx.op.Not(ctx.op.Equal(m12, zero))
    theta = ctx.op.Div(ctx.op.Sub(m22, m11), ctx.op.Mul(two, ctx.op.Where(rotates, m12, one)))
    sign = ctx.op.Where(ctx.op.Less(theta, zero), ctx.constant(-1.0, dtype), one)
    tangent = ctx.op.Div(sign, ctx.op.Add(ctx.op.Abs(theta), ctx.op.Sqrt(ctx.op.Add(ctx.op.Mul(theta, theta), one))))
    tangent = ctx.op.Where(rotates, tangent, zero)
    cj = ctx.op.Div(one, ctx.op.Sqrt(ctx.op.Add(ctx.op.Mul(tangent, tangent), one)))
    sj = ctx.op.Mul(tangent, cj)
    # U = U1 J: angles add (J is the rotation by -atan(t) in U1's convention)
    cu = ctx.op.Add(ctx.op.Mul(c1, cj), ctx.op.Mul(s1, sj))
    su = ctx.op.Sub(ctx.op.Mul(s1, cj), ctx.op.Mul(c1, sj))
    # the diagonal of J^T M J: m11 - t m12 and m22 + t m12
    d1 = ctx.op.Sub(m11, ctx.op.Mul(tangent, m12))
    d2 = ctx.op.Add(m22, ctx.op.Mul(tangent, m12))
    e1 = ctx.op.Where(ctx.op.Less(d1, zero), ctx.constant(-1.0, dtype), one)
    e2 = ctx.op.Where(ctx.op.Less(d2, zero), ctx.constant(-1.0, dtype), one)
    return cu, su, cj, ctx.op.Neg(sj), e1, e2


def _block_transform(ctx, at: _Positions, starts, starts_before, cs, sn, e1, e2, n, dtype):
    """The n x n matrix that is [[cs, -sn], [sn, cs]] diag(e1, e2) on rows and columns (i, i + 1) of each block
    start i and the identity elsewhere (cs = 1, sn = 0, e = 1 off the starts)."""
    zero, one = ctx.constant(0.0, dtype), ctx.constant(1.0, dtype)
    cs, sn = ctx.op.Where(starts, cs, one), ctx.op.Where(starts, sn, zero)
    e1, e2 = ctx.op.Where(starts, e1, one), ctx.op.Where(starts, e2, one)
    row_vector, column_vector = ctx.constant([-1], "int64"), ctx.constant([-2], "int64")
    sub_mask = ctx.op.Equal(at.rows, ctx.op.Add(at.columns, ctx.constant(1, "int64")))
    super_mask = ctx.op.Equal(at.columns, ctx.op.Add(at.rows, ctx.constant(1, "int64")))
    # (i, i): cs e1; (i + 1, i + 1): cs e2; (i, i + 1): -sn e2; (i + 1, i): sn e1
    first = ctx.op.Mul(cs, e1)
    second = _shifted_by_one(ctx, ctx.op.Mul(cs, e2), n, dtype, forward=False)
    diagonal = ctx.op.Where(starts, first, ctx.op.Where(starts_before, second, one))
    return ctx.op.Add(ctx.op.Mul(identity(ctx, n, dtype), ctx.op.Unsqueeze(diagonal, column_vector)),
                      ctx.op.Sub(ctx.op.Where(sub_mask, ctx.op.Unsqueeze(ctx.op.Mul(sn, e1), column_vector), zero),
                                 ctx.op.Where(super_mask, ctx.op.Unsqueeze(ctx.op.Mul(sn, e2), row_vector), zero)))


def generalized_real_schur(ctx, a, b, dtype: str, ndim: int) -> tuple[str, str, str, str]:
    """(AA, BB, Q, Z) with A = Q AA Z^T, B = Q BB Z^T: see `onnx_funcify_QZ`."""
    # the batch dimensions broadcast (Blockwise's pencils)
    batch_shape = ctx.op.Shape(ctx.op.Add(a, b))
    a, b = ctx.op.Expand(a, batch_shape), ctx.op.Expand(b, batch_shape)
    a_scale, b_scale = power_of_two_scale(ctx, a, dtype), power_of_two_scale(ctx, b, dtype)
    a, b = ctx.op.Div(a, a_scale), ctx.op.Div(b, b_scale)
    n = axis_size(ctx, a, ndim - 1)
    at = _Positions(ctx, n)
    k, resolvent = _best_resolvent(ctx, a, b, n, dtype, ndim)
    t, z = real_schur(ctx, resolvent, dtype, ndim)
    _, _, q = householder_qr(ctx, ctx.op.MatMul(k, z), dtype, ndim)
    q_t = swap_last_axes(ctx, q, ndim)
    aa, bb = ctx.op.MatMul(q_t, ctx.op.MatMul(a, z)), ctx.op.MatMul(q_t, ctx.op.MatMul(b, z))
    # the structure the transform gives up to rounding: T's blocks, nothing else below the diagonal
    zero = ctx.constant(0.0, dtype)
    sub_mask = ctx.op.Equal(at.rows, ctx.op.Add(at.columns, ctx.constant(1, "int64")))
    starts = ctx.op.Not(ctx.op.Equal(ctx.op.ReduceSum(ctx.op.Where(sub_mask, t, zero), ctx.constant([-2], "int64"),
                                                      keepdims=0), zero))
    starts_before = ctx.op.Cast(_shifted_by_one(ctx, ctx.op.Cast(starts, to=onnx_dtype(dtype)), n, dtype, forward=False),
                                to=TensorProto.BOOL)
    kept = ctx.op.Or(ctx.op.LessOrEqual(at.rows, at.columns),
                     ctx.op.And(sub_mask, ctx.op.Unsqueeze(starts, ctx.constant([-2], "int64"))))
    aa, bb = ctx.op.Where(kept, aa, zero), ctx.op.Where(kept, bb, zero)
    # each block of BB made diagonal and positive (dgges' standard form), by rotations on both sides
    super_mask = ctx.op.Equal(at.columns, ctx.op.Add(at.rows, ctx.constant(1, "int64")))
    p = matrix_diagonal(ctx, bb, n, ndim)
    q_entry = ctx.op.ReduceSum(ctx.op.Where(super_mask, bb, zero), ctx.constant([-1], "int64"), keepdims=0)
    r_entry = ctx.op.ReduceSum(ctx.op.Where(sub_mask, bb, zero), ctx.constant([-2], "int64"), keepdims=0)
    s_entry = _shifted_by_one(ctx, p, n, dtype, forward=True)
    cu, su, cv, sv, e1, e2 = _diagonalizing_rotations(ctx, p, q_entry, r_entry, s_entry, dtype)
    one = ctx.constant(1.0, dtype)
    left = _block_transform(ctx, at, starts, starts_before, cu, su, one, one, n, dtype)
    right = _block_transform(ctx, at, starts, starts_before, cv, sv, e1, e2, n, dtype)
    left_t = swap_last_axes(ctx, left, ndim)
    aa = ctx.op.MatMul(left_t, ctx.op.MatMul(aa, right))
    bb = ctx.op.MatMul(left_t, ctx.op.MatMul(bb, right))
    q, z = ctx.op.MatMul(q, left), ctx.op.MatMul(z, right)
    bb = ctx.op.Where(ctx.op.LessOrEqual(at.rows, at.columns), bb, zero)
    in_block_pair = ctx.op.And(super_mask, ctx.op.Unsqueeze(starts, ctx.constant([-1], "int64")))
    bb = ctx.op.Where(in_block_pair, zero, bb)
    # a 1 x 1 block's BB entry made nonnegative: its row of AA and BB, and Q's column, negated
    negative = ctx.op.Less(matrix_diagonal(ctx, bb, n, ndim), zero)
    flips = ctx.op.Where(negative, ctx.constant(-1.0, dtype), one)
    flips_rows = ctx.op.Unsqueeze(flips, ctx.constant([-1], "int64"))
    aa, bb = ctx.op.Mul(aa, flips_rows), ctx.op.Mul(bb, flips_rows)
    q = ctx.op.Mul(q, ctx.op.Unsqueeze(flips, ctx.constant([-2], "int64")))
    # NaN throughout where no K was nonsingular (or the input was not finite), not only where it spread to
    failed = ctx.op.Not(ctx.op.Cast(ctx.op.ReduceMin(ctx.op.Cast(ctx.op.Not(ctx.op.IsNaN(resolvent)), to=TensorProto.INT64),
                                                     ctx.constant([-2, -1], "int64"), keepdims=0), to=TensorProto.BOOL))
    return tuple(nan_where(ctx, failed, x, dtype, [-1, -2])
                 for x in (ctx.op.Mul(aa, a_scale), ctx.op.Mul(bb, b_scale), q, z))


@onnx_funcify.register(QZ)
def onnx_funcify_QZ(op, node, ctx, inputs):
    """The generalized real Schur form of the pencil (A, B): A = Q AA Z^T, B = Q BB Z^T with Q, Z orthogonal, BB
    upper triangular with a nonnegative diagonal, AA quasi-upper-triangular, each 2 x 2 block of AA (a complex
    pair of eigenvalues) over a diagonal block of BB (dgges' standard form).

    Through a Moebius transform instead of the QZ iteration: with K = A - mu B nonsingular (the best
    conditioned of four fixed shifts), the eigenvalues of C = K^-1 B are 1 / (lambda - mu) (an infinite lambda,
    a zero of B, gives 0), and a real Schur form C = Z T Z^T gives B Z = K Z T; with K Z = Q R (Householder),
    Q^T B Z = R T and Q^T A Z = R (I + mu T) have T's block structure. AA and BB are computed as Q^T A Z and
    Q^T B Z (the entries the structure makes zero are set to 0: their size is the rounding amplified by the
    condition of K), then each 2 x 2 block pair is rotated so that BB's block is diagonal and positive (a
    2 x 2 SVD), and a negative 1 x 1 entry of BB is negated with its row.

    A singular pencil (det(A - x B) = 0 for every x) has no nonsingular K: the export returns NaN where
    LAPACK's gges returns one of its many decompositions (the registry declares it)."""
    _refuse_complex_or_ordered(op, op.complex_output or op.return_eigenvalues, op.sort, "tgsen")
    (a, b), dtype = solve_operands(ctx, node, inputs)
    return list(generalized_real_schur(ctx, a, b, dtype, node.inputs[0].type.ndim))


def _refuse_complex_or_ordered(op, complex_result: bool, sort, swaps: str):
    """Raise ONNXExportUnsupported with the reason for the forms the export does not compose."""
    if complex_result:
        raise ONNXExportUnsupported(f"{op}: complex Schur forms (and QZ's eigenvalues alpha) are complex; onnxruntime's "
                                    "CPU kernels have no complex tensors (the real form is exported)")
    if sort is not None:
        raise ONNXExportUnsupported(f"{op}: an ordered form (sort={sort!r}) needs LAPACK's swaps of diagonal blocks "
                                    f"({swaps}), which the export does not compose; sort=None is exported")


@onnx_funcify.register(Schur)
def onnx_funcify_Schur(op, node, ctx, inputs):
    _refuse_complex_or_ordered(op, op.output != "real", op.sort, "trexc")
    (a,), dtype = solve_operands(ctx, node, inputs)
    return list(real_schur(ctx, a, dtype, node.inputs[0].type.ndim))
