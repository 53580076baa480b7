"""Entries for ``backend/special.py``: softmax and log_softmax over one axis or all of them.

To add one: a ``register(...)`` call below; compositions whose terms cancel give ``error_scale``.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from backend.dtypes import NUMERIC_DTYPES
from harness.registry.spec import REDUCTION, register
from strategies.ops import axis_params
from strategies.values import ArrayExample


def _log_softmax_terms(example: ArrayExample):
    """log_softmax(x) = d - log(s), d = x - max(x), s = sum(exp(d)) >= 1: s is rounded (in an order
    that differs between numpy and onnxruntime) before log turns its error into an absolute one, so
    the scale is the largest of |d|, |log(s)| and s."""
    x = np.asarray(example.arrays[0], dtype=np.float64)
    axis = dict(example.params).get("axis")
    if x.size == 0:
        return np.zeros(x.shape)
    d = x - np.max(x, axis=axis, keepdims=True)
    total = np.sum(np.exp(d), axis=axis, keepdims=True)
    return np.maximum(np.maximum(np.abs(d), np.abs(np.log(total))), total)


def _softmax(x, axis=None):
    return pt.special.softmax(x, axis=axis)


def _log_softmax(x, axis=None):
    return pt.special.log_softmax(x, axis=axis)


# Both sum exp(d) over the axis: REDUCTION bounds, like sum and mean.
register("softmax", arity=1, dtypes=NUMERIC_DTYPES, build=_softmax, elementwise=False, tolerance=REDUCTION,
         params=axis_params(keepdims=False, multiple=False), onnx_ops=("Exp", "ReduceSum"))
register("log_softmax", arity=1, dtypes=NUMERIC_DTYPES, build=_log_softmax, elementwise=False, tolerance=REDUCTION,
         params=axis_params(keepdims=False, multiple=False), onnx_ops=("Exp", "ReduceSum"),
         error_scale=_log_softmax_terms)
