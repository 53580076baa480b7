"""Converters of ``backend/extra_ops.py`` beyond what their registry entries check."""

import numpy as np
import pytensor.tensor as pt
import pytest

from backend import export_onnx
from backend.linker import make_session


@pytest.mark.parametrize("dtype", ["float16", "float64"])
def test_unique_rows_follow_numpys_nan_order_of_each_float_dtype(dtype):
    """numpy compares a row's float16 fields with NaN first, float32/float64 fields with NaN last."""
    rows = np.array([[np.nan, 0.0], [1.0, 1.0], [0.0, np.nan], [1.0, 1.0]], dtype=dtype)
    x = pt.matrix("x", dtype=dtype)
    model = export_onnx([x], list(pt.unique(x, axis=0, return_inverse=True)))
    values, inverse = make_session(model).run(None, {"x": rows})
    expected_values, expected_inverse = np.unique(rows, axis=0, return_inverse=True)
    np.testing.assert_array_equal(values, expected_values)
    np.testing.assert_array_equal(inverse, expected_inverse.ravel())
