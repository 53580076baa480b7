"""Op names are data: a plugin's entries named like paths, markup and code give reproducers inside
``--out/reproducers`` that run no injected code, and an inert report."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.browser import PWNED, assert_inert, assert_inert_in_chromium

ROOT = Path(__file__).resolve().parents[3]
NAMES = [  # no commas: --ops separates names with them
    "../../pwned",
    "a/b:c",
    f'<script>document.title="{PWNED}"</script>',
    f'"><img src=x onerror="document.title=\'{PWNED}\'">',
    'x"""\n__import__("pathlib").Path(__import__("os").environ["PWN_MARKER"]).touch()\n"""',
    "y'''\n__import__('pathlib').Path(__import__('os').environ['PWN_MARKER']).touch()\n'''",
]
PLUGIN = f'''"""Entries with hostile names, each a mismatch: RoundHalfToEven exported as Floor(x + 0.5)."""
import pytensor.scalar as ps
import pytensor.tensor as pt

from backend import onnx_funcify
from harness.registry import ONNX_OPERATIONS, register


@onnx_funcify.register(ps.RoundHalfToEven)
def onnx_funcify_RoundHalfToEven(op, node, ctx, inputs):
    return [ctx.op.Floor(ctx.op.Add(inputs[0], ctx.constant(0.5, str(node.outputs[0].type.dtype))))]


for name in {NAMES!r}:
    if name not in ONNX_OPERATIONS:
        register(name, arity=1, dtypes=("float64",), build=lambda x: pt.round(x, mode="half_to_even"))
'''


def test_hostile_op_names_stay_data_in_files_scripts_and_pages(tmp_path):
    plugin_dir, out = tmp_path / "plug", tmp_path / "out"
    plugin_dir.mkdir()
    (plugin_dir / "hostile_names.py").write_text(PLUGIN)
    marker = tmp_path / "marker"
    env = {**os.environ, "PYTHONPATH": f"{plugin_dir}{os.pathsep}{ROOT}", "PWN_MARKER": str(marker)}
    result = subprocess.run([sys.executable, "-m", "harness", "run", "--plugin", "hostile_names", "--ops",
                             ",".join(NAMES), "--max-examples", "15", "--jobs", "2", "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 1, result.stdout + result.stderr
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(r["op"] for r in records) == sorted(NAMES)
    assert {r["status"] for r in records} == {"mismatch"}, [(r["op"], r["status"], r["reason"]) for r in records]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "plug"]  # nothing written beside --out
    scripts = [out / r["reproducer"] for r in records]
    assert len(set(scripts)) == len(NAMES)
    for script in scripts:
        assert script.parent == out / "reproducers" and script.is_file()
        replay = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                                env=env, timeout=300)
        assert replay.returncode == 1 and "still diverges" in replay.stdout, replay.stdout + replay.stderr
    assert not marker.exists()  # no name ran as code
    page = out / "report.html"
    markup = assert_inert(page.read_text(), scripts=1)
    assert all(name.splitlines()[0] in markup.text for name in NAMES)
    assert_inert_in_chromium(tmp_path, page)
