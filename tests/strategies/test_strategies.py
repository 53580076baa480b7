import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.dtypes import ALL_DTYPES
from harness.conformance.engine import signature_of
from strategies.ops import edge_case_inputs, op_inputs
from strategies.shapes import (
    BroadcastShapes,
    broadcastable_shapes,
    few_signature_shapes,
    fixed_target_shapes,
)
from strategies.values import ArrayExample, array_values, element_values, special_values


@pytest.mark.parametrize("call,match", [
    (lambda: broadcastable_shapes(num_shapes=0), "num_shapes=0"),
    (lambda: broadcastable_shapes(num_shapes=2, min_dims=3, max_dims=1), "min_dims=3, max_dims=1"),
    (lambda: broadcastable_shapes(num_shapes=2, min_side=2, max_side=1), "min_side=2, max_side=1"),
    (lambda: fixed_target_shapes(num_shapes=1, target=(2, -1)), "target=\\(2, -1\\)"),
    (lambda: few_signature_shapes(num_shapes=0), "num_shapes=0"),
    (lambda: few_signature_shapes(num_shapes=2, max_side=1), "max_side=1"),
    (lambda: element_values("float128"), "dtype='float128'"),
    (lambda: array_values(dtype="int8", shape=(-1,)), "shape=\\(-1,\\)"),
    (lambda: op_inputs(dtypes=()), "dtypes=\\(\\)"),
    (lambda: op_inputs(dtypes=("int8",), elements=[None, None]), "one elements strategy per input"),
])
def test_strategies_validate_arguments_at_once_and_show_values(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_strategies_take_keyword_only_arguments():
    with pytest.raises(TypeError):
        broadcastable_shapes(2)  # type: ignore[misc]
    with pytest.raises(TypeError):
        op_inputs(("float32",))  # type: ignore[misc]


def test_array_values_gives_one_strategy_per_dtype_shape_and_elements():
    # a new strategy object is validated on its first draw: composites draw arrays once per example
    assert array_values(dtype="float32", shape=[2, 3]) is array_values(dtype="float32", shape=(2, 3))
    assert array_values(dtype="float32", shape=(2, 3)) is not array_values(dtype="float64", shape=(2, 3))
    small = st.integers(0, 3)
    assert array_values(dtype="int8", shape=(2,), elements=small) is not array_values(dtype="int8", shape=(2,))


@pytest.mark.parametrize("num_shapes", [1, 2, 3])
def test_few_signature_shapes_broadcast_and_give_three_graph_signatures(num_shapes):
    signatures = set()

    @settings(max_examples=100, database=None, deadline=None)
    @given(shapes=few_signature_shapes(num_shapes=num_shapes))
    def check(shapes):
        assert len(shapes.input_shapes) == num_shapes
        assert np.broadcast_shapes(*shapes.input_shapes) == shapes.result_shape
        arrays = [np.zeros(s) for s in shapes.input_shapes]
        signatures.add(signature_of(ArrayExample(arrays, shapes.input_shapes, ("float64",) * num_shapes),
                                    elementwise=True))

    check()
    # vectors (empty ones included), scalars and the outer broadcast's static 1
    assert signatures == {((None,),) * num_shapes, ((),) * num_shapes,
                          ((None, 1 if num_shapes > 1 else None),) + ((None,),) * (num_shapes - 1)}


@settings(max_examples=60, database=None, deadline=None)
@given(shapes=broadcastable_shapes(num_shapes=3))
def test_broadcastable_shapes_broadcast(shapes):
    assert isinstance(shapes, BroadcastShapes)
    assert np.broadcast_shapes(*shapes.input_shapes) == shapes.result_shape
    assert all(len(s) <= 4 for s in shapes.input_shapes)


@settings(max_examples=60, database=None, deadline=None)
@given(example=op_inputs(dtypes=("float32", "int8")))
def test_op_inputs_match_requested_dtypes_and_shapes(example):
    assert isinstance(example, ArrayExample)
    assert tuple(a.dtype.name for a in example.arrays) == ("float32", "int8")
    assert tuple(a.shape for a in example.arrays) == example.shapes


def test_value_strategy_reaches_the_nasty_values():
    seen = []

    @settings(max_examples=300, database=None, deadline=None)
    @given(v=element_values("float32"))
    def collect(v):
        seen.append(v)

    collect()
    values = np.array(seen, dtype="float32")
    assert np.isnan(values).any() and np.isposinf(values).any() and np.isneginf(values).any()
    assert (np.signbit(values) & (values == 0)).any(), "-0.0 never drawn"
    assert ((values != 0) & (np.abs(values) < np.finfo("float32").tiny)).any(), "no subnormal drawn"
    assert (values == np.finfo("float32").max).any()
    assert ((values % 1) == 0.5).any(), "no .5 tie drawn"


def test_edge_cases_cover_empty_and_scalar():
    shapes = []

    @settings(max_examples=100, database=None, deadline=None)
    @given(example=edge_case_inputs(dtypes=("float64",)))
    def collect(example):
        shapes.append(example.shapes[0])

    collect()
    assert () in shapes and any(0 in s for s in shapes)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_special_values_fit_their_dtype(dtype):
    values = special_values(dtype)
    assert values and np.asarray(values, dtype=dtype).size == len(values)


@given(st.data())
@settings(max_examples=5, database=None, deadline=None)
def test_fixed_target_shapes_broadcast_to_target(data):
    shapes = data.draw(fixed_target_shapes(num_shapes=2, target=(2, 3)))
    assert np.broadcast_shapes((2, 3), *shapes.input_shapes) == (2, 3)
