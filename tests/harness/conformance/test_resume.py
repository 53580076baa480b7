"""Resuming reuses a cell only when it was made with the same settings, entry and code; a changed cell
is computed again, a run that computed nothing adds no history point; SIGTERM ends the workers."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from harness.cli import main

ROOT = Path(__file__).resolve().parents[3]
CELL = ["run", "--ops", "add", "--dtypes", "int8", "--jobs", "1"]


def _fingerprints(out):
    return [json.loads(line)["fingerprint"] for line in (out / "results.jsonl").read_text().splitlines()]


def test_a_change_of_examples_or_profile_recomputes_and_a_pure_resume_adds_no_history(tmp_path, capsys):
    out = ["--out", str(tmp_path)]
    assert main([*CELL, "--max-examples", "2", *out]) == 0
    capsys.readouterr()
    assert main([*CELL, "--max-examples", "2", *out]) == 0
    assert "resuming: 1 of 1 cells reused" in capsys.readouterr().err
    assert len((tmp_path / "history.jsonl").read_text().splitlines()) == 1  # nothing new was computed
    assert len(_fingerprints(tmp_path)) == 1
    assert main([*CELL, "--max-examples", "3", *out]) == 0
    assert "resuming" not in capsys.readouterr().err
    assert main([*CELL, "--max-examples", "3", "--profile", "dev", *out]) == 0
    assert "resuming" not in capsys.readouterr().err
    assert len(set(_fingerprints(tmp_path))) == 3
    history = [json.loads(line) for line in (tmp_path / "history.jsonl").read_text().splitlines()]
    assert [(h["computed"], h["reused"]) for h in history] == [(1, 0), (1, 0), (1, 0)]
    assert main([*CELL, "--max-examples", "3", "--profile", "dev", "--fresh", *out]) == 0
    assert len(_fingerprints(tmp_path)) == 1 and len((tmp_path / "history.jsonl").read_text().splitlines()) == 4


PLANTED = ('import pytensor.scalar as ps\nfrom backend import onnx_funcify\n'
           '@onnx_funcify.register(ps.RoundHalfToEven)\n'
           'def onnx_funcify_RoundHalfToEven(op, node, ctx, inputs):\n'
           '    half = ctx.constant(0.5, str(node.outputs[0].type.dtype))\n'
           '    return [ctx.op.Floor(ctx.op.Add(inputs[0], half))]\n')


def test_a_fixed_plugin_is_run_again_not_resumed(tmp_path):
    (tmp_path / "planted_resume.py").write_text(PLANTED)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    command = [sys.executable, "-m", "harness", "run", "--plugin", "planted_resume", "--ops", "round_half_to_even",
               "--dtypes", "float64", "--max-examples", "20", "--out", str(tmp_path / "out")]
    first = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    assert first.returncode == 1 and "mismatch" in first.stdout, first.stdout + first.stderr
    (tmp_path / "planted_resume.py").write_text('"""Fixed: the real converter again."""\n')
    second = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    assert second.returncode == 0 and "resuming" not in second.stderr, second.stdout + second.stderr
    assert list(pd.read_csv(tmp_path / "out" / "matrix.csv")["status"]) == ["pass"]


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's exit status waits for init, which may be slow to collect it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_sigterm_ends_the_run_and_its_workers(tmp_path):
    run = subprocess.Popen([sys.executable, "-m", "harness", "run", "--plugin", "tests.harness.crash_plugin", "--ops",
                            "hang_probe", "--dtypes", "float32", "--jobs", "1", "--out", str(tmp_path)],
                           cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    workers = set()
    deadline = time.monotonic() + 120
    while not workers and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.5)
        workers = _children(run.pid)
    assert workers, "the run started no worker"
    time.sleep(3)  # the worker is inside the hanging converter now
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 143 and "terminated" in err, err
    deadline = time.monotonic() + 15
    while {pid for pid in workers if _running(pid)} and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not {pid for pid in workers if _running(pid)}
