"""Blockwise: a core op applied over leading batch dimensions (``X @ w`` builds ``Blockwise(Dot)``,
named Matmul; ``pytensor.tensor.vectorize`` and batched linear algebra build others).

PyTensor gives every input of a Blockwise the same number of batch dimensions (ExpandDims where an
input had fewer); batch dimensions broadcast like numpy's, and may be empty. A core op whose ONNX
converter already computes the batched result when handed batched inputs is converted by that very
converter: `BATCH_POLYMORPHIC` lists them (Dot: ONNX MatMul broadcasts batch dimensions exactly as
numpy.matmul does; the compositions of `backend.linalg` are written over batches). A Blockwise with no
batch dimensions is converted as its core op, one whose batch dimensions are all static 1s as its
core op between Squeeze and Unsqueeze. Any other core op (gradients of batched linear algebra build
Blockwise AllocDiag, ARange, Eye, Subtensor, ...) is converted by `_loop_over_batch`: an ONNX Loop
over the broadcast batch whose body is the core op's own converter on one entry.

To add a core op: if its converter's ONNX ops treat leading dimensions as batch dimensions, add its
class to `BATCH_POLYMORPHIC` (faster than the Loop); otherwise nothing is needed.
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
    return _loop_over_batch(op, node, ctx, inputs)


def _loop_over_batch(op, node, ctx, inputs):
    """The core op once per entry of the broadcast batch: every input expanded to the batch shape and
    flattened to ``[entries, *core]``, an ONNX Loop whose body converts the core op on entry ``i``
    (`backend.basic.onnx_funcify`), and its stacked results reshaped to ``[*batch, *core]``."""
    import pytensor.tensor as pt
    from onnx import TensorProto, helper

    from backend.graph import make_subgraph

    batch = op.batch_ndim(node)
    first = ctx.constant([0], "int64")
    batch_end = ctx.constant([batch], "int64")
    batch_shapes = [ctx.op.Slice(ctx.op.Shape(name), first, batch_end) for name in inputs]
    batch_shape = batch_shapes[0]
    for other in batch_shapes[1:]:  # numpy broadcasting of the batch dimensions
        batch_shape = ctx.op.Shape(ctx.op.Expand(ctx.op.ConstantOfShape(batch_shape), other))
    entries = ctx.op.ReduceProd(batch_shape, keepdims=1)
    flat = []
    for name, var in zip(inputs, node.inputs):
        core_shape = ctx.op.Shape(name, start=batch)
        expanded = ctx.op.Expand(name, ctx.op.Concat(batch_shape, core_shape, axis=0))
        flat.append(ctx.op.Reshape(expanded, ctx.op.Concat(entries, core_shape, axis=0), allowzero=1))

    body = ctx.subgraph()
    iteration, cond_in = body.fresh("entry"), body.fresh("cond_in")
    body_inputs = [helper.make_tensor_value_info(iteration, TensorProto.INT64, []),
                   helper.make_tensor_value_info(cond_in, TensorProto.BOOL, [])]
    core_inputs = [pt.tensor(dtype=v.type.dtype, shape=v.type.shape[batch:]) for v in node.inputs]
    core_node = op.core_op.make_node(*core_inputs)
    core_outputs = onnx_funcify(op.core_op, core_node, body, [body.op.Gather(name, iteration, axis=0) for name in flat])
    loop_body = make_subgraph(body, ctx.fresh("blockwise_body"), body_inputs, [cond_in, *core_outputs],
                              [("bool", 0), *((str(v.type.dtype), v.type.ndim) for v in core_node.outputs)])
    stacked = ctx.op.Loop(ctx.op.Squeeze(entries), ctx.constant(True, dtype="bool"), body=loop_body,
                          n_outputs=len(core_outputs))
    stacked = stacked if isinstance(stacked, list) else [stacked]
    results = []
    for name, var in zip(stacked, node.outputs):
        core_shape = ctx.op.Shape(name, start=1)
        results.append(ctx.op.Reshape(name, ctx.op.Concat(batch_shape, core_shape, axis=0), allowzero=1))
    return results
