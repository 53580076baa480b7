"""The records the harness writes and the reports read: their fields and, for the files read back
(``results.jsonl``, ``history.jsonl``, the fuzz journal, a run's ``run.json``), their JSON schemas.
A record read from disk is checked against its schema (`common.files.read_json_lines`): files come
from earlier runs, other machines' shards and downloaded baselines, and a line that is not what the
reader expects is skipped with a warning, never a traceback.

To add a field that a reader relies on: add it to the record where it is written and here, to the
schema's ``properties`` (and to ``required`` when every reader needs it; older files then lose the line).
To add a speed backend: its name in `PYTENSOR_BACKENDS` when it is one of PyTensor's.
"""

from common.status import Status

FINDING_REPRODUCER_PREFIX = "finding-"
"""Stem prefix of fuzz findings' reproducers, which may share ``reproducers/`` with a run's (each
command's ``--fresh`` removes only its own)."""

PYTENSOR_BACKENDS = ("default", "py", "c", "numba")
"""The speed records' backends that are PyTensor's own (the others are onnxruntime's)."""

_TEXT = {"type": "string"}
_TEXT_OR_NULL = {"type": ["string", "null"]}
_COUNT = {"type": "integer", "minimum": 0}
_NUMBER = {"type": "number"}
_NUMBER_OR_NULL = {"type": ["number", "null"]}

RESULT_SCHEMA = {
    "type": "object",
    "required": ["op", "dtype", "opset", "status"],
    "properties": {
        "op": {"type": "string", "minLength": 1}, "dtype": {"type": "string", "minLength": 1},
        "opset": {"type": "integer"}, "status": {"enum": [str(s) for s in Status]},
        "family": _TEXT, "examples": _COUNT, "rejected": _COUNT, "xfailed_examples": _COUNT,
        "max_abs_err": _NUMBER_OR_NULL, "max_rel_err": _NUMBER_OR_NULL, "max_ulp_err": _NUMBER_OR_NULL,
        "reference_agrees": {"anyOf": [{"type": ["boolean", "null"]}, {"const": "unavailable"}]},
        "reference_unavailable": _TEXT_OR_NULL, "category": _TEXT_OR_NULL,
        "declaration": _TEXT_OR_NULL, "reason": _TEXT_OR_NULL, "counterexample": _TEXT_OR_NULL,
        "reproducer": _TEXT_OR_NULL, "seconds": _NUMBER_OR_NULL, "fingerprint": _TEXT, "native_output": _TEXT_OR_NULL,
    },
}
"""One cell of the conformance matrix (``results.jsonl``; written by `harness.conformance.runner`)."""

HISTORY_SCHEMA = {
    "type": "object",
    "required": ["time", "versions", "counts", "cells"],
    "properties": {
        "time": _TEXT,
        "versions": {"type": "object", "additionalProperties": {"type": ["string", "number", "array", "object"]}},
        "counts": {"type": "object", "additionalProperties": _COUNT},
        "cells": {"type": "object", "additionalProperties": _TEXT},
        "computed": _COUNT, "reused": _COUNT,
    },
}
"""One run in ``history.jsonl``: when, the versions, status counts and each cell's status."""

FINDING_SCHEMA = {
    "type": "object",
    "required": ["key"],
    "properties": {"key": {"type": "string", "minLength": 1}, "kind": _TEXT, "check": _TEXT_OR_NULL,
                   "graphs": _COUNT, "detail": _TEXT_OR_NULL, "node": _TEXT_OR_NULL, "graph": _TEXT_OR_NULL,
                   "onnx": _TEXT_OR_NULL, "inputs": _TEXT_OR_NULL, "pytensor": _TEXT_OR_NULL,
                   "onnxruntime": _TEXT_OR_NULL, "reproducer": _TEXT_OR_NULL, "upstream": _TEXT_OR_NULL},
}

JOURNAL_SCHEMA = {
    "type": "object",
    "required": ["session", "seed", "round", "seconds", "interrupted", "graphs", "passed", "amplified",
                 "attributed", "unsupported", "invalid", "attributions", "phase_seconds", "rewrite_failures",
                 "findings"],
    "properties": {
        "session": _TEXT, "seed": {"type": "integer"}, "round": _COUNT, "seconds": _NUMBER,
        "interrupted": {"type": "boolean"},
        **{name: _COUNT for name in ("graphs", "passed", "amplified", "attributed", "unsupported", "invalid",
                                     "timeouts")},
        "attributions": {"type": "object", "additionalProperties": _COUNT},
        "phase_seconds": {"type": "object", "additionalProperties": _NUMBER},
        "rewrite_failures": {"type": "object", "additionalProperties": _COUNT},
        "kind_graphs": {"type": "object", "additionalProperties": _COUNT},
        "kind_seconds": {"type": "object", "additionalProperties": _NUMBER},
        "findings": {"type": "array", "items": FINDING_SCHEMA},
    },
}
"""One round of a fuzz search (``fuzz-journal/seed-<seed>.jsonl``; `harness.fuzz.journal`)."""

MANIFEST_SCHEMA = {
    "type": "object",
    "required": ["settings", "shard", "cells"],
    "properties": {
        "settings": {"type": "object"},
        "shard": {"type": ["array", "null"], "items": {"type": "integer"}, "minItems": 2, "maxItems": 2},
        "cells": {"type": "array", "items": {"type": "array", "prefixItems": [_TEXT, _TEXT, {"type": "integer"}],
                                             "minItems": 3, "maxItems": 3}},
    },
}
"""A run's ``run.json``: the settings every cell was made with, its shard and the cells it planned
(`harness merge` checks that shards fit together)."""
