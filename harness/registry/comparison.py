"""Entries for ``backend/comparison.py``: comparisons, logic and bits, isnan/isinf, switch and clip.

To add one: a ``register(...)`` call below (see ``harness/registry/spec.py``). The -0.0 declarations
of switch and clip are predicted by the model of onnxruntime's Where in ``quirks.py``.
"""

from __future__ import annotations

import numpy as np

from backend.dtypes import ALL_DTYPES, FLOAT_DTYPES, INT_DTYPES
from harness.registry.quirks import (
    WHERE_NEGATIVE_ZERO,
    as_elemwise_inputs,
    onnxruntime_where,
    same_including_zero_signs,
)
from harness.registry.spec import register
from strategies.values import ArrayExample


def _where_loses_negative_zero_in_switch(example: ArrayExample) -> bool:
    cond, a, b = as_elemwise_inputs(example)
    with np.errstate(invalid="ignore"):
        return not same_including_zero_signs(onnxruntime_where(cond != 0, a, b), np.where(cond != 0, a, b))


def _where_loses_negative_zero_in_clip(example: ArrayExample) -> bool:
    x, lo, hi = as_elemwise_inputs(example)
    with np.errstate(invalid="ignore"):  # the converter's two Wheres, as onnxruntime runs them
        ort = onnxruntime_where(x < lo, lo, onnxruntime_where(x > hi, hi, x))
        exact = np.where(x < lo, lo, np.where(x > hi, hi, x))
    return not same_including_zero_signs(ort, exact)


register("eq", arity=2, dtypes=ALL_DTYPES, onnx_ops=("Equal",))
register("neq", arity=2, dtypes=ALL_DTYPES, onnx_ops=("Equal",))
register("lt", arity=2, dtypes=ALL_DTYPES, onnx_ops=("Less",))
register("le", arity=2, dtypes=ALL_DTYPES, onnx_ops=("LessOrEqual",))
register("gt", arity=2, dtypes=ALL_DTYPES, onnx_ops=("Greater",))
register("ge", arity=2, dtypes=ALL_DTYPES, onnx_ops=("GreaterOrEqual",))
register("and_", arity=2, dtypes=INT_DTYPES + ("bool",))
register("or_", arity=2, dtypes=INT_DTYPES + ("bool",))
register("xor", arity=2, dtypes=INT_DTYPES + ("bool",))
register("bitwise_and", arity=2, dtypes=INT_DTYPES + ("bool",))
register("bitwise_or", arity=2, dtypes=INT_DTYPES + ("bool",))
register("bitwise_xor", arity=2, dtypes=INT_DTYPES + ("bool",))
register("invert", arity=1, dtypes=INT_DTYPES + ("bool",))
register("isnan", arity=1, dtypes=ALL_DTYPES)
register("isinf", arity=1, dtypes=ALL_DTYPES)
register("switch", arity=3, dtypes=ALL_DTYPES, onnx_ops=("Where",)).xfail(
    id="where-negative-zero",
    reason=WHERE_NEGATIVE_ZERO, category="onnxruntime-kernel", dtypes=FLOAT_DTYPES,
    when=_where_loses_negative_zero_in_switch,
)
register("clip", arity=3, dtypes=ALL_DTYPES, onnx_ops=("Where",)).xfail(
    id="where-negative-zero",
    reason=WHERE_NEGATIVE_ZERO, category="onnxruntime-kernel", dtypes=FLOAT_DTYPES,
    when=_where_loses_negative_zero_in_clip,
)
