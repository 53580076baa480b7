"""Composition fuzzing: random PyTensor graphs built from the registry's elementwise entries, exported
and run by onnxruntime (graph optimizations on and off) and compiled with PyTensor's default rewrites,
against PyTensor's Python mode.

A graph (`Program`) has 1-3 inputs of mixed dtypes whose shapes broadcast against each other, and up
to ``max_ops`` nodes; each node applies one registry entry's ``build`` to earlier values (inputs,
other nodes, constants), so subexpressions are reused and PyTensor's upcasting decides the types.
Hypothesis draws it (values too), so a failing graph shrinks to a minimal one.

How a graph is judged (no composed error bound is needed):
1. Each output's dtype and shape must equal PyTensor's; NaN and +-inf positions must agree; finite
   values must lie within ``LOOSE_ULPS`` ulps of the largest magnitude in the graph (an accumulation
   of rounding in a long chain stays inside; a wrong operation does not).
2. On a value mismatch the divergence is localised: the graph is exported again with every node as an
   output, and each node's own PyTensor op is evaluated on onnxruntime's values of its inputs and
   held to the entry's ULP bound. The first node that fails is the culprit: its divergence is
   attributed to a declaration of that entry (a whole-cell ``xfail`` for its dtype, or a ``when``
   predicate that holds on those inputs) or else it is a finding. When no node fails alone, the
   difference is rounding amplified by the composition (cancellation), and not a finding - unless
   only the optimized session differs, which is onnxruntime's optimizer's finding.
3. The default-mode function (``fast_run`` rewrites, Python linker) is exported with
   `export_function_onnx` and held to rule 1 against that function's own result.

Signed zeros are not compared (the single-op matrix does that). To fuzz another op: register it as
an elementwise entry without ``examples``/``params``/``shapes``/``error_scale``; `fuzzable_ops` picks
it up.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from backend.dtypes import ALL_DTYPES, MIXED_DTYPES
from harness.registry import ONNX_OPERATIONS
from strategies.values import ArrayExample

DEFAULT_DTYPES = ("float32", "float64", "int8", "int32", "int64", "uint8", "bool")
LOOSE_ULPS = 64  # per node, of the largest magnitude in the graph
# ops whose declared behaviour depends on more than their inputs, or that stop the graph
_NOT_FUZZED = {"assert_op", "assert_symbolic_condition", "op_from_graph_two_outputs", "op_from_graph_nested"}


def fuzzable_ops(names: list[str] | None = None) -> list[str]:
    """Registry entries a fuzzed graph can use: elementwise, inputs drawn independently, no error scale."""
    chosen = []
    for spec in ONNX_OPERATIONS.values():
        plain = (spec.elementwise and spec.examples is None and spec.params is None and spec.shapes is None
                 and spec.error_scale is None and spec.ulp_dtype is None and not spec.dtype_kwarg
                 and spec.values_defined and spec.input_dtypes is None and spec.arity in (1, 2, 3)
                 and spec.name not in _NOT_FUZZED and not spec.name.startswith("graph:"))
        if plain and (names is None or spec.name in names):
            chosen.append(spec.name)
    if names is not None:
        unknown = sorted(set(names) - set(chosen))
        if unknown:
            raise ValueError(f"fuzz: ops {unknown} cannot be fuzzed (not registered, or not plain elementwise "
                             f"entries); fuzzable: {', '.join(fuzzable_ops())}")
    return chosen


# ----------------------------------------------------------------------------------------------
# Programs
# ----------------------------------------------------------------------------------------------

def _literal(value) -> str:
    """Python source for a nested list of numbers, NaN and infinities included."""
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, float) and not np.isfinite(value):
        return f"float({str(value)!r})"
    return repr(value)


def _static(shape) -> tuple:
    """PyTensor's static shape for an input: 1 where the drawn size is 1 (it may broadcast), else unknown."""
    return tuple(1 if size == 1 else None for size in shape)


@dataclass(frozen=True)
class Node:
    op: str
    operands: tuple[str, ...]  # names of earlier values: x0.., c0.., v0..


@dataclass
class Program:
    """A graph: its inputs (name, dtype, shape), constants (name -> array), nodes and outputs."""
    inputs: list[tuple[str, str, tuple[int, ...]]]
    constants: dict[str, np.ndarray]
    nodes: list[Node]
    outputs: list[str]
    values: list[np.ndarray] = field(default_factory=list)  # one array per input

    def signature(self) -> tuple:
        """What identifies a finding's graph: the ops in order with their operands, and the dtypes."""
        return (tuple(d for _, d, _ in self.inputs), tuple((n.op, n.operands) for n in self.nodes),
                tuple(self.outputs))

    def source(self) -> str:
        """The graph as PyTensor code (what a reproducer runs)."""
        lines = []
        for name, dtype, shape in self.inputs:
            lines.append(f"{name} = pt.tensor({name!r}, dtype={dtype!r}, shape={_static(shape)!r})")
        for name, array in self.constants.items():
            lines.append(f"{name} = pt.constant(np.array({_literal(array.tolist())}, dtype={str(array.dtype)!r}))")
        for k, node in enumerate(self.nodes):
            lines.append(f"v{k} = ONNX_OPERATIONS[{node.op!r}].build({', '.join(node.operands)})")
        lines.append(f"inputs = [{', '.join(n for n, _, _ in self.inputs)}]")
        lines.append(f"outputs = [{', '.join(self.outputs)}]")
        return "\n".join(lines)

    def onnx_text(self) -> str:
        """The as-built model in ONNX's text syntax, or why it could not be exported."""
        import onnx

        from backend import export_onnx

        inputs, _, outputs = self.build()
        try:
            return onnx.printer.to_text(export_onnx(inputs, outputs).graph)
        except Exception as exc:  # the finding may be the export failing: show why instead of the model
            return f"(no model: {type(exc).__name__}: {exc})"

    def build(self):
        """(input variables, every node's variable, output variables)."""
        import pytensor.tensor as pt

        env = {}
        inputs = []
        for name, dtype, shape in self.inputs:
            env[name] = pt.tensor(name, dtype=dtype, shape=_static(shape))
            inputs.append(env[name])
        for name, array in self.constants.items():
            env[name] = pt.constant(array)
        nodes = []
        for k, node in enumerate(self.nodes):
            env[f"v{k}"] = ONNX_OPERATIONS[node.op].build(*(env[o] for o in node.operands))
            nodes.append(env[f"v{k}"])
        return inputs, nodes, [env[o] for o in self.outputs]


def _elements(dtype: str) -> st.SearchStrategy:
    """Moderate values with the specials now and then: long chains of huge values only overflow."""
    if dtype == "bool":
        return st.booleans()
    kind = np.dtype(dtype).kind
    if kind in "iu":
        info = np.iinfo(dtype)
        return st.integers(max(int(info.min), -8), min(int(info.max), 8))
    moderate = hnp.from_dtype(np.dtype(dtype), min_value=-6.0, max_value=6.0, allow_subnormal=False)
    specials = st.sampled_from([0.0, -0.0, 0.5, 1.0, -1.0, 2.0, float("nan"), float("inf"), float("-inf")])
    return st.one_of(moderate, moderate, specials)


def _accepts(op: str, dtypes: tuple[str, ...]) -> bool:
    """Whether the entry was registered for each operand's dtype (its cells test them one by one)."""
    return all(d in ONNX_OPERATIONS[op].dtypes for d in dtypes)


def programs(*, ops: list[str], dtypes: tuple[str, ...] = DEFAULT_DTYPES, max_ops: int = 8) -> st.SearchStrategy:
    """Random graphs (`Program`) over ``ops`` with inputs of ``dtypes`` (see the module docstring)."""
    if not ops:
        raise ValueError("programs: ops is empty")
    unknown = [op for op in ops if op not in ONNX_OPERATIONS]
    if unknown:
        raise ValueError(f"programs: ops={unknown!r} are not registry entries")
    if not isinstance(max_ops, int) or max_ops < 1:
        raise ValueError(f"programs: max_ops must be an int >= 1, got max_ops={max_ops!r}")
    bad = [d for d in dtypes if d not in ALL_DTYPES]
    if bad or not dtypes:
        raise ValueError(f"programs: dtypes={dtypes!r}; valid: {ALL_DTYPES}")
    return _programs(list(ops), tuple(dtypes), max_ops)


@st.composite
def _programs(draw, ops: list[str], dtypes: tuple[str, ...], max_ops: int) -> Program:
    import pytensor.tensor as pt

    result_shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3))
    n_inputs = draw(st.integers(1, 3))
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=n_inputs, base_shape=result_shape, max_side=3)).input_shapes
    inputs = [(f"x{k}", draw(st.sampled_from(dtypes)), tuple(shape)) for k, shape in enumerate(shapes)]
    values = [draw(hnp.arrays(np.dtype(d), s, elements=_elements(d))) for _, d, s in inputs]

    env = {name: pt.tensor(name, dtype=d, shape=_static(s)) for name, d, s in inputs}
    constants, nodes = {}, []
    n_nodes = draw(st.integers(1, max_ops))
    for k in range(n_nodes):
        op = draw(st.sampled_from(ops))
        spec = ONNX_OPERATIONS[op]
        operands = []
        for _ in range(spec.arity):
            usable = [n for n, v in env.items() if v.type.dtype in spec.dtypes]
            if draw(st.integers(0, 9)) == 0:  # a constant, now and then
                dtype = draw(st.sampled_from([d for d in dtypes if d in spec.dtypes] or list(spec.dtypes)))
                name = f"c{len(constants)}"
                constants[name] = draw(hnp.arrays(np.dtype(dtype), draw(st.sampled_from([(), (1,)])),
                                                  elements=_elements(dtype)))
                env[name] = pt.constant(constants[name])
                usable = [name]
            if not usable:
                break
            # the newest values first, so that graphs are chains more often than flat fans
            operands.append(draw(st.sampled_from(usable[::-1])))
        if len(operands) < spec.arity or not _accepts(op, tuple(env[o].type.dtype for o in operands)):
            continue
        if all(o in constants for o in operands):
            continue  # a node of constants only is folded away; graphs depend on their inputs
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                variable = spec.build(*(env[o] for o in operands))
        except (TypeError, ValueError, NotImplementedError):
            continue  # PyTensor refuses this dtype combination (e.g. bitwise ops of floats)
        if isinstance(variable, list | tuple) or variable.type.dtype not in ALL_DTYPES:
            continue
        env[f"v{len(nodes)}"] = variable
        nodes.append(Node(op, tuple(operands)))
    if not nodes:
        from hypothesis import reject

        reject()
    outputs = [f"v{len(nodes) - 1}"]
    if len(nodes) > 1 and draw(st.booleans()):
        extra = f"v{draw(st.integers(0, len(nodes) - 2))}"
        outputs.append(extra)
    return _pruned(Program(inputs, constants, nodes, outputs, values))


def _pruned(program: Program) -> Program:
    """Without the nodes, constants and inputs no output depends on (nodes renumbered): a minimal graph
    shows only what matters."""
    needed = set(program.outputs)
    for k in reversed(range(len(program.nodes))):
        if f"v{k}" in needed:
            needed |= set(program.nodes[k].operands)
    kept = [k for k in range(len(program.nodes)) if f"v{k}" in needed]
    rename = {f"v{old}": f"v{new}" for new, old in enumerate(kept)}
    nodes = [Node(program.nodes[k].op, tuple(rename.get(o, o) for o in program.nodes[k].operands)) for k in kept]
    constants = {n: c for n, c in program.constants.items() if n in needed}
    used = [k for k, (name, _, _) in enumerate(program.inputs) if name in needed] or [0]
    return Program([program.inputs[k] for k in used], constants, nodes, [rename[o] for o in program.outputs],
                   [program.values[k] for k in used])


# ----------------------------------------------------------------------------------------------
# Judging one graph
# ----------------------------------------------------------------------------------------------

@dataclass
class Verdict:
    status: str  # pass, amplified (rounding a composition magnified), xfail (declared), finding, unsupported, invalid
    check: str = ""  # which check: "as built", "default mode", "optimizer"
    detail: str = ""
    node: int | None = None  # the culprit node, when localised
    declaration: str = ""
    expected: list | None = None
    actual: list | None = None
    max_ulp_err: float = 0.0  # strict judging: the worst node error, in ULP of its bound's dtype


def _loose_problems(actual, expected, scale: float, n_nodes: int, eps_dtype: str | None = None) -> list[str]:
    """Rule 1 of the module docstring, for one output; ``eps_dtype`` is the narrowest float type the
    graph computes in (a float64 output of a float32 chain carries float32 rounding)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.dtype != expected.dtype:
        return [f"dtype {actual.dtype} != PyTensor's {expected.dtype}"]
    if actual.shape != expected.shape:
        return [f"shape {actual.shape} != PyTensor's {expected.shape}"]
    if expected.dtype.kind not in "fc":
        bad = np.flatnonzero(actual.ravel() != expected.ravel())
        return [f"values differ at flat index {bad[0]}: {actual.ravel()[bad[0]]!r} vs {expected.ravel()[bad[0]]!r}"] \
            if bad.size else []
    a, e = actual.astype(np.float64).ravel(), expected.astype(np.float64).ravel()
    nan_a, nan_e = np.isnan(a), np.isnan(e)
    if (nan_a != nan_e).any():
        i = np.flatnonzero(nan_a != nan_e)[0]
        return [f"NaN positions differ, first at flat index {i}: {a[i]!r} vs {e[i]!r}"]
    inf_a, inf_e = np.isinf(a), np.isinf(e)
    if (inf_a != inf_e).any() or (a[inf_a] != e[inf_e]).any():
        i = np.flatnonzero((inf_a != inf_e) | (inf_a & (a != e)))[0]
        return [f"infinities differ, first at flat index {i}: {a[i]!r} vs {e[i]!r}"]
    finite = np.isfinite(e)
    eps = float(max(np.finfo(expected.dtype).eps, np.finfo(eps_dtype).eps if eps_dtype else 0.0))
    tolerance = LOOSE_ULPS * max(n_nodes, 1) * eps * max(scale, 1.0)
    err = np.abs(a[finite].astype(np.float64) - e[finite].astype(np.float64))
    if err.size and err.max() > tolerance:
        i = np.flatnonzero(finite)[np.argmax(err)]
        return [f"value {a[i]!r} vs PyTensor's {e[i]!r} (error {err.max():.3g} > {tolerance:.3g})"]
    return []


def _largest_magnitude(arrays) -> float:
    largest = 0.0
    for array in arrays:
        array = np.asarray(array)
        if array.dtype.kind in "fiu" and array.size:
            finite = np.abs(array[np.isfinite(array)].astype(np.float64)) if array.dtype.kind == "f" else \
                np.abs(array.astype(np.float64))
            if finite.size:
                largest = max(largest, float(finite.max()))
    return largest


def _session(model, optimize: bool):
    from backend.linker import make_session

    return make_session(model, intra_op_num_threads=1, optimize=optimize)


def _run(session, program: Program):
    names = [i.name for i in session.get_inputs()]
    feeds = dict(zip(names, program.values))
    return [np.asarray(v) for v in session.run(None, feeds)]


def _node_cell_dtype(operand_values) -> str:
    from pytensor.scalar import upcast

    return upcast(*(str(np.asarray(v).dtype) for v in operand_values))


def _narrowest_float(operand_values) -> str:
    """The narrowest float type PyTensor computes any operand's part in: bool and 8/16-bit integers in
    float32, 32/64-bit integers in float64 (its upgrade_to_float). A float64 result of a float32 (or
    int8) operand is only as accurate as float32."""
    widths = []
    for value in operand_values:
        dtype = np.dtype(np.asarray(value).dtype)
        if dtype.kind == "f":
            widths.append(dtype.name)
        else:
            widths.append("float32" if dtype.itemsize <= 2 else "float64")
    return min(widths, key=lambda d: np.dtype(d).itemsize)


def _declaration_for(op: str, operand_values) -> str:
    """The entry's declaration that covers this node's inputs, or ''."""
    spec = ONNX_OPERATIONS[op]
    dtype = _node_cell_dtype(operand_values)
    whole = spec.cell_xfail(dtype)
    if whole is not None:
        return whole.label
    # PyTensor computes a node of mixed operands in their upcast dtype: the cell the entry declared
    arrays = tuple(np.asarray(v).astype(dtype) for v in operand_values)
    example = ArrayExample(arrays, tuple(a.shape for a in arrays), tuple(str(a.dtype) for a in arrays))
    for declared in spec.conditional_xfails(dtype):
        if declared.holds(dtype, example):
            return declared.label
    return ""


def _localise(program: Program, inputs, node_vars, ort_nodes, worst: dict | None = None) -> tuple[int, str, str] | None:
    """The first node whose own op, run by PyTensor on onnxruntime's values of its operands, disagrees
    with onnxruntime's value of it beyond the entry's bound: (index, problem, declaration). The worst
    ULP error seen goes to ``worst["ulp"]``."""
    from harness.engine import compare_arrays
    from harness.testing import reference_context, reference_function

    known = {name: value for (name, _, _), value in zip(program.inputs, program.values)}
    known.update(program.constants)
    for k, (node, ort_value) in enumerate(zip(program.nodes, ort_nodes)):
        operand_values = [known[o] for o in node.operands]
        spec = ONNX_OPERATIONS[node.op]
        import pytensor.tensor as pt

        fresh = [pt.tensor(f"a{i}", dtype=str(np.asarray(v).dtype), shape=_static(np.shape(v)))
                 for i, v in enumerate(operand_values)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn = reference_function(fresh, spec.build(*fresh), on_unused_input="ignore")
            with reference_context(), np.errstate(all="ignore"):
                expected = np.asarray(fn(*[np.asarray(v) for v in operand_values]))
        computed_in = _narrowest_float(operand_values)
        narrower = np.dtype(computed_in).itemsize < np.dtype(expected.dtype).itemsize \
            if expected.dtype.kind == "f" else False
        ulp_dtype = computed_in if narrower else None
        # bounds are per result dtype, as the engine reads them
        cmp = compare_arrays(ort_value, expected, max_ulp=spec.max_ulp(ulp_dtype or str(expected.dtype)),
                             signed_zeros=False, ulp_dtype=ulp_dtype)
        if worst is not None:
            worst["ulp"] = max(worst.get("ulp", 0.0), cmp.max_ulp_err)
        if cmp.problems:
            return k, "; ".join(cmp.problems), _declaration_for(node.op, operand_values)
        known[f"v{k}"] = ort_value
    return None


PHASE_SECONDS: dict[str, float] = {}  # where judging time goes: export, sessions, running (this process)


class _phase:
    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        PHASE_SECONDS[self.name] = PHASE_SECONDS.get(self.name, 0.0) + time.perf_counter() - self.start


def judge(program: Program, *, default_mode: bool = True, strict: bool = False,
          opset: int | None = None) -> Verdict:
    """Run the checks of the module docstring on one graph. ``strict``: every node is also held to its
    entry's own ULP bound element by element (rule 2 runs on every graph, not only after rule 1
    fails); the graph's outputs must then be all its nodes, in order."""
    from pytensor.compile.mode import Mode

    from backend import export_function_onnx, export_onnx
    from backend.dtypes import ONNXExportUnsupported
    from harness.testing import reference_context, reference_function

    inputs, node_vars, outputs = program.build()
    with warnings.catch_warnings(), _phase("PyTensor (compile + run)"):
        warnings.simplefilter("ignore")
        reference = reference_function(inputs, node_vars, on_unused_input="ignore")
        try:
            with reference_context(), np.errstate(all="ignore"):
                py_nodes = [np.asarray(v) for v in reference(*program.values)]
        except (ValueError, ArithmeticError, NotImplementedError, TypeError) as exc:
            # e.g. a NaN cast to an integer, or a bitwise op of int8 and uint64 (upcast to float64):
            # PyTensor's py mode raises, there is nothing to compare with
            return Verdict("invalid", "as built", f"PyTensor raises: {type(exc).__name__}: {exc}".split("\n")[0])
    by_name = {f"v{k}": v for k, v in enumerate(py_nodes)}
    expected = [by_name[o] for o in program.outputs]
    scale = _largest_magnitude(list(program.values) + py_nodes)
    n = len(program.nodes)
    floats = [np.asarray(v).dtype for v in [*program.values, *program.constants.values(), *py_nodes]
              if np.asarray(v).dtype.kind == "f"]
    narrowest = min(floats, key=lambda d: d.itemsize).name if floats else None
    if strict and list(program.outputs) != [f"v{k}" for k in range(n)]:
        raise ValueError(f"judge(strict=True) needs every node as an output, in order; got {program.outputs}")
    export_options = {} if opset is None else {"opset_version": opset}
    try:
        with _phase("export"):
            model = export_onnx(inputs, outputs, **export_options)
    except ONNXExportUnsupported as exc:
        return Verdict("unsupported", "as built", str(exc))
    except Exception as exc:  # the exporter or onnx's checker failing on a valid graph is a finding
        return Verdict("finding", "export", f"{type(exc).__name__}: {exc}".split("\n")[0], expected=expected)
    try:
        with _phase("onnxruntime sessions"):
            sessions = {"optimized": _session(model, True), "unoptimized": _session(model, False)}
        with _phase("onnxruntime run"):
            results = {level: _run(s, program) for level, s in sessions.items()}
    except Exception as exc:  # onnxruntime refusing or failing on a checked model is a finding
        return Verdict("finding", "onnxruntime", f"{type(exc).__name__}: {exc}".split("\n")[0], expected=expected)
    problems = {level: [p for a, e in zip(got, expected) for p in _loose_problems(a, e, scale, n, narrowest)]
                for level, got in results.items()}
    if any(problems.values()):
        structural = [p for ps in problems.values() for p in ps if p.startswith(("dtype", "shape"))]
        if structural:
            return Verdict("finding", "as built", structural[0], expected=expected, actual=results["optimized"])
        every_node = export_onnx(inputs, node_vars, **export_options)
        ort_nodes = _run(_session(every_node, False), program)
        culprit = _localise(program, inputs, node_vars, ort_nodes)
        if culprit is not None:
            k, problem, declaration = culprit
            status = "xfail" if declaration else "finding"
            return Verdict(status, "as built", f"node v{k} ({program.nodes[k].op}): {problem}", node=k,
                           declaration=declaration, expected=expected, actual=results["optimized"])
        if problems["optimized"] and not problems["unoptimized"]:
            return Verdict("finding", "optimizer", "onnxruntime's optimized session differs, the unoptimized one "
                           f"agrees and no node diverges alone: {problems['optimized'][0]}",
                           expected=expected, actual=results["optimized"])
        # no node diverges alone: rounding that the composition amplified (through a cast, a comparison,
        # a pole, cancellation); counted, not a finding
    worst: dict = {}
    if strict:
        for level in ("optimized", "unoptimized"):
            culprit = _localise(program, inputs, node_vars, results[level], worst)
            if culprit is not None:
                k, problem, declaration = culprit
                return Verdict("xfail" if declaration else "finding", "as built",
                               f"onnxruntime ({level}), node v{k} ({program.nodes[k].op}): {problem}", node=k,
                               declaration=declaration, expected=expected, actual=results[level],
                               max_ulp_err=worst["ulp"])
    excused = Verdict("amplified", "as built", "no node diverges alone") if any(problems.values()) else Verdict("pass")
    excused.max_ulp_err = worst.get("ulp", 0.0)
    if not default_mode:
        return excused
    with warnings.catch_warnings(), _phase("default mode (rewrite + export + run)"):
        warnings.simplefilter("ignore")
        fn = __import__("pytensor").function(inputs, outputs, mode=Mode(linker="py", optimizer="fast_run"),
                                             on_unused_input="ignore")
        try:
            with np.errstate(all="ignore"):
                rewritten = [np.asarray(v) for v in fn(*program.values)]
        except (ValueError, ArithmeticError, TypeError) as exc:
            message = f"{type(exc).__name__}: {exc}".split("\n")[0]
            return _attribute_known(program, Verdict("finding", "pytensor rewrite", "the rewritten function raises "
                                                     f"{message}; the graph as built evaluates"))
    try:
        with _phase("default mode (rewrite + export + run)"):
            rewritten_model = export_function_onnx(fn)
            got = _run(_session(rewritten_model, True), program)
    except ONNXExportUnsupported as exc:
        return Verdict("unsupported", "default mode", str(exc))
    except Exception as exc:  # as above, for the rewritten graph
        return Verdict("finding", "default mode", f"{type(exc).__name__}: {exc}".split("\n")[0], expected=rewritten)
    trouble = [p for a, e in zip(got, rewritten) for p in _loose_problems(a, e, _largest_magnitude(
        list(program.values) + py_nodes + rewritten), n, narrowest)]
    if trouble:
        def close(xs, ys):
            return not [p for a, e in zip(xs, ys) for p in _loose_problems(a, e, scale, n, narrowest)]

        export_unchanged = close(got, results["optimized"])  # the rewritten graph's export = the as-built one's
        if export_unchanged and close(rewritten, expected):
            # both sides compute what they computed as built: the as-built verdict stands
            return excused
        if export_unchanged and not any(problems.values()):
            # as built, export and PyTensor agreed; only PyTensor's rewritten function moved
            verdict = Verdict("finding", "pytensor rewrite", f"the rewritten function gives {trouble[0]}; its "
                              "export computes what the graph as built computes", expected=rewritten, actual=got)
            return _attribute_known(program, verdict)
        return Verdict("finding", "default mode", trouble[0], expected=rewritten, actual=got)
    return excused


# ----------------------------------------------------------------------------------------------
# Divergences of compositions (not of one op), declared like the registry's
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CompositionDivergence:
    label: str
    category: str
    reason: str
    check: str  # the Verdict.check it explains
    when: object  # (Program) -> bool


def _float_op_of_narrow_input(program: Program) -> bool:
    """A node computing a float result from a bool, int8 or uint8 operand."""
    dtypes = {name: d for name, d, _ in program.inputs}
    dtypes.update({name: str(c.dtype) for name, c in program.constants.items()})
    inputs, node_vars, _ = program.build()
    for k, (node, var) in enumerate(zip(program.nodes, node_vars)):
        dtypes[f"v{k}"] = var.type.dtype
        if var.type.dtype.startswith("float") and any(dtypes[o] in ("bool", "int8", "uint8") for o in node.operands):
            return True
    return False


def _unsigned_meets_negative(program: Program) -> bool:
    """The graph holds an unsigned integer value and either a signed integer value or a node that makes
    negative Python integers (neg, sub, invert)."""
    inputs, node_vars, _ = program.build()
    kinds = {np.dtype(v.type.dtype).kind for v in inputs + node_vars} | {c.dtype.kind for c in program.constants.values()}
    negating = any(node.op in ("neg", "sub", "invert") for node in program.nodes)
    return "u" in kinds and ("i" in kinds or negating)


def _floor_division_or_modulo(program: Program) -> bool:
    """A mod or int_div node."""
    return any(node.op in ("mod", "int_div") for node in program.nodes)


def _reciprocal_or_division(program: Program) -> bool:
    """A reciprocal or true_div node (PyTensor's rewrites turn x / y into x * reciprocal(y))."""
    return any(n.op in ("reciprocal", "true_div") for n in program.nodes)


KNOWN_DIVERGENCES = (
    CompositionDivergence(
        "fused-reciprocal#1", "pytensor",
        "PyTensor's fused Composite, run by the Python linker, computes a float64 reciprocal that feeds another "
        "fused op (or shares the fusion with another output) to float32 precision: exp(1 / 0.15354517795933756) "
        "gives 673.6708009506907 (float64: 673.6705258174588) and reciprocal(1.5) beside neg(1.5) gives "
        "0.6666666865348816; a reciprocal alone is exact",
        "pytensor rewrite", _reciprocal_or_division),
    CompositionDivergence(
        "fused-floor-division#1", "pytensor",
        "PyTensor's fused Composite computes % and // on Python scalars, which raise ZeroDivisionError for a zero "
        "divisor (integer or float), where the graph as built (numpy arrays) gives 0 or NaN",
        "pytensor rewrite", _floor_division_or_modulo),
    CompositionDivergence(
        "fused-unsigned-negative#1", "pytensor",
        "PyTensor's fused Composite runs each scalar op on Python/numpy scalars of the op's own types: a negative "
        "Python integer (from neg, a subtraction, invert (~0 is -1) or a signed operand) meeting an unsigned type "
        "raises OverflowError ('Python integer -1 out of bounds for uint8'), where the graph as built (numpy "
        "arrays) wraps or upcasts",
        "pytensor rewrite", _unsigned_meets_negative),
    CompositionDivergence(
        "fused-narrow-input#1", "pytensor",
        "PyTensor's fusion rewrite evaluates a Composite's scalar ops through numpy with the scalar input's "
        "dtype, and numpy computes tanh, exp, ... of bool/int8/uint8 in float16, where the unfused Elemwise "
        "(and the export) computes in the float32 output type: the rewritten function rounds to float16 inside",
        "pytensor rewrite", _float_op_of_narrow_input),
)


def _attribute_known(program: Program, verdict: Verdict) -> Verdict:
    for known in KNOWN_DIVERGENCES:
        if known.check == verdict.check and known.when(program):
            verdict.status, verdict.declaration = "xfail", f"{known.label} [{known.category}]"
            return verdict
    return verdict


# ----------------------------------------------------------------------------------------------
# Type promotion: the matrix's "mixed" column
# ----------------------------------------------------------------------------------------------

def promotion_ops() -> list[str]:
    """Entries with a ``mixed`` cell: fuzzable (plain elementwise) entries of two or more inputs
    registered for more than one dtype."""
    return [name for name in fuzzable_ops()
            if ONNX_OPERATIONS[name].arity >= 2 and len(ONNX_OPERATIONS[name].dtypes) > 1]


def cell_dtypes(spec) -> tuple[str, ...]:
    """The matrix columns of an entry: its dtypes, and ``mixed`` where it has a promotion cell."""
    return spec.dtypes + ((MIXED_DTYPES,) if spec.name in promotion_ops() else ())


def promotion_programs(*, op: str) -> st.SearchStrategy[Program]:
    """One node of ``op`` on graph inputs of at least two different dtypes (each one the entry
    registers) whose shapes broadcast; values over each dtype's whole range, the specials included."""
    if op not in promotion_ops():
        raise ValueError(f"promotion_programs: op={op!r} has no mixed-dtype cell; those that do: "
                         f"{', '.join(promotion_ops())}")
    return _promotion_programs(op)


@st.composite
def _promotion_programs(draw, op: str) -> Program:
    from hypothesis import reject

    spec = ONNX_OPERATIONS[op]
    dtypes = draw(st.lists(st.sampled_from(spec.dtypes), min_size=spec.arity, max_size=spec.arity)
                  .filter(lambda ds: len(set(ds)) > 1))
    result_shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3))
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=spec.arity, base_shape=result_shape,
                                                    max_side=3)).input_shapes
    inputs = [(f"x{k}", d, tuple(shape)) for k, (d, shape) in enumerate(zip(dtypes, shapes))]
    program = Program(inputs, {}, [Node(op, tuple(name for name, _, _ in inputs))], ["v0"])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (output,) = program.build()[2]
    except (TypeError, ValueError, NotImplementedError):
        reject()  # PyTensor refuses this dtype combination (bitwise ops of bool and int8, say)
    if output.type.dtype not in ALL_DTYPES:
        reject()
    values = [draw(hnp.arrays(np.dtype(d), s, elements=st.one_of(_elements(d), hnp.from_dtype(np.dtype(d)))))
              for _, d, s in inputs]
    return Program(inputs, {}, [Node(op, tuple(name for name, _, _ in inputs))], ["v0"], values)


def run_promotion_cell(spec, *, hypothesis_settings=None, opset: int | None = None, seed: int | None = None):
    """The ``mixed`` cell of ``spec``: drawn one-node graphs judged strictly (result dtype and shape as
    PyTensor's upcasting makes them, values within the entry's bound; a divergence its declarations
    explain on the upcast inputs is xfail). Returns an engine `CellResult`; its counterexample is the
    shrunk `Program`."""
    from hypothesis import given, reject
    from hypothesis.errors import FailedHealthCheck, Unsatisfiable

    from common.status import Status
    from harness.engine import CellResult, as_cell_property

    start = time.perf_counter()
    cell = CellResult(spec.name, MIXED_DTYPES, status=Status.PASS)
    attributed: dict[str, str] = {}
    failure: list[tuple[Program, Verdict]] = []
    declined: list[Verdict] = []

    @given(promotion_programs(op=spec.name))
    def property_(program):
        verdict = judge(program, default_mode=False, strict=True, opset=opset)
        if verdict.status == "invalid":
            cell.rejected += 1
            cell.last_rejection = verdict.detail
            reject()
        if verdict.status == "unsupported":  # one dtype combination declined (float64 arctan2): others run
            declined.append(verdict)
            return
        cell.examples += 1
        cell.max_ulp_err = max(cell.max_ulp_err, verdict.max_ulp_err)
        if verdict.status == "xfail":
            cell.xfailed_examples += 1
            attributed.setdefault(verdict.declaration, verdict.detail)
        elif verdict.status == "finding":
            failure[:] = [(program, verdict)]
            raise _Diverged(verdict.detail)

    property_ = as_cell_property(property_, spec.name, MIXED_DTYPES, hypothesis_settings=hypothesis_settings,
                                 seed=seed)
    try:
        property_()
        if declined and not cell.examples:
            cell.status, cell.reason = Status.UNSUPPORTED, declined[0].detail
        elif attributed:
            labels = sorted(attributed)
            cell.status, cell.declaration = Status.XFAIL, ", ".join(labels)
            cell.category = ", ".join(sorted({_declared(label).category for label in labels}))
            cell.reason = "; ".join(f"{label}: {_declared(label).reason} (e.g. {attributed[label]})"
                                    for label in labels)
    except _Diverged:  # Hypothesis re-raises the shrunk graph's failure last
        program, verdict = failure[0]
        cell.status = {"export": Status.EXPORT_ERROR, "onnxruntime": Status.RUNTIME_ERROR}.get(verdict.check,
                                                                                               Status.MISMATCH)
        cell.reason, cell.counterexample = verdict.detail, program
    except (Unsatisfiable, FailedHealthCheck) as exc:
        cell.status = Status.RUNTIME_ERROR
        cell.reason = (f"PyTensor's py mode raised on the generated inputs ({cell.rejected} tried), last: "
                       f"{cell.last_rejection}" if cell.rejected else f"harness error: {type(exc).__name__}: {exc}")
    if declined and cell.examples:
        cell.reason = (f"{cell.reason}; " if cell.reason else "") + (
            f"{len(declined)} drawn graphs declined by the exporter, e.g. {declined[0].detail}")
    cell.seconds = time.perf_counter() - start
    return cell


def _declared(label: str):
    """The registry declaration labelled ``op#id [category]``."""
    op, ident = label.split(" [", 1)[0].rsplit("#", 1)
    return ONNX_OPERATIONS[op].declaration(ident)


# ----------------------------------------------------------------------------------------------
# The budgeted search
# ----------------------------------------------------------------------------------------------

@dataclass
class Finding:
    program: Program
    verdict: Verdict


@dataclass
class FuzzSummary:
    graphs: int = 0
    passed: int = 0
    amplified: int = 0  # outputs differed, but no node diverges alone
    attributed: int = 0  # xfail: explained by a declaration
    unsupported: int = 0
    invalid: int = 0  # graphs PyTensor's py mode cannot evaluate on the drawn values
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    attributions: dict[str, int] = field(default_factory=dict)
    phase_seconds: dict[str, float] = field(default_factory=dict)
    rewrite_failures: dict[str, int] = field(default_factory=dict)  # PyTensor rewrites that raised
    interrupted: bool = False

    def absorb(self, other: FuzzSummary) -> None:
        """Add another worker's counts and findings (a finding already held is not repeated)."""
        for name in ("graphs", "passed", "amplified", "attributed", "unsupported", "invalid"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.seconds = max(self.seconds, other.seconds)
        self.interrupted = self.interrupted or other.interrupted
        held = {(f.program.signature(), f.verdict.check) for f in self.findings}
        self.findings += [f for f in other.findings if (f.program.signature(), f.verdict.check) not in held]
        for table, theirs in ((self.attributions, other.attributions), (self.phase_seconds, other.phase_seconds),
                              (self.rewrite_failures, other.rewrite_failures)):
            for key, value in theirs.items():
                table[key] = table.get(key, 0) + value


class _Diverged(AssertionError):
    pass


class _RewriteFailures(logging.Filter):
    """Counts PyTensor's "Rewrite failure due to: <rewrite>" reports (a rewrite that raised and was
    skipped, a PyTensor bug the default-mode compilation runs into) instead of printing their tracebacks."""

    def __init__(self, counts: dict):
        super().__init__()
        self.counts = counts

    def filter(self, record) -> bool:
        message = record.getMessage()
        if message.startswith("Rewrite failure due to: "):
            name = message.removeprefix("Rewrite failure due to: ")
            self.counts[name] = self.counts.get(name, 0) + 1
        return False


def fuzz(*, budget: float, seed: int, ops: list[str], dtypes: tuple[str, ...] = DEFAULT_DTYPES,
         max_ops: int = 8, max_graphs: int | None = None, chunk: int = 25, first_round: int = 0,
         on_round=None) -> FuzzSummary:
    """Draw and judge graphs until ``budget`` seconds have passed (or ``max_graphs`` were drawn: the
    same seed then tries the same graphs however loaded the machine is); each finding is shrunk by
    Hypothesis (within the budget) and kept once per minimal graph signature.

    The search goes in rounds of ``chunk`` graphs, round k drawing from seed (``seed``, k); it starts
    at round ``first_round`` (a resumed search skips the rounds it has done) and calls
    ``on_round(k, part)`` with each round's own `FuzzSummary` when it ends, interrupted or not."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis.errors import Flaky

    if budget <= 0:
        raise ValueError(f"fuzz: budget must be > 0 seconds, got budget={budget}")
    summary = FuzzSummary()
    start = time.monotonic()
    deadline = start + budget
    rewrite_log = logging.getLogger("pytensor.graph.rewriting.basic")
    seen: set = set()
    strategy = programs(ops=ops, dtypes=dtypes, max_ops=max_ops)
    round_ = first_round
    while time.monotonic() < deadline and (max_graphs is None or summary.graphs < max_graphs):
        last: dict = {}
        part = FuzzSummary()
        round_start, phases_before = time.monotonic(), dict(PHASE_SECONDS)
        rewrite_failures = _RewriteFailures(part.rewrite_failures)
        rewrite_log.addFilter(rewrite_failures)

        @hypothesis_seed(seed * 1_000_003 + round_)
        @settings(max_examples=chunk, deadline=None, database=None, derandomize=False, print_blob=False,
                  phases=[Phase.generate, Phase.shrink], report_multiple_bugs=False,
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def check(program):
            if time.monotonic() > deadline:
                return  # out of budget: stop shrinking and generating
            if max_graphs is not None and summary.graphs + part.graphs >= max_graphs and not last.get("failed"):
                return  # enough graphs drawn (a finding still shrinks)
            verdict = judge(program)
            last["shrinking"] = last.get("failed", False)
            if not last["shrinking"]:
                part.graphs += 1
                if verdict.status == "pass":
                    part.passed += 1
                elif verdict.status == "amplified":
                    part.amplified += 1
                elif verdict.status == "unsupported":
                    part.unsupported += 1
                elif verdict.status == "invalid":
                    part.invalid += 1
                elif verdict.status == "xfail":
                    part.attributed += 1
                    part.attributions[verdict.declaration] = part.attributions.get(verdict.declaration, 0) + 1
            if verdict.status == "finding":
                last["failed"] = True
                last["finding"] = Finding(program, verdict)
                raise _Diverged(verdict.detail)

        try:
            check()
        except (_Diverged, Flaky):  # Flaky: the budget ran out during the final replay of the minimal graph
            finding = last.get("finding")
            if finding is None:  # not a divergence but an error of the harness itself: show it
                raise
            key = (finding.program.signature(), finding.verdict.check)
            if key not in seen:
                seen.add(key)
                part.findings.append(finding)
        except KeyboardInterrupt:  # Ctrl-C ends the search, not the report: what was found is kept
            part.interrupted = True
            if last.get("finding") is not None:
                part.findings.append(last["finding"])  # as far as it shrank
        finally:
            rewrite_log.removeFilter(rewrite_failures)
        part.seconds = time.monotonic() - round_start
        part.phase_seconds = {name: t - phases_before.get(name, 0.0) for name, t in PHASE_SECONDS.items()}
        summary.absorb(part)
        if on_round is not None:
            on_round(round_, part)
        if part.interrupted:
            break
        round_ += 1
    summary.seconds = time.monotonic() - start
    return summary
