"""``pytensor.tensor.extra_ops`` that have no single ONNX op: CumOp, SearchsortedOp, Unique,
FillDiagonal (and with an offset), Bartlett, CpuContiguous (the value: ONNX tensors have no memory
layout), RavelMultiIndex, UnravelIndex and Repeat with one count per element. (Repeat by a
constant, Tile, Diff, Roll, Bincount, TakeAlongAxis and friends are built from basic ops by PyTensor
and need nothing here.)

- repeat -> ``Gather`` along the axis at the source index of each output position: the counts'
  running totals mark where each element's copies end (``ScatterElements`` adds a 1 there, so zero
  counts stack), and a ``CumSum`` of the marks is the index.

- cumsum -> ``CumSum`` where onnxruntime has a kernel that adds in the result dtype (int32, int64,
  float32, float64; narrower integers in int32/int64, exact modulo 2**k). numpy's float16 cumsum rounds
  every partial sum to float16, which a float32 CumSum would not, so float16 cumsum and every cumprod
  (ONNX has no CumProd before opset 26) run as a ``Loop`` over the axis that accumulates one slice
  per step, in numpy's order.
- searchsorted -> counting: ``left`` is the number of elements ordered before v, ``right`` the number
  not ordered after it, in numpy's sort order (NaN last), which is what a binary search over a sorted
  array finds. It compares every element with every v (memory n x size(v)).
- unique -> a stable sort (`backend.sort.stable_argsort`), a "differs from its predecessor" mask (NaNs
  are equal, as numpy's ``equal_nan``), then ``Compress``/``CumSum``/``ScatterElements`` for the index,
  inverse and counts outputs; along an axis, the same over rows sorted lexicographically
  (`_unique_along_axis`).

To extend: a converter per op below, composed of ONNX ops that onnxruntime runs for every dtype the
op accepts (see `backend.kernels`).
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper
from pytensor.tensor.extra_ops import (
    Bartlett,
    CpuContiguous,
    CumOp,
    FillDiagonal,
    FillDiagonalOffset,
    RavelMultiIndex,
    Repeat,
    SearchsortedOp,
    Unique,
    UnravelIndex,
)

from backend.basic import onnx_funcify
from backend.dtypes import FLOAT_DTYPES, ONNXExportUnsupported, onnx_dtype
from backend.graph import make_subgraph
from backend.helpers import apply_in, dtype_of, select_keeping_zero_sign
from backend.kernels import compute_dtype
from backend.sort import stable_argsort

_INT64_ONE = ([1], "int64")


def _vector(ctx, values):
    return ctx.constant(list(values), "int64")


def _accumulate(ctx, x, dtype: str, axis: int, ndim: int, onnx_op: str, identity) -> str:
    """numpy's ``ufunc.accumulate`` along ``axis`` as a Loop: one slice per step, each partial result
    rounded to ``dtype`` as numpy does."""
    perm = [axis] + [d for d in range(ndim) if d != axis]
    front = ctx.op.Transpose(x, perm=perm) if axis != 0 else x
    front_shape = ctx.op.Shape(front)
    steps = ctx.op.Squeeze(ctx.op.Gather(front_shape, _vector(ctx, [0]), axis=0), _vector(ctx, [0]))
    slice_shape = ctx.op.Slice(front_shape, _vector(ctx, [1]), _vector(ctx, [ndim]))
    initial = ctx.op.Expand(ctx.constant(identity, dtype), slice_shape)

    body = ctx.subgraph()
    iteration, cond, carried = body.fresh("iteration"), body.fresh("cond_in"), body.fresh("partial")
    element = body.op.Gather(front, iteration, axis=0)
    compute = compute_dtype(onnx_op, dtype)
    updated = apply_in(body, onnx_op, [carried, element], compute, dtype)
    trace_out = body.op.Identity(updated)
    inputs = [helper.make_tensor_value_info(iteration, TensorProto.INT64, []),
              helper.make_tensor_value_info(cond, TensorProto.BOOL, []),
              helper.make_tensor_value_info(carried, onnx_dtype(dtype), [None] * (ndim - 1))]
    loop_body = make_subgraph(body, ctx.fresh("accumulate_body"), inputs, [cond, updated, trace_out],
                              [("bool", 0), (dtype, ndim - 1), (dtype, ndim - 1)])
    _, trace = ctx.op.Loop(steps, ctx.constant(True, "bool"), initial, body=loop_body, n_outputs=2)
    # onnxruntime gives a zero-step Loop's trace size 0 in every dimension: restore the input's shape
    trace = ctx.op.Reshape(trace, front_shape, allowzero=1)
    if axis == 0:
        return trace
    inverse = [perm.index(d) for d in range(ndim)]
    return ctx.op.Transpose(trace, perm=inverse)


@onnx_funcify.register(CumOp)
def onnx_funcify_CumOp(op, node, ctx, inputs):
    (x,) = inputs
    in_dtype, dtype = dtype_of(node.inputs[0]), dtype_of(node.outputs[0])
    x = ctx.cast(x, in_dtype, dtype)
    ndim = node.inputs[0].type.ndim
    axis = op.axis if op.axis is not None else 0
    if op.axis is None or ndim == 0:
        x, ndim, axis = ctx.op.Reshape(x, _vector(ctx, [-1])), 1, 0
    axis %= ndim
    if op.mode == "add" and dtype != "float16":
        compute = compute_dtype("CumSum", dtype)
        total = ctx.op.CumSum(ctx.cast(x, dtype, compute), ctx.constant(axis, "int64"))
        return [ctx.cast(total, compute, dtype)]
    if op.mode == "add":
        # -0.0 is the identity of IEEE addition (0.0 would turn a leading -0.0 into 0.0)
        return [_accumulate(ctx, x, dtype, axis, ndim, "Add", -0.0)]
    return [_accumulate(ctx, x, dtype, axis, ndim, "Mul", 1)]


def _ordered_before(ctx, a, b, dtype, *, nan_last: bool = True):
    """``a`` sorts strictly before ``b`` in numpy's order (NaN last, or first; NaNs tie)."""
    less = ctx.op.Less(a, b)
    if dtype not in FLOAT_DTYPES:
        return less
    first, then = (b, a) if nan_last else (a, b)
    return ctx.op.Or(less, ctx.op.And(ctx.op.IsNaN(first), ctx.op.Not(ctx.op.IsNaN(then))))


def _comparable(ctx, name, dtype):
    """Comparison ops have no bool kernel; uint8 keeps False < True."""
    return (ctx.cast(name, dtype, "uint8"), "uint8") if dtype == "bool" else (name, dtype)


@onnx_funcify.register(SearchsortedOp)
def onnx_funcify_SearchsortedOp(op, node, ctx, inputs):
    a, v = inputs[0], inputs[1]
    common = str(np.result_type(dtype_of(node.inputs[0]), dtype_of(node.inputs[1])))
    a, v = ctx.cast(a, dtype_of(node.inputs[0]), common), ctx.cast(v, dtype_of(node.inputs[1]), common)
    if len(inputs) == 3:
        a = ctx.op.Gather(a, ctx.cast(inputs[2], dtype_of(node.inputs[2]), "int64"), axis=0)
    (a, common), (v, _) = _comparable(ctx, a, common), _comparable(ctx, v, common)
    v_ndim = node.inputs[1].type.ndim
    # a as a column against every v: (n, 1, ..., 1) vs v's shape
    column = ctx.op.Reshape(a, _vector(ctx, [-1] + [1] * v_ndim))
    if op.side == "left":
        counted = _ordered_before(ctx, column, v, common)
    else:
        counted = ctx.op.Not(_ordered_before(ctx, v, column, common))
    total = ctx.op.ReduceSum(ctx.cast(counted, "bool", "int64"), _vector(ctx, [0]), keepdims=0)
    return [ctx.cast(total, "int64", dtype_of(node.outputs[0]))]


@onnx_funcify.register(Unique)
def onnx_funcify_Unique(op, node, ctx, inputs):
    if op.axis is not None:
        return _unique_along_axis(op, node, ctx, inputs)
    dtype = dtype_of(node.inputs[0])
    flat = ctx.op.Reshape(inputs[0], _vector(ctx, [-1]))
    order = stable_argsort(ctx, flat, dtype, 0)
    ordered = ctx.op.Gather(flat, order, axis=0)
    size = ctx.op.Shape(flat)
    later = ctx.op.Slice(ordered, _vector(ctx, [1]), size)
    earlier = ctx.op.Slice(ordered, _vector(ctx, [0]), ctx.op.Sub(size, ctx.constant(*_INT64_ONE)))
    (later_c, _), (earlier_c, _) = _comparable(ctx, later, dtype), _comparable(ctx, earlier, dtype)
    same = ctx.op.Equal(later_c, earlier_c)
    if dtype in FLOAT_DTYPES:
        same = ctx.op.Or(same, ctx.op.And(ctx.op.IsNaN(later_c), ctx.op.IsNaN(earlier_c)))
    starts = _group_starts(ctx, same, size)
    return [ctx.op.Compress(ordered, starts, axis=0), *_unique_indices(op, ctx, order, starts, size)]


def _group_starts(ctx, same, size):
    """Which sorted elements start a group: the first (when there is one) and each unlike its predecessor."""
    return ctx.op.Concat(ctx.op.Slice(ctx.constant([True], "bool"), _vector(ctx, [0]), size), ctx.op.Not(same), axis=0)


def _unique_indices(op, ctx, order, starts, size):
    """The index, inverse and counts outputs the op asks for, from the stable sort ``order`` of the
    ``size`` elements (or rows) and the group ``starts`` in sorted order."""
    outputs = []
    if op.return_index:
        outputs.append(ctx.op.Compress(order, starts, axis=0))
    if op.return_inverse:
        group = ctx.op.Sub(ctx.op.CumSum(ctx.cast(starts, "bool", "int64"), ctx.constant(0, "int64")),
                           ctx.constant(1, "int64"))
        outputs.append(ctx.op.ScatterElements(ctx.op.Expand(ctx.constant(0, "int64"), size), order, group, axis=0))
    if op.return_counts:
        positions = ctx.op.Range(ctx.constant(0, "int64"), ctx.op.Squeeze(size, _vector(ctx, [0])),
                                 ctx.constant(1, "int64"))
        first = ctx.op.Compress(positions, starts, axis=0)
        ends = ctx.op.Concat(ctx.op.Slice(first, _vector(ctx, [1]), _vector(ctx, [2**62])), size, axis=0)
        outputs.append(ctx.op.Sub(ends, first))
    return outputs


def _unique_along_axis(op, node, ctx, inputs):
    """numpy's unique sub-arrays: the axis moved first, each slice a row, the rows sorted in lexicographic
    order (each field in numpy's order, NaN last but first in float16, NaNs tied), stably (numpy's mergesort when the index is
    asked for; otherwise tied rows are equal but for zero signs); a row starts a group unless every field
    equals its predecessor's (NaN equals nothing: every row with a NaN is unique, as numpy gives). The
    sort position of row i counts the rows before it and the tied rows above it: n x n x fields memory."""
    dtype = dtype_of(node.inputs[0])
    ndim = node.inputs[0].type.ndim
    axis = op.axis % ndim
    moved_order = [axis] + [d for d in range(ndim) if d != axis]
    moved = ctx.op.Transpose(inputs[0], perm=moved_order) if axis else inputs[0]
    moved_shape = ctx.op.Shape(moved)
    size = ctx.op.Slice(moved_shape, _vector(ctx, [0]), _vector(ctx, [1]))
    slice_shape = ctx.op.Slice(moved_shape, _vector(ctx, [1]), _vector(ctx, [2**62]))
    rows = ctx.op.Reshape(moved, ctx.op.Concat(size, ctx.op.ReduceProd(slice_shape, keepdims=1), axis=0), allowzero=1)
    comparable, compare_dtype = _comparable(ctx, rows, dtype)
    own, other = (ctx.op.Unsqueeze(comparable, _vector(ctx, [k])) for k in (1, 0))  # [i, j, field]
    # numpy compares the fields of a row with the dtype's compare function, whose float16 version puts
    # NaN first (float32/float64: last)
    nan_last = dtype != "float16"
    other_first = _ordered_before(ctx, other, own, compare_dtype, nan_last=nan_last)
    tie = ctx.op.Not(ctx.op.Or(other_first, _ordered_before(ctx, own, other, compare_dtype, nan_last=nan_last)))
    untied = ctx.cast(ctx.op.Not(tie), "bool", "int64")
    tied_so_far = ctx.op.Equal(ctx.op.CumSum(untied, ctx.constant(2, "int64"), exclusive=1), ctx.constant(0, "int64"))
    fields = _vector(ctx, [2])
    row_before = ctx.op.ReduceSum(ctx.cast(ctx.op.And(other_first, tied_so_far), "bool", "int64"), fields, keepdims=0)
    row_tied = ctx.op.Equal(ctx.op.ReduceSum(untied, fields, keepdims=0), ctx.constant(0, "int64"))
    n = ctx.op.Squeeze(size, _vector(ctx, [0]))
    indices = ctx.op.Range(ctx.constant(0, "int64"), n, ctx.constant(1, "int64"))
    above = ctx.op.Less(ctx.op.Unsqueeze(indices, _vector(ctx, [0])), ctx.op.Unsqueeze(indices, _vector(ctx, [1])))
    position = ctx.op.Add(ctx.op.ReduceSum(row_before, _vector(ctx, [1]), keepdims=0),
                          ctx.op.ReduceSum(ctx.cast(ctx.op.And(row_tied, above), "bool", "int64"), _vector(ctx, [1]),
                                           keepdims=0))
    order = ctx.op.ScatterElements(ctx.op.Expand(ctx.constant(0, "int64"), size), position, indices, axis=0)
    ordered = ctx.op.Gather(comparable, order, axis=0)
    later = ctx.op.Slice(ordered, _vector(ctx, [1]), size)
    earlier = ctx.op.Slice(ordered, _vector(ctx, [0]), ctx.op.Sub(size, ctx.constant(*_INT64_ONE)))
    unequal_fields = ctx.cast(ctx.op.Not(ctx.op.Equal(later, earlier)), "bool", "int64")
    same = ctx.op.Equal(ctx.op.ReduceSum(unequal_fields, _vector(ctx, [1]), keepdims=0), ctx.constant(0, "int64"))
    starts = _group_starts(ctx, same, size)
    unique_rows = ctx.op.Compress(ctx.op.Gather(rows, order, axis=0), starts, axis=0)
    groups = ctx.op.Shape(unique_rows, start=0, end=1)
    values = ctx.op.Reshape(unique_rows, ctx.op.Concat(groups, slice_shape, axis=0), allowzero=1)
    if axis:
        values = ctx.op.Transpose(values, perm=[moved_order.index(d) for d in range(ndim)])
    return [values, *_unique_indices(op, ctx, order, starts, size)]


def _fill_diagonal(ctx, a, value, offset, dtype: str):
    """``a`` with the diagonal ``offset`` (a 0-d int64: above the main one, below it when negative) set to
    ``value``, as far as it lies inside the matrix; the signs of zeros kept."""
    shape = ctx.op.Shape(a)
    zero, one = ctx.constant(0, "int64"), ctx.constant(1, "int64")
    rows = ctx.op.Range(zero, ctx.op.Gather(shape, zero, axis=0), one)
    columns = ctx.op.Range(zero, ctx.op.Gather(shape, one, axis=0), one)
    diagonal = ctx.op.Equal(ctx.op.Sub(columns, ctx.op.Unsqueeze(rows, _vector(ctx, [1]))), offset)
    compute = compute_dtype("Where", dtype, allow_widening=True)
    filled = select_keeping_zero_sign(ctx, diagonal, ctx.cast(ctx.op.Expand(value, shape), dtype, compute),
                                      ctx.cast(a, dtype, compute), compute)
    return ctx.cast(filled, compute, dtype)


@onnx_funcify.register(FillDiagonal)
def onnx_funcify_FillDiagonal(op, node, ctx, inputs):
    a, value = inputs
    if node.inputs[0].type.ndim != 2:
        raise ONNXExportUnsupported(f"{op}: only 2-d arrays are exported, got {node.inputs[0].type.ndim}-d input "
                                    f"{node.inputs[0]}")
    dtype = dtype_of(node.outputs[0])
    return [_fill_diagonal(ctx, a, ctx.cast(value, dtype_of(node.inputs[1]), dtype), ctx.constant(0, "int64"), dtype)]


@onnx_funcify.register(FillDiagonalOffset)
def onnx_funcify_FillDiagonalOffset(op, node, ctx, inputs):
    """PyTensor's own rule for a tall matrix: no wrapping (numpy's fill_diagonal wraps)."""
    a, value, offset = inputs
    dtype = dtype_of(node.outputs[0])
    return [_fill_diagonal(ctx, a, value, ctx.cast(offset, dtype_of(node.inputs[2]), "int64"), dtype)]


@onnx_funcify.register(Bartlett)
def onnx_funcify_Bartlett(op, node, ctx, inputs):
    """numpy's bartlett(M) in its own arithmetic: n = 1 - M, 3 - M, ..., M - 1 and 1 + n / (M - 1) for
    n <= 0, 1 - n / (M - 1) above (bit for bit); empty for M < 1, [1.0] for M = 1."""
    m = ctx.cast(inputs[0], dtype_of(node.inputs[0]), "int64")
    count = ctx.op.Max(m, ctx.constant(0, "int64"))
    m_float = ctx.cast(m, "int64", "float64")
    one = ctx.constant(1.0, "float64")
    n = ctx.op.Add(ctx.op.Sub(one, m_float),
                   ctx.op.Mul(ctx.constant(2.0, "float64"),
                              ctx.cast(ctx.op.Range(ctx.constant(0, "int64"), count, ctx.constant(1, "int64")),
                                       "int64", "float64")))
    ratio = ctx.op.Div(n, ctx.op.Sub(m_float, one))
    window = ctx.op.Where(ctx.op.LessOrEqual(n, ctx.constant(0.0, "float64")), ctx.op.Add(one, ratio),
                          ctx.op.Sub(one, ratio))
    return [ctx.op.Where(ctx.op.Equal(m, ctx.constant(1, "int64")), one, window)]


@onnx_funcify.register(CpuContiguous)
def onnx_funcify_CpuContiguous(op, node, ctx, inputs):
    """A copy only where numpy's layout is not C-contiguous: ONNX tensors have no layout, so the value."""
    return [ctx.op.Identity(inputs[0])]


def _dims(ctx, node_dims, name, count: int):
    dims = ctx.cast(name, dtype_of(node_dims), "int64")
    return [ctx.op.Gather(dims, ctx.constant(k, "int64"), axis=0) for k in range(count)]


@onnx_funcify.register(RavelMultiIndex)
def onnx_funcify_RavelMultiIndex(op, node, ctx, inputs):
    *indices, dims = inputs
    sizes = _dims(ctx, node.inputs[-1], dims, len(indices))
    indices = [ctx.cast(i, dtype_of(v), "int64") for i, v in zip(indices, node.inputs[:-1])]
    if op.mode == "wrap":
        indices = [ctx.op.Mod(i, s) for i, s in zip(indices, sizes)]
    elif op.mode == "clip":
        indices = [ctx.op.Max(ctx.op.Min(i, ctx.op.Sub(s, ctx.constant(1, "int64"))), ctx.constant(0, "int64"))
                   for i, s in zip(indices, sizes)]
    order = range(len(indices)) if op.order == "C" else reversed(range(len(indices)))
    flat = None
    for k in order:
        flat = indices[k] if flat is None else ctx.op.Add(ctx.op.Mul(flat, sizes[k]), indices[k])
    return [ctx.cast(flat, "int64", dtype_of(node.outputs[0]))]


@onnx_funcify.register(UnravelIndex)
def onnx_funcify_UnravelIndex(op, node, ctx, inputs):
    index, dims = inputs
    count = len(node.outputs)
    sizes = _dims(ctx, node.inputs[1], dims, count)
    rest = ctx.cast(index, dtype_of(node.inputs[0]), "int64")
    order = list(reversed(range(count))) if op.order == "C" else list(range(count))
    coordinates = [None] * count
    for k in order:
        coordinates[k] = ctx.op.Mod(rest, sizes[k])
        rest = ctx.op.Div(rest, sizes[k])
    return [ctx.cast(c, "int64", dtype_of(out)) for c, out in zip(coordinates, node.outputs)]


@onnx_funcify.register(Repeat)
def onnx_funcify_Repeat(op, node, ctx, inputs):
    x, counts = inputs
    axis = op.axis if op.axis is not None else 0
    counts = ctx.cast(counts, dtype_of(node.inputs[1]), "int64")
    if node.inputs[1].type.ndim == 0:  # one count for every element
        length = ctx.op.Gather(ctx.op.Shape(x), ctx.constant([axis], "int64"), axis=0)
        counts = ctx.op.Expand(counts, length)
    ends = ctx.op.CumSum(counts, ctx.constant(0, "int64"))
    total = ctx.op.ReduceSum(counts, ctx.constant([0], "int64"), keepdims=1)
    # marks[e] = how many elements end at output position e; index[j] = marks summed up to j
    marks = ctx.op.ScatterElements(ctx.op.ConstantOfShape(ctx.op.Add(total, ctx.constant([1], "int64")),
                                                          value=helper.make_tensor("zero", TensorProto.INT64, [1], [0])),
                                   ends, ctx.op.Expand(ctx.constant(1, "int64"), ctx.op.Shape(ends)), axis=0,
                                   reduction="add")
    index = ctx.op.Slice(ctx.op.CumSum(marks, ctx.constant(0, "int64")), ctx.constant([0], "int64"), total)
    return [ctx.op.Gather(x, index, axis=axis)]
