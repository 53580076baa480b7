"""Which values of an exported graph can hold -0.0, as far as the graph shows at export time.

Some nodes exist only for -0.0: numpy's sum of -0.0 elements is +0.0 where onnxruntime's ReduceSum
keeps -0.0 (`backend.reduction`), and onnxruntime's optimizer drops ``x + 0.0``, which turns a -0.0
into +0.0 (`backend.runtime_guards`). Such a guard is emitted only where its operand can be -0.0.

The answer is conservative: False only when IEEE arithmetic rules -0.0 out, True for anything not
understood (graph inputs, Mul and Div, whose results underflow to a signed zero, unknown ops).

- a constant holds -0.0 when one of its elements is -0.0; a value of an integer or boolean type never;
- ``a + b`` is -0.0 only when both are (a zero sum of opposite signs is +0.0 in round-to-nearest), and
  ``a - b`` only when ``a`` is -0.0 and ``b`` is +0.0;
- exp, abs and log are never -0.0; a selection, reshaping or concatenation holds -0.0 when one of its
  data operands does; ``sqrt(-0.0)`` and ``floor(-0.0)`` are -0.0, so they pass their operand's answer on.

To extend: add an ONNX op to `NEVER`, `DATA_OPERANDS` (with the operands whose -0.0 can reach the
result), or a rule of its own in `can_hold_negative_zero`, with a reason from IEEE 754.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnx

_BOOLEAN_RESULTS = ("Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "Not", "And", "Or", "Xor",
                    "IsNaN", "IsInf")
NEVER = frozenset(("Exp", "Abs", "Log", "Shape", "Size", "ArgMax", "ArgMin", "NonZero", *_BOOLEAN_RESULTS))
"""ONNX ops whose results are never -0.0."""

_ALL = None
DATA_OPERANDS: dict[str, tuple[int, ...] | None] = {
    "Identity": (0,), "Reshape": (0,), "Expand": (0,), "Unsqueeze": (0,), "Squeeze": (0,),
    "Flatten": (0,), "Transpose": (0,), "Slice": (0,), "Gather": (0,), "GatherElements": (0,),
    "GatherND": (0,), "Tile": (0,), "Concat": _ALL, "Where": (1, 2), "Max": _ALL, "Min": _ALL,
    "Sqrt": (0,), "Floor": (0,), "ReduceSum": (0,), "ReduceMax": (0,), "ReduceMin": (0,),
}
"""ONNX ops whose result holds -0.0 only when one of the listed operands does (None: any operand)."""

_FLOAT_TYPES = (onnx.TensorProto.FLOAT16, onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE,
                onnx.TensorProto.BFLOAT16)


def constant_holds_negative_zero(array: np.ndarray) -> bool:
    return array.dtype.kind == "f" and bool(np.any((array == 0) & np.signbit(array)))


def _holds_positive_zero(array: np.ndarray) -> bool:
    return array.dtype.kind != "f" or bool(np.any((array == 0) & ~np.signbit(array)))


def can_hold_negative_zero(name: str, *, producer: Callable[[str], onnx.NodeProto | None],
                           constant_value: Callable[[str], np.ndarray | None],
                           memo: dict[str, bool]) -> bool:
    """Whether value ``name`` can be -0.0 anywhere; ``producer(name)`` is the node computing a value
    (None for graph inputs and constants), ``constant_value(name)`` a constant's array (else None).
    ``memo`` keeps answers between calls on the same graph."""
    # depth-first without recursion: a long chain of additions would exceed Python's stack
    stack = [name]
    while stack:
        current = stack[-1]
        if current in memo:
            stack.pop()
            continue
        answer, pending = _rule(current, producer, constant_value, memo)
        if pending:
            stack.extend(pending)
            continue
        memo[current] = answer
        stack.pop()
    return memo[name]


def _rule(name, producer, constant_value, memo) -> tuple[bool, list[str]]:
    """(answer, []) when known from ``memo``, else (False, operands still to answer)."""
    array = constant_value(name)
    if array is not None:
        return constant_holds_negative_zero(array), []
    node = producer(name)
    if node is None:
        return True, []
    op_type = node.op_type
    if op_type in NEVER:
        return False, []
    if op_type == "Cast":
        to = next(a.i for a in node.attribute if a.name == "to")
        operands = [node.input[0]] if to in _FLOAT_TYPES else []
    elif op_type == "Add":
        operands = list(node.input)
    elif op_type == "Sub":
        subtrahend = constant_value(node.input[1])
        if subtrahend is not None and not _holds_positive_zero(subtrahend):
            return False, []
        operands = [node.input[0]]
    elif op_type in DATA_OPERANDS:
        positions = DATA_OPERANDS[op_type]
        operands = [node.input[k] for k in (range(len(node.input)) if positions is None else positions)
                    if k < len(node.input) and node.input[k]]
    else:
        return True, []
    if op_type == "Cast" and not operands:
        return False, []
    pending = [operand for operand in operands if operand not in memo]
    if pending:
        return False, pending
    answers = [memo[operand] for operand in operands]
    return (all(answers) if op_type == "Add" else any(answers)), []
