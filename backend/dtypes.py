"""The dtypes the project handles, grouped (`common.dtypes` defines the groups), and their ONNX element
types.

To support another dtype: add it to a group in `common.dtypes` and to `NUMPY_TO_ONNX_DTYPE`; the
registry's dtype test then shows which ops PyTensor defines for it.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from common.dtypes import (  # noqa: F401  (the groups, defined once there; re-exported for the exporter)
    ALL_DTYPES,
    FLOAT_DTYPES,
    INT_DTYPES,
    MIXED_DTYPES,
    NUMERIC_DTYPES,
    SIGNED_DTYPES,
    UNSIGNED_DTYPES,
)

NUMPY_TO_ONNX_DTYPE = {
    "float16": TensorProto.FLOAT16,
    "float32": TensorProto.FLOAT,
    "float64": TensorProto.DOUBLE,
    "int8": TensorProto.INT8,
    "int16": TensorProto.INT16,
    "int32": TensorProto.INT32,
    "int64": TensorProto.INT64,
    "uint8": TensorProto.UINT8,
    "uint16": TensorProto.UINT16,
    "uint32": TensorProto.UINT32,
    "uint64": TensorProto.UINT64,
    "bool": TensorProto.BOOL,
}


class ONNXExportUnsupported(NotImplementedError):
    """The exporter declines an op or dtype on purpose: ONNX or onnxruntime cannot match PyTensor."""


def onnx_dtype(dtype: str | np.dtype) -> int:
    """ONNX element type of a numpy/PyTensor dtype; a clear error for dtypes ONNX cannot hold."""
    key = str(np.dtype(dtype))
    try:
        return NUMPY_TO_ONNX_DTYPE[key]
    except KeyError:
        raise ONNXExportUnsupported(
            f"dtype {key!r} has no ONNX tensor element type here; supported: {sorted(NUMPY_TO_ONNX_DTYPE)}"
        ) from None
