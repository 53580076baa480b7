"""The ``fuzz`` subcommand (`harness.cli` parses the arguments and calls `fuzz_command`).

To extend: a new option is parsed in `harness.cli` and checked here before the search starts.
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
    select,
    split_list,
)


def fuzz_command(args) -> int:
    from concurrent.futures.process import BrokenProcessPool

    from backend.dtypes import ALL_DTYPES
    from harness.fuzz.journal import (
        JOURNAL_DIR,
        fuzz_worker,
        journal_totals,
        new_session_id,
    )
    from harness.fuzz.programs import DEFAULT_DTYPES, fuzzable_ops
    from reports.fuzz import write_fuzz_reports

    plugins = tuple(load_plugins_or_exit(args.plugin, check=True))
    if args.budget <= 0:
        raise UsageError(f"--budget must be > 0 seconds, got {args.budget}")
    if args.max_ops < 1:
        raise UsageError(f"--max-ops must be >= 1, got {args.max_ops}")
    if args.jobs < 1:
        raise UsageError(f"--jobs must be >= 1, got {args.jobs}")
    try:
        ops = fuzzable_ops(split_list(args.ops))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    dtypes = tuple(select("dtype", split_list(args.dtypes), list(ALL_DTYPES))) if args.dtypes else DEFAULT_DTYPES
    out = check_out_dir(Path(args.out))
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
