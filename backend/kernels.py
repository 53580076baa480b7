"""Which dtypes onnxruntime's CPU provider runs for the ONNX ops the converters emit.

Converters ask `compute_dtype(onnx_op, dtype)` for the dtype to compute in. When the ONNX schema or
the CPU provider has no kernel for ``dtype``, the answer is a wider dtype in which the op gives the
same result after casting back (int16 -> int32 for Max, bool -> uint8 for Add, ...). When no such
dtype exists the exporter declines with `ONNXExportUnsupported` instead of computing something else.

To extend: add the ONNX op to `KERNEL_DTYPES` with the dtypes the newest onnxruntime runs and, if the
gap can be bridged exactly, the op to `EXACT_WIDENING`; a kernel that older supported releases lack
goes in `KERNELS_ADDED_IN` with the first release that has it. `installed_kernel_dtypes` is the table
for the installed onnxruntime. ``tests/backend/test_kernels.py`` runs every entry on the installed
onnxruntime, so a wrong table entry fails the tests rather than the users.
Source of the facts: onnxruntime's CPU kernel registrations (``cpu_execution_provider.cc``), as that
test finds them on the installed release.
"""

from __future__ import annotations

from backend.compat import ONNXRUNTIME_VERSION
from backend.dtypes import ALL_DTYPES, FLOAT_DTYPES, INT_DTYPES, SIGNED_DTYPES, ONNXExportUnsupported

_NUMERIC = FLOAT_DTYPES + INT_DTYPES

KERNEL_DTYPES: dict[str, tuple[str, ...]] = {
    "Add": _NUMERIC,
    "Sub": _NUMERIC,
    "Mul": _NUMERIC,
    "Div": _NUMERIC,
    "Mod": _NUMERIC,
    "Abs": _NUMERIC,
    "Sign": _NUMERIC,
    "Neg": FLOAT_DTYPES + SIGNED_DTYPES,
    "Max": tuple(d for d in _NUMERIC if d not in ("int16", "uint16")),
    "Min": tuple(d for d in _NUMERIC if d not in ("int16", "uint16")),
    "Pow": FLOAT_DTYPES + ("int32", "int64"),
    "Exp": FLOAT_DTYPES,
    "Log": FLOAT_DTYPES,
    "Sqrt": FLOAT_DTYPES,
    "Floor": FLOAT_DTYPES,
    "Ceil": FLOAT_DTYPES,
    "Round": FLOAT_DTYPES,
    "Equal": ALL_DTYPES,
    "LessOrEqual": _NUMERIC,
    "GreaterOrEqual": _NUMERIC,
    "Sin": FLOAT_DTYPES, "Cos": FLOAT_DTYPES, "Tanh": FLOAT_DTYPES,
    "Tan": ("float16", "float32"), "Asin": ("float16", "float32"), "Acos": ("float16", "float32"),
    "Atan": ("float16", "float32"), "Sinh": ("float16", "float32"), "Cosh": ("float16", "float32"),
    "Asinh": ("float16", "float32"), "Acosh": ("float16", "float32"), "Atanh": ("float16", "float32"),
    "Erf": ("float16", "float32"),
    "ReduceSum": FLOAT_DTYPES + ("int32", "int64"),
    "ReduceProd": FLOAT_DTYPES + ("int32", "int64"),
    "ReduceMax": FLOAT_DTYPES + ("int8", "int32", "int64", "uint8"),
    "ReduceMin": FLOAT_DTYPES + ("int8", "int32", "int64", "uint8"),
    "ArgMax": FLOAT_DTYPES + ("int8", "int32", "int64", "uint8"),
    "MatMul": FLOAT_DTYPES + ("int32", "int64", "uint32", "uint64"),
    "Less": _NUMERIC,
    "Greater": _NUMERIC,
    "Where": tuple(d for d in ALL_DTYPES if d not in ("int16", "uint16", "uint64", "bool")),
    "ScatterElements(reduction=add)": _NUMERIC[1:] + ("bool",),  # no float16 kernel
    "Range": ("float32", "float64", "int16", "int32", "int64"),
    "Pad": tuple(d for d in ALL_DTYPES if d not in ("int16", "uint16")),
    # float16 runs as a float32 sum (no rounding per step, unlike numpy): backend/extra_ops.py avoids it
    "CumSum": ("float16", "float32", "float64", "int32", "int64"),
}

OLDEST_PROBED_ONNXRUNTIME = (1, 22)
"""The oldest onnxruntime release this table describes. The project supports 1.31.1 on (pyproject.toml):
older releases load the exported models, but their matrix has undeclared divergences (README)."""

KERNELS_ADDED_IN: dict[str, dict[str, tuple[int, int]]] = {
    "Max": {"int8": (1, 24), "uint8": (1, 24)},
    "Min": {"int8": (1, 24), "uint8": (1, 24)},
    "Cos": {"float64": (1, 29)},
    "Where": {"int8": (1, 31), "uint32": (1, 31)},
}
"""op -> {dtype: first onnxruntime release with that CPU kernel}, for kernels of `KERNEL_DTYPES` that
releases from `OLDEST_PROBED_ONNXRUNTIME` on lack (probed with tests/backend/test_kernels.py on 1.22.1, 1.23.2,
1.24.4, 1.28.0, 1.29.0, 1.30.0, 1.31.1 and 1.32.0)."""


def installed_kernel_dtypes(onnx_op: str, version: tuple[int, int] = ONNXRUNTIME_VERSION) -> tuple[str, ...] | None:
    """The dtypes onnxruntime ``version`` (default: the installed one) runs ``onnx_op`` in; None for an
    op the table does not restrict."""
    newest = KERNEL_DTYPES.get(onnx_op)
    if newest is None:
        return None
    added = KERNELS_ADDED_IN.get(onnx_op, {})
    return tuple(d for d in newest if version >= added.get(d, OLDEST_PROBED_ONNXRUNTIME))


# Wider dtypes in which an op gives the same answer after a Cast back (integer ops wrap modulo 2**k
# and Cast to a narrower integer keeps the low bits, so wrapping arithmetic survives the round trip).
_WIDER = {
    "bool": ("uint8", "int32"),
    "int8": ("int32", "int64"),
    "int16": ("int32", "int64"),
    "uint8": ("int32", "uint32", "int64"),
    "uint16": ("int32", "uint32", "int64"),
    "uint32": ("int64", "uint64"),
    "uint64": ("int64",),
    "float16": ("float32",),
}
ORDER_OPS = {"Max", "Min", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "ReduceMax", "ReduceMin", "ArgMax"}
EXACT_WIDENING = {"Add", "Sub", "Mul", "Max", "Min", "Abs", "Where", "Equal", "Less", "Greater", "LessOrEqual",
                  "GreaterOrEqual", "ReduceSum", "ReduceProd", "ReduceMax", "ReduceMin", "ArgMax", "MatMul",
                  "CumSum", "Pad"}


def compute_dtype(onnx_op: str, dtype: str, *, allow_widening: bool | None = None) -> str:
    """The dtype in which to run ``onnx_op`` so that it yields PyTensor's ``dtype`` result."""
    supported = installed_kernel_dtypes(onnx_op)
    if supported is None or dtype in supported:
        return dtype
    if allow_widening is None:
        allow_widening = onnx_op in EXACT_WIDENING
    if allow_widening:
        for wider in _WIDER.get(dtype, ()):
            if dtype == "uint64" and onnx_op in ORDER_OPS:
                continue  # uint64 -> int64 keeps the bits but not the order
            if wider in supported:
                return wider
    raise ONNXExportUnsupported(
        f"ONNX {onnx_op} has no onnxruntime CPU kernel for {dtype} and no exact wider dtype; "
        f"kernels exist for {', '.join(supported)}"
    )
