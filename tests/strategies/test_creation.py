"""Creation strategies: split sizes add up, aranges stay short, bad arguments fail at once."""

import numpy as np
import pytest
from hypothesis import given, settings

from strategies.creation import arange_examples, eye_examples, split_examples


@settings(max_examples=40, database=None, deadline=None)
@given(example=split_examples(dtype="int8", n_splits=3, axis=-1))
def test_split_sizes_add_up_to_the_axis(example):
    x, sizes = example.arrays
    assert sizes.dtype == np.int64 and len(sizes) == 3 and sizes.sum() == x.shape[-1] and (sizes >= 0).all()


@pytest.mark.parametrize("dtype", ["float16", "float64", "int8", "uint64", "bool"])
def test_arange_examples_are_short_and_valid(dtype):
    @settings(max_examples=40, database=None, deadline=None)
    @given(example=arange_examples(dtype=dtype, max_length=8))
    def check(example):
        assert all(a.dtype == np.dtype(dtype) and a.shape == () for a in example.arrays)
        with np.errstate(all="ignore"):
            assert len(np.arange(*(a.item() for a in example.arrays))) <= 9
    check()


@settings(max_examples=20, database=None, deadline=None)
@given(example=eye_examples(max_side=3))
def test_eye_examples_are_int64_scalars(example):
    n, m, k = example.arrays
    assert 0 <= n <= 3 and 0 <= m <= 3 and -5 <= k <= 5 and example.dtypes == ("int64",) * 3


@pytest.mark.parametrize("call,match", [
    (lambda: split_examples(dtype="int8", n_splits=0), "n_splits=0"),
    (lambda: split_examples(dtype="int8", n_splits=2, axis=3, max_ndim=3), "axis=3"),
    (lambda: arange_examples(dtype="complex64"), "dtype='complex64'"),
    (lambda: arange_examples(dtype="int8", max_length=-1), "max_length=-1"),
    (lambda: eye_examples(max_side=-1), "max_side=-1"),
])
def test_creation_strategies_validate_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
