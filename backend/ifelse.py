"""IfElse (``pytensor.ifelse.ifelse``) -> ONNX ``If``.

Each branch is an ``If`` subgraph holding the nodes whose results only that branch uses (chosen by
`backend.graph.emit_graph`), so the branch not taken is not computed, as in PyTensor's lazy VM. Values
both branches (or anything else) use are computed once, before the ``If``.

The condition is truthy like Python's ``bool`` of a 0-d array: non-zero (NaN included) is true.
"""

from __future__ import annotations

from pytensor.ifelse import IfElse

from backend.basic import onnx_funcify
from backend.graph import make_subgraph


@onnx_funcify.register(IfElse)
def onnx_funcify_IfElse(op, node, ctx, inputs):
    condition, condition_var = inputs[0], node.inputs[0]
    if str(condition_var.type.dtype) != "bool":
        condition = ctx.op.Not(ctx.op.Equal(condition, ctx.constant(0, dtype=str(condition_var.type.dtype))))
    if condition_var.type.ndim:
        condition = ctx.op.Reshape(condition, ctx.constant([], dtype="int64"))

    n_outs = op.n_outs
    output_types = [(str(out.type.dtype), out.type.ndim) for out in node.outputs]
    branches = []
    for branch, (label, positions) in enumerate(
        (("then", range(1, 1 + n_outs)), ("else", range(1 + n_outs, 1 + 2 * n_outs)))
    ):
        body = ctx.subgraph()
        emit = ctx.lazy_branches.get((node, branch))
        values = emit(body) if emit is not None else [inputs[p] for p in positions]
        values = [
            body.cast(value, str(node.inputs[p].type.dtype), dtype)
            for value, p, (dtype, _) in zip(values, positions, output_types)
        ]
        branches.append(make_subgraph(body, ctx.fresh(f"ifelse_{label}"), [], values, output_types))
    outputs = ctx.op.If(condition, then_branch=branches[0], else_branch=branches[1], n_outputs=n_outs)
    return outputs if isinstance(outputs, list) else [outputs]
