"""The dtypes the harness fuzzes, grouped, and a strategy over them."""

from __future__ import annotations

from hypothesis import strategies as st

FLOAT_DTYPES = ("float16", "float32", "float64")
SIGNED_INT_DTYPES = ("int8", "int16", "int32", "int64")
UNSIGNED_INT_DTYPES = ("uint8", "uint16", "uint32", "uint64")
INT_DTYPES = SIGNED_INT_DTYPES + UNSIGNED_INT_DTYPES
NUMERIC_DTYPES = FLOAT_DTYPES + INT_DTYPES
ALL_DTYPES = NUMERIC_DTYPES + ("bool",)


def dtype_names(*, include: tuple[str, ...] = ALL_DTYPES) -> st.SearchStrategy[str]:
    """Dtype names (native endianness) drawn from ``include``."""
    unknown = [d for d in include if d not in ALL_DTYPES]
    if unknown or not include:
        raise ValueError(f"dtype_names(include={include!r}): unknown dtypes {unknown}; valid: {ALL_DTYPES}")
    return st.sampled_from(tuple(include))
