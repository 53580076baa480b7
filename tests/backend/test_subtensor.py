"""Indexing: the numpy rules an exporter gets wrong (slice clamping, where advanced-index dimensions
go, masks, repeated indices in updates). Expected values are written out by hand from numpy's rules."""

import numpy as np
import pytensor.tensor as pt
import pytest

from harness.testing import compare_onnx_and_py, get_onnx_node_types


def test_negative_step_with_start_before_the_first_element_selects_nothing():
    # numpy: x[-5:0:-1] of a 3-vector is empty; ONNX Slice clamps start -5 to 0 and would return x[0]
    x, start = pt.vector("x"), pt.lscalar("start")
    _, res = compare_onnx_and_py([x, start], x[start:0:-1], [np.arange(3.0), np.array(-5)])
    assert res.shape == (0,)


@pytest.mark.parametrize("step", [1, -1, 2, -2])
def test_symbolic_step_uses_numpys_defaults_for_omitted_bounds(step):
    x, s = pt.vector("x"), pt.lscalar("s")
    _, res = compare_onnx_and_py([x, s], x[::s], [np.arange(5.0), np.array(step)])
    np.testing.assert_array_equal(res, np.arange(5.0)[::step])


def test_separated_index_arrays_put_broadcast_dims_first():
    x, i, j = pt.tensor3("x"), pt.lvector("i"), pt.lvector("j")
    data = np.arange(24.0).reshape(2, 3, 4)
    fn, res = compare_onnx_and_py([x, i, j], x[i, :, j], [data, np.array([0, 1]), np.array([3, -1])])
    assert res.shape == (2, 3)  # the broadcast dim (2) first, then the sliced axis (3)
    np.testing.assert_array_equal(res[1], [15.0, 19.0, 23.0])
    assert "GatherND" in get_onnx_node_types(fn)


def test_adjacent_index_arrays_keep_their_place():
    x, i, j = pt.tensor3("x"), pt.lmatrix("i"), pt.lmatrix("j")
    data = np.arange(24.0).reshape(2, 3, 4)
    _, res = compare_onnx_and_py([x, i, j], x[:, i, j], [data, np.array([[0, 2]]), np.array([[1], [-1]])])
    assert res.shape == (2, 2, 2)  # axis 0 stays first, the (2, 2) broadcast takes axes 1-2's place


def test_boolean_mask_selects_in_row_major_order():
    x, m = pt.matrix("x"), pt.matrix("m", dtype="bool")
    mask = np.array([[True, False, True], [False, True, False]])
    _, res = compare_onnx_and_py([x, m], x[m], [np.arange(6.0).reshape(2, 3), mask])
    np.testing.assert_array_equal(res, [0.0, 2.0, 4.0])


def test_inc_subtensor_accumulates_repeated_indices():
    x, i, y = pt.vector("x"), pt.lvector("i"), pt.vector("y")
    _, res = compare_onnx_and_py([x, i, y], pt.inc_subtensor(x[i], y),
                                 [np.zeros(3), np.array([1, 1, -2, 0]), np.array([1.0, 10.0, 100.0, 1000.0])])
    np.testing.assert_array_equal(res, [1000.0, 111.0, 0.0])  # position 1 gets 1 + 10 + 100


def test_set_subtensor_with_repeated_indices_keeps_the_last_value():
    x, i, y = pt.vector("x"), pt.lvector("i"), pt.vector("y")
    _, res = compare_onnx_and_py([x, i, y], pt.set_subtensor(x[i], y),
                                 [np.zeros(3), np.array([2, 2]), np.array([5.0, 7.0])])
    np.testing.assert_array_equal(res, [0.0, 0.0, 7.0])


def test_inc_subtensor_of_slices_on_an_empty_array():
    x, y = pt.matrix("x"), pt.scalar("y")
    _, res = compare_onnx_and_py([x, y], pt.inc_subtensor(x[1:, ::2], y), [np.zeros((0, 3)), np.array(1.0)])
    assert res.shape == (0, 3)


def test_int8_increment_wraps_like_numpy():
    x, i, y = pt.vector("x", dtype="int8"), pt.lvector("i"), pt.vector("y", dtype="int8")
    _, res = compare_onnx_and_py([x, i, y], pt.inc_subtensor(x[i], y),
                                 [np.array([120], "int8"), np.array([0, 0]), np.array([5, 5], "int8")])
    np.testing.assert_array_equal(res, np.array([-126], "int8"))  # 130 wraps


def test_inc_subtensor_ignoring_duplicates_writes_once_per_position():
    # x[i] += y in numpy: each repeated position gets x + (its last y), not the sum
    x, i, y = pt.vector("x"), pt.lvector("i"), pt.vector("y")
    out = pt.inc_subtensor(x[i], y, ignore_duplicates=True)
    _, res = compare_onnx_and_py([x, i, y], out, [np.ones(3), np.array([1, 1]), np.array([10.0, 20.0])])
    np.testing.assert_array_equal(res, [1.0, 21.0, 1.0])
