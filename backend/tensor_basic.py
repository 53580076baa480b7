"""Tensor creation (Alloc) and scalar<->tensor conversion (PyTensor scalars are 0-d tensors in ONNX).

Alloc shows up in default-mode graphs (``zeros((n, 3)) + x[:, None]`` becomes one Alloc).
"""

from __future__ import annotations

from pytensor.tensor.basic import Alloc, ScalarFromTensor, TensorFromScalar

from backend.basic import onnx_funcify


def _shape_vector(ctx, node_inputs, names):
    """A 1-d int64 tensor from PyTensor's scalar shape arguments."""
    if not names:
        return ctx.constant([], "int64")
    parts = [
        ctx.add_node("Unsqueeze", [ctx.cast(n, str(v.type.dtype), "int64"), ctx.constant([0], "int64")])
        for v, n in zip(node_inputs, names)
    ]
    return parts[0] if len(parts) == 1 else ctx.add_node("Concat", parts, axis=0)


@onnx_funcify.register(Alloc)
def onnx_funcify_Alloc(op, node, ctx, inputs):
    value, *shape = inputs
    return [ctx.add_node("Expand", [value, _shape_vector(ctx, node.inputs[1:], shape)])]


@onnx_funcify.register(TensorFromScalar)
@onnx_funcify.register(ScalarFromTensor)
def onnx_funcify_scalar_tensor_passthrough(op, node, ctx, inputs):
    return [ctx.cast(inputs[0], str(node.inputs[0].type.dtype), str(node.outputs[0].type.dtype))]
