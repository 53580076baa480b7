"""The engine catches each kind of planted exporter bug with the ci profile, and shrinks."""

import contextlib

import numpy as np
import pytensor.scalar.basic as ps
import pytest
from hypothesis import settings
from pytensor.tensor.elemwise import DimShuffle

from backend import ONNX_OPSET_VERSION, onnx_funcify
from common.status import FAILING, Status
from harness.conformance.engine import (
    compare_arrays,
    compile_signature,
    run_cell,
    special_value_grid_of,
    ulp_distance,
)
from harness.registry import ONNX_OPERATIONS
from strategies.values import ArrayExample, special_values

CI = settings.get_profile("ci")


@contextlib.contextmanager
def planted(op_class, converter):
    """Temporarily replace the converter of ``op_class`` (and drop cached compilations)."""
    original = onnx_funcify.registry[op_class]
    onnx_funcify.register(op_class, converter)
    compile_signature.cache_clear()
    try:
        yield
    finally:
        onnx_funcify.register(op_class, original)
        compile_signature.cache_clear()


def _out_dtype(node):
    return str(node.outputs[0].type.dtype)


def ties_rounded_up(op, node, ctx, inputs):
    return [ctx.add_node("Floor", [ctx.add_node("Add", [inputs[0], ctx.constant(0.5, _out_dtype(node))])])]


def maximum_dropping_nan(op, node, ctx, inputs):
    x, y = inputs
    return [ctx.add_node("Where", [ctx.add_node("Greater", [x, y]), x, y])]


def log_hiding_domain_errors(op, node, ctx, inputs):
    return [ctx.add_node("Log", [ctx.add_node("Abs", [inputs[0]])])]


def exp_off_by_1e_6(op, node, ctx, inputs):
    scale = ctx.constant(1 + 1e-6, _out_dtype(node))
    return [ctx.add_node("Mul", [ctx.add_node("Exp", [inputs[0]]), scale])]


def dimshuffle_expanding_at_the_end(op, node, ctx, inputs):
    axes = list(range(op.input_ndim, op.input_ndim + len(op.augment)))
    return [ctx.add_node("Unsqueeze", [inputs[0], ctx.constant(axes, "int64")]) if axes else inputs[0]]


def add_returning_float32(op, node, ctx, inputs):
    return [ctx.cast(ctx.add_node("Add", inputs), _out_dtype(node), "float32")]


PLANTED_BUGS = [
    pytest.param(ps.RoundHalfToEven, ties_rounded_up, "round_half_to_even", "float64", id="ties-rounded-up"),
    pytest.param(ps.Maximum, maximum_dropping_nan, "maximum", "float64", id="nan-dropped"),
    pytest.param(ps.Log, log_hiding_domain_errors, "log", "float64", id="domain-errors-hidden"),
    pytest.param(ps.Exp, exp_off_by_1e_6, "exp", "float64", id="1e-6-relative-error"),
    pytest.param(DimShuffle, dimshuffle_expanding_at_the_end, "add", "float64", id="misplaced-broadcasting"),
    pytest.param(ps.Add, add_returning_float32, "add", "float64", id="changed-output-dtype"),
]


@pytest.mark.parametrize("op_class,converter,op_name,dtype", PLANTED_BUGS)
def test_planted_bug_is_caught_by_ci_profile(op_class, converter, op_name, dtype):
    spec = ONNX_OPERATIONS[op_name]
    with planted(op_class, converter):
        cell = run_cell(spec, dtype, hypothesis_settings=CI)
    assert cell.status in FAILING, f"planted bug not found: {cell}"
    assert cell.counterexample is not None or cell.status == "export_error"


def test_planted_bug_shrinks_to_a_minimal_example():
    """The seed plan's Phase 2.3: a bug that shows only for x >= 2 shrinks to one element."""

    def add_wrong_from_2(op, node, ctx, inputs):
        dtype = _out_dtype(node)
        total = ctx.add_node("Add", inputs)
        big = ctx.cast(ctx.add_node("Not", [ctx.add_node("Less", [inputs[0], ctx.constant(2.0, dtype)])]), "bool", dtype)
        return [ctx.add_node("Add", [total, big])]

    with planted(ps.Add, add_wrong_from_2):
        cell = run_cell(ONNX_OPERATIONS["add"], "float64", hypothesis_settings=CI)
    assert cell.status == "mismatch", cell
    x, y = cell.counterexample.arrays
    assert x.size == 1 and y.size <= 1, f"not shrunk: {cell.counterexample}"
    assert 2 <= x.item() < 2**53


def test_unchanged_converter_passes_after_planting():
    cell = run_cell(ONNX_OPERATIONS["maximum"], "float64", hypothesis_settings=CI)
    assert cell.status == "pass" and cell.examples > 0


# ----------------------------------------------------------------------------------------------
# compare_arrays
# ----------------------------------------------------------------------------------------------

def test_compare_exact_integers_and_dtype():
    assert compare_arrays(np.array([1, 2], "int8"), np.array([1, 2], "int8")).ok
    assert not compare_arrays(np.array([1, 3], "int8"), np.array([1, 2], "int8")).ok
    assert "dtype" in compare_arrays(np.array([1], "int16"), np.array([1], "int8")).problems[0]


def test_compare_nan_inf_and_signed_zero():
    nan, inf = np.nan, np.inf
    assert compare_arrays(np.array([nan, inf, -inf]), np.array([nan, inf, -inf])).ok
    assert "NaN" in compare_arrays(np.array([1.0]), np.array([nan])).problems[0]
    assert "infinities" in compare_arrays(np.array([-inf]), np.array([inf])).problems[0]
    big = np.finfo("float64").max
    assert not compare_arrays(np.array([big]), np.array([inf]), max_ulp=10).ok  # 1 ULP apart, still wrong
    assert "sign of zero" in compare_arrays(np.array([0.0]), np.array([-0.0])).problems[0]
    assert compare_arrays(np.array([0.0]), np.array([-0.0]), signed_zeros=False).ok


def test_compare_ulp_bound_and_error_measures():
    a = np.array([1.0, 2.0], "float32")
    b = np.nextafter(a, np.float32(3))
    result = compare_arrays(b, a, max_ulp=1)
    assert result.ok and result.max_ulp_err == 1
    assert result.max_rel_err == pytest.approx(np.finfo("float32").eps, rel=1e-6)
    assert not compare_arrays(b, a, max_ulp=0).ok


def test_ulp_distance_crosses_zero():
    tiny = np.finfo("float64").smallest_subnormal
    assert ulp_distance(np.array([-tiny]), np.array([tiny]))[0] == 2
    assert ulp_distance(np.array([-0.0]), np.array([0.0]))[0] == 0


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("start", [1.0, -3.5, 1e300, 6e-39])
def test_ulp_distance_counts_single_steps_at_every_magnitude(dtype, start):
    # float64 bit patterns exceed 2**53: counting them in float64 would round a few ULP away to 0
    with np.errstate(over="ignore"):
        a = np.array([start], dtype)
    if not np.isfinite(a).all() or a[0] == 0:
        pytest.skip(f"{start} does not fit {dtype}")
    b = a
    for _ in range(3):
        b = np.nextafter(b, np.array([np.inf], dtype))
    assert ulp_distance(a, b)[0] == 3
    assert not compare_arrays(b, a, max_ulp=2).ok


def test_scale_accepts_errors_of_the_terms_that_cancel_and_no_more():
    # 1e-3 computed as (1 + 1e-3) - 1: an error of one ulp(1) is 1e5 ULP of the result, yet within
    # 2 ULP of the terms' magnitude; 3 ulp(1) is not
    expected = np.array([1e-3])
    one_ulp_off = expected + np.spacing(1.0)
    assert not compare_arrays(one_ulp_off, expected, max_ulp=2).ok
    assert compare_arrays(one_ulp_off, expected, max_ulp=2, scale=np.array([1.0])).ok
    assert not compare_arrays(expected + 3 * np.spacing(1.0), expected, max_ulp=2, scale=np.array([1.0])).ok


def test_engine_reuses_one_compilation_per_signature():
    compile_signature.cache_clear()
    run_cell(ONNX_OPERATIONS["add"], "int32", hypothesis_settings=CI)
    info = compile_signature.cache_info()
    assert info.misses > 0 and info.hits > 0 and info.misses < info.hits + info.misses, info


# ----------------------------------------------------------------------------------------------
# Declarations, each judged on its own
# ----------------------------------------------------------------------------------------------

def exp_wrong_for_negative_inputs(op, node, ctx, inputs):
    """exp(x) + 1 wherever x < 0: diverges exactly on examples with a negative element."""
    dtype = _out_dtype(node)
    (x,) = inputs
    negative = ctx.cast(ctx.op.Less(x, ctx.constant(0.0, dtype)), "bool", dtype)
    return [ctx.op.Add(ctx.op.Exp(x), negative)]


def _has_negative(example):
    return bool((np.asarray(example.arrays[0]) < 0).any())


def _empty(example):
    return np.asarray(example.arrays[0]).size == 0


@pytest.fixture
def exp_entry(monkeypatch):
    """A fresh entry for exp (float64), registered for the test only, to declare divergences on."""
    from harness.registry import OpSpec

    spec = OpSpec(name="exp_probe", arity=1, dtypes=("float64",), build=ONNX_OPERATIONS["exp"].build,
                  tolerance=ONNX_OPERATIONS["exp"].tolerance)
    monkeypatch.setitem(ONNX_OPERATIONS, spec.name, spec)
    return spec


def test_the_declaration_that_fired_is_reported_not_the_first(exp_entry):
    spec = exp_entry.xfail(id="never-holds", reason="never holds", category="pytensor", when=lambda example: False).xfail(
        id="negative-inputs", reason="negative inputs", category="onnxruntime-kernel", when=_has_negative)
    with planted(ps.Exp, exp_wrong_for_negative_inputs):
        cell = run_cell(spec, "float64", hypothesis_settings=CI)
    assert cell.status == "xfail", cell
    assert cell.category == "onnxruntime-kernel" and cell.declaration == "exp_probe#negative-inputs [onnxruntime-kernel]"
    assert "negative inputs" in cell.reason and "never holds" not in cell.reason


def test_a_stale_declaration_is_xpass_although_another_fires(exp_entry):
    spec = exp_entry.xfail(id="negative-inputs", reason="negative inputs", category="onnxruntime-kernel", when=_has_negative).xfail(
        id="empty-arrays", reason="empty arrays", category="pytensor", when=_empty)
    with planted(ps.Exp, exp_wrong_for_negative_inputs):
        cell = run_cell(spec, "float64", hypothesis_settings=CI)
    assert cell.status == "xpass", cell
    assert cell.declaration == "exp_probe#empty-arrays [pytensor]"
    assert "empty arrays" in cell.reason and "exp_probe#negative-inputs [onnxruntime-kernel] diverged" in cell.reason


def test_an_unpredictable_declaration_is_not_stale_when_it_holds_without_diverging(exp_entry):
    spec = exp_entry.xfail(id="negative-inputs", reason="negative inputs", category="onnxruntime-kernel", when=_has_negative).xfail(
        id="empty-arrays", reason="empty arrays", category="pytensor", when=_empty, unpredictable="for this test")
    with planted(ps.Exp, exp_wrong_for_negative_inputs):
        cell = run_cell(spec, "float64", hypothesis_settings=CI)
    assert cell.status == "xfail" and cell.declaration == "exp_probe#negative-inputs [onnxruntime-kernel]", cell


def test_a_whole_cell_declaration_decides_divergences_a_conditional_one_also_covers(exp_entry):
    # a bug of an old onnxruntime declared on an entry whose cell is declared as a whole already
    spec = exp_entry.xfail(id="whole-cell", reason="the whole cell", category="pytensor").xfail(
        id="negative-inputs", reason="negative inputs", category="onnxruntime-kernel", when=_has_negative, unpredictable="test")
    with planted(ps.Exp, exp_wrong_for_negative_inputs):
        cell = run_cell(spec, "float64", hypothesis_settings=CI)
    assert cell.status == "xfail" and cell.declaration == "exp_probe#whole-cell [pytensor]", cell


def test_a_divergence_no_declaration_covers_is_a_mismatch_with_its_counterexample(exp_entry):
    spec = exp_entry.xfail(id="empty-arrays", reason="empty arrays", category="pytensor", when=_empty, unpredictable="test")
    with planted(ps.Exp, exp_wrong_for_negative_inputs):
        cell = run_cell(spec, "float64", hypothesis_settings=CI)
    assert cell.status == "mismatch"
    assert _has_negative(cell.counterexample)


def test_the_reference_evaluator_attributes_only_divergences_no_declaration_explains(exp_entry, monkeypatch):
    """onnx's evaluator runs in Python (seconds per example on a Loop graph): the cell's first example
    gets it, and a divergence only where no declaration already says what it is."""
    from onnx.reference import ReferenceEvaluator

    evaluated = []
    original_run = ReferenceEvaluator.run
    monkeypatch.setattr(ReferenceEvaluator, "run", lambda self, *a, **k: evaluated.append(a[1]) or original_run(
        self, *a, **k))
    declared = exp_entry.xfail(id="negative-inputs", reason="negative inputs", category="onnxruntime-kernel", when=_has_negative)
    with planted(ps.Exp, exp_wrong_for_negative_inputs):
        cell = run_cell(declared, "float64", hypothesis_settings=CI)
    assert cell.status == "xfail" and cell.xfailed_examples > 1, cell
    assert len(evaluated) == 1  # the first example only
    declared.xfails.clear()
    evaluated.clear()
    with planted(ps.Exp, exp_wrong_for_negative_inputs):
        cell = run_cell(declared, "float64", hypothesis_settings=CI)
    assert cell.status == "mismatch"
    assert any(_has_negative(ArrayExample(tuple(feed.values()), (), ())) for feed in evaluated)
    assert "reference evaluator agrees with" in cell.reason


def test_derandomized_cells_draw_the_same_examples_whatever_the_engine_source():
    from harness.conformance.engine import cell_seed

    assert cell_seed("exp", "float64", {"values"}, False) == cell_seed("exp", "float64", ["values"], False)
    assert cell_seed("exp", "float64", {"values"}, False) != cell_seed("exp", "float32", {"values"}, False)
    first = run_cell(ONNX_OPERATIONS["exp"], "float64", hypothesis_settings=CI)
    second = run_cell(ONNX_OPERATIONS["exp"], "float64", hypothesis_settings=CI)
    assert (first.examples, first.max_ulp_err, first.max_abs_err) == (second.examples, second.max_ulp_err,
                                                                     second.max_abs_err)


def test_a_declared_runtime_failure_is_xfail_in_a_dtype_only_run_too():
    """dot on uint32 fails in onnxruntime for an empty contraction (declared): the dtype and shape
    properties compare no values but must still excuse the declared failure, not report it."""
    spec = ONNX_OPERATIONS["dot"]
    cell = run_cell(spec, "uint32", aspects={"dtype"}, hypothesis_settings=CI, reference_samples=0)
    assert cell.status == "xfail" and cell.declaration == "dot#empty-contraction [onnxruntime-kernel]", cell
    assert 0 < cell.xfailed_examples < cell.examples


def division_losing_the_sign_of_zero(op, node, ctx, inputs):
    """x / y computed as x / (y + 0.0): -0.0 + 0.0 is +0.0, so x / -0.0 becomes +inf for x > 0."""
    dtype = _out_dtype(node)
    x, y = (ctx.cast(name, str(var.type.dtype), dtype) for name, var in zip(inputs, node.inputs))
    return [ctx.add_node("Div", [x, ctx.add_node("Add", [y, ctx.constant(0.0, dtype)])])]


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_the_special_value_grid_catches_a_division_losing_the_sign_of_zero_in_the_ci_profile(dtype):
    """Whatever the cell's seed: the grid holds x / -0.0 for every special x in every profile."""
    with planted(ps.TrueDiv, division_losing_the_sign_of_zero):
        for seed in (0, 1, 2):
            result = run_cell(ONNX_OPERATIONS["true_div"], dtype, hypothesis_settings=CI, seed=seed)
            assert result.status == Status.MISMATCH, (seed, result.status, result.reason)
            x, y = result.counterexample.arrays  # one row of the grid, or what Hypothesis shrank to
            assert x.size == 1 and y.size == 1 and y.item() == 0 and np.signbit(y).all(), result.counterexample


def test_the_special_value_grid_holds_every_pair_of_special_values():
    grid = special_value_grid_of("true_div", "float32")
    pairs = {(float(a), bool(np.signbit(a)), float(b), bool(np.signbit(b))) for a, b in zip(*grid.arrays)}
    specials = special_values("float32")
    assert len(grid.arrays[0]) == len(specials) ** 2
    assert (1.0, False, 0.0, True) in pairs and (-np.inf, True, -0.0, True) in pairs
    assert special_value_grid_of("true_div", "float32") is grid  # built once per cell
    assert special_value_grid_of("sum", "float32") is None  # not elementwise: Hypothesis draws only


def test_reference_agrees_is_unavailable_with_the_reason_when_the_evaluator_cannot_run():
    from harness.conformance.engine import CellResult, ExampleOutcome

    cell = CellResult("exp", "float32", status="pass")
    cell.record(ExampleOutcome("pass", reference_unavailable="NotImplementedError: no Foo in the evaluator"))
    assert (cell.reference_agrees, cell.reference_unavailable) == ("unavailable", "NotImplementedError: no Foo in the evaluator")
    # an example the evaluator did judge decides the cell's value
    cell.record(ExampleOutcome("pass", reference_agrees_ort=True, reference_agrees_pytensor=True))
    assert cell.reference_agrees is True
    cell.record(ExampleOutcome("pass", reference_agrees_ort=True, reference_agrees_pytensor=False))
    assert cell.reference_agrees is False
    # never consulted: no value at all
    assert CellResult("exp", "float32", status="pass").reference_agrees is None


def test_an_evaluator_that_raises_makes_the_opinion_unavailable_not_a_disagreement(monkeypatch):
    from harness.conformance.engine import CompiledSignature, run_example
    from strategies.values import ArrayExample

    def broken(self):
        raise NotImplementedError("no Loop of float16 in the evaluator")

    monkeypatch.setattr(CompiledSignature, "reference", broken)
    x = np.array([0.5, 1.0], dtype=np.float32)
    outcome = run_example(ONNX_OPERATIONS["exp"], "float32", ArrayExample((x,), (x.shape,), ("float32",)), reference=True)
    assert outcome.status == "pass"
    assert outcome.reference_agrees_ort is None and outcome.reference_agrees_pytensor is None
    assert outcome.reference_unavailable == "NotImplementedError: no Loop of float16 in the evaluator"


def test_a_bug_only_a_constant_operand_shows_is_caught_and_its_reproducer_holds_the_constant(tmp_path):
    """Multiplication by a graph constant dropped (x * c exported as x): every drawn example and the
    special-value grid feed both operands as inputs and pass; the constant-operand examples do not."""
    import subprocess
    import sys

    from harness.conformance.cells import cell_for

    def mul_ignoring_constants(op, node, ctx, inputs):
        if any(ctx.is_constant(name) for name in inputs):
            return [ctx.add_node("Identity", [next(name for name in inputs if not ctx.is_constant(name))])]
        return [ctx.add_node("Mul", inputs)]

    with planted(ps.Mul, mul_ignoring_constants):
        cell = run_cell(ONNX_OPERATIONS["mul"], "float32", hypothesis_settings=CI)
        assert cell.status == "mismatch", cell
        assert cell.counterexample.constants in ((0,), (1,))
        cell_view = cell_for(ONNX_OPERATIONS["mul"], "float32")
        assert "a graph constant" in cell_view.describe(cell.counterexample)
        script = tmp_path / cell_view.write_reproducer(tmp_path, cell.counterexample, opset=ONNX_OPSET_VERSION,
                                                       plugins=())
    # without the planted converter the saved example agrees (the script holds the constant, not an input)
    fixed = subprocess.run([sys.executable, "-W", "ignore", str(script)], capture_output=True, text=True, timeout=300)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr[-2000:]
    assert "held by the graph as a constant" in fixed.stdout
    assert run_cell(ONNX_OPERATIONS["mul"], "float32", hypothesis_settings=CI).status == "pass"
