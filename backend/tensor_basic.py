"""Tensor creation, joining and splitting: Alloc, AllocEmpty, ARange, Eye, ExtractDiag, MakeVector,
Join, Split, and scalar<->tensor conversion (PyTensor scalars are 0-d tensors in ONNX).

Alloc shows up in default-mode graphs (``zeros((n, 3)) + x[:, None]`` becomes one Alloc); AllocEmpty
in Scan buffers. Eye and ExtractDiag are composed from Range (EyeLike needs a static ``k``).
"""

from __future__ import annotations

import numpy as np
from onnx import numpy_helper
from pytensor.graph.basic import Constant
from pytensor.tensor.basic import (
    Alloc,
    AllocEmpty,
    ARange,
    ExtractDiag,
    Eye,
    Join,
    MakeVector,
    ScalarFromTensor,
    Split,
    TensorFromScalar,
)

from backend.basic import onnx_funcify
from backend.dtypes import ONNXExportUnsupported
from backend.kernels import compute_dtype


def _stack_scalars(ctx, node_inputs, names, dtype):
    """A 1-d tensor of ``dtype`` from 0-d values (shape arguments, MakeVector elements)."""
    if not names:
        return ctx.constant([], dtype)
    parts = [
        ctx.op.Unsqueeze(ctx.cast(n, str(v.type.dtype), dtype), ctx.constant([0], "int64"))
        for v, n in zip(node_inputs, names)
    ]
    return parts[0] if len(parts) == 1 else ctx.op.Concat(*parts, axis=0)


@onnx_funcify.register(Alloc)
def onnx_funcify_Alloc(op, node, ctx, inputs):
    value, *shape = inputs
    return [ctx.op.Expand(value, _stack_scalars(ctx, node.inputs[1:], shape, "int64"))]


@onnx_funcify.register(TensorFromScalar)
@onnx_funcify.register(ScalarFromTensor)
def onnx_funcify_scalar_tensor_passthrough(op, node, ctx, inputs):
    return [ctx.cast(inputs[0], str(node.inputs[0].type.dtype), str(node.outputs[0].type.dtype))]


@onnx_funcify.register(MakeVector)
def onnx_funcify_MakeVector(op, node, ctx, inputs):
    return [_stack_scalars(ctx, node.inputs, inputs, str(node.outputs[0].type.dtype))]


def _constant_axis(op, axis_var, what: str) -> int:
    if not isinstance(axis_var, Constant):
        raise ONNXExportUnsupported(f"{op}: {what} along the symbolic axis {axis_var}; ONNX needs a constant axis")
    return int(axis_var.data)


@onnx_funcify.register(Join)
def onnx_funcify_Join(op, node, ctx, inputs):
    if hasattr(op, "axis"):  # PyTensor >= 3.1.1: the axis is the op's, every input is a tensor
        axis, tensors, names = op.axis, node.inputs, inputs
    else:  # the axis is the first input
        axis, tensors, names = _constant_axis(op, node.inputs[0], "join"), node.inputs[1:], inputs[1:]
    out_dtype = str(node.outputs[0].type.dtype)
    parts = [ctx.cast(name, str(var.type.dtype), out_dtype) for name, var in zip(names, tensors)]
    if len(parts) == 1:
        return [parts[0]]
    return [ctx.op.Concat(*parts, axis=axis)]


@onnx_funcify.register(Split)
def onnx_funcify_Split(op, node, ctx, inputs):
    if hasattr(op, "axis"):  # PyTensor >= 3.1.1: inputs (x, splits), the axis is the op's
        axis, splits = op.axis, 1
    else:  # inputs (x, axis, splits)
        axis, splits = _constant_axis(op, node.inputs[1], "split"), 2
    sizes = ctx.cast(inputs[splits], str(node.inputs[splits].type.dtype), "int64")
    outputs = ctx.op.Split(inputs[0], sizes, n_outputs=op.len_splits, axis=axis)
    return outputs if isinstance(outputs, list) else [outputs]


@onnx_funcify.register(AllocEmpty)
def onnx_funcify_AllocEmpty(op, node, ctx, inputs):
    # PyTensor leaves the contents undefined; zeros are one valid answer
    shape = _stack_scalars(ctx, node.inputs, inputs, "int64")
    zero = numpy_helper.from_array(np.zeros(1, dtype=op.dtype))
    return [ctx.op.ConstantOfShape(shape, value=zero)]


@onnx_funcify.register(ARange)
def onnx_funcify_ARange(op, node, ctx, inputs):
    dtype = str(node.outputs[0].type.dtype)
    start, stop, step = (ctx.cast(name, str(var.type.dtype), dtype) for name, var in zip(inputs, node.inputs))
    if dtype in ("float16", "float32", "float64"):
        return [_float_arange(ctx, start, stop, step, dtype)]
    work = compute_dtype("Range", dtype, allow_widening=True)  # integers: exact in any wider type
    return [ctx.cast(ctx.op.Range(*(ctx.cast(b, dtype, work) for b in (start, stop, step))), work, dtype)]


def _float_arange(ctx, start, stop, step, dtype):
    """numpy's float arange, which is not ONNX Range's ``start + i*step``: the length is
    ceil((stop - start) / step) in double, element 1 is ``start + step`` rounded to the dtype, and
    element i >= 2 is ``start + i*delta`` with ``delta = element1 - start`` (float16 in float32)."""
    length = ctx.op.Size(ctx.op.Range(*(ctx.cast(b, dtype, "float64") for b in (start, stop, step))))
    i = _range(ctx, length)
    second = ctx.op.Add(start, step)
    work = "float32" if dtype == "float16" else dtype
    if dtype == "float16":
        # onnxruntime runs the float16 Add in float32 and drops the Cast pair that would round its
        # result before the float32 Sub below; a Reshape between the casts keeps the rounding
        second = ctx.rounding_barrier(second)
    delta = ctx.op.Sub(ctx.cast(second, dtype, work), ctx.cast(start, dtype, work))
    rest = ctx.cast(ctx.op.Add(ctx.cast(start, dtype, work),
                                         ctx.op.Mul(ctx.cast(i, "int64", work), delta)), work, dtype)
    # start and element 1 go in Where's false branches: onnxruntime's Where loses -0.0 from the true one
    first_two = ctx.op.Where(ctx.op.GreaterOrEqual(i, ctx.constant(1, "int64")), second, start)
    return ctx.op.Where(ctx.op.GreaterOrEqual(i, ctx.constant(2, "int64")), rest, first_two)


def _range(ctx, stop):
    """int64 ``arange(stop)`` for a 0-d int64 ``stop``."""
    return ctx.op.Range(ctx.constant(0, "int64"), stop, ctx.constant(1, "int64"))


@onnx_funcify.register(Eye)
def onnx_funcify_Eye(op, node, ctx, inputs):
    n, m, k = (ctx.cast(name, str(var.type.dtype), "int64") for name, var in zip(inputs, node.inputs))
    rows = ctx.op.Unsqueeze(_range(ctx, n), ctx.constant([1], "int64"))
    cols = ctx.op.Unsqueeze(_range(ctx, m), ctx.constant([0], "int64"))
    on_diagonal = ctx.op.Equal(ctx.op.Sub(cols, rows), k)
    return [ctx.cast(on_diagonal, "bool", op.dtype)]


@onnx_funcify.register(ExtractDiag)
def onnx_funcify_ExtractDiag(op, node, ctx, inputs):
    ndim = node.inputs[0].type.ndim
    rest = [a for a in range(ndim) if a not in (op.axis1, op.axis2)]
    x = ctx.op.Transpose(inputs[0], perm=[op.axis1, op.axis2, *rest])
    # drop the rows (offset < 0) or columns (offset > 0) before the diagonal starts, then read [i, i]
    if op.offset:
        axis = 0 if op.offset < 0 else 1
        x = ctx.op.Slice(x, ctx.constant([abs(op.offset)], "int64"),
                                   ctx.constant([np.iinfo(np.int64).max], "int64"), ctx.constant([axis], "int64"))
    shape = ctx.op.Shape(x)
    length = ctx.op.ReduceMin(ctx.op.Slice(shape, ctx.constant([0], "int64"),
                                                               ctx.constant([2], "int64")), keepdims=0)
    i = ctx.op.Unsqueeze(_range(ctx, length), ctx.constant([1], "int64"))
    diagonal = ctx.op.GatherND(x, ctx.op.Concat(i, i, axis=1))  # (length, *rest)
    return [ctx.op.Transpose(diagonal, perm=[*range(1, len(rest) + 1), 0])]
