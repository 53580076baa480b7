"""Indexing: the numpy rules an exporter gets wrong (slice clamping, where advanced-index dimensions
go, masks, repeated indices in updates). Expected values are written out by hand from numpy's rules."""

import numpy as np
import onnxruntime as ort
import pytensor.tensor as pt
import pytest

from backend import export_onnx
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


@pytest.mark.parametrize("build", [
    lambda x, v, i: pt.set_subtensor(x[:, i, i], v),
    lambda x, v, i: pt.inc_subtensor(x[:, i, i], v),
    lambda x, v, i: x[:, i, i] * v,
])
def test_advanced_indices_with_constant_slices_export_as_built_and_after_constant_folding(build):
    """``x[:, i, i] = v`` (MvNormal's batched Cholesky gradient): PyTensor 2.38 passes the ``:`` as a
    MakeSlice, folded by the rewrites into a constant slice input; both export."""
    from pytensor.graph.rewriting.utils import rewrite_graph

    from harness.testing import reference_function

    x, v, i = pt.tensor3("x", dtype="float64"), pt.matrix("v", dtype="float64"), pt.vector("i", dtype="int64")
    built = build(x, v, i)
    folded = rewrite_graph(built, include=("canonicalize",))
    values = (np.arange(18.0).reshape(2, 3, 3), np.full((2, 3), 7.0), np.array([0, 2, 1]))
    expected = reference_function([x, v, i], [built])(*values)[0]
    for out in (built, folded):
        model = export_onnx([x, v, i], [out])
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        feed = {name: value for name, value in zip(("x", "v", "i"), values) if name in
                {inp.name for inp in model.graph.input}}
        np.testing.assert_array_equal(session.run(None, feed)[0], expected)
