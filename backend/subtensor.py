"""Indexing: basic Subtensor (integer indices, slices with negative and symbolic bounds and steps).

``x[i]`` becomes a Gather (which takes negative indices and drops the axis); slices become one ONNX
Slice with explicit starts/ends/steps: numpy's "omitted" bounds are spelled out as the int64 extremes,
which ONNX clamps exactly like numpy, for positive and negative steps.

To extend (advanced indexing, IncSubtensor): one converter per PyTensor op class here.
"""

from __future__ import annotations

import numpy as np
from pytensor.graph.basic import Constant
from pytensor.tensor.subtensor import Subtensor, indices_from_subtensor

from backend.basic import onnx_funcify

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


def _index_value(ctx, var, names, default=None):
    """A 1-element int64 tensor for a slice bound or index (constant folded when known)."""
    if var is None:
        return ctx.constant([default], "int64")
    if isinstance(var, Constant):
        return ctx.constant([int(var.data)], "int64")
    name = ctx.cast(names[var], str(var.type.dtype), "int64")
    return ctx.add_node("Reshape", [name, ctx.constant([1], "int64")])


@onnx_funcify.register(Subtensor)
def onnx_funcify_Subtensor(op, node, ctx, inputs):
    x = inputs[0]
    names = dict(zip(node.inputs, inputs))
    indices = indices_from_subtensor(node.inputs[1:], op.idx_list)
    starts, ends, steps, axes, integer_axes = [], [], [], [], []
    for axis, index in enumerate(indices):
        if isinstance(index, slice):
            if index.start is None and index.stop is None and index.step is None:
                continue
            negative_step = isinstance(index.step, Constant) and int(index.step.data) < 0
            step = _index_value(ctx, index.step, names, 1)
            if index.step is not None and not isinstance(index.step, Constant):
                # symbolic step: the defaults for omitted bounds depend on its sign
                is_negative = ctx.add_node("Less", [step, ctx.constant([0], "int64")])
                start = _index_value(ctx, index.start, names, 0) if index.start is not None else ctx.add_node(
                    "Where", [is_negative, ctx.constant([INT64_MAX], "int64"), ctx.constant([0], "int64")])
                end = _index_value(ctx, index.stop, names, 0) if index.stop is not None else ctx.add_node(
                    "Where", [is_negative, ctx.constant([INT64_MIN], "int64"), ctx.constant([INT64_MAX], "int64")])
            else:
                start = _index_value(ctx, index.start, names, INT64_MAX if negative_step else 0)
                end = _index_value(ctx, index.stop, names, INT64_MIN if negative_step else INT64_MAX)
            starts.append(start)
            ends.append(end)
            steps.append(step)
            axes.append(axis)
        else:
            integer_axes.append((axis, index))
    if axes:
        def concat(parts):
            return parts[0] if len(parts) == 1 else ctx.add_node("Concat", parts, axis=0)

        x = ctx.add_node("Slice", [x, concat(starts), concat(ends), ctx.constant(axes, "int64"), concat(steps)])
    for axis, index in reversed(integer_axes):  # last first: earlier axis numbers stay valid
        if isinstance(index, Constant):
            position = ctx.constant(int(index.data), "int64")
        else:
            position = ctx.cast(names[index], str(index.type.dtype), "int64")
        x = ctx.add_node("Gather", [x, position], axis=axis)
    return [x]
