"""Elementwise ops: `Elemwise` and fused `Composite` graphs, converted through their scalar ops.

An `Elemwise` node is converted by converting its scalar op on whole tensors: ONNX elementwise
operators broadcast like numpy once ranks agree, and PyTensor aligns ranks with DimShuffle first.
Scalar converters (``backend/scalar.py``, ``backend/comparison.py``) get a scalar-level Apply node
whose types carry PyTensor's dtypes, so the same converter serves a plain Elemwise and a node inside
a fused Composite.

To add an elementwise op, add a converter for its *scalar* op in ``backend/scalar.py`` (or
``backend/comparison.py``); nothing here changes.
"""

from __future__ import annotations

import pytensor.scalar.basic as ps
from pytensor.tensor.elemwise import Elemwise

from backend.basic import onnx_funcify
from backend.helpers import dtype_of


@onnx_funcify.register(ps.Composite)
def onnx_funcify_Composite(op, node, ctx, inputs):
    """Inline the fused scalar graph: one ONNX node (or a few) per inner scalar op."""
    return emit_scalar_graph(op.fgraph, ctx, inputs)


def emit_scalar_graph(fgraph, ctx, input_names: list[str]) -> list[str]:
    """Convert a graph of scalar ops (a Composite's, a ScalarLoop's step) on whole tensors bound to
    ``input_names``; returns the names of its outputs."""
    names = dict(zip(fgraph.inputs, input_names))
    for inner in fgraph.toposort():
        inner_inputs = []
        for var in inner.inputs:
            if var not in names:
                names[var] = ctx.constant(var.data, dtype=dtype_of(var))  # a ScalarConstant
            inner_inputs.append(names[var])
        for var, name in zip(inner.outputs, onnx_funcify(inner.op, inner, ctx, inner_inputs)):
            names[var] = name
    outputs = []
    for var in fgraph.outputs:
        if var not in names:
            names[var] = ctx.constant(var.data, dtype=dtype_of(var))
        outputs.append(names[var])
    return outputs


@onnx_funcify.register(Elemwise)
def onnx_funcify_Elemwise(op, node, ctx, inputs):
    scalar_inputs = [ps.get_scalar_type(dtype_of(v)).make_variable() for v in node.inputs]
    scalar_node = op.scalar_op.make_node(*scalar_inputs)
    for scalar_out, tensor_out in zip(scalar_node.outputs, node.outputs):
        if dtype_of(scalar_out) != dtype_of(tensor_out):
            raise RuntimeError(
                f"{op}: scalar output dtype {dtype_of(scalar_out)} differs from the tensor output "
                f"dtype {dtype_of(tensor_out)}"
            )
    # make_node may return a new scalar op (a Composite re-typed for these inputs): convert that one.
    outputs = onnx_funcify(scalar_node.op, scalar_node, ctx, inputs)
    return [_full_shape(ctx, name, inputs) for name in outputs]


def _full_shape(ctx, name, inputs):
    """Broadcast an output that is a constant or an input to the shape of the Elemwise result."""
    if name in inputs:
        others = [n for n in inputs if n != name]
    elif ctx.is_constant(name):
        others = list(inputs)
    else:
        return name
    for other in others:
        name = ctx.op.Expand(name, ctx.op.Shape(other))
    return name
