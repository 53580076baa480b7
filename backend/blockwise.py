"""Blockwise: a core op applied over leading batch dimensions (``X @ w`` builds ``Blockwise(Dot)``,
named Matmul; ``pytensor.tensor.vectorize`` and batched linear algebra build others).

PyTensor gives every input of a Blockwise the same number of batch dimensions (ExpandDims where an
input had fewer); batch dimensions broadcast like numpy's, and may be empty. A core op whose ONNX
converter already computes the batched result when handed batched inputs is converted by that very
converter: `BATCH_POLYMORPHIC` lists them (Dot: ONNX MatMul broadcasts batch dimensions exactly as
numpy.matmul does; the compositions of `backend.linalg` are written over batches). Other core ops are declined with an error naming the core op.

To add a core op: if its converter's ONNX ops treat leading dimensions as batch dimensions, add its
class to `BATCH_POLYMORPHIC`; otherwise give it a batched converter of its own here. A Blockwise
with no batch dimensions is converted as its core op, one whose batch dimensions are all static 1s
as its core op between Squeeze and Unsqueeze.
"""

from __future__ import annotations

from pytensor.tensor.blockwise import Blockwise
from pytensor.tensor.math import Dot

from backend.basic import onnx_funcify
from backend.linalg import LINALG_OPS

BATCH_POLYMORPHIC: tuple[type, ...] = (Dot, *LINALG_OPS)


def _batch_of_ones(op, node) -> bool:
    batch = op.batch_ndim(node)
    return all(v.type.shape[:batch] == (1,) * batch for v in node.inputs)


def converted_by_core_converter(op, node) -> bool:
    """Whether the Blockwise converter hands ``node`` to its core op's converter (else it raises)."""
    return isinstance(op.core_op, BATCH_POLYMORPHIC) or op.batch_ndim(node) == 0 or _batch_of_ones(op, node)


@onnx_funcify.register(Blockwise)
def onnx_funcify_Blockwise(op, node, ctx, inputs):
    # without batch dimensions (gradients build such Blockwise ARanges) it is the core op itself
    if isinstance(op.core_op, BATCH_POLYMORPHIC) or op.batch_ndim(node) == 0:
        return onnx_funcify(op.core_op, node, ctx, inputs)
    batch = op.batch_ndim(node)
    if _batch_of_ones(op, node):
        # batch dimensions that are all static 1s (PyTensor 2.38's gradients make such ARanges): the
        # core op on the squeezed inputs, its outputs unsqueezed
        import pytensor.tensor as pt

        axes = ctx.constant(list(range(batch)), "int64")
        core_inputs = [pt.tensor(dtype=v.type.dtype, shape=v.type.shape[batch:]) for v in node.inputs]
        core_node = op.core_op.make_node(*core_inputs)
        outputs = onnx_funcify(op.core_op, core_node, ctx, [ctx.op.Squeeze(name, axes) for name in inputs])
        return [ctx.op.Unsqueeze(name, axes) for name in outputs]
    raise NotImplementedError(
        f"No ONNX conversion available for: Blockwise ({op}) with core op {type(op.core_op).__name__} "
        f"in node {node}: its converter does not handle batch dimensions; add a batched converter in "
        "backend/blockwise.py"
    )
