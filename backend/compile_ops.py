"""Ops that only route values in a compiled PyTensor function: DeepCopyOp, ViewOp, OutputGuard, and
the checks CheckAndRaise / Assert.

`export_function_onnx` sees them in graphs compiled in PyTensor's default mode. The routing ops carry
no computation, so the converters hand the input value through; the graph builder adds an Identity
when an output would otherwise alias an input.

A check is kept, not dropped: ai.onnx has no assertion op, so the value passes through a Reshape to its
own shape whose shape also reads ``Range(0, 1, delta)`` with ``delta = 1`` where every condition holds
and ``0`` otherwise; a Range with a zero delta is an error, so onnxruntime fails the run exactly where
PyTensor would raise (with Range's message, not the check's). The values pass unchanged. A condition
that is a constant is decided at export: true drops the check, false declines the export.

To extend: another routing op hands its input through in `onnx_funcify_passthrough`.
"""

from __future__ import annotations

import numpy as np
from pytensor.compile.ops import DeepCopyOp, TypeCastingOp, ViewOp
from pytensor.graph.basic import Constant
from pytensor.raise_op import CheckAndRaise

from backend.basic import onnx_funcify
from backend.dtypes import ONNXExportUnsupported


@onnx_funcify.register(DeepCopyOp)
@onnx_funcify.register(ViewOp)
@onnx_funcify.register(TypeCastingOp)
def onnx_funcify_passthrough(op, node, ctx, inputs):
    return [inputs[0]]


@onnx_funcify.register(CheckAndRaise)
def onnx_funcify_CheckAndRaise(op, node, ctx, inputs):
    value, conditions = inputs[0], []
    for name, condition in zip(inputs[1:], node.inputs[1:]):
        if isinstance(condition, Constant):
            if not np.all(condition.data):
                raise ONNXExportUnsupported(f"{op}: its condition {condition} is always false ({op.msg!r}): "
                                            "every run would raise")
            continue
        conditions.append(ctx.cast(name, str(condition.type.dtype), "bool"))
    if not conditions:
        return [value]
    holds = conditions[0]
    for condition in conditions[1:]:
        holds = ctx.op.And(holds, condition)
    delta = ctx.op.Where(holds, ctx.constant(1, "int64"), ctx.constant(0, "int64"))
    guard = ctx.op.Range(ctx.constant(0, "int64"), ctx.constant(1, "int64"), delta)  # fails where delta is 0
    no_dimension = ctx.op.Slice(guard, ctx.constant([0], "int64"), ctx.constant([0], "int64"))
    return [ctx.op.Reshape(value, ctx.op.Concat(ctx.op.Shape(value), no_dimension, axis=0), allowzero=1)]
