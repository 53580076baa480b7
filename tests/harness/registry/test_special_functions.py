"""The special functions' error bounds against examples the matrix met: a bound that is too tight
fails the nightly on rounding, one too loose hides real errors."""

import numpy as np
import scipy.special

from harness.conformance.engine import reproduce
from harness.registry import ONNX_OPERATIONS
from strategies.values import ArrayExample


def _pair(a, x):
    a, x = np.asarray(a, np.float64), np.asarray(x, np.float64)
    return ArrayExample((a, x), (a.shape, x.shape), ("float64", "float64"), ())


def test_gammaincc_small_x_series_is_judged_on_the_terms_that_cancel():
    # found by the nightly (seed 1, PyTensor 2.38, onnxruntime 1.31.1; 1.32 gives the same value): Q is
    # -0.125 + 0.235, and onnxruntime's 0.11041494034479171 is 8.3 ULP of the plain scale from scipy's
    a, x = np.zeros(10), np.zeros(10)
    a[8], x[8] = 0.375, 1 - 2.0**-53
    assert not reproduce(ONNX_OPERATIONS["gammaincc"], "float64", _pair(a, x)).diverges


def test_the_cancellation_term_widens_only_q_in_the_small_x_series():
    q_scale, p_scale = (ONNX_OPERATIONS[name].error_scale for name in ("gammaincc", "gammainc"))
    inside, outside = _pair([0.375], [0.9]), _pair([0.375], [3.0])  # x > 1.1: the continued fraction
    terms = 1 + abs(0.375 * np.log(0.9)) + 0.9 + abs(scipy.special.gammaln(0.375))
    assert q_scale(inside)[0] > 2 * scipy.special.gammaincc(0.375, 0.9) * terms
    np.testing.assert_allclose(p_scale(inside), scipy.special.gammainc(0.375, 0.9) * terms)
    terms_outside = 1 + abs(0.375 * np.log(3.0)) + 3.0 + abs(scipy.special.gammaln(0.375))
    np.testing.assert_allclose(q_scale(outside), scipy.special.gammaincc(0.375, 3.0) * terms_outside)
