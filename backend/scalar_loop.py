"""ScalarLoop (``pytensor.scalar.loop``, inside an Elemwise) -> one ONNX ``Loop`` over whole tensors.

PyTensor runs the scalar loop once per element, each element for its own number of steps and, for a
while loop, until its own condition holds. The exported Loop steps every element at once: the
states are carried at the broadcast shape of all inputs, the step (the ScalarLoop's scalar graph) is
converted on tensors like a Composite, and a ``Where`` (one that keeps -0.0, see
`backend.helpers.select_keeping_zero_sign`) keeps the new value only for the elements still running (step < their n_steps and, for a while loop, not yet done). The Loop runs max(n_steps) times
at most and stops as soon as no element is running. The ``done`` output of a while loop is, as in
PyTensor, the condition's value at each element's last step (False for elements that took no step).

PyTensor's gammainc/gammaincc/betainc/hyp2f1 gradients are ScalarLoops; so is anything users build
with ``ScalarLoop`` directly.
"""

from __future__ import annotations

from onnx import TensorProto, helper
from pytensor.scalar.loop import ScalarLoop

from backend.basic import onnx_funcify
from backend.dtypes import onnx_dtype
from backend.elemwise import emit_scalar_graph
from backend.graph import make_subgraph
from backend.helpers import dtype_of, select_keeping_zero_sign


@onnx_funcify.register(ScalarLoop)
def onnx_funcify_ScalarLoop(op, node, ctx, inputs):
    n_steps, *rest = inputs
    n_states = len(op.outputs) - int(op.is_while)
    initial, constants = rest[:n_states], rest[n_states:]
    state_dtypes = [dtype_of(v) for v in node.outputs[:n_states]]

    # the broadcast shape of every input: Expand broadcasts both ways
    everything = inputs[0]
    for name in inputs[1:]:
        everything = ctx.op.Expand(everything, ctx.op.Shape(name))
    shape = ctx.op.Shape(everything)
    steps = ctx.op.Expand(ctx.cast(n_steps, dtype_of(node.inputs[0]), "int64"), shape)
    initial = [ctx.op.Expand(ctx.cast(x, dtype_of(v), d), shape)
               for x, v, d in zip(initial, node.inputs[1:], state_dtypes)]
    zero = ctx.constant([0], dtype="int64")
    # max over an empty tensor is not defined: a 0 joins the steps
    most_steps = ctx.op.ReduceMax(ctx.op.Concat(ctx.op.Reshape(steps, ctx.constant([-1], dtype="int64")), zero,
                                                axis=0), keepdims=0)

    body = ctx.subgraph()
    iteration, cond_in = body.fresh("iteration"), body.fresh("cond_in")
    states_in = [body.fresh("state") for _ in initial]
    body_inputs = [helper.make_tensor_value_info(iteration, TensorProto.INT64, []),
                   helper.make_tensor_value_info(cond_in, TensorProto.BOOL, [])]
    body_inputs += [helper.make_tensor_value_info(name, onnx_dtype(d), None) for name, d in zip(states_in, state_dtypes)]
    carried_init, carried_types = list(initial), [(d, None) for d in state_dtypes]

    running = body.op.Less(iteration, steps)
    if op.is_while:
        done_in = body.fresh("done")
        body_inputs.append(helper.make_tensor_value_info(done_in, TensorProto.BOOL, None))
        carried_init.append(ctx.op.Expand(ctx.constant(False, dtype="bool"), shape))
        carried_types.append(("bool", None))
        running = body.op.And(running, body.op.Not(done_in))

    results = emit_scalar_graph(op.fgraph, body, [*states_in, *constants])
    states_out = [select_keeping_zero_sign(body, running, new, old, d)
                  for new, old, d in zip(results[:n_states], states_in, state_dtypes)]
    carried_out = list(states_out)
    still_running = body.op.Less(body.op.Add(iteration, ctx.constant(1, dtype="int64")), steps)
    if op.is_while:
        until = results[n_states]
        if dtype_of(op.fgraph.outputs[n_states]) != "bool":
            until = body.op.Cast(until, to=TensorProto.BOOL)
        done_out = body.op.Or(done_in, body.op.And(running, until))
        carried_out.append(done_out)
        still_running = body.op.And(still_running, body.op.Not(done_out))
    # go on while some element still has steps to run
    flags = body.op.Cast(body.op.Reshape(still_running, ctx.constant([-1], dtype="int64")), to=TensorProto.INT32)
    any_running = body.op.ReduceMax(body.op.Concat(flags, ctx.constant([0], dtype="int32"), axis=0), keepdims=0)
    cond_out = body.op.Greater(any_running, ctx.constant(0, dtype="int32"))
    loop_body = make_subgraph(body, ctx.fresh("scalar_loop_body"), body_inputs, [cond_out, *carried_out],
                              [("bool", 0), *carried_types])
    finals = ctx.op.Loop(most_steps, ctx.constant(True, dtype="bool"), *carried_init, body=loop_body,
                         n_outputs=len(carried_init))
    return finals if isinstance(finals, list) else [finals]
