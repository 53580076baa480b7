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


def test_a_backend_that_crashes_or_hangs_costs_its_own_row_only():
    import os
    import signal

    from harness.bench.timing import measured_row

    def crashing():
        os.kill(os.getpid(), signal.SIGABRT)

    def hanging():
        import time

        time.sleep(60)

    def working():
        return (lambda: sum(range(10))), 0.001

    crashed = measured_row("graphs", "g", "float64", 4, "c", crashing, repeat=3)
    assert crashed["note"].startswith("unavailable: crash: c on g (float64, size 4) ended the process (signal SIGABRT)")
    assert np.isnan(crashed["median_s"])
    hung = measured_row("graphs", "g", "float64", 4, "py", hanging, repeat=3, timeout_s=1)
    assert "timeout" in hung["note"] and "ran past 1 s" in hung["note"]
    fine = measured_row("graphs", "g", "float64", 4, "py", working, repeat=3)
    assert fine["note"] == "" and fine["median_s"] > 0 and fine["one_off_s"] == 0.001
