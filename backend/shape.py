"""Shape ops: DimShuffle (expand, drop, transpose).

DimShuffle appears in almost every graph: PyTensor inserts it to align ranks for broadcasting
(``x * 2`` turns the literal into ``ExpandDims(2)``), for transposes and for gradients.

To add a shape op: register a converter here and add a registry entry.
"""

from __future__ import annotations

from pytensor.tensor.elemwise import DimShuffle

from backend.basic import onnx_funcify


@onnx_funcify.register(DimShuffle)
def onnx_funcify_DimShuffle(op, node, ctx, inputs):
    """Squeeze the dropped (broadcastable) dims, transpose the kept ones, unsqueeze the new ones."""
    (x,) = inputs
    if op.drop:
        x = ctx.add_node("Squeeze", [x, ctx.constant(list(op.drop), "int64")])
    kept = [d for d in range(op.input_ndim) if d not in op.drop]
    perm = [kept.index(d) for d in op.shuffle]
    if perm != sorted(perm):
        x = ctx.add_node("Transpose", [x], perm=perm)
    if op.augment:
        x = ctx.add_node("Unsqueeze", [x, ctx.constant(list(op.augment), "int64")])
    return [x]
