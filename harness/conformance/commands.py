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
    check_out_dir,
    load_plugins_or_exit,
    parse_opsets,
    parse_shard,
    select,
    split_list,
)


def run_command(args) -> int:
    from backend.dtypes import ALL_DTYPES, MIXED_DTYPES
    from common.status import FAILING
    from harness.conformance.promotion import cell_dtypes
    from harness.conformance.runner import (
        HISTORY_FILE,
        CellTask,
        append_history,
        append_result,
        progress_printer,
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
    if args.timeout <= 0:
        raise UsageError(f"--timeout must be > 0 seconds, got {args.timeout}")
    if args.max_examples is not None and args.max_examples < 1:
        raise UsageError(f"--max-examples must be >= 1, got {args.max_examples}")
    baseline = None
    if args.baseline is not None:
        baseline = read_results(Path(args.baseline))
        if not baseline:
            raise UsageError(f"--baseline {args.baseline} holds no results.jsonl from an earlier run")

    out = check_out_dir(Path(args.out))
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


def report_command(args) -> int:
    from harness.conformance.runner import HISTORY_FILE, read_history, read_results
    from harness.registry import ABSENT_ENTRIES
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


def diff_command(args) -> int:
    from harness.conformance.runner import read_results
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


def merge_command(args) -> int:
    from common.status import FAILING
    from harness.conformance.runner import merge_results, write_results
    from reports.matrix import summary_line, write_reports

    directories = [Path(d) for d in args.dirs]
    for directory in directories:
        if not (directory / "results.jsonl").exists():
            raise UsageError(f"{directory} holds no results.jsonl; give the --out directories of `harness run` shards")
    out = check_out_dir(Path(args.out))
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
