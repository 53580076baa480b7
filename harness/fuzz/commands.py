"""The ``fuzz`` subcommand (`harness.cli` parses the arguments and calls `fuzz_command`).

To extend: a new option is parsed in `harness.cli` and checked here before the search starts.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from common.records import FINDING_REPRODUCER_PREFIX
from harness.usage import (
    Terminated,
    UsageError,
    check_out_dir,
    check_output_file,
    exclusive,
    load_plugins_or_exit,
    positive_seconds,
    select,
    split_list,
)

FUZZ_FILES = ("fuzz.csv", "fuzz.html")
GRACE_SECONDS = 120.0  # past the budget, for the graph being judged and the round's journal line
STOP_SECONDS = 15.0  # for a worker told to stop (SIGINT) to journal its round before it is killed


def remove_fuzz_files(out: Path, journal_dir: str) -> None:
    """What ``fuzz --fresh`` discards: the journal, the fuzz report and the findings' reproducers;
    a conformance run's files in the same directory stay."""
    shutil.rmtree(out / journal_dir, ignore_errors=True)
    for name in FUZZ_FILES:
        if (out / name).is_file():
            (out / name).unlink()
    folder = out / "reproducers"
    if folder.is_dir():
        for path in folder.glob(f"{FINDING_REPRODUCER_PREFIX}*"):
            if path.is_file():
                path.unlink()


def run_jobs(work: list, budget: float, progress_seconds: float | None = None) -> list[str]:
    """Each job in a process of its own, at every ``--jobs`` (an abort in onnxruntime ends that job, not
    the command); returns what went wrong with jobs. A progress line goes to standard error every
    ``progress_seconds`` (`PROGRESS_SECONDS` by default). Interrupted (Ctrl-C, SIGTERM), the jobs are told
    to stop, get `STOP_SECONDS` to journal their round, and are killed after that."""
    import multiprocessing
    import signal
    import time

    from harness.conformance.runner import PROGRESS_SECONDS
    from harness.fuzz.journal import fuzz_worker, journal_totals, output_path

    ctx = multiprocessing.get_context("spawn")
    processes = [ctx.Process(target=fuzz_worker, args=(job,), daemon=True) for job in work]
    problems = []
    try:
        for process in processes:
            process.start()
        started = time.monotonic()
        deadline = started + budget + GRACE_SECONDS
        while any(p.is_alive() for p in processes) and time.monotonic() < deadline:
            every = PROGRESS_SECONDS if progress_seconds is None else progress_seconds
            next(p for p in processes if p.is_alive()).join(min(every, max(0.0, deadline - time.monotonic())))
            if any(p.is_alive() for p in processes) and time.monotonic() < deadline:
                totals = journal_totals(work[0][0])
                print(f"progress: {totals.counts['graphs']} graphs judged, {len(totals.findings)} findings, "
                      f"{time.monotonic() - started:.0f} s of {budget:.0f} s", file=sys.stderr, flush=True)
        late = [p for p in processes if p.is_alive()]
        if late:
            problems.append(f"{len(late)} fuzz job(s) still busy {GRACE_SECONDS:g} s past the budget (a hang?); "
                            "they were stopped")
    finally:
        alive = [p for p in processes if p.is_alive()]
        for process in alive:
            os.kill(process.pid, signal.SIGINT)
        stop_by = time.monotonic() + STOP_SECONDS
        for process in alive:
            process.join(max(0.0, stop_by - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(5)
    for job, process in zip(work, processes):
        if process.exitcode not in (0, None) and process.exitcode != -signal.SIGINT:
            problems.append(f"the fuzz job with seed {job[3]['seed']} died (exit code {process.exitcode}: a crash "
                            "in onnxruntime or PyTensor?); the rounds it journaled are in the report, its output "
                            f"in {output_path(job[0], job[3]['seed'])}")
    return problems


def list_fuzzable() -> int:
    """``fuzz --list``: every registry entry, the kind of program that composes it or why none does."""
    from harness.fuzz.programs import fuzz_ops, fuzzable_ops, not_fuzzable
    from harness.registry import ONNX_OPERATIONS

    elementwise, usable, excluded = set(fuzzable_ops()), set(fuzz_ops()), not_fuzzable()
    for name, spec in ONNX_OPERATIONS.items():
        if name in elementwise:
            how = "elementwise and mixed programs"
        elif name in usable:
            how = "mixed programs"
        else:
            how = f"not fuzzed: {excluded[name]}"
        print(f"{name}\t{spec.family}\t{how}")
    share = 100 * len(usable) / max(len(ONNX_OPERATIONS), 1)
    print(f"{len(usable)} of {len(ONNX_OPERATIONS)} registry entries fuzzable ({share:.0f}%), {len(elementwise)} of them "
          "in elementwise programs too", file=sys.stderr)
    return 0


def fuzz_command(args) -> int:
    from backend.dtypes import ALL_DTYPES
    from harness.fuzz.programs import DEFAULT_DTYPES, fuzz_ops

    plugins = tuple(load_plugins_or_exit(args.plugin, check=True))
    if args.list:
        return list_fuzzable()
    positive_seconds("--budget", args.budget)
    if args.max_ops < 1:
        raise UsageError(f"--max-ops must be >= 1, got {args.max_ops}")
    if args.jobs < 1:
        raise UsageError(f"--jobs must be >= 1, got {args.jobs}")
    try:
        ops = fuzz_ops(split_list(args.ops))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    dtypes = tuple(select("dtype", split_list(args.dtypes), list(ALL_DTYPES))) if args.dtypes else DEFAULT_DTYPES
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    if args.max_graphs is not None and args.max_graphs < 1:
        raise UsageError(f"--max-graphs must be >= 1, got {args.max_graphs}")
    out = check_out_dir(Path(args.out))
    junit = check_output_file("--junit-xml", args.junit_xml)
    with exclusive(out, "fuzz"):
        return _fuzz_into(out, args, plugins, ops, dtypes, seed, junit)


def _fuzz_into(out: Path, args, plugins, ops, dtypes, seed, junit) -> int:
    from harness.fuzz.journal import JOURNAL_DIR, journal_totals, new_session_id
    from harness.fuzz.search import GRAPH_SECONDS
    from reports.fuzz import write_fuzz_reports

    if args.fresh:
        remove_fuzz_files(out, JOURNAL_DIR)
    earlier = journal_totals(out)
    if earlier.sessions:
        print(f"resuming {out}: {earlier.counts['graphs']} graphs and {len(earlier.findings)} findings from "
              f"{earlier.sessions} earlier session(s) are kept (--fresh starts over)", file=sys.stderr)
    session = new_session_id()
    work = [(out, session, plugins, dict(budget=args.budget, seed=seed * 1000 + job, ops=ops, dtypes=dtypes,
                                         max_ops=args.max_ops, max_graphs=args.max_graphs))
            for job in range(args.jobs)]
    interrupted = None
    try:
        problems = run_jobs(work, args.budget)
    except (KeyboardInterrupt, Terminated) as exc:  # the jobs were stopped; the report holds what they journaled
        problems, interrupted = [], exc
    crashed = "; ".join(problems)
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
                "graphs/s": round(rate, 2),
                **{f"{kind} programs (judged per second)": f"{count} ({count / totals.kind_seconds[kind]:.2f}/s)"
                   for kind, count in sorted(totals.kind_graphs.items()) if totals.kind_seconds.get(kind)},
                "pass": totals.counts["passed"],
                "amplified rounding (no node diverges alone)": totals.counts["amplified"],
                "xfail (declared)": totals.counts["attributed"], "unsupported": totals.counts["unsupported"],
                "PyTensor cannot evaluate": totals.counts["invalid"],
                "valid programs (PyTensor evaluates them)": f"{100 * (1 - totals.counts['invalid'] / max(graphs, 1)):.1f}%",
                f"timeouts (judging a graph took longer than {GRAPH_SECONDS} s)": totals.counts["timeouts"],
                "findings": len(totals.findings)}
    if crashed:
        overview["crash"] = crashed
    overview.update({f"time share: {phase}": f"{100 * t / judged:.0f}%"
                     for phase, t in sorted(totals.phase_seconds.items())})
    overview.update({f"PyTensor rewrite that raised (skipped by PyTensor): {name}": f"{count} times"
                     for name, count in sorted(totals.rewrite_failures.items())})
    write_fuzz_reports(out, rows, overview)
    if crashed:
        print(crashed, file=sys.stderr)
    if totals.interrupted or interrupted is not None:
        print("interrupted: the report holds the graphs judged so far; run again to resume", file=sys.stderr)
    c = totals.counts
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(totals.kind_graphs.items()))
    print(f"{graphs} graphs in {totals.seconds:.0f} s ({kinds or 'none judged'}; {rate:.1f}/s; {totals.sessions} session(s), this one "
          f"seed {seed} x {args.jobs} jobs): {c['passed']} pass, {c['amplified']} amplified rounding, "
          f"{c['attributed']} xfail, {c['unsupported']} unsupported, {c['invalid']} not evaluable by PyTensor, "
          f"{c['timeouts']} timeouts, "
          f"{len(totals.findings)} findings. Report: {out / 'fuzz.html'}")
    _report_to_ci(junit, rows, totals, crashed)
    if interrupted is not None:
        raise interrupted
    return 1 if totals.findings or crashed else 0


def _report_to_ci(junit, rows: list[dict], totals, crashed: str) -> None:
    """The JUnit file (when asked for) and, under GitHub Actions, the step summary and annotations."""
    from reports.ci import finding_cases, github_outputs, write_junit

    if junit is not None:
        write_junit(junit, "pytensor-onnx-conformance fuzz", finding_cases(rows, totals.counts["graphs"]))
    failing = [(f"fuzz finding {row['key']} ({row['check']})", f"{row['detail']} (reproducer: {row['reproducer']})")
               for row in rows if row.get("kind") == "finding"]
    if crashed:
        failing.append(("fuzz job", crashed))
    counts = {name: totals.counts[name] for name in ("graphs", "passed", "attributed", "unsupported", "invalid",
                                                      "timeouts")}
    counts["findings"] = len(totals.findings)
    github_outputs(f"Composition fuzzing: {totals.counts['graphs']} graphs", counts, failing)
