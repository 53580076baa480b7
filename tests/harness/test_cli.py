"""The conformance run end to end: CLI, statuses, crash isolation, resume, reproducers, diff, report."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from backend import ONNX_OPSET_VERSION
from harness.cli import main
from tests.html_tables import HTMLTables

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = "tests.harness.crash_plugin"


def run_cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def test_bad_usage_exits_2_and_names_the_valid_choices(capsys):
    assert main(["run", "--ops", "exp,no_such_op"]) == 2
    err = capsys.readouterr().err
    assert "unknown op 'no_such_op'" in err and "harness list` prints them all" in err
    assert len(err) < 300  # no list of every registered op
    assert main(["run", "--ops", "softmx"]) == 2
    assert "unknown op 'softmx': did you mean softmax" in capsys.readouterr().err
    assert main(["run", "--dtypes", "float128"]) == 2
    assert "valid dtypes: float16" in capsys.readouterr().err
    assert main(["run", "--shard", "2/2"]) == 2  # shards are numbered from 0
    assert main(["run", "--opset", "17"]) == 2
    assert "choose an opset from 18" in capsys.readouterr().err
    assert main(["run", "--opset", "18,newest"]) == 2
    assert "integers or `max`" in capsys.readouterr().err


def test_opset_max_runs_each_cell_at_the_newest_opset_onnx_and_onnxruntime_both_accept(tmp_path):
    from backend.basic import max_supported_opset

    newest = max_supported_opset()
    assert main(["run", "--ops", "add", "--dtypes", "int8", "--opset", "max,18,18", "--max-examples", "3",
                 "--jobs", "1", "--out", str(tmp_path)]) == 0
    matrix = pd.read_csv(tmp_path / "matrix.csv")
    assert sorted(matrix["opset"]) == sorted({18, newest}) and set(matrix["status"]) == {"pass"}
    assert json.loads((tmp_path / "environment.json").read_text())["opsets"] == sorted({18, newest})
    assert main(["report", "/nonexistent-dir"]) == 2


def test_run_writes_matrix_report_and_results(tmp_path):
    out = tmp_path / "run"
    result = run_cli("run", "--ops", "add,int_div,round_half_away_from_zero", "--dtypes", "float32,int8",
                     "--out", str(out), "--jobs", "2")
    assert result.returncode == 0, result.stderr
    assert re.search(r"5 cells: 5 pass\. Report: .*report\.html", result.stdout)
    matrix = pd.read_csv(out / "matrix.csv")
    assert set(matrix["status"]) == {"pass"}
    assert {"op", "dtype", "status", "examples", "max_abs_err", "max_rel_err", "max_ulp_err", "reference_agrees",
            "category", "declaration", "reason", "counterexample", "reproducer",
            "onnxruntime_version"} <= set(matrix.columns)
    # round_half_away_from_zero is float-only: 5 cells, none for int8, nothing dropped
    assert sorted(zip(matrix["op"], matrix["dtype"])) == sorted(
        [("add", "float32"), ("add", "int8"), ("int_div", "float32"), ("int_div", "int8"),
         ("round_half_away_from_zero", "float32")])
    env = json.loads((out / "environment.json").read_text())
    assert env["opsets"] == [18] and "onnxruntime" in env
    assert len((out / "results.jsonl").read_text().splitlines()) == 5

    tables = HTMLTables((out / "report.html").read_text())
    grid = tables.tables[1]
    assert "add" in grid and "int_div" in grid and grid.count("pass") == 5


def test_crash_and_hang_are_isolated_and_everything_else_completes(tmp_path):
    import xmlschema

    out = tmp_path / "crash"
    summary = tmp_path / "summary.md"
    result = subprocess.run(
        [sys.executable, "-m", "harness", "run", "--plugin", PLUGIN, "--ops", "crash_probe,hang_probe,fine_probe,add",
         "--dtypes", "float32", "--out", str(out), "--jobs", "2", "--timeout", "20", "--junit-xml",
         str(tmp_path / "cells.xml")], cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)})
    assert result.returncode == 1, result.stdout + result.stderr
    matrix = pd.read_csv(out / "matrix.csv").set_index("op")
    assert matrix.loc["crash_probe", "status"] == "crash"
    assert "died" in matrix.loc["crash_probe", "reason"]
    assert matrix.loc["hang_probe", "status"] == "timeout"
    assert matrix.loc["fine_probe", "status"] == "pass" and matrix.loc["add", "status"] == "pass"
    # what CI reads: a JUnit file with one testcase per cell, a step summary, one annotation per failing cell
    junit = xmlschema.XMLSchema(ROOT / "tests" / "reports" / "junit.xsd").to_dict(tmp_path / "cells.xml")
    cases = {case["@name"]: case for case in junit["testsuite"][0]["testcase"]}
    assert set(cases) == {f"{op}[float32] opset{ONNX_OPSET_VERSION}" for op in matrix.index}
    assert "crash" in cases[f"crash_probe[float32] opset{ONNX_OPSET_VERSION}"]["failure"]["@message"]
    assert "failure" not in cases[f"add[float32] opset{ONNX_OPSET_VERSION}"]
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::error ")]
    assert len(annotations) == 2 and any("crash_probe" in a for a in annotations), result.stdout
    assert "| crash | 1 |" in summary.read_text() and "hang_probe[float32]" in summary.read_text()


def test_interrupted_run_resumes(tmp_path):
    out = tmp_path / "resume"
    first = run_cli("run", "--ops", "add", "--dtypes", "float32,float64", "--out", str(out))
    assert first.returncode == 0
    lines = (out / "results.jsonl").read_text().splitlines()
    # Simulate an interruption: the second cell and half a line of a third were lost.
    (out / "results.jsonl").write_text(lines[0] + "\n" + lines[1][: len(lines[1]) // 2])
    second = run_cli("run", "--ops", "add", "--dtypes", "float32,float64", "--out", str(out))
    assert second.returncode == 0
    assert "resuming: 1 of 2 cells" in second.stderr
    assert len(pd.read_csv(out / "matrix.csv")) == 2


def _statuses(out):
    return pd.read_csv(out / "matrix.csv").set_index(["op", "dtype"])["status"].sort_index()


def test_merged_shards_give_the_unsharded_matrix(tmp_path, capsys):
    cells = ["--ops", "add,neg,sort", "--dtypes", "float32,int8", "--max-examples", "5", "--jobs", "1"]
    for k in range(2):
        assert main(["run", *cells, "--shard", f"{k}/2", "--out", str(tmp_path / f"s{k}")]) == 0
    assert main(["run", *cells, "--out", str(tmp_path / "whole")]) == 0
    shard_sizes = [len(pd.read_csv(tmp_path / f"s{k}" / "matrix.csv")) for k in range(2)]
    assert shard_sizes == [3, 3]
    assert main(["merge", str(tmp_path / "s0"), str(tmp_path / "s1"), "--out", str(tmp_path / "merged")]) == 0
    pd.testing.assert_series_equal(_statuses(tmp_path / "merged"), _statuses(tmp_path / "whole"))
    assert (tmp_path / "merged" / "report.html").exists()
    # merging a shard with itself keeps each cell once and says so
    capsys.readouterr()
    assert main(["merge", str(tmp_path / "s0"), str(tmp_path / "s0"), str(tmp_path / "s1"),
                 "--out", str(tmp_path / "twice")]) == 0
    assert "3 cells appear in more than one input" in capsys.readouterr().err
    assert len(pd.read_csv(tmp_path / "twice" / "matrix.csv")) == 6


def test_merge_reports_shards_that_disagree_and_refuses_empty_inputs(tmp_path, capsys):
    record = {"op": "add", "dtype": "float32", "opset": 18, "status": "pass", "examples": 5, "reason": ""}
    for name, status in (("a", "pass"), ("b", "mismatch")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.jsonl").write_text(json.dumps({**record, "status": status}) + "\n")
    assert main(["merge", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "m")]) == 1
    err = capsys.readouterr().err
    assert "conflict: ('add', 'float32', 18) is pass in" in err and "mismatch in" in err
    (tmp_path / "empty").mkdir()
    assert main(["merge", str(tmp_path / "a"), str(tmp_path / "empty"), "--out", str(tmp_path / "m2")]) == 2
    assert "empty holds no results.jsonl" in capsys.readouterr().err
    assert main(["merge", str(tmp_path / "a"), "--out", str(tmp_path / "a")]) == 2


def test_planted_bug_gives_mismatch_with_a_reproducer_that_exits_1(tmp_path):
    out = tmp_path / "bug"
    plugin_dir = tmp_path / "plug"
    plugin_dir.mkdir()
    (plugin_dir / "planted_round.py").write_text(
        "import pytensor.scalar.basic as ps\n"
        "from backend import onnx_funcify\n"
        "@onnx_funcify.register(ps.RoundHalfToEven)\n"
        "def onnx_funcify_RoundHalfToEven(op, node, ctx, inputs):\n"
        "    half = ctx.constant(0.5, str(node.outputs[0].type.dtype))\n"
        "    return [ctx.op.Floor(ctx.op.Add(inputs[0], half))]\n"
    )
    env_cmd = [sys.executable, "-m", "harness", "run", "--plugin", "planted_round", "--ops", "round_half_to_even",
               "--dtypes", "float64", "--out", str(out)]
    import os

    env = {**os.environ, "PYTHONPATH": f"{plugin_dir}{os.pathsep}{ROOT}"}
    result = subprocess.run(env_cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 1, result.stdout + result.stderr
    row = pd.read_csv(out / "matrix.csv").iloc[0]
    assert row["status"] == "mismatch"
    script = out / row["reproducer"]
    assert script.parent == out / "reproducers" and script.name.startswith("round_half_to_even-float64-opset18-")
    assert script.with_suffix(".npz").exists() and script.with_suffix(".onnx").exists()
    # The script loads the run's plugins itself: with the planted converter it still diverges.
    reproduces = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, env=env,
                                timeout=300)
    assert reproduces.returncode == 1, reproduces.stdout + reproduces.stderr
    assert "still diverges" in reproduces.stdout and "pytensor" in reproduces.stdout
    (plugin_dir / "planted_round.py").write_text('"""Fixed: the plugin no longer replaces the converter."""\n')
    fixed = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, env=env,
                           timeout=300)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr  # the real converter: fixed
    assert "fixed: outputs agree" in fixed.stdout

    tables = HTMLTables((out / "report.html").read_text())
    detail = tables.tables[2]
    assert "mismatch" in detail and any(row["reproducer"] in c for c in detail)


def test_diff_and_baseline_report_regressions(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    for d in (old, new):
        d.mkdir()
    base = {"opset": 18, "examples": 1, "reason": "", "category": "", "counterexample": None, "reproducer": ""}
    (old / "results.jsonl").write_text("\n".join(json.dumps({**base, **r}) for r in [
        {"op": "add", "dtype": "int8", "status": "pass"},
        {"op": "exp", "dtype": "float32", "status": "mismatch"},
        {"op": "log", "dtype": "float32", "status": "pass"}]) + "\n")
    (new / "results.jsonl").write_text("\n".join(json.dumps({**base, **r}) for r in [
        {"op": "add", "dtype": "int8", "status": "mismatch"},
        {"op": "exp", "dtype": "float32", "status": "pass"},
        {"op": "sqrt", "dtype": "float32", "status": "pass"}]) + "\n")
    result = run_cli("diff", str(old), str(new))
    assert result.returncode == 1
    diff = pd.read_csv(new / "diff.csv").set_index(["op", "dtype"])
    assert diff.loc[("add", "int8"), "change"] == "regression"
    assert diff.loc[("exp", "float32"), "change"] == "fix"
    assert diff.loc[("log", "float32"), "change"] == "removed"
    assert diff.loc[("sqrt", "float32"), "change"] == "new"
    assert "Changes since the baseline" in (new / "report.html").read_text()
    rerender = run_cli("report", str(new))
    assert rerender.returncode == 0 and "3 cells" in rerender.stdout


def test_report_escapes_error_text(tmp_path):
    out = tmp_path / "esc"
    out.mkdir()
    record = {"op": "add", "dtype": "int8", "opset": 18, "status": "export_error", "examples": 0,
              "reason": "<script>alert(1)</script>", "category": "", "counterexample": None, "reproducer": ""}
    (out / "results.jsonl").write_text(json.dumps(record) + "\n")
    assert main(["report", str(out)]) == 0
    page = (out / "report.html").read_text()
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)" in page
    assert page.count("<script>") == 1  # the report's own filter script


def test_check_command_passes_and_a_plugin_entry_without_converter_is_refused(tmp_path, capsys):
    assert main(["check"]) == 0
    assert "registry check passed" in capsys.readouterr().out
    plugin_dir = tmp_path / "plug"
    plugin_dir.mkdir()
    (plugin_dir / "jv_entry.py").write_text(
        "import pytensor.tensor as pt\n"
        "from harness.registry import ONNX_OPERATIONS, register\n"
        "if 'jv_of_itself' not in ONNX_OPERATIONS:\n"
        "    register('jv_of_itself', arity=1, dtypes=('float64',),\n"
        "             build=lambda x: pt.jv(x, x))\n")
    import os

    env = {**os.environ, "PYTHONPATH": f"{plugin_dir}{os.pathsep}{ROOT}"}
    for command in (["check"], ["run", "--ops", "add", "--dtypes", "float32", "--out", str(tmp_path / "o")]):
        result = subprocess.run([sys.executable, "-m", "harness", *command, "--plugin", "jv_entry"], cwd=ROOT,
                                capture_output=True, text=True, env=env, timeout=600)
        assert result.returncode in (1, 2), result.stdout + result.stderr
        assert "jv_of_itself (float64) builds an op with no ONNX converter" in result.stderr, result.stderr
    missing = run_cli("list", "--plugin", "no_such_plugin_module")
    assert missing.returncode == 2 and "plugin 'no_such_plugin_module' cannot be found" in missing.stderr


def test_out_inside_the_packages_is_refused(capsys):
    assert main(["run", "--ops", "add", "--out", str(ROOT / "harness" / "out")]) == 2
    assert "inside the project's packages" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["list"], ["list", "--plugin", PLUGIN]])
def test_python_m_harness_list(argv):
    result = run_cli(*argv)
    assert result.returncode == 0
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert names[0] == "add" and ("crash_probe" in names) == ("--plugin" in argv)


def test_list_command_prints_every_registered_op_once(capsys):
    from harness.registry import ABSENT_ENTRIES, ONNX_OPERATIONS

    assert main(["list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    absent = [line.split()[0] for line in lines if "  absent with pytensor " in line]
    assert [line.split()[0] for line in lines if line.split()[0] not in absent] == list(ONNX_OPERATIONS)
    assert absent == list(ABSENT_ENTRIES)


def test_bench_writes_the_speed_report_and_says_when_the_model_section_is_missing(tmp_path, capsys):
    from importlib.util import find_spec

    have_pymc = find_spec("pymc") is not None
    args = ["bench", "--ops", "add", "--dtypes", "float64", "--sizes", "4", "--repeat", "3", "--no-graphs",
            "--out", str(tmp_path)]
    models = ["--models", "model:poisson_gamma"]
    if not have_pymc:
        assert main([*args, *models]) == 2
        assert "--models needs PyMC" in capsys.readouterr().err
    assert main(args + (models if have_pymc else [])) == 0
    speed = pd.read_csv(tmp_path / "speed.csv")
    assert set(speed[speed.section == "ops"].backend) == {"onnxruntime", "onnxruntime_1thread", "default", "py", "c",
                                                          "numba"}
    meta = json.loads((tmp_path / "speed-environment.json").read_text())
    if have_pymc:
        assert set(speed[speed.section == "models"].op) == {"model:poisson_gamma"}
        assert "PyMC models" in (tmp_path / "speed.html").read_text()
    else:
        assert "models" not in set(speed.section) and "PyMC is not installed" in meta["models"]


def test_bench_models_only_at_a_chosen_optimization_level(tmp_path, capsys):
    pytest.importorskip("pymc", reason="PyMC is not installed: pip install -e '.[pymc]' (tox -e pymc)")
    args = ["bench", "--no-ops", "--no-graphs", "--models", "model:poisson_gamma", "--repeat", "3",
            "--ort-optimization", "basic", "--out", str(tmp_path)]
    assert main(args) == 0
    speed = pd.read_csv(tmp_path / "speed.csv")
    assert set(speed.section) == {"models"}
    assert json.loads((tmp_path / "speed-environment.json").read_text())["onnxruntime_optimization_level"] == "basic"
    assert "model:poisson_gamma" in (tmp_path / "speed-real-models.md").read_text()


def test_bench_refuses_to_time_nothing_and_unknown_levels(tmp_path, capsys):
    assert main(["bench", "--no-ops", "--no-graphs", "--no-models", "--out", str(tmp_path / "a")]) == 2
    assert "nothing to time" in capsys.readouterr().err
    assert main(["bench", "--ort-optimization", "fast", "--out", str(tmp_path / "b")]) == 2
    assert "invalid choice: 'fast'" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_entries_absent_from_this_pytensor_are_listed_and_refused_with_the_reason(monkeypatch, capsys, tmp_path):
    from harness.registry import ABSENT_ENTRIES

    monkeypatch.setitem(ABSENT_ENTRIES, "gone_op", "PyTensor 9.9 removed GoneOp")
    assert main(["list"]) == 0
    assert "gone_op  absent with pytensor" in capsys.readouterr().out
    assert main(["run", "--ops", "gone_op", "--out", str(tmp_path / "out")]) == 2
    assert "gone_op is not registered with the installed PyTensor: PyTensor 9.9 removed GoneOp" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_merge_fails_on_an_empty_shard_unless_told_the_run_is_partial(tmp_path, capsys):
    cells = ["--ops", "add,neg", "--dtypes", "int8", "--max-examples", "2", "--jobs", "1"]
    for k in range(2):
        assert main(["run", *cells, "--shard", f"{k}/2", "--out", str(tmp_path / f"s{k}")]) == 0
    (tmp_path / "s1" / "results.jsonl").write_text("")  # a shard whose cells were all lost
    capsys.readouterr()
    assert main(["merge", str(tmp_path / "s0"), str(tmp_path / "s1"), "--out", str(tmp_path / "m")]) == 1
    err = capsys.readouterr().err
    assert "s1 holds no result (an empty shard)" in err and "1 planned cells have no result" in err
    assert main(["merge", str(tmp_path / "s0"), str(tmp_path / "s1"), "--out", str(tmp_path / "p"), "--partial"]) == 0
    assert "warning: " in capsys.readouterr().err
    assert main(["merge", str(tmp_path / "s0"), "--out", str(tmp_path / "one")]) == 1
    assert "shards 1/2 are missing" in capsys.readouterr().err


def test_version_names_the_package_and_its_dependencies():
    result = run_cli("--version")
    assert result.returncode == 0
    for name in ("pytensor-onnx-conformance", "pytensor", "onnx", "onnxruntime", "numpy", "hypothesis"):
        assert name in result.stdout, result.stdout


def test_a_closed_pipe_ends_list_quietly():
    """``python -m harness list | head -1``: exit 0, no BrokenPipeError traceback."""
    listing = subprocess.Popen([sys.executable, "-m", "harness", "list"], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    first = listing.stdout.readline()
    listing.stdout.close()  # the reader leaves, as head does
    stderr = listing.stderr.read().decode()
    assert listing.wait(timeout=120) == 0 and first.startswith(b"add"), stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr


def test_every_argument_has_help():
    from harness.cli import build_parser

    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices  # noqa: SLF001
    for name, sub in subparsers.items():
        for action in sub._actions:  # noqa: SLF001
            assert action.help, f"{name} {action.dest} has no help"


def test_native_libraries_output_goes_to_the_cells_record_not_the_terminal(tmp_path):
    # LAPACK prints "** On entry to SGEQRF parameter number 4 had an illegal value" for the empty QR
    # examples of this cell, on standard output
    out = tmp_path / "qr"
    result = run_cli("run", "--ops", "qr_r", "--dtypes", "float32", "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "GEQRF" not in result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("1 cells: 1 pass")
    matrix = pd.read_csv(out / "matrix.csv")
    assert "On entry to SGEQRF" in matrix.loc[0, "native_output"]
