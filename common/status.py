"""The status of a conformance cell: the one definition the engine, the runner, the CLI and the
reports share.

To add a status: a member here (in report order), its meaning in `STATUS_MEANING`, and whether it
fails a run (`FAILING`); the reports colour it from ``reports/matrix.py``.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    PASS = "pass"
    XFAIL = "xfail"
    UNSUPPORTED = "unsupported"
    MISMATCH = "mismatch"
    EXPORT_ERROR = "export_error"
    RUNTIME_ERROR = "runtime_error"
    CRASH = "crash"
    TIMEOUT = "timeout"
    XPASS = "xpass"


FAILING = frozenset({Status.MISMATCH, Status.EXPORT_ERROR, Status.RUNTIME_ERROR, Status.CRASH, Status.TIMEOUT,
                     Status.XPASS})
"""Statuses that make a run exit 1: everything but pass, xfail and unsupported."""

STATUS_MEANING = {
    Status.PASS: "onnxruntime matched PyTensor on every example",
    Status.XFAIL: "a divergence declared in the registry occurred (see category and reason)",
    Status.UNSUPPORTED: "the exporter declines this op/dtype on purpose, with a reason",
    Status.MISMATCH: "onnxruntime and PyTensor disagree: see counterexample and reproducer",
    Status.EXPORT_ERROR: "the exporter or the ONNX checker failed unexpectedly",
    Status.RUNTIME_ERROR: "onnxruntime refused the model or failed while running it",
    Status.CRASH: "the worker process died (segfault, abort) during the cell",
    Status.TIMEOUT: "the cell did not finish within --timeout",
    Status.XPASS: "a declared divergence did not occur: the declaration is stale",
}
