"""The README is the user's manual: its plugin example works as written, the files it points to exist,
and it stays short enough to read."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_the_plugin_example_registers_an_op_that_the_matrix_runs(tmp_path):
    (block,) = re.findall(r"```python\n(# my_plugin\.py.*?)```", README, re.S)
    (tmp_path / "my_plugin.py").write_text(block)
    command = re.search(r"python -m harness run --plugin my_plugin --ops relu", block).group(0).split()[1:]
    env = dict(os.environ, PYTHONPATH=f"{tmp_path}{os.pathsep}{ROOT}")
    ran = subprocess.run([sys.executable, *command, "--profile", "dev", "--out", str(tmp_path / "out")],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "3 cells: 3 pass" in ran.stdout


def test_the_files_the_readme_points_to_exist():
    paths = set(re.findall(r"`((?:docs/[\w.-]+\.md)|CHANGELOG\.md|\.ci/run|tox\.ini|\.github/workflows/[\w.]+)`",
                           README))
    assert {"docs/exporting.md", "CHANGELOG.md"} <= paths
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert not missing, f"README points to missing files: {missing}"


def test_the_readme_is_a_manual_not_a_log():
    assert len(README.splitlines()) <= 260
    assert not re.search(r"20\d\d-\d\d-\d\d", README), "dated measurements belong in CHANGELOG.md"
