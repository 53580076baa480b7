"""The budgeted search of ``harness fuzz``: draws `programs`, judges each (`harness.fuzz.judge`),
shrinks findings, keeps one per graph signature with a reproducer, and journals rounds so that a
killed search loses at most its current round (`harness.fuzz.journal`).

To extend: another per-graph check belongs in `harness.fuzz.judge`; the search only counts verdicts.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from dataclasses import dataclass, field, replace

from harness.fuzz.judge import PHASE_SECONDS, Diverged, Verdict, judge
from harness.fuzz.programs import DEFAULT_DTYPES, Program, programs, pruned
from harness.source_constants import import_every_project_module

# ----------------------------------------------------------------------------------------------
# The budgeted search
# ----------------------------------------------------------------------------------------------

@dataclass
class Finding:
    program: Program
    verdict: Verdict


@dataclass
class FuzzSummary:
    graphs: int = 0
    passed: int = 0
    amplified: int = 0  # outputs differed, but no node diverges alone
    attributed: int = 0  # xfail: explained by a declaration
    unsupported: int = 0
    invalid: int = 0  # graphs PyTensor's py mode cannot evaluate on the drawn values
    timeouts: int = 0  # graphs whose judging took longer than GRAPH_SECONDS (PyTensor's rewriting, mostly)
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    attributions: dict[str, int] = field(default_factory=dict)
    phase_seconds: dict[str, float] = field(default_factory=dict)
    rewrite_failures: dict[str, int] = field(default_factory=dict)  # PyTensor rewrites that raised
    kind_graphs: dict[str, int] = field(default_factory=dict)  # graphs judged per program kind
    kind_seconds: dict[str, float] = field(default_factory=dict)  # and the seconds judging them took
    interrupted: bool = False

    def absorb(self, other: FuzzSummary) -> None:
        """Add another worker's counts and findings (a finding already held is not repeated)."""
        for name in ("graphs", "passed", "amplified", "attributed", "unsupported", "invalid", "timeouts"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.seconds = max(self.seconds, other.seconds)
        self.interrupted = self.interrupted or other.interrupted
        held = {(f.program.signature(), f.verdict.check) for f in self.findings}
        self.findings += [f for f in other.findings if (f.program.signature(), f.verdict.check) not in held]
        for table, theirs in ((self.attributions, other.attributions), (self.phase_seconds, other.phase_seconds),
                              (self.rewrite_failures, other.rewrite_failures), (self.kind_graphs, other.kind_graphs),
                              (self.kind_seconds, other.kind_seconds)):
            for key, value in theirs.items():
                table[key] = table.get(key, 0) + value


GRAPH_SECONDS = 60
"""Longest a graph's judging may take; longer is counted as a timeout (a Python-level limit: a hang
inside onnxruntime's C++ ends only with its job, `harness.fuzz.commands.run_jobs`)."""


SHRINK_SECONDS = 90
"""Longest the shrinking of one finding may take; the smallest failing graph by then is reported."""


class GraphTimeout(BaseException):
    """A BaseException, like KeyboardInterrupt: PyTensor's rewriter catches and logs Exceptions."""


@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise `GraphTimeout` in the block after ``seconds`` (SIGALRM: the main thread only; elsewhere no limit)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        # re-armed first: raised inside a garbage-collector callback (Hypothesis has one) the exception
        # is printed and dropped, and the next alarm raises it again
        signal.setitimer(signal.ITIMER_REAL, 1.0)
        raise GraphTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _RewriteFailures(logging.Filter):
    """Counts PyTensor's "Rewrite failure due to: <rewrite>" reports (a rewrite that raised and was
    skipped, a PyTensor bug the default-mode compilation runs into) instead of printing their tracebacks."""

    def __init__(self, counts: dict):
        super().__init__()
        self.counts = counts

    def filter(self, record) -> bool:
        message = record.getMessage()
        if message.startswith("Rewrite failure due to: "):
            name = message.removeprefix("Rewrite failure due to: ")
            self.counts[name] = self.counts.get(name, 0) + 1
        return False


def fewer_outputs(finding: Finding, deadline: float) -> Finding:
    """The finding with outputs dropped while it stays a finding of the same check: first all but the
    culprit node's, then one at a time (the gradient's together). Hypothesis' shrinking keeps a graph's
    unrelated subgraphs when each of its steps is slow (heavy nodes), and these cuts are cheap."""
    program, verdict = finding.program, finding.verdict

    def without(outputs: list[str]) -> Program:
        gradient = any(o.startswith("g") for o in outputs)
        return pruned(replace(program, outputs=outputs, cost=program.cost if gradient else "",
                              wrt=program.wrt if gradient else ()))

    candidates = []
    if verdict.node is not None:
        candidates.append([program.nodes[verdict.node].value_names(verdict.node)[0]])
    candidates += [[o for o in program.outputs if o != dropped and not (dropped == "g0" and o.startswith("g"))]
                   for dropped in program.outputs if not dropped.startswith("g") or dropped == "g0"]
    for outputs in candidates:
        if time.monotonic() > deadline or len(program.outputs) == 1:
            break
        if not outputs or outputs == program.outputs:
            continue
        candidate = without([o for o in outputs if o in program.outputs])
        try:
            with time_limit(GRAPH_SECONDS):
                again = judge(candidate)
        except GraphTimeout:
            continue
        if again.status == "finding" and again.check == verdict.check:
            return fewer_outputs(Finding(candidate, again), deadline)
    return finding


def fuzz(*, budget: float, seed: int, ops: list[str], dtypes: tuple[str, ...] = DEFAULT_DTYPES,
         max_ops: int = 8, max_graphs: int | None = None, chunk: int = 25, first_round: int = 0,
         on_round=None) -> FuzzSummary:
    """Draw and judge graphs until ``budget`` seconds have passed (or ``max_graphs`` were drawn: the
    same seed then tries the same graphs however loaded the machine is); each finding is shrunk by
    Hypothesis (within the budget) and kept once per minimal graph signature.

    The search goes in rounds of ``chunk`` graphs, round k drawing from seed (``seed``, k); it starts
    at round ``first_round`` (a resumed search skips the rounds it has done) and calls
    ``on_round(k, part)`` with each round's own `FuzzSummary` when it ends, interrupted or not."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis.errors import Flaky

    if budget <= 0:
        raise ValueError(f"fuzz: budget must be > 0 seconds, got budget={budget}")
    import_every_project_module()  # the same seed draws the same graphs whatever was imported before
    summary = FuzzSummary()
    start = time.monotonic()
    deadline = start + budget
    rewrite_log = logging.getLogger("pytensor.graph.rewriting.basic")
    seen: set = set()
    strategy = programs(ops=ops, dtypes=dtypes, max_ops=max_ops)
    round_ = first_round
    while time.monotonic() < deadline and (max_graphs is None or summary.graphs < max_graphs):
        last: dict = {}
        part = FuzzSummary()
        round_start, phases_before = time.monotonic(), dict(PHASE_SECONDS)
        rewrite_failures = _RewriteFailures(part.rewrite_failures)
        rewrite_log.addFilter(rewrite_failures)

        @hypothesis_seed(seed * 1_000_003 + round_)
        @settings(max_examples=chunk, deadline=None, database=None, derandomize=False, print_blob=False,
                  phases=[Phase.generate, Phase.shrink], report_multiple_bugs=False,
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def check(program):
            if time.monotonic() > min(deadline, last.get("shrink_until", deadline)):
                return  # out of budget (the search's, or this finding's shrinking's): stop
            if max_graphs is not None and summary.graphs + part.graphs >= max_graphs and not last.get("failed"):
                return  # enough graphs drawn (a finding still shrinks)
            started = time.monotonic()
            try:
                with time_limit(GRAPH_SECONDS):
                    verdict = judge(program)
            except GraphTimeout:
                verdict = Verdict("timeout", "as built", f"judging took more than {GRAPH_SECONDS} s")
            last["shrinking"] = last.get("failed", False)
            if not last["shrinking"]:
                part.graphs += 1
                part.kind_graphs[program.kind] = part.kind_graphs.get(program.kind, 0) + 1
                part.kind_seconds[program.kind] = part.kind_seconds.get(program.kind, 0.0) + time.monotonic() - started
                if verdict.status == "pass":
                    part.passed += 1
                elif verdict.status == "amplified":
                    part.amplified += 1
                elif verdict.status == "unsupported":
                    part.unsupported += 1
                elif verdict.status == "invalid":
                    part.invalid += 1
                elif verdict.status == "timeout":
                    part.timeouts += 1
                elif verdict.status == "xfail":
                    part.attributed += 1
                    part.attributions[verdict.declaration] = part.attributions.get(verdict.declaration, 0) + 1
            if verdict.status == "finding":
                last.setdefault("shrink_until", time.monotonic() + SHRINK_SECONDS)
                last["failed"] = True
                last["finding"] = Finding(program, verdict)
                raise Diverged(verdict.detail)

        try:
            check()
        except (Diverged, Flaky):  # Flaky: the budget ran out during the final replay of the minimal graph
            finding = last.get("finding")
            if finding is None:  # not a divergence but an error of the harness itself: show it
                raise
            finding = fewer_outputs(finding, deadline)
            key = (finding.program.signature(), finding.verdict.check)
            if key not in seen:
                seen.add(key)
                part.findings.append(finding)
        except KeyboardInterrupt:  # Ctrl-C ends the search, not the report: what was found is kept
            part.interrupted = True
            if last.get("finding") is not None:
                part.findings.append(last["finding"])  # as far as it shrank
        finally:
            rewrite_log.removeFilter(rewrite_failures)
        part.seconds = time.monotonic() - round_start
        part.phase_seconds = {name: t - phases_before.get(name, 0.0) for name, t in PHASE_SECONDS.items()}
        # what judging did not take: Hypothesis drawing programs (and shrinking findings)
        part.phase_seconds["drawing and shrinking programs"] = max(0.0, part.seconds - sum(part.kind_seconds.values()))
        summary.absorb(part)
        if on_round is not None:
            on_round(round_, part)
        if part.interrupted:
            break
        round_ += 1
    summary.seconds = time.monotonic() - start
    return summary
