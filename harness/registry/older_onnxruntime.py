"""Divergences of onnxruntime releases older than 1.32 (`FIXED_IN`) that the project supports (1.31.1,
pyproject.toml): each is a set of ``xfail`` keyword arguments with ``onnxruntime_before=``, so that it is
declared only where the installed onnxruntime has the bug (`OpSpec.xfail`), and chained on the entries
it touches.

Found by the whole ci matrix on onnxruntime 1.31.1 (README, the version table), where onnx's reference
evaluator agreed with PyTensor on every mismatch. To add one: a reason, a predicate on the inputs, a
dict here, ``.xfail(**IT)`` on the entries, and a row in tests/harness/registry/test_declarations.py.
"""

from __future__ import annotations

import numpy as np

from strategies.values import ArrayExample

FIXED_IN = (1, 32)
"""The onnxruntime release that has none of the bugs below."""

_UNPREDICTABLE_SHAPES = ("which empty shapes go wrong depends on how onnxruntime's kernels broadcast and "
                         "squeeze them; not modelled")


def has_empty_input(example: ArrayExample) -> bool:
    """An input with a 0-size dimension."""
    return any(np.asarray(a).size == 0 for a in example.arrays)


def wide_integers_beyond_int32(example: ArrayExample) -> bool:
    """An int64, uint32 or uint64 input of 4 or more elements holding a value outside int32's range."""
    for a in map(np.asarray, example.arrays):
        if a.dtype.name in ("int64", "uint32", "uint64") and a.size >= 4:
            wide = a.astype(np.float64)  # exact enough to tell int32's bounds apart
            if bool(np.any((wide < -(2.0**31)) | (wide >= 2.0**31))):
                return True
    return False


def nan_among_other_values(example: ArrayExample) -> bool:
    """A float input holding a NaN and at least one other element."""
    for a in map(np.asarray, example.arrays):
        if a.dtype.kind == "f" and a.size > 1 and bool(np.any(np.isnan(a))):
            return True
    return False


def wide_integer_inexact_in_float64(example: ArrayExample) -> bool:
    """An int64 or uint64 input holding a value that float64 rounds (beyond 2^53 in magnitude, odd ones
    first)."""
    return any(np.asarray(a).dtype in (np.int64, np.uint64) and any(int(float(v)) != int(v) for v in np.asarray(a).ravel())
               for a in example.arrays)


EMPTY_MATMUL = dict(
    id="empty-matmul",
    reason="onnxruntime before 1.32: MatMul with a 0-size dimension gives the wrong shape (an empty batch "
           "broadcast against 1 keeps the 1; an empty matrix grows dimensions), which a later Squeeze, Slice "
           "or broadcast then refuses (a runtime error)",
    category="onnxruntime-kernel", when=has_empty_input, unpredictable=_UNPREDICTABLE_SHAPES,
    onnxruntime_before=FIXED_IN,
)
EMPTY_ARG_REDUCTION = dict(
    id="empty-arg-reduction",
    reason="onnxruntime before 1.32: ArgMin/ArgMax with keepdims=0 over an array with a 0-size dimension keep "
           "the reduced axis",
    category="onnxruntime-kernel", when=has_empty_input, unpredictable=_UNPREDICTABLE_SHAPES,
    onnxruntime_before=FIXED_IN,
)
WIDE_INTEGER_REDUCTION = dict(
    id="wide-integer-reduction",
    reason="onnxruntime before 1.32: ReduceMax/ReduceMin of int64, uint32 and uint64 arrays of 4 or more "
           "elements can get values outside int32's range wrong (the max of a uint32 [2^31, 0, 0, 0] is 0, as is "
           "the min of an int64 [-2^31 - 1, 0, 0, 0])",
    category="onnxruntime-kernel", dtypes=("int64", "uint32", "uint64"), when=wide_integers_beyond_int32,
    unpredictable="which such values come out wrong depends on their bits and places (the max of an int64 "
                  "[2^33 - 1, 0, 0, 0] is right; of a uint32 [2^31 + 3, 2^31 + 1, 2^31 + 2, 2^31] too); not modelled",
    onnxruntime_before=FIXED_IN,
)
TOPK_NAN = dict(
    id="topk-nan",
    reason="onnxruntime before 1.32: TopK does not put NaN last (numpy's order), so sorts, argsorts and unique "
           "place a NaN among the other values",
    category="onnxruntime-kernel", dtypes=("float16", "float32", "float64"), when=nan_among_other_values,
    unpredictable="where TopK's partial sort leaves a NaN depends on the other values; not modelled",
    onnxruntime_before=FIXED_IN,
)
RANGE_LENGTH_IN_FLOAT64 = dict(
    id="range-length-in-float64",
    reason="onnxruntime before 1.32: Range's int64 length is computed from bounds rounded to float64, one short "
           "beyond 2^53 (-9007199254740985 down to -9007199254740993 gives 7 values, not 8; uint64 ranges run "
           "through int64 Range and meet it too: 9007199254740985 to 9007199254740993 by 1)",
    category="onnxruntime-kernel", dtypes=("int64", "uint64"), when=wide_integer_inexact_in_float64,
    unpredictable="rounding the bounds changes the length only for some bounds; not modelled",
    onnxruntime_before=FIXED_IN,
)
