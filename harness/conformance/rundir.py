"""A run's output directory and what its results were made with.

- Each cell's record carries a *fingerprint*: a hash of the run's settings (profile, examples, seed,
  plugins and their source, package versions, the project's own source) and of the cell (its registry
  entry's whole declaration, dtype, opset). A later run into the same directory reuses a record only
  when the fingerprint it would give the cell is the same; any other cell is computed again.
- ``run.json`` (`write_manifest`) holds the run's settings, its shard and the cells it planned, so that
  `merge_runs` can tell a complete set of shards from a partial or mixed one.
- ``--fresh`` removes only the files a run writes (`remove_run_files`), never anything else in the directory.

To make a new setting invalidate stored results: add it to `run_settings`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import inspect
import json
import platform
import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from common.files import atomic_write_text, warn
from common.records import FINDING_REPRODUCER_PREFIX, MANIFEST_SCHEMA
from harness.conformance.runner import HISTORY_FILE, RESULTS_FILE, read_results

MANIFEST_FILE = "run.json"
RUN_FILES = (RESULTS_FILE, MANIFEST_FILE, "matrix.csv", "environment.json", "report.html", "diff.csv")
"""The files a run writes at the top of its directory; ``reproducers/`` holds the rest."""
PACKAGES = ("backend", "common", "harness", "strategies")
FINGERPRINT_PACKAGES = ("pytensor", "onnx", "onnxruntime", "numpy", "scipy", "hypothesis")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _source_digest(paths) -> str:
    h = hashlib.sha256()
    for path in sorted(paths):
        h.update(str(path).encode())
        h.update(Path(path).read_bytes())
    return h.hexdigest()[:16]


def project_source_digest() -> str:
    """The project's own code (exporter, harness, strategies): a changed converter changes results."""
    root = Path(__file__).resolve().parents[2]
    return _source_digest(p for package in PACKAGES for p in (root / package).rglob("*.py"))


def plugin_source_digest(plugins) -> str:
    """The source of each plugin module (its converters are not in the registry entries)."""
    files = []
    for name in plugins:
        module = sys.modules.get(name) or importlib.import_module(name)
        if getattr(module, "__file__", None):
            files.append(module.__file__)
    return _source_digest(files)


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


def run_settings(*, profile: str, max_examples: int | None, seed: int | None, plugins) -> dict:
    """Everything besides the cell itself that a cell's result depends on."""
    return {"profile": profile, "max_examples": max_examples, "seed": seed, "plugins": list(plugins),
            "plugin_source": plugin_source_digest(plugins), "project_source": project_source_digest(),
            "python": platform.python_version(),
            "versions": {name: _package_version(name) for name in FINGERPRINT_PACKAGES}}


def _describe(value, depth: int = 0) -> str:
    """A text that changes when the value's meaning does: callables by their source, the values their
    closures captured and their defaults; containers and dataclasses field by field."""
    if depth > 6:
        return repr(type(value))
    if isinstance(value, functools.partial):
        return f"partial({_describe(value.func, depth + 1)}, {_describe(value.args, depth + 1)}, " \
               f"{_describe(value.keywords, depth + 1)})"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return f"{type(value).__name__}(" + ", ".join(
            f"{f.name}={_describe(getattr(value, f.name), depth + 1)}" for f in dataclasses.fields(value)) + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_describe(v, depth + 1)}" for k, v in sorted(value.items(), key=repr)) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_describe(v, depth + 1) for v in value) + "]"
    if inspect.isfunction(value):
        try:
            source = inspect.getsource(value)
        except (OSError, TypeError):
            source = value.__code__.co_code.hex() + repr(value.__code__.co_consts)
        captured = [cell.cell_contents for cell in (value.__closure__ or ()) if _has_contents(cell)]
        return f"{value.__module__}.{value.__qualname__}:{source}:{_describe(captured, depth + 1)}:" \
               f"{_describe(value.__defaults__ or (), depth + 1)}:{_describe(value.__kwdefaults__ or {}, depth + 1)}"
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    return repr(value)


def _has_contents(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:  # an empty cell: the closure's variable was never bound
        return False
    return True


def entry_digest(spec) -> str:
    """A hash of a registry entry's whole declaration: builder, strategies, tolerances, declared divergences."""
    return _digest(_describe(spec))


def cell_fingerprints(tasks, settings: dict) -> dict[tuple, str]:
    """Each task's fingerprint (see the module docstring), by cell key."""
    from harness.registry import ONNX_OPERATIONS

    settings_digest = _digest(json.dumps(settings, sort_keys=True))
    entries = {op: entry_digest(ONNX_OPERATIONS[op]) for op in {t.op for t in tasks}}
    return {t.key: _digest(f"{settings_digest}|{entries[t.op]}|{t.dtype}|{t.opset}") for t in tasks}


def reusable_records(out: Path, fingerprints: dict[tuple, str]) -> dict[tuple, dict]:
    """The stored records of ``out`` made with the same fingerprint as the cell would get now."""
    return {key: rec for rec in read_results(out)
            if fingerprints.get(key := (rec["op"], rec["dtype"], rec["opset"])) == rec.get("fingerprint")}


def write_manifest(out: Path, settings: dict, shard: tuple[int, int] | None, cells) -> None:
    atomic_write_text(Path(out) / MANIFEST_FILE, json.dumps(
        {"settings": settings, "shard": list(shard) if shard else None, "cells": [list(c) for c in cells]},
        indent=1) + "\n")


def read_manifest(out: Path) -> dict | None:
    """``run.json`` of a run directory; None (with a warning when it is malformed) otherwise."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    path = Path(out) / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except (json.JSONDecodeError, RecursionError):
        warn(f"{path} is not JSON; ignored")
        return None
    error = best_match(Draft202012Validator(MANIFEST_SCHEMA).iter_errors(manifest))
    if error is not None:
        warn(f"{path} is not a run's manifest ({error.message[:160]}); ignored")
        return None
    return manifest


def remove_run_files(out: Path) -> None:
    """What ``run --fresh`` discards: the run's files and reproducers; the history, the fuzz search's
    files and anything else in the directory stay."""
    out = Path(out)
    for name in RUN_FILES:
        if (out / name).is_file():
            (out / name).unlink()
    folder = out / "reproducers"
    if folder.is_dir():
        for path in folder.iterdir():
            if path.is_file() and not path.name.startswith(FINDING_REPRODUCER_PREFIX):
                path.unlink()


@dataclass
class MergedRuns:
    records: list[dict]
    cells: list[tuple]  # the cells the shards planned
    problems: list[str]  # why the shards are not one complete run (merge exits 1 unless --partial)
    duplicates: list[tuple]  # cell keys found in more than one directory with the same status
    conflicts: list[tuple]  # (key, [(directory, status), ...]) for cells whose directories disagree
    settings: dict | None


def merge_runs(directories: list[Path]) -> MergedRuns:
    """The union of several runs' results, meant to be the shards of one run: a cell found in more than
    one directory is a duplicate when its status agrees and a conflict otherwise (the first directory's
    record is kept). ``problems`` names a shard without results or manifest, shards made with other
    settings or of another split, missing shards and planned cells without a result."""
    problems = []
    kept: dict[tuple, dict] = {}
    seen: dict[tuple, list[tuple[str, str]]] = {}
    planned: dict[tuple, None] = {}
    manifests = {}
    for directory in directories:
        records = read_results(directory)
        if not records:
            problems.append(f"{directory} holds no result (an empty shard)")
        manifest = read_manifest(directory)
        if manifest is None:
            problems.append(f"{directory} has no {MANIFEST_FILE}: not written by `harness run` (or by an older "
                            "version); its settings and planned cells are unknown")
        else:
            manifests[directory] = manifest
            planned.update(dict.fromkeys(tuple(c) for c in manifest["cells"]))
        for record in records:
            key = (record["op"], record["dtype"], record["opset"])
            seen.setdefault(key, []).append((str(directory), record["status"]))
            kept.setdefault(key, record)
    settings = None
    if manifests:
        (first_dir, first), *others = manifests.items()
        settings = first["settings"]
        for directory, manifest in others:
            differ = sorted(k for k in {*settings, *manifest["settings"]}
                            if settings.get(k) != manifest["settings"].get(k))
            if differ:
                problems.append(f"{directory} was run with other settings than {first_dir} ({', '.join(differ)})")
        splits = {tuple(m["shard"])[1] if m["shard"] else None for m in manifests.values()}
        if len(splits) > 1:
            problems.append(f"the directories are shards of different splits: {sorted(map(str, splits))}")
        elif splits != {None}:
            (n,) = splits
            have = sorted(m["shard"][0] for m in manifests.values())
            missing = sorted(set(range(n)) - set(have))
            if missing:
                problems.append(f"shards {', '.join(f'{k}/{n}' for k in missing)} are missing")
    absent = [key for key in planned if key not in kept]
    if absent:
        problems.append(f"{len(absent)} planned cells have no result (first: {'|'.join(map(str, absent[0]))})")
    duplicates = [key for key, found in seen.items() if len(found) > 1 and len({s for _, s in found}) == 1]
    conflicts = [(key, found) for key, found in seen.items() if len({s for _, s in found}) > 1]
    return MergedRuns(list(kept.values()), list(planned) or list(kept), problems, duplicates, conflicts, settings)


def history_path(out: Path, history: str | None) -> Path:
    return Path(history) if history else Path(out) / HISTORY_FILE

