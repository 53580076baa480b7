"""Scan (``pytensor.scan``) -> one ONNX ``Loop``.

How a Scan maps onto the Loop
-----------------------------
The inner FunctionGraph becomes the Loop body (converted by `backend.graph.emit_graph`, so every op
with a converter can appear in it). Per kind of Scan input (``op.info``):

- sequences: read with ``Gather(seq, iteration)`` from the outer value (ONNX bodies may read
  outer-scope values); non-sequences are read from outside the same way, not carried;
- sit-sot and mit-sot states: carried. A mit-sot with oldest tap ``-k`` carries its last ``k``
  values as ``k`` separate tensors and shifts them by one each step, so taps such as [-2, -1] or
  [-3, -1] need no buffer; the new value is also a scan output (the trace);
- nit-sot outputs: scan outputs only;
- untraced sit-sot (PyTensor's "shared" outputs): carried, the final value is the output;
- mit-mot (the buffers of a Scan built by ``pytensor.grad``): the whole buffer is carried, read with
  ``Gather`` and written with ``ScatterND`` at ``iteration + tap`` as PyTensor's Scan.perform does;
- ``until`` (while loops): the body's condition output is ``not until``.

After the Loop, each traced output is rebuilt in PyTensor's buffer layout: initial taps followed by
the trace, cut to the last ``L`` entries where ``L`` is the length of the buffer PyTensor allocated
(PyTensor's memory-saving rewrite keeps only the last values), or padded with zeros when a while
loop stopped early. A Loop that runs zero times yields traces of size 0 in every dimension, which
are reshaped to the state's shape.

Random generators and other non-tensor state cannot be carried by ONNX: such Scans are declined with
`ONNXExportUnsupported`.
"""

from __future__ import annotations

from onnx import TensorProto, helper
from pytensor.scan.op import Scan
from pytensor.tensor.type import TensorType

from backend.basic import GraphBuilder, make_value_info, onnx_funcify
from backend.dtypes import ONNXExportUnsupported
from backend.graph import emit_graph, make_subgraph

INT64_MAX = 2**63 - 1


def _int64(ctx: GraphBuilder, values) -> str:
    return ctx.constant(values, dtype="int64")


def _first_dim(ctx: GraphBuilder, x: str) -> str:
    """Size of the first dimension of ``x`` as a 1-element int64 tensor."""
    return ctx.op.Shape(x, start=0, end=1)


def _state_shape(ctx: GraphBuilder, buffer: str) -> str:
    """Shape of one entry of a buffer (all dimensions but the first)."""
    return ctx.op.Shape(buffer, start=1)


def _fit_to_buffer(ctx, full: str, state_shape: str, buffer_length: str, steps_not_run: str) -> str:
    """PyTensor's layout of a traced output: the last ``buffer_length`` entries of ``full`` (initial
    taps followed by the trace), zero-padded when the buffer is longer than what was computed,
    less the steps a while loop did not run."""
    missing = ctx.op.Sub(ctx.op.Sub(buffer_length, _first_dim(ctx, full)), steps_not_run)
    pad_length = ctx.op.Max(missing, _int64(ctx, [0]))
    zeros = ctx.op.ConstantOfShape(ctx.op.Concat(pad_length, state_shape, axis=0))
    zeros = ctx.op.CastLike(zeros, full)
    padded = ctx.op.Concat(full, zeros, axis=0)
    return ctx.op.Slice(padded, ctx.op.Neg(buffer_length), _int64(ctx, [INT64_MAX]), _int64(ctx, [0]))


@onnx_funcify.register(Scan)
def onnx_funcify_Scan(op, node, ctx, inputs):
    info = op.info
    for var in (*node.inputs, *op.fgraph.inputs, *op.fgraph.outputs):
        if not isinstance(var.type, TensorType):
            raise ONNXExportUnsupported(
                f"Scan {op.name or ''} carries {var} of type {var.type}: ONNX Loop carries tensors only "
                "(random generators and other state cannot be exported)"
            )

    outer = list(inputs)
    n_steps = ctx.cast(outer[0], str(node.inputs[0].type.dtype), "int64")
    outer_seqs = op.outer_seqs(outer)
    outer_mitmot = op.outer_mitmot(outer)
    outer_mitsot = op.outer_mitsot(outer)
    outer_sitsot = op.outer_sitsot(outer)
    outer_nitsot_sizes = op.outer_nitsot(outer)
    outer_untraced = op.outer_untraced_sit_sot(outer)
    outer_non_seqs = op.outer_non_seqs(outer)
    inner_in = op.fgraph.inputs
    inner_out = op.fgraph.outputs

    body = ctx.subgraph()
    iteration = body.fresh("iteration")
    cond_in = body.fresh("cond_in")
    body_inputs = [
        helper.make_tensor_value_info(iteration, TensorProto.INT64, []),
        helper.make_tensor_value_info(cond_in, TensorProto.BOOL, []),
    ]
    carried_init: list[str] = []  # outer initial values, in body-input order
    carried_types: list[tuple[str, int]] = []

    def carry(initial: str, var) -> str:
        name = body.fresh("carried")
        body_inputs.append(make_value_info(var, name, symbolic_dims=False))
        carried_init.append(initial)
        carried_types.append((str(var.type.dtype), var.type.ndim))
        return name

    inner_names: list[str] = []
    # sequences: entry `iteration` of the outer value
    for seq in outer_seqs:
        inner_names.append(body.op.Gather(seq, iteration, axis=0))

    # mit-mot: carried buffers, read at (iteration - oldest tap + tap) modulo the buffer length
    mitmot_buffers = []
    for k, (buffer, taps) in enumerate(zip(outer_mitmot, info.mit_mot_in_slices)):
        var = node.inputs[1 + info.n_seqs + k]
        carried = carry(buffer, var)
        mitmot_buffers.append(carried)
        length = ctx.op.Squeeze(ctx.op.Shape(buffer, start=0, end=1))
        for tap in taps:
            position = body.op.Add(iteration, _int64(ctx, tap - min(taps)))
            position = body.op.Mod(position, length)
            inner_names.append(body.op.Gather(carried, position, axis=0))

    # mit-sot: the last -oldest_tap values, each carried as its own tensor
    mitsot_windows = []
    inner_mitsot = op.inner_mitsot(inner_in)
    inner_position = 0
    for buffer, taps in zip(outer_mitsot, info.mit_sot_in_slices):
        depth = -min(taps)
        window = []  # window[j] holds the value j + 1 steps back
        for back in range(1, depth + 1):
            initial = ctx.op.Gather(buffer, _int64(ctx, depth - back), axis=0)
            window.append(carry(initial, inner_mitsot[inner_position]))
        for tap in taps:
            inner_names.append(window[-tap - 1])
        inner_position += len(taps)
        mitsot_windows.append(window)

    # sit-sot: the first buffer entry is the initial state
    for buffer, var in zip(outer_sitsot, op.inner_sitsot(inner_in)):
        initial = ctx.op.Gather(buffer, _int64(ctx, 0), axis=0)
        inner_names.append(carry(initial, var))

    for initial, var in zip(outer_untraced, op.inner_untraced_sit_sot(inner_in)):
        inner_names.append(carry(initial, var))

    for outer_name, outer_var, inner_var in zip(outer_non_seqs, op.outer_non_seqs(node.inputs),
                                                op.inner_non_seqs(inner_in)):
        inner_names.append(ctx.cast(outer_name, str(outer_var.type.dtype), str(inner_var.type.dtype)))

    results = emit_graph(op.fgraph, body, inner_names)

    # body outputs: condition, carried values (same order as carried inputs), scan outputs
    carried_out: list[str] = []
    for buffer, taps, out_taps, values in zip(
        mitmot_buffers, info.mit_mot_in_slices, info.mit_mot_out_slices,
        op.inner_mitmot_outs_grouped(results),
    ):
        for tap, value in zip(out_taps, values):
            position = body.op.Add(iteration, _int64(ctx, tap - min(taps)))
            buffer = body.op.ScatterND(
                buffer, body.op.Reshape(position, _int64(ctx, [1, 1])), body.op.Unsqueeze(value, _int64(ctx, [0]))
            )
        carried_out.append(buffer)
    for window, value in zip(mitsot_windows, op.inner_mitsot_outs(results)):
        carried_out.extend([value, *window[:-1]])
    sitsot_values = op.inner_sitsot_outs(results)
    carried_out.extend(sitsot_values)
    carried_out.extend(op.inner_untraced_sit_sot_outs(results))

    traced_values = [*op.inner_mitsot_outs(results), *sitsot_values, *op.inner_nitsot_outs(results)]
    traced_vars = [*op.inner_mitsot_outs(inner_out), *op.inner_sitsot_outs(inner_out),
                   *op.inner_nitsot_outs(inner_out)]

    if info.as_while:
        until, until_var = results[-1], inner_out[-1]
        if str(until_var.type.dtype) == "bool":
            cond_out = body.op.Not(until)
        else:
            cond_out = body.op.Equal(until, ctx.constant(0, dtype=str(until_var.type.dtype)))
    else:
        cond_out = cond_in
    loop_body = make_subgraph(
        body,
        ctx.fresh("scan_body"),
        body_inputs,
        [cond_out, *carried_out, *traced_values],
        [("bool", 0), *carried_types, *((str(v.type.dtype), v.type.ndim) for v in traced_vars)],
    )
    loop_outputs = ctx.op.Loop(
        n_steps,
        # given even for a for-loop, where it may be omitted: onnx's reference evaluator (the third
        # opinion) runs no iteration without it
        ctx.constant(True, dtype="bool"),
        *carried_init,
        body=loop_body,
        n_outputs=len(carried_init) + len(traced_values),
    )
    if not isinstance(loop_outputs, list):
        loop_outputs = [loop_outputs]
    finals, traces = loop_outputs[: len(carried_init)], loop_outputs[len(carried_init):]

    # number of steps run (a while loop may stop early); a zero-step Loop's traces have length 0
    steps_not_run = _int64(ctx, [0])
    if info.as_while and traces:
        steps_not_run = ctx.op.Sub(ctx.op.Reshape(n_steps, _int64(ctx, [1])), _first_dim(ctx, traces[0]))

    outputs: list[str] = []
    position = 0
    for _ in outer_mitmot:
        outputs.append(finals[position])
        position += 1
    trace_position = 0
    for buffer, taps in zip(outer_mitsot, info.mit_sot_in_slices):
        outputs.append(_traced_output(ctx, buffer, -min(taps), traces[trace_position], steps_not_run))
        trace_position += 1
    for buffer in outer_sitsot:
        outputs.append(_traced_output(ctx, buffer, 1, traces[trace_position], steps_not_run))
        trace_position += 1
    for size, size_var, output in zip(outer_nitsot_sizes, op.outer_nitsot(node.inputs),
                                      op.outer_nitsot_outs(node.outputs)):
        trace = traces[trace_position]
        entry_shape = output.type.shape[1:]
        if all(dim is not None for dim in entry_shape):
            # a zero-step Loop's trace has size 0 in every dimension: give it the entries' static shape
            trace = ctx.op.Reshape(trace, ctx.op.Concat(_first_dim(ctx, trace), _int64(ctx, list(entry_shape)), axis=0),
                                   allowzero=1)
        length = ctx.op.Reshape(ctx.cast(size, str(size_var.type.dtype), "int64"), _int64(ctx, [1]))
        outputs.append(_fit_to_buffer(ctx, trace, _state_shape(ctx, trace), length, steps_not_run))
        trace_position += 1
    n_windows = sum(-min(taps) for taps in info.mit_sot_in_slices)
    untraced_finals = finals[len(outer_mitmot) + n_windows + len(outer_sitsot):]
    outputs.extend(untraced_finals)
    return outputs


def _traced_output(ctx, buffer: str, n_initial: int, trace: str, steps_not_run: str) -> str:
    state_shape = _state_shape(ctx, buffer)
    # a Loop that ran zero times gives a trace of size 0 in every dimension: restore the state shape
    # allowzero: a state dimension of size 0 is a size, not "copy the input's dimension"
    trace = ctx.op.Reshape(trace, ctx.op.Concat(_first_dim(ctx, trace), state_shape, axis=0), allowzero=1)
    initial = ctx.op.Slice(buffer, _int64(ctx, [0]), _int64(ctx, [n_initial]), _int64(ctx, [0]))
    full = ctx.op.Concat(initial, trace, axis=0)
    return _fit_to_buffer(ctx, full, state_shape, _first_dim(ctx, buffer), steps_not_run)

