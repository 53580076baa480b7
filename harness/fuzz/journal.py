"""The fuzz journal: what each round of a fuzz search found, kept as it happens so that no work is lost
and a later ``harness fuzz`` into the same directory resumes.

Layout of an output directory:
- ``fuzz-journal/seed-<seed>.jsonl``: one JSON line per round of the search with that seed (counts,
  declarations that explained graphs, time per phase, PyTensor rewrites that raised, and each new
  finding as its report row). Each job of ``--jobs`` has its own seed, hence its own file; a line is
  appended and flushed when its round ends, so a killed run loses at most the round it was in.
- ``reproducers/finding-<key>.{py,onnx,npz}``: written when the finding is made; ``<key>`` hashes the
  minimal graph's signature and the failed check, so the same finding made again keeps one name.
- ``fuzz.csv`` / ``fuzz.html``: rendered from the whole journal (every session) by `journal_totals`.

Resuming: a search with seed S starts after the last round recorded for S (the same seed does not
draw the same graphs twice), and the report adds up every session. ``--fresh`` starts over.

To record something new per round: add it to `FuzzSummary` (``harness.fuzz``), to `_round_record`
and to `journal_totals`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from common.files import append_json_line, read_json_lines
from common.records import FINDING_REPRODUCER_PREFIX, JOURNAL_SCHEMA
from harness.fuzz.reproducer import write_fuzz_reproducer
from harness.fuzz.search import Finding, FuzzSummary, fuzz

JOURNAL_DIR = "fuzz-journal"
COUNTS = ("graphs", "passed", "amplified", "attributed", "unsupported", "invalid", "timeouts")


def journal_path(out_dir: Path, seed: int) -> Path:
    return Path(out_dir) / JOURNAL_DIR / f"seed-{seed}.jsonl"


def finding_key(finding: Finding) -> str:
    """Stable name of a finding: its minimal graph's signature and the check that failed."""
    text = repr((finding.program.signature(), finding.verdict.check))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def finding_row(out_dir: Path, finding: Finding, plugins=()) -> dict:
    """The finding's report row; writes its reproducer, and an upstream bundle when the finding is
    onnxruntime's (`harness.fuzz.upstream`)."""
    program, verdict = finding.program, finding.verdict
    key = finding_key(finding)
    return dict(kind="finding", key=key, check=verdict.check, graphs=1, detail=verdict.detail,
                upstream=upstream_bundle(out_dir, key, finding),
                node=None if verdict.node is None else f"v{verdict.node} ({program.nodes[verdict.node].op})",
                graph=program.source(), onnx=program.onnx_text(),
                inputs="\n".join(f"{name} = {value!r}" for (name, _, _), value in zip(program.inputs, program.values)),
                pytensor=repr(verdict.expected), onnxruntime=repr(verdict.actual),
                reproducer=write_fuzz_reproducer(out_dir, f"{FINDING_REPRODUCER_PREFIX}{key}", program, verdict.check, plugins))


def upstream_bundle(out_dir: Path, key: str, finding: Finding) -> str | None:
    """``upstream/<key>/README.md`` (relative to ``out_dir``) when the finding is shown to be onnxruntime's and its
    bundle was written there, else None."""
    import warnings

    import numpy as np

    from backend import export_onnx
    from harness.fuzz.judge import bundle_tolerance
    from harness.fuzz.upstream import classify, write_bundle

    program, verdict = finding.program, finding.verdict
    if verdict.check not in ("optimizer", "as built") or verdict.expected is None:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inputs, _, outputs = program.build()
        model = export_onnx(inputs, outputs)
    names = [value.name for value in model.graph.input]
    feeds = dict(zip(names, (np.asarray(v) for v in program.values)))
    tolerance = bundle_tolerance(program, verdict.expected)
    kind = classify(model, feeds, [np.asarray(v) for v in verdict.expected], tolerance)
    if kind is None:
        return None
    title = f"{verdict.detail.split(': ', 1)[-1][:100]} (fuzz finding {key})"
    write_bundle(Path(out_dir) / "upstream" / key, model, feeds, kind=kind, title=title, tolerance=tolerance,
                 context=f"The PyTensor graph it was exported from:\n\n```python\n{program.source()}\n```")
    return f"upstream/{key}/README.md"


def _round_record(session: str, seed: int, round_: int, part: FuzzSummary, rows: list[dict]) -> dict:
    return dict(session=session, seed=seed, round=round_, seconds=part.seconds, interrupted=part.interrupted,
                **{name: getattr(part, name) for name in COUNTS},
                attributions=part.attributions, phase_seconds=part.phase_seconds,
                rewrite_failures=part.rewrite_failures, kind_graphs=part.kind_graphs,
                kind_seconds=part.kind_seconds, findings=rows)


def rounds_done(out_dir: Path, seed: int) -> int:
    """The round a search with ``seed`` resumes at: one past the last round journaled."""
    rounds = [entry["round"] for entry in read_json_lines(journal_path(out_dir, seed), JOURNAL_SCHEMA)]
    return max(rounds) + 1 if rounds else 0


def output_path(out_dir: Path, seed: int) -> Path:
    """Where a job's native output goes (LAPACK's messages, PyTensor's prints): not the terminal."""
    return Path(out_dir) / JOURNAL_DIR / f"seed-{seed}.output.txt"


def fuzz_worker(arguments: tuple) -> FuzzSummary:
    """One job of ``harness fuzz``, in a spawned process of its own: (output directory, session id,
    plugins, keyword arguments of `harness.fuzz.fuzz`). Journals every round as it ends; its file
    descriptors 1 and 2 go to `output_path` (a process of its own: they are not restored)."""
    from harness.plugins import load_plugins

    out_dir, session, plugins, kwargs = arguments
    path = journal_path(out_dir, kwargs["seed"])
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(output_path(out_dir, kwargs["seed"]), "ab") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
    load_plugins(plugins)

    def journal(round_: int, part: FuzzSummary) -> None:
        rows = [finding_row(out_dir, finding, plugins) for finding in part.findings]
        append_json_line(path, _round_record(session, kwargs["seed"], round_, part, rows))

    return fuzz(first_round=rounds_done(out_dir, kwargs["seed"]), on_round=journal, **kwargs)


@dataclass
class JournalTotals:
    """Everything the journal of an output directory holds, added up over its sessions."""
    sessions: int = 0
    seeds: list[int] = field(default_factory=list)
    seconds: float = 0.0  # wall time: per session, its longest-running job
    interrupted: bool = False
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    attributions: dict[str, int] = field(default_factory=dict)
    phase_seconds: dict[str, float] = field(default_factory=dict)
    rewrite_failures: dict[str, int] = field(default_factory=dict)
    kind_graphs: dict[str, int] = field(default_factory=dict)
    kind_seconds: dict[str, float] = field(default_factory=dict)
    findings: list[dict] = field(default_factory=list)  # report rows, one per finding key


def journal_totals(out_dir: Path) -> JournalTotals:
    totals = JournalTotals()
    folder = Path(out_dir) / JOURNAL_DIR
    entries = [entry for path in sorted(folder.glob("seed-*.jsonl")) for entry in read_json_lines(path, JOURNAL_SCHEMA)]
    job_seconds: dict[tuple[str, int], float] = {}
    keys = set()
    for entry in entries:
        job = (entry["session"], entry["seed"])
        job_seconds[job] = job_seconds.get(job, 0.0) + entry["seconds"]
        totals.interrupted = totals.interrupted or entry["interrupted"]
        for name in COUNTS:
            totals.counts[name] += entry.get(name, 0)  # "timeouts" is absent from older journals
        for table, theirs in ((totals.attributions, entry["attributions"]),
                              (totals.phase_seconds, entry["phase_seconds"]),
                              (totals.rewrite_failures, entry["rewrite_failures"]),
                              (totals.kind_graphs, entry.get("kind_graphs", {})),
                              (totals.kind_seconds, entry.get("kind_seconds", {}))):
            for key, value in theirs.items():
                table[key] = table.get(key, 0) + value
        for row in entry["findings"]:
            if row["key"] not in keys:
                keys.add(row["key"])
                totals.findings.append(row)
    sessions: dict[str, float] = {}
    for (session, _), seconds in job_seconds.items():
        sessions[session] = max(sessions.get(session, 0.0), seconds)
    totals.sessions = len(sessions)
    totals.seconds = sum(sessions.values())
    totals.seeds = sorted({seed for _, seed in job_seconds})
    return totals


def new_session_id() -> str:
    """Identifies one ``harness fuzz`` invocation in the journal."""
    from datetime import datetime, timezone

    return f"{datetime.now(timezone.utc).isoformat(timespec='seconds')}-{os.getpid()}"
