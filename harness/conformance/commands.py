"""The conformance matrix's subcommands: ``run``, ``list``, ``check``, ``report``, ``diff`` and ``merge``
(`harness.cli` parses the arguments and calls these). Each checks its input first (`UsageError`, exit
2) and returns the exit status.

To add a subcommand of the matrix: a ``<name>_command(args)`` here and its parser in `harness.cli`.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from harness.usage import (
    UsageError,
    check_history_file,
    check_out_dir,
    check_output_file,
    exclusive,
    load_plugins_or_exit,
    parse_opsets,
    parse_shard,
    positive_seconds,
    select,
    split_list,
)


def run_command(args) -> int:
    from backend.dtypes import ALL_DTYPES, MIXED_DTYPES
    from common.status import FAILING
    from harness.conformance.promotion import cell_dtypes
    from harness.conformance.rundir import (
        cell_fingerprints,
        history_path,
        remove_run_files,
        reusable_records,
        run_settings,
        write_manifest,
    )
    from harness.conformance.runner import (
        CellTask,
        Progress,
        append_history,
        append_result,
        read_history,
        read_results,
        run_pool,
    )
    from harness.registry import ABSENT_ENTRIES, ONNX_OPERATIONS
    from reports.diff import diff_records, regressions, write_diff
    from reports.matrix import environment, summary_line, write_reports
    from strategies.profiles import PROFILE_NAMES

    plugins = tuple(load_plugins_or_exit(args.plugin, check=True))

    if args.profile not in PROFILE_NAMES:
        raise UsageError(f"unknown profile {args.profile!r}; valid profiles: {', '.join(PROFILE_NAMES)}")
    for op in split_list(args.ops) or ():
        if op in ABSENT_ENTRIES:
            raise UsageError(f"op {op} is not registered with the installed PyTensor: {ABSENT_ENTRIES[op]}")
    ops = select("op", split_list(args.ops), list(ONNX_OPERATIONS))
    dtypes = select("dtype", split_list(args.dtypes), [*ALL_DTYPES, MIXED_DTYPES])
    opsets = parse_opsets(args.opset)
    shard = parse_shard(args.shard)
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs must be >= 1, got {args.jobs}")
    positive_seconds("--timeout", args.timeout)
    if args.max_examples is not None and args.max_examples < 1:
        raise UsageError(f"--max-examples must be >= 1, got {args.max_examples}")
    baseline = None
    if args.baseline is not None:
        baseline = read_results(Path(args.baseline))
        if not baseline:
            raise UsageError(f"--baseline {args.baseline} holds no results.jsonl from an earlier run")

    selected = [CellTask(op, dtype, opset, args.profile, args.seed, args.max_examples, args.out, plugins)
                for op in ops for dtype in cell_dtypes(ONNX_OPERATIONS[op]) if dtype in dtypes for opset in opsets]
    tasks = selected[shard[0]::shard[1]] if shard is not None else selected
    if not selected:
        raise UsageError("the selection holds no cell: no selected op is defined for the selected dtypes")
    if not tasks:
        raise UsageError(f"shard {args.shard} holds none of the {len(selected)} selected cells; use fewer shards")
    out = check_out_dir(Path(args.out))
    history = check_history_file(history_path(out, args.history))
    junit = check_output_file("--junit-xml", args.junit_xml)

    with exclusive(out, "run"):
        if args.fresh:  # the run's own files only; the history is the record of earlier runs
            remove_run_files(out)
        settings = run_settings(profile=args.profile, max_examples=args.max_examples, seed=args.seed,
                                plugins=plugins)
        fingerprints = cell_fingerprints(tasks, settings)
        write_manifest(out, settings, shard, [t.key for t in tasks])
        reused = reusable_records(out, fingerprints)
        todo = [t for t in tasks if t.key not in reused]
        if reused:
            print(f"resuming: {len(reused)} of {len(tasks)} cells reused from {out / 'results.jsonl'} (made with "
                  f"the same settings and entries); {len(todo)} to compute (--fresh recomputes all)", file=sys.stderr)

        progress = Progress(len(todo))
        computed = []

        def on_result(record):
            record["fingerprint"] = fingerprints[(record["op"], record["dtype"], record["opset"])]
            append_result(out, record)
            computed.append(record)
            progress(record)

        jobs = args.jobs or os.cpu_count() or 1
        if todo:
            try:
                run_pool(todo, jobs=jobs, timeout=args.timeout, plugins=plugins, on_result=on_result)
            finally:
                progress.close()

        records = [*reused.values(), *computed]
        diff = None
        if baseline is not None:
            diff = diff_records(baseline, records)
            write_diff(out, diff)
        if todo:  # a run that only reused results is not a new point in the history
            append_history(history, records, environment(opsets), computed=len(todo))
        frame = write_reports(out, records, diff, history=read_history(history), absent_entries=ABSENT_ENTRIES)
    print(summary_line(frame, out))
    failed = frame["status"].isin(list(FAILING)).any()
    if diff is not None and regressions(diff):
        print(f"{regressions(diff)} regressions against {args.baseline}: see {out / 'diff.csv'}")
        failed = True
    report_to_ci(frame, junit, regressions(diff) if diff is not None else 0)
    return 1 if failed else 0


def report_to_ci(frame, junit, n_regressions: int) -> None:
    """The JUnit file (when asked for) and, under GitHub Actions, the step summary and annotations."""
    from common.status import FAILING
    from reports.ci import cell_cases, github_outputs, write_junit
    from reports.matrix import status_counts

    if junit is not None:
        write_junit(junit, "pytensor-onnx-conformance", cell_cases(frame))
    failing = [(f"{row.op}[{row.dtype}] opset{row.opset}", f"{row.status}: {row.reason or ''}")
               for row in frame.itertuples(index=False) if str(row.status) in FAILING]
    counts = {str(status): int(n) for status, n in status_counts(frame).items() if n}
    if n_regressions:
        counts["regressions against the baseline"] = n_regressions
    github_outputs(f"Conformance matrix: {len(frame)} cells", counts, failing)


# ----------------------------------------------------------------------------------------------
# list / report / diff
# ----------------------------------------------------------------------------------------------

def list_ops_command(args) -> int:
    from backend.compat import PYTENSOR_VERSION
    from harness.conformance.promotion import cell_dtypes
    from harness.registry import ABSENT_ENTRIES, ONNX_OPERATIONS

    load_plugins_or_exit(args.plugin)

    for spec in ONNX_OPERATIONS.values():
        declared = f"  xfail: {len(spec.xfails)}" if spec.xfails else ""
        print(f"{spec.name}  arity={spec.arity}  dtypes={','.join(cell_dtypes(spec))}{declared}")
    for name, why in ABSENT_ENTRIES.items():
        print(f"{name}  absent with pytensor {PYTENSOR_VERSION[0]}.{PYTENSOR_VERSION[1]}: {why}")
    return 0


def check_command(args) -> int:
    from harness.conformance.promotion import cell_dtypes
    from harness.registry import ONNX_OPERATIONS, RegistryError
    from harness.registry.completeness import check_registry

    load_plugins_or_exit(args.plugin)
    try:
        check_registry()
    except RegistryError as exc:
        print(f"registry check failed: {exc}", file=sys.stderr)
        return 1
    cells = sum(len(cell_dtypes(spec)) for spec in ONNX_OPERATIONS.values())
    print(f"registry check passed: {len(ONNX_OPERATIONS)} entries, {cells} cells; every entry's ops have a "
          "converter and every converter is exercised")
    return 0


def read_diff_csv(path: Path):
    """A run's ``diff.csv`` for its report; None (with a warning) when it is not one `diff` wrote."""
    import pandas as pd

    from common.files import warn
    from reports.diff import DIFF_COLUMNS

    if not path.exists():
        return None
    try:
        diff = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        warn(f"{path} cannot be read ({exc}); the report leaves the changes out")
        return None
    if list(diff.columns) != DIFF_COLUMNS:
        warn(f"{path} is not a diff written by `harness diff` (columns {list(diff.columns)[:8]}); the report "
             "leaves the changes out")
        return None
    return diff


def report_command(args) -> int:
    from harness.conformance.runner import HISTORY_FILE, read_history, read_results
    from harness.registry import ABSENT_ENTRIES
    from reports.matrix import summary_line, write_reports

    out = Path(args.dir)
    if not out.is_dir():
        raise UsageError(f"{out} is not a directory; give the --out directory of `harness run`")
    records = read_results(out)
    if not records:
        raise UsageError(f"{out} holds no results.jsonl; run `python -m harness run --out {out}` first")
    check_out_dir(out, "DIR")
    with exclusive(out, "report"):
        frame = write_reports(out, records, read_diff_csv(out / "diff.csv"), history=read_history(out / HISTORY_FILE),
                              absent_entries=ABSENT_ENTRIES)
    print(summary_line(frame, out))
    return 0


def diff_command(args) -> int:
    from harness.conformance.runner import HISTORY_FILE, read_history, read_results
    from harness.registry import ABSENT_ENTRIES
    from reports.diff import diff_records, regressions, write_diff
    from reports.matrix import write_reports

    old, new = read_results(Path(args.old)), read_results(Path(args.new))
    for path, records in ((args.old, old), (args.new, new)):
        if not records:
            raise UsageError(f"{path} holds no results.jsonl from a run")
    out = check_out_dir(Path(args.new), "NEW")
    diff = diff_records(old, new)
    with exclusive(out, "diff"):
        write_diff(out, diff)
        write_reports(out, new, diff, history=read_history(out / HISTORY_FILE), absent_entries=ABSENT_ENTRIES)
    counts = diff["change"].value_counts().to_dict()
    print("diff: " + ", ".join(f"{n} {c}" for c, n in sorted(counts.items())) + f". Written to {out / 'diff.csv'}")
    return 1 if regressions(diff) else 0


def merge_command(args) -> int:
    from common.status import FAILING
    from harness.conformance.rundir import merge_runs, write_manifest
    from harness.conformance.runner import write_results
    from reports.matrix import summary_line, write_reports

    directories = [Path(d) for d in args.dirs]
    for directory in directories:
        if not (directory / "results.jsonl").is_file():
            raise UsageError(f"{directory} holds no results.jsonl; give the --out directories of `harness run` shards")
    out = Path(args.out)
    if out.resolve() in {d.resolve() for d in directories}:
        raise UsageError(f"--out {out} is one of the inputs; merge into a new directory")
    out = check_out_dir(out)
    merged = merge_runs(directories)
    with exclusive(out, "merge"):
        for directory in directories:  # reproducers keep their relative paths (records point at them)
            if (directory / "reproducers").is_dir():
                shutil.copytree(directory / "reproducers", out / "reproducers", dirs_exist_ok=True)
        write_results(out, merged.records)
        if merged.settings is not None:
            write_manifest(out, merged.settings, None, merged.cells)
        frame = write_reports(out, merged.records)
    if merged.duplicates:
        print(f"{len(merged.duplicates)} cells appear in more than one input with the same status "
              f"(first: {merged.duplicates[0]}); kept once", file=sys.stderr)
    for key, found in merged.conflicts:
        print(f"conflict: {key} is " + ", ".join(f"{status} in {d}" for d, status in found) +
              " (the first is kept)", file=sys.stderr)
    for problem in merged.problems:
        print(("warning: " if args.partial else "error: ") + problem, file=sys.stderr)
    if merged.problems and not args.partial:
        print("the inputs are not one complete run: merge fails (--partial merges them anyway)", file=sys.stderr)
    print(summary_line(frame, out))
    failed = (frame["status"].isin(list(FAILING)).any() or bool(merged.conflicts)
              or (bool(merged.problems) and not args.partial))
    return 1 if failed else 0
