"""How a fuzzed graph is judged, against PyTensor's Python mode (no composed error bound is needed):

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

Signed zeros are not compared (the single-op matrix does that). Divergences of compositions (not of a
single entry) are declared in `KNOWN_DIVERGENCES`, validated like the registry's declarations. To
declare another: a `CompositionDivergence` with its id, category, reason, check and predicate.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np

from harness.fuzz.programs import FIT, LOOSE_ULPS, Node, Program, static_shape
from harness.registry import ONNX_OPERATIONS
from harness.registry.spec import validate_declaration
from strategies.values import ArrayExample

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


def bundle_tolerance(program: Program, expected: list) -> float:
    """The relative tolerance an upstream bundle of ``program`` judges with: rule 1's bound per node in
    the narrowest float the outputs have (0 for integer outputs)."""
    floats = [np.asarray(v).dtype for v in expected if np.asarray(v).dtype.kind == "f"]
    if not floats:
        return 0.0
    eps = max(float(np.finfo(d).eps) for d in floats)
    return LOOSE_ULPS * max(len(program.nodes), 1) * eps


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


def _declaration_for(node: Node, operand_values) -> str:
    """The entry's declaration that covers this node's inputs, or ''."""
    spec = ONNX_OPERATIONS[node.op]
    dtype = node.dtype or _node_cell_dtype(operand_values)
    whole = spec.cell_xfail(dtype)
    if whole is not None:
        return whole.label
    # PyTensor computes a node of mixed operands in their upcast dtype: the cell the entry declared
    arrays = tuple(np.asarray(v) if node.dtype else np.asarray(v).astype(dtype) for v in operand_values)
    example = ArrayExample(arrays, tuple(a.shape for a in arrays), tuple(str(a.dtype) for a in arrays), node.params)
    for declared in spec.conditional_xfails(dtype):
        if declared.holds(dtype, example):
            return declared.label
    return ""


def _localise(program: Program, ort_values: dict, worst: dict | None = None) -> tuple[int, str, str] | None:
    """The first node whose own op, run by PyTensor on onnxruntime's values of its operands, disagrees
    with onnxruntime's value of it beyond the entry's bound: (index, problem, declaration). The worst
    ULP error seen goes to ``worst["ulp"]``. ``ort_values``: onnxruntime's value of every node output."""
    import pytensor.tensor as pt

    from harness.conformance.engine import compare_arrays, judge_outputs
    from harness.testing import reference_context, reference_function

    known = {name: value for (name, _, _), value in zip(program.inputs, program.values)}
    known.update(program.constants)
    for k, node in enumerate(program.nodes):
        operand_values = [np.asarray(known[o]) for o in node.operands]
        names = node.value_names(k)
        actual = [ort_values[name] for name in names]
        fresh = [pt.tensor(f"a{i}", dtype=str(v.dtype), shape=static_shape(v.shape)) for i, v in enumerate(operand_values)]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fn = reference_function(fresh, node.apply(fresh), on_unused_input="ignore")
                with reference_context(), np.errstate(all="ignore"):
                    expected = [np.asarray(v) for v in fn(*operand_values)]
        except (ValueError, ArithmeticError, NotImplementedError, TypeError, IndexError, AssertionError):
            # PyTensor refuses onnxruntime's operands (a matrix no longer positive definite, say): the
            # divergence, if any, lies upstream of this node and was not found there; go on
            known.update(zip(names, actual))
            continue
        cmp = _node_comparison(node, operand_values, actual, expected, compare_arrays, judge_outputs)
        if worst is not None:
            worst["ulp"] = max(worst.get("ulp", 0.0), cmp.max_ulp_err)
        if cmp.problems:
            declaration = "" if node.op == FIT else _declaration_for(node, operand_values)
            return k, "; ".join(cmp.problems), declaration
        known.update(zip(names, actual))
    return None


def _localise_gradient(program: Program, inputs, values: dict, export_options: dict, scale: float,
                       narrowest: str | None) -> str | None:
    """The first apply node of the gradient's graph (PyTensor's own ops, not registry entries) whose op,
    run by PyTensor on onnxruntime's values of its inputs, gives other values than onnxruntime's, held
    to rule 1's bound for one node: what it is and how it differs, or None (no node diverges alone, or
    the gradient's intermediate values cannot be exported one by one)."""
    from pytensor.graph.basic import Constant
    from pytensor.graph.traversal import io_toposort
    from pytensor.tensor.type import TensorType

    from backend import export_onnx
    from harness.testing import reference_context, reference_function

    gradients = [values[f"g{i}"] for i in range(len(program.wrt))]
    applies = io_toposort(inputs, gradients)
    tensors = list(dict.fromkeys(out for apply in applies for out in apply.outputs
                                 if isinstance(out.type, TensorType) and out not in inputs))
    try:
        model = export_onnx(inputs, tensors, **export_options)
        computed = dict(zip(tensors, _run(_session(model, False), program)))
    except Exception:  # noqa: BLE001  an intermediate value ONNX cannot output alone: no localisation
        return None
    known = dict(zip(inputs, (np.asarray(v) for v in program.values)))
    known.update(computed)
    for apply in applies:
        fresh = [None if isinstance(v, Constant) else v.type() for v in apply.inputs]
        if any(f is not None and v not in known for f, v in zip(fresh, apply.inputs)):
            continue  # an input of a type ONNX has no value for (a scalar): not localised here
        clone = apply.clone_with_new_inputs([v if f is None else f for f, v in zip(fresh, apply.inputs)])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fn = reference_function([f for f in fresh if f is not None], clone.outputs, on_unused_input="ignore")
                with reference_context(), np.errstate(all="ignore"):
                    wanted = fn(*[known[v] for f, v in zip(fresh, apply.inputs) if f is not None])
        except Exception:  # noqa: BLE001  PyTensor refuses onnxruntime's values: the divergence lies upstream
            continue
        for out, value in zip(apply.outputs, wanted):
            if out in computed:
                problem = _loose_problems(computed[out], value, scale, 1, narrowest)
                if problem:
                    return f"gradient node {apply.op}: {problem[0]}"
    return None


def _node_comparison(node: Node, operand_values, actual, expected, compare_arrays, judge_outputs):
    """One node's outputs judged: a plain elementwise node by its entry's ULP bound (signed zeros aside,
    counted in the narrowest float its operands are computed in), any other entry as its cells judge
    it (`judge_outputs`: bounds, error scale, aspects), a `FIT` node exactly."""
    if node.op == FIT:
        return compare_arrays(actual[0], expected[0], max_ulp=0)
    spec = ONNX_OPERATIONS[node.op]
    if node.dtype:
        example = ArrayExample(tuple(operand_values), tuple(v.shape for v in operand_values),
                               tuple(str(v.dtype) for v in operand_values), node.params)
        return judge_outputs(spec, node.dtype, example, actual, expected)
    (value,), (wanted,) = actual, expected
    computed_in = _narrowest_float(operand_values)
    narrower = np.dtype(computed_in).itemsize < np.dtype(wanted.dtype).itemsize if wanted.dtype.kind == "f" else False
    ulp_dtype = computed_in if narrower else None
    # bounds are per result dtype, as the engine reads them
    return compare_arrays(value, wanted, max_ulp=spec.max_ulp(ulp_dtype or str(wanted.dtype)), signed_zeros=False,
                          ulp_dtype=ulp_dtype)


def _gradient_size(inputs, values: dict, program: Program) -> int:
    """Apply nodes of the gradient's graph (each may round once more); 0 without a gradient."""
    if not program.cost:
        return 0
    from pytensor.graph.traversal import applys_between

    gradients = [values[f"g{i}"] for i in range(len(program.wrt))]
    return len(list(applys_between(inputs, gradients)))


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

    inputs, values, outputs = program.build()
    node_names = program.node_value_names()
    with warnings.catch_warnings(), _phase("PyTensor (compile + run)"):
        warnings.simplefilter("ignore")
        reference = reference_function(inputs, list(values.values()), on_unused_input="ignore")
        try:
            with reference_context(), np.errstate(all="ignore"):
                py_nodes = [np.asarray(v) for v in reference(*program.values)]
        except Exception as exc:  # noqa: BLE001  recorded as the verdict: PyTensor cannot evaluate the graph
            # e.g. a NaN cast to an integer, a bitwise op of int8 and uint64 (upcast to float64), LAPACK
            # refusing an empty matrix (scipy's _flapack.error): there is nothing to compare with
            return Verdict("invalid", "as built", f"PyTensor raises: {type(exc).__name__}: {exc}".split("\n")[0])
    by_name = dict(zip(values, py_nodes))
    expected = [by_name[o] for o in program.outputs]
    scale = _largest_magnitude(list(program.values) + py_nodes)
    n = len(program.nodes) + _gradient_size(inputs, values, program)
    floats = [np.asarray(v).dtype for v in [*program.values, *program.constants.values(), *py_nodes]
              if np.asarray(v).dtype.kind == "f"]
    narrowest = min(floats, key=lambda d: d.itemsize).name if floats else None
    if strict and list(program.outputs) != node_names:
        raise ValueError(f"judge(strict=True) needs every node as an output, in order; got {program.outputs}")
    export_options = {} if opset is None else {"opset_version": opset}
    try:
        with _phase("export"):
            model = export_onnx(inputs, outputs, **export_options)
    except ONNXExportUnsupported as exc:
        return Verdict("unsupported", "as built", str(exc))
    except Exception as exc:  # the exporter or onnx's checker failing on a valid graph is a finding
        return Verdict("finding", "export", f"{type(exc).__name__}: {exc}".split("\n")[0], expected=expected)
    results, failures = {}, {}
    for level in ("optimized", "unoptimized"):
        try:
            with _phase("onnxruntime sessions"):
                session = _session(model, level == "optimized")
            with _phase("onnxruntime run"):
                results[level] = _run(session, program)
        except Exception as exc:  # onnxruntime refusing or failing on a checked model is a finding
            failures[level] = f"{type(exc).__name__}: {exc}".split("\n")[0]
    if failures.keys() == {"optimized"}:
        return Verdict("finding", "optimizer", "onnxruntime's optimized session fails where the unoptimized one "
                       f"runs: {failures['optimized']}", expected=expected, actual=results["unoptimized"])
    if failures:
        return Verdict("finding", "onnxruntime", failures.get("unoptimized") or failures["optimized"], expected=expected)
    problems = {level: [p for a, e in zip(got, expected) for p in _loose_problems(a, e, scale, n, narrowest)]
                for level, got in results.items()}
    if any(problems.values()):
        structural = [p for ps in problems.values() for p in ps if p.startswith(("dtype", "shape"))]
        every_node = export_onnx(inputs, [values[name] for name in node_names], **export_options)
        ort_nodes = dict(zip(node_names, _run(_session(every_node, False), program)))
        culprit = _localise(program, ort_nodes)
        if culprit is not None:
            k, problem, declaration = culprit
            status = "xfail" if declaration else "finding"
            return Verdict(status, "as built", f"node v{k} ({program.nodes[k].op}): {problem}", node=k,
                           declaration=declaration, expected=expected, actual=results["optimized"])
        gradient = _localise_gradient(program, inputs, values, export_options, scale, narrowest) \
            if program.cost else None
        if gradient is not None:
            return Verdict("finding", "as built", gradient, expected=expected, actual=results["optimized"])
        if structural:  # a wrong dtype or shape is never rounding
            return Verdict("finding", "as built", structural[0], expected=expected, actual=results["optimized"])
        if problems["optimized"] and not problems["unoptimized"]:
            return Verdict("finding", "optimizer", "onnxruntime's optimized session differs, the unoptimized one "
                           f"agrees and no node diverges alone: {problems['optimized'][0]}",
                           expected=expected, actual=results["optimized"])
        # no node diverges alone: rounding that the composition amplified (through a cast, a comparison,
        # a pole, cancellation); counted, not a finding
    worst: dict = {}
    if strict:
        for level in ("optimized", "unoptimized"):
            culprit = _localise(program, dict(zip(node_names, results[level])), worst)
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
    """A declared divergence of a composition rather than of one entry: the parts of an entry's
    declaration (a name, a category, a reason, a predicate, here on the whole `Program`), validated
    alike, and the check it explains. Labelled ``composition#id [category]``."""

    id: str
    category: str
    reason: str
    check: str  # the Verdict.check it explains
    when: object  # (Program) -> bool
    message: str = ""  # where given, text the verdict's detail holds (the error PyTensor raises)

    def __post_init__(self):
        validate_declaration("composition", self.id, self.reason, self.category)

    @property
    def label(self) -> str:
        return f"composition#{self.id} [{self.category}]"


def _float_op_of_narrow_input(program: Program) -> bool:
    """A node computing a float result from a bool, int8 or uint8 operand."""
    dtypes = {name: d for name, d, _ in program.inputs}
    dtypes.update({name: str(c.dtype) for name, c in program.constants.items()})
    _, values, _ = program.build()
    for k, node in enumerate(program.nodes):
        for name in node.value_names(k):
            dtypes[name] = values[name].type.dtype
            if dtypes[name].startswith("float") and any(dtypes[o] in ("bool", "int8", "uint8") for o in node.operands):
                return True
    return False


def _unsigned_meets_negative(program: Program) -> bool:
    """The graph holds an unsigned integer value and either a signed integer value or a node that makes
    negative Python integers (neg, sub, invert)."""
    inputs, values, _ = program.build()
    kinds = {np.dtype(v.type.dtype).kind for v in inputs + list(values.values())} | {c.dtype.kind for c in program.constants.values()}
    negating = any(node.op in ("neg", "sub", "invert") for node in program.nodes)
    return "u" in kinds and ("i" in kinds or negating)


def _integer_arithmetic(program: Program) -> bool:
    """A node of integer arithmetic that can leave its dtype's range."""
    _, values, _ = program.build()
    arithmetic = ("add", "sub", "mul", "neg", "sqr", "pow", "abs", "prod", "sum", "cumsum", "cumprod")
    return any(node.op.removeprefix("grad:") in arithmetic and np.dtype(values[f"v{k}"].type.dtype).kind in "iu"
               for k, node in enumerate(program.nodes))


def _floor_division_or_modulo(program: Program) -> bool:
    """A mod or int_div node."""
    return any(node.op in ("mod", "int_div") for node in program.nodes)


def _reciprocal_or_division(program: Program) -> bool:
    """A reciprocal or a division in the graph as built, inside an entry's graph (a gradient's) too
    (PyTensor's rewrites turn x / y into x * reciprocal(y))."""
    from pytensor.graph.traversal import applys_between
    from pytensor.scalar import Reciprocal, TrueDiv
    from pytensor.tensor.elemwise import Elemwise

    inputs, values, _ = program.build()
    return any(isinstance(node.op, Elemwise) and isinstance(node.op.scalar_op, Reciprocal | TrueDiv)
               for node in applys_between(inputs, list(values.values())))


KNOWN_DIVERGENCES = (
    CompositionDivergence(
        "fused-reciprocal", "pytensor",
        "PyTensor's fused Composite, run by the Python linker, computes a float64 reciprocal that feeds another "
        "fused op (or shares the fusion with another output) to float32 precision: exp(1 / 0.15354517795933756) "
        "gives 673.6708009506907 (float64: 673.6705258174588) and reciprocal(1.5) beside neg(1.5) gives "
        "0.6666666865348816; a reciprocal alone is exact",
        "pytensor rewrite", _reciprocal_or_division),
    CompositionDivergence(
        "fused-floor-division", "pytensor",
        "PyTensor's fused Composite computes % and // on Python scalars, which raise ZeroDivisionError for a zero "
        "divisor (integer or float), where the graph as built (numpy arrays) gives 0 or NaN",
        "pytensor rewrite", _floor_division_or_modulo),
    CompositionDivergence(
        "fused-unsigned-negative", "pytensor",
        "PyTensor's fused Composite runs each scalar op on Python/numpy scalars of the op's own types: a negative "
        "Python integer (from neg, a subtraction, invert (~0 is -1) or a signed operand) meeting an unsigned type "
        "raises OverflowError ('Python integer -1 out of bounds for uint8'), where the graph as built (numpy "
        "arrays) wraps or upcasts",
        "pytensor rewrite", _unsigned_meets_negative),
    CompositionDivergence(
        "fused-integer-overflow", "pytensor",
        "PyTensor's fused Composite computes integer arithmetic on Python integers, which do not wrap: a sum, "
        "difference or product outside the dtype's range raises OverflowError ('Python integer -4295307605 out of "
        "bounds for int32', 'Python int too large to convert to C long'), where the graph as built (numpy "
        "arrays) wraps around",
        "pytensor rewrite", lambda program: _integer_arithmetic(program), message="OverflowError"),
    CompositionDivergence(
        "fused-narrow-input", "pytensor",
        "PyTensor's fusion rewrite evaluates a Composite's scalar ops through numpy with the scalar input's "
        "dtype, and numpy computes tanh, exp, ... of bool/int8/uint8 in float16, where the unfused Elemwise "
        "(and the export) computes in the float32 output type: the rewritten function rounds to float16 inside",
        "pytensor rewrite", _float_op_of_narrow_input),
)


def _attribute_known(program: Program, verdict: Verdict) -> Verdict:
    for known in KNOWN_DIVERGENCES:
        if known.check == verdict.check and known.message in verdict.detail and known.when(program):
            verdict.status, verdict.declaration = "xfail", known.label
            return verdict
    return verdict


class Diverged(AssertionError):
    pass
