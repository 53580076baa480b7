"""Every bad input is a usage error (exit 2) with one line naming what is wrong, found before any cell
runs: durations, output and history paths, plugins that fail to import or build, busy directories,
unreadable data files."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.files import DirectoryLock
from harness.cli import main

ROOT = Path(__file__).resolve().parents[2]
CELL = ["--ops", "add", "--dtypes", "int8", "--max-examples", "2", "--jobs", "1"]


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err  # one line
    return err


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0"])
def test_timeouts_and_budgets_must_be_finite_and_positive(value, tmp_path, capsys):
    assert main(["run", *CELL, "--timeout", value, "--out", str(tmp_path / "o")]) == 2
    assert "--timeout must be a finite number of seconds > 0" in _error(capsys)
    assert main(["fuzz", "--budget", value, "--out", str(tmp_path / "f")]) == 2
    assert "--budget must be a finite number of seconds > 0" in _error(capsys)
    assert not (tmp_path / "o").exists() and not (tmp_path / "f").exists()


def test_unusable_out_and_history_are_refused_before_any_cell(tmp_path, capsys):
    a_file = tmp_path / "a-file"
    a_file.write_text("keep me")
    assert main(["run", *CELL, "--out", str(a_file)]) == 2
    assert "is a file, not a directory" in _error(capsys)
    assert main(["run", *CELL, "--out", str(a_file / "below")]) == 2
    assert "cannot be written" in _error(capsys)
    assert main(["run", *CELL, "--out", str(tmp_path / "o"), "--history", str(tmp_path)]) == 2
    assert "--history" in _error(capsys)
    assert not (tmp_path / "o" / "results.jsonl").exists() and a_file.read_text() == "keep me"
    assert main(["fuzz", "--out", str(a_file)]) == 2 and "is a file" in _error(capsys)
    assert main(["bench", "--out", str(a_file)]) == 2 and "is a file" in _error(capsys)


def test_a_second_command_on_a_busy_directory_is_refused(tmp_path, capsys):
    with DirectoryLock(tmp_path):
        assert main(["run", *CELL, "--out", str(tmp_path)]) == 2
        assert f"in use by pid {os.getpid()}" in _error(capsys)
        assert main(["fuzz", "--ops", "add", "--budget", "5", "--out", str(tmp_path)]) == 2
        assert "another `harness fuzz`" in _error(capsys)
    assert not (tmp_path / "results.jsonl").exists()


@pytest.mark.parametrize("source, expected", [
    ("def broken(:\n", "has a syntax error at"),
    ("x = 1\nraise ZeroDivisionError('at import')\n", "raised ZeroDivisionError while it was imported at"),
    ("import no_such_dependency_module\n", "failed while it was imported: No module named 'no_such_dependency_module'"),
    ("import pytensor.tensor as pt\nfrom harness.registry import register\n"
     "def build(x):\n    raise ValueError('bad builder')\n"
     "register('entry_that_raises', arity=1, dtypes=('float32',), build=build)\n",
     "entry_that_raises (float32): building the entry's graph raised ValueError: bad builder"),
    ("from harness.registry import register\nregister('add_with_bad_tolerance', arity=2, dtypes=('float32',), "
     "build=lambda a, b: a + b, tolerance=5)\n", "tolerance must map dtypes to ULP bounds"),
])
def test_a_plugin_that_fails_is_named_with_exit_2_before_any_cell(source, expected, tmp_path):
    (tmp_path / "bad_plugin.py").write_text(source)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    for command in (["run", *CELL, "--out", str(tmp_path / "o")], ["fuzz", "--budget", "5", "--out", str(tmp_path / "f")],
                    ["list"]):
        result = subprocess.run([sys.executable, "-m", "harness", *command, "--plugin", "bad_plugin"], cwd=ROOT,
                                capture_output=True, text=True, env=env, timeout=300)
        if command == ["list"] and "building the entry" in expected:
            continue  # `list` imports plugins without building their entries
        assert result.returncode == 2, result.stdout + result.stderr
        assert expected in result.stderr and "Traceback" not in result.stderr, result.stderr
        assert "bad_plugin" in result.stderr or "entry_that_raises" in result.stderr
    assert not (tmp_path / "o" / "results.jsonl").exists()


def test_data_files_that_cannot_be_read_are_usage_errors(tmp_path, capsys):
    (tmp_path / "run" / "results.jsonl").mkdir(parents=True)
    assert main(["report", str(tmp_path / "run")]) == 2
    assert "results.jsonl is not a file" in _error(capsys)
    bench_json = tmp_path / "bench.json"
    for content in ("{not json", "[1, 2]", json.dumps({"benchmarks": [{"extra_info": {"backend": "py"}}]})):
        bench_json.write_text(content)
        assert main(["bench", "--from-pytest-benchmark", str(bench_json), "--out", str(tmp_path / "s")]) == 2
        assert str(bench_json) in _error(capsys)


def test_an_empty_shard_says_so(tmp_path, capsys):
    assert main(["run", "--ops", "add", "--dtypes", "int8", "--shard", "1/2", "--out", str(tmp_path)]) == 2
    assert "shard 1/2 holds none of the 1 selected cells" in _error(capsys)


def test_fresh_and_resume_exclude_each_other(capsys):
    assert main(["run", "--fresh", "--resume"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err
