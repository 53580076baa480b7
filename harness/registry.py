"""The operation registry: one declarative entry per op. The matrix, the property tests and the
benchmarks all iterate over `ONNX_OPERATIONS`.

How to add an op
----------------
1. A converter in ``backend/`` (see ``backend/basic.py``).
2. One entry below, keyed by the name of the ``pytensor.tensor`` function that builds it::

       register("exp", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Exp",), tolerance=TRANSCENDENTAL)

   ``build`` defaults to ``getattr(pytensor.tensor, name)``; ``elements``/``shapes`` override the
   default Hypothesis strategies for the inputs.

How to declare a known divergence
---------------------------------
Chain ``.xfail(reason=..., category=..., dtypes=..., when=...)`` on the entry. ``category`` is one of
`CATEGORIES`; ``dtypes`` limits it (default: every dtype of the entry); ``when`` is a predicate on the
inputs (an `ArrayExample`) that says which examples are expected to diverge. Declarations are strict:
an expected failure that passes is reported as ``xpass``, and a declaration naming a dtype the entry
does not have is an error at import.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pytensor.scalar.basic as ps
import pytensor.tensor as pt
from hypothesis import strategies as st
from pytensor.compile.ops import deep_copy_op
from pytensor.raise_op import Assert
from pytensor.tensor.elemwise import Elemwise

import backend  # noqa: F401  (registers the converters)
from backend.basic import onnx_funcify
from strategies.dtypes import ALL_DTYPES, FLOAT_DTYPES, INT_DTYPES, NUMERIC_DTYPES, SIGNED_INT_DTYPES
from strategies.shapes import BroadcastShapes, fixed_target_shapes
from strategies.values import ArrayExample, element_values

CATEGORIES = {
    "onnx-spec": "ONNX defines the op differently from PyTensor",
    "onnxruntime-kernel": "onnxruntime's CPU kernel deviates from the ONNX spec or lacks precision",
    "exporter": "a known gap in this project's converter",
    "pytensor": "PyTensor's reference behaviour is itself questionable",
}

EXACT = {"float16": 0, "float32": 0, "float64": 0}
"""Max ULP error per float dtype: correctly rounded ops (add, mul, sqrt, ...) must match bit for bit."""
TRANSCENDENTAL = {"float16": 1, "float32": 4, "float64": 2}
"""exp, log, pow: libm/MLAS implementations may differ by a few ULP; float64 stays tight."""


class RegistryError(ValueError):
    """A registry entry or declaration is inconsistent (raised at import)."""


@dataclass(frozen=True)
class XFail:
    reason: str
    category: str
    dtypes: tuple[str, ...]
    when: Callable[[ArrayExample], bool] | None = None

    def matches(self, dtype: str, example: ArrayExample | None = None) -> bool:
        if dtype not in self.dtypes:
            return False
        return self.when is None or example is None or bool(self.when(example))


@dataclass
class OpSpec:
    """One registered op. See the module docstring for the fields users set."""

    name: str
    arity: int
    dtypes: tuple[str, ...]
    build: Callable[..., object]
    onnx_ops: tuple[str, ...] = ()
    tolerance: dict[str, int] = field(default_factory=lambda: dict(EXACT))
    input_dtypes: Callable[[str], tuple[str, ...]] | None = None
    elements: Callable[[str], Sequence[st.SearchStrategy | None]] | None = None
    shapes: Callable[[str], st.SearchStrategy[BroadcastShapes]] | None = None
    elementwise: bool = True
    signed_zeros: bool = True
    ulp_dtype: Callable[[str], str | None] | None = None  # count ULPs in this dtype (see compare_arrays)
    xfails: list[XFail] = field(default_factory=list)

    def xfail(self, *, reason: str, category: str, dtypes: Sequence[str] | None = None,
              when: Callable[[ArrayExample], bool] | None = None) -> OpSpec:
        if not reason or not reason.strip():
            raise RegistryError(f"{self.name}: an xfail needs a reason")
        if category not in CATEGORIES:
            raise RegistryError(f"{self.name}: unknown xfail category {category!r}; use one of {sorted(CATEGORIES)}")
        dtypes = tuple(self.dtypes if dtypes is None else dtypes)
        stray = [d for d in dtypes if d not in self.dtypes]
        if stray or not dtypes:
            raise RegistryError(
                f"{self.name}: xfail for dtypes {stray or dtypes} that the entry does not have; "
                f"its dtypes are {self.dtypes}"
            )
        self.xfails.append(XFail(reason.strip(), category, dtypes, when))
        return self

    def inputs_dtypes(self, dtype: str) -> tuple[str, ...]:
        return self.input_dtypes(dtype) if self.input_dtypes else (dtype,) * self.arity

    def cell_xfail(self, dtype: str) -> XFail | None:
        """A declaration covering the whole cell (no ``when``), if any."""
        return next((x for x in self.xfails if x.when is None and dtype in x.dtypes), None)

    def example_xfail(self, dtype: str, example: ArrayExample) -> XFail | None:
        return next((x for x in self.xfails if x.when is not None and x.matches(dtype, example)), None)

    def max_ulp(self, dtype: str) -> int:
        return self.tolerance.get(dtype, 0)


ONNX_OPERATIONS: dict[str, OpSpec] = {}


def register(name: str, *, arity: int, dtypes: Sequence[str], build: Callable | None = None, **fields) -> OpSpec:
    if name in ONNX_OPERATIONS:
        raise RegistryError(f"op {name!r} is registered twice")
    if build is None:
        if not hasattr(pt, name):
            raise RegistryError(f"{name!r} is not a pytensor.tensor function; pass build=")
        build = getattr(pt, name)
    bad = [d for d in dtypes if d not in ALL_DTYPES]
    if bad:
        raise RegistryError(f"{name}: unknown dtypes {bad}; valid: {ALL_DTYPES}")
    spec = OpSpec(name=name, arity=arity, dtypes=tuple(dtypes), build=build, **fields)
    ONNX_OPERATIONS[name] = spec
    return spec


# ----------------------------------------------------------------------------------------------
# Predicates and strategies used by entries
# ----------------------------------------------------------------------------------------------

def _nonneg_exponents(dtype: str):
    """Integer exponents >= 0: numpy raises for negative ones, so PyTensor's py mode has no answer."""
    if dtype in INT_DTYPES:
        to_dtype = np.dtype(dtype).type
        top = int(np.iinfo(dtype).max)
        return [None, st.one_of(st.integers(0, 8), st.integers(0, top)).map(to_dtype)]
    return [None, None]


def _cast_is_defined(target: str):
    """Float -> int casts PyTensor's py mode refuses (NaN, inf, out of range) are not examples."""
    def elements(dtype: str):
        if dtype in FLOAT_DTYPES and target in INT_DTYPES:
            info = np.iinfo(target)
            finite = element_values(dtype).filter(
                lambda v: np.isfinite(v) and info.min <= float(v) <= info.max
            )
            return [finite]
        return [None]
    return elements


def _scalar_sqrt_fast_path(example: ArrayExample) -> bool:
    base, exponent = (np.asarray(a) for a in example.arrays)
    if base.ndim or exponent.ndim or exponent.item() != 0.5:
        return False
    return bool(np.signbit(base)) and (base.item() == 0 or np.isneginf(base))


def _exp_precision(dtype: str) -> str:
    """The float type PyTensor computes exp(x) in for an input dtype (the chain's precision)."""
    return str(pt.exp(pt.scalar(dtype=dtype)).dtype)


def _single_negative_zero(example: ArrayExample) -> bool:
    value = np.asarray(example.arrays[0])
    return value.size == 1 and value.item() == 0 and bool(np.signbit(value).all())


def _composite_exp_mul_add(x, y):
    """A fused Elemwise as PyTensor's fusion rewrite makes them: exp(a) * b + 1.0."""
    a, b = ps.get_scalar_type(x.dtype)(), ps.get_scalar_type(y.dtype)()
    composite = ps.Composite([a, b], [ps.add(ps.mul(ps.exp(a), b), ps.constant(np.float64(1.0)))])
    return Elemwise(composite)(x, y)


# ----------------------------------------------------------------------------------------------
# Tier 1: arithmetic and basic math
# ----------------------------------------------------------------------------------------------

register("add", arity=2, dtypes=ALL_DTYPES, onnx_ops=("Add",))
register("sub", arity=2, dtypes=NUMERIC_DTYPES, onnx_ops=("Sub",))
register("mul", arity=2, dtypes=ALL_DTYPES, onnx_ops=("Mul",))
register("true_div", arity=2, dtypes=ALL_DTYPES, onnx_ops=("Div",))
register("int_div", arity=2, dtypes=ALL_DTYPES, onnx_ops=("Div",))
register("neg", arity=1, dtypes=NUMERIC_DTYPES)  # Neg, or Sub(0, x) for unsigned types
register("abs", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Abs",))
register("maximum", arity=2, dtypes=ALL_DTYPES, onnx_ops=("Max",))
register("minimum", arity=2, dtypes=ALL_DTYPES, onnx_ops=("Min",))
register("exp", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Exp",), tolerance=TRANSCENDENTAL)
register("log", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Log",), tolerance=TRANSCENDENTAL)
register("sqrt", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Sqrt",))
register("pow", arity=2, dtypes=ALL_DTYPES, tolerance=TRANSCENDENTAL, elements=_nonneg_exponents).xfail(
    # Pow for floats; exact square-and-multiply for ints.
    reason="numpy's 0-d power takes a sqrt fast path for exponent 0.5: pow(-0.0, 0.5) gives -0.0 and "
           "pow(-inf, 0.5) gives nan, where C99 pow (onnxruntime, numpy on arrays) gives +0.0 and +inf",
    category="pytensor", dtypes=("float32", "float64"), when=_scalar_sqrt_fast_path,
)
register("floor", arity=1, dtypes=NUMERIC_DTYPES + ("bool",), onnx_ops=("Floor",))
register("ceil", arity=1, dtypes=NUMERIC_DTYPES + ("bool",), onnx_ops=("Ceil",))
register("round_half_to_even", arity=1, dtypes=FLOAT_DTYPES, onnx_ops=("Round",))
register("round_half_away_from_zero", arity=1, dtypes=FLOAT_DTYPES, onnx_ops=("Floor", "Ceil", "Where"))
register("second", arity=2, dtypes=ALL_DTYPES, onnx_ops=("Expand",))
register("tensor_copy", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Identity",))
for _target in ("float32", "float64", "int32", "int64", "uint8", "bool"):
    register(f"cast_to_{_target}", arity=1, dtypes=ALL_DTYPES,
             build=lambda x, t=_target: pt.cast(x, t), elements=_cast_is_defined(_target),
             onnx_ops=())

# Structural ops that PyTensor puts into graphs of the ops above or into compiled functions.
register("alloc", arity=1, dtypes=ALL_DTYPES, build=lambda x: pt.alloc(x, 2, 3),
         shapes=lambda d: fixed_target_shapes(num_shapes=1, target=(2, 3)), onnx_ops=("Expand",),
         elementwise=False).xfail(
    reason="Alloc.perform fills with np.zeros when the single fill value == 0, so -0.0 becomes +0.0 "
           "(only on a fresh output buffer; a reused buffer keeps -0.0)",
    category="pytensor", dtypes=FLOAT_DTYPES, when=_single_negative_zero,
)
register("dimshuffle_transpose_expand", arity=1, dtypes=ALL_DTYPES,
         build=lambda x: x.dimshuffle(["x", *reversed(range(x.ndim))]), onnx_ops=("Unsqueeze",),
         elementwise=False)
register("deep_copy_op", arity=1, dtypes=ALL_DTYPES, build=deep_copy_op, onnx_ops=("Identity",))
register("assert_op", arity=1, dtypes=ALL_DTYPES, build=lambda x: Assert("never fails")(x, np.array(True)),
         onnx_ops=("Identity",))
register("composite_exp_mul_add", arity=2, dtypes=ALL_DTYPES, build=_composite_exp_mul_add,
         onnx_ops=("Exp", "Mul", "Add"), tolerance=TRANSCENDENTAL, ulp_dtype=_exp_precision).xfail(
    reason="onnxruntime runs float16 Exp/Mul in float32 and drops the Cast pairs between them (even "
           "with graph optimizations off), so a float16 chain is not rounded to float16 after each op "
           "as in PyTensor and the ONNX reference evaluator",
    category="onnxruntime-kernel", dtypes=("float16",),
).xfail(
    reason="PyTensor's py mode evaluates the fused exp on a numpy bool scalar, which numpy computes in "
           "float16, although the declared type is float32 (onnxruntime and the ONNX reference compute "
           "in float32)",
    category="pytensor", dtypes=("bool",),
)


# ----------------------------------------------------------------------------------------------
# Import-time completeness check
# ----------------------------------------------------------------------------------------------

def build_graph(spec: OpSpec, dtype: str, static_shapes: Sequence[tuple[int | None, ...]] | None = None):
    """Input variables and output of ``spec`` for ``dtype`` (inputs are rank-1 unless shapes given)."""
    in_dtypes = spec.inputs_dtypes(dtype)
    if static_shapes is None:
        static_shapes = [(None,)] * len(in_dtypes)
    inputs = [pt.tensor(f"x{i}", dtype=d, shape=tuple(s)) for i, (d, s) in enumerate(zip(in_dtypes, static_shapes))]
    return inputs, spec.build(*inputs)


def _ops_in(outputs):
    from pytensor.graph.traversal import applys_between

    for apply in applys_between([], outputs if isinstance(outputs, list) else [outputs]):
        yield apply.op
        scalar_op = getattr(apply.op, "scalar_op", None)
        if scalar_op is not None:
            yield scalar_op
            inner = getattr(scalar_op, "fgraph", None)
            if inner is not None:
                yield from (n.op for n in inner.toposort())


def converters_used(spec: OpSpec, dtype: str) -> set:
    _, out = build_graph(spec, dtype)
    return {onnx_funcify.dispatch(type(op)) for op in _ops_in(out)}


def check_registry() -> None:
    """Every entry's ops have converters, and every converter is exercised by some entry."""
    fallback = onnx_funcify.dispatch(object)
    from pytensor.graph.fg import FunctionGraph

    reached = set()
    for spec in ONNX_OPERATIONS.values():
        for dtype in spec.dtypes:
            try:
                used = converters_used(spec, dtype)
            except TypeError as exc:
                raise RegistryError(f"{spec.name}: PyTensor refuses dtype {dtype}: {exc}") from exc
            if fallback in used:
                raise RegistryError(f"{spec.name} ({dtype}) builds an op with no ONNX converter")
            reached |= used
    registered = set(onnx_funcify.registry.values()) - {fallback, onnx_funcify.dispatch(FunctionGraph)}
    unexercised = sorted(f.__name__ for f in registered - reached)
    if unexercised:
        raise RegistryError(f"converters not exercised by any registry entry: {unexercised}; add entries")


check_registry()
