"""Inputs for creation and splitting ops, whose inputs depend on each other: split sizes that add up
to the split axis, arange bounds with a bounded length, eye sizes and diagonal offsets.

Each returns an `ArrayExample` strategy with the inputs in graph order. Out-of-range values are
drawn on purpose where PyTensor defines the result (eye offsets beyond the matrix, empty aranges,
descending bounds); lengths stay small so no example allocates much.

To extend: one function per op family, keyword-only, validating its arguments at once.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from backend.dtypes import ALL_DTYPES, FLOAT_DTYPES
from strategies.values import ArrayExample, array_values, element_values, special_values


def _check_dtype(func: str, dtype: str) -> None:
    if dtype not in ALL_DTYPES:
        raise ValueError(f"{func}: unknown dtype={dtype!r}; valid: {ALL_DTYPES}")


def _example(arrays, dtypes) -> ArrayExample:
    arrays = tuple(np.asarray(a) for a in arrays)
    return ArrayExample(arrays, tuple(a.shape for a in arrays), tuple(dtypes))


def split_examples(*, dtype: str, n_splits: int, axis: int = 0, max_ndim: int = 3,
                   edge_cases: bool = False) -> st.SearchStrategy[ArrayExample]:
    """An array (rank ``|axis|+1``..``max_ndim``) and ``n_splits`` int64 sizes (0 allowed) that add up
    to its length along ``axis``."""
    _check_dtype("split_examples", dtype)
    min_ndim = axis + 1 if axis >= 0 else -axis
    if n_splits < 1 or not 1 <= min_ndim <= max_ndim:
        raise ValueError(f"split_examples: need n_splits >= 1 and an axis within max_ndim; got n_splits={n_splits}, "
                         f"axis={axis}, max_ndim={max_ndim}")

    @st.composite
    def draw(draw_):
        shape = draw_(hnp.array_shapes(min_dims=min_ndim, max_dims=max_ndim, min_side=0, max_side=5))
        cuts = sorted(draw_(st.lists(st.integers(0, shape[axis]), min_size=n_splits - 1, max_size=n_splits - 1)))
        sizes = np.diff([0, *cuts, shape[axis]]).astype("int64")
        elements = st.sampled_from(special_values(dtype)) if edge_cases else element_values(dtype)
        x = draw_(array_values(dtype=dtype, shape=shape, elements=elements))
        return _example((x, sizes), (dtype, "int64"))

    return draw()


def arange_examples(*, dtype: str, max_length: int = 8, edge_cases: bool = False) -> st.SearchStrategy[ArrayExample]:
    """0-d ``start, stop, step`` of ``dtype`` whose arange has at most ``max_length`` elements:
    ascending, descending and empty ranges, fractional steps and bounds for floats, the dtype's
    extremes as bounds for integers."""
    _check_dtype("arange_examples", dtype)
    if max_length < 0:
        raise ValueError(f"arange_examples: need max_length >= 0, got max_length={max_length}")
    np_dtype = np.dtype(dtype)

    @st.composite
    def draw(draw_):
        if dtype == "bool":  # numpy has no bool arange beyond two elements
            start, stop, step = draw_(st.tuples(st.booleans(), st.booleans(), st.just(True)))
            return _example([np.bool_(v) for v in (start, stop, step)], (dtype,) * 3)
        if dtype in FLOAT_DTYPES:
            info = np.finfo(np_dtype)
            magnitudes = st.sampled_from([0.5, 1.0, 0.1, 0.3, 2.5, float(info.eps), float(info.tiny)])
            step = draw_(st.one_of(magnitudes, st.floats(1 / 64, 64, width=np_dtype.itemsize * 8)))
            step = np_dtype.type(step * draw_(st.sampled_from([1, -1])))
            start = np_dtype.type(draw_(st.sampled_from([0.0, -0.0, 1.5, -3.0, 100.0]) if edge_cases
                                        else st.floats(-1e3, 1e3, width=np_dtype.itemsize * 8)))
            count = draw_(st.integers(-1, max_length))
            fraction = draw_(st.sampled_from([0.0, 0.25, 0.5, 0.999]))
            with np.errstate(all="ignore"):
                stop = np_dtype.type(float(start) + (count + fraction) * float(step))
            if not np.isfinite(stop) or abs((float(stop) - float(start)) / float(step)) > max_length:
                stop = start
            return _example((start, stop, step), (dtype,) * 3)
        info = np.iinfo(np_dtype)
        step = draw_(st.integers(-3, 3).filter(bool))
        if info.min == 0:
            step = abs(step)
        anchor = draw_(st.sampled_from([info.min, info.max, 0, 1]) if edge_cases
                       else st.integers(int(info.min), int(info.max)))
        count = draw_(st.integers(-1, max_length))
        stop = min(max(anchor + count * step, int(info.min)), int(info.max))
        return _example([np_dtype.type(v) for v in (anchor, stop, step)], (dtype,) * 3)

    return draw()


def eye_examples(*, max_side: int = 5) -> st.SearchStrategy[ArrayExample]:
    """0-d int64 ``n, m, k`` for ``eye(n, m, k)``: empty and non-square matrices, offsets beyond them."""
    if max_side < 0:
        raise ValueError(f"eye_examples: need max_side >= 0, got max_side={max_side}")
    sides = st.integers(0, max_side).map(np.int64)
    offsets = st.integers(-max_side - 2, max_side + 2).map(np.int64)
    return st.tuples(sides, sides, offsets).map(lambda nmk: _example(nmk, ("int64",) * 3))
