"""SortOp and ArgSortOp (``pytensor.tensor.sort``) -> ONNX ``TopK(largest=0, sorted=1)`` with k = the
axis length.

TopK orders like numpy: NaN last and, between equal keys, the lower index first (the ONNX spec's tie
rule), so the result is numpy's *stable* sort; PyTensor's default kind is quicksort, whose tie order
numpy leaves unspecified (its SIMD sorts do reorder ties), which the registry declares for argsort.
Dtypes without a TopK kernel are sorted in a wider dtype that keeps the order (uint16 -> int32,
uint32 -> int64, bool -> uint8). uint64 has none: it is sorted as two stable passes, low 32 bits
then high 32 bits, each as int64 (a radix sort, exact for every value).

``stable_argsort`` is the building block other converters sort with (Unique).
To extend: a new ordering op composes `stable_argsort` and ``GatherElements``.
"""

from __future__ import annotations

import numpy as np
from pytensor.graph.basic import Constant
from pytensor.tensor.sort import ArgSortOp, SortOp

from backend.basic import onnx_funcify
from backend.dtypes import ONNXExportUnsupported

# The dtypes onnxruntime's CPU TopK runs, and the order-keeping dtype for the others.
_TOPK_DTYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8")
_TOPK_WIDER = {"uint16": "int32", "uint32": "int64", "bool": "uint8"}


def _axis_length(ctx, x, axis: int):
    return ctx.op.Gather(ctx.op.Shape(x), ctx.constant([axis], "int64"), axis=0)


def _topk_order(ctx, keys, axis: int):
    _, order = ctx.op.TopK(keys, _axis_length(ctx, keys, axis), axis=axis, largest=0, sorted=1, n_outputs=2)
    return order


def stable_argsort(ctx, x, dtype: str, axis: int):
    """Indices (int64) that sort ``x`` along ``axis`` in numpy's order, ties in index order."""
    if dtype in _TOPK_DTYPES:
        return _topk_order(ctx, x, axis)
    if dtype in _TOPK_WIDER:
        return _topk_order(ctx, ctx.cast(x, dtype, _TOPK_WIDER[dtype]), axis)
    if dtype == "uint64":
        low = ctx.cast(ctx.op.BitwiseAnd(x, ctx.constant(0xFFFFFFFF, "uint64")), "uint64", "int64")
        high = ctx.cast(ctx.op.BitShift(x, ctx.constant(32, "uint64"), direction="RIGHT"), "uint64", "int64")
        by_low = _topk_order(ctx, low, axis)
        by_high = _topk_order(ctx, ctx.op.GatherElements(high, by_low, axis=axis), axis)
        return ctx.op.GatherElements(by_low, by_high, axis=axis)
    raise ONNXExportUnsupported(f"sorting {dtype} values has no exact ONNX composition here")


def _sort_axis(node) -> int | None:
    """The constant axis of a Sort/ArgSort node (None: sort the flattened input). From PyTensor 3.3
    the axis is the op's property; before, it is the node's second input."""
    if hasattr(node.op, "axis"):
        axis = node.op.axis
    else:
        axis_var = node.inputs[1]
        if not isinstance(axis_var, Constant):
            raise ONNXExportUnsupported(
                f"{node.op}: the sort axis {axis_var} is not a constant; ONNX TopK needs a fixed axis")
        axis = axis_var.data
    if axis is None or np.asarray(axis).ndim != 0:
        return None
    return int(axis) % max(node.inputs[0].type.ndim, 1)


def _prepare(ctx, node, x):
    axis = _sort_axis(node)
    if axis is None or node.inputs[0].type.ndim == 0:
        return ctx.op.Reshape(x, ctx.constant([-1], "int64")), 0
    return x, axis


@onnx_funcify.register(SortOp)
def onnx_funcify_SortOp(op, node, ctx, inputs):
    x, axis = _prepare(ctx, node, inputs[0])
    order = stable_argsort(ctx, x, str(node.inputs[0].type.dtype), axis)
    return [ctx.op.GatherElements(x, order, axis=axis)]


@onnx_funcify.register(ArgSortOp)
def onnx_funcify_ArgSortOp(op, node, ctx, inputs):
    x, axis = _prepare(ctx, node, inputs[0])
    order = stable_argsort(ctx, x, str(node.inputs[0].type.dtype), axis)
    return [ctx.cast(order, "int64", str(node.outputs[0].type.dtype))]
