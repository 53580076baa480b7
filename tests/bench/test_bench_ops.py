"""pytest-benchmark over the registry: every op, at fixed sizes, on onnxruntime and PyTensor's py mode.

Run for numbers:  pytest tests/bench --benchmark-only --benchmark-json=bench.json
then:             python -m harness bench --from-pytest-benchmark bench.json --out speed-report
In the normal test run (--benchmark-disable) each benchmark runs once, as a test, below the largest size.
"""

import numpy as np
import pytest

from backend import ONNXExportUnsupported
from harness.bench.runner import bench_graph
from harness.bench.timing import bench_inputs, compile_backend
from harness.registry import ONNX_OPERATIONS, build_graph

SIZES = (1, 1_000, 100_000)
BACKENDS = ("onnxruntime", "py")


def _dtype(spec):
    return next((d for d in ("float64", "float32", "int64") if d in spec.dtypes), spec.dtypes[0])


# Ops whose inputs are plain vectors of any length, a broadcast value (alloc), or that say how to
# build inputs of a given size (bench_inputs: indexing, creation); ops that need other ranks (matrix
# products) are timed in the real-graph benchmarks.
# entries whose inputs come as whole examples (sorted arrays, in-range indices) need bench_inputs
BENCH_OPS = [spec for spec in ONNX_OPERATIONS.values()
             if spec.bench_inputs is not None or (spec.probe_ndim == 1 and spec.examples is None
                                                  and (spec.shapes is None or spec.name == "alloc"))]


def pytest_generate_tests(metafunc):
    """Every op x size x backend when timing; the test run skips the largest size (py mode's
    Python-level loops such as ScalarLoop's take minutes there, onnxruntime's Newton iterations for
    gammaincinv 15 s, and neither tests anything at 1e5 that the smaller sizes do not)."""
    if metafunc.definition.name != "test_bench_op":
        return
    timing = metafunc.config.getoption("benchmark_only", default=False) or metafunc.config.getoption(
        "benchmark_enable", default=False)
    cases = [pytest.param(spec, size, backend, id=f"{spec.name}-{_dtype(spec)}-{size}-{backend}")
             for spec in BENCH_OPS for size in SIZES for backend in BACKENDS
             if timing or size < max(SIZES)]
    metafunc.parametrize("spec,size,backend", cases)


def test_bench_op(benchmark, spec, size, backend):
    dtype = _dtype(spec)
    if spec.name == "alloc":  # fixed output shape: a static size-1 input broadcasts to it
        inputs, output = build_graph(spec, dtype, [(1,)])
        arrays = bench_inputs(spec.inputs_dtypes(dtype), 1)
    else:
        inputs, output, arrays = bench_graph(spec, dtype, size)
    try:
        fn, _ = compile_backend(backend, inputs, output, arrays)
    except ONNXExportUnsupported as exc:
        pytest.skip(f"exporter declines {spec.name} ({dtype}): {exc}")
    benchmark.group = spec.name
    benchmark.extra_info.update(op=spec.name, backend=backend, dtype=dtype, size=size,
                                bytes_moved=int(sum(a.nbytes for a in arrays)))
    result = benchmark(fn)
    assert result is not None
    first = np.asarray(result[0] if isinstance(result, list) else result)
    assert first.dtype == np.dtype((output[0] if isinstance(output, list) else output).dtype)
