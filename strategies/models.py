"""Inputs for whole model graphs (the registry's ``graph:`` rows): named arrays whose shapes share
sizes (n observations, k features), with bounded values, labels, counts or positive definite
matrices as each input needs.

``model_examples(dtype=, inputs=...)`` takes one `ModelInput` per graph input: its shape written with
the size names ``"n"``/``"k"`` and the kind of its values. Sizes are drawn once per example (n from
0, k from 1), so the inputs always fit together and empty data sets are tried.
To extend: a new value kind in `VALUE_KINDS` and its strategy in `_values`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from backend.dtypes import FLOAT_DTYPES
from strategies.values import ArrayExample, bounded_values

VALUE_KINDS = ("real", "positive", "binary", "count", "label", "spd")


class ModelInput(NamedTuple):
    shape: tuple[str | int, ...]  # sizes by name ("n", "k") or number
    kind: str = "real"
    dtype: str | None = None  # None: the cell's dtype


def _values(kind: str, dtype: str, k: int):
    if kind == "real":
        return bounded_values(dtype, magnitude=3.0)
    if kind == "positive":
        return st.floats(0.25, 4.0, width=np.finfo(dtype).bits).map(np.dtype(dtype).type)
    if kind == "binary":
        return st.integers(0, 1).map(np.dtype(dtype).type)
    if kind == "count":
        return st.integers(0, 20).map(np.dtype(dtype).type)
    if kind == "label":
        return st.integers(0, max(k - 1, 0)).map(np.dtype(dtype).type)
    raise ValueError(f"unknown value kind {kind!r}; valid: {VALUE_KINDS}")


def model_examples(*, dtype: str, inputs: tuple[ModelInput, ...], max_n: int = 5,
                   max_k: int = 3) -> st.SearchStrategy[ArrayExample]:
    """One array per `ModelInput`, sizes n in 0..max_n and k in 1..max_k shared by all of them."""
    if dtype not in FLOAT_DTYPES:
        raise ValueError(f"model_examples: models are drawn in float dtypes {FLOAT_DTYPES}, got dtype={dtype!r}")
    bad = [i for i in inputs if i.kind not in VALUE_KINDS]
    if bad or max_n < 0 or max_k < 1:
        raise ValueError(f"model_examples: need kinds from {VALUE_KINDS}, max_n >= 0, max_k >= 1; got inputs={bad}, "
                         f"max_n={max_n}, max_k={max_k}")

    @st.composite
    def draw(draw_):
        sizes = {"n": draw_(st.integers(0, max_n)), "k": draw_(st.integers(1, max_k))}
        arrays, dtypes = [], []
        for spec in inputs:
            in_dtype = spec.dtype or dtype
            shape = tuple(sizes[s] if isinstance(s, str) else s for s in spec.shape)
            if spec.kind == "spd":
                side = shape[-1]
                root = draw_(hnp.arrays(np.float64, shape, elements=st.integers(-4, 4).map(lambda v: v / 2)))
                array = (root @ root.T + (1.0 + side) * np.eye(side)).astype(in_dtype)
            else:
                array = draw_(hnp.arrays(in_dtype, shape, elements=_values(spec.kind, in_dtype, sizes["k"])))
            arrays.append(array)
            dtypes.append(in_dtype)
        return ArrayExample(tuple(arrays), tuple(a.shape for a in arrays), tuple(dtypes))

    return draw()
