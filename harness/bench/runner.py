"""Benchmarks: the speed matrix (onnxruntime vs PyTensor's backends) and the engine's throughput.

Speed matrix
    For every selected op x dtype x size: the steady-state call time (median and interquartile range
    over ``--repeat`` timed repeats) of onnxruntime (default threads and 1 intra-op thread) and of
    PyTensor's py, C and NUMBA modes where they compile, with the one-off costs (export + session
    creation, PyTensor compile) kept apart. Elementwise ops also get the memory-bandwidth bound for the
    bytes they move, from a numpy copy measured in the same run. All ratios come from measurements
    taken side by side in one process, one after the other: machines here are noisy.
    ``reports/speed.py`` renders the rows.

Engine throughput
    Examples per second of `run_cell` on arithmetic ops next to (a) Hypothesis generating the same inputs
    and nothing else and (b) a compile-per-example loop (export, sessions and PyTensor function
    rebuilt for every example, as the seed plan's compare-per-test approach does).

To benchmark a new op: register it (``harness/registry/``); ops that need particular ranks or
related inputs give the entry ``bench_inputs``; ``--ops`` selects any registered op.
"""

from __future__ import annotations

import json
import math
import time
from functools import partial
from pathlib import Path

import numpy as np

from harness.bench.timing import (
    BACKENDS,
    bench_inputs,
    compile_backend,
    measured_row,
    memory_bandwidth,
)

DEFAULT_BENCH_OPS = ("add", "sub", "mul", "true_div", "int_div", "neg", "abs", "maximum", "minimum", "exp",
                   "log", "sqrt", "pow", "floor", "ceil", "round_half_to_even", "round_half_away_from_zero")


def bench_graph(spec, dtype: str, size: int):
    """(inputs, output, arrays) to time ``spec`` at about ``size`` elements: the entry's own
    ``bench_inputs`` when it has them (indexing, creation ops), else one vector per input."""
    from harness.registry import build_graph
    from strategies.shapes import pytensor_input_shape

    if spec.bench_inputs is not None:
        arrays = spec.bench_inputs(dtype, size)
        static = [pytensor_input_shape(a.shape) for a in arrays]
    else:
        arrays = bench_inputs(spec.inputs_dtypes(dtype), size)
        static = [(None,)] * len(arrays)
    inputs, output = build_graph(spec, dtype, static)
    return inputs, output, arrays


def bench_cell(spec, dtype: str, size: int, *, repeat: int, bandwidth: float | None,
               optimization_level: str = "all") -> list[dict]:
    inputs, output, arrays = bench_graph(spec, dtype, size)
    rows = [measured_row("ops", spec.name, dtype, size, backend_name,
                         partial(compile_backend, backend_name, inputs, output, arrays,
                                 optimization_level=optimization_level), repeat=repeat)
            for backend_name in BACKENDS]
    out_bytes = size * np.dtype(output[0].dtype if isinstance(output, list) else output.dtype).itemsize
    moved = sum(a.nbytes for a in arrays) + out_bytes
    for row in rows:
        row["bytes_moved"] = moved if spec.elementwise else math.nan
        row["bandwidth_bound_s"] = moved / bandwidth if bandwidth and spec.elementwise else math.nan
    return rows


def run_speed_matrix(specs_dtypes, sizes, *, repeat: int, progress=None, optimization_level: str = "all") -> list[dict]:
    rows = []
    bandwidth = {size: memory_bandwidth(size * 8 * 3) for size in sizes}
    for spec, dtype in specs_dtypes:
        for size in sizes:
            rows += bench_cell(spec, dtype, size, repeat=repeat, bandwidth=bandwidth[size],
                               optimization_level=optimization_level)
            if progress:
                progress(f"{spec.name} {dtype} {size}")
    return rows



def rows_from_pytest_benchmark(path: Path) -> list[dict]:
    """Turn ``pytest tests/bench --benchmark-json=FILE`` output into speed-matrix rows; ValueError
    naming the file and the benchmark when it is not such output."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path} is not a file; give the JSON written by pytest --benchmark-json=FILE")
    try:
        data = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"{path} is not JSON ({exc}); give the JSON written by pytest --benchmark-json=FILE") from None
    benchmarks = data.get("benchmarks", []) if isinstance(data, dict) else None
    if not isinstance(benchmarks, list):
        raise ValueError(f"{path} holds no list of benchmarks; give the JSON written by pytest --benchmark-json=FILE")
    rows = []
    for number, bench in enumerate(benchmarks):
        info = bench.get("extra_info", {}) if isinstance(bench, dict) else None
        if not isinstance(info, dict) or "backend" not in info:
            continue
        try:
            stats = bench["stats"]
            rows.append({"section": str(info.get("section", "ops")), "op": str(info.get("op", bench.get("group"))),
                         "dtype": str(info["dtype"]), "size": int(info["size"]), "backend": str(info["backend"]),
                         "median_s": float(stats["median"]), "iqr_s": float(stats["iqr"]), "one_off_s": math.nan,
                         "note": "", "bytes_moved": float(info.get("bytes_moved", math.nan)),
                         "bandwidth_bound_s": float(info.get("bandwidth_bound_s", math.nan))})
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: benchmark {number} ({bench.get('name', '?')}) lacks or garbles "
                             f"{exc}; give the JSON written by pytest tests/bench --benchmark-json=FILE") from None
    if not rows:
        raise ValueError(f"{path}: no benchmark with extra_info backend/dtype/size; run pytest tests/bench "
                         "--benchmark-only --benchmark-json=FILE")
    return rows


# ----------------------------------------------------------------------------------------------
# Engine throughput (issue: compile once, run many)
# ----------------------------------------------------------------------------------------------

def engine_throughput(ops=("add", "mul", "exp", "int_div", "maximum"), dtype="float64", examples=200) -> dict:
    """Examples per second, generation included in each, over the same Hypothesis inputs:

    - ``bare_generation``: Hypothesis drawing the inputs and nothing else;
    - ``engine``: `run_cell` (compile once per signature, both onnxruntime sessions, py mode, compare);
    - ``compile_per_example``: the seed plan's loop, `compare_onnx_and_py` per example, which compiles
      a PyTensor function in the ONNX mode and one in py mode for every example.
    """
    from hypothesis import given, settings

    from backend import onnx_mode
    from harness.conformance.engine import cell_strategy, compile_signature, run_cell, signature_of
    from harness.registry import ONNX_OPERATIONS, build_graph
    from harness.testing import compare_onnx_and_py

    config = settings(max_examples=examples, derandomize=True, database=None, deadline=None)
    seconds = {"bare_generation": 0.0, "engine": 0.0, "compile_per_example": 0.0}
    counts = dict.fromkeys(seconds, 0)

    def no_assertion(actual, expected, what="output"):
        """The loop's cost is what is measured here; the engine does the real comparison."""

    for name in ops:
        spec = ONNX_OPERATIONS[name]
        strategy = cell_strategy(spec, dtype)

        @config
        @given(example=strategy)
        def generate_only(example):
            counts["bare_generation"] += 1

        @config
        @given(example=strategy)
        def compile_each_time(example):
            inputs, output = build_graph(spec, dtype, signature_of(example, elementwise=spec.elementwise))
            compare_onnx_and_py(inputs, output, list(example.arrays), mode=onnx_mode(), assert_fn=no_assertion)
            counts["compile_per_example"] += 1

        for key, run in (("bare_generation", generate_only), ("compile_per_example", compile_each_time)):
            start = time.perf_counter()
            run()
            seconds[key] += time.perf_counter() - start

        compile_signature.cache_clear()
        start = time.perf_counter()
        cell = run_cell(spec, dtype, hypothesis_settings=config)
        seconds["engine"] += time.perf_counter() - start
        counts["engine"] += cell.examples + cell.rejected
    rates = {key: counts[key] / seconds[key] for key in seconds}
    rates["engine_vs_generation"] = rates["engine"] / rates["bare_generation"]
    rates["engine_vs_compile_per_example"] = rates["engine"] / rates["compile_per_example"]
    return rates
