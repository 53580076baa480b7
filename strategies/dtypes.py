"""A strategy over the dtypes the harness fuzzes (the groups themselves are `backend.dtypes`')."""

from __future__ import annotations

from hypothesis import strategies as st

from backend.dtypes import ALL_DTYPES


def dtype_names(*, include: tuple[str, ...] = ALL_DTYPES) -> st.SearchStrategy[str]:
    """Dtype names (native endianness) drawn from ``include``."""
    unknown = [d for d in include if d not in ALL_DTYPES]
    if unknown or not include:
        raise ValueError(f"dtype_names(include={include!r}): unknown dtypes {unknown}; valid: {ALL_DTYPES}")
    return st.sampled_from(tuple(include))
