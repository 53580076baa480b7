"""Inputs whose values must satisfy an ordering or a range: sorted arrays for searchsorted (with or
without a ``sorter`` permutation), multi-indices within their dims for ravel_multi_index, flat
indices within ``prod(dims)`` for unravel_index, diagonal offsets inside or outside a matrix for
fill_diagonal_offset.

Values still come from `strategies.values` (NaN, +-inf, -0.0, extremes): a sorted array is a drawn
array put in numpy's order (NaN last), so ties, NaN runs and both zeros reach the op.
To extend: one keyword-only function per input family, validating its arguments at once.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from backend.dtypes import ALL_DTYPES, INT_DTYPES
from strategies.values import ArrayExample, array_values, element_values, special_values


def _elements(dtype: str, edge_cases: bool):
    return st.sampled_from(special_values(dtype)) if edge_cases else element_values(dtype)


def _example(arrays, dtypes) -> ArrayExample:
    arrays = tuple(np.asarray(a) for a in arrays)
    return ArrayExample(arrays, tuple(a.shape for a in arrays), tuple(dtypes))


def searchsorted_examples(*, dtype: str, with_sorter: bool = False, max_length: int = 6,
                          edge_cases: bool = False) -> st.SearchStrategy[ArrayExample]:
    """``(a, v)`` or ``(a, v, sorter)``: ``a`` 1-d and sorted (``a[sorter]`` sorted with a sorter),
    ``v`` of rank 0..2 with values of the same dtype."""
    if dtype not in ALL_DTYPES:
        raise ValueError(f"searchsorted_examples: unknown dtype={dtype!r}; valid: {ALL_DTYPES}")
    if max_length < 0:
        raise ValueError(f"searchsorted_examples: need max_length >= 0, got max_length={max_length}")

    @st.composite
    def draw(draw_):
        n = draw_(st.integers(0, max_length))
        a = np.sort(draw_(array_values(dtype=dtype, shape=(n,), elements=_elements(dtype, edge_cases))), kind="stable")
        v_shape = draw_(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=4))
        # v shares some values with a so that both sides' tie rules matter
        pool = st.sampled_from(list(a)) if n else _elements(dtype, edge_cases)
        v = draw_(array_values(dtype=dtype, shape=v_shape, elements=st.one_of(pool, _elements(dtype, edge_cases))))
        if not with_sorter:
            return _example((a, v), (dtype, dtype))
        sorter = np.asarray(draw_(st.permutations(range(n))), dtype="int64")
        unsorted = np.empty_like(a)
        unsorted[sorter] = a
        return _example((unsorted, v, sorter), (dtype, dtype, "int64"))

    return draw()


def multi_index_examples(*, dtype: str, n_dims: int = 2, max_side: int = 5) -> st.SearchStrategy[ArrayExample]:
    """``n_dims`` index arrays of ``dtype`` (one shape) within ``dims``, then ``dims`` (int64, sides
    1..max_side)."""
    if dtype not in INT_DTYPES:
        raise ValueError(f"multi_index_examples: dtype={dtype!r} must be an integer dtype {INT_DTYPES}")
    if n_dims < 1 or max_side < 1:
        raise ValueError(f"multi_index_examples: need n_dims >= 1 and max_side >= 1, got n_dims={n_dims}, "
                         f"max_side={max_side}")

    @st.composite
    def draw(draw_):
        dims = [draw_(st.integers(1, min(max_side, int(np.iinfo(dtype).max)))) for _ in range(n_dims)]
        shape = draw_(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=4))
        indices = [draw_(hnp.arrays(dtype, shape, elements=st.integers(0, size - 1))) for size in dims]
        return _example((*indices, np.asarray(dims, dtype="int64")), (dtype,) * n_dims + ("int64",))

    return draw()


def flat_index_examples(*, dtype: str, n_dims: int = 2, max_side: int = 5) -> st.SearchStrategy[ArrayExample]:
    """Flat indices of ``dtype`` within ``prod(dims)``, then ``dims`` (int64, ``n_dims`` sides 1..max_side)."""
    if dtype not in INT_DTYPES:
        raise ValueError(f"flat_index_examples: dtype={dtype!r} must be an integer dtype {INT_DTYPES}")
    if n_dims < 1 or max_side < 1:
        raise ValueError(f"flat_index_examples: need n_dims >= 1 and max_side >= 1, got n_dims={n_dims}, "
                         f"max_side={max_side}")

    @st.composite
    def draw(draw_):
        dims = [draw_(st.integers(1, max_side)) for _ in range(n_dims)]
        limit = min(int(np.prod(dims)), int(np.iinfo(dtype).max) + 1)
        shape = draw_(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=4))
        index = draw_(hnp.arrays(dtype, shape, elements=st.integers(0, limit - 1)))
        return _example((index, np.asarray(dims, dtype="int64")), (dtype, "int64"))

    return draw()


def diagonal_offset_examples(*, dtype: str, inside: bool, max_side: int = 4,
                             edge_cases: bool = False) -> st.SearchStrategy[ArrayExample]:
    """``(a, value, offset)`` for fill_diagonal_offset: a matrix of ``dtype`` (sides 0..max_side), a scalar of
    the same dtype and an int64 offset: one of the matrix's diagonals (``inside``; 0 for an empty matrix), or
    one past its edges, by up to three (not ``inside``)."""
    if dtype not in ALL_DTYPES:
        raise ValueError(f"diagonal_offset_examples: unknown dtype={dtype!r}; valid: {ALL_DTYPES}")
    if max_side < 0:
        raise ValueError(f"diagonal_offset_examples: need max_side >= 0, got max_side={max_side}")

    @st.composite
    def draw(draw_):
        rows, columns = draw_(st.integers(0, max_side)), draw_(st.integers(0, max_side))
        a = draw_(array_values(dtype=dtype, shape=(rows, columns), elements=_elements(dtype, edge_cases)))
        value = draw_(array_values(dtype=dtype, shape=(), elements=_elements(dtype, edge_cases)))
        if inside:
            offsets = st.integers(-(rows - 1), columns - 1) if rows and columns else st.just(0)
        else:
            offsets = st.integers(columns, columns + 3) | st.integers(-rows - 3, -rows)
        return _example((a, value, np.int64(draw_(offsets))), (dtype, dtype, "int64"))

    return draw()
