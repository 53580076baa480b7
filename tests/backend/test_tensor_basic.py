"""Creation and splitting ops: numpy's arange arithmetic, eye offsets, diagonals of stacked matrices,
split sizes, and AllocEmpty's shape (its contents are undefined)."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from harness.testing import compare_onnx_and_py, get_onnx_node_types, raw_onnx_mode


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_float_arange_follows_numpys_delta_not_start_plus_i_step(dtype):
    # numpy: element i >= 2 is start + i * ((start + step) - start); in float16 that gives 1.398,
    # not the 1.4 that start + 4 * 0.1 rounds to
    a, b, c = (pt.scalar(n, dtype=dtype) for n in "abc")
    args = [np.array(v, dtype) for v in (1.0, 1.4, 0.1)]
    _, res = compare_onnx_and_py([a, b, c], pt.arange(a, b, c), args)
    np.testing.assert_array_equal(res, np.arange(*args))


def test_float_arange_keeps_a_negative_zero_start():
    a, b, c = (pt.dscalar(n) for n in "abc")
    _, res = compare_onnx_and_py([a, b, c], pt.arange(a, b, c), [np.array(-0.0), np.array(1.0), np.array(0.5)])
    assert np.signbit(res[0])


def test_int8_arange_is_computed_in_a_wider_type():
    a, b, c = (pt.scalar(n, dtype="int8") for n in "abc")
    fn, res = compare_onnx_and_py([a, b, c], pt.arange(a, b, c),
                                  [np.int8(-128), np.int8(127), np.int8(100)])
    np.testing.assert_array_equal(res, [-128, -28, 72])
    assert "Range" in get_onnx_node_types(fn)


@pytest.mark.parametrize("k", [-4, -1, 0, 2, 5])
def test_eye_with_symbolic_offset(k):
    n, m, kk = pt.lscalar("n"), pt.lscalar("m"), pt.lscalar("k")
    _, res = compare_onnx_and_py([n, m, kk], pt.eye(n, m, kk, dtype="int8"), [np.array(3), np.array(4), np.array(k)])
    np.testing.assert_array_equal(res, np.eye(3, 4, k, dtype="int8"))


@pytest.mark.parametrize("offset", [-2, 0, 1, 3])
def test_diagonal_of_stacked_matrices_goes_last(offset):
    x = pt.tensor3("x")
    data = np.arange(24.0).reshape(2, 3, 4)
    _, res = compare_onnx_and_py([x], pt.diagonal(x, offset, 2, 0), [data])
    np.testing.assert_array_equal(res, data.diagonal(offset, 2, 0))


def test_split_returns_every_part_with_empty_ones():
    x, sizes = pt.matrix("x"), pt.lvector("sizes")
    parts = pt.split(x, sizes, n_splits=3, axis=-1)
    _, res = compare_onnx_and_py([x, sizes], parts, [np.arange(8.0).reshape(2, 4), np.array([1, 0, 3])])
    assert [r.shape for r in res] == [(2, 1), (2, 0), (2, 3)]


def test_alloc_empty_has_the_requested_shape_and_dtype():
    x = pt.matrix("x", dtype="uint16")
    fn = pytensor.function([x], pt.empty(x.shape, dtype=x.dtype), mode=raw_onnx_mode())
    out = fn(np.zeros((0, 5), "uint16"))
    assert out.shape == (0, 5) and out.dtype == np.uint16
