"""Indexing strategies: every drawn index is valid for the drawn array, updates broadcast *to* the
selection, and bad arguments fail at once with the values shown."""

import numpy as np
import pytest
from hypothesis import given, settings

from strategies.indexing import apply_pattern, indexing_examples, pattern_input_dtypes

PATTERNS = [("array",), ("array", slice(None), "array"), (slice(1, None), "array", "array"), (-1, "array"),
            ("mask2",), (slice(None, None, -1), "mask"), ("bounds",), (slice(1, None), slice(None, None, 2))]


@pytest.mark.parametrize("pattern", PATTERNS, ids=str)
@pytest.mark.parametrize("updates", [False, True])
def test_drawn_indices_are_valid_for_the_drawn_array(pattern, updates):
    @settings(max_examples=40, database=None, deadline=None)
    @given(example=indexing_examples(dtype="float32", pattern=pattern, updates=updates))
    def check(example):
        x, *rest = example.arrays
        index_inputs = rest[:-1] if updates else rest
        assert example.dtypes[1:1 + len(index_inputs)] == pattern_input_dtypes(pattern)
        selection = x[apply_pattern(pattern, index_inputs)]  # raises if an index is out of range
        if updates:
            assert np.broadcast_shapes(rest[-1].shape, selection.shape) == selection.shape
    check()


@pytest.mark.parametrize("kwargs,match", [
    (dict(dtype="float32", pattern=()), "pattern=\\(\\)"),
    (dict(dtype="float32", pattern=("arrays",)), "bad tokens: \\['arrays'\\]"),
    (dict(dtype="float99", pattern=("array",)), "dtype='float99'"),
    (dict(dtype="int8", pattern=("array",), index_dtype="float32"), "index_dtype='float32'"),
    (dict(dtype="int8", pattern=("mask2", "array"), max_ndim=2), "3 <= max_ndim"),
    (dict(dtype="int8", pattern=("array",), index_ndim=7), "index_ndim=7"),
])
def test_indexing_examples_validate_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        indexing_examples(**kwargs)
