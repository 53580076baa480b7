"""The real graphs timed by `harness bench` compute what PyTensor computes once exported after
PyTensor's rewrites, at a small size (the benchmark's sizes are for timing)."""

import numpy as np
import pytest

from backend import compile_onnx
from harness.graphs import GRAPHS
from harness.testing import reference_function


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_real_graph_exports_and_matches_pytensor(name):
    builder, _sizes = GRAPHS[name]
    inputs, outputs, make_arrays = builder("float64")
    arrays = make_arrays(12, np.random.default_rng(5))
    got = compile_onnx(inputs, outputs)(*arrays)
    want = reference_function(inputs, outputs)(*arrays)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)
