"""The differential engine: onnxruntime vs PyTensor's py mode, with onnx's reference evaluator as a
third opinion.

- `compare_arrays` checks dtype, shape, NaN positions, infinities with their sign, signed zeros and
  values (exact for integers and bools, a ULP bound per dtype for floats) and measures the errors.
- `compile_signature` exports and compiles once per *signature* (op, input dtypes, ranks and
  broadcast pattern, opset) and caches the model, both onnxruntime sessions (graph optimizations
  off and on) and the py-mode function, so one session serves every shape Hypothesis draws.
- `run_example` runs one input through everything; `run_cell` drives Hypothesis over one
  op x dtype cell (then an elementwise cell's special-value grid, in every profile) and returns a
  `CellResult` with a `Status`; each of the entry's declarations is
  judged on its own (which examples it held on, which of those diverged).
- `reproduce` is the verdict a reproducer script reaches on its saved example: the same
  comparison, bounds, error scale and sessions as the cell that wrote it.

Extending: new checks belong in `compare_arrays`; new per-op behaviour belongs in the registry, not
here.
"""

from __future__ import annotations

import functools
import time
import traceback
import zlib
from dataclasses import dataclass, field

import hypothesis
import numpy as np
from hypothesis import given, reject, settings
from hypothesis.errors import FailedHealthCheck, Unsatisfiable

from backend import ONNX_OPSET_VERSION, ONNXExportUnsupported, export_onnx
from backend.linker import make_session
from common.status import Status
from harness.registry import ONNX_OPERATIONS, OpSpec, XFail, build_graph
from harness.testing import reference_context, reference_function
from strategies.ops import edge_case_inputs, op_inputs, special_value_grid
from strategies.shapes import pytensor_input_shape
from strategies.values import ArrayExample, trigger_values

ALL_ASPECTS = frozenset({"dtype", "shape", "values"})
REJECTED = "rejected"
"""An example's outcome when PyTensor's py mode raises on it: no reference answer, not a cell status."""
DIVERGED = frozenset({Status.MISMATCH, Status.RUNTIME_ERROR, Status.EXPORT_ERROR})
"""Example outcomes that are a divergence between onnxruntime and PyTensor."""


# ----------------------------------------------------------------------------------------------
# Comparison
# ----------------------------------------------------------------------------------------------

@dataclass
class Comparison:
    problems: list[str] = field(default_factory=list)
    max_abs_err: float = 0.0
    max_rel_err: float = 0.0
    max_ulp_err: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


_FLOAT_AS_UINT = {"float16": np.uint16, "float32": np.uint32, "float64": np.uint64}


def _ordered_keys(a: np.ndarray) -> np.ndarray:
    """uint64 keys in the order of the float values, one apart for neighbouring floats (-0.0 and +0.0
    share a key): negative floats' bit patterns are inverted (plus one, so -0.0 meets +0.0), positive
    ones get the top bit set."""
    uint_type = _FLOAT_AS_UINT[a.dtype.name]
    bits = np.where(a == 0, np.zeros((), a.dtype), a).view(uint_type).astype(np.uint64)
    top = np.uint64(1) << np.uint64(8 * a.dtype.itemsize - 1)
    mask = np.uint64(np.iinfo(uint_type).max)
    return np.where(bits & top, (~bits & mask) + np.uint64(1), bits | top)


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Number of representable floats between a and b (finite, same dtype), counted in integers and
    exact up to 2**53 ULP (as float64)."""
    ka, kb = _ordered_keys(np.asarray(a)), _ordered_keys(np.asarray(b))
    return np.where(ka >= kb, ka - kb, kb - ka).astype(np.float64)


def ulp_of_magnitude(magnitude: np.ndarray, dtype) -> np.ndarray:
    """The spacing of ``dtype`` floats at each (float64) ``magnitude``, extended past the dtype's
    largest finite value (a bound on terms may exceed the range its results live in)."""
    info = np.finfo(dtype)
    with np.errstate(all="ignore"):
        exponent = np.floor(np.log2(np.where(magnitude > 0, magnitude, 1.0)))
        spacing = np.exp2(exponent - info.nmant)
    return np.maximum(np.where(magnitude > 0, spacing, 0.0), float(info.smallest_subnormal))


def compare_arrays(actual, expected, *, max_ulp: int = 0, signed_zeros: bool = True,
                   aspects=ALL_ASPECTS, ulp_dtype: str | None = None, scale=None) -> Comparison:
    """Compare an onnxruntime output with PyTensor's; ``aspects`` limits what is checked.

    ``ulp_dtype`` counts ULPs in a narrower float type, for results computed in lower precision than
    their dtype (a float32 chain upcast to float64 at the end is accurate to float32 ULPs only).
    ``scale`` (broadcastable to the output): the magnitude of the largest term a result is the
    difference of; where terms cancel, ``max_ulp`` ULPs *of that magnitude* are accepted, since both
    sides round the terms before they cancel.
    """
    result = Comparison()
    actual, expected = np.asarray(actual), np.asarray(expected)
    if "dtype" in aspects and actual.dtype != expected.dtype:
        result.problems.append(f"dtype {actual.dtype} != PyTensor's {expected.dtype}")
    if "shape" in aspects and actual.shape != expected.shape:
        result.problems.append(f"shape {actual.shape} != PyTensor's {expected.shape}")
    if "values" not in aspects or actual.shape != expected.shape or actual.size == 0:
        return result
    if expected.dtype.kind != "f" or actual.dtype != expected.dtype:
        equal = actual == expected if actual.dtype == expected.dtype else np.asarray(
            actual.astype(np.float64) == expected.astype(np.float64))
        if not np.all(equal):
            bad = np.argwhere(~np.asarray(equal))[0]
            idx = tuple(int(i) for i in bad)
            result.problems.append(
                f"{int(np.sum(~np.asarray(equal)))} values differ, first at {idx}: "
                f"{actual[idx]!r} vs PyTensor's {expected[idx]!r}"
            )
        return result
    a_nan, e_nan = np.isnan(actual), np.isnan(expected)
    if not np.array_equal(a_nan, e_nan):
        idx = tuple(int(i) for i in np.argwhere(a_nan != e_nan)[0])
        result.problems.append(f"NaN positions differ, first at {idx}: {actual[idx]!r} vs PyTensor's {expected[idx]!r}")
    a_inf, e_inf = np.isinf(actual), np.isinf(expected)
    if not np.array_equal(a_inf & (actual > 0), e_inf & (expected > 0)) or not np.array_equal(
        a_inf & (actual < 0), e_inf & (expected < 0)
    ):
        idx = tuple(int(i) for i in np.argwhere((a_inf != e_inf) | (np.sign(actual) != np.sign(expected)) & e_inf)[0])
        result.problems.append(f"infinities differ, first at {idx}: {actual[idx]!r} vs PyTensor's {expected[idx]!r}")
    finite = np.isfinite(actual) & np.isfinite(expected)
    if signed_zeros:
        zeros = finite & (actual == 0) & (expected == 0)
        flipped = zeros & (np.signbit(actual) != np.signbit(expected))
        if flipped.any():
            idx = tuple(int(i) for i in np.argwhere(flipped)[0])
            result.problems.append(f"sign of zero differs at {idx}: {actual[idx]!r} vs PyTensor's {expected[idx]!r}")
    if finite.any():
        a, e = actual[finite], expected[finite]
        with np.errstate(all="ignore"):
            abs_err = np.abs(a.astype(np.float64) - e.astype(np.float64))
            rel_err = np.where(e != 0, abs_err / np.abs(e.astype(np.float64)), np.where(abs_err > 0, np.inf, 0.0))
        if ulp_dtype is not None and np.dtype(ulp_dtype).itemsize < a.dtype.itemsize:
            with np.errstate(over="ignore"):
                ulps = ulp_distance(a.astype(ulp_dtype), e.astype(ulp_dtype))
        else:
            ulps = ulp_distance(a, e)
        if scale is not None:
            term = np.broadcast_to(np.abs(np.asarray(scale, np.float64)), actual.shape)[finite]
            with np.errstate(all="ignore"):
                within_terms = abs_err <= max_ulp * ulp_of_magnitude(term, a.dtype)
            ulps = np.where(within_terms, np.minimum(ulps, max_ulp), ulps)
        result.max_abs_err = float(abs_err.max())
        result.max_rel_err = float(rel_err.max())
        result.max_ulp_err = float(ulps.max())
        if result.max_ulp_err > max_ulp:
            worst = int(np.argmax(ulps))
            result.problems.append(
                f"{int(np.sum(ulps > max_ulp))} values beyond {max_ulp} ULP, worst {ulps[worst]:.0f} ULP: "
                f"{a[worst]!r} vs PyTensor's {e[worst]!r} (rel. error {rel_err[worst]:.3g})"
            )
    return result


# ----------------------------------------------------------------------------------------------
# Compile once per signature
# ----------------------------------------------------------------------------------------------

class ExportFailure(Exception):
    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class CompiledSignature:
    model: object
    sessions: dict  # "optimized" / "unoptimized" -> InferenceSession
    input_names: list[str]
    py_fn: object
    onnx_ops: tuple[str, ...]
    _reference: object = None

    def reference(self):
        if self._reference is None:
            from onnx.reference import ReferenceEvaluator

            self._reference = ReferenceEvaluator(self.model)
        return self._reference


def signature_of(example: ArrayExample, *, elementwise: bool = False) -> tuple:
    """Static input shapes for the example's graph: the compile cache key (with op, dtype, opset).

    PyTensor only needs a static 1 where a size-1 dimension broadcasts against a larger one; for
    elementwise ops a dimension that is 1 in the result too stays unknown, so fewer distinct
    signatures (and compilations) arise.
    """
    if not elementwise:
        return tuple(pytensor_input_shape(s) for s in example.shapes)
    result = np.broadcast_shapes(*example.shapes)
    return tuple(
        tuple(1 if size == 1 and result[len(result) - len(shape) + k] != 1 else None for k, size in enumerate(shape))
        for shape in example.shapes
    )


def constants_key(example: ArrayExample) -> tuple:
    """The example's constant operands as a hashable part of its signature: (position, dtype, shape, bytes)."""
    return tuple((i, str(example.arrays[i].dtype), example.arrays[i].shape, example.arrays[i].tobytes())
                 for i in example.constants)


def variable_arrays(example: ArrayExample) -> tuple:
    """The arrays the graph takes as inputs (all but its constant operands)."""
    return tuple(a for i, a in enumerate(example.arrays) if i not in example.constants)


@functools.lru_cache(maxsize=2048)
def compile_signature(op_name: str, dtype: str, static_shapes: tuple, opset: int,
                      params: tuple = (), constants: tuple = ()) -> CompiledSignature:
    """Export + sessions + py-mode function for one signature (cached). Raises `ExportFailure`.
    ``constants``: `constants_key` of the example's constant operands."""
    spec = ONNX_OPERATIONS[op_name]
    held = {i: np.frombuffer(data, dtype=d).reshape(shape) for i, d, shape, data in constants}
    inputs, output = build_graph(spec, dtype, static_shapes, params, held)
    try:
        model = export_onnx(inputs, output, opset_version=opset)
    except ONNXExportUnsupported as exc:
        raise ExportFailure(Status.UNSUPPORTED, f"{op_name} ({dtype}): {exc}") from exc
    except Exception as exc:  # any other failure of the exporter or the checker is a finding
        raise ExportFailure(Status.EXPORT_ERROR, f"{op_name} ({dtype}): {type(exc).__name__}: {exc}") from exc
    try:
        sessions = {
            "optimized": make_session(model, intra_op_num_threads=1),
            "unoptimized": make_session(model, intra_op_num_threads=1, optimize=False),
        }
    except Exception as exc:  # onnxruntime refusing a checked model (missing kernel, ...)
        raise ExportFailure(Status.RUNTIME_ERROR, f"{op_name} ({dtype}): session creation failed: {exc}") from exc
    # on_unused_input: some graphs ignore an input's values (isnan of ints only needs its shape)
    py_fn = reference_function(inputs, output, on_unused_input="ignore")
    return CompiledSignature(
        model=model,
        sessions=sessions,
        input_names=[i.name for i in model.graph.input],
        py_fn=py_fn,
        onnx_ops=tuple(n.op_type for n in model.graph.node),
    )


# ----------------------------------------------------------------------------------------------
# One example
# ----------------------------------------------------------------------------------------------

@dataclass
class ExampleOutcome:
    status: str  # a Status (pass, mismatch, runtime_error, export_error, unsupported) or REJECTED
    detail: str = ""
    comparison: Comparison | None = None
    reference_agrees_ort: bool | None = None
    reference_agrees_pytensor: bool | None = None
    reference_unavailable: str = ""  # why onnx's reference evaluator gave no opinion (it lacks an op, it raised)
    expected: list[np.ndarray] | None = None  # PyTensor's outputs
    actual: dict[str, list[np.ndarray]] | None = None  # onnxruntime's, per optimization level

    @property
    def diverged(self) -> bool:
        return self.status in DIVERGED


def _largest_finite(values) -> float:
    values = np.asarray(values)
    if values.dtype.kind != "f":
        return 0.0
    finite = np.abs(values[np.isfinite(values)]).astype(np.float64)
    return float(finite.max(initial=0.0))


def _compare(spec, dtype, actual, expected, aspects, scale=None):
    ulp_dtype = spec.ulp_dtype(dtype) if spec.ulp_dtype else None
    if spec.scale_by_largest_output:  # and at least 1: derivatives like 1 - tanh(x)**2 cancel against 1
        largest = max(1.0, _largest_finite(expected))
        scale = largest if scale is None else np.maximum(scale, largest)
    max_ulp = spec.max_ulp(ulp_dtype or str(np.asarray(expected).dtype))
    return compare_arrays(actual, expected, max_ulp=max_ulp, signed_zeros=spec.signed_zeros, aspects=aspects,
                          ulp_dtype=ulp_dtype, scale=scale)


def _error_scale(spec, example):
    if spec.error_scale is None or example is None:
        return None
    with np.errstate(all="ignore"):
        return np.asarray(spec.error_scale(example), dtype=np.float64)


def _compare_outputs(spec, dtype, actual: list, expected: list, aspects, scale=None) -> Comparison:
    """All outputs of a graph (Split has several): problems are prefixed with the output number, the
    error figures are the worst over the outputs."""
    if len(actual) != len(expected):
        return Comparison([f"{len(actual)} outputs, PyTensor has {len(expected)}"])
    total = Comparison()
    for k, (a, e) in enumerate(zip(actual, expected)):
        cmp = _compare(spec, dtype, a, e, aspects, scale)
        total.problems += [f"output {k}: {p}" if len(expected) > 1 else p for p in cmp.problems]
        total.max_abs_err = max(total.max_abs_err, cmp.max_abs_err)
        total.max_rel_err = max(total.max_rel_err, cmp.max_rel_err)
        total.max_ulp_err = max(total.max_ulp_err, cmp.max_ulp_err)
    return total


def judge_outputs(spec: OpSpec, dtype: str, example: ArrayExample, actual: list, expected: list) -> Comparison:
    """onnxruntime's outputs against PyTensor's on ``example``, as a cell of ``spec`` judges them (its
    aspects, bounds and error scale), for checks outside a cell (the rewritten gradients' test)."""
    return _compare_outputs(spec, dtype, _as_outputs(actual), _as_outputs(expected), cell_aspects(spec),
                            _error_scale(spec, example))


def _as_outputs(result) -> list[np.ndarray]:
    return [np.asarray(r) for r in result] if isinstance(result, list | tuple) else [np.asarray(result)]


def run_example(spec: OpSpec, dtype: str, example: ArrayExample, *, opset: int = ONNX_OPSET_VERSION,
                aspects=ALL_ASPECTS, reference: bool = False, attribute: bool = True) -> ExampleOutcome:
    """Run one input through PyTensor and onnxruntime (both optimization levels) and compare.
    onnx's reference evaluator gives a third opinion where ``reference`` asks, and on a divergence
    unless ``attribute`` is False (a declared divergence needs no attribution, and the evaluator, in
    Python, takes seconds per example on a Loop-based graph)."""
    try:
        compiled = compile_signature(spec.name, dtype, signature_of(example, elementwise=spec.elementwise), opset,
                                     example.params, constants_key(example))
    except ExportFailure as exc:
        return ExampleOutcome(exc.status, exc.message)
    arrays = variable_arrays(example)
    try:
        # numpy warns about the overflow, NaN and inf these inputs are made of; expected here
        with reference_context(), np.errstate(all="ignore"):
            expected = _as_outputs(compiled.py_fn(*arrays))
    except Exception as exc:  # PyTensor refuses this input: there is no reference answer
        return ExampleOutcome(REJECTED, f"PyTensor raised {type(exc).__name__}: {exc}")
    feed = dict(zip(compiled.input_names, arrays))
    outputs = {}
    for level, session in compiled.sessions.items():
        try:
            outputs[level] = session.run(None, feed)
        except Exception as exc:  # onnxruntime's runtime failures (e.g. integer division by zero)
            return ExampleOutcome(Status.RUNTIME_ERROR, f"onnxruntime ({level}) raised: {exc}", expected=expected,
                                  actual=outputs)
    problems = []
    scale = _error_scale(spec, example)
    for level, actual in outputs.items():
        cmp = _compare_outputs(spec, dtype, actual, expected, aspects, scale)
        problems += [f"onnxruntime ({level}): {p}" for p in cmp.problems]
        if level == "optimized":
            comparison = cmp
    # the two optimization levels must agree within the entry's own bound (bit for bit for exact ops):
    # onnxruntime's fusions (MatMul + Add into Gemm, say) may round a sum differently
    between = _compare_outputs(spec, dtype, outputs["optimized"], outputs["unoptimized"], aspects, scale).problems
    if between and not problems:
        problems += [f"onnxruntime optimized vs unoptimized: {p}" for p in between]
    outcome = ExampleOutcome(Status.MISMATCH if problems else Status.PASS, "; ".join(problems), comparison,
                             expected=expected, actual=outputs)
    if reference or (problems and attribute):
        _third_opinion(spec, dtype, compiled, feed, outputs["optimized"], expected, outcome, aspects, scale)
    return outcome


def _third_opinion(spec, dtype, compiled, feed, ort_out, expected, outcome: ExampleOutcome, aspects,
                   scale=None) -> None:
    """onnx's ReferenceEvaluator on the same model: attributes a mismatch to exporter or runtime."""
    try:
        with np.errstate(all="ignore"):  # the evaluator computes in numpy; NaN/inf are expected here
            ref_out = _as_outputs(compiled.reference().run(None, feed))
    except Exception as exc:  # the reference evaluator lacks some ops/dtypes; record, don't fail
        outcome.reference_unavailable = f"{type(exc).__name__}: {exc}".split("\n")[0][:300]
        outcome.detail += f" [reference evaluator failed: {outcome.reference_unavailable}]"
        return
    outcome.reference_agrees_ort = _compare_outputs(spec, dtype, ref_out, ort_out, aspects, scale).ok
    outcome.reference_agrees_pytensor = _compare_outputs(spec, dtype, ref_out, expected, aspects, scale).ok
    if outcome.status == Status.MISMATCH:
        if outcome.reference_agrees_pytensor and not outcome.reference_agrees_ort:
            outcome.detail += " [reference evaluator agrees with PyTensor: onnxruntime deviates from the model's ONNX semantics]"
        elif outcome.reference_agrees_ort:
            outcome.detail += " [reference evaluator agrees with onnxruntime: the exported graph's semantics differ from PyTensor]"
        else:
            outcome.detail += " [reference evaluator agrees with neither]"


# ----------------------------------------------------------------------------------------------
# One cell: Hypothesis over op x dtype
# ----------------------------------------------------------------------------------------------

@dataclass
class DeclarationTally:
    """How one conditional declaration fared in a cell: the examples its ``when`` held on, and how
    many of those diverged."""

    declaration: XFail
    held: int = 0
    diverged: int = 0

    @property
    def stale(self) -> bool:
        return self.held > 0 and self.diverged == 0 and self.declaration.stale_when_quiet


@dataclass
class CellResult:
    op: str
    dtype: str
    status: str  # a Status
    examples: int = 0
    rejected: int = 0
    xfailed_examples: int = 0
    max_abs_err: float = 0.0
    max_rel_err: float = 0.0
    max_ulp_err: float = 0.0
    reference_agrees: bool | str | None = None  # True, False, "unavailable" (see reference_unavailable), None: not asked
    reference_unavailable: str = ""
    category: str = ""
    declaration: str = ""  # labels of the declarations that decided the status (fired, or stale)
    reason: str = ""
    counterexample: ArrayExample | None = None
    seconds: float = 0.0
    last_rejection: str = ""

    def record(self, outcome: ExampleOutcome) -> None:
        self.examples += 1
        if outcome.comparison is not None:
            self.max_abs_err = max(self.max_abs_err, outcome.comparison.max_abs_err)
            self.max_rel_err = max(self.max_rel_err, outcome.comparison.max_rel_err)
            self.max_ulp_err = max(self.max_ulp_err, outcome.comparison.max_ulp_err)
        if outcome.reference_agrees_ort is not None:
            agrees = bool(outcome.reference_agrees_ort and outcome.reference_agrees_pytensor)
            earlier = self.reference_agrees if isinstance(self.reference_agrees, bool) else None
            self.reference_agrees = agrees if earlier is None else (earlier and agrees)
        elif outcome.reference_unavailable and self.reference_agrees is None:
            self.reference_agrees, self.reference_unavailable = "unavailable", outcome.reference_unavailable


class _CellStop(Exception):
    """Stops Hypothesis at once: the cell cannot run (export/session failure)."""

    def __init__(self, outcome):
        super().__init__(outcome.detail)
        self.outcome = outcome


class Divergence(AssertionError):
    def __init__(self, outcome: ExampleOutcome, example: ArrayExample):
        super().__init__(outcome.detail)
        self.outcome = outcome
        self.example = example


def cell_strategy(spec: OpSpec, dtype: str, *, edge_cases: bool = False):
    if spec.examples is not None:
        return spec.examples(dtype, edge_cases)
    kwargs = dict(dtypes=spec.inputs_dtypes(dtype))
    if spec.shapes is not None:
        kwargs["shapes"] = spec.shapes(dtype)
    if spec.elements is not None:
        kwargs["elements"] = spec.elements(dtype)
    if spec.params is not None:
        kwargs["params"] = spec.params
    return (edge_case_inputs if edge_cases else op_inputs)(**kwargs)


@functools.cache
def special_value_grid_of(op: str, dtype: str) -> ArrayExample | None:
    """The cell's special-value grid (`strategies.ops.special_value_grid`): every pair of the dtype's
    special values, for an elementwise entry drawing its own inputs (no ``examples``, no ``params``);
    an operand with a value domain of its own holds that domain's simplest value (Hypothesis' `find`,
    deterministic). None for other entries."""
    spec = ONNX_OPERATIONS[op]
    if not spec.elementwise or spec.examples is not None or spec.params is not None:
        return None
    dtypes = spec.inputs_dtypes(dtype)
    own = spec.elements(dtype) if spec.elements is not None else [None] * len(dtypes)
    quiet = settings(database=None, suppress_health_check=list(hypothesis.HealthCheck))
    held = [None if elements is None else hypothesis.find(elements, lambda value: True, settings=quiet)
            for elements in own]
    return special_value_grid(dtypes=dtypes, held=held)


def cell_aspects(spec: OpSpec, aspects=ALL_ASPECTS) -> frozenset:
    """What is compared for ``spec``: values only where the op defines them."""
    return frozenset(aspects) if spec.values_defined else frozenset(aspects) - {"values"}


def declarations_holding(spec: OpSpec, dtype: str, example: ArrayExample) -> list[XFail]:
    """The conditional declarations of ``spec`` whose ``when`` holds on ``example``."""
    return [x for x in spec.conditional_xfails(dtype) if x.holds(dtype, example)]


def cell_seed(op: str, dtype: str, aspects, edge_cases: bool) -> int:
    """The seed of a derandomized cell: a function of the cell alone. (Hypothesis would otherwise
    derive it from the property's source code, so any change to the engine reshuffled every
    derandomized cell's examples.)"""
    return zlib.crc32(f"{op}|{dtype}|{','.join(sorted(aspects))}|{edge_cases}".encode())


def as_cell_property(property_, op: str, dtype: str, *, hypothesis_settings: settings | None, seed: int | None,
                     aspects=ALL_ASPECTS, edge_cases: bool = False):
    """A cell's ``@given`` property with the cell's settings: one counterexample per cell (the first
    distinct failure is the one reported and shrunk), and a derandomized profile's seed taken from
    the cell (`cell_seed`) unless ``seed`` is given."""
    cell_settings = settings(hypothesis_settings or settings.default, report_multiple_bugs=False)
    property_ = cell_settings(property_)
    if seed is None and cell_settings.derandomize:
        seed = cell_seed(op, dtype, aspects, edge_cases)
    return hypothesis.seed(seed)(property_) if seed is not None else property_


def run_cell(spec: OpSpec, dtype: str, *, hypothesis_settings: settings | None = None,
             opset: int = ONNX_OPSET_VERSION, aspects=ALL_ASPECTS, edge_cases: bool = False,
             reference_samples: int = 1, seed: int | None = None) -> CellResult:
    """Fuzz one op x dtype cell; the result's status is a `Status` (never crash/timeout here: those
    are assigned by the worker pool that runs cells in subprocesses)."""
    start = time.perf_counter()
    aspects = cell_aspects(spec, aspects)
    cell = CellResult(spec.name, dtype, status=Status.PASS)
    tallies = [DeclarationTally(x) for x in spec.conditional_xfails(dtype)]
    strategy = cell_strategy(spec, dtype, edge_cases=edge_cases)

    declined: list[ExampleOutcome] = []
    # a divergence in a cell declared as a whole is the declared one: no shrinking (it would replay
    # the cell's slowest examples many times for a verdict that is already decided)
    whole_cell_declared = spec.cell_xfail(dtype) is not None
    declared_divergence: list[tuple[ExampleOutcome, ArrayExample]] = []

    @given(example=strategy)
    def property_(example):
        if declined or declared_divergence:
            return
        holding = [t for t in tallies if t.declaration.holds(dtype, example)]
        outcome = run_example(spec, dtype, example, opset=opset, aspects=aspects,
                              reference=cell.examples < reference_samples,
                              attribute=not (holding or whole_cell_declared))
        if outcome.status == Status.UNSUPPORTED:
            # the exporter declines this op x dtype on purpose: nothing to shrink, the cell is done
            declined.append(outcome)
            return
        if outcome.status == Status.EXPORT_ERROR:
            raise _CellStop(outcome)  # a finding: Hypothesis shrinks it to the smallest input
        if outcome.status == REJECTED:
            cell.rejected += 1
            cell.last_rejection = outcome.detail
            reject()
        cell.record(outcome)
        for tally in holding:
            tally.held += 1
            tally.diverged += outcome.status != Status.PASS
        if outcome.status == Status.PASS:
            return
        if whole_cell_declared:  # the cell's verdict, whatever a conditional declaration also covers
            declared_divergence.append((outcome, example))
            return
        if holding:
            cell.xfailed_examples += 1
            return
        raise Divergence(outcome, example)

    def special_value_grid():
        """The grid after Hypothesis' draws (which shrink what they find), in every profile: whether a
        cell sees x / -0.0 is no luck. A divergence is reported as the grid's first row that diverges
        on its own, undeclared."""
        grid = special_value_grid_of(spec.name, dtype)
        if grid is None or declined or declared_divergence or edge_cases or "values" not in aspects:
            return  # the grid is the value comparison's (edge-case and dtype/shape-only runs skip it)
        try:
            property_.hypothesis.inner_test(example=grid)
        except hypothesis.errors.UnsatisfiedAssumption:  # PyTensor refuses the grid (an integer x // 0)
            return
        except Divergence as whole:
            raise _first_diverging_row(spec, dtype, grid, opset, aspects) or whole from None

    def constant_operands():
        """After the grid: each trigger constant as either operand of a binary entry, the other operand
        the grid's column (`constant_operand_divergence`)."""
        if declined or declared_divergence or whole_cell_declared or edge_cases or "values" not in aspects:
            return
        found = constant_operand_divergence(spec, dtype, opset, aspects)
        if found is not None:
            cell.record(found.outcome)
            raise found

    property_ = as_cell_property(property_, spec.name, dtype, hypothesis_settings=hypothesis_settings, seed=seed,
                                 aspects=aspects, edge_cases=edge_cases)
    try:
        property_()
        special_value_grid()
        constant_operands()
        if declined:
            cell.status, cell.reason = Status.UNSUPPORTED, declined[0].detail
        elif declared_divergence:
            (outcome, example), = declared_divergence
            cell.status, cell.reason, cell.counterexample = outcome.status, outcome.detail, example
    except _CellStop as stop:
        cell.status, cell.reason = stop.outcome.status, stop.outcome.detail
    except Divergence as div:  # Hypothesis re-raises the shrunk example's failure last
        cell.status, cell.reason = div.outcome.status, div.outcome.detail
        cell.counterexample = div.example
    except (Unsatisfiable, FailedHealthCheck) as exc:
        cell.status = Status.RUNTIME_ERROR
        if cell.rejected:
            cell.reason = (f"PyTensor's py mode raised on every generated input ({cell.rejected} tried), "
                           f"last: {cell.last_rejection}")
        else:
            cell.reason = f"harness error: {type(exc).__name__}: {exc}"
    except Exception as exc:  # a bug in a strategy or in the harness: report it in the cell
        cell.status = Status.RUNTIME_ERROR
        cell.reason = f"harness error: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"

    # Staleness is judged only where values are compared (a declared value divergence cannot show in a
    # dtype-only run), and for whole-cell declarations only on the main run (edge cases may not
    # trigger them); a declared divergence that does occur is xfail in every run.
    _apply_declarations(spec, dtype, cell, tallies, judge_staleness="values" in aspects,
                        report_stale_cell_xfail=not edge_cases)
    cell.seconds = time.perf_counter() - start
    return cell


@functools.cache
def constant_operand_examples(op: str, dtype: str) -> tuple[ArrayExample, ...]:
    """A binary entry's constant-operand examples: for each operand without a value domain of its own,
    each of its dtype's `trigger_values` held as a graph constant, the other operand taking the
    special-value grid's column. Empty for other entries."""
    spec = ONNX_OPERATIONS[op]
    grid = special_value_grid_of(op, dtype)
    if grid is None or spec.arity != 2:
        return ()
    own = spec.elements(dtype) if spec.elements is not None else None
    examples = []
    for position in (1, 0):
        if own is not None and own[position] is not None:
            continue
        other = grid.arrays[1 - position]
        for value in trigger_values(grid.dtypes[position]):
            arrays = [other, other]
            arrays[position] = np.asarray(value, dtype=grid.dtypes[position])
            examples.append(ArrayExample(tuple(arrays), tuple(a.shape for a in arrays), grid.dtypes, (), (position,)))
    return tuple(examples)


def constant_operand_divergence(spec: OpSpec, dtype: str, opset: int, aspects) -> Divergence | None:
    """The first undeclared divergence among `constant_operand_examples`: found on one graph per
    constant operand that applies the entry to every trigger constant at once (one export, not one per
    constant), then confirmed alone by `run_example`, whose example (a ``constants`` position) the
    cell's reproducer replays. A row of the joint graph that diverges only there is not reported."""
    import pytensor.tensor as pt

    examples = constant_operand_examples(spec.name, dtype)
    for position in (1, 0):
        group = [ex for ex in examples if ex.constants == (position,)]
        if not group:
            continue
        column = group[0].arrays[1 - position]
        x = pt.tensor("x", dtype=column.dtype.name, shape=(None,))
        rows = []
        for example in group:
            operands = [x, x]
            operands[position] = pt.constant(example.arrays[position])
            rows.append(spec.build(*operands))
        try:
            joint = pt.stack(rows)
            model = export_onnx([x], joint, opset_version=opset)
            session = make_session(model, intra_op_num_threads=1)
            got = session.run(None, {model.graph.input[0].name: column})[0]
            with reference_context(), np.errstate(all="ignore"):
                expected = reference_function([x], joint)(column)
        except Exception:  # noqa: BLE001  no joint verdict (a row PyTensor refuses, an export error): each alone
            got = expected = None
        for k, example in enumerate(group):
            if got is not None and _compare(spec, dtype, got[k], expected[k], aspects).ok:
                continue
            if declarations_holding(spec, dtype, example):
                continue
            outcome = run_example(spec, dtype, example, opset=opset, aspects=aspects)
            if outcome.diverged:
                return Divergence(outcome, example)
    return None


def _first_diverging_row(spec: OpSpec, dtype: str, grid: ArrayExample, opset: int, aspects) -> Divergence | None:
    """The first row of ``grid`` (as a one-element example) that diverges with no declaration holding."""
    for k in range(grid.arrays[0].shape[0]):
        arrays = tuple(a[k:k + 1] for a in grid.arrays)
        row = ArrayExample(arrays, tuple(a.shape for a in arrays), grid.dtypes, grid.params)
        if declarations_holding(spec, dtype, row):
            continue
        outcome = run_example(spec, dtype, row, opset=opset, aspects=aspects)
        if outcome.diverged:
            return Divergence(outcome, row)
    return None


def _apply_declarations(spec: OpSpec, dtype: str, cell: CellResult, tallies: list[DeclarationTally], *,
                        judge_staleness: bool = True, report_stale_cell_xfail: bool = True) -> None:
    """The cell's status after its declarations, each judged on its own: a whole-cell declaration
    turns a failing cell into xfail and a passing one into xpass; a conditional declaration that
    held on examples none of which diverged is stale (xpass), whatever the others did."""
    declared = spec.cell_xfail(dtype)
    if declared is not None:
        cell.category, cell.declaration = declared.category, declared.label
        if cell.status in DIVERGED:
            cell.status = Status.XFAIL
            cell.reason = f"{declared.reason} (observed: {cell.reason})"
        elif cell.status == Status.PASS and judge_staleness and report_stale_cell_xfail:
            cell.status = Status.XPASS
            cell.reason = f"declared divergence did not occur in {cell.examples} examples: {declared.reason}"
        return
    if cell.status != Status.PASS:
        return  # an undeclared divergence: the cell reports it
    stale = [t for t in tallies if t.stale] if judge_staleness else []
    fired = [t for t in tallies if t.diverged]
    if stale:
        _name_declarations(cell, Status.XPASS, stale, lambda t: f"held on {t.held} examples but none diverged")
        if fired:
            cell.reason += " (" + ", ".join(f"{t.declaration.label} diverged on {t.diverged}" for t in fired) + ")"
    elif fired:
        _name_declarations(cell, Status.XFAIL, fired, lambda t: f"diverged on {t.diverged} of {cell.examples} examples")


def _name_declarations(cell: CellResult, status: str, tallies: list[DeclarationTally], what) -> None:
    """Give the cell ``status`` with the categories, labels and reasons of the declarations that
    decided it; ``what(tally)`` says what each did."""
    cell.status = status
    cell.category = ", ".join(dict.fromkeys(t.declaration.category for t in tallies))
    cell.declaration = ", ".join(t.declaration.label for t in tallies)
    cell.reason = "; ".join(f"{t.declaration.label} {what(t)}: {t.declaration.reason}" for t in tallies)


# ----------------------------------------------------------------------------------------------
# The verdict on one saved example (reproducer scripts)
# ----------------------------------------------------------------------------------------------

@dataclass
class Reproduction:
    outcome: ExampleOutcome
    declared: list[XFail]  # declarations covering this example (whole-cell or conditional)

    @property
    def diverges(self) -> bool:
        return self.outcome.diverged


def reproduce(spec: OpSpec, dtype: str, example: ArrayExample, *, opset: int = ONNX_OPSET_VERSION) -> Reproduction:
    """Run one saved example exactly as `run_cell` runs it (same comparison, bounds, ``ulp_dtype``,
    ``error_scale``, both optimization levels) and say whether it diverges and which declarations
    cover it."""
    outcome = run_example(spec, dtype, example, opset=opset, aspects=cell_aspects(spec), reference=True)
    declared = [x for x in spec.xfails if x.holds(dtype, example)]
    return Reproduction(outcome, declared)
