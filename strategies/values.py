"""Array values that break exporters: NaN, +-inf, -0.0, subnormals, dtype extremes, .5 ties, overflow.

`array_values` mixes three sources per element: a list of special values for the dtype, exact
half-integer ties (floats), and Hypothesis' full-range `from_dtype`. Nothing is filtered: log of a
negative number is meant to reach both sides and give NaN in both.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from backend.dtypes import ALL_DTYPES, FLOAT_DTYPES


@functools.cache
def special_values(dtype: str) -> tuple:
    """The values of ``dtype`` most likely to expose a semantic difference."""
    np_dtype = np.dtype(dtype)
    if dtype == "bool":
        return (False, True)
    if dtype in FLOAT_DTYPES:
        info = np.finfo(np_dtype)
        return tuple(
            np_dtype.type(v)
            for v in (0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, 2.5, -2.5, np.nan, np.inf, -np.inf,
                      info.max, info.min, info.tiny, -info.tiny, info.smallest_subnormal,
                      -info.smallest_subnormal, info.eps)
        )
    info = np.iinfo(np_dtype)
    candidates = {0, 1, 2, -1, -2, 7, -7, info.min, info.max, info.min + 1, info.max - 1}
    return tuple(np_dtype.type(v) for v in sorted(candidates) if info.min <= v <= info.max)


@functools.cache  # strategies are immutable; building and validating them anew per array is slow
def element_values(dtype: str, *, specials: bool = True) -> st.SearchStrategy:
    """Scalars of ``dtype``: special values, .5 ties and the whole range (NaN/inf/subnormals too)."""
    if dtype not in ALL_DTYPES:
        raise ValueError(f"element_values: unknown dtype={dtype!r}; valid: {ALL_DTYPES}")
    full = hnp.from_dtype(np.dtype(dtype))
    if not specials:
        return full
    specials_ = special_values(dtype)
    # Non-finite values get their own branch so that every example has a fair chance of holding one.
    finite = tuple(v for v in specials_ if not _is_nonfinite(v))
    nonfinite = tuple(v for v in specials_ if _is_nonfinite(v))
    parts = [st.sampled_from(finite)]
    if nonfinite:
        parts.append(st.sampled_from(nonfinite))
    if dtype in FLOAT_DTYPES:
        parts.append(st.integers(-20, 20).map(lambda k, t=np.dtype(dtype).type: t(k + 0.5)))
        # Everyday magnitudes: the full range is dominated by huge exponents.
        parts.append(hnp.from_dtype(np.dtype(dtype), min_value=-1e4, max_value=1e4, allow_subnormal=False))
    parts.append(full)
    return st.one_of(*parts)


@functools.cache
def bounded_values(dtype: str, *, magnitude: float) -> st.SearchStrategy:
    """Finite floats of ``dtype`` in [-magnitude, magnitude], signed zeros and subnormals included:
    for graphs whose point is not overflow (a recurrence through a matrix product, whose order of
    summation decides where an overflow lands)."""
    if dtype not in FLOAT_DTYPES:
        raise ValueError(f"bounded_values: dtype must be one of {FLOAT_DTYPES}, got dtype={dtype!r}")
    if not (isinstance(magnitude, int | float) and 0 < magnitude < float(np.finfo(np.dtype(dtype)).max)):
        raise ValueError(f"bounded_values: magnitude must be positive and finite in {dtype}, got magnitude={magnitude!r}")
    t = np.dtype(dtype).type
    return st.one_of(
        st.sampled_from((t(0.0), t(-0.0), t(1.0), t(-1.0), t(np.finfo(np.dtype(dtype)).smallest_subnormal))),
        hnp.from_dtype(np.dtype(dtype), min_value=-magnitude, max_value=magnitude, allow_nan=False,
                       allow_infinity=False),
    )


def _is_nonfinite(value) -> bool:
    return isinstance(value, np.floating) and not np.isfinite(value)


class ArrayExample(NamedTuple):
    arrays: tuple[np.ndarray, ...]
    shapes: tuple[tuple[int, ...], ...]
    dtypes: tuple[str, ...]
    params: tuple[tuple[str, object], ...] = ()  # op parameters drawn with the inputs (axis, keepdims)
    constants: tuple[int, ...] = ()  # positions of the arrays the graph holds as constants, not inputs


def array_values(
    *, dtype: str, shape: tuple[int, ...], elements: st.SearchStrategy | None = None
) -> st.SearchStrategy[np.ndarray]:
    """An array of ``dtype`` and ``shape`` whose elements come from `element_values` by default."""
    return _array_values(dtype, tuple(shape), elements)


# Composites draw an array strategy per example; each new strategy object is validated on its first
# draw (reusing them cut Hypothesis' own time for 16 examples of elementwise cells by about a fifth).
@functools.lru_cache(maxsize=4096)
def _array_values(dtype: str, shape: tuple[int, ...], elements: st.SearchStrategy | None) -> st.SearchStrategy:
    if dtype not in ALL_DTYPES:
        raise ValueError(f"array_values: unknown dtype={dtype!r}; valid: {ALL_DTYPES}")
    if not all(isinstance(s, int) and s >= 0 for s in shape):
        raise ValueError(f"array_values: shape must be a tuple of sizes >= 0, got shape={shape!r}")
    return hnp.arrays(np.dtype(dtype), shape, elements=elements if elements is not None else element_values(dtype))


TRIGGER_VALUES = (0.0, -0.0, 1.0, -1.0, 2.0, 0.5, 0.25, 1024.0, 1.0000000342285429, 1e-320, 1e-30, 1e30,
                  float("nan"), float("inf"))
"""Constants onnxruntime's graph rewrites act on: identities (0, 1), negation, powers of two (a Mul or
Div becomes a shift or a scale fused into MatMul), a float64 that rounds to 1 in float32 (a "multiply by
one" eliminated), one that rounds to 0 (an "add zero"), huge, tiny, NaN and infinity."""


@functools.cache
def trigger_values(dtype: str) -> tuple:
    """`TRIGGER_VALUES` as distinct scalars of ``dtype`` (integers: the whole values in range; bool:
    False and True)."""
    if dtype not in ALL_DTYPES:
        raise ValueError(f"trigger_values: unknown dtype={dtype!r}; valid: {ALL_DTYPES}")
    np_dtype = np.dtype(dtype)
    if np_dtype.kind == "b":
        return (np.False_, np.True_)
    if np_dtype.kind in "iu":
        info = np.iinfo(np_dtype)
        wholes = dict.fromkeys(int(v) for v in TRIGGER_VALUES if np.isfinite(v) and float(v).is_integer()
                               and info.min <= v <= info.max)
        return tuple(np_dtype.type(v) for v in wholes)
    with np.errstate(all="ignore"):
        cast = [np_dtype.type(v) for v in TRIGGER_VALUES]
    distinct = {}
    for value in cast:  # by bit pattern: -0.0 and 0.0 are both kept, values rounding alike are not
        distinct.setdefault(value.tobytes(), value)
    return tuple(distinct.values())
