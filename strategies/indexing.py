"""Indexing examples: an array plus the index inputs that select from it (and, for updates, the values
written into the selection), drawn together so that every index is in range for the drawn shape.

An indexing *pattern* is a tuple with one token per indexed axis (missing trailing axes are full
slices):

- ``"array"``: an integer index array (a graph input). All array tokens of a pattern are drawn with
  mutually broadcastable shapes, values in ``[-size, size)`` of their axis, repeats included.
- ``"mask"`` / ``"mask2"``: a boolean mask (a graph input) over one / the next two axes.
- ``"bounds"``: a slice whose start, stop and step are three 0-d int64 graph inputs (any values,
  out-of-range bounds included; the step is never 0).
- a Python ``int`` or ``slice``: a constant index, not a graph input.

`indexing_examples` draws the inputs in graph order: the array, one input per index token (three for
``"bounds"``), then the update values if ``updates``. `apply_pattern` turns graph inputs back into the
index tuple, so a registry entry's ``build`` and its strategy read the same pattern.

To extend: add a token to `TOKEN_INPUTS` and a branch in `_draw_index` and `apply_pattern`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from backend.dtypes import ALL_DTYPES, INT_DTYPES
from strategies.values import ArrayExample, array_values, element_values, special_values

TOKEN_INPUTS = {"array": 1, "mask": 1, "mask2": 1, "bounds": 3}
TOKEN_AXES = {"array": 1, "mask": 1, "mask2": 2, "bounds": 1}


def _token_axes(token) -> int:
    return TOKEN_AXES[token] if isinstance(token, str) else 1


def validate_pattern(func: str, pattern: Sequence) -> tuple:
    pattern = tuple(pattern)
    bad = [t for t in pattern if not (isinstance(t, (int, slice)) or t in TOKEN_INPUTS)]
    if not pattern or bad:
        raise ValueError(f"{func}: pattern must be a non-empty tuple of {sorted(TOKEN_INPUTS)}, ints or slices; "
                         f"got pattern={pattern!r} (bad tokens: {bad})")
    return pattern


def pattern_ndim(pattern: Sequence) -> int:
    """How many axes of the indexed array the pattern consumes (its minimum rank)."""
    return sum(_token_axes(t) for t in pattern)


def pattern_input_dtypes(pattern: Sequence, *, index_dtype: str = "int64") -> tuple[str, ...]:
    """The dtypes of the index inputs a pattern adds to the graph, in order."""
    dtypes: list[str] = []
    for token in pattern:
        if token == "array":
            dtypes.append(index_dtype)
        elif token in ("mask", "mask2"):
            dtypes.append("bool")
        elif token == "bounds":
            dtypes += ["int64"] * 3
    return tuple(dtypes)


def apply_pattern(pattern: Sequence, index_inputs: Sequence) -> tuple:
    """The index tuple for ``x[...]`` from the pattern and its graph inputs (variables or arrays)."""
    index_inputs = list(index_inputs)
    index = []
    for token in pattern:
        if token == "bounds":
            start, stop, step = index_inputs[:3]
            del index_inputs[:3]
            index.append(slice(start, stop, step))
        elif isinstance(token, str):
            index.append(index_inputs.pop(0))
        else:
            index.append(token)
    if index_inputs:
        raise ValueError(f"apply_pattern: {len(index_inputs)} index inputs left over for pattern={tuple(pattern)!r}")
    return tuple(index)


@st.composite
def _indexing_examples(draw, dtype, pattern, max_ndim, index_dtype, index_ndim, updates, edge_cases):
    ndim = draw(st.integers(pattern_ndim(pattern), max_ndim))
    arrays_in_pattern = sum(t == "array" for t in pattern)
    low, high = (0, 2) if index_ndim is None else (index_ndim, index_ndim)
    index_shapes = draw(hnp.mutually_broadcastable_shapes(
        num_shapes=arrays_in_pattern, min_dims=low, max_dims=high, max_side=3)).input_shapes if arrays_in_pattern else ()
    if index_ndim is not None:  # a fixed rank: mutually_broadcastable_shapes may still drop dims
        index_shapes = tuple((1,) * (index_ndim - len(s)) + tuple(s) for s in index_shapes)
    # an index array holding any element needs a non-empty axis (even if the broadcast is empty)
    holds_indices = any(int(np.prod(s)) > 0 for s in index_shapes)
    x_shape = list(draw(hnp.array_shapes(min_dims=ndim, max_dims=ndim, min_side=0, max_side=4)))
    axis = 0
    for token in pattern:
        # an integer index (constant or array with elements) needs a non-empty axis
        if (token == "array" and holds_indices) or isinstance(token, int):
            x_shape[axis] = max(x_shape[axis], abs(token) + (token >= 0) if isinstance(token, int) else 1)
        axis += _token_axes(token)
    x_shape = tuple(x_shape)
    elements = st.sampled_from(special_values(dtype)) if edge_cases else element_values(dtype)
    x = draw(array_values(dtype=dtype, shape=x_shape, elements=elements))

    index_arrays, index_values, axis = [], [], 0
    array_shapes = iter(index_shapes)
    for token in pattern:
        size = x_shape[axis]
        if token == "array":
            shape = next(array_shapes)
            arr = draw(hnp.arrays(np.dtype(index_dtype), shape, elements=st.integers(-size, size - 1))) \
                if int(np.prod(shape)) else np.zeros(shape, index_dtype)
            index_arrays.append(arr)
            index_values.append(arr)
        elif token in ("mask", "mask2"):
            arr = draw(hnp.arrays(np.bool_, x_shape[axis:axis + TOKEN_AXES[token]]))
            index_arrays.append(arr)
            index_values.append(arr)
        elif token == "bounds":
            bound = st.integers(-size - 2, size + 2).map(np.int64)
            start, stop = draw(bound), draw(bound)
            step = draw(st.sampled_from([1, -1, 2, -2, 3]))
            index_arrays += [np.array(start), np.array(stop), np.array(np.int64(step))]
            index_values.append(slice(int(start), int(stop), step))
        else:
            index_values.append(token)
        axis += _token_axes(token)

    arrays = [x, *index_arrays]
    if updates:
        selection = np.empty(x_shape, np.int8)[tuple(index_values)].shape
        y_shape = draw(hnp.broadcastable_shapes(selection, min_dims=0, max_dims=len(selection), min_side=0))
        # broadcastable_shapes is mutual (any size against a 1); numpy needs y to broadcast *to* the selection
        offset = len(selection) - len(y_shape)
        y_shape = tuple(1 if selection[offset + k] == 1 else size for k, size in enumerate(y_shape))
        arrays.append(draw(array_values(dtype=dtype, shape=y_shape, elements=elements)))
    dtypes = (dtype, *pattern_input_dtypes(pattern, index_dtype=index_dtype)) + ((dtype,) if updates else ())
    return ArrayExample(tuple(arrays), tuple(a.shape for a in arrays), dtypes)


def indexing_examples(*, dtype: str, pattern: Sequence, max_ndim: int = 3, index_dtype: str = "int64",
                      index_ndim: int | None = None, updates: bool = False,
                      edge_cases: bool = False) -> st.SearchStrategy[ArrayExample]:
    """An array of ``dtype`` (rank between what ``pattern`` consumes and ``max_ndim``), the pattern's
    index inputs (in range for the drawn shape), and update values broadcastable to the selection
    when ``updates``. Index arrays have rank 0 to 2, or ``index_ndim``. ``edge_cases`` draws the
    array and update elements from the special values."""
    pattern = validate_pattern("indexing_examples", pattern)
    if dtype not in ALL_DTYPES:
        raise ValueError(f"indexing_examples: unknown dtype={dtype!r}; valid: {ALL_DTYPES}")
    if index_dtype not in INT_DTYPES:
        raise ValueError(f"indexing_examples: index_dtype must be an integer dtype, got index_dtype={index_dtype!r}")
    if not pattern_ndim(pattern) <= max_ndim <= 6:
        raise ValueError(f"indexing_examples: need {pattern_ndim(pattern)} <= max_ndim <= 6 for "
                         f"pattern={pattern!r}, got max_ndim={max_ndim}")
    if index_ndim is not None and not 0 <= index_ndim <= 3:
        raise ValueError(f"indexing_examples: index_ndim must be None or 0..3, got index_ndim={index_ndim!r}")
    return _indexing_examples(dtype, pattern, max_ndim, index_dtype, index_ndim, updates, edge_cases)
