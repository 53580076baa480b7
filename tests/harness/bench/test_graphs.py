"""The real graphs timed by `harness bench` compute what PyTensor computes once exported after
PyTensor's rewrites, at a small size (the benchmark's sizes are for timing)."""

import numpy as np
import pytest

from backend import compile_onnx
from harness.bench.graphs import GRAPHS
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


def test_model_benchmark_times_each_backend_at_the_models_parameter_count():
    pytest.importorskip("pymc", reason="PyMC is not installed: pip install -e '.[pymc]' (tox -e pymc)")
    from harness.bench.graphs import MODEL_BACKENDS, run_model_benchmarks

    rows = run_model_benchmarks(repeat=3, names=["model:eight_schools_noncentred"])
    assert [r["backend"] for r in rows] == list(MODEL_BACKENDS)
    assert {(r["section"], r["op"], r["size"]) for r in rows} == {("models", "model:eight_schools_noncentred", 10)}
    for row in rows:
        if row["backend"] in ("onnxruntime", "onnxruntime_1thread", "default"):
            assert row["note"] == "" and row["median_s"] > 0 and row["one_off_s"] > 0
        if row["backend"].startswith("onnxruntime"):
            assert row["onnx_nodes"] > 10 and row["onnx_loops"] == 0
