"""Benchmarks: the speed matrix (onnxruntime vs PyTensor's backends) and the engine's throughput.

Speed matrix
    For every selected op x dtype x size: the steady-state call time (median and interquartile range
    over ``--repeat`` timed repeats) of onnxruntime (default threads and 1 intra-op thread) and of
    PyTensor's py, C and NUMBA modes where they compile, with the one-off costs (export + session
    creation, PyTensor compile) kept apart. Elementwise ops also get the memory-bandwidth bound for the
    bytes they move, from a numpy copy measured in the same run. All ratios come from measurements
    taken side by side in one process, one after the other: machines here are noisy.

Engine throughput
    Examples per second of `run_cell` on Tier-1 ops next to (a) Hypothesis generating the same inputs
    and nothing else and (b) a compile-per-example loop (export, sessions and PyTensor function
    rebuilt for every example, as the seed plan's compare-per-test approach does).

To benchmark a new op: register it (harness/registry.py); ops that need particular ranks or related
inputs give the entry ``bench_inputs``; ``--ops`` selects any registered op.
"""

from __future__ import annotations

import html
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TIER1_BENCH_OPS = ("add", "sub", "mul", "true_div", "int_div", "neg", "abs", "maximum", "minimum", "exp",
                   "log", "sqrt", "pow", "floor", "ceil", "round_half_to_even", "round_half_away_from_zero")
BACKENDS = ("onnxruntime", "onnxruntime_1thread", "py", "c", "numba")
PYTENSOR_BACKENDS = ("py", "c", "numba")


# ----------------------------------------------------------------------------------------------
# Timing
# ----------------------------------------------------------------------------------------------

@dataclass
class Timing:
    median_s: float
    iqr_s: float
    calls: int


def time_call(fn, *, repeat: int = 7, min_repeat_s: float = 0.02, max_number: int = 100_000) -> Timing:
    """Median and IQR of one call's time: each repeat runs ``number`` calls, sized to ~min_repeat_s."""
    fn()  # warm-up: first-call allocations and lazy initialisation are not steady state
    number = 1
    while number < max_number:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        if time.perf_counter() - start >= min_repeat_s:
            break
        number *= 4
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    q1, median, q3 = np.percentile(samples, [25, 50, 75])
    return Timing(float(median), float(q3 - q1), number * repeat)


def bench_inputs(dtypes, size: int, seed: int = 0) -> list[np.ndarray]:
    """Benchmark inputs in every op's domain (positive, no zeros): speed, not semantics, is measured."""
    rng = np.random.default_rng(seed)
    arrays = []
    for dtype in dtypes:
        if dtype == "bool":
            arrays.append(rng.integers(0, 2, size).astype(bool))
        elif np.dtype(dtype).kind in "iu":
            arrays.append(rng.integers(1, 4, size).astype(dtype))
        else:
            arrays.append(rng.uniform(0.5, 2.0, size).astype(dtype))
    return arrays


def memory_bandwidth(size_bytes: int, repeat: int = 7) -> float:
    """Bytes per second of a numpy copy of ``size_bytes`` (read + write counted), on this machine now."""
    src = np.ones(max(size_bytes // 8, 1), dtype=np.float64)
    dst = np.empty_like(src)
    timing = time_call(lambda: np.copyto(dst, src), repeat=repeat)
    return 2 * src.nbytes / timing.median_s


# ----------------------------------------------------------------------------------------------
# Backends
# ----------------------------------------------------------------------------------------------

def compile_backend(name: str, inputs, output, arrays, *, rewritten: bool = False):
    """(callable, one-off seconds) for a backend; raises with the reason when it cannot compile.

    ``rewritten``: export the graph after PyTensor's rewrites (the "ONNX" mode), as a user compiling
    a model would; otherwise the graph is exported as built (single ops)."""
    import pytensor
    from pytensor.compile.mode import Mode, get_mode

    start = time.perf_counter()
    if name.startswith("onnxruntime"):
        from backend import compile_onnx, export_onnx
        from backend.linker import make_session

        model = compile_onnx(inputs, output).maker.linker.onnx_model if rewritten else export_onnx(inputs, output)
        session = make_session(model, intra_op_num_threads=1 if name.endswith("1thread") else None)
        feed = {i.name: a for i, a in zip(model.graph.input, arrays)}
        fn = lambda: session.run(None, feed)  # noqa: E731
    else:
        mode = {"py": Mode(linker="py", optimizer=None), "c": get_mode("C"), "numba": get_mode("NUMBA")}[name]
        compiled = pytensor.function(inputs, output, mode=mode)
        compiled.trust_input = True  # skip PyTensor's input validation: time the computation
        fn = lambda: compiled(*arrays)  # noqa: E731
    fn()
    return fn, time.perf_counter() - start


def _unavailable(exc: Exception) -> str:
    first_line = (str(exc).splitlines() or [""])[0][:200]
    return f"unavailable: {type(exc).__name__}: {first_line}"


def ort_thread_settings() -> dict:
    import onnxruntime as ort

    return {"onnxruntime": ort.__version__, "default_intra_op_threads": "onnxruntime default (one per core)",
            "cores": os.cpu_count(), "onnxruntime_1thread": "intra_op_num_threads=1"}


# ----------------------------------------------------------------------------------------------
# The speed matrix
# ----------------------------------------------------------------------------------------------

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


def bench_cell(spec, dtype: str, size: int, *, repeat: int, bandwidth: float | None) -> list[dict]:
    inputs, output, arrays = bench_graph(spec, dtype, size)
    rows = []
    for backend_name in BACKENDS:
        row = {"section": "ops", "op": spec.name, "dtype": dtype, "size": size, "backend": backend_name,
               "median_s": math.nan, "iqr_s": math.nan, "one_off_s": math.nan, "note": ""}
        try:
            fn, one_off = compile_backend(backend_name, inputs, output, arrays)
            timing = time_call(fn, repeat=repeat)
            row.update(median_s=timing.median_s, iqr_s=timing.iqr_s, one_off_s=one_off)
        except Exception as exc:  # a backend that cannot compile this graph: recorded, not fatal
            row["note"] = _unavailable(exc)
        rows.append(row)
    out_bytes = size * np.dtype(output[0].dtype if isinstance(output, list) else output.dtype).itemsize
    moved = sum(a.nbytes for a in arrays) + out_bytes
    for row in rows:
        row["bytes_moved"] = moved if spec.elementwise else math.nan
        row["bandwidth_bound_s"] = moved / bandwidth if bandwidth and spec.elementwise else math.nan
    return rows


def add_ratios(rows: list[dict]) -> list[dict]:
    import pandas as pd

    frame = pd.DataFrame(rows)
    keys = ["section", "op", "dtype", "size"]
    py = frame[frame.backend == "py"].set_index(keys)["median_s"]
    best = frame[frame.backend.isin(PYTENSOR_BACKENDS)].groupby(keys)["median_s"].min()
    indexed = frame.set_index(keys)
    frame["ratio_to_py"] = (indexed["median_s"] / py.reindex(indexed.index)).to_numpy()
    frame["ratio_to_best_pytensor"] = (indexed["median_s"] / best.reindex(indexed.index)).to_numpy()
    frame["bound_fraction"] = frame["bandwidth_bound_s"] / frame["median_s"]
    return frame.to_dict("records")


def run_speed_matrix(specs_dtypes, sizes, *, repeat: int, progress=None) -> list[dict]:
    rows = []
    bandwidth = {size: memory_bandwidth(size * 8 * 3) for size in sizes}
    for spec, dtype in specs_dtypes:
        for size in sizes:
            rows += bench_cell(spec, dtype, size, repeat=repeat, bandwidth=bandwidth[size])
            if progress:
                progress(f"{spec.name} {dtype} {size}")
    return rows


# ----------------------------------------------------------------------------------------------
# Reports: speed.csv and speed.html
# ----------------------------------------------------------------------------------------------

def _svg_loglog(series: dict[str, list[tuple[float, float]]], title: str, width=360, height=220) -> str:
    """A small inline log-log line plot (time vs size per backend); no plotting library needed."""
    points = [(x, y) for pts in series.values() for x, y in pts if x > 0 and y > 0 and math.isfinite(y)]
    if not points:
        return ""
    lx = [math.log10(x) for x, _ in points]
    ly = [math.log10(y) for _, y in points]
    x0, x1 = min(lx), max(lx) if max(lx) > min(lx) else min(lx) + 1
    y0, y1 = min(ly), max(ly) if max(ly) > min(ly) else min(ly) + 1
    pad = 40
    colours = ["#1565c0", "#42a5f5", "#e65100", "#2e7d32", "#6a1b9a"]

    def px(x):
        return pad + (math.log10(x) - x0) / (x1 - x0) * (width - 2 * pad)

    def py(y):
        return height - pad - (math.log10(y) - y0) / (y1 - y0) * (height - 2 * pad)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
             f'<text x="{pad}" y="14" font-size="12">{html.escape(title)}</text>',
             f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#999"/>',
             f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#999"/>',
             f'<text x="{width / 2}" y="{height - 8}" font-size="10" text-anchor="middle">elements (log)</text>',
             f'<text x="10" y="{height / 2}" font-size="10" transform="rotate(-90 10 {height / 2})" '
             f'text-anchor="middle">seconds/call (log)</text>']
    for i, (name, pts) in enumerate(series.items()):
        pts = [(x, y) for x, y in pts if x > 0 and y > 0 and math.isfinite(y)]
        if not pts:
            continue
        colour = colours[i % len(colours)]
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in sorted(pts))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{coords}"/>')
        parts.append(f'<text x="{width - pad + 2}" y="{pad + 12 * i}" font-size="9" fill="{colour}">'
                     f'{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def write_speed_reports(out_dir: Path, rows: list[dict], meta: dict) -> None:
    import pandas as pd

    from reports.matrix import atomic_write_text

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(add_ratios(rows))
    atomic_write_text(out_dir / "speed.csv", frame.to_csv(index=False))
    atomic_write_text(out_dir / "speed-environment.json", json.dumps(meta, indent=2, default=str) + "\n")

    ort = frame[frame.backend == "onnxruntime"]
    sections = []
    for section, title in (("ops", "Single ops"), ("graphs", "Real graphs")):
        part = ort[ort.section == section]
        if part.empty:
            continue
        ratio = part.pivot_table(index=["op", "dtype"], columns="size", values="ratio_to_py")
        best = part.pivot_table(index=["op", "dtype"], columns="size", values="ratio_to_best_pytensor")
        for label, table in (("py-mode time", ratio), ("best PyTensor backend time", best)):
            styled = table.style.format("{:.3g}", na_rep="n/a").map(_ratio_colour).to_html()
            sections.append(f"<h2>{title}: onnxruntime time / {label}</h2>{styled}")
    bound = ort[ort.bandwidth_bound_s.notna()].pivot_table(index=["op", "dtype"], columns="size",
                                                          values="bound_fraction")
    if not bound.empty:
        sections.append("<h2>onnxruntime: fraction of the memory-bandwidth bound reached (1 = at the bound)</h2>"
                        + bound.style.format("{:.2f}", na_rep="n/a").to_html())
    plots = []
    for (section, op, dtype), group in frame.groupby(["section", "op", "dtype"]):
        series = {b: list(zip(g["size"], g["median_s"])) for b, g in group.groupby("backend")}
        plots.append(_svg_loglog(series, f"{op} ({dtype})"))
    table = frame[["section", "op", "dtype", "size", "backend", "median_s", "iqr_s", "one_off_s", "ratio_to_py",
                   "ratio_to_best_pytensor", "bound_fraction", "note"]]
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Speed matrix</title>
<style>body {{ font-family: system-ui, sans-serif; margin: 2em; }} table {{ border-collapse: collapse; font-size: 12px;
margin-bottom: 1.5em; }} td, th {{ border: 1px solid #ccc; padding: 2px 6px; }} svg {{ margin: 4px; border: 1px solid #eee; }}
</style></head><body><h1>onnxruntime vs PyTensor: speed matrix</h1>
<p>{html.escape(json.dumps(meta, default=str))}</p>
<p>How to read: a ratio below 1 means onnxruntime's steady-state call is faster (green), above 1 slower
(red). Times are medians over repeats of many calls, measured one backend after the other in one run;
one-off costs (export + session creation, PyTensor compilation) are in speed.csv, column one_off_s.
"py" is PyTensor's Python linker without rewrites, "c" and "numba" its compiled modes.</p>
{''.join(sections)}<h2>Time vs size (log-log)</h2>{''.join(plots)}
<h2>All measurements</h2>{table.style.format(precision=3, na_rep="").hide(axis="index").to_html()}
</body></html>"""
    atomic_write_text(out_dir / "speed.html", page)


def _ratio_colour(value) -> str:
    if not isinstance(value, float) or not math.isfinite(value):
        return "color: #999"
    if value < 1:
        return "background-color: #c8e6c9"
    return "background-color: #ffcdd2" if value > 1.5 else "background-color: #fff3c4"


def rows_from_pytest_benchmark(path: Path) -> list[dict]:
    """Turn ``pytest tests/bench --benchmark-json=FILE`` output into speed-matrix rows."""
    data = json.loads(Path(path).read_text())
    rows = []
    for bench in data.get("benchmarks", []):
        info = bench.get("extra_info", {})
        if "backend" not in info:
            continue
        stats = bench["stats"]
        rows.append({"section": info.get("section", "ops"), "op": info.get("op", bench.get("group")),
                     "dtype": info["dtype"], "size": int(info["size"]), "backend": info["backend"],
                     "median_s": stats["median"], "iqr_s": stats["iqr"], "one_off_s": math.nan, "note": "",
                     "bytes_moved": info.get("bytes_moved", math.nan),
                     "bandwidth_bound_s": info.get("bandwidth_bound_s", math.nan)})
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
    from harness.engine import cell_strategy, compile_signature, run_cell, signature_of
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


# ----------------------------------------------------------------------------------------------
# CLI entry
# ----------------------------------------------------------------------------------------------

def cmd_bench(args, usage_error) -> int:
    import sys

    from harness.cli import _select, _split
    from harness.runner import load_plugins

    load_plugins(args.plugin)
    from harness.registry import ONNX_OPERATIONS

    out = Path(args.out)
    if args.from_pytest_benchmark:
        try:
            rows = rows_from_pytest_benchmark(Path(args.from_pytest_benchmark))
        except (OSError, ValueError) as exc:
            raise usage_error(str(exc)) from None
        write_speed_reports(out, rows, {"source": args.from_pytest_benchmark, **ort_thread_settings()})
        print(f"wrote {out / 'speed.csv'} and {out / 'speed.html'} from {args.from_pytest_benchmark}")
        return 0
    ops = _select("op", _split(args.ops), list(ONNX_OPERATIONS)) if args.ops else list(TIER1_BENCH_OPS)
    dtypes = _split(args.dtypes) or ["float32", "float64"]
    try:
        sizes = [int(s) for s in _split(args.sizes)]
    except ValueError:
        raise usage_error(f"--sizes takes integers separated by commas, got {args.sizes!r}") from None
    if not sizes or min(sizes) < 1:
        raise usage_error(f"--sizes must be positive, got {args.sizes!r}")
    if args.repeat < 3:
        raise usage_error(f"--repeat must be >= 3 for a median and IQR, got {args.repeat}")
    pairs = [(ONNX_OPERATIONS[o], d) for o in ops for d in dtypes if d in ONNX_OPERATIONS[o].dtypes]
    if not pairs:
        raise usage_error("no selected op is defined for the selected dtypes")
    tty = sys.stderr.isatty()
    done = [0]

    def progress(label):
        done[0] += 1
        if tty:
            sys.stderr.write(f"\r{done[0]}/{len(pairs) * len(sizes)} {label}\x1b[K")
            sys.stderr.flush()

    rows = run_speed_matrix(pairs, sizes, repeat=args.repeat, progress=progress)
    if not args.no_graphs:
        from harness.graphs import run_graph_benchmarks

        rows += run_graph_benchmarks(repeat=args.repeat)
    if tty:
        sys.stderr.write("\n")
    write_speed_reports(out, rows, ort_thread_settings())
    print(f"wrote {out / 'speed.csv'} and {out / 'speed.html'}")
    return 0
