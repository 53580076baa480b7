"""Tensor creation and joining: Alloc, MakeVector, Join, and scalar<->tensor conversion (PyTensor
scalars are 0-d tensors in ONNX).

Alloc shows up in default-mode graphs (``zeros((n, 3)) + x[:, None]`` becomes one Alloc).
"""

from __future__ import annotations

from pytensor.graph.basic import Constant
from pytensor.tensor.basic import Alloc, Join, MakeVector, ScalarFromTensor, TensorFromScalar

from backend.basic import ONNXExportUnsupported, onnx_funcify


def _stack_scalars(ctx, node_inputs, names, dtype):
    """A 1-d tensor of ``dtype`` from 0-d values (shape arguments, MakeVector elements)."""
    if not names:
        return ctx.constant([], dtype)
    parts = [
        ctx.add_node("Unsqueeze", [ctx.cast(n, str(v.type.dtype), dtype), ctx.constant([0], "int64")])
        for v, n in zip(node_inputs, names)
    ]
    return parts[0] if len(parts) == 1 else ctx.add_node("Concat", parts, axis=0)


@onnx_funcify.register(Alloc)
def onnx_funcify_Alloc(op, node, ctx, inputs):
    value, *shape = inputs
    return [ctx.add_node("Expand", [value, _stack_scalars(ctx, node.inputs[1:], shape, "int64")])]


@onnx_funcify.register(TensorFromScalar)
@onnx_funcify.register(ScalarFromTensor)
def onnx_funcify_scalar_tensor_passthrough(op, node, ctx, inputs):
    return [ctx.cast(inputs[0], str(node.inputs[0].type.dtype), str(node.outputs[0].type.dtype))]


@onnx_funcify.register(MakeVector)
def onnx_funcify_MakeVector(op, node, ctx, inputs):
    return [_stack_scalars(ctx, node.inputs, inputs, str(node.outputs[0].type.dtype))]


@onnx_funcify.register(Join)
def onnx_funcify_Join(op, node, ctx, inputs):
    axis_var, *tensors = node.inputs
    if not isinstance(axis_var, Constant):
        raise ONNXExportUnsupported("join/concatenate along a symbolic axis: ONNX Concat needs a constant axis")
    out_dtype = str(node.outputs[0].type.dtype)
    parts = [ctx.cast(name, str(var.type.dtype), out_dtype) for name, var in zip(inputs[1:], tensors)]
    if len(parts) == 1:
        return [parts[0]]
    return [ctx.add_node("Concat", parts, axis=int(axis_var.data))]
