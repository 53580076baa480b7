"""Shape ops: DimShuffle (expand, drop, transpose), Shape, Shape_i, Reshape, JoinDims, SplitDims,
SpecifyShape.

DimShuffle appears in almost every graph: PyTensor inserts it to align ranks for broadcasting
(``x * 2`` turns the literal into ``ExpandDims(2)``), for transposes and for gradients.

To add a shape op: register a converter here and add a registry entry.
"""

from __future__ import annotations

from pytensor.tensor.elemwise import DimShuffle
from pytensor.tensor.shape import Reshape, Shape, Shape_i, SpecifyShape

from backend.basic import onnx_funcify
from backend.compat import JoinDims, SplitDims


@onnx_funcify.register(DimShuffle)
def onnx_funcify_DimShuffle(op, node, ctx, inputs):
    """Squeeze the dropped (broadcastable) dims, transpose the kept ones, unsqueeze the new ones."""
    (x,) = inputs
    if op.drop:
        x = ctx.op.Squeeze(x, ctx.constant(list(op.drop), "int64"))
    kept = [d for d in range(op.input_ndim) if d not in op.drop]
    perm = [kept.index(d) for d in op.shuffle]
    if perm != sorted(perm):
        x = ctx.op.Transpose(x, perm=perm)
    if op.augment:
        x = ctx.op.Unsqueeze(x, ctx.constant(list(op.augment), "int64"))
    return [x]


@onnx_funcify.register(Shape)
def onnx_funcify_Shape(op, node, ctx, inputs):
    return [ctx.op.Shape(inputs[0])]


@onnx_funcify.register(Shape_i)
def onnx_funcify_Shape_i(op, node, ctx, inputs):
    shape = ctx.op.Shape(inputs[0], start=op.i, end=op.i + 1)
    return [ctx.op.Squeeze(shape, ctx.constant([0], "int64"))]


@onnx_funcify.register(Reshape)
def onnx_funcify_Reshape(op, node, ctx, inputs):
    x, shape = inputs
    shape = ctx.cast(shape, str(node.inputs[1].type.dtype), "int64")
    # allowzero=1: a 0 in the target is size 0 (numpy), not "copy the input's dimension" (ONNX default)
    return [ctx.op.Reshape(x, shape, allowzero=1)]


if JoinDims is not None:
    @onnx_funcify.register(JoinDims)
    def onnx_funcify_JoinDims(op, node, ctx, inputs):
        """Axes start..start+n_axes as one of their product's length (n_axes=0: a new axis of length 1)."""
        (x,) = inputs
        end = op.start_axis + op.n_axes
        joined = ctx.op.ReduceProd(ctx.op.Shape(x, start=op.start_axis, end=end), keepdims=1)
        target = ctx.op.Concat(ctx.op.Shape(x, start=0, end=op.start_axis), joined, ctx.op.Shape(x, start=end), axis=0)
        return [ctx.op.Reshape(x, target, allowzero=1)]


if SplitDims is not None:
    @onnx_funcify.register(SplitDims)
    def onnx_funcify_SplitDims(op, node, ctx, inputs):
        """Axis ``axis`` as the axes of the given shape."""
        x, split = inputs
        split = ctx.cast(split, str(node.inputs[1].type.dtype), "int64")
        target = ctx.op.Concat(ctx.op.Shape(x, start=0, end=op.axis), split, ctx.op.Shape(x, start=op.axis + 1), axis=0)
        return [ctx.op.Reshape(x, target, allowzero=1)]


@onnx_funcify.register(SpecifyShape)
def onnx_funcify_SpecifyShape(op, node, ctx, inputs):
    # ONNX has no runtime shape assertion; the static shape is already in the exported types.
    return [inputs[0]]
