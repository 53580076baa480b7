"""Command line: ``python -m harness`` (also installed as ``onnx-conformance``). This module only parses
the arguments and dispatches: each subcommand lives with its product (`harness.conformance.commands`:
run, list, check, report, diff, merge; `harness.fuzz.commands`: fuzz; `harness.bench.commands`: bench),
imported when it runs.

Subcommands: ``run`` (the conformance matrix), ``list`` (registered ops), ``check`` (every entry's
ops have converters and every converter is exercised), ``report DIR`` (re-render a run's
HTML/CSV), ``diff OLD NEW``, ``merge DIR... --out DIR`` (the shards of a run as one), ``fuzz``
(random graphs of registry ops), ``bench`` (speed matrix).
Exit status: 0 when every cell is pass, xfail or unsupported; 1 when any cell failed (or a diff shows
a regression); 2 for bad usage.

To add a subcommand: a ``<name>_command(args)`` in its product's ``commands`` module and a parser in
`build_parser` naming it.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from harness.usage import DEFAULT_OUT, USER_ERRORS, Terminated


def _command(module: str, name: str):
    """``module.name(args)``, imported when the subcommand runs (so ``--help`` loads nothing)."""
    def run(args):
        return getattr(importlib.import_module(module), name)(args)
    return run


def _program_name() -> str:
    """``onnx-conformance`` when run as the installed script, else ``python -m harness``."""
    script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return script if script == "onnx-conformance" else "python -m harness"


def _versions() -> str:
    """The package's version and its dependencies' (installed distributions, without importing them)."""
    from importlib.metadata import PackageNotFoundError, version

    names = ("pytensor-onnx-conformance", "pytensor", "onnx", "onnxruntime", "numpy", "scipy", "hypothesis",
             "pandas", "pymc")
    found = []
    for name in names:
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            if name != "pymc":  # the optional extra
                found.append(f"{name} (not installed)")
    return f"{found[0]} (Python {sys.version.split()[0]}; " + ", ".join(found[1:]) + ")"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=_program_name(), description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=_versions(),
                        help="print this package's version and its dependencies', then exit")
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
    run.add_argument("--junit-xml", metavar="FILE", help="also write the cells as JUnit XML (one testcase per cell) "
                                                          "for CI test reporters")
    run.add_argument("--shard", help="K/N: run only slice K (0 <= K < N) of N interleaved slices of the cells")
    run.add_argument("--opset", help="opset(s), comma-separated; `max` is the newest the installed onnx and "
                                     "onnxruntime accept (default 18, the oldest supported)")
    again = run.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="reuse the cells in --out that were made with the same "
                       "settings, registry entry and versions, computing the others (the default)")
    again.add_argument("--fresh", action="store_true", help="discard the results in --out and compute every cell")
    run.add_argument("--history", help="history file this run appends to and the report's trend reads "
                                       "(default OUT/history.jsonl)")
    plugin_option(run)
    run.set_defaults(func=_command("harness.conformance.commands", "run_command"))

    lst = sub.add_parser("list", help="print the registered ops, one per line, name first")
    plugin_option(lst)
    lst.set_defaults(func=_command("harness.conformance.commands", "list_ops_command"))

    check = sub.add_parser("check", help="check that every entry's ops have converters and every converter "
                                         "is exercised (exit 1 naming the entry or converter otherwise)")
    plugin_option(check)
    check.set_defaults(func=_command("harness.conformance.commands", "check_command"))

    report = sub.add_parser("report", help="re-render report.html and matrix.csv from DIR/results.jsonl")
    report.add_argument("dir", metavar="DIR", help="a run's output directory (the --out of `run`)")
    report.set_defaults(func=_command("harness.conformance.commands", "report_command"))

    diff = sub.add_parser("diff", help="compare two runs; writes NEW/diff.csv; exit 1 on regressions")
    diff.add_argument("old", metavar="OLD", help="the earlier run's output directory (the baseline)")
    diff.add_argument("new", metavar="NEW", help="the later run's output directory; diff.csv is written here")
    diff.set_defaults(func=_command("harness.conformance.commands", "diff_command"))

    merge = sub.add_parser("merge", help="combine the output directories of `run --shard` into one report; exit "
                                         "1 on failing cells or cells whose shards disagree")
    merge.add_argument("dirs", nargs="+", metavar="DIR", help="the output directories of the shards (`run --shard K/N --out DIR`)")
    merge.add_argument("--out", required=True, help="directory for the merged results.jsonl and reports")
    merge.add_argument("--partial", action="store_true", help="merge shards that are not one complete run (empty, "
                       "missing, or made with other settings) with a warning instead of failing")
    merge.set_defaults(func=_command("harness.conformance.commands", "merge_command"))

    fuzz = sub.add_parser("fuzz", help="random graphs of registry ops, exported and compared; shrunk findings "
                                       "with reproducers in --out; exit 1 on an undeclared finding")
    fuzz.add_argument("--budget", type=float, default=180.0, help="seconds to fuzz for (default 180)")
    fuzz.add_argument("--seed", type=int, help="random seed (default: a fresh one, printed)")
    fuzz.add_argument("--max-ops", type=int, default=8, help="nodes per graph at most (default 8)")
    fuzz.add_argument("--max-graphs", type=int, help="stop after this many graphs per job, within the budget "
                                                     "(the same seed then tries the same graphs on any machine)")
    fuzz.add_argument("--ops", help="comma-separated registry ops to compose (default: every fuzzable one; "
                                    "plain elementwise ops alone make elementwise programs only)")
    fuzz.add_argument("--list", action="store_true", help="print which registry ops programs compose and why the "
                                                         "others are not, then exit")
    fuzz.add_argument("--dtypes", help="comma-separated input dtypes (default: float32,float64,int8,int32,int64,"
                                       "uint8,bool)")
    fuzz.add_argument("--jobs", type=int, default=1, help="worker processes, each with its own seed (default 1)")
    fuzz.add_argument("--out", default="fuzz-report", help="output directory (default ./fuzz-report); a directory "
                      "holding an earlier search's journal is resumed")
    fuzz.add_argument("--fresh", action="store_true", help="discard the earlier search in --out instead of resuming")
    fuzz.add_argument("--junit-xml", metavar="FILE", help="also write the findings as JUnit XML for CI test reporters")
    plugin_option(fuzz)
    fuzz.set_defaults(func=_command("harness.fuzz.commands", "fuzz_command"))

    bench = sub.add_parser("bench", help="speed matrix: onnxruntime vs PyTensor backends")
    bench.add_argument("--ops", help="comma-separated op names (default: the arithmetic, rounding and basic math ops)")
    bench.add_argument("--dtypes", help="comma-separated dtypes (default float32,float64)")
    bench.add_argument("--sizes", default="1,1000,1000000", help="element counts (default 1,1000,1000000)")
    bench.add_argument("--out", default="speed-report", help="output directory (default ./speed-report)")
    bench.add_argument("--repeat", type=int, default=7, help="timed repeats per measurement (default 7)")
    bench.add_argument("--from-pytest-benchmark", metavar="FILE", help="build the report from a pytest-benchmark JSON")
    bench.add_argument("--no-ops", action="store_true", help="skip the single-op section (time only graphs and models)")
    bench.add_argument("--ort-optimization", default="all", choices=("all", "extended", "basic", "disabled"),
                       help="onnxruntime's graph optimization level for every onnxruntime row (default all)")
    bench.add_argument("--no-graphs", action="store_true", help="skip the real-graph section")
    bench.add_argument("--graphs", help="comma-separated real graphs to time (default: all; names in harness/bench/graphs.py)")
    bench.add_argument("--no-models", action="store_true", help="skip the PyMC model section")
    bench.add_argument("--models", help="comma-separated model rows to time, e.g. model:gaussian_process (default: "
                                        "all where PyMC is installed)")
    plugin_option(bench)
    bench.set_defaults(func=_command("harness.bench.commands", "bench_command"))
    return parser


def _terminate(signum, frame):
    raise Terminated()


def main(argv=None) -> int:
    import signal

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage and 0 on --help
        return int(exc.code or 0)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return args.func(args)
    except BrokenPipeError:  # the reader left (`list | head`): nothing more to say, and no traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush would raise again
        return 0
    except USER_ERRORS as exc:
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
    except Terminated:
        print("terminated: the workers were ended; finished cells are kept in results.jsonl", file=sys.stderr)
        return 143
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
