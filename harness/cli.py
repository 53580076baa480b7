"""Command line: ``python -m harness`` (also installed as ``onnx-conformance``).

Subcommands: ``run`` (the conformance matrix), ``list`` (registered ops), ``check`` (every entry's
ops have converters and every converter is exercised), ``report DIR`` (re-render a run's
HTML/CSV), ``diff OLD NEW``, ``merge DIR... --out DIR`` (the shards of a run as one), ``fuzz``
(random graphs of registry ops), ``bench`` (speed matrix).
Exit status: 0 when every cell is pass, xfail or unsupported; 1 when any cell failed (or a diff shows
a regression); 2 for bad usage.

To add a subcommand: a ``_cmd_<name>(args)`` function and a parser in `build_parser`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

DEFAULT_OUT = "conformance-report"


class UsageError(Exception):
    """Bad command-line input; the message says what is valid. Exit status 2."""


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def _select(kind: str, requested: list[str] | None, valid: list[str]) -> list[str]:
    if requested is None:
        return list(valid)
    unknown = [r for r in requested if r not in valid]
    if unknown:
        raise UsageError(f"unknown {kind} {', '.join(unknown)}; valid {kind}s: {', '.join(valid)}")
    return requested


def _parse_shard(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        k, n = (int(p) for p in value.split("/"))
    except ValueError:
        raise UsageError(f"--shard must look like K/N (e.g. 0/4), got {value!r}") from None
    if not 0 <= k < n:
        raise UsageError(f"--shard K/N numbers shards from 0: it needs 0 <= K < N, got {value!r}")
    return k, n


def _opsets(value: str | None) -> list[int]:
    """``--opset``: integers and ``max`` (the newest the installed onnx and onnxruntime both accept)."""
    from backend import ONNX_OPSET_VERSION
    from backend.basic import check_opset_version, max_supported_opset

    if value is None:
        return [ONNX_OPSET_VERSION]
    try:
        opsets = [max_supported_opset() if v == "max" else int(v) for v in _split(value)]
    except ValueError:
        raise UsageError(f"--opset takes integers or `max` separated by commas, got {value!r}") from None
    for opset in opsets:
        try:
            check_opset_version(opset)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    return sorted(set(opsets))


def _check_out_dir(out: Path) -> Path:
    packages = {Path(__file__).resolve().parent.parent / p for p in ("backend", "harness", "strategies", "reports")}
    resolved = out.resolve()
    if any(resolved == p or p in resolved.parents for p in packages):
        raise UsageError(f"--out {out} is inside the project's packages; choose a directory outside them")
    return out


# ----------------------------------------------------------------------------------------------
# run
# ----------------------------------------------------------------------------------------------

def _load_plugins(names, *, check=False) -> list[str]:
    from harness.plugins import load_plugins
    from harness.registry import RegistryError

    try:
        return load_plugins(names, check=check)
    except (ImportError, RegistryError) as exc:
        raise UsageError(f"plugin: {exc}") from None


def _cmd_run(args) -> int:
    from backend.dtypes import ALL_DTYPES, MIXED_DTYPES
    from common.status import FAILING
    from harness.fuzz import cell_dtypes
    from harness.registry import ABSENT_ENTRIES, ONNX_OPERATIONS
    from harness.runner import (
        HISTORY_FILE,
        CellTask,
        append_history,
        append_result,
        progress_printer,
        read_history,
        read_results,
        run_pool,
    )
    from reports.diff import diff_records, regressions, write_diff
    from reports.matrix import environment, summary_line, write_reports
    from strategies.profiles import PROFILE_NAMES

    plugins = tuple(_load_plugins(args.plugin, check=True))

    if args.profile not in PROFILE_NAMES:
        raise UsageError(f"unknown profile {args.profile!r}; valid profiles: {', '.join(PROFILE_NAMES)}")
    for op in _split(args.ops) or ():
        if op in ABSENT_ENTRIES:
            raise UsageError(f"op {op} is not registered with the installed PyTensor: {ABSENT_ENTRIES[op]}")
    ops = _select("op", _split(args.ops), list(ONNX_OPERATIONS))
    dtypes = _select("dtype", _split(args.dtypes), [*ALL_DTYPES, MIXED_DTYPES])
    opsets = _opsets(args.opset)
    shard = _parse_shard(args.shard)
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs must be >= 1, got {args.jobs}")
    if args.timeout <= 0:
        raise UsageError(f"--timeout must be > 0 seconds, got {args.timeout}")
    if args.max_examples is not None and args.max_examples < 1:
        raise UsageError(f"--max-examples must be >= 1, got {args.max_examples}")
    baseline = None
    if args.baseline is not None:
        baseline = read_results(Path(args.baseline))
        if not baseline:
            raise UsageError(f"--baseline {args.baseline} holds no results.jsonl from an earlier run")

    out = _check_out_dir(Path(args.out))
    kept_history = None
    if args.fresh and out.exists():
        if (out / HISTORY_FILE).exists():  # --fresh discards results, not the record of earlier runs
            kept_history = (out / HISTORY_FILE).read_bytes()
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    if kept_history is not None:
        (out / HISTORY_FILE).write_bytes(kept_history)

    tasks = [CellTask(op, dtype, opset, args.profile, args.seed, args.max_examples, str(out), plugins)
             for op in ops for dtype in cell_dtypes(ONNX_OPERATIONS[op]) if dtype in dtypes for opset in opsets]
    if shard is not None:
        k, n = shard
        tasks = tasks[k::n]
    if not tasks:
        raise UsageError("the selection holds no cell: no selected op is defined for the selected dtypes")
    done = {(r["op"], r["dtype"], r["opset"]) for r in read_results(out)}
    todo = [t for t in tasks if t.key not in done]
    if len(todo) < len(tasks):
        print(f"resuming: {len(tasks) - len(todo)} of {len(tasks)} cells already in {out / 'results.jsonl'}",
              file=sys.stderr)

    progress = progress_printer(len(todo))

    def on_result(record):
        append_result(out, record)
        progress(record)

    jobs = args.jobs or os.cpu_count() or 1
    if todo:
        run_pool(todo, jobs=jobs, timeout=args.timeout, plugins=plugins, on_result=on_result)

    wanted = {t.key for t in tasks}
    records = [r for r in read_results(out) if (r["op"], r["dtype"], r["opset"]) in wanted]
    diff = None
    if baseline is not None:
        diff = diff_records(baseline, records)
        write_diff(out, diff)
    history_path = Path(args.history) if args.history else out / HISTORY_FILE
    append_history(history_path, records, environment(opsets))
    frame = write_reports(out, records, diff, history=read_history(history_path), absent_entries=ABSENT_ENTRIES)
    print(summary_line(frame, out))
    failed = frame["status"].isin(list(FAILING)).any()
    if diff is not None and regressions(diff):
        print(f"{regressions(diff)} regressions against {args.baseline}: see {out / 'diff.csv'}")
        failed = True
    return 1 if failed else 0


# ----------------------------------------------------------------------------------------------
# list / report / diff
# ----------------------------------------------------------------------------------------------

def _cmd_list(args) -> int:
    from backend.compat import PYTENSOR_VERSION
    from harness.fuzz import cell_dtypes
    from harness.registry import ABSENT_ENTRIES, ONNX_OPERATIONS

    _load_plugins(args.plugin)

    for spec in ONNX_OPERATIONS.values():
        declared = f"  xfail: {len(spec.xfails)}" if spec.xfails else ""
        print(f"{spec.name}  arity={spec.arity}  dtypes={','.join(cell_dtypes(spec))}{declared}")
    for name, why in ABSENT_ENTRIES.items():
        print(f"{name}  absent with pytensor {PYTENSOR_VERSION[0]}.{PYTENSOR_VERSION[1]}: {why}")
    return 0


def _cmd_check(args) -> int:
    from harness.fuzz import cell_dtypes
    from harness.registry import ONNX_OPERATIONS, RegistryError
    from harness.registry.completeness import check_registry

    _load_plugins(args.plugin)
    try:
        check_registry()
    except RegistryError as exc:
        print(f"registry check failed: {exc}", file=sys.stderr)
        return 1
    cells = sum(len(cell_dtypes(spec)) for spec in ONNX_OPERATIONS.values())
    print(f"registry check passed: {len(ONNX_OPERATIONS)} entries, {cells} cells; every entry's ops have a "
          "converter and every converter is exercised")
    return 0


def _cmd_report(args) -> int:
    from harness.registry import ABSENT_ENTRIES
    from harness.runner import HISTORY_FILE, read_history, read_results
    from reports.matrix import summary_line, write_reports

    out = Path(args.dir)
    records = read_results(out)
    if not records:
        raise UsageError(f"{out} holds no results.jsonl; run `python -m harness run --out {out}` first")
    diff = None
    if (out / "diff.csv").exists():
        import pandas as pd

        diff = pd.read_csv(out / "diff.csv")
    frame = write_reports(out, records, diff, history=read_history(out / HISTORY_FILE), absent_entries=ABSENT_ENTRIES)
    print(summary_line(frame, out))
    return 0


def _cmd_diff(args) -> int:
    from harness.runner import read_results
    from reports.diff import diff_records, regressions, write_diff
    from reports.matrix import write_reports

    old, new = read_results(Path(args.old)), read_results(Path(args.new))
    for path, records in ((args.old, old), (args.new, new)):
        if not records:
            raise UsageError(f"{path} holds no results.jsonl from a run")
    diff = diff_records(old, new)
    write_diff(Path(args.new), diff)
    write_reports(Path(args.new), new, diff)
    counts = diff["change"].value_counts().to_dict()
    print("diff: " + ", ".join(f"{n} {c}" for c, n in sorted(counts.items())) + f". Written to {Path(args.new) / 'diff.csv'}")
    return 1 if regressions(diff) else 0


def _cmd_merge(args) -> int:
    from common.status import FAILING
    from harness.runner import merge_results, write_results
    from reports.matrix import summary_line, write_reports

    directories = [Path(d) for d in args.dirs]
    for directory in directories:
        if not (directory / "results.jsonl").exists():
            raise UsageError(f"{directory} holds no results.jsonl; give the --out directories of `harness run` shards")
    out = _check_out_dir(Path(args.out))
    if out.resolve() in {d.resolve() for d in directories}:
        raise UsageError(f"--out {out} is one of the inputs; merge into a new directory")
    merged = merge_results(directories)
    out.mkdir(parents=True, exist_ok=True)
    for directory in directories:  # reproducers keep their relative paths (records point at them)
        if (directory / "reproducers").is_dir():
            shutil.copytree(directory / "reproducers", out / "reproducers", dirs_exist_ok=True)
    write_results(out, merged.records)
    frame = write_reports(out, merged.records)
    if merged.duplicates:
        print(f"{len(merged.duplicates)} cells appear in more than one input with the same status "
              f"(first: {merged.duplicates[0]}); kept once", file=sys.stderr)
    for key, found in merged.conflicts:
        print(f"conflict: {key} is " + ", ".join(f"{status} in {d}" for d, status in found) +
              " (the first is kept)", file=sys.stderr)
    print(summary_line(frame, out))
    failed = frame["status"].isin(list(FAILING)).any() or bool(merged.conflicts)
    return 1 if failed else 0


def _cmd_fuzz(args) -> int:
    from concurrent.futures.process import BrokenProcessPool

    from backend.dtypes import ALL_DTYPES
    from harness.fuzz import DEFAULT_DTYPES, fuzzable_ops
    from harness.fuzz_journal import (
        JOURNAL_DIR,
        fuzz_worker,
        journal_totals,
        new_session_id,
    )
    from reports.fuzz import write_fuzz_reports

    plugins = tuple(_load_plugins(args.plugin, check=True))
    if args.budget <= 0:
        raise UsageError(f"--budget must be > 0 seconds, got {args.budget}")
    if args.max_ops < 1:
        raise UsageError(f"--max-ops must be >= 1, got {args.max_ops}")
    if args.jobs < 1:
        raise UsageError(f"--jobs must be >= 1, got {args.jobs}")
    try:
        ops = fuzzable_ops(_split(args.ops))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    dtypes = tuple(_select("dtype", _split(args.dtypes), list(ALL_DTYPES))) if args.dtypes else DEFAULT_DTYPES
    out = _check_out_dir(Path(args.out))
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    if args.max_graphs is not None and args.max_graphs < 1:
        raise UsageError(f"--max-graphs must be >= 1, got {args.max_graphs}")
    if args.fresh:
        for name in (JOURNAL_DIR, "reproducers"):
            shutil.rmtree(out / name, ignore_errors=True)
    earlier = journal_totals(out)
    if earlier.sessions:
        print(f"resuming {out}: {earlier.counts['graphs']} graphs and {len(earlier.findings)} findings from "
              f"{earlier.sessions} earlier session(s) are kept (--fresh starts over)", file=sys.stderr)
    session = new_session_id()
    work = [(out, session, plugins, dict(budget=args.budget, seed=seed * 1000 + job, ops=ops, dtypes=dtypes,
                                         max_ops=args.max_ops, max_graphs=args.max_graphs))
            for job in range(args.jobs)]
    crashed = None
    if args.jobs == 1:
        fuzz_worker(work[0])
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        try:
            with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
                list(pool.map(fuzz_worker, work))
        except BrokenProcessPool as exc:  # a worker died (a crash in onnxruntime or PyTensor)
            crashed = f"a fuzz worker died ({exc}); the rounds journaled before it are in the report"
    totals = journal_totals(out)
    rows = list(totals.findings)
    for declaration, count in sorted(totals.attributions.items()):
        rows.append(dict(kind="xfail", declaration=declaration, graphs=count))
    graphs = totals.counts["graphs"]
    rate = graphs / totals.seconds if totals.seconds else 0.0
    judged = sum(totals.phase_seconds.values()) or 1.0
    overview = {"sessions": totals.sessions, "seeds": ", ".join(map(str, totals.seeds)),
                "budget (s) of the last session": args.budget, "jobs": args.jobs, "ops": len(ops),
                "dtypes": ", ".join(dtypes), "graphs tried": graphs, "seconds": round(totals.seconds, 1),
                "graphs/s": round(rate, 2), "pass": totals.counts["passed"],
                "amplified rounding (no node diverges alone)": totals.counts["amplified"],
                "xfail (declared)": totals.counts["attributed"], "unsupported": totals.counts["unsupported"],
                "PyTensor cannot evaluate": totals.counts["invalid"], "findings": len(totals.findings)}
    if crashed:
        overview["crash"] = crashed
    overview.update({f"time share: {phase}": f"{100 * t / judged:.0f}%"
                     for phase, t in sorted(totals.phase_seconds.items())})
    overview.update({f"PyTensor rewrite that raised (skipped by PyTensor): {name}": f"{count} times"
                     for name, count in sorted(totals.rewrite_failures.items())})
    write_fuzz_reports(out, rows, overview)
    if crashed:
        print(crashed, file=sys.stderr)
    if totals.interrupted:
        print("interrupted: the report holds the graphs judged so far; run again to resume", file=sys.stderr)
    c = totals.counts
    print(f"{graphs} graphs in {totals.seconds:.0f} s ({rate:.1f}/s; {totals.sessions} session(s), this one "
          f"seed {seed} x {args.jobs} jobs): {c['passed']} pass, {c['amplified']} amplified rounding, "
          f"{c['attributed']} xfail, {c['unsupported']} unsupported, {c['invalid']} not evaluable by PyTensor, "
          f"{len(totals.findings)} findings. Report: {out / 'fuzz.html'}")
    return 1 if totals.findings or crashed else 0


def _cmd_bench(args) -> int:
    from backend.dtypes import ALL_DTYPES
    from harness.bench import (
        DEFAULT_BENCH_OPS,
        rows_from_pytest_benchmark,
        run_speed_matrix,
    )
    from harness.registry import ONNX_OPERATIONS
    from harness.timing import ort_thread_settings
    from reports.speed import write_speed_reports

    _load_plugins(args.plugin)
    out = Path(args.out)
    if args.from_pytest_benchmark:
        try:
            rows = rows_from_pytest_benchmark(Path(args.from_pytest_benchmark))
        except (OSError, ValueError) as exc:
            raise UsageError(str(exc)) from None
        write_speed_reports(out, rows, {"source": args.from_pytest_benchmark, **ort_thread_settings()})
        print(f"wrote {out / 'speed.csv'} and {out / 'speed.html'} from {args.from_pytest_benchmark}")
        return 0
    ops = _select("op", _split(args.ops), list(ONNX_OPERATIONS)) if args.ops else list(DEFAULT_BENCH_OPS)
    dtypes = _select("dtype", _split(args.dtypes), list(ALL_DTYPES)) if args.dtypes else ["float32", "float64"]
    try:
        sizes = [int(s) for s in _split(args.sizes)]
    except ValueError:
        raise UsageError(f"--sizes takes integers separated by commas, got {args.sizes!r}") from None
    if not sizes or min(sizes) < 1:
        raise UsageError(f"--sizes must be positive, got {args.sizes!r}")
    if args.repeat < 3:
        raise UsageError(f"--repeat must be >= 3 for a median and IQR, got {args.repeat}")
    graph_names = None
    if args.graphs:
        from harness.graphs import GRAPHS

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
    if not pairs:
        raise UsageError("no selected op is defined for the selected dtypes")
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

        rows += run_graph_benchmarks(repeat=args.repeat, names=graph_names)
    if time_models:
        from harness.graphs import run_model_benchmarks

        rows += run_model_benchmarks(repeat=args.repeat, names=model_names)
    if tty:
        sys.stderr.write("\n")
    write_speed_reports(out, rows, meta)
    print(f"wrote {out / 'speed.csv'} and {out / 'speed.html'}")
    return 0


# ----------------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m harness", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def plugin_option(p):
        p.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                       help="import MODULE first (it may register converters and registry entries)")

    run = sub.add_parser("run", help="run the conformance matrix and write the reports")
    run.add_argument("--profile", default="ci", help="Hypothesis profile: dev, ci or nightly (default ci)")
    run.add_argument("--ops", help="comma-separated op names (default: all; see `list`)")
    run.add_argument("--dtypes", help="comma-separated dtypes, and `mixed` for the type-promotion cells "
                     "(default: all)")
    run.add_argument("--out", default=DEFAULT_OUT, help=f"output directory (default ./{DEFAULT_OUT})")
    run.add_argument("--jobs", type=int, help="worker processes (default: CPU count)")
    run.add_argument("--seed", type=int, help="random seed (turns off the profile's derandomization)")
    run.add_argument("--max-examples", type=int, help="examples per cell (default: the profile's)")
    run.add_argument("--timeout", type=float, default=300.0, help="seconds per cell before it is killed (default 300)")
    run.add_argument("--baseline", help="an earlier run's directory: write diff.csv, fail on regressions")
    run.add_argument("--shard", help="K/N: run only slice K (0 <= K < N) of N interleaved slices of the cells")
    run.add_argument("--opset", help="opset(s), comma-separated; `max` is the newest the installed onnx and "
                                     "onnxruntime accept (default 18, the oldest supported)")
    run.add_argument("--fresh", action="store_true", help="discard earlier results in --out instead of resuming")
    run.add_argument("--history", help="history file this run appends to and the report's trend reads "
                                       "(default OUT/history.jsonl)")
    plugin_option(run)
    run.set_defaults(func=_cmd_run)

    lst = sub.add_parser("list", help="print the registered ops, one per line, name first")
    plugin_option(lst)
    lst.set_defaults(func=_cmd_list)

    check = sub.add_parser("check", help="check that every entry's ops have converters and every converter "
                                         "is exercised (exit 1 naming the entry or converter otherwise)")
    plugin_option(check)
    check.set_defaults(func=_cmd_check)

    report = sub.add_parser("report", help="re-render report.html and matrix.csv from DIR/results.jsonl")
    report.add_argument("dir")
    report.set_defaults(func=_cmd_report)

    diff = sub.add_parser("diff", help="compare two runs; writes NEW/diff.csv; exit 1 on regressions")
    diff.add_argument("old")
    diff.add_argument("new")
    diff.set_defaults(func=_cmd_diff)

    merge = sub.add_parser("merge", help="combine the output directories of `run --shard` into one report; exit "
                                         "1 on failing cells or cells whose shards disagree")
    merge.add_argument("dirs", nargs="+", metavar="DIR")
    merge.add_argument("--out", required=True, help="directory for the merged results.jsonl and reports")
    merge.set_defaults(func=_cmd_merge)

    fuzz = sub.add_parser("fuzz", help="random graphs of registry ops, exported and compared; shrunk findings "
                                       "with reproducers in --out; exit 1 on an undeclared finding")
    fuzz.add_argument("--budget", type=float, default=180.0, help="seconds to fuzz for (default 180)")
    fuzz.add_argument("--seed", type=int, help="random seed (default: a fresh one, printed)")
    fuzz.add_argument("--max-ops", type=int, default=8, help="nodes per graph at most (default 8)")
    fuzz.add_argument("--max-graphs", type=int, help="stop after this many graphs per job, within the budget "
                                                     "(the same seed then tries the same graphs on any machine)")
    fuzz.add_argument("--ops", help="comma-separated registry ops to compose (default: every fuzzable one)")
    fuzz.add_argument("--dtypes", help="comma-separated input dtypes (default: float32,float64,int8,int32,int64,"
                                       "uint8,bool)")
    fuzz.add_argument("--jobs", type=int, default=1, help="worker processes, each with its own seed (default 1)")
    fuzz.add_argument("--out", default="fuzz-report", help="output directory (default ./fuzz-report); a directory "
                      "holding an earlier search's journal is resumed")
    fuzz.add_argument("--fresh", action="store_true", help="discard the earlier search in --out instead of resuming")
    plugin_option(fuzz)
    fuzz.set_defaults(func=_cmd_fuzz)

    bench = sub.add_parser("bench", help="speed matrix: onnxruntime vs PyTensor backends")
    bench.add_argument("--ops", help="comma-separated op names (default: the arithmetic, rounding and basic math ops)")
    bench.add_argument("--dtypes", help="comma-separated dtypes (default float32,float64)")
    bench.add_argument("--sizes", default="1,1000,1000000", help="element counts (default 1,1000,1000000)")
    bench.add_argument("--out", default="speed-report", help="output directory (default ./speed-report)")
    bench.add_argument("--repeat", type=int, default=7, help="timed repeats per measurement (default 7)")
    bench.add_argument("--from-pytest-benchmark", metavar="FILE", help="build the report from a pytest-benchmark JSON")
    bench.add_argument("--no-graphs", action="store_true", help="skip the real-graph section")
    bench.add_argument("--graphs", help="comma-separated real graphs to time (default: all; names in harness/graphs.py)")
    bench.add_argument("--no-models", action="store_true", help="skip the PyMC model section")
    bench.add_argument("--models", help="comma-separated model rows to time, e.g. model:gaussian_process (default: "
                                        "all where PyMC is installed)")
    plugin_option(bench)
    bench.set_defaults(func=_cmd_bench)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage and 0 on --help
        return int(exc.code or 0)
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:
        if exc.name != "pytensor":  # a missing or unsupported PyTensor is the user's to fix; anything else is a bug
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished cells are kept in results.jsonl; run again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
