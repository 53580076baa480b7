"""Reductions: Sum, Prod, Max (and Min, which PyTensor builds as -max(-x)), All, Any, Argmax.

PyTensor semantics that ONNX does not give by itself:
- accumulator and output dtypes: ``sum(int8)`` is int64, ``sum(uint8)`` uint64, ``sum(bool)`` int64,
  float16 sums accumulate in float32 (`CAReduce.acc_dtype`);
- NaN: ``max`` and ``argmax`` propagate NaN (the first NaN for argmax); onnxruntime's ReduceMax and
  ArgMax skip NaN, so the converters test for NaN explicitly;
- uint64 order: no onnxruntime kernel orders uint64 (ReduceMax/ReduceMin/ArgMax), and int64 alone
  does not keep its order; flipping the top bit first does (`_uint64_as_ordered_int64`);
- ``axis=None`` reduces every axis; axes are given explicitly (an empty axes input would mean "all"
  or "none" depending on ``noop_with_empty_axes``).

To add a CAReduce with another scalar op, extend `REDUCE_OPS`.
"""

from __future__ import annotations

import pytensor.scalar.basic as ps
from pytensor.tensor.elemwise import CAReduce, Elemwise
from pytensor.tensor.math import Argmax, ProdWithoutZeros

from backend.basic import onnx_funcify
from backend.dtypes import FLOAT_DTYPES
from backend.kernels import compute_dtype

REDUCE_OPS = {ps.Add: "ReduceSum", ps.Mul: "ReduceProd", ps.Maximum: "ReduceMax", ps.Minimum: "ReduceMin",
              ps.AND: "ReduceMin", ps.OR: "ReduceMax"}


def _axes(op_axis, ndim) -> list[int]:
    if op_axis is None:
        return list(range(ndim))
    return sorted(a % ndim for a in op_axis) if ndim else []


def _any_nan(ctx, x, axes, keepdims=0):
    """Per reduced slice: does it hold a NaN? (ReduceMax over IsNaN as uint8.)"""
    flags = ctx.cast(ctx.op.IsNaN(x), "bool", "uint8")
    found = ctx.op.ReduceMax(flags, ctx.constant(axes, "int64"), keepdims=keepdims)
    return ctx.cast(found, "uint8", "bool")


def _exact_int64_sum(ctx, value, axes):
    """A wrapping int64 sum, exact like numpy's.

    onnxruntime's int64 ReduceSum loses the low bits of values beyond 2**53 and saturates on overflow
    (as if it accumulated in double). Summing the low and high 32-bit halves separately keeps every
    partial sum below 2**53 (for slices under 2**21 elements); hi * 2**32 + lo is then recombined with
    integer Mul/Add, which wrap modulo 2**64 as numpy does.
    """
    low_mask, shift = ctx.constant(0xFFFFFFFF, "int64"), ctx.constant(2**32, "int64")
    low = ctx.op.BitwiseAnd(value, low_mask)
    high = ctx.op.Div(ctx.op.Sub(value, low), shift)  # exact: low bits cleared
    axes_input = ctx.constant(axes, "int64")
    low_sum = ctx.op.ReduceSum(low, axes_input, keepdims=0)
    high_sum = ctx.op.ReduceSum(high, axes_input, keepdims=0)
    return ctx.op.Add(ctx.op.Mul(high_sum, shift), low_sum)


_TOP_BIT = 1 << 63


def _uint64_as_ordered_int64(ctx, x):
    """int64 values in the same order as the uint64 ``x`` (x XOR 2**63, same bits as int64)."""
    return ctx.cast(ctx.op.BitwiseXor(x, ctx.constant(_TOP_BIT, "uint64")), "uint64", "int64")


def _ordered_int64_as_uint64(ctx, x):
    return ctx.op.BitwiseXor(ctx.cast(x, "int64", "uint64"), ctx.constant(_TOP_BIT, "uint64"))


def ordered_reduce(ctx, onnx_op, x, dtype, axes, keepdims=0):
    """ReduceMax / ReduceMin of ``x`` over ``axes`` in its own ``dtype``, as numpy computes it: NaN
    propagates, uint64 keeps its order, dtypes without a kernel go through an exact wider one."""
    axes_input = ctx.constant(axes, "int64")
    if dtype == "uint64":
        reduced = ctx.op[onnx_op](_uint64_as_ordered_int64(ctx, x), axes_input, keepdims=keepdims)
        return _ordered_int64_as_uint64(ctx, reduced)
    compute = compute_dtype(onnx_op, dtype, allow_widening=True)
    value = ctx.cast(x, dtype, compute)
    reduced = ctx.op[onnx_op](value, axes_input, keepdims=keepdims)
    if compute in FLOAT_DTYPES:
        nan = ctx.constant(float("nan"), compute)
        reduced = ctx.op.Where(_any_nan(ctx, value, axes, keepdims), nan, reduced)
    return ctx.cast(reduced, compute, dtype)


def _positive_zero(ctx, value, dtype):
    """numpy's sum starts from +0.0, so -0.0 slices sum to +0.0 (onnxruntime's ReduceSum keeps -0.0).
    Written as a Where: onnxruntime's optimizer folds ``x + 0.0`` into ``x``, which is wrong for -0.0.
    No Where where the sum cannot be -0.0 (`backend.signed_zero`: its elements cannot)."""
    if not ctx.can_hold_negative_zero(value):
        return value
    zero = ctx.constant(0.0, dtype)
    return ctx.free_of_negative_zero(ctx.op.Where(ctx.op.Equal(value, zero), zero, value))


def _split_fused_reduction(op, node):
    """PyTensor's fusion may fold an elementwise map into a reduction: CAReduce of
    Composite{i0 <op> g(i1)} is CAReduce{<op>} of Elemwise{g}. Returns (map node, reduction node), or
    None when the composite is not of that form."""
    from pytensor.graph.traversal import ancestors

    composite = op.scalar_op
    if not isinstance(composite, ps.Composite) or len(composite.outputs) != 1 or len(composite.inputs) != 2:
        return None
    accumulator, element = composite.inputs
    combine = composite.outputs[0].owner
    if combine is None or type(combine.op) not in REDUCE_OPS or len(combine.inputs) != 2:
        return None
    first, second = combine.inputs
    if first is not accumulator or accumulator in ancestors([second]):
        return None
    mapped = Elemwise(ps.Composite([element], [second])).make_node(node.inputs[0])
    reduction = CAReduce(combine.op, axis=op.axis).make_node(mapped.outputs[0])
    if reduction.outputs[0].type.dtype != node.outputs[0].type.dtype:
        return None
    return mapped, reduction


@onnx_funcify.register(CAReduce)
def onnx_funcify_CAReduce(op, node, ctx, inputs):
    (x,) = inputs
    scalar_type = type(op.scalar_op)
    split = _split_fused_reduction(op, node) if scalar_type not in REDUCE_OPS else None
    if split is not None:
        mapped, reduction = split
        (element,) = onnx_funcify(mapped.op, mapped, ctx, inputs)
        return onnx_funcify(reduction.op, reduction, ctx, [element])
    if scalar_type not in REDUCE_OPS:
        raise NotImplementedError(
            f"No ONNX conversion available for: CAReduce with scalar op {op.scalar_op} in node {node}"
        )
    onnx_op = REDUCE_OPS[scalar_type]
    in_dtype, out_dtype = str(node.inputs[0].type.dtype), str(node.outputs[0].type.dtype)
    acc_dtype = str(getattr(op, "acc_dtype", None) or out_dtype)
    axes = _axes(op.axis, node.inputs[0].type.ndim)
    if not axes:
        value = ctx.cast(x, in_dtype, out_dtype)
        if onnx_op == "ReduceSum" and out_dtype in FLOAT_DTYPES:
            value = _positive_zero(ctx, value, out_dtype)
        return [value]
    if onnx_op in ("ReduceMax", "ReduceMin"):
        reduced = ordered_reduce(ctx, onnx_op, ctx.cast(x, in_dtype, acc_dtype), acc_dtype, axes)
        return [ctx.cast(reduced, acc_dtype, out_dtype)]
    compute = compute_dtype(onnx_op, acc_dtype, allow_widening=True)
    value = ctx.cast(ctx.cast(x, in_dtype, acc_dtype), acc_dtype, compute)
    if onnx_op == "ReduceSum" and compute == "int64":
        reduced = _exact_int64_sum(ctx, value, axes)
    else:
        reduced = ctx.op[onnx_op](value, ctx.constant(axes, "int64"), keepdims=0)
    if onnx_op == "ReduceSum" and compute in FLOAT_DTYPES:
        reduced = _positive_zero(ctx, reduced, compute)
    return [ctx.cast(ctx.cast(reduced, compute, acc_dtype), acc_dtype, out_dtype)]


@onnx_funcify.register(ProdWithoutZeros)
def onnx_funcify_ProdWithoutZeros(op, node, ctx, inputs):
    """The product of a slice's nonzero elements (``prod``'s gradient divides by it); 0 for a slice
    without any nonzero element, empty ones included, as PyTensor's ``mul_without_zeros`` reduction gives
    (whose zero takes the sign of the slice's last zero; this one is +0.0)."""
    (x,) = inputs
    in_dtype, out_dtype = str(node.inputs[0].type.dtype), str(node.outputs[0].type.dtype)
    acc_dtype = str(getattr(op, "acc_dtype", None) or out_dtype)
    reduced_axes = _axes(op.axis, node.inputs[0].type.ndim)
    value = ctx.cast(x, in_dtype, acc_dtype)
    if not reduced_axes:
        return [ctx.cast(value, acc_dtype, out_dtype)]
    axes = ctx.constant(reduced_axes, "int64")
    compute = compute_dtype("ReduceProd", acc_dtype, allow_widening=True)
    value = ctx.cast(value, acc_dtype, compute)
    # zeros become ones by adding 1 where x == 0 (exact; onnxruntime has no Where for every dtype)
    is_zero = ctx.op.Equal(value, ctx.constant(0, compute))
    product = ctx.op.ReduceProd(ctx.op.Add(value, ctx.cast(is_zero, "bool", compute)), axes, keepdims=0)
    # a slice without a nonzero element multiplied only ones: times 0 gives PyTensor's 0
    any_nonzero = ctx.op.ReduceMax(ctx.cast(ctx.op.Not(is_zero), "bool", "uint8"), axes, keepdims=0)
    result = ctx.op.Mul(product, ctx.cast(any_nonzero, "uint8", compute))
    return [ctx.cast(ctx.cast(result, compute, acc_dtype), acc_dtype, out_dtype)]


@onnx_funcify.register(Argmax)
def onnx_funcify_Argmax(op, node, ctx, inputs):
    """Index of the first maximum (of the first NaN if any), over one or several axes."""
    (x,) = inputs
    in_dtype = str(node.inputs[0].type.dtype)
    ndim = node.inputs[0].type.ndim
    axes = _axes(op.axis, ndim)
    if not axes:
        return [ctx.op.Expand(ctx.constant(0, "int64"), ctx.op.Shape(x))]
    if in_dtype == "uint64":
        x, compute = _uint64_as_ordered_int64(ctx, x), "int64"
    else:
        compute = compute_dtype("ArgMax", in_dtype, allow_widening=True)
        x = ctx.cast(x, in_dtype, compute)
    kept = [d for d in range(ndim) if d not in axes]
    if len(axes) > 1 or axes != [ndim - 1]:
        # Bring the reduced axes to the end and flatten them into one, as PyTensor does.
        x = ctx.op.Transpose(x, perm=kept + axes)
        kept_shape = ctx.op.Shape(x, start=0, end=len(kept))
        # the flattened size explicitly: Reshape cannot infer -1 when a kept dimension is 0
        flat = ctx.op.ReduceProd(ctx.op.Shape(x, start=len(kept)), keepdims=1)
        x = ctx.op.Reshape(x, ctx.op.Concat(kept_shape, flat, axis=0), allowzero=1)
    index = ctx.op.ArgMax(x, axis=-1, keepdims=0, select_last_index=0)
    if compute in FLOAT_DTYPES:
        is_nan = ctx.cast(ctx.op.IsNaN(x), "bool", "uint8")
        first_nan = ctx.op.ArgMax(is_nan, axis=-1, keepdims=0, select_last_index=0)
        has_nan = ctx.cast(ctx.op.ReduceMax(is_nan, ctx.constant([-1], "int64"), keepdims=0),
                           "uint8", "bool")
        index = ctx.op.Where(has_nan, first_nan, index)
    return [index]
