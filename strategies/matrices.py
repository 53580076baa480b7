"""Matrices for linear algebra: symmetric positive definite (well and badly conditioned), indefinite,
triangular, general (diagonally dominant), exactly singular (a zero column), square (as drawn), rectangular (any, or of full
rank: a dominant leading square block), with NaN, empty (0 x 0, 0 columns) and with batch dimensions
of size 0, 1 or n that broadcast against the right-hand side's.

Every entry is drawn by Hypothesis; structure is imposed by arithmetic on drawn arrays (B @ B.T + s*I,
a copied row, a zeroed diagonal element), so failures shrink to small, simple matrices.
To extend: a ``kind`` here and the arithmetic that gives it; keep sides <= 4 (the exports are Loops of
one step per row, and examples must stay cheap).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from backend.dtypes import ALL_DTYPES, FLOAT_DTYPES
from strategies.values import ArrayExample

MATRIX_KINDS = ("spd", "indefinite", "lower", "upper", "general", "singular", "square", "rectangular", "full_rank")
RECTANGULAR_KINDS = ("rectangular", "full_rank")
# the right-hand sides: a vector, a matrix of 0-3 columns, a second SPD matrix of A's size, or a second
# square matrix of A's size as drawn (a pencil's B)
RHS_KINDS = (None, 1, 2, "spd", "square")


def _entries(dtype: str):
    """Matrix entries: halves in [-4, 4] and -0.0 for floats (exact in every float dtype), small integers for
    integer dtypes (non-negative for unsigned ones, so that products stay in range), 0/1 for bool."""
    if dtype in FLOAT_DTYPES:
        # -0.0 too: LAPACK's Householder sign (Fortran SIGN) sees the sign of a zero
        return st.integers(-8, 8).map(lambda k: k / 2) | st.just(-0.0)
    if dtype == "bool":
        return st.integers(0, 1).map(float)
    return st.integers(0 if dtype.startswith("u") else -2, 2).map(float)


def _in_dtype(a: np.ndarray, dtype: str) -> np.ndarray:
    """The float64 matrix as the example's dtype: floats rounded, integers rounded and clipped to the
    dtype's range, bool as nonzero. The structure may weaken (an integer SPD matrix stays PD only
    while its shift survives rounding, which `matrix_examples` ensures); every comparison and bound
    is computed from the array actually drawn."""
    if dtype in FLOAT_DTYPES:
        return a.astype(dtype)
    if dtype == "bool":
        return a != 0
    info = np.iinfo(dtype)
    return np.clip(np.round(a), info.min, info.max).astype(dtype)


def _batch_shapes(draw, batch: bool):
    if not batch:
        return (), ()
    a_batch = draw(st.sampled_from([(0,), (1,), (2,)]))
    b_batch = draw(st.sampled_from([a_batch, (1,)]))
    return a_batch, b_batch


def matrix_examples(*, dtype: str, kind: str, rhs: int | str | None = None, max_side: int = 4, batch: bool = False,
                    with_nan: bool = False, zero_pivot: bool = True) -> st.SearchStrategy[ArrayExample]:
    """``(A,)`` or, with ``rhs`` = 1 (vector), 2 (matrix), "spd" (a symmetric positive definite
    matrix of A's size) or "square" (a square matrix of A's size as drawn), ``(A, b)``: A square of ``kind`` (one of `MATRIX_KINDS`; "rectangular" and "full_rank":
    any rows and columns), sides 0..max_side; ``batch`` adds a leading batch dimension to both (sizes that
    broadcast); ``with_nan`` puts a NaN somewhere in A now and then."""
    if dtype not in ALL_DTYPES:
        raise ValueError(f"matrix_examples: unknown dtype={dtype!r}; valid: {ALL_DTYPES}")
    if kind not in MATRIX_KINDS:
        raise ValueError(f"matrix_examples: kind={kind!r}; valid: {MATRIX_KINDS}")
    if rhs not in RHS_KINDS or max_side < 1 or (kind in RECTANGULAR_KINDS and rhs is not None):
        raise ValueError(f"matrix_examples: need rhs in {RHS_KINDS} (None for rectangular kinds) and "
                         f"max_side >= 1, got kind={kind!r}, rhs={rhs!r}, max_side={max_side}")

    @st.composite
    def draw(draw_):
        n = draw_(st.integers(0 if kind != "singular" else 2, max_side))
        columns_of_a = draw_(st.integers(0, max_side)) if kind in RECTANGULAR_KINDS else n
        a_batch, b_batch = _batch_shapes(draw_, batch)
        base = draw_(hnp.arrays(np.float64, a_batch + (n, columns_of_a), elements=_entries(dtype)))
        eye = np.eye(n)
        if kind in ("rectangular", "square"):
            # as drawn: singular, defective, with complex eigenvalues or none
            a = base
        elif kind == "full_rank":
            # the leading min(rows, columns) square block strictly diagonally dominant, as "general"
            side = min(n, columns_of_a)
            dominance = draw_(st.sampled_from([0.5, 1.0, float(side + 1)]))
            a = base.copy()
            a[..., :side, :side] += (1.0 + (1.0 + dominance) * np.abs(base).sum(axis=-1).max(initial=0.0)) * np.eye(side)
        elif kind in ("spd", "indefinite"):
            gram = base @ np.swapaxes(base, -1, -2)
            # shifts from 1/1000 to 2n of the scale: condition numbers up to ~1e4
            # (integer dtypes: shifts of at least the gram's size, which rounding keeps)
            shifts = [1e-3, 0.1, 1.0, 2.0 * max(n, 1)] if dtype in FLOAT_DTYPES else [1.0, 2.0 * max(n, 1)]
            shift = draw_(st.sampled_from(shifts)) * (1 + np.abs(gram).max(initial=0))
            a = gram + shift * eye if kind == "spd" else gram - shift * eye
        elif kind in ("lower", "upper"):
            triangle = np.tril(base, -1) if kind == "lower" else np.triu(base, 1)
            pivots = [-4.0, -1.0, 0.5, 1.0, 3.0] if dtype in FLOAT_DTYPES else [1.0, 2.0, 3.0]
            diagonal = draw_(hnp.arrays(np.float64, a_batch + (n,), elements=st.sampled_from(pivots)))
            a = triangle + diagonal[..., None] * eye
            if zero_pivot and n and draw_(st.booleans().map(lambda b: b and n > 1)):
                a[..., n - 1, n - 1] = 0.0  # singular: an exactly zero pivot
        elif kind == "general":
            # strictly diagonally dominant (the shift outweighs any row of |base| by 1 + 0.5..n+1 times
            # it): never singular, cond <= ~1e2
            dominance = draw_(st.sampled_from([0.5, 1.0, float(n + 1)]))
            a = base + (1.0 + (1.0 + dominance) * np.abs(base).sum(axis=-1).max(initial=0.0)) * eye
        else:
            # a zero column: every elimination order meets an exactly zero pivot there, whatever its
            # rounding (two equal rows would not: LAPACK's pivot comes out as -5.6e-17, say)
            a = base.copy()
            a[..., :, draw_(st.integers(0, n - 1))] = 0.0
        if dtype == "bool" and kind in ("spd", "indefinite", "general", "full_rank"):
            # 0/1 matrices with irrational pivots on the way would put exact-zero pivots at the mercy of
            # rounding: the identity (positive definite, regular, of full rank) and zeros (not positive definite)
            a = np.zeros_like(a) if kind == "indefinite" else \
                np.broadcast_to(np.eye(n, columns_of_a), a.shape).copy()
        a = _in_dtype(a, dtype)
        if with_nan and n and dtype in FLOAT_DTYPES and draw_(st.booleans()):
            i, j = draw_(st.integers(0, n - 1)), draw_(st.integers(0, n - 1))
            a[..., i, j] = np.nan
        arrays = [a]
        if rhs == "spd":
            # as A of kind "spd" (floats: a shift of at least the gram's size, cond <= ~1e2)
            b_base = draw_(hnp.arrays(np.float64, b_batch + (n, n), elements=_entries(dtype)))
            gram = b_base @ np.swapaxes(b_base, -1, -2)
            b = gram + (1 + np.abs(gram).max(initial=0)) * draw_(st.sampled_from([1.0, 2.0 * max(n, 1)])) * np.eye(n)
            # bool: the identity, as for A (a 0/1 gram plus a shift is all True)
            arrays.append(np.broadcast_to(np.eye(n, dtype=bool), b.shape).copy() if dtype == "bool"
                          else _in_dtype(b, dtype))
        elif rhs == "square":
            arrays.append(_in_dtype(draw_(hnp.arrays(np.float64, b_batch + (n, n), elements=_entries(dtype))), dtype))
        elif rhs is not None:
            columns = () if rhs == 1 else (draw_(st.integers(0, 3)) if kind != "singular" else n,)
            arrays.append(_in_dtype(draw_(hnp.arrays(np.float64, b_batch + (n,) + columns, elements=_entries(dtype))),
                                    dtype))
        return ArrayExample(tuple(arrays), tuple(x.shape for x in arrays), (dtype,) * len(arrays))

    return draw()


EQUATIONS = ("sylvester", "continuous_lyapunov", "discrete_lyapunov", "discrete_riccati")


def matrix_equation_examples(*, dtype: str, equation: str, max_side: int = 3,
                             batch: bool = False) -> st.SearchStrategy[ArrayExample]:
    """Operands of a matrix equation with a unique, well-conditioned solution:

    - ``"sylvester"``: (A, B, Q) for ``A X + X B = Q``, A (m x m) and B (n x n) strictly diagonally
      dominant with a positive diagonal (kind "general": every eigenvalue has a real part >= 1, so
      A and -B share none), Q (m x n);
    - ``"continuous_lyapunov"``: (A, Q) for ``A X + X A^T + Q = 0``, A as above, Q (n x n);
    - ``"discrete_lyapunov"``: (A, Q) for ``A X A^T - X + Q = 0``, A with every absolute row sum at most
      1/2 (eigenvalues in the disk of radius 1/2; integer and bool matrices: strictly lower triangular,
      eigenvalues 0);
    - ``"discrete_riccati"``: (A, B, Q, R) for ``A^T X A - X - A^T X B (R + B^T X B)^-1 B^T X A + Q = 0``,
      A as for the discrete Lyapunov equation (stable: a stabilizing solution exists), B (m x n) of any
      entries, Q (m x m) and R (n x n) symmetric positive definite (bool: identities).

    ``batch``: A has a leading batch axis of size 0, 1 or 2 (Q too; B does not)."""
    if equation not in EQUATIONS or max_side < 1:
        raise ValueError(f"matrix_equation_examples: equation must be one of {EQUATIONS} and max_side >= 1, "
                         f"got equation={equation!r}, max_side={max_side}")

    def square(draw_, side, batch_shape, contractive):
        base = draw_(hnp.arrays(np.float64, batch_shape + (side, side), elements=_entries(dtype)))
        if contractive and dtype in FLOAT_DTYPES:
            a = base / (2.0 * (1.0 + np.abs(base).sum(axis=-1).max(initial=0.0)))
        elif contractive:
            a = np.tril(base, -1)
        elif dtype == "bool":
            a = np.broadcast_to(np.eye(side), base.shape).copy()
        else:
            dominance = draw_(st.sampled_from([0.5, 1.0, float(side + 1)]))
            a = base + (1.0 + (1.0 + dominance) * np.abs(base).sum(axis=-1).max(initial=0.0)) * np.eye(side)
        return _in_dtype(a, dtype)

    def positive_definite(draw_, side):
        if dtype == "bool":
            return np.eye(side, dtype=bool)
        base = draw_(hnp.arrays(np.float64, (side, side), elements=_entries(dtype)))
        gram = base @ base.T
        return _in_dtype(gram + (1.0 + np.abs(gram).max(initial=0.0)) * np.eye(side), dtype)

    @st.composite
    def draw(draw_):
        batch_shape = (draw_(st.integers(0, 2)),) if batch else ()
        m = draw_(st.integers(0, max_side))
        arrays = [square(draw_, m, batch_shape, equation in ("discrete_lyapunov", "discrete_riccati"))]
        if equation == "discrete_riccati":
            n = draw_(st.integers(0, max_side))
            arrays.append(_in_dtype(draw_(hnp.arrays(np.float64, (m, n), elements=_entries(dtype))), dtype))
            arrays += [positive_definite(draw_, m), positive_definite(draw_, n)]
            return ArrayExample(tuple(arrays), tuple(x.shape for x in arrays), (dtype,) * len(arrays))
        n = m
        if equation == "sylvester":
            n = draw_(st.integers(0, max_side))
            arrays.append(square(draw_, n, (), False))
        arrays.append(_in_dtype(draw_(hnp.arrays(np.float64, batch_shape + (m, n), elements=_entries(dtype))), dtype))
        return ArrayExample(tuple(arrays), tuple(x.shape for x in arrays), (dtype,) * len(arrays))

    return draw()


def least_squares_examples(*, dtype: str, full_rank: bool, max_side: int = 4) -> st.SearchStrategy[ArrayExample]:
    """(A, B) for ``lstsq(A, B)``: A of kind "full_rank" or "rectangular" (any entries: rank deficient
    ones included) with 0..``max_side`` rows and columns, B with A's rows and 0..2 columns."""
    if max_side < 1:
        raise ValueError(f"least_squares_examples: max_side must be >= 1, got {max_side}")

    @st.composite
    def draw(draw_):
        (a,) = draw_(matrix_examples(dtype=dtype, kind="full_rank" if full_rank else "rectangular",
                                     max_side=max_side)).arrays
        b = _in_dtype(draw_(hnp.arrays(np.float64, (a.shape[0], draw_(st.integers(0, 2))), elements=_entries(dtype))),
                      dtype)
        return ArrayExample((a, b), (a.shape, b.shape), (dtype, dtype))

    return draw()


def tridiagonal_examples(*, dtype: str, rhs: int | None = None, max_side: int = 5) -> st.SearchStrategy[ArrayExample]:
    """A tridiagonal n x n matrix (n 3..``max_side``: scipy 1.17's gttrf wrapper raises "unexpected array
    size" for n <= 2, and the process then died of heap corruption; zeros off the band) whose three diagonals take any entries, so that LAPACK's gttrf both keeps and swaps rows and
    meets exactly zero pivots; with ``rhs`` 1 or 2, a right-hand side vector or matrix of 1-3 columns
    (scipy 1.17's gttrs writes out of bounds for a matrix of 0 columns: the heap is corrupted)."""
    if rhs not in (None, 1, 2) or max_side < 3:
        raise ValueError(f"tridiagonal_examples: rhs must be None, 1 or 2 and max_side >= 3, got rhs={rhs!r}, "
                         f"max_side={max_side}")

    @st.composite
    def draw(draw_):
        n = draw_(st.integers(3, max_side))
        band = [draw_(hnp.arrays(np.float64, (max(n - abs(k), 0),), elements=_entries(dtype))) for k in (-1, 0, 1)]
        a = sum((np.diag(diagonal, k) for diagonal, k in zip(band, (-1, 0, 1)) if diagonal.size),
                np.zeros((n, n)))
        arrays = [_in_dtype(a, dtype)]
        if rhs is not None:
            columns = () if rhs == 1 else (draw_(st.integers(1, 3)),)
            arrays.append(_in_dtype(draw_(hnp.arrays(np.float64, (n,) + columns, elements=_entries(dtype))), dtype))
        return ArrayExample(tuple(arrays), tuple(x.shape for x in arrays), (dtype,) * len(arrays))

    return draw()
