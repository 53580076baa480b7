"""Matrices built from others: BlockDiagonal (``pt.linalg.block_diag``).

BlockDiagonal: each block padded with zeros to the total column count (zeros left of it for the
columns of the blocks before, right for those after), the padded blocks stacked by rows. A batched
block_diag is a Blockwise, converted through `backend.blockwise`'s Loop over the batch.

To extend: another constructor of `pytensor.tensor.linalg.constructors` (kron is a graph of
ordinary ops already).
"""

from __future__ import annotations

from backend.basic import onnx_funcify
from backend.compat import BlockDiagonal
from backend.helpers import dtype_of, output_dtype
from backend.kernels import compute_dtype

if BlockDiagonal is not None:
    @onnx_funcify.register(BlockDiagonal)
    def onnx_funcify_BlockDiagonal(op, node, ctx, inputs):
        out = output_dtype(node)
        # onnxruntime's Pad has no int16/uint16 kernel: those are padded in a wider dtype, exactly
        work = compute_dtype("Pad", out)
        blocks = [ctx.cast(name, dtype_of(var), work) for name, var in zip(inputs, node.inputs)]
        widths = [ctx.op.Slice(ctx.op.Shape(block), ctx.constant([1], "int64"), ctx.constant([2], "int64"))
                  for block in blocks]
        total = widths[0]
        for width in widths[1:]:
            total = ctx.op.Add(total, width)
        before = ctx.constant([0], "int64")
        rows = []
        for block, width in zip(blocks, widths):
            after = ctx.op.Sub(ctx.op.Sub(total, before), width)
            pads = ctx.op.Concat(ctx.constant([0], "int64"), before, ctx.constant([0], "int64"), after, axis=0)
            rows.append(ctx.op.Pad(block, pads))
            before = ctx.op.Add(before, width)
        return [ctx.cast(rows[0] if len(rows) == 1 else ctx.op.Concat(*rows, axis=0), work, out)]
