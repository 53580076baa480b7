"""The ``bench`` subcommand (`harness.cli` parses the arguments and calls `bench_command`).

To extend: a new option is parsed in `harness.cli` and checked here before any timing starts.
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness.usage import (
    UsageError,
    check_out_dir,
    load_plugins_or_exit,
    select,
    split_list,
)


def bench_command(args) -> int:
    from backend.dtypes import ALL_DTYPES
    from harness.bench.runner import (
        DEFAULT_BENCH_OPS,
        rows_from_pytest_benchmark,
        run_speed_matrix,
    )
    from harness.bench.timing import ort_thread_settings
    from harness.registry import ONNX_OPERATIONS
    from reports.speed import write_speed_reports

    load_plugins_or_exit(args.plugin, check=True)
    out = check_out_dir(Path(args.out))
    if args.from_pytest_benchmark:
        try:
            rows = rows_from_pytest_benchmark(Path(args.from_pytest_benchmark))
        except (OSError, ValueError) as exc:
            raise UsageError(str(exc)) from None
        write_speed_reports(out, rows, {"source": args.from_pytest_benchmark, **ort_thread_settings()})
        print(f"wrote {out / 'speed.csv'} and {out / 'speed.html'} from {args.from_pytest_benchmark}")
        return 0
    ops = select("op", split_list(args.ops), list(ONNX_OPERATIONS)) if args.ops else list(DEFAULT_BENCH_OPS)
    dtypes = select("dtype", split_list(args.dtypes), list(ALL_DTYPES)) if args.dtypes else ["float32", "float64"]
    try:
        sizes = [int(s) for s in split_list(args.sizes)]
    except ValueError:
        raise UsageError(f"--sizes takes integers separated by commas, got {args.sizes!r}") from None
    if not sizes or min(sizes) < 1:
        raise UsageError(f"--sizes must be positive, got {args.sizes!r}")
    if args.repeat < 3:
        raise UsageError(f"--repeat must be >= 3 for a median and IQR, got {args.repeat}")
    graph_names = None
    if args.graphs:
        from harness.bench.graphs import GRAPHS

        graph_names = [g.strip() for g in args.graphs.split(",") if g.strip()]
        unknown = [g for g in graph_names if g not in GRAPHS]
        if unknown:
            raise UsageError(f"unknown graphs {unknown}; choose from {sorted(GRAPHS)}")
    meta = ort_thread_settings()
    model_names = None
    time_models = not args.no_models
    if time_models:
        from importlib.util import find_spec

        model_rows = sorted(name for name in ONNX_OPERATIONS if name.startswith("model:"))
        if find_spec("pymc") is None:
            if args.models:
                raise UsageError("--models needs PyMC: pip install -e '.[pymc]'")
            meta["models"] = "PyMC is not installed: no model section (pip install -e '.[pymc]')"
            print(meta["models"], file=sys.stderr)
            time_models = False
        elif args.models:
            model_names = [m.strip() for m in args.models.split(",") if m.strip()]
            unknown = [m for m in model_names if m not in model_rows]
            if unknown:
                raise UsageError(f"unknown models {unknown}; choose from {model_rows}")
    pairs = [(ONNX_OPERATIONS[o], d) for o in ops for d in dtypes if d in ONNX_OPERATIONS[o].dtypes]
    if not pairs and not args.no_ops:
        raise UsageError("no selected op is defined for the selected dtypes")
    if args.no_ops and args.no_graphs and not time_models:
        raise UsageError("--no-ops and --no-graphs leave nothing to time without the PyMC model section")
    tty = sys.stderr.isatty()
    done = [0]

    def progress(label):
        done[0] += 1
        if tty:
            sys.stderr.write(f"\r{done[0]}/{len(pairs) * len(sizes)} {label}\x1b[K")
            sys.stderr.flush()

    level = args.ort_optimization
    meta["onnxruntime_optimization_level"] = level
    rows = [] if args.no_ops else run_speed_matrix(pairs, sizes, repeat=args.repeat, progress=progress,
                                                   optimization_level=level)
    if not args.no_graphs:
        from harness.bench.graphs import run_graph_benchmarks

        rows += run_graph_benchmarks(repeat=args.repeat, names=graph_names, optimization_level=level)
    if time_models:
        from harness.bench.graphs import run_model_benchmarks

        rows += run_model_benchmarks(repeat=args.repeat, names=model_names, optimization_level=level)

    if tty:
        sys.stderr.write("\n")
    write_speed_reports(out, rows, meta)
    print(f"wrote {out / 'speed.csv'} and {out / 'speed.html'}")
    return 0


# ----------------------------------------------------------------------------------------------
