"""The conformance run: every selected op x dtype x opset cell, each in a worker process.

- Workers are separate processes (``spawn``), one cell at a time, so a segfault, abort or hang in
  onnxruntime or PyTensor marks that cell ``crash``/``timeout`` and the run goes on with a fresh worker.
- Each finished cell is appended to ``DIR/results.jsonl`` at once; a re-run on the same directory
  skips the cells already there (resume).
- Failing cells get a standalone reproducer in ``DIR/reproducers/``.

Extension modules (``--plugin MODULE``, see `harness.plugins`) are imported in every worker before
the registry is read, so they can register extra converters and registry entries.
"""

from __future__ import annotations

import json
import multiprocessing
import sys
import threading
import time
import traceback
from dataclasses import asdict, dataclass
from multiprocessing.connection import wait
from pathlib import Path

from common.files import append_json_line, atomic_write_text, captured_native_output, read_json_lines
from common.records import HISTORY_SCHEMA, RESULT_SCHEMA
from common.status import Status

RESULTS_FILE = "results.jsonl"


@dataclass(frozen=True)
class CellTask:
    op: str
    dtype: str
    opset: int
    profile: str
    seed: int | None
    max_examples: int | None
    out_dir: str
    plugins: tuple[str, ...] = ()  # written into reproducer scripts

    @property
    def key(self) -> tuple:
        return (self.op, self.dtype, self.opset)


# ----------------------------------------------------------------------------------------------
# Inside a worker
# ----------------------------------------------------------------------------------------------

def _hypothesis_settings(task: CellTask, ci_share: float):
    """The task's profile, with ``--max-examples`` as given, else the op's share of the profile's."""
    from hypothesis import settings

    from strategies.profiles import examples_for, load_profile

    load_profile(task.profile)
    profile = settings.get_profile(task.profile)
    overrides = {"max_examples": task.max_examples if task.max_examples is not None
                 else examples_for(profile.max_examples, ci_share=ci_share)}
    if task.seed is not None:
        overrides["derandomize"] = False
    return settings(profile, **overrides)


def run_task(task: CellTask) -> dict:
    """Run one cell and return its JSON-able record (reproducer written for failing cells)."""
    from common.status import FAILING
    from harness.conformance.cells import cell_for
    from harness.registry import ONNX_OPERATIONS

    spec = ONNX_OPERATIONS[task.op]
    cell = cell_for(spec, task.dtype)
    with captured_native_output() as native:  # LAPACK's and onnxruntime's messages: the cell's, not the terminal's
        result = cell.run(hypothesis_settings=_hypothesis_settings(task, spec.ci_example_share), opset=task.opset,
                          seed=task.seed)
    counterexample, result.counterexample = result.counterexample, None  # the record holds its description
    record = asdict(result)
    record.update(family=spec.family, opset=task.opset, reproducer="", native_output=native.text,
                  counterexample=None if counterexample is None else cell.describe(counterexample))
    if (result.status in FAILING or result.status == Status.XFAIL) and counterexample is not None:
        record["reproducer"] = cell.write_reproducer(Path(task.out_dir), counterexample, opset=task.opset,
                                                     plugins=task.plugins)
    return record


def _worker_main(conn, plugins) -> None:
    from harness.plugins import load_plugins
    from harness.source_constants import import_every_project_module

    import_every_project_module()  # before any draw: Hypothesis draws constants from the modules loaded
    load_plugins(plugins)
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        try:
            conn.send(("ok", run_task(task)))
        except Exception as exc:  # a harness bug must still give the cell a status
            conn.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}"))


# ----------------------------------------------------------------------------------------------
# The pool, in the parent
# ----------------------------------------------------------------------------------------------

class _Worker:
    def __init__(self, ctx, plugins):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, list(plugins)), daemon=True)
        self.process.start()
        child.close()
        self.task: CellTask | None = None
        self.started = 0.0

    def give(self, task: CellTask) -> None:
        self.task, self.started = task, time.monotonic()
        self.conn.send(task)

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()


def _family(op: str) -> str:
    from harness.registry import ONNX_OPERATIONS

    spec = ONNX_OPERATIONS.get(op)
    return spec.family if spec is not None else ""


def _failure_record(task: CellTask, status: str, reason: str, seconds: float) -> dict:
    return {"op": task.op, "family": _family(task.op), "dtype": task.dtype, "opset": task.opset, "status": status,
            "examples": 0,
            "rejected": 0, "xfailed_examples": 0, "max_abs_err": 0.0, "max_rel_err": 0.0, "max_ulp_err": 0.0,
            "reference_agrees": None, "category": "", "declaration": "", "reason": reason, "counterexample": None,
            "reproducer": "", "seconds": seconds}


def run_pool(tasks: list[CellTask], *, jobs: int, timeout: float, plugins=(), on_result=None) -> list[dict]:
    """Run ``tasks`` on ``jobs`` worker processes; every task yields exactly one record."""
    ctx = multiprocessing.get_context("spawn")
    pending = list(reversed(tasks))
    workers = [_Worker(ctx, plugins) for _ in range(max(1, min(jobs, len(tasks))))]
    records = []

    def finish(worker, record):
        records.append(record)
        worker.task = None
        if on_result is not None:
            on_result(record)

    try:
        while pending or any(w.task for w in workers):
            for w in workers:
                if w.task is None and pending:
                    w.give(pending.pop())
            busy = [w for w in workers if w.task is not None]
            ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=0.5)
            now = time.monotonic()
            for i, w in enumerate(workers):
                if w.task is None:
                    continue
                task, elapsed = w.task, now - w.started
                if w.conn in ready:
                    try:
                        kind, payload = w.conn.recv()
                    except (EOFError, OSError):
                        kind, payload = "died", None
                    if kind == "ok":
                        finish(w, payload)
                        continue
                    if kind == "error":
                        finish(w, _failure_record(task, Status.CRASH, f"harness error in worker: {payload}", elapsed))
                        continue
                if w.process.sentinel in ready or not w.process.is_alive():
                    w.process.join(1)
                    code = w.process.exitcode
                    finish(w, _failure_record(task, Status.CRASH, f"worker process died (exit code {code}) while "
                                                          f"running {task.op} ({task.dtype})", elapsed))
                    w.stop()
                    workers[i] = _Worker(ctx, plugins)
                elif elapsed > timeout:
                    finish(w, _failure_record(task, Status.TIMEOUT, f"no result after {timeout:g} s; worker killed",
                                              elapsed))
                    w.stop()
                    workers[i] = _Worker(ctx, plugins)
    finally:
        for w in workers:
            if w.process.is_alive() and w.task is None:
                try:
                    w.conn.send(None)
                except OSError:
                    pass
            w.stop()
    return records


# ----------------------------------------------------------------------------------------------
# Results file
# ----------------------------------------------------------------------------------------------

def read_results(out_dir: Path) -> list[dict]:
    """The latest record of each cell in ``DIR/results.jsonl``; a line cut short by an interrupted run or
    not a result record (`common.records.RESULT_SCHEMA`) is skipped with a warning naming it."""
    latest = {}
    for rec in read_json_lines(Path(out_dir) / RESULTS_FILE, RESULT_SCHEMA):
        latest[(rec["op"], rec["dtype"], rec["opset"])] = rec
    return list(latest.values())


def write_results(out_dir: Path, records: list[dict]) -> None:
    """results.jsonl holding exactly ``records``, written atomically."""
    atomic_write_text(Path(out_dir) / RESULTS_FILE,
                      "".join(json.dumps(r, default=_json_default) + "\n" for r in records))


HISTORY_FILE = "history.jsonl"


def append_history(path: Path, records: list[dict], versions: dict, *, computed: int | None = None) -> dict:
    """Append one line for this run to the history file: when, the versions, the status counts,
    every cell's status (``op|dtype|opset``) and how many cells the run computed (the others were
    reused from an earlier run with the same settings). Returns the entry."""
    from collections import Counter
    from datetime import datetime, timezone

    entry = {
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": versions,
        "counts": dict(Counter(r["status"] for r in records)),
        "cells": {f"{r['op']}|{r['dtype']}|{r['opset']}": r["status"] for r in records},
    }
    if computed is not None:
        entry.update(computed=computed, reused=len(records) - computed)
    append_json_line(Path(path), entry, default=_json_default)
    return entry


def read_history(path: Path) -> list[dict]:
    """The runs in a history file, oldest first; a line that is not a run's entry is skipped with a warning."""
    return read_json_lines(Path(path), HISTORY_SCHEMA)


def append_result(out_dir: Path, record: dict) -> None:
    append_json_line(Path(out_dir) / RESULTS_FILE, record, default=_json_default)


def _json_default(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


PROGRESS_SECONDS = 30.0
"""How often a run without a terminal prints a progress line."""


class Progress:
    """A run's progress on standard error: on a terminal a one-line bar with rate and ETA, redrawn per
    cell; otherwise (CI logs) one line every ``interval`` seconds from a background thread, however long
    a cell takes. Call it with each record; `close` when the run ends."""

    def __init__(self, total: int, stream=None, interval: float = PROGRESS_SECONDS, tty: bool | None = None):
        self.stream = stream or sys.stderr  # looked up now: whoever redirected sys.stderr since import wins
        self.total, self.done, self.failing = total, 0, 0
        self.start = time.monotonic()
        self.tty = self.stream.isatty() if tty is None else tty
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        if not self.tty and total:
            self._thread = threading.Thread(target=self._every, args=(interval,), daemon=True)
            self._thread.start()

    def line(self) -> str:
        """``done/total cells, failing, rate, ETA`` as of now."""
        elapsed = time.monotonic() - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = f"{(self.total - self.done) / rate:.0f} s" if rate > 0 else "unknown"
        return (f"{self.done}/{self.total} cells, {self.failing} failing, {rate:.2f} cells/s, "
                f"{elapsed:.0f} s elapsed, ETA {eta}")

    def __call__(self, record: dict) -> None:
        from common.status import FAILING

        with self._lock:
            self.done += 1
            self.failing += record.get("status") in FAILING
            if not self.tty:
                return
            width = 30
            filled = int(width * self.done / max(self.total, 1))
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.line()}  "
                              f"{record['op']} ({record['dtype']})\x1b[K")
            if self.done == self.total:
                self.stream.write("\n")
            self.stream.flush()

    def _every(self, interval: float) -> None:
        while not self._stop.wait(interval):
            with self._lock:
                print(f"progress: {self.line()}", file=self.stream, flush=True)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
