"""Upstream bundles (harness/fuzz/upstream.py): the repository's confirmed onnxruntime bugs still
reproduce (each test fails once onnxruntime fixes its bug: then drop the exporter's workaround and the
bundle), a bundle is classified and written from a model, and a fuzz finding that is onnxruntime's
gets one."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from harness.fuzz.journal import finding_key, finding_row
from harness.fuzz.judge import judge
from harness.fuzz.programs import Node, Program
from harness.fuzz.search import Finding
from harness.fuzz.upstream import classify, write_bundle

ROOT = Path(__file__).resolve().parents[3]
BUNDLES = sorted(path.parent for path in (ROOT / "upstream").glob("*/bundle.json"))
NEAR_ONE = 1.0000000342285429  # rounds to 1.0 in float32


def test_the_repository_keeps_its_confirmed_bundles():
    assert {b.name for b in BUNDLES} >= {"shape-of-expand-to-zero", "loop-with-zero-size-state",
                                         "float64-multiply-by-near-one-removed", "add-of-zero-keeps-negative-zero"}


@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda b: b.name)
def test_each_confirmed_onnxruntime_bug_still_reproduces(bundle):
    for name in ("model.onnx", "inputs.npz", "repro.py", "README.md"):
        assert (bundle / name).is_file(), name
    summary = json.loads((bundle / "bundle.json").read_text())
    assert summary["kind"] in ("optimizer", "kernel") and summary["passes_with"]["levels"]
    # only onnx, onnxruntime and numpy: run with the bundle as the working directory and no project path
    result = subprocess.run([sys.executable, "-I", "repro.py"], cwd=bundle, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr[-2000:]
    assert "the bug shows" in result.stdout


def _near_one_model(constant: float):
    nodes = [helper.make_node("Neg", ["x"], ["negated"]), helper.make_node("Mul", ["negated", "c"], ["scaled"]),
             helper.make_node("Identity", ["scaled"], ["y"])]
    graph = helper.make_graph(nodes, "near_one", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [3])],
                              [helper.make_tensor_value_info("y", TensorProto.DOUBLE, [3])],
                              [numpy_helper.from_array(np.array(constant), "c")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8)


def test_classify_tells_an_optimizer_bug_from_a_correct_model_and_the_bundle_names_the_rewrite(tmp_path):
    feeds = {"x": np.array([1.0, 3.0, -7.5])}
    assert classify(_near_one_model(NEAR_ONE), feeds, [-feeds["x"] * NEAR_ONE], 0.0) == "optimizer"
    assert classify(_near_one_model(3.0), feeds, [-feeds["x"] * 3.0], 0.0) is None
    folder = write_bundle(tmp_path / "b", _near_one_model(NEAR_ONE), feeds, kind="optimizer", tolerance=0.0,
                          title="a float64 Mul by a near-one constant is removed")
    readme = (folder / "README.md").read_text()
    assert "NoopElimination" in readme and "onnxruntime:" in readme
    assert json.loads((folder / "bundle.json").read_text())["passes_with"]["disabled_optimizers"] == ["NoopElimination"]
    assert subprocess.run([sys.executable, "-I", "repro.py"], cwd=folder, capture_output=True, timeout=120).returncode == 1
    with pytest.raises(ValueError, match="kind must be"):
        write_bundle(tmp_path / "c", _near_one_model(NEAR_ONE), feeds, kind="exporter", tolerance=0.0, title="t")


def test_a_fuzz_finding_that_is_onnxruntimes_gets_a_bundle(tmp_path, monkeypatch):
    # without the exporter's runtime guard, sqr(-x * 1.0000000342285429) meets NoopElimination
    monkeypatch.setattr("backend.graph.apply_guards", lambda *args: None)
    program = Program([("x0", "float64", (3,))], {"c0": np.array(NEAR_ONE)},
                      [Node("neg", ("x0",)), Node("mul", ("v0", "c0")), Node("sqr", ("v1",))], ["v2"],
                      [np.array([1.0, 3.0, -7.5])])
    verdict = judge(program, default_mode=False)
    assert (verdict.status, verdict.check) == ("finding", "optimizer"), verdict
    row = finding_row(tmp_path, Finding(program, verdict))
    assert row["upstream"] == f"upstream/{finding_key(Finding(program, verdict))}/README.md"
    bundle = (tmp_path / row["upstream"]).parent
    assert onnx.load(str(bundle / "model.onnx")).graph.node
    assert "x0 = pt.tensor('x0'" in (bundle / "README.md").read_text()  # the PyTensor graph it came from
    assert subprocess.run([sys.executable, "-I", "repro.py"], cwd=bundle, capture_output=True, timeout=120).returncode == 1
