"""Reproducer scripts reach the matrix's verdict: they exit 1 exactly while the engine would find the
saved example diverging, 0 once it agrees, for entries whose bounds use ``ulp_dtype`` and
``error_scale`` too (a comparison of their own would get those wrong)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.conformance.engine import compare_arrays, reproduce
from harness.conformance.reproducer import write_reproducer
from harness.registry import ONNX_OPERATIONS
from strategies.values import ArrayExample

ROOT = Path(__file__).resolve().parents[3]

# exp 10% too large, every sum and log_softmax 1e-3 too large: bugs both entries' bounds must catch
PLANTED_BUGS = (
    "import pytensor.scalar.basic as ps\n"
    "from pytensor.tensor.special import LogSoftmax\n"
    "from backend import onnx_funcify\n"
    "from backend.helpers import inputs_as, output_dtype\n"
    "from backend.special import onnx_funcify_Softmax\n"
    "@onnx_funcify.register(LogSoftmax)\n"
    "def onnx_funcify_LogSoftmax(op, node, ctx, inputs):\n"
    "    (result,) = onnx_funcify_Softmax(op, node, ctx, inputs)\n"
    "    return [ctx.op.Add(result, ctx.constant(1e-3, output_dtype(node)))]\n"
    "@onnx_funcify.register(ps.Exp)\n"
    "def onnx_funcify_Exp(op, node, ctx, inputs):\n"
    "    (x,) = inputs_as(node, ctx, inputs, output_dtype(node))\n"
    "    return [ctx.op.Mul(ctx.op.Exp(x), ctx.constant(1.1, output_dtype(node)))]\n"
    "@onnx_funcify.register(ps.Add)\n"
    "def onnx_funcify_Add(op, node, ctx, inputs):\n"
    "    x, y = inputs_as(node, ctx, inputs, output_dtype(node))\n"
    "    return [ctx.op.Add(ctx.op.Add(x, y), ctx.constant(1e-3, output_dtype(node)))]\n"
)


def _example(*arrays, params=()):
    arrays = tuple(np.asarray(a) for a in arrays)
    return ArrayExample(arrays, tuple(a.shape for a in arrays), tuple(a.dtype.name for a in arrays), params)


# Examples the engine accepts only through the entry's own bounds: a comparison in the output's
# float64 ULPs rejects exp(-17) * 1 + 1 (computed in float32, 16 float64 ULPs apart), and one without
# the error scale rejects log_softmax's result next to zero (2047 ULPs, one ulp of the terms).
CASES = [
    pytest.param("composite_exp_mul_add", "int8", _example(np.array([-17], "int8"), np.array([1], "int8")),
                 id="ulp_dtype"),
    pytest.param("log_softmax", "float32",
                 _example(np.concatenate([[0.0], np.linspace(-25, -8, 20)]).astype("float32"),
                          params=(("axis", None),)), id="error_scale"),
]


def _naive_problems(spec, outcome):
    return [p for e, a in zip(outcome.expected, outcome.actual["optimized"])
            for p in compare_arrays(a, e, max_ulp=spec.max_ulp(str(e.dtype)), signed_zeros=spec.signed_zeros).problems]


def _run(script: Path, plugin_dir: Path):
    env = {**os.environ, "PYTHONPATH": f"{plugin_dir}{os.pathsep}{ROOT}"}
    return subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.mark.parametrize("op,dtype,example", CASES)
def test_reproducer_exits_1_while_the_engine_sees_a_divergence_and_0_once_gone(tmp_path, op, dtype, example):
    spec = ONNX_OPERATIONS[op]
    verdict = reproduce(spec, dtype, example)
    assert not verdict.diverges, verdict.outcome.detail
    assert _naive_problems(spec, verdict.outcome), "the case must need the entry's own bounds"

    plugin_dir = tmp_path / "plugins"
    plugin_dir.mkdir()
    (plugin_dir / "planted_bugs.py").write_text(PLANTED_BUGS)
    script = tmp_path / write_reproducer(tmp_path, spec, dtype, 18, example, plugins=["planted_bugs"])

    diverging = _run(script, plugin_dir)
    assert diverging.returncode == 1, diverging.stdout + diverging.stderr
    assert "still diverges" in diverging.stdout and "onnxruntime (unoptimized)" in diverging.stdout

    (plugin_dir / "planted_bugs.py").write_text('"""The converter bugs are fixed: nothing planted."""\n')
    fixed = _run(script, plugin_dir)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "fixed: outputs agree" in fixed.stdout


def test_reproducer_inputs_and_model_are_written_and_closed(tmp_path):
    example = CASES[0].values[2]
    relative = write_reproducer(tmp_path, ONNX_OPERATIONS["composite_exp_mul_add"], "int8", 18, example)
    stem = tmp_path / relative[: -len(".py")]
    with np.load(f"{stem}.npz") as data:
        assert [data[k].tolist() for k in sorted(data.files)] == [[-17], [1]]
    assert Path(f"{stem}.onnx").stat().st_size > 0
    assert not list(tmp_path.rglob(".*tmp-*")), "temporary files left behind"
