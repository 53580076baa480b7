"""Entries for the scalar ops of ``backend/scalar.py`` (each run as an Elemwise): arithmetic,
rounding, casts, powers, trigonometric/hyperbolic and special functions.

To add one: ``register("name", arity=..., dtypes=..., onnx_ops=(...), tolerance=...)`` below, with
``.xfail(...)`` chained for a known divergence (see ``harness/registry/spec.py``).
"""

from __future__ import annotations

import functools

import numpy as np
import pytensor.tensor as pt
from hypothesis import strategies as st

from backend.dtypes import ALL_DTYPES, FLOAT_DTYPES, INT_DTYPES, NUMERIC_DTYPES
from backend.scalar import TAN_REDUCTION_LIMIT
from harness.registry.quirks import (
    ONNXRUNTIME_FLOAT64_SIN_COS_ULP,
    ONNXRUNTIME_TINY_TANH,
    TINY_TANH_LIMIT,
    TINY_TANH_UNPREDICTABLE,
    as_elemwise_inputs,
    onnxruntime_float64_sin_cos_scale,
)
from harness.registry.spec import TRANSCENDENTAL, register
from strategies.values import ArrayExample, element_values, special_values


def _nonneg_exponents(dtype: str):
    """Integer exponents >= 0: numpy raises for negative ones, so PyTensor's py mode has no answer."""
    if dtype in INT_DTYPES:
        to_dtype = np.dtype(dtype).type
        top = int(np.iinfo(dtype).max)
        return [None, st.one_of(st.integers(0, 8), st.integers(0, top)).map(to_dtype)]
    return [None, None]


def _cast_is_defined(target: str):
    """Casts PyTensor's py mode refuses are not examples: float -> int of NaN, inf or values out of
    the target's range, and int -> narrower int of values out of its range (its scalar cast goes
    through a Python int, which numpy refuses to wrap: OverflowError)."""
    def elements(dtype: str):
        if target not in INT_DTYPES:
            return [None]
        info = np.iinfo(target)
        if dtype in FLOAT_DTYPES:
            finite = element_values(dtype).filter(
                lambda v: np.isfinite(v) and info.min <= float(v) <= info.max
            )
            return [finite]
        if dtype in INT_DTYPES and not np.can_cast(dtype, target):
            source = np.iinfo(dtype)
            low, high = max(int(info.min), int(source.min)), min(int(info.max), int(source.max))
            in_range = [v for v in special_values(dtype) if low <= int(v) <= high]
            to_dtype = np.dtype(dtype).type
            return [st.one_of(st.sampled_from(in_range), st.integers(low, high).map(to_dtype))]
        return [None]
    return elements


NUMPY_TAKES_SQRT_FAST_PATH = bool(np.signbit(np.power(np.array(-0.0), np.array(0.5))))
"""Whether the installed numpy has the fast path (numpy 2.0 has not: C99 pow everywhere)."""


def _numpy_sqrt_fast_path(example: ArrayExample) -> bool:
    """numpy computes x**0.5 as sqrt(x) (-0.0 -> -0.0, -inf -> nan) for 0-d operands and in its
    vectorised loop when the exponent is broadcast along the innermost dimension that has more than
    one element (size-1 dimensions are dropped first); elsewhere it calls C99 pow (+0.0, +inf)."""
    if not NUMPY_TAKES_SQRT_FAST_PATH:
        return False
    base, exponent = as_elemwise_inputs(example)  # the equal-rank arrays PyTensor's Elemwise passes
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


def _sigmoid_result_subnormal(example: ArrayExample) -> bool:
    x = np.asarray(example.arrays[0])
    out = np.dtype(str(pt.sigmoid(pt.tensor(dtype=x.dtype.name, shape=())).dtype))
    info = np.finfo(out)
    with np.errstate(all="ignore"):
        # PyTensor computes 1 / (1 + exp(-x)) in the output dtype: 0 once exp(-x) overflows; the
        # composition's result differs from that 0 by more than the bound (TRANSCENDENTAL ULPs, each
        # the smallest subnormal) above log(smallest subnormal * (bound + 1/2))
        bound = TRANSCENDENTAL[out.name]
        low = np.log(float(info.smallest_subnormal)) + np.log(bound + 0.5)
        high = -np.log(float(info.max))
        values = x.astype(np.float64)
    return bool(np.any((values > low) & (values < high)))


FLOAT64_RESULT_DTYPES = ("float64", "int32", "int64", "uint32", "uint64")
"""Input dtypes whose unary float functions PyTensor computes in float64."""


def _tan_beyond_reduction(example: ArrayExample) -> bool:
    x = np.abs(np.asarray(example.arrays[0]).astype(np.float64))
    return bool(np.any(np.isfinite(x) & (x > TAN_REDUCTION_LIMIT)))


def _tanh_of_tiny(example: ArrayExample) -> bool:
    x = np.abs(np.asarray(example.arrays[0]).astype(np.float64))
    return bool(np.any((x > 0) & (x < TINY_TANH_LIMIT)))


@functools.cache
def _output_dtype(function, dtype: str) -> str:
    """The dtype PyTensor gives ``function`` of a ``dtype`` input (ints upcast to float32 or float64)."""
    return str(function(pt.tensor(dtype=dtype, shape=())).dtype)


def _float64_sin_cos_scale(function, numpy_function):
    """error_scale of sin/cos: onnxruntime's float64 kernel's error model where the output is float64
    (float64 inputs and the 32/64-bit integers PyTensor upcasts to float64), none elsewhere."""
    def scale(example: ArrayExample):
        x = np.asarray(example.arrays[0])
        if _output_dtype(function, x.dtype.name) != "float64":
            return np.zeros(x.shape)
        x64 = x.astype(np.float64)
        return onnxruntime_float64_sin_cos_scale(x64, numpy_function(x64))
    return scale


def _not_empty(example: ArrayExample) -> bool:
    """softplus(False) and softplus(True) both go through the float16 loop: any element diverges."""
    return np.asarray(example.arrays[0]).size > 0


def _cast_to(target: str):
    return lambda x: pt.cast(x, target)


# ----------------------------------------------------------------------------------------------
# Arithmetic, rounding, copies and casts
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
# Pow for floats; exact square-and-multiply for ints.
register("pow", arity=2, dtypes=ALL_DTYPES, tolerance=TRANSCENDENTAL, elements=_nonneg_exponents).xfail(
    id="numpy-sqrt-fast-path",
    reason="numpy takes a sqrt fast path for a broadcast exponent 0.5 (0-d operands, or an exponent "
           "broadcast along the inner loop): pow(-0.0, 0.5) gives -0.0 and pow(-inf, 0.5) gives nan, where "
           "C99 pow (onnxruntime, numpy otherwise) gives +0.0 and +inf",
    category="pytensor", dtypes=("float32", "float64"), when=_numpy_sqrt_fast_path,
    # measured on 5,000 random rank-0..3 broadcasts of -0.0/-inf bases and 0.5 exponents: every
    # divergence was predicted, 284 predictions did not diverge (rank-3 outputs, broadcast bases)
    unpredictable="whether numpy's iterator hands the inner loop a broadcast exponent depends on how it "
                  "orders and coalesces the dimensions (rank-3 outputs with broadcast bases often take C99 pow)",
)
register("floor", arity=1, dtypes=NUMERIC_DTYPES + ("bool",), onnx_ops=("Floor",))
register("ceil", arity=1, dtypes=NUMERIC_DTYPES + ("bool",), onnx_ops=("Ceil",))
register("round_half_to_even", arity=1, dtypes=FLOAT_DTYPES, onnx_ops=("Round",))
register("round_half_away_from_zero", arity=1, dtypes=FLOAT_DTYPES, onnx_ops=("Floor", "Ceil", "Where"))
register("second", arity=2, dtypes=ALL_DTYPES, onnx_ops=("Expand",))
register("tensor_copy", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Identity",))
register("cast_to_float32", arity=1, dtypes=ALL_DTYPES, build=_cast_to("float32"),
         elements=_cast_is_defined("float32"))
register("cast_to_float64", arity=1, dtypes=ALL_DTYPES, build=_cast_to("float64"),
         elements=_cast_is_defined("float64"))
register("cast_to_int32", arity=1, dtypes=ALL_DTYPES, build=_cast_to("int32"), elements=_cast_is_defined("int32"))
register("cast_to_int64", arity=1, dtypes=ALL_DTYPES, build=_cast_to("int64"), elements=_cast_is_defined("int64"))
register("cast_to_uint8", arity=1, dtypes=ALL_DTYPES, build=_cast_to("uint8"), elements=_cast_is_defined("uint8"))
register("cast_to_bool", arity=1, dtypes=ALL_DTYPES, build=_cast_to("bool"), elements=_cast_is_defined("bool"))
register("sqr", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Mul",))
register("reciprocal", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Div",))
register("sign", arity=1, dtypes=NUMERIC_DTYPES, onnx_ops=("Sign",))
register("mod", arity=2, dtypes=ALL_DTYPES, onnx_ops=("Mod",))

# ----------------------------------------------------------------------------------------------
# Trigonometric, hyperbolic and special functions
# ----------------------------------------------------------------------------------------------

# onnxruntime's float64 Sin/Cos lose relative precision where the result is much smaller than x (9 ULP
# for sin(6.5), 3e5 ULP next to multiples of pi/2): their float64 outputs are held to the kernel's
# error model (quirks.py), 4 ULP of max(|x|, |result|); float16/float32 keep the plain bounds.
register("sin", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Sin",),
         tolerance={**TRANSCENDENTAL, "float64": ONNXRUNTIME_FLOAT64_SIN_COS_ULP},
         error_scale=_float64_sin_cos_scale(pt.sin, np.sin))
register("cos", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Cos",),
         tolerance={**TRANSCENDENTAL, "float64": ONNXRUNTIME_FLOAT64_SIN_COS_ULP},
         error_scale=_float64_sin_cos_scale(pt.cos, np.cos))
# onnxruntime's float64 Tanh is within 6 ULP of libm's (measured on 7e5 values over 1e-300..1e15);
# the float64 bound is that, not libm's 2.
register("tanh", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Tanh",), tolerance={**TRANSCENDENTAL, "float64": 8}).xfail(
    id="onnxruntime-tiny-tanh",
    reason=ONNXRUNTIME_TINY_TANH, category="onnxruntime-kernel", dtypes=("float32",), when=_tanh_of_tiny,
    unpredictable=TINY_TANH_UNPREDICTABLE,
)
# float64 tan, arcsin, arccos, arctan (and arctan2 below) are compositions (onnxruntime has no float64
# kernel; backend/scalar.py): measured over 3.2e6 values from 1e-320 to 1e308 (docs/special_functions.md),
# at most 1 ULP (arctan), 2 (arcsin, arccos, arctan2) and 3 (tan, whose cotangent branch adds a division)
register("tan", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Round",), tolerance={**TRANSCENDENTAL, "float64": 4}).xfail(
    id="tan-beyond-reduction", category="exporter", dtypes=FLOAT64_RESULT_DTYPES, when=_tan_beyond_reduction,
    reason=f"float64 tan of |x| > {TAN_REDUCTION_LIMIT:.4g} (2**26 pi/2) is NaN in the export: reducing such x by "
           "pi/2 needs more bits of pi than the composition holds (Payne-Hanek's reduction is not composed)")
register("arcsin", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Sqrt",), tolerance=TRANSCENDENTAL)
register("arccos", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Sqrt",), tolerance=TRANSCENDENTAL)
register("arctan", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Div",), tolerance=TRANSCENDENTAL)
# float64 compositions (backend/scalar.py FLOAT64_COMPOSITIONS; no onnxruntime kernel): measured max
# error over 6.5e5 values from 1e-8 to 1e308 was 3 ULP (atanh, asinh, sinh) and 2 ULP (cosh, acosh);
# the bounds allow one ULP more. onnx_ops are those of the float64 export, the one checked.
register("sinh", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Exp",), tolerance={**TRANSCENDENTAL, "float64": 4})
register("cosh", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Exp",), tolerance={**TRANSCENDENTAL, "float64": 3})
register("arcsinh", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Log",), tolerance={**TRANSCENDENTAL, "float64": 4})
register("arccosh", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Log",), tolerance={**TRANSCENDENTAL, "float64": 3})
register("arctanh", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Log",), tolerance={**TRANSCENDENTAL, "float64": 4})
register("log1p", arity=1, dtypes=ALL_DTYPES, tolerance=TRANSCENDENTAL)
# expm1 and softplus compose Exp/Log in float64: measured max 3 ULP against py mode over 8e5 values
# (-745..710 and |x| in 1e-304..665), 21 and 6 of them beyond 2 ULP; the bounds allow one more
register("expm1", arity=1, dtypes=ALL_DTYPES, tolerance={**TRANSCENDENTAL, "float64": 4})
register("log2", arity=1, dtypes=ALL_DTYPES, tolerance=TRANSCENDENTAL)
# log(x) / log(10): Log's error plus the division by a rounded constant, 3 ULP at most in float64
# (measured on 6e5 values over 1e-300..1e300)
register("log10", arity=1, dtypes=ALL_DTYPES, tolerance={**TRANSCENDENTAL, "float64": 3})
register("exp2", arity=1, dtypes=ALL_DTYPES, tolerance=TRANSCENDENTAL)
register("sigmoid", arity=1, dtypes=ALL_DTYPES, tolerance=TRANSCENDENTAL).xfail(
    id="sigmoid-exp-overflow",
    reason="PyTensor's py mode gives 0 where exp(-x) overflows although the sigmoid is a subnormal "
           "number there; the exported e/(1+e) composition returns the subnormal value",
    category="pytensor", dtypes=("float32", "float64") + INT_DTYPES + ("bool",), when=_sigmoid_result_subnormal,
)
register("softplus", arity=1, dtypes=ALL_DTYPES, tolerance={**TRANSCENDENTAL, "float64": 4}).xfail(
    id="softplus-bool-in-float16",
    reason="PyTensor's Softplus.impl computes a bool input through numpy's float16 exp loop "
           "(its int8 guard checks itemsize, not bool), losing precision",
    category="pytensor", dtypes=("bool",), when=_not_empty,
)
register("arctan2", arity=2, dtypes=ALL_DTYPES, tolerance=TRANSCENDENTAL, onnx_ops=("Div",))  # Atan composition
