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
from pytensor.tensor.shape import Shape_i
from pytensor.tensor.subtensor import AdvancedIncSubtensor1, advanced_subtensor1

import backend  # noqa: F401  (registers the converters)
from backend.basic import onnx_funcify
from strategies.dtypes import ALL_DTYPES, FLOAT_DTYPES, INT_DTYPES, NUMERIC_DTYPES
from strategies.creation import arange_examples, eye_examples, split_examples
from strategies.indexing import apply_pattern, indexing_examples, pattern_input_dtypes, pattern_ndim
from strategies.ops import axis_params
from strategies.shapes import (
    BroadcastShapes,
    broadcastable_shapes,
    concatenable_shapes,
    fixed_target_shapes,
    matmul_shapes,
)
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
REDUCTION = {"float16": 2, "float32": 16, "float64": 16}
"""sum/prod/mean: onnxruntime and numpy add in different orders (pairwise vs vectorised), so the
rounding differs by a few ULP per element; float16 accumulates in float32 in both."""
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
    probe_ndim: int | tuple[int, ...] = 1  # rank of the inputs (or of each) when built without drawn shapes
    # whole examples for inputs that depend on each other (indices in range of the indexed array):
    # examples(dtype, edge_cases) replaces the shapes/elements/params strategies
    examples: Callable[[str, bool], st.SearchStrategy[ArrayExample]] | None = None
    params: Callable | None = None  # strategy of build keyword arguments drawn with the inputs (axis_params)
    # benchmark inputs of about ``size`` elements for ops that need particular ranks or related inputs
    # (default: one vector of ``size`` per input): bench_inputs(dtype, size) -> arrays
    bench_inputs: Callable[[str, int], list[np.ndarray]] | None = None
    # magnitude of the largest term each result is a difference of (see compare_arrays): for
    # compositions whose terms cancel, error_scale(example) -> array broadcastable to the output
    error_scale: Callable[[ArrayExample], np.ndarray] | None = None
    values_defined: bool = True  # False: only dtype and shape are specified (AllocEmpty's contents)
    dtype_kwarg: bool = False  # build receives the cell dtype as ``dtype=`` (creation ops fed only shapes)
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


def _numpy_sqrt_fast_path(example: ArrayExample) -> bool:
    """numpy computes x**0.5 as sqrt(x) (-0.0 -> -0.0, -inf -> nan) for 0-d operands and in its
    vectorised loop when the exponent is broadcast along the innermost dimension that has more than
    one element (size-1 dimensions are dropped first); elsewhere it calls C99 pow (+0.0, +inf)."""
    base, exponent = _as_elemwise_inputs(example)  # the equal-rank arrays PyTensor's Elemwise passes
    out_shape = np.broadcast_shapes(base.shape, exponent.shape)
    b, e = np.broadcast_arrays(base, exponent)
    with np.errstate(invalid="ignore"):
        special = (e == 0.5) & (((b == 0) & np.signbit(b)) | np.isneginf(b))
    if not out_shape:
        return bool(special)
    wide = [d for d, size in enumerate(out_shape) if size > 1]
    if not wide or exponent.shape[wide[-1]] != 1:
        return False
    return bool(special.any())


def _exp_precision(dtype: str) -> str:
    """The float type PyTensor computes exp(x) in for an input dtype (the chain's precision)."""
    return str(pt.exp(pt.scalar(dtype=dtype)).dtype)


WHERE_NEGATIVE_ZERO = ("onnxruntime's Where merges its two selections by 'x != 0', so a chosen -0.0 can come "
                       "back as +0.0 (which depends on the broadcast shapes; see onnxruntime_where)")


def onnxruntime_where(cond, x, y) -> np.ndarray:
    """What onnxruntime's CPU Where returns, as its kernel computes it: ``x_sel = cond ? x : 0`` and
    ``y_sel = cond ? 0 : y`` (each broadcast against ``cond``), then a merge that takes ``x_sel``
    where it is nonzero and ``y_sel`` elsewhere, except when its broadcaster treats ``y_sel`` as a
    scalar per span and ``x_sel`` not: then ``y_sel`` is taken where nonzero and ``x_sel``
    elsewhere. A -0.0 compares equal to 0, so either way the merge can replace a chosen -0.0 by the
    other side's +0.0. (tests/harness/test_registry.py checks this model against the installed
    onnxruntime.)"""
    cond, x, y = np.asarray(cond, bool), np.asarray(x), np.asarray(y)
    zero = np.zeros((), x.dtype)
    x_sel, y_sel = np.where(cond, x, zero), np.where(cond, zero, y)
    x_axis, y_axis = _first_broadcast_axes(x_sel.shape, y_sel.shape)
    if y_axis <= 1 < x_axis:
        return np.where(y_sel != 0, y_sel, x_sel)
    return np.where(x_sel != 0, x_sel, y_sel)


def _first_broadcast_axes(a: tuple, b: tuple) -> tuple[int, int]:
    """The sizes onnxruntime's broadcaster reads for the innermost span: an input whose size there is
    1 is a scalar per span. 0-d inputs are scalars; otherwise the innermost common dimension that is
    not 1 in both, or the outermost common one."""
    if not a or not b:
        return (1 if not a else a[-1]), (1 if not b else b[-1])
    common = min(len(a), len(b))
    for k in range(1, common + 1):
        if max(a[-k], b[-k]) != 1 or k == common:
            return a[-k], b[-k]
    raise AssertionError("unreachable")


def _same_including_zero_signs(a, b) -> bool:
    a, b = np.broadcast_arrays(np.asarray(a), np.asarray(b))
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    return bool(np.all(same & (np.signbit(a) == np.signbit(b))))


def _as_elemwise_inputs(example: ArrayExample) -> list[np.ndarray]:
    """The inputs with equal ranks, as PyTensor's Elemwise (and so the exported graph) feeds them."""
    arrays = [np.asarray(v) for v in example.arrays]
    ndim = max(a.ndim for a in arrays)
    return [a.reshape((1,) * (ndim - a.ndim) + a.shape) for a in arrays]


def _where_loses_negative_zero_in_switch(example: ArrayExample) -> bool:
    cond, a, b = _as_elemwise_inputs(example)
    with np.errstate(invalid="ignore"):
        return not _same_including_zero_signs(onnxruntime_where(cond != 0, a, b), np.where(cond != 0, a, b))


def _where_loses_negative_zero_in_clip(example: ArrayExample) -> bool:
    x, lo, hi = _as_elemwise_inputs(example)
    with np.errstate(invalid="ignore"):  # the converter's two Wheres, as onnxruntime runs them
        ort = onnxruntime_where(x < lo, lo, onnxruntime_where(x > hi, hi, x))
        exact = np.where(x < lo, lo, np.where(x > hi, hi, x))
    return not _same_including_zero_signs(ort, exact)


def _sigmoid_result_subnormal(example: ArrayExample) -> bool:
    x = np.asarray(example.arrays[0])
    out = np.dtype(str(pt.sigmoid(pt.tensor(dtype=x.dtype.name, shape=())).dtype))
    info = np.finfo(out)
    with np.errstate(all="ignore"):
        low, high = np.log(float(info.smallest_subnormal)), np.log(float(info.tiny))
        values = x.astype(np.float64)
    return bool(np.any((values > low) & (values < high)))


def _tanh_of_tiny(example: ArrayExample) -> bool:
    x = np.abs(np.asarray(example.arrays[0]).astype(np.float64))
    return bool(np.any((x > 0) & (x < 2e-38)))


def _beyond_double(exact_reduction):
    """The int64 computation meets a value double cannot hold exactly (inputs as int64, or the exact
    Python-int result), or the result leaves the int64 range: then onnxruntime's result differs."""
    def exact_in_double(v: int) -> bool:
        return -(2**63) <= v < 2**63 and int(float(v)) == v

    def predicate(example: ArrayExample) -> bool:
        x = np.asarray(example.arrays[0])
        if x.dtype.kind not in "iub" or x.size == 0:
            return False
        as_int64 = x.astype(np.int64).astype(object)  # uint64 is computed as int64 (same bits)
        exact = exact_reduction(as_int64, axis=dict(example.params).get("axis"))
        values = list(np.asarray(exact, dtype=object).flat) + list(as_int64.flat)
        return not all(exact_in_double(int(v)) for v in values)
    return predicate


def _empty_contraction(example: ArrayExample) -> bool:
    a, _ = example.shapes
    return a[-1] == 0


def _single_negative_zero(example: ArrayExample) -> bool:
    value = np.asarray(example.arrays[0])
    return value.size == 1 and value.item() == 0 and bool(np.signbit(value).all())


def advanced_inc_subtensor1(x, y, index):
    return AdvancedIncSubtensor1()(x, y, index)


def advanced_set_subtensor1(x, y, index):
    return AdvancedIncSubtensor1(set_instead_of_inc=True)(x, y, index)


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
# max(+0.0, -0.0) is unspecified: IEEE 754 leaves it open and numpy itself answers differently in its
# scalar and vectorised loops, so the sign of a zero result is not compared.
register("maximum", arity=2, dtypes=ALL_DTYPES, onnx_ops=("Max",), signed_zeros=False)
register("minimum", arity=2, dtypes=ALL_DTYPES, onnx_ops=("Min",), signed_zeros=False)
register("exp", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Exp",), tolerance=TRANSCENDENTAL)
register("log", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Log",), tolerance=TRANSCENDENTAL)
register("sqrt", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Sqrt",))
register("pow", arity=2, dtypes=ALL_DTYPES, tolerance=TRANSCENDENTAL, elements=_nonneg_exponents).xfail(
    # Pow for floats; exact square-and-multiply for ints.
    reason="numpy takes a sqrt fast path for a broadcast exponent 0.5 (0-d operands, or an exponent "
           "broadcast along the inner loop): pow(-0.0, 0.5) gives -0.0 and pow(-inf, 0.5) gives nan, where "
           "C99 pow (onnxruntime, numpy otherwise) gives +0.0 and +inf",
    category="pytensor", dtypes=("float32", "float64"), when=_numpy_sqrt_fast_path,
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

# ----------------------------------------------------------------------------------------------
# Coverage wave 1: the rest of the elementwise set
# ----------------------------------------------------------------------------------------------

for _name, _onnx in [("sin", "Sin"), ("cos", "Cos"), ("tanh", "Tanh"), ("tan", "Tan"), ("arcsin", "Asin"),
                     ("arccos", "Acos"), ("arctan", "Atan"), ("sinh", "Sinh"), ("cosh", "Cosh"),
                     ("arcsinh", "Asinh"), ("arccosh", "Acosh"), ("arctanh", "Atanh"), ("erf", "Erf")]:
    register(_name, arity=1, dtypes=ALL_DTYPES, onnx_ops=(_onnx,), tolerance=TRANSCENDENTAL)
# float64 compositions (backend/scalar.py FLOAT64_COMPOSITIONS; no onnxruntime kernel): measured max
# error over 6.5e5 values from 1e-8 to 1e308 was 3 ULP (atanh, asinh, sinh) and 2 ULP (cosh, acosh);
# the bounds allow one ULP more.
for _name, _ulp, _float64_ops in (("arctanh", 4, ("Log",)), ("arcsinh", 4, ("Log",)), ("sinh", 4, ("Exp",)),
                                  ("cosh", 3, ("Exp",)), ("arccosh", 3, ("Log",))):
    ONNX_OPERATIONS[_name].tolerance = {**TRANSCENDENTAL, "float64": _ulp}
    ONNX_OPERATIONS[_name].onnx_ops = _float64_ops  # what the float64 export (the one checked) contains
# onnxruntime's float64 Tanh is within 6 ULP of libm's (measured on 7e5 values over 1e-300..1e15);
# the float64 bound is that, not libm's 2.
ONNX_OPERATIONS["tanh"].tolerance = {**TRANSCENDENTAL, "float64": 8}
for _name in ("sin", "cos"):
    ONNX_OPERATIONS[_name].xfail(
        reason="onnxruntime's float64 Sin/Cos reduce the argument with an absolute error of about one ulp "
               "of x, so results much smaller than x lose relative precision: 9 ULP for sin(6.5), 4 ULP "
               "for cos(1.5), up to 3e5 ULP next to multiples of pi/2 (numpy: within 1 ULP)",
        category="onnxruntime-kernel", dtypes=("float64",))
ONNX_OPERATIONS["tanh"].xfail(
    reason="onnxruntime's float32 Tanh is off by tens of ULP for |x| below ~2e-38 (subnormal range), "
           "where tanh(x) == x",
    category="onnxruntime-kernel", dtypes=("float32",), when=_tanh_of_tiny,
)
for _name in ("log1p", "expm1", "log2", "log10", "exp2"):
    register(_name, arity=1, dtypes=ALL_DTYPES, tolerance=TRANSCENDENTAL)
# log(x) / log(10): Log's error plus the division by a rounded constant, 3 ULP at most in float64
# (measured on 6e5 values over 1e-300..1e300)
ONNX_OPERATIONS["log10"].tolerance = {**TRANSCENDENTAL, "float64": 3}
register("sigmoid", arity=1, dtypes=ALL_DTYPES, tolerance=TRANSCENDENTAL).xfail(
    reason="PyTensor's py mode flushes sigmoid results in the subnormal range to 0; the exported "
           "e/(1+e) composition returns the subnormal value",
    category="pytensor", dtypes=("float32", "float64") + INT_DTYPES + ("bool",), when=_sigmoid_result_subnormal,
)
register("softplus", arity=1, dtypes=ALL_DTYPES, tolerance=TRANSCENDENTAL).xfail(
    reason="PyTensor's Softplus.impl computes a bool input through numpy's float16 exp loop "
           "(its int8 guard checks itemsize, not bool), losing precision",
    category="pytensor", dtypes=("bool",),
)
register("erfc", arity=1, dtypes=ALL_DTYPES, tolerance=TRANSCENDENTAL)
register("arctan2", arity=2, dtypes=ALL_DTYPES, tolerance=TRANSCENDENTAL, onnx_ops=("Atan",))  # float32 Atan composition
register("sqr", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Mul",))
register("reciprocal", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Div",))
register("sign", arity=1, dtypes=NUMERIC_DTYPES, onnx_ops=("Sign",))
register("mod", arity=2, dtypes=ALL_DTYPES, onnx_ops=("Mod",))
for _name, _onnx in [("eq", "Equal"), ("neq", "Equal"), ("lt", "Less"), ("le", "LessOrEqual"), ("gt", "Greater"),
                     ("ge", "GreaterOrEqual")]:
    register(_name, arity=2, dtypes=ALL_DTYPES, onnx_ops=(_onnx,))
for _name in ("and_", "or_", "xor", "bitwise_and", "bitwise_or", "bitwise_xor", "invert"):
    register(_name, arity=1 if _name == "invert" else 2, dtypes=INT_DTYPES + ("bool",))
register("isnan", arity=1, dtypes=ALL_DTYPES)
register("isinf", arity=1, dtypes=ALL_DTYPES)
register("switch", arity=3, dtypes=ALL_DTYPES, onnx_ops=("Where",),
         input_dtypes=lambda d: (d, d, d)).xfail(
    reason=WHERE_NEGATIVE_ZERO, category="onnxruntime-kernel", dtypes=FLOAT_DTYPES,
    when=_where_loses_negative_zero_in_switch,
)
register("clip", arity=3, dtypes=ALL_DTYPES, onnx_ops=("Where",)).xfail(
    reason=WHERE_NEGATIVE_ZERO, category="onnxruntime-kernel", dtypes=FLOAT_DTYPES,
    when=_where_loses_negative_zero_in_clip,
)

# Shape and indexing (wave 1, first part)
def _ranked(min_dims=1, min_side=0):
    return lambda d: broadcastable_shapes(num_shapes=1, min_dims=min_dims, max_dims=4, min_side=min_side)


register("shape", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Shape",), elementwise=False)
register("shape_i", arity=1, dtypes=ALL_DTYPES, build=lambda x: Shape_i(0)(x), shapes=_ranked(),
         onnx_ops=("Shape", "Squeeze"), elementwise=False)
register("subtensor_reverse", arity=1, dtypes=ALL_DTYPES, build=lambda x: x[::-1], shapes=_ranked(),
         onnx_ops=("Slice",), elementwise=False)
register("subtensor_negative_index", arity=1, dtypes=ALL_DTYPES, build=lambda x: x[-1],
         shapes=_ranked(min_side=1), onnx_ops=("Gather",), elementwise=False)
register("subtensor_step_slice", arity=1, dtypes=ALL_DTYPES, build=lambda x: x[1::2], shapes=_ranked(),
         onnx_ops=("Slice",), elementwise=False)
register("subtensor_negative_step_bounds", arity=1, dtypes=ALL_DTYPES, build=lambda x: x[..., -1:0:-2],
         shapes=_ranked(), onnx_ops=("Slice",), elementwise=False)
register("subtensor_mixed", arity=1, dtypes=ALL_DTYPES, build=lambda x: x[1:, -2, ::-1],
         shapes=lambda d: broadcastable_shapes(num_shapes=1, min_dims=3, max_dims=3, min_side=2),
         onnx_ops=("Slice", "Gather"), elementwise=False, probe_ndim=3)

# Reductions over every axis combination (axis None, one axis, negative axis, several) and keepdims
def _reduction(function):
    return lambda x, axis=None, keepdims=False: function(x, axis=axis, keepdims=keepdims)


for _name, _onnx in [("sum", "ReduceSum"), ("prod", "ReduceProd"), ("max", "ReduceMax"), ("min", "ReduceMax"),
                     ("all", "ReduceMin"), ("any", "ReduceMax"), ("argmax", "ArgMax"), ("argmin", "ArgMax"),
                     ("mean", "ReduceSum")]:
    register(_name, arity=1, dtypes=ALL_DTYPES, build=_reduction(getattr(pt, _name)), params=axis_params(),
             elementwise=False, tolerance=REDUCTION if _name in ("sum", "prod", "mean") else EXACT,
             signed_zeros=_name not in ("max", "min"))  # max(+0.0, -0.0) is unspecified, as for maximum
ONNX_OPERATIONS["prod"].xfail(
    reason="onnxruntime's int64 ReduceProd loses the low bits of products beyond 2**53 and saturates "
           "instead of wrapping on overflow (as if it multiplied in double); sums are exported exactly",
    category="onnxruntime-kernel", dtypes=INT_DTYPES + ("bool",), when=_beyond_double(np.prod),
)

# Matrix products and normalisations (used by the real-graph benchmarks)
# The sign of a zero dot product depends on the order and start of the accumulation (BLAS vs MLAS).
register("dot", arity=2, dtypes=ALL_DTYPES, shapes=lambda d: matmul_shapes(), onnx_ops=("MatMul",),
         elementwise=False, tolerance=REDUCTION, probe_ndim=2, signed_zeros=False)


def _log_softmax_terms(example: ArrayExample):
    """log_softmax(x) = d - log(s), d = x - max(x), s = sum(exp(d)) >= 1: s is rounded (in an order
    that differs between numpy and onnxruntime) before log turns its error into an absolute one, so
    the scale is the largest of |d|, |log(s)| and s."""
    x = np.asarray(example.arrays[0], dtype=np.float64)
    axis = dict(example.params).get("axis")
    if x.size == 0:
        return np.zeros(x.shape)
    d = x - np.max(x, axis=axis, keepdims=True)
    total = np.sum(np.exp(d), axis=axis, keepdims=True)
    return np.maximum(np.maximum(np.abs(d), np.abs(np.log(total))), total)


# Both sum exp(d) over the axis: REDUCTION bounds, like sum and mean.
for _name in ("softmax", "log_softmax"):
    register(_name, arity=1, dtypes=NUMERIC_DTYPES, elementwise=False, tolerance=REDUCTION,
             build=lambda x, axis=None, f=getattr(pt.special, _name): f(x, axis=axis),
             params=axis_params(keepdims=False, multiple=False), onnx_ops=("Exp", "ReduceSum"),
             error_scale=_log_softmax_terms if _name == "log_softmax" else None)
ONNX_OPERATIONS["dot"].xfail(
    reason="onnxruntime's uint32/uint64 MatMul fails ('Tensor::MutableData') when the contracted "
           "dimension is 0, where numpy returns zeros",
    category="onnxruntime-kernel", dtypes=("uint32", "uint64"), when=_empty_contraction,
)
register("scalar_from_tensor", arity=1, dtypes=ALL_DTYPES,
         build=lambda x: pt.tensor_from_scalar(pt.scalar_from_tensor(x)),
         shapes=lambda d: st.just(BroadcastShapes(((),), ())), elementwise=False, probe_ndim=0)

# Reshape, join, specify_shape (wave 1, second part)
register("reshape_flatten", arity=1, dtypes=ALL_DTYPES, build=lambda x: x.reshape((-1,)), onnx_ops=("Reshape",),
         elementwise=False)
register("reshape_keep_first", arity=1, dtypes=ALL_DTYPES, build=lambda x: x.reshape((x.shape[0], -1)),
         shapes=_ranked(min_side=1), onnx_ops=("Reshape", "Concat"), elementwise=False)
register("concatenate", arity=2, dtypes=ALL_DTYPES, build=lambda x, y: pt.concatenate([x, y], axis=0),
         shapes=lambda d: concatenable_shapes(), onnx_ops=("Concat",), elementwise=False)
register("specify_shape", arity=1, dtypes=ALL_DTYPES, build=lambda x: pt.specify_shape(x, x.shape),
         elementwise=False)

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
register("squeeze", arity=1, dtypes=ALL_DTYPES, build=pt.squeeze, elementwise=False)  # DimShuffle drop form
register("deep_copy_op", arity=1, dtypes=ALL_DTYPES, build=deep_copy_op, onnx_ops=("Identity",))
register("assert_op", arity=1, dtypes=ALL_DTYPES, build=lambda x: Assert("never fails")(x, np.array(True)),
         onnx_ops=("Identity",))
def _exp_mul_add_terms(example: ArrayExample):
    a, b = (np.asarray(v, dtype=np.float64) for v in example.arrays)
    return np.maximum(np.abs(np.exp(a) * b), 1.0)


register("composite_exp_mul_add", arity=2, dtypes=ALL_DTYPES, build=_composite_exp_mul_add,
         error_scale=_exp_mul_add_terms,
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


# Indexing: symbolic slice bounds, advanced indexing, and updates through every indexing kind.
def _indexing(name, pattern, *, update=None, op=None, index_dtype="int64", max_ndim=3, index_ndim=None, **fields):
    """One entry for ``x[pattern]`` (``update``: None, "inc" or "set"; see strategies/indexing.py).
    Inputs: x, the pattern's index inputs, then the update values. ``op`` builds the node directly
    (the specialised Advanced*Subtensor1 ops that PyTensor's rewrites introduce)."""
    index_dtypes = pattern_input_dtypes(pattern, index_dtype=index_dtype)

    def build(x, *rest):
        index_inputs, values = rest[:len(index_dtypes)], rest[len(index_dtypes):]
        if op is not None:
            return op(x, *values, *index_inputs)
        selection = x[apply_pattern(pattern, index_inputs)]
        if update is None:
            return selection
        return (pt.set_subtensor if update == "set" else pt.inc_subtensor)(selection, values[0])

    probe_index_ranks = tuple(
        0 if token == "bounds" else 2 if token == "mask2" else 1 if index_ndim is None else index_ndim
        for token in pattern if isinstance(token, str) for _ in range(3 if token == "bounds" else 1))
    def bench_inputs(dtype, size):
        rng = np.random.default_rng(0)
        ndim = pattern_ndim(pattern)
        side = max(2, round(size ** (1 / ndim)))
        arrays = [np.ones((side,) * ndim, dtype)]
        for token in pattern:
            if token == "array":
                arrays.append(rng.integers(0, side, side).astype(index_dtype))
            elif token in ("mask", "mask2"):
                arrays.append(rng.integers(0, 2, (side,) * (2 if token == "mask2" else 1)).astype(bool))
            elif token == "bounds":
                arrays += [np.array(1), np.array(side), np.array(2)]
        return arrays + ([np.ones((), dtype)] if update else [])

    spec = register(
        name, arity=1 + len(index_dtypes) + (update is not None), dtypes=ALL_DTYPES, build=build,
        bench_inputs=bench_inputs,
        input_dtypes=lambda d: (d, *index_dtypes) + ((d,) if update else ()),
        examples=lambda d, edge_cases: indexing_examples(
            dtype=d, pattern=pattern, max_ndim=max_ndim, index_dtype=index_dtype, index_ndim=index_ndim,
            updates=update is not None, edge_cases=edge_cases),
        probe_ndim=(pattern_ndim(pattern), *probe_index_ranks) + ((0,) if update else ()),
        elementwise=False, **fields)
    if update == "inc":
        spec.xfail(
            reason="onnxruntime has no float16 ScatterElements(reduction=add), so the export accumulates in "
                   "float32 and rounds once; np.add.at rounds to float16 after every addition, which differs "
                   "when a position repeats and the float32 sum rounds differently",
            category="exporter", dtypes=("float16",), when=_float32_accumulation_differs(pattern))
        if any(token in ("array", "mask", "mask2") for token in pattern):  # advanced: PyTensor uses np.add.at
            spec.xfail(
                reason="PyTensor's reference is np.add.at, which adds wrong values when the update must be "
                       "broadcast to a multi-dimensional index (numpy 2.4: adding [1, 2] at [[0, 0], [0, 0]] "
                       "gives 3.0 for floats and garbage for integers, instead of 6); the export adds the "
                       "broadcast values",
                category="pytensor", when=_numpy_add_at_broadcast_differs(pattern))
    return spec


def _add_at_arguments(pattern, example: ArrayExample):
    """np.add.at's arguments for an inc entry's example: x, the index tuple (masks as their nonzero
    rows) and the update values, as given and broadcast to the selection."""
    x, *index_inputs, y = (np.asarray(a) for a in example.arrays)
    index = apply_pattern(pattern, [np.asarray(i) for i in index_inputs])
    flat_index = tuple(part for i in index for part in (i.nonzero() if getattr(i, "dtype", None) == bool else (i,)))
    return x, flat_index, y, np.broadcast_to(y, x[index].shape).copy()


def _float32_accumulation_differs(pattern):
    def predicate(example: ArrayExample) -> bool:
        x, index, _, y_full = _add_at_arguments(pattern, example)
        stepwise, once = x.copy(), x.astype(np.float32)
        with np.errstate(all="ignore"):
            np.add.at(stepwise, index, y_full)
            np.add.at(once, index, y_full.astype(np.float32))
            once = once.astype(np.float16)
        return not np.array_equal(stepwise, once, equal_nan=True)
    return predicate


def _numpy_add_at_broadcast_differs(pattern):
    def predicate(example: ArrayExample) -> bool:
        x, index, y, y_full = _add_at_arguments(pattern, example)
        as_given, broadcast = x.copy(), x.copy()
        with np.errstate(all="ignore"):
            np.add.at(as_given, index, y)
            np.add.at(broadcast, index, y_full)
        return not np.array_equal(as_given, broadcast, equal_nan=True)
    return predicate


_indexing("subtensor_symbolic_bounds", ("bounds",), onnx_ops=("Slice",))
_indexing("subtensor_symbolic_bounds_2d", (slice(None, None, -1), "bounds"), onnx_ops=("Slice",))
_indexing("advanced_subtensor1", ("array",), op=advanced_subtensor1, index_ndim=1, onnx_ops=("Gather",))
_indexing("advanced_subtensor_take", ("array",), onnx_ops=("Gather",))
_indexing("advanced_subtensor_int32_index", ("array",), index_dtype="int32", onnx_ops=("Gather",))
_indexing("advanced_subtensor_separated", ("array", slice(None), "array"), onnx_ops=("GatherND",))
_indexing("advanced_subtensor_adjacent", (slice(1, None), "array", "array"), onnx_ops=("GatherND", "Transpose"))
_indexing("advanced_subtensor_scalar_and_array", (-1, "array"), onnx_ops=("GatherND",))
_indexing("advanced_subtensor_mask", ("mask2",), onnx_ops=("NonZero", "GatherND"))
_indexing("advanced_subtensor_mask_after_slice", (slice(None, None, -1), "mask"), onnx_ops=("NonZero", "Gather"))
_indexing("inc_subtensor_slices", (slice(1, None), slice(None, None, 2)), update="inc",
          onnx_ops=("ScatterElements",))
_indexing("set_subtensor_index", (-1,), update="set", onnx_ops=("ScatterElements",))
_indexing("set_subtensor_symbolic_bounds", ("bounds",), update="set", onnx_ops=("ScatterElements",))
_indexing("advanced_inc_subtensor1", ("array",), update="inc", op=advanced_inc_subtensor1, index_ndim=1,
          onnx_ops=("ScatterElements",))
_indexing("advanced_set_subtensor1", ("array",), update="set", op=advanced_set_subtensor1, index_ndim=1,
          onnx_ops=("ScatterElements",))
_indexing("advanced_inc_subtensor_take", ("array",), update="inc", onnx_ops=("ScatterElements",))
_indexing("advanced_set_subtensor_separated", ("array", slice(None), "array"), update="set",
          onnx_ops=("ScatterElements",))
_indexing("advanced_inc_subtensor_adjacent", (slice(None), "array", "array"), update="inc",
          onnx_ops=("ScatterElements",))
_indexing("advanced_inc_subtensor_mask", ("mask",), update="inc", onnx_ops=("NonZero", "ScatterElements"))


# Creation and splitting (wave 1, third part)
def _square_side(size: int) -> int:
    return max(2, round(size ** 0.5))


register("split", arity=2, dtypes=ALL_DTYPES, build=lambda x, sizes: pt.split(x, sizes, n_splits=3, axis=-1),
         bench_inputs=lambda d, size: [np.ones(size, d), np.array([size // 3, size // 3, size - 2 * (size // 3)])],
         input_dtypes=lambda d: (d, "int64"), probe_ndim=(1, 1), elementwise=False, onnx_ops=("Split",),
         examples=lambda d, edge_cases: split_examples(dtype=d, n_splits=3, axis=-1, edge_cases=edge_cases))
register("alloc_empty", arity=1, dtypes=ALL_DTYPES, build=lambda x: pt.empty(x.shape, dtype=x.dtype),
         values_defined=False, elementwise=False, onnx_ops=("ConstantOfShape",))
register("arange", arity=3, dtypes=ALL_DTYPES, probe_ndim=0, elementwise=False, onnx_ops=("Range",),
         bench_inputs=lambda d, size: [np.array(v).astype(d) for v in (0, min(size, np.iinfo(d).max if d in INT_DTYPES
                                                                            else size), 1)],
         examples=lambda d, edge_cases: arange_examples(dtype=d, edge_cases=edge_cases))
register("eye", arity=3, dtypes=ALL_DTYPES, build=lambda n, m, k, dtype: pt.eye(n, m, k, dtype=dtype),
         dtype_kwarg=True, input_dtypes=lambda d: ("int64",) * 3, probe_ndim=0, elementwise=False,
         bench_inputs=lambda d, size: [np.array(_square_side(size)), np.array(_square_side(size)), np.array(0)],
         onnx_ops=("Range", "Equal"), examples=lambda d, edge_cases: eye_examples())


def _offsets(input_shapes):
    return st.fixed_dictionaries({"offset": st.integers(-4, 4)})


register("extract_diag", arity=1, dtypes=ALL_DTYPES, build=lambda x, offset=0: pt.diagonal(x, offset, 0, 1),
         shapes=_ranked(min_dims=2), params=_offsets, probe_ndim=2, elementwise=False, onnx_ops=("GatherND",),
         bench_inputs=lambda d, size: [np.ones((_square_side(size),) * 2, d)])
register("extract_diag_last_first", arity=1, dtypes=ALL_DTYPES,
         build=lambda x, offset=0: pt.diagonal(x, offset, 2, 0), shapes=_ranked(min_dims=3), params=_offsets,
         probe_ndim=3, elementwise=False, onnx_ops=("GatherND", "Transpose"),
         bench_inputs=lambda d, size: [np.ones((_square_side(size), 2, _square_side(size)), d)])


# ----------------------------------------------------------------------------------------------
# Import-time completeness check
# ----------------------------------------------------------------------------------------------

def build_graph(spec: OpSpec, dtype: str, static_shapes: Sequence[tuple[int | None, ...]] | None = None,
                params: tuple = ()):
    """Input variables and output of ``spec`` for ``dtype`` (inputs are rank-``probe_ndim`` unless
    shapes are given); ``params`` are the drawn build keyword arguments, as (name, value) pairs."""
    in_dtypes = spec.inputs_dtypes(dtype)
    if static_shapes is None:
        ranks = spec.probe_ndim if isinstance(spec.probe_ndim, tuple) else (spec.probe_ndim,) * len(in_dtypes)
        static_shapes = [(None,) * r for r in ranks]
    inputs = [pt.tensor(f"x{i}", dtype=d, shape=tuple(s)) for i, (d, s) in enumerate(zip(in_dtypes, static_shapes))]
    kwargs = dict(params, dtype=dtype) if spec.dtype_kwarg else dict(params)
    return inputs, spec.build(*inputs, **kwargs)


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
