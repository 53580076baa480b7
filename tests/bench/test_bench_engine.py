"""Engine throughput next to bare Hypothesis generation (pytest-benchmark; once per normal test run)."""

from hypothesis import given, settings

from harness.conformance.engine import cell_strategy, compile_signature, run_cell
from harness.registry import ONNX_OPERATIONS

CONFIG = settings(max_examples=40, derandomize=True, database=None, deadline=None)


def test_bench_engine_run_cell(benchmark):
    spec = ONNX_OPERATIONS["add"]

    def one_cell():
        compile_signature.cache_clear()
        return run_cell(spec, "float64", hypothesis_settings=CONFIG)

    benchmark.group = "engine"
    benchmark.extra_info.update(what="run_cell add float64, 40 examples, cold cache")
    cell = benchmark.pedantic(one_cell, rounds=3, iterations=1)
    assert cell.status == "pass" and cell.examples > 0


def test_bench_bare_generation(benchmark):
    drawn = []

    @CONFIG
    @given(example=cell_strategy(ONNX_OPERATIONS["add"], "float64"))
    def generate(example):
        drawn.append(example)

    benchmark.group = "engine"
    benchmark.extra_info.update(what="Hypothesis generation alone, same strategy and settings")
    benchmark.pedantic(generate, rounds=3, iterations=1)
    assert drawn
