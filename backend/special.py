"""Softmax and LogSoftmax, composed as PyTensor computes them.

PyTensor: ``d = x - max(x, axis)`` (in the input dtype, so integers wrap like numpy, and a NaN in a
slice makes the whole slice NaN), then ``exp(d) / sum(exp(d))`` or ``d - log(sum(exp(d)))``. ONNX's
Softmax skips NaN in its max and takes exactly one axis (opset >= 13), so the exporter writes the
formula out with NaN-propagating ReduceMax; any axis set (one axis or ``axis=None``) works.

SoftmaxGrad (PyTensor 2.38's gradient of softmax, hence of every Dirichlet or mixture model's logp):
``dy * sm - sum(dy * sm, axis) * sm``, in PyTensor's order of operations.
"""

from __future__ import annotations

from pytensor.tensor.special import LogSoftmax, Softmax

from backend.basic import onnx_funcify, register_if_present
from backend.compat import SoftmaxGrad
from backend.dtypes import FLOAT_DTYPES, ONNXExportUnsupported
from backend.kernels import compute_dtype
from backend.reduction import ordered_reduce


@onnx_funcify.register(Softmax)
@onnx_funcify.register(LogSoftmax)
def onnx_funcify_Softmax(op, node, ctx, inputs):
    (x,) = inputs
    in_dtype, out = str(node.inputs[0].type.dtype), str(node.outputs[0].type.dtype)
    ndim = node.inputs[0].type.ndim
    if out not in FLOAT_DTYPES:
        # PyTensor 2.38 types the softmax of integers as integers (3.0 upcasts to float)
        raise ONNXExportUnsupported(f"{type(op).__name__} with {out} output (PyTensor 2.38's typing of an integer "
                                    "input): its values are numpy's float16 arithmetic truncated, not composed")
    axis = (op.axis,) if isinstance(op.axis, int) else op.axis  # an int in PyTensor 2.38, a tuple in 3.0
    axes = list(range(ndim)) if axis is None else sorted(a % ndim for a in axis)
    if ndim == 0:
        axes = []
    axes_input = ctx.constant(axes, "int64")
    peak = ordered_reduce(ctx, "ReduceMax", x, in_dtype, axes, keepdims=1) if axes else x
    arith = compute_dtype("Sub", in_dtype, allow_widening=True)
    shifted = ctx.cast(ctx.op.Sub(ctx.cast(x, in_dtype, arith), ctx.cast(peak, in_dtype, arith)), arith, in_dtype)
    shifted = ctx.cast(shifted, in_dtype, out)
    exp = ctx.op.Exp(shifted)
    total = ctx.op.ReduceSum(exp, axes_input, keepdims=1) if axes else exp
    if isinstance(op, LogSoftmax):
        return [ctx.op.Sub(shifted, ctx.op.Log(total))]
    return [ctx.op.Div(exp, total)]


@register_if_present(SoftmaxGrad)
def onnx_funcify_SoftmaxGrad(op, node, ctx, inputs):
    dy, sm = inputs
    ndim = node.inputs[0].type.ndim
    axes = list(range(ndim)) if op.axis is None else [a % ndim for a in ((op.axis,) if isinstance(op.axis, int)
                                                                         else op.axis)]
    out = str(node.outputs[0].type.dtype)
    dy = ctx.cast(dy, str(node.inputs[0].type.dtype), out)
    sm = ctx.cast(sm, str(node.inputs[1].type.dtype), out)
    dy_times_sm = ctx.op.Mul(dy, sm)
    total = ctx.op.ReduceSum(dy_times_sm, ctx.constant(axes, "int64"), keepdims=1) if axes else dy_times_sm
    return [ctx.op.Sub(dy_times_sm, ctx.op.Mul(total, sm))]
