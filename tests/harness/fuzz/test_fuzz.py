"""Composition fuzzing (harness/fuzz/, ``harness fuzz``): the graph strategy, the verdicts, the
command's report, and a planted exporter bug that only shows between two computed operands."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, reject, settings

from common.files import append_json_line, read_json_lines
from harness.cli import main
from harness.conformance.promotion import promotion_ops, promotion_programs, run_promotion_cell
from harness.fuzz.journal import journal_path, journal_totals, rounds_done
from harness.fuzz.judge import judge
from harness.fuzz.programs import Node, Program, fuzzable_ops, programs
from harness.registry import ONNX_OPERATIONS
from harness.registry.scalar import NUMPY_TAKES_SQRT_FAST_PATH
from harness.testing import reference_function

ROOT = Path(__file__).resolve().parents[3]

# Mul becomes Add when both operands are computed by other ops (casts and broadcasts looked through):
# invisible to every single-op cell, whose operands are graph inputs
PLANTED_MUL = '''
import pytensor.scalar.basic as ps
from pytensor.tensor.elemwise import DimShuffle, Elemwise

from backend import onnx_funcify

_original = onnx_funcify.dispatch(Elemwise)


def _computed(var):
    while var.owner is not None and (isinstance(var.owner.op, DimShuffle) or (
            isinstance(var.owner.op, Elemwise) and isinstance(var.owner.op.scalar_op, ps.Cast))):
        var = var.owner.inputs[0]
    return var.owner is not None


@onnx_funcify.register(Elemwise)
def planted(op, node, ctx, inputs):
    if isinstance(op.scalar_op, ps.Mul) and len(node.inputs) == 2 and all(_computed(v) for v in node.inputs):
        return [ctx.op.Add(*inputs)]
    return _original(op, node, ctx, inputs)
'''


def _plugin_environment(tmp_path, module: str, source: str) -> dict:
    """The environment of a subprocess that can import ``module`` (written from ``source``) as a plugin."""
    plugin_dir = tmp_path / "plug"
    plugin_dir.mkdir()
    (plugin_dir / f"{module}.py").write_text(source)
    return {**os.environ, "PYTHONPATH": f"{plugin_dir}{os.pathsep}{ROOT}"}


def test_programs_refuse_bad_arguments_at_once_naming_them():
    with pytest.raises(ValueError, match="ops is empty"):
        programs(ops=[])
    with pytest.raises(ValueError, match="max_ops=0"):
        programs(ops=["add"], max_ops=0)
    with pytest.raises(ValueError, match="float128"):
        programs(ops=["add"], dtypes=("float128",))
    with pytest.raises(ValueError, match=r"\['sort'\] cannot be fuzzed"):
        fuzzable_ops(["add", "sort"])


@settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(programs(ops=fuzzable_ops(["add", "mul", "exp", "neg", "lt", "switch", "cast_to_int32"]), max_ops=5))
def test_the_printed_source_builds_the_same_graph(program):
    import pytensor.tensor as pt

    from harness.registry import ONNX_OPERATIONS

    namespace = {"pt": pt, "np": np, "ONNX_OPERATIONS": ONNX_OPERATIONS}
    exec(program.source(), namespace)
    inputs, _, outputs = program.build()
    with np.errstate(all="ignore"):
        try:
            built = reference_function(inputs, outputs, on_unused_input="ignore")(*program.values)
        except (ValueError, ArithmeticError, NotImplementedError):
            reject()  # PyTensor cannot evaluate these values (a NaN cast to an integer): nothing to compare
        printed = reference_function(namespace["inputs"], namespace["outputs"], on_unused_input="ignore")(*program.values)
    for a, b in zip(printed, built):
        np.testing.assert_array_equal(a, b)
    # every node and input feeds an output: a minimal graph shows only what matters
    used = {o for n in program.nodes for o in n.operands} | set(program.outputs)
    assert all(f"v{k}" in used for k in range(len(program.nodes)))
    assert all(name in used for name, _, _ in program.inputs)


def test_a_declared_single_op_divergence_inside_a_graph_is_attributed():
    # softplus of bool is declared (PyTensor computes it through numpy's float16 exp)
    program = Program([("x0", "bool", (2,))], {}, [Node("softplus", ("x0",)), Node("add", ("v0", "v0"))], ["v1"],
                      [np.array([False, True])])
    verdict = judge(program)
    assert (verdict.status, verdict.node) == ("xfail", 0)
    assert verdict.declaration.startswith("softplus#softplus-bool-in-float16")


def test_pytensors_own_rewrite_divergence_is_told_apart_and_declared():
    # fusion computes exp of a bool in float16; the export and the graph as built compute in float32
    program = Program([("x0", "bool", ())], {}, [Node("exp", ("x0",)), Node("cast_to_float64", ("v0",))], ["v1"],
                      [np.array(True)])
    verdict = judge(program)
    assert (verdict.status, verdict.check) == ("xfail", "pytensor rewrite")
    assert verdict.declaration == "composition#fused-narrow-input [pytensor]"


def test_ci_fuzz_run_exits_0_writes_its_report_and_resumes(tmp_path, capsys):
    out = tmp_path / "fuzz"
    assert main(["fuzz", "--budget", "300", "--max-graphs", "125", "--seed", "1", "--out", str(out)]) == 0
    first = int(capsys.readouterr().out.split(" graphs in ")[0])
    assert first >= 125
    frame = pd.read_csv(out / "fuzz.csv")
    assert not (frame["kind"] == "finding").any()
    page = (out / "fuzz.html").read_text()
    assert "graphs tried" in page and "time share: export" in page
    # both kinds of program were judged, and their rates are reported apart
    assert "elementwise programs (judged per second)" in page and "structural programs (judged per second)" in page
    assert "valid programs (PyTensor evaluates them)" in page and "drawing and shrinking programs" in page
    # the same command again continues the search: new rounds of the seed, counts added up
    assert main(["fuzz", "--budget", "300", "--max-graphs", "25", "--seed", "1", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "resuming" in captured.err
    assert int(captured.out.split(" graphs in ")[0]) == first + 25, captured.out
    rounds = [entry["round"] for entry in read_json_lines(journal_path(out, 1000))]
    assert rounds == list(range(len(rounds))), rounds  # no round of the seed drawn twice
    assert len({entry["session"] for entry in read_json_lines(journal_path(out, 1000))}) == 2
    assert main(["fuzz", "--budget", "300", "--max-graphs", "5", "--seed", "1", "--out", str(out), "--fresh"]) == 0
    assert int(capsys.readouterr().out.split(" graphs in ")[0]) == 5


def _journal_line(session, seed, round_, seconds, graphs, findings=()):
    return dict(session=session, seed=seed, round=round_, seconds=seconds, interrupted=False, graphs=graphs,
                passed=graphs, amplified=0, attributed=0, unsupported=0, invalid=0, attributions={"a#1": 1},
                phase_seconds={"export": 1.0}, rewrite_failures={}, findings=list(findings))


def test_journal_totals_add_sessions_and_keep_each_finding_once(tmp_path):
    row = dict(kind="finding", key="k1", check="values")
    for entry in (_journal_line("s1", 1000, 0, 10.0, 25, [row]), _journal_line("s1", 1000, 1, 5.0, 25)):
        append_json_line(journal_path(tmp_path, 1000), entry)
    append_json_line(journal_path(tmp_path, 1001), _journal_line("s1", 1001, 0, 12.0, 25, [row]))
    append_json_line(journal_path(tmp_path, 1000), _journal_line("s2", 1000, 2, 3.0, 10))
    with open(journal_path(tmp_path, 1000), "a") as f:
        f.write('{"session": "s3", "seed": 10')  # a line cut short by a killed run
    totals = journal_totals(tmp_path)
    assert totals.counts["graphs"] == 85 and totals.sessions == 2 and totals.seeds == [1000, 1001]
    assert totals.seconds == 15.0 + 3.0  # per session its longest job (15 s > 12 s), sessions added
    assert [f["key"] for f in totals.findings] == ["k1"]
    assert totals.attributions == {"a#1": 4} and totals.phase_seconds == {"export": 4.0}
    assert rounds_done(tmp_path, 1000) == 3 and rounds_done(tmp_path, 1001) == 1 and rounds_done(tmp_path, 7) == 0


def test_bad_fuzz_usage_exits_2(capsys):
    assert main(["fuzz", "--budget", "0"]) == 2
    assert main(["fuzz", "--ops", "alloc_empty,no_such_op"]) == 2
    err = capsys.readouterr().err
    assert "cannot be fuzzed" in err and "alloc_empty: its values are undefined" in err
    assert "no_such_op: not a registry entry" in err


def test_fuzz_list_names_every_entry_and_why_some_are_not_fuzzed(capsys):
    assert main(["fuzz", "--list"]) == 0
    captured = capsys.readouterr()
    rows = [line.split("\t") for line in captured.out.splitlines()]
    assert [name for name, _, _ in rows] == list(ONNX_OPERATIONS)
    how = {name: text for name, _, text in rows}
    assert how["add"] == "elementwise and mixed programs" and how["cholesky"] == "mixed programs"
    assert how["assert_op"].startswith("not fuzzed: raises by design")
    fuzzable = sum(not text.startswith("not fuzzed") for text in how.values())
    assert fuzzable >= 0.9 * len(ONNX_OPERATIONS), captured.err  # the target share
    assert f"{fuzzable} of {len(ONNX_OPERATIONS)} registry entries fuzzable" in captured.err


@settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(programs(ops=["sum", "cumsum", "sort", "exp", "matmul", "cholesky", "advanced_subtensor1", "add"],
                dtypes=("float64",), max_ops=5, gradient_share=0.5, constant_share=0.3))
def test_mixed_programs_print_as_the_graph_they_build(program):
    import pytensor
    import pytensor.tensor as pt

    namespace = {"pt": pt, "np": np, "pytensor": pytensor, "ONNX_OPERATIONS": ONNX_OPERATIONS}
    exec(program.source(), namespace)
    inputs, values, outputs = program.build()
    assert [o.type for o in namespace["outputs"]] == [o.type for o in outputs]
    assert [str(o.owner.op) if o.owner else "" for o in namespace["outputs"]] == \
        [str(o.owner.op) if o.owner else "" for o in outputs]
    # every node feeds an output (pruned), and each gradient output is named after an input
    names = set(program.outputs) | {o for node in program.nodes for o in node.operands} | {program.cost}
    assert all(set(node.value_names(k)) & names for k, node in enumerate(program.nodes))
    assert set(program.wrt) <= {name for name, _, _ in program.inputs}


def test_mixed_programs_compose_families_constants_and_gradients():
    from hypothesis import find

    quiet = settings(max_examples=500, database=None, suppress_health_check=list(HealthCheck))
    strategy = programs(ops=["sum", "cumsum", "matmul", "exp", "cholesky"], dtypes=("float64",), max_ops=5)
    # a reduction reading a value another op computed, a constant operand, a gradient: each is drawn
    chained = find(strategy, lambda p: any(n.op == "sum" and any(o.startswith("v") for o in n.operands)
                                           for n in p.nodes), settings=quiet)
    assert chained.kind == "structural"
    assert find(strategy, lambda p: bool(p.constants) and p.kind != "elementwise", settings=quiet).constants
    with_gradient = find(strategy, lambda p: bool(p.cost), settings=quiet)
    assert [o for o in with_gradient.outputs if o.startswith("g")] == [f"g{i}" for i in range(len(with_gradient.wrt))]


def test_planted_bug_between_computed_operands_is_found_shrunk_and_reproduced(tmp_path):
    env = _plugin_environment(tmp_path, "planted_mul", PLANTED_MUL)
    out = tmp_path / "fuzz"
    # a graph count, not the time budget, bounds the search: the same graphs on a loaded CI machine
    command = [sys.executable, "-W", "ignore", "-m", "harness", "fuzz", "--budget", "600", "--max-graphs", "150",
               "--seed", "1",
               "--ops", "add,mul,exp,neg,sqr,cast_to_float64", "--out", str(out), "--plugin", "planted_mul"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 1, result.stdout + result.stderr[-2000:]
    # PyTensor 2.38's own rewrite bugs are findings too (its fused int8 add overflows a Python int:
    # check "pytensor rewrite"); the planted bug is in the export
    findings = pd.read_csv(out / "fuzz.csv").query("kind == 'finding' and check != 'pytensor rewrite'")
    assert len(findings) >= 1
    smallest = min(findings["graph"], key=lambda g: g.count("ONNX_OPERATIONS["))
    # Hypothesis 6.170 shrinks the finding to 3 nodes or fewer, 6.155 (the oldest supported) to 5; an
    # unshrunk one has dozens
    assert smallest.count("ONNX_OPERATIONS[") <= 5 and "'mul'" in smallest, smallest
    reproducer = out / findings.loc[findings["graph"] == smallest, "reproducer"].iloc[0]
    with_bug = subprocess.run([sys.executable, "-W", "ignore", str(reproducer)], cwd=out, capture_output=True,
                              text=True, env=env, timeout=600)
    assert with_bug.returncode == 1, with_bug.stdout + with_bug.stderr[-2000:]
    fixed_env = {**env, "PYTHONPATH": str(ROOT)}
    script = reproducer.read_text().replace("plugins=['planted_mul']", "plugins=[]")
    reproducer.write_text(script)  # the exporter without the planted bug: the same graph agrees
    fixed = subprocess.run([sys.executable, "-W", "ignore", str(reproducer)], cwd=out, capture_output=True,
                           text=True, env=fixed_env, timeout=600)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr[-2000:]


# Sub of mixed operands computed in the first operand's dtype, then cast to the upcast result dtype:
# the result dtype is right, the values are not (int8 - 0.5 loses the half); invisible to every
# single-dtype cell
PLANTED_SUB = '''
import pytensor.scalar.basic as ps
from pytensor.tensor.elemwise import Elemwise

from backend import onnx_funcify
from backend.dtypes import onnx_dtype

_original = onnx_funcify.dispatch(Elemwise)


@onnx_funcify.register(Elemwise)
def planted(op, node, ctx, inputs):
    dtypes = [v.type.dtype for v in node.inputs]
    if isinstance(op.scalar_op, ps.Sub) and len(set(dtypes)) > 1:
        narrow = [ctx.op.Cast(x, to=onnx_dtype(dtypes[0])) for x in inputs]
        return [ctx.op.Cast(ctx.op.Sub(*narrow), to=onnx_dtype(node.outputs[0].type.dtype))]
    return _original(op, node, ctx, inputs)
'''


@pytest.fixture
def sub_in_first_operands_dtype():
    from pytensor.tensor.elemwise import Elemwise

    from backend import onnx_funcify

    original = onnx_funcify.dispatch(Elemwise)
    exec(PLANTED_SUB, {})
    yield
    onnx_funcify.register(Elemwise)(original)


def test_mixed_cell_catches_an_exporter_that_computes_in_the_wrong_dtype(sub_in_first_operands_dtype):
    cell = run_promotion_cell(ONNX_OPERATIONS["sub"], hypothesis_settings=settings(max_examples=60, deadline=None,
                                                                                    database=None))
    assert cell.status == "mismatch", cell.reason
    assert cell.counterexample.nodes == [Node("sub", ("x0", "x1"))]
    assert len({dtype for _, dtype, _ in cell.counterexample.inputs}) == 2


def test_mixed_operands_are_judged_by_the_entrys_declarations_on_upcast_inputs():
    # numpy's sqrt fast path (pow#numpy-sqrt-fast-path): pow(-inf, 0.5) is nan in PyTensor, +inf in onnxruntime; here the
    # exponent is float32 and the base float64, the cell pow float64 declared it
    if not NUMPY_TAKES_SQRT_FAST_PATH:
        pytest.skip("this numpy has no sqrt fast path: pow(-inf, 0.5) agrees, there is no divergence to judge")
    program = Program([("x0", "float64", ()), ("x1", "float32", ())], {}, [Node("pow", ("x0", "x1"))], ["v0"],
                      [np.array(-np.inf), np.array(0.5, "float32")])
    verdict = judge(program, default_mode=False, strict=True)
    assert (verdict.status, verdict.node) == ("xfail", 0), verdict.detail
    assert verdict.declaration.startswith("pow#numpy-sqrt-fast-path")
    program.values = [np.array(4.0), np.array(0.5, "float32")]  # nothing to excuse
    assert judge(program, default_mode=False, strict=True).status == "pass"


def test_promotion_programs_draw_mixed_dtypes_the_entry_registers():
    with pytest.raises(ValueError, match="op='exp' has no mixed-dtype cell"):
        promotion_programs(op="exp")
    assert "add" in promotion_ops() and "exp" not in promotion_ops()

    @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(promotion_programs(op="bitwise_and"))
    def check(program):
        dtypes = [dtype for _, dtype, _ in program.inputs]
        assert len(set(dtypes)) == 2 and set(dtypes) <= set(ONNX_OPERATIONS["bitwise_and"].dtypes)
        assert [v.dtype.name for v in program.values] == dtypes

    check()


def test_a_failing_mixed_cell_is_in_the_matrix_with_a_reproducer(tmp_path):
    env = _plugin_environment(tmp_path, "planted_sub", PLANTED_SUB)
    out = tmp_path / "run"
    command = [sys.executable, "-W", "ignore", "-m", "harness", "run", "--profile", "ci", "--ops", "sub",
               "--dtypes", "int8,mixed", "--out", str(out), "--jobs", "1", "--plugin", "planted_sub"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 1, result.stdout + result.stderr[-2000:]
    matrix = pd.read_csv(out / "matrix.csv").set_index("dtype")
    assert matrix.loc["int8", "status"] == "pass" and matrix.loc["mixed", "status"] == "mismatch"
    reproducer = out / matrix.loc["mixed", "reproducer"]
    with_bug = subprocess.run([sys.executable, "-W", "ignore", str(reproducer)], cwd=out, capture_output=True,
                              text=True, env=env, timeout=600)
    assert with_bug.returncode == 1, with_bug.stdout + with_bug.stderr[-2000:]
    script = reproducer.read_text().replace("plugins=['planted_sub']", "plugins=[]")
    reproducer.write_text(script)
    fixed = subprocess.run([sys.executable, "-W", "ignore", str(reproducer)], cwd=out, capture_output=True,
                           text=True, env={**env, "PYTHONPATH": str(ROOT)}, timeout=600)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr[-2000:]


def test_composition_divergences_are_declared_like_registry_entries():
    from harness.fuzz.judge import KNOWN_DIVERGENCES, CompositionDivergence
    from harness.registry import RegistryError

    assert all(d.label == f"composition#{d.id} [{d.category}]" for d in KNOWN_DIVERGENCES)
    assert len({d.id for d in KNOWN_DIVERGENCES}) == len(KNOWN_DIVERGENCES)
    with pytest.raises(RegistryError, match="unknown xfail category"):
        CompositionDivergence("some-graph", "whatever", "a reason", "as built", lambda program: True)
    with pytest.raises(RegistryError, match="lowercase words"):
        CompositionDivergence("Some graph", "pytensor", "a reason", "as built", lambda program: True)


def test_an_abort_in_a_fuzz_job_is_isolated_at_one_job_and_the_report_is_written(tmp_path):
    """Every job runs in a process of its own: an abort in the exporter ends that job, not the command."""
    result = subprocess.run([sys.executable, "-m", "harness", "fuzz", "--plugin", "tests.harness.crash_plugin", "--ops",
                             "crash_probe", "--budget", "60", "--max-graphs", "3", "--seed", "1", "--out",
                             str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "died (exit code -6" in result.stderr and (tmp_path / "fuzz.html").exists(), result.stderr
    assert "died (exit code -6" in (tmp_path / "fuzz.html").read_text()


def test_fresh_fuzz_keeps_a_conformance_runs_files_in_the_same_directory(tmp_path, capsys):
    (tmp_path / "reproducers").mkdir()
    kept = [tmp_path / "results.jsonl", tmp_path / "reproducers" / "exp-float32-opset18-0a1b2c3d.py"]
    for path in kept:
        path.write_text("x")
    (tmp_path / "reproducers" / "finding-0123456789ab.py").write_text("an earlier finding")
    assert main(["fuzz", "--ops", "add", "--budget", "30", "--max-graphs", "2", "--seed", "3", "--fresh",
                 "--out", str(tmp_path)]) == 0
    assert all(path.read_text() == "x" for path in kept)
    assert not (tmp_path / "reproducers" / "finding-0123456789ab.py").exists()


# A reduction that reads a value another op computed sums the wrong thing (its maximum): invisible to
# every single-op cell of sum, whose operand is a graph input
PLANTED_REDUCTION = '''
from pytensor.tensor.math import Sum

from backend import onnx_funcify

_original = onnx_funcify.dispatch(Sum)


@onnx_funcify.register(Sum)
def planted(op, node, ctx, inputs):
    if node.inputs[0].owner is not None and op.axis is None:
        return [ctx.op.Cast(ctx.op.ReduceMax(ctx.op.Reshape(inputs[0], ctx.constant([-1], "int64")), keepdims=0),
                            to=1 if node.outputs[0].type.dtype == "float32" else 11)]
    return _original(op, node, ctx, inputs)
'''


def test_planted_reduction_bug_on_computed_values_is_found_in_mixed_programs_and_shrunk(tmp_path):
    env = _plugin_environment(tmp_path, "planted_reduction", PLANTED_REDUCTION)
    out = tmp_path / "fuzz"
    command = [sys.executable, "-W", "ignore", "-m", "harness", "fuzz", "--budget", "600", "--max-graphs", "60",
               "--seed", "1", "--ops", "sum,exp,neg,sort,cumsum", "--dtypes", "float64",
               "--out", str(out), "--plugin", "planted_reduction"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 1, result.stdout + result.stderr[-2000:]
    findings = pd.read_csv(out / "fuzz.csv").query("kind == 'finding'")
    smallest = min(findings["graph"], key=lambda g: g.count(" = "))
    nodes = [line for line in smallest.splitlines() if line.startswith("v")]
    assert len(nodes) <= 4 and "'sum'" in smallest, smallest
    assert findings.loc[findings["graph"] == smallest, "node"].iloc[0].endswith("(sum)")


# The gradient's fill (``second(a, b)``: b broadcast to a's shape) returns a instead: it is in no
# registry entry's forward graph, only in gradients
PLANTED_SECOND = '''
import pytensor.scalar.basic as ps
from pytensor.tensor.elemwise import Elemwise

from backend import onnx_funcify

_original = onnx_funcify.dispatch(Elemwise)


@onnx_funcify.register(Elemwise)
def planted(op, node, ctx, inputs):
    if isinstance(op.scalar_op, ps.Second):
        return [ctx.op.Identity(inputs[0])]
    return _original(op, node, ctx, inputs)
'''


def test_a_gradient_only_divergence_is_localised_to_the_gradients_node():
    from pytensor.tensor.elemwise import Elemwise

    from backend import onnx_funcify

    original = onnx_funcify.dispatch(Elemwise)
    exec(PLANTED_SECOND, {})
    try:
        program = Program([("x0", "float64", (2,))], {}, [Node("exp", ("x0",), (), "float64")], ["v0", "g0"],
                          [np.array([0.5, 2.0])], cost="v0", wrt=("x0",), kind="gradient")
        verdict = judge(program, default_mode=False)
    finally:
        onnx_funcify.register(Elemwise)(original)
    assert (verdict.status, verdict.check) == ("finding", "as built"), verdict
    assert verdict.detail.startswith("gradient node Second"), verdict.detail
    assert judge(program, default_mode=False).status == "pass"  # the exporter as it is


def test_a_finding_keeps_only_the_outputs_it_needs():
    import time

    from pytensor.tensor.math import Sum

    from backend import onnx_funcify
    from harness.fuzz.search import Finding, fewer_outputs

    original = onnx_funcify.dispatch(Sum)
    exec(PLANTED_REDUCTION, {})
    try:
        program = Program([("x0", "float64", (2,)), ("x1", "float64", (3,))], {},
                          [Node("neg", ("x0",), (), "float64"), Node("exp", ("x1",), (), "float64"),
                           Node("sum", ("v1",), (("axis", None),), "float64")], ["v0", "v2", "v1"],
                          [np.array([1.0, 2.0]), np.array([0.5, 1.0, 2.0])], kind="structural")
        verdict = judge(program, default_mode=False)
        assert (verdict.status, verdict.node) == ("finding", 2), verdict
        reduced = fewer_outputs(Finding(program, verdict), time.monotonic() + 120).program
    finally:
        onnx_funcify.register(Sum)(original)
    assert [n.op for n in reduced.nodes] == ["exp", "sum"] and reduced.outputs == ["v1"]
    assert [name for name, _, _ in reduced.inputs] == ["x1"]


def test_a_fuzz_search_reports_progress_while_its_jobs_run(tmp_path, capsys):
    from harness.fuzz.commands import run_jobs

    job = (tmp_path, "session", (), dict(budget=4.0, seed=5, ops=["add", "exp"], dtypes=("float64",), max_ops=3,
                                         max_graphs=None))
    assert run_jobs([job], 4.0, progress_seconds=1.0) == []
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("progress: ")]
    assert lines and all(" graphs judged, " in line and " s of 4 s" in line for line in lines), lines
    # the job's own output (PyTensor's, native libraries') went to its file, not the terminal
    assert (tmp_path / "fuzz-journal" / "seed-5.output.txt").is_file()


def test_a_graphs_time_limit_survives_a_swallowed_alarm():
    import time

    from harness.fuzz.search import GraphTimeout, time_limit

    started = time.monotonic()
    with pytest.raises(GraphTimeout):
        with time_limit(0.1):
            try:
                time.sleep(2)
            except GraphTimeout:
                pass  # what a garbage-collector callback does with an exception raised inside it
            time.sleep(5)  # the alarm comes again
    assert time.monotonic() - started < 3
