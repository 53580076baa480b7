"""Ops that only route values in a compiled PyTensor function: DeepCopyOp, ViewOp, OutputGuard, Assert.

`export_function_onnx` sees them in graphs compiled in PyTensor's default mode. They carry no
computation, so the converters hand the input value through; the graph builder adds an Identity when
an output would otherwise alias an input.
"""

from __future__ import annotations

from pytensor.compile.ops import DeepCopyOp, TypeCastingOp, ViewOp
from pytensor.raise_op import CheckAndRaise

from backend.basic import onnx_funcify


@onnx_funcify.register(DeepCopyOp)
@onnx_funcify.register(ViewOp)
@onnx_funcify.register(TypeCastingOp)
def onnx_funcify_passthrough(op, node, ctx, inputs):
    return [inputs[0]]


@onnx_funcify.register(CheckAndRaise)
def onnx_funcify_CheckAndRaise(op, node, ctx, inputs):
    # ai.onnx has no assertion op: the check is dropped and the value passes through. PyTensor adds
    # these for shape compatibility; inputs that would fail them are outside the exported contract.
    return [inputs[0]]
