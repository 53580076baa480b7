"""Entries for ``backend/sort.py``: sort and argsort along any axis or the flattened input, with the
ties, NaNs and signed zeros that `strategies.values` draws.

To add one: a ``register(...)`` call below; ``params=axis_params(keepdims=False, multiple=False)``
draws the axis (None included).
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from backend.dtypes import ALL_DTYPES
from harness.registry.older_onnxruntime import TOPK_NAN
from harness.registry.shape import ranked
from harness.registry.spec import register
from strategies.ops import axis_params
from strategies.values import ArrayExample

QUICKSORT_TIES = ("numpy's quicksort leaves the order of equal elements unspecified (its SIMD sorts reorder "
                  "them); the export sorts stably, ties in index order")
QUICKSORT_UNPREDICTABLE = "which ties numpy's quicksort reorders depends on its kernel and the array length"


def has_ties(example: ArrayExample) -> bool:
    """Two elements of the input compare equal (-0.0 == 0.0; NaNs sort together)."""
    x = np.asarray(example.arrays[0]).ravel()
    finite = x[~np.isnan(x)] if x.dtype.kind == "f" else x
    return len(np.unique(finite)) < len(finite) or int(np.isnan(x).sum() if x.dtype.kind == "f" else 0) > 1


def _sort(kind):
    return lambda x, axis=-1: pt.sort(x, axis=axis, kind=kind)


def _argsort(kind):
    return lambda x, axis=-1: pt.argsort(x, axis=axis, kind=kind)


AXIS = axis_params(keepdims=False, multiple=False)

# equal elements are interchangeable in the values, except -0.0 and 0.0, whose order is a tie's
register("sort", arity=1, dtypes=ALL_DTYPES, build=_sort("quicksort"), params=AXIS, shapes=ranked(),
         onnx_ops=("TopK",), elementwise=False, signed_zeros=False).xfail(**TOPK_NAN)
register("sort_stable", arity=1, dtypes=ALL_DTYPES, build=_sort("stable"), params=AXIS, shapes=ranked(),
         onnx_ops=("TopK",), elementwise=False).xfail(**TOPK_NAN)
register("argsort", arity=1, dtypes=ALL_DTYPES, build=_argsort("quicksort"), params=AXIS, shapes=ranked(),
         onnx_ops=("TopK",), elementwise=False).xfail(
    id="quicksort-ties",
    reason=QUICKSORT_TIES, category="pytensor", when=has_ties, unpredictable=QUICKSORT_UNPREDICTABLE,
).xfail(**TOPK_NAN)
register("argsort_stable", arity=1, dtypes=ALL_DTYPES, build=_argsort("stable"), params=AXIS, shapes=ranked(),
         onnx_ops=("TopK",), elementwise=False).xfail(**TOPK_NAN)
