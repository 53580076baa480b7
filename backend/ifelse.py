"""IfElse (``ifelse``) and LazyIfElse -> ONNX ``If``.

Each branch is an ``If`` subgraph holding the nodes whose results only that branch uses (chosen by
`backend.graph.emit_graph`), so the branch not taken is not computed, as in PyTensor's lazy VM. Values
both branches (or anything else) use are computed once, before the ``If``.

LazyIfElse (PyTensor >= 3.3: the default rewrite ``introduce_lazy_ifelse`` moves each branch's work
into an OpFromGraph of the shared inputs) becomes the same ``If``, each branch's inner graph
converted inside its subgraph.

The condition is truthy like Python's ``bool`` of a 0-d array: non-zero (NaN included) is true.
To extend: another conditional op builds its branches with `make_subgraph` and reuses `_truth`.
"""

from __future__ import annotations

from backend.basic import onnx_funcify, register_if_present
from backend.compat import IfElse, LazyIfElse
from backend.graph import emit_graph, make_subgraph


def _truth(ctx, condition, condition_var):
    """A 0-d bool: ``condition`` is non-zero (NaN included)."""
    if str(condition_var.type.dtype) != "bool":
        condition = ctx.op.Not(ctx.op.Equal(condition, ctx.constant(0, dtype=str(condition_var.type.dtype))))
    if condition_var.type.ndim:
        condition = ctx.op.Reshape(condition, ctx.constant([], dtype="int64"))
    return condition


def _as_outputs(outputs):
    return outputs if isinstance(outputs, list) else [outputs]


@onnx_funcify.register(IfElse)
def onnx_funcify_IfElse(op, node, ctx, inputs):
    condition = _truth(ctx, inputs[0], node.inputs[0])
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
    return _as_outputs(ctx.op.If(condition, then_branch=branches[0], else_branch=branches[1], n_outputs=n_outs))


@register_if_present(LazyIfElse)
def onnx_funcify_LazyIfElse(op, node, ctx, inputs):
    condition = _truth(ctx, inputs[0], node.inputs[0])
    output_types = [(str(out.type.dtype), out.type.ndim) for out in node.outputs]
    branches = []
    for label, branch in (("then", op.true_branch), ("else", op.false_branch)):
        body = ctx.subgraph()
        arguments = [body.cast(name, str(outer.type.dtype), str(inner.type.dtype))
                     for name, outer, inner in zip(inputs[1:], node.inputs[1:], branch.fgraph.inputs)]
        values = [body.cast(value, str(inner.type.dtype), dtype)
                  for value, inner, (dtype, _) in zip(emit_graph(branch.fgraph, body, arguments),
                                                      branch.fgraph.outputs, output_types)]
        branches.append(make_subgraph(body, ctx.fresh(f"lazy_ifelse_{label}"), [], values, output_types))
    return _as_outputs(ctx.op.If(condition, then_branch=branches[0], else_branch=branches[1],
                                 n_outputs=len(node.outputs)))
