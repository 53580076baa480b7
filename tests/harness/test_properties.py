"""The four properties, over every registered op x dtype (adding a registry entry adds its tests),
and type promotion: binary elementwise entries with inputs of mixed dtypes.

A cell whose divergence is declared in the registry is reported as xfail (strict: xpass fails); a
cell the exporter declines on purpose is skipped with the exporter's reason, never silently.
"""

import pytest
from hypothesis import given, settings

from harness.engine import run_cell
from harness.fuzz import fuzzable_ops, judge, programs
from harness.registry import ONNX_OPERATIONS

def _budget(fraction: float) -> settings:
    """The loaded profile with a share of its examples: the shape and dtype properties check what the
    full comparison (every example) checks too, on fewer examples of their own, and the whole suite
    has to fit the CI time budget (ci: 30 examples compared, 9 edge cases, 2 for dtype and shape)."""
    return settings(settings.default, max_examples=max(2, int(settings.default.max_examples * fraction)))


CELLS = [pytest.param(spec, dtype, id=f"{spec.name}-{dtype}") for spec in ONNX_OPERATIONS.values() for dtype in spec.dtypes]
ELEMWISE_CELLS = [p for p in CELLS if p.values[0].elementwise]


def _judge(cell):
    where = f"{cell.op} ({cell.dtype})"
    if cell.status == "pass":
        assert cell.examples > 0, f"{where}: no example was run"
        return
    if cell.status == "xfail":
        pytest.xfail(f"[{cell.category}] {cell.reason}")
    if cell.status == "unsupported":
        pytest.skip(f"exporter declines {where}: {cell.reason}")
    counterexample = f"\ncounterexample: {cell.counterexample!r}" if cell.counterexample is not None else ""
    pytest.fail(f"{where}: {cell.status}: {cell.reason}{counterexample}", pytrace=False)


@pytest.mark.parametrize("spec,dtype", CELLS)
def test_onnx_matches_pytensor(spec, dtype):
    _judge(run_cell(spec, dtype))


@pytest.mark.parametrize("spec,dtype", ELEMWISE_CELLS)
def test_elemwise_preserves_broadcast_shape(spec, dtype):
    _judge(run_cell(spec, dtype, aspects={"shape"}, hypothesis_settings=_budget(0.05), reference_samples=0))


@pytest.mark.parametrize("spec,dtype", CELLS)
def test_operation_preserves_dtype(spec, dtype):
    _judge(run_cell(spec, dtype, aspects={"dtype"}, hypothesis_settings=_budget(0.05), reference_samples=0))


@pytest.mark.parametrize("spec,dtype", CELLS)
def test_operation_handles_edge_cases(spec, dtype):
    _judge(run_cell(spec, dtype, edge_cases=True, hypothesis_settings=_budget(0.3), reference_samples=0))


MIXED_DTYPE_OPS = [pytest.param(name, id=name) for name in fuzzable_ops() if ONNX_OPERATIONS[name].arity >= 2]


@pytest.mark.parametrize("name", MIXED_DTYPE_OPS)
def test_mixed_input_dtypes_follow_pytensors_upcasting(name):
    """Binary and n-ary elementwise entries with inputs of different dtypes (each one the entry
    registers): the export's result dtype, shape and values follow PyTensor's upcasting, judged as
    the fuzzer judges a one-node graph (declared divergences of the entry count as expected)."""
    spec = ONNX_OPERATIONS[name]

    @_budget(1 / 6)
    @given(programs(ops=[name], dtypes=spec.dtypes, max_ops=1))
    def check(program):
        verdict = judge(program, default_mode=False)
        assert verdict.status != "finding", f"{verdict.check}: {verdict.detail}\n{program.source()}"

    check()
