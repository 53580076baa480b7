"""Graph passes that keep onnxruntime's default graph optimizations from changing what an exported
graph computes. Each guards against one runtime rewrite, names the onnxruntime releases it was seen
in, and has a standalone ONNX reproducer in ``tests/backend/test_runtime_guards.py`` that fails once
the runtime is fixed (then the guard can go).

Float64 constants judged in float32. onnxruntime reads a single-element constant operand of
Add/Sub/Mul/Div as float32 in two of its rewrites:

- NoopElimination (1.31, 1.32) removes ``x * c`` and ``x / c`` where ``c`` rounds to 1.0 in float32
  (1.0000000342285429, from a PyMC gradient) and ``x + c``, ``x - c`` where ``c`` rounds to 0.0 (1e-320);
- MatMulScaleFusion (1.31) folds ``MatMul(a, b) * c``, ``MatMul(a * c, b)`` (and ``/ c``) into a
  FusedMatMul whose ``alpha`` is a float32, so a float64 scale that is not a power of two is rounded.

Signed zeros. NoopElimination (1.31, 1.32) also removes ``x + 0.0`` (either order) and ``x - (-0.0)``
where ``x`` is computed by another node, in every float type: both turn a -0.0 into +0.0, so they are
not no-ops (``upstream/add-of-zero-keeps-negative-zero``).

All of these rewrites leave a node alone whose constant has more dimensions than its other operand. The guard gives
such a constant `GUARD_RANK` dimensions (all of size 1) and reshapes the node's result back to the
other operand's shape: the same values, at the cost of a Shape and a Reshape.

To add a guard: a function over one graph's nodes (``guard_<what>``), called from `apply_guards`.
"""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import numpy_helper

GUARD_RANK = 9
"""Dimensions of a guarded constant: more than PyTensor graphs' tensors have in practice (numpy allows
64; an operand of rank 9 or more would leave the guard without effect)."""

_IDENTITY = {"Add": 0.0, "Sub": 0.0, "Mul": 1.0, "Div": 1.0}
_FLOAT_TYPES = (onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16)
_SCALES = ("Mul", "Div")


def apply_guards(nodes: list[onnx.NodeProto], initializers: list[onnx.TensorProto], fresh,
                 can_hold_negative_zero=lambda name: True) -> None:
    """Rewrite ``nodes`` (and the Loop/If bodies inside them) in place; ``initializers`` gains the
    guarded constants; ``fresh(hint)`` hands out unused value names; ``can_hold_negative_zero(name)``
    (`backend.basic.GraphBuilder.can_hold_negative_zero`) spares the signed-zero guard an operand that
    is never -0.0."""
    values = {t.name: numpy_helper.to_array(t) for t in initializers
              if t.data_type in _FLOAT_TYPES and math.prod(t.dims) == 1}
    guard_identity_constants(nodes, values, initializers, fresh, can_hold_negative_zero)


def _drops_a_signed_zero(op_type: str, value: float) -> bool:
    """``x + 0.0`` or ``x - (-0.0)``: removed by NoopElimination, though they turn -0.0 into +0.0."""
    return value == 0.0 and ((op_type == "Add" and not math.copysign(1.0, value) < 0)
                             or (op_type == "Sub" and math.copysign(1.0, value) < 0))


def _judged_in_float32(op_type: str, value: float, next_to_matmul: bool) -> bool:
    identity = _IDENTITY[op_type]
    with np.errstate(over="ignore"):  # a float64 beyond float32's range is inf there: no identity
        in_float32 = float(np.float32(value))
    if value != identity and in_float32 == identity:
        return True  # NoopElimination would drop the node
    mantissa, _ = math.frexp(value)
    power_of_two = abs(mantissa) == 0.5
    return op_type in _SCALES and next_to_matmul and not power_of_two and math.isfinite(value)


def guard_identity_constants(nodes: list[onnx.NodeProto], values: dict, initializers: list, fresh,
                             can_hold_negative_zero) -> None:
    """The guard of the module docstring, on one graph and the graphs inside it."""
    producers = {out: node.op_type for node in nodes for out in node.output}
    readers: dict[str, set[str]] = {}
    for node in nodes:
        for name in node.input:
            readers.setdefault(name, set()).add(node.op_type)
        for attribute in node.attribute:
            for subgraph in [attribute.g, *attribute.graphs] if attribute.type in (
                    onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) else []:
                body = list(subgraph.node)
                guard_identity_constants(body, values, initializers, fresh, can_hold_negative_zero)
                _replace_nodes(subgraph, body)
    nodes[:] = _guarded(nodes, values, initializers, fresh, producers, readers, can_hold_negative_zero)


def _guarded(nodes, values, initializers, fresh, producers, readers, can_hold_negative_zero) -> list[onnx.NodeProto]:
    result = []
    for node in nodes:
        result.append(node)
        if node.op_type not in _IDENTITY or len(node.input) != 2:
            continue
        constant = [k for k, name in enumerate(node.input) if name in values]
        if len(constant) != 1:
            continue
        k = constant[0]
        if k == 0 and node.op_type in ("Sub", "Div"):
            continue  # c - x and c / x: neither rewrite reads a constant there
        value = values[node.input[k]]
        if value.ndim >= GUARD_RANK:
            continue
        other = node.input[1 - k]
        next_to_matmul = producers.get(other) == "MatMul" or "MatMul" in readers.get(node.output[0], ())
        scalar = float(value.reshape(()))
        float64 = value.dtype == np.float64
        if not ((_drops_a_signed_zero(node.op_type, scalar) and can_hold_negative_zero(other))
                or (float64 and _judged_in_float32(node.op_type, scalar, next_to_matmul))):
            continue
        padded = fresh("guarded_const")
        initializers.append(numpy_helper.from_array(value.reshape((1,) * GUARD_RANK), padded))
        values[padded] = value.reshape((1,) * GUARD_RANK)
        wanted, unshaped, shape = node.output[0], fresh(node.op_type.lower()), fresh("shape")
        node.input[k] = padded
        node.output[0] = unshaped
        result.append(onnx.helper.make_node("Shape", [other], [shape], name=fresh("Shape_node")))
        # allowzero: a 0 in the shape is an empty axis (by default it copies the input's axis)
        result.append(onnx.helper.make_node("Reshape", [unshaped, shape], [wanted], name=fresh("Reshape_node"),
                                            allowzero=1))
    return result


def _replace_nodes(graph: onnx.GraphProto, nodes: list[onnx.NodeProto]) -> None:
    del graph.node[:]
    graph.node.extend(nodes)
