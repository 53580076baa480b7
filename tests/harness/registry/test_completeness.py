"""The completeness check: run here and by ``python -m harness check``, never on import."""

import subprocess
import sys
from pathlib import Path
from types import MappingProxyType

import pytensor.tensor as pt
import pytest

from backend import onnx_funcify
from harness.registry import ONNX_OPERATIONS, OpSpec, RegistryError, completeness
from harness.registry.completeness import check_registry

ROOT = Path(__file__).resolve().parents[3]


def test_the_registry_is_complete():
    check_registry()


def test_completeness_check_finds_an_op_without_converter(monkeypatch):
    probe = OpSpec(name="jv_probe", arity=1, dtypes=("float64",), build=lambda x: pt.jv(x, x))
    # first in the registry's order: the check stops at it instead of building every other graph first
    monkeypatch.setattr(completeness, "ONNX_OPERATIONS", {"jv_probe": probe, **ONNX_OPERATIONS})
    with pytest.raises(RegistryError, match="jv_probe .* no ONNX converter"):
        check_registry()
    with pytest.raises(RegistryError, match="jv_probe"):
        check_registry(["jv_probe"])  # what `harness run --plugin` checks: the plugin's entries


def test_completeness_check_finds_an_unexercised_converter(monkeypatch):
    class OrphanOp:
        pass

    def onnx_funcify_OrphanOp(op, node, ctx, inputs):
        return inputs

    # singledispatch cannot unregister, so the registry view is patched instead of registering.
    monkeypatch.setattr(onnx_funcify, "registry",
                        MappingProxyType({**onnx_funcify.registry, OrphanOp: onnx_funcify_OrphanOp}))
    with pytest.raises(RegistryError, match="not exercised.*onnx_funcify_OrphanOp"):
        check_registry()


def test_importing_the_harness_builds_no_graph():
    """What every worker imports must not build the ~1,400 cell graphs: count Apply nodes created."""
    code = (
        "import pytensor.graph.basic as gb\n"
        "made = [0]\n"
        "init = gb.Apply.__init__\n"
        "def counting(self, *a, **k):\n"
        "    made[0] += 1\n"
        "    init(self, *a, **k)\n"
        "gb.Apply.__init__ = counting\n"
        "import harness, harness.conformance.engine, harness.conformance.runner, harness.plugins, harness.conformance.reproducer\n"
        "harness.plugins.load_plugins([])\n"
        "print(made[0])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # one graph per cell would be >= 1,432 Apply nodes; the registry's module-level code builds none
    assert int(result.stdout.strip()) < 50, result.stdout
