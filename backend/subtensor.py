"""Indexing: basic and advanced Subtensor, and the IncSubtensor family (``inc_subtensor`` /
``set_subtensor``).

Basic indexing (`select_basic`): ``x[i]`` becomes a Gather (which takes negative indices and drops
the axis); slices become one ONNX Slice with explicit starts/ends/steps: numpy's omitted bounds are
spelled out as the int64 extremes, which ONNX clamps exactly like numpy, for positive and negative
steps (symbolic steps choose the defaults at run time).

Advanced indexing (`select_advanced`) follows numpy's rules: boolean masks stand for their
``nonzero()`` rows, integer indices (0-d ones too) broadcast together, the indexed axes are moved to
the front and read with one Gather (a single index) or GatherND (stacked indices), and the broadcast
dimensions go back to where the first indexed axis was when the indexed axes are adjacent.

Updates (`_scatter`) reuse the selection: the same indexing applied to a tensor of flat positions
(``arange(x.size).reshape(x.shape)``) tells which element of ``x`` each selected element is, so
``x[idx] += y`` becomes one ScatterElements over the flattened ``x``; ``reduction="add"`` accumulates
repeated positions as ``np.add.at`` does, ``"none"`` writes them in order (numpy keeps the last).

To extend: one converter per PyTensor op class here, built on the two selection functions.
"""

from __future__ import annotations

import numpy as np
from pytensor.graph.basic import Constant
from pytensor.tensor.subtensor import (
    AdvancedIncSubtensor,
    AdvancedSubtensor,
    IncSubtensor,
    Subtensor,
    indices_from_subtensor,
)

from backend.basic import onnx_funcify, register_if_present
from backend.compat import SLICES_ARE_VARIABLES, AdvancedIncSubtensor1, AdvancedSubtensor1, advanced_index_variables
from backend.kernels import compute_dtype

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


def _index_value(ctx, var, names, default=None):
    """A 1-element int64 tensor for a slice bound or index (constant folded when known)."""
    if var is None:
        return ctx.constant([default], "int64")
    if isinstance(var, Constant):
        return ctx.constant([int(var.data)], "int64")
    name = ctx.cast(names[var], str(var.type.dtype), "int64")
    return ctx.op.Reshape(name, ctx.constant([1], "int64"))


def _index_tensor(ctx, var, names):
    """An integer index (any rank) as int64."""
    if isinstance(var, Constant):
        return ctx.constant(np.asarray(var.data, dtype="int64"), "int64")
    return ctx.cast(names[var], str(var.type.dtype), "int64")


def _apply_slices(ctx, x, sliced_axes, names):
    """One Slice node for ``[(axis, slice), ...]`` (slices of variables or None)."""
    starts, ends, steps, axes = [], [], [], []
    for axis, index in sliced_axes:
        if index.start is None and index.stop is None and index.step is None:
            continue
        negative_step = isinstance(index.step, Constant) and int(index.step.data) < 0
        step = _index_value(ctx, index.step, names, 1)
        if index.step is not None and not isinstance(index.step, Constant):
            # symbolic step: the defaults for omitted bounds depend on its sign
            is_negative = ctx.op.Less(step, ctx.constant([0], "int64"))
            start = _index_value(ctx, index.start, names, 0) if index.start is not None else ctx.op.Where(is_negative, ctx.constant([INT64_MAX], "int64"), ctx.constant([0], "int64"))
            end = _index_value(ctx, index.stop, names, 0) if index.stop is not None else ctx.op.Where(is_negative, ctx.constant([INT64_MIN], "int64"), ctx.constant([INT64_MAX], "int64"))
        else:
            start = _index_value(ctx, index.start, names, INT64_MAX if negative_step else 0)
            end = _index_value(ctx, index.stop, names, INT64_MIN if negative_step else INT64_MAX)
        may_step_back = negative_step or (index.step is not None and not isinstance(index.step, Constant))
        if may_step_back and index.start is not None and not (
                isinstance(index.start, Constant) and int(index.start.data) >= -1):
            # numpy: a start below -size with a negative step selects nothing; ONNX clamps it to 0
            # (the first element), so such slices are rewritten to the empty [0:0:step].
            size = ctx.op.Gather(ctx.op.Shape(x), ctx.constant([axis], "int64"), axis=0)
            before_first = ctx.op.Less(start, ctx.op.Neg(size))
            if index.step is not None and not isinstance(index.step, Constant):
                before_first = ctx.op.And(before_first, ctx.op.Less(step, ctx.constant([0], "int64")))
            start = ctx.op.Where(before_first, ctx.constant([0], "int64"), start)
            end = ctx.op.Where(before_first, ctx.constant([0], "int64"), end)
        starts.append(start)
        ends.append(end)
        steps.append(step)
        axes.append(axis)
    if not axes:
        return x

    def concat(parts):
        return parts[0] if len(parts) == 1 else ctx.op.Concat(*parts, axis=0)

    return ctx.op.Slice(x, concat(starts), concat(ends), ctx.constant(axes, "int64"), concat(steps))


def select_basic(ctx, x, indices, names):
    """``x[indices]`` for numpy basic indexing (slices and scalar integers)."""
    x = _apply_slices(ctx, x, [(a, i) for a, i in enumerate(indices) if isinstance(i, slice)], names)
    integer_axes = [(a, i) for a, i in enumerate(indices) if not isinstance(i, slice)]
    for axis, index in reversed(integer_axes):  # last first: earlier axis numbers stay valid
        if isinstance(index, Constant):
            position = ctx.constant(int(index.data), "int64")
        else:
            position = ctx.cast(names[index], str(index.type.dtype), "int64")
        x = ctx.op.Gather(x, position, axis=axis)
    return x


def select_advanced(ctx, x, ndim, indices, names):
    """``x[indices]`` with numpy advanced indexing (integer arrays, boolean masks, slices)."""
    explicit = []  # per axis of x: a slice, or (int64 index name, index rank)
    for index in indices:
        if isinstance(index, slice):
            explicit.append(index)
        elif index.type.dtype == "bool":
            nonzero = ctx.op.NonZero(names[index])  # (mask rank, count)
            explicit += [(ctx.op.Gather(nonzero, ctx.constant(row, "int64"), axis=0), 1)
                         for row in range(index.type.ndim)]
        else:
            explicit.append((_index_tensor(ctx, index, names), index.type.ndim))
    explicit += [slice(None)] * (ndim - len(explicit))
    x = _apply_slices(ctx, x, [(a, i) for a, i in enumerate(explicit) if isinstance(i, slice)], names)
    indexed = [a for a, i in enumerate(explicit) if not isinstance(i, slice)]
    if not indexed:
        return x
    others = [a for a in range(ndim) if a not in indexed]
    if indexed + others != list(range(ndim)):
        x = ctx.op.Transpose(x, perm=indexed + others)
    index_names = [explicit[a][0] for a in indexed]
    broadcast_ndim = max(explicit[a][1] for a in indexed)
    if len(index_names) == 1:
        x = ctx.op.Gather(x, index_names[0], axis=0)
    else:
        total = index_names[0]
        for name in index_names[1:]:
            total = ctx.op.Add(total, name)
        common_shape = ctx.op.Shape(total)
        last = ctx.constant([-1], "int64")
        stacked = [ctx.op.Unsqueeze(ctx.op.Expand(n, common_shape), last) for n in index_names]
        x = ctx.op.GatherND(x, ctx.op.Concat(*stacked, axis=-1))
    first = indexed[0]
    adjacent = indexed == list(range(first, first + len(indexed)))
    if adjacent and first > 0:  # numpy puts the broadcast dims where the indexed axes were
        b, rest = broadcast_ndim, len(others)
        perm = list(range(b, b + first)) + list(range(b)) + list(range(b + first, b + rest))
        x = ctx.op.Transpose(x, perm=perm)
    return x


@onnx_funcify.register(Subtensor)
def onnx_funcify_Subtensor(op, node, ctx, inputs):
    names = dict(zip(node.inputs, inputs))
    return [select_basic(ctx, inputs[0], indices_from_subtensor(node.inputs[1:], op.idx_list), names)]


if SLICES_ARE_VARIABLES:
    from pytensor.tensor.type_other import MakeSlice

    @onnx_funcify.register(MakeSlice)
    def onnx_funcify_MakeSlice(op, node, ctx, inputs):
        """A slice has no ONNX value: Advanced(Inc)Subtensor reads its bounds from the PyTensor node."""
        return [""]


@onnx_funcify.register(AdvancedSubtensor)
def onnx_funcify_AdvancedSubtensor(op, node, ctx, inputs):
    names = dict(zip(node.inputs, inputs))
    indices = advanced_index_variables(op, node.inputs[1:])
    return [select_advanced(ctx, inputs[0], node.inputs[0].type.ndim, indices, names)]


@register_if_present(AdvancedSubtensor1)  # PyTensor < 3.2
def onnx_funcify_AdvancedSubtensor1(op, node, ctx, inputs):
    return [ctx.op.Gather(inputs[0], _index_tensor(ctx, node.inputs[1], dict(zip(node.inputs, inputs))),
                         axis=0)]


def _scatter(ctx, node, x, y, select, *, set_instead_of_inc, ignore_duplicates=False):
    """``x[idx] = y`` or ``x[idx] += y`` where ``select(positions)`` applies ``idx``."""
    dtype = str(node.outputs[0].type.dtype)
    x_shape = ctx.op.Shape(x)
    positions = ctx.op.Reshape(ctx.op.Range(ctx.constant(0, "int64"), ctx.op.Size(x), ctx.constant(1, "int64")),
        x_shape, allowzero=1)  # a 0 in x's shape means size 0, not "copy"
    selected = select(positions)
    flat = ctx.constant([-1], "int64")
    y = ctx.op.Expand(ctx.cast(y, str(node.inputs[1].type.dtype), dtype), ctx.op.Shape(selected))
    flat_positions = ctx.op.Reshape(selected, flat)
    flat_x, flat_y = ctx.op.Reshape(x, flat), ctx.op.Reshape(y, flat)
    if set_instead_of_inc:
        out = ctx.op.ScatterElements(flat_x, flat_positions, flat_y, axis=0)
    elif ignore_duplicates:  # x[idx] += y: each position read once, the last write wins
        gathered = ctx.op.Gather(flat_x, flat_positions, axis=0)
        out = ctx.op.ScatterElements(flat_x, flat_positions, _add(ctx, gathered, flat_y, dtype), axis=0)
    else:
        work = compute_dtype("ScatterElements(reduction=add)", dtype, allow_widening=True)
        out = ctx.cast(ctx.op.ScatterElements(ctx.cast(flat_x, dtype, work), flat_positions,
                                                        ctx.cast(flat_y, dtype, work), axis=0, reduction="add"),
                       work, dtype)
    return ctx.op.Reshape(out, x_shape, allowzero=1)


def _add(ctx, a, b, dtype):
    work = compute_dtype("Add", dtype)
    return ctx.cast(ctx.op.Add(ctx.cast(a, dtype, work), ctx.cast(b, dtype, work)), work, dtype)


@onnx_funcify.register(IncSubtensor)
def onnx_funcify_IncSubtensor(op, node, ctx, inputs):
    names = dict(zip(node.inputs, inputs))
    indices = indices_from_subtensor(node.inputs[2:], op.idx_list)
    return [_scatter(ctx, node, inputs[0], inputs[1], lambda p: select_basic(ctx, p, indices, names),
                     set_instead_of_inc=op.set_instead_of_inc)]


@onnx_funcify.register(AdvancedIncSubtensor)
def onnx_funcify_AdvancedIncSubtensor(op, node, ctx, inputs):
    names = dict(zip(node.inputs, inputs))
    indices = advanced_index_variables(op, node.inputs[2:])
    ndim = node.inputs[0].type.ndim
    return [_scatter(ctx, node, inputs[0], inputs[1], lambda p: select_advanced(ctx, p, ndim, indices, names),
                     set_instead_of_inc=op.set_instead_of_inc, ignore_duplicates=op.ignore_duplicates)]


@register_if_present(AdvancedIncSubtensor1)  # PyTensor < 3.2
def onnx_funcify_AdvancedIncSubtensor1(op, node, ctx, inputs):
    index = _index_tensor(ctx, node.inputs[2], dict(zip(node.inputs, inputs)))
    return [_scatter(ctx, node, inputs[0], inputs[1], lambda p: ctx.op.Gather(p, index, axis=0),
                     set_instead_of_inc=op.set_instead_of_inc)]
