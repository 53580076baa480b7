"""The four properties, over every registered op x dtype (adding a registry entry adds its tests),
and type promotion: binary elementwise entries with inputs of mixed dtypes.

A cell whose divergence is declared in the registry is reported as xfail (strict: xpass fails); a
cell the exporter declines on purpose is skipped with the exporter's reason, never silently.
"""

import pytest
from hypothesis import settings

from harness.conformance.engine import run_cell
from harness.conformance.promotion import promotion_ops, run_promotion_cell
from harness.registry import ONNX_OPERATIONS
from strategies.profiles import examples_for


def _budget(spec, fraction: float) -> settings:
    """The loaded profile with a share of its examples: the shape and dtype properties check what the
    full comparison (every example) checks too, on fewer examples of their own, and the whole suite
    has to fit the CI time budget (ci: 16 examples compared, 7 edge cases, 2 for dtype and shape; an
    entry's ``ci_example_share`` scales them in the ci profile)."""
    max_examples = max(2, int(settings.default.max_examples * fraction))
    return settings(settings.default, max_examples=examples_for(max_examples, ci_share=spec.ci_example_share))


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
    _judge(run_cell(spec, dtype, hypothesis_settings=_budget(spec, 1)))


@pytest.mark.parametrize("spec,dtype", ELEMWISE_CELLS)
def test_elemwise_preserves_broadcast_shape(spec, dtype):
    _judge(run_cell(spec, dtype, aspects={"shape"}, hypothesis_settings=_budget(spec, 0.05), reference_samples=0))


@pytest.mark.parametrize("spec,dtype", CELLS)
def test_operation_preserves_dtype(spec, dtype):
    _judge(run_cell(spec, dtype, aspects={"dtype"}, hypothesis_settings=_budget(spec, 0.05), reference_samples=0))


# gradient rows draw finite inputs in both kinds of run (`harness.registry.gradients`): their edge-case
# run would repeat the comparison above
@pytest.mark.parametrize("spec,dtype", [p for p in CELLS if p.values[0].family != "gradients"])
def test_operation_handles_edge_cases(spec, dtype):
    _judge(run_cell(spec, dtype, edge_cases=True, hypothesis_settings=_budget(spec, 0.45), reference_samples=0))


MIXED_CELLS = [pytest.param(ONNX_OPERATIONS[name], id=f"{name}-mixed") for name in promotion_ops()]


@pytest.mark.parametrize("spec", MIXED_CELLS)
def test_mixed_input_dtypes_follow_pytensors_upcasting(spec):
    """The matrix's mixed cells: the op on inputs of different dtypes (each one the entry registers);
    the result's dtype and shape follow PyTensor's upcasting and its values the entry's bound
    (declared divergences of the entry, on the upcast inputs, count as expected)."""
    _judge(run_promotion_cell(spec, hypothesis_settings=_budget(spec, 1 / 4)))
