"""Test-only plugin: registry entries whose conversion aborts the process or hangs.

Loaded with ``--plugin tests.harness.crash_plugin`` so the worker processes import it too.
"""

import os
import time

import pytensor.tensor as pt
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op

from backend import onnx_funcify
from harness.registry import ONNX_OPERATIONS, register


class _ProbeOp(Op):
    __props__ = ("action",)

    def __init__(self, action):
        self.action = action

    def make_node(self, x):
        x = pt.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, outputs):
        outputs[0][0] = inputs[0].copy()


@onnx_funcify.register(_ProbeOp)
def onnx_funcify_ProbeOp(op, node, ctx, inputs):
    if op.action == "abort":
        os.abort()  # what a segfaulting native library looks like to the parent
    if op.action == "hang":
        time.sleep(3600)
    return [ctx.op.Identity(inputs[0])]


if "crash_probe" not in ONNX_OPERATIONS:
    register("crash_probe", arity=1, dtypes=("float32",), build=_ProbeOp("abort"))
    register("hang_probe", arity=1, dtypes=("float32",), build=_ProbeOp("hang"))
    register("fine_probe", arity=1, dtypes=("float32", "float64"), build=_ProbeOp("identity"))
