"""What a run's results were made with: fingerprints for resuming, ``--fresh``'s reach, and merging."""

import dataclasses
import json

from harness.conformance.rundir import (
    MANIFEST_FILE,
    cell_fingerprints,
    entry_digest,
    merge_runs,
    remove_run_files,
    run_settings,
    write_manifest,
)
from harness.conformance.runner import CellTask
from harness.registry import ONNX_OPERATIONS

TASK = CellTask("exp", "float32", 18, "ci", None, None, "out")


def _fingerprint(**changes):
    settings = dict(run_settings(profile="ci", max_examples=None, seed=None, plugins=()), **changes)
    return cell_fingerprints([TASK], settings)[TASK.key]


def test_the_fingerprint_changes_with_every_run_setting():
    base = _fingerprint()
    assert _fingerprint() == base  # and only with them
    assert len({base, _fingerprint(profile="nightly"), _fingerprint(max_examples=50), _fingerprint(seed=3),
                _fingerprint(plugins=["my_plugin"]), _fingerprint(versions={"onnxruntime": "1.0"})}) == 6


def test_the_entry_digest_changes_with_the_entrys_declaration():
    spec = ONNX_OPERATIONS["exp"]
    assert entry_digest(spec) == entry_digest(dataclasses.replace(spec))
    assert entry_digest(spec) != entry_digest(dataclasses.replace(spec, tolerance={**spec.tolerance, "float32": 9}))
    declared = dataclasses.replace(spec, xfails=list(spec.xfails))
    declared.xfail(id="extra", reason="a new declaration", category="onnxruntime-kernel")
    assert entry_digest(spec) != entry_digest(declared)

    def bound(limit):
        return lambda example: example < limit  # same source, different captured value

    assert entry_digest(dataclasses.replace(spec, error_scale=bound(1))) != \
        entry_digest(dataclasses.replace(spec, error_scale=bound(2)))


def test_fresh_removes_only_what_a_run_wrote(tmp_path):
    for name in ("results.jsonl", MANIFEST_FILE, "report.html", "matrix.csv", "history.jsonl", "fuzz.html",
                 "notes.txt"):
        (tmp_path / name).write_text("x")
    (tmp_path / "reproducers").mkdir()
    for name in ("exp-float32-opset18-0a1b2c3d.py", "finding-abc.py"):
        (tmp_path / "reproducers" / name).write_text("x")
    remove_run_files(tmp_path)
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert left == ["fuzz.html", "history.jsonl", "notes.txt", "reproducers/finding-abc.py"]


def _shard(directory, k, n, cells, settings, results=None):
    directory.mkdir()
    write_manifest(directory, settings, (k, n) if n else None, cells)
    results = cells if results is None else results
    (directory / "results.jsonl").write_text("".join(
        json.dumps({"op": op, "dtype": dtype, "opset": opset, "status": "pass"}) + "\n" for op, dtype, opset in results))


def test_merge_names_empty_missing_foreign_and_incomplete_shards(tmp_path):
    settings = {"profile": "ci", "seed": None}
    cells = [("add", "float32", 18), ("add", "int8", 18), ("neg", "float32", 18), ("neg", "int8", 18)]
    _shard(tmp_path / "s0", 0, 2, cells[0::2], settings)
    _shard(tmp_path / "s1", 1, 2, cells[1::2], settings)
    whole = merge_runs([tmp_path / "s0", tmp_path / "s1"])
    assert whole.problems == [] and len(whole.records) == 4

    assert any("shards 1/2 are missing" in p for p in merge_runs([tmp_path / "s0"]).problems)
    _shard(tmp_path / "empty", 1, 2, cells[1::2], settings, results=[])
    problems = merge_runs([tmp_path / "s0", tmp_path / "empty"]).problems
    assert any("holds no result" in p for p in problems) and any("2 planned cells have no result" in p for p in problems)
    _shard(tmp_path / "nightly", 1, 2, cells[1::2], {**settings, "profile": "nightly"})
    assert any("other settings" in p and "profile" in p for p in merge_runs([tmp_path / "s0", tmp_path / "nightly"]).problems)
    _shard(tmp_path / "of3", 1, 3, cells[1::2], settings)
    assert any("different splits" in p for p in merge_runs([tmp_path / "s0", tmp_path / "of3"]).problems)
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "results.jsonl").write_text((tmp_path / "s1" / "results.jsonl").read_text())
    assert any("no run.json" in p for p in merge_runs([tmp_path / "s0", tmp_path / "bare"]).problems)
