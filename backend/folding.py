"""The lean exporter: what `GraphBuilder.add_node` does instead of emitting a node, so that a deployed
model carries only the work PyTensor's own compiled function does.

- **Constant folding**: a node of `FOLDABLE` whose inputs are all constants (initializers the builder
  made, Python literals included) becomes a constant computed here with numpy. Only ops whose result
  numpy and ONNX define identically are folded (shape and index arithmetic, comparisons, logic,
  IEEE-exact arithmetic: +, -, *, /, sqrt are correctly rounded in both), and only results of at most
  `FOLD_MAX_ELEMENTS` elements (a folded Expand must not bloat the model).
- **Static shapes**: ``Shape(x)`` of a value whose PyTensor type has a fully known shape is a
  constant (the shape arithmetic converters do then folds away), and an ``Expand`` or ``Reshape`` that
  leaves such a value's shape unchanged is no node at all.
- **Common subexpressions**: a node identical to one already emitted (same op, inputs and attributes)
  in this graph or an enclosing one is not emitted again; nodes holding subgraphs and random
  generators are always emitted.

Dead nodes are removed once the whole graph is built (`backend.graph.fgraph_to_onnx`).

To extend: add an op to `FOLDABLE` with a numpy function ``(inputs, attributes) -> array`` that
computes exactly what the ONNX op computes for every value of every dtype the op takes (or returns
None where it would not, as `_arithmetic` does for integer division).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

FOLD_MAX_ELEMENTS = 1 << 16


def _comparison(function):
    return lambda inputs, attrs: function(*inputs)


def _arithmetic(function, *, integers_only: bool = False):
    def fold(inputs, attrs):
        if len({x.dtype for x in inputs}) != 1:
            return None
        if integers_only and inputs[0].dtype.kind not in "iu":
            return None
        with np.errstate(all="ignore"):  # inf, NaN and integer wrap-around are what ONNX gives too
            return np.asarray(function(*inputs)).astype(inputs[0].dtype, copy=False)
    return fold


def _float_or_integer_division(inputs, attrs):
    a, b = inputs
    if a.dtype != b.dtype or a.dtype.kind != "f":
        return None  # integer Div truncates in onnxruntime, a zero divisor is undefined
    with np.errstate(all="ignore"):
        return np.asarray(np.divide(a, b)).astype(a.dtype, copy=False)


def _gather(inputs, attrs):
    data, indices = inputs
    axis = attrs.get("axis", 0)
    size = data.shape[axis]
    if np.any(indices >= size) or np.any(indices < -size):
        return None  # out of range: onnxruntime raises, which folding must not hide
    return np.take(data, indices, axis=axis)


def _slice(inputs, attrs):
    data, starts, ends = inputs[:3]
    axes = inputs[3] if len(inputs) > 3 else np.arange(len(starts))
    steps = inputs[4] if len(inputs) > 4 else np.ones(len(starts), dtype=np.int64)
    index = [slice(None)] * data.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps):
        if step <= 0:
            return None  # reversed slices clamp differently at the ends: left to onnxruntime
        # numpy's slice clamps start and end exactly as ONNX Slice does, int64 extremes included
        index[int(axis) % data.ndim] = slice(int(start), int(end), int(step))
    return data[tuple(index)]


def _range(inputs, attrs):
    start, limit, delta = (x.item() for x in inputs)
    if inputs[0].dtype.kind not in "iu" or delta == 0:
        return None
    return np.arange(start, limit, delta, dtype=inputs[0].dtype)


def _expand(inputs, attrs):
    data, shape = inputs
    return np.broadcast_to(data, np.broadcast_shapes(data.shape, tuple(int(s) for s in shape))).copy()


def _constant_of_shape(inputs, attrs):
    value = attrs.get("value")
    fill = numpy_helper.to_array(value).reshape(()) if value is not None else np.float32(0.0)
    return np.full(tuple(int(s) for s in inputs[0]), fill, dtype=fill.dtype)


def _shape(inputs, attrs):
    return shape_slice(inputs[0].shape, attrs)


FOLDABLE = {
    "Identity": lambda inputs, attrs: inputs[0],
    "Shape": _shape,
    "Size": lambda inputs, attrs: np.asarray(inputs[0].size, dtype=np.int64),
    "Gather": _gather,
    "Slice": _slice,
    "Concat": lambda inputs, attrs: np.concatenate(inputs, axis=attrs["axis"]),
    "Range": _range,
    "Expand": _expand,
    "ConstantOfShape": _constant_of_shape,
    "Equal": _comparison(np.equal),
    "Less": _comparison(np.less),
    "Greater": _comparison(np.greater),
    "LessOrEqual": _comparison(np.less_equal),
    "GreaterOrEqual": _comparison(np.greater_equal),
    "Not": _comparison(np.logical_not),
    "And": _comparison(np.logical_and),
    "Or": _comparison(np.logical_or),
    "Xor": _comparison(np.logical_xor),
    "Where": lambda inputs, attrs: np.where(*inputs) if inputs[1].dtype == inputs[2].dtype else None,
    "Add": _arithmetic(np.add),
    "Sub": _arithmetic(np.subtract),
    "Mul": _arithmetic(np.multiply),
    "Div": _float_or_integer_division,
    "Neg": _arithmetic(np.negative),
    "Abs": _arithmetic(np.abs),
    "Sqrt": _arithmetic(np.sqrt),
    # ONNX Max/Min of floats and NaN is not numpy's: integers only
    "Max": _arithmetic(np.maximum, integers_only=True),
    "Min": _arithmetic(np.minimum, integers_only=True),
}
"""ONNX op type -> numpy function ``(input arrays, attributes) -> array or None`` (None: not folded)."""

NEVER_SHARED = frozenset({"RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike",
                          "Multinomial", "Bernoulli"})
"""Ops that draw random numbers: two of them are two draws, never one."""


def shape_slice(shape, attrs) -> np.ndarray:
    """ONNX ``Shape(x, start=, end=)`` of a tensor of shape ``shape``."""
    return np.asarray(shape, dtype=np.int64)[attrs.get("start", 0):attrs.get("end", len(shape))]


def fold(op_type: str, inputs: list[np.ndarray], attrs: dict) -> np.ndarray | None:
    """The constant an ``op_type`` node computes from constant ``inputs``, or None where it is not folded."""
    function = FOLDABLE.get(op_type)
    if function is None:
        return None
    result = function(inputs, attrs)
    if result is None:
        return None
    result = np.asarray(result)
    return result if result.size <= FOLD_MAX_ELEMENTS else None


def unchanged_by(op_type: str, shape: tuple[int, ...], operand: np.ndarray, attrs: dict) -> bool:
    """Whether ``Expand(x, operand)`` or ``Reshape(x, operand)`` returns x itself for x of static ``shape``."""
    target = tuple(int(s) for s in np.ravel(operand))
    if op_type == "Expand":
        try:
            return np.broadcast_shapes(shape, target) == tuple(shape)
        except ValueError:
            return False  # not broadcastable: onnxruntime's error must stay
    if op_type == "Reshape":
        # a 0 copies the input's dimension unless allowzero is set
        copies = not attrs.get("allowzero", 0)
        resolved = [shape[k] if copies and size == 0 and k < len(shape) else size for k, size in enumerate(target)]
        return tuple(resolved) == tuple(shape)
    return False


def expression_key(op_type: str, inputs, n_outputs: int, attrs: dict) -> tuple | None:
    """What makes two nodes compute the same values (None: never share this one)."""
    if op_type in NEVER_SHARED:
        return None
    serialized = []
    for name in sorted(attrs):
        attribute = helper.make_attribute(name, attrs[name])
        if attribute.g.node or attribute.graphs:
            return None  # a Loop or If: its body may read values that differ between two uses
        serialized.append(attribute.SerializeToString())
    return op_type, tuple(inputs), n_outputs, tuple(serialized)


def infer_static_types(node, opset_version: int, static_type_of, constant_value) -> dict:
    """(ONNX element type, shape) of each output of ``node`` that ONNX shape inference fixes, given
    ``static_type_of(name)`` for its inputs (None where not known: then nothing is inferred) and
    ``constant_value(name)`` (None but for constants)."""
    known = {name: static_type_of(name) for name in node.input if name}
    if not node.output or any(t is None for t in known.values()) or any(a.g.node for a in node.attribute):
        return {}
    types = {name: helper.make_tensor_type_proto(elem, shape) for name, (elem, shape) in known.items()}
    # small integer constants (shapes, axes, indices) are passed as data: Reshape's, Expand's and
    # Slice's results depend on their values
    data = {}
    for name in known:
        value = constant_value(name)
        if value is not None and value.dtype.kind in "iu" and value.size <= 64:
            data[name] = numpy_helper.from_array(value, name)
    try:
        inferred = onnx.shape_inference.infer_node_outputs(
            onnx.defs.get_schema(node.op_type, opset_version), node, types, data)
    except (onnx.shape_inference.InferenceError, onnx.defs.SchemaError, RuntimeError):
        return {}  # onnxruntime reports what is wrong with the node when it runs
    found = {}
    for name, type_proto in inferred.items():
        tensor = type_proto.tensor_type
        dims = tensor.shape.dim if tensor.HasField("shape") else None
        if dims is not None and all(d.HasField("dim_value") for d in dims):
            found[name] = (tensor.elem_type, tuple(d.dim_value for d in dims))
    return found
