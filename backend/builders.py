"""OpFromGraph (``pytensor.compile.builders``): an op defined by an inner graph. PyTensor builds
KroneckerProduct, Einsum and user-defined composite ops this way.

The inner graph is inlined: its nodes are converted into the enclosing model by the same loop that
converts the outer graph (`backend.graph.emit_graph`), with the inner inputs bound to the outer
input names. Inlining rather than an ONNX local function: onnxruntime inlines local functions
anyway before optimizing, the ONNX checker and shape inference see every node, and one converter
serves nested OpFromGraphs (an inner node that is itself an OpFromGraph is inlined in turn). A
gradient override changes only how PyTensor differentiates the op, not what it computes, so the
forward graph is all there is to export.

To export another op defined by an inner graph: make it a subclass of OpFromGraph and nothing here
changes; an op with an inner graph of another kind gets its own converter.
"""

from __future__ import annotations

from pytensor.compile.builders import OpFromGraph

from backend.basic import onnx_funcify
from backend.graph import emit_graph


@onnx_funcify.register(OpFromGraph)
def onnx_funcify_OpFromGraph(op, node, ctx, inputs):
    inner_inputs = [ctx.cast(name, str(outer.type.dtype), str(inner.type.dtype))
                    for name, outer, inner in zip(inputs, node.inputs, op.fgraph.inputs)]
    return emit_graph(op.fgraph, ctx, inner_inputs)
