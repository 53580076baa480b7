"""`backend.signed_zero`: which values can hold -0.0, and the guards it spares."""

from collections import Counter

import numpy as np
import pytensor
import pytensor.tensor as pt
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from backend import export_onnx
from backend.basic import GraphBuilder
from backend.linker import make_session

SIGNED_VALUES = st.sampled_from([0.0, -0.0, 1.0, -1.0, 5e-324, -5e-324, 1e-300, -1e-300, 1e300, -1e300,
                                 np.inf, -np.inf, np.nan, 2.5, -0.5])
VECTOR = hnp.arrays(np.float64, (4,), elements=SIGNED_VALUES)
BINARY = ("Add", "Sub", "Mul", "Div", "Max", "Min")
UNARY = ("Exp", "Abs", "Log", "Sqrt", "Floor", "Neg", "Identity")


@st.composite
def programs(draw):
    """(steps, constants): each step an ONNX op over earlier values (0 and 1 are the graph inputs,
    then the constants, then the steps' results)."""
    constants = draw(st.lists(VECTOR, min_size=1, max_size=3))
    steps = []
    for _ in range(draw(st.integers(1, 10))):
        available = 2 + len(constants) + len(steps)
        operand = st.integers(0, available - 1)
        kind = draw(st.sampled_from(("binary", "unary", "where")))
        if kind == "binary":
            steps.append((draw(st.sampled_from(BINARY)), [draw(operand), draw(operand)]))
        elif kind == "unary":
            steps.append((draw(st.sampled_from(UNARY)), [draw(operand)]))
        else:
            steps.append(("Where", [draw(operand), draw(operand), draw(operand), draw(operand)]))
    return steps, constants


@given(programs(), VECTOR, VECTOR)
def test_a_value_said_free_of_negative_zero_never_holds_one(program, x, y):
    steps, constants = program
    builder = GraphBuilder(18)
    values = ["x", "y"] + [builder.constant(c) for c in constants]
    for op_type, operands in steps:
        names = [values[k] for k in operands]
        if op_type == "Where":
            names = [builder.op.Less(names[0], names[1]), names[2], names[3]]
        values.append(builder.op[op_type](*names))
    computed = [name for name in dict.fromkeys(values[2:]) if not builder.is_constant(name)]
    vector = [4]
    graph = helper.make_graph(
        builder.nodes, "program",
        [helper.make_tensor_value_info(name, TensorProto.DOUBLE, vector) for name in ("x", "y")],
        [helper.make_tensor_value_info(name, TensorProto.DOUBLE, vector) for name in computed],
        initializer=builder.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    with np.errstate(all="ignore"):
        results = ReferenceEvaluator(model).run(None, {"x": x, "y": y})
    for name, result in zip(computed, results):
        if not builder.can_hold_negative_zero(name):
            negative_zero = (result == 0) & np.signbit(result)
            assert not negative_zero.any(), f"{name} holds -0.0 though said free of it"
    for name in values[2:2 + len(constants)]:
        constant = builder.constant_value(name)
        assert builder.can_hold_negative_zero(name) == bool(((constant == 0) & np.signbit(constant)).any())


def test_the_rules_tell_apart_what_ieee_arithmetic_tells_apart():
    builder = GraphBuilder(18)
    x = "x"
    one, zero, negative_zero = (builder.constant(np.array([v])) for v in (1.0, 0.0, -0.0))
    assert builder.can_hold_negative_zero(x)  # a graph input: anything
    assert not builder.can_hold_negative_zero(builder.op.Exp(x))
    assert not builder.can_hold_negative_zero(builder.op.Add(x, one))  # -0.0 needs both terms -0.0
    assert builder.can_hold_negative_zero(builder.op.Add(x, negative_zero))
    assert not builder.can_hold_negative_zero(builder.op.Sub(x, one))
    assert builder.can_hold_negative_zero(builder.op.Sub(x, zero))  # -0.0 - 0.0 = -0.0
    assert builder.can_hold_negative_zero(builder.op.Mul(builder.op.Exp(x), one))  # exp(-1000) * -tiny
    assert builder.can_hold_negative_zero(builder.op.Sqrt(x))  # sqrt(-0.0) = -0.0
    assert not builder.can_hold_negative_zero(builder.op.Cast(x, to=TensorProto.INT64))
    long_sum = builder.op.Exp(x)
    for _ in range(3000):  # deeper than Python's recursion limit
        long_sum = builder.op.Add(long_sum, builder.op.Abs(long_sum))
    assert not builder.can_hold_negative_zero(long_sum)


def _counts(inputs, output):
    return Counter(node.op_type for node in export_onnx(inputs, output).graph.node)


def test_a_sum_that_cannot_be_negative_zero_has_no_guard_and_one_that_can_keeps_it():
    x = pt.vector("x", dtype="float64")
    assert _counts([x], pt.exp(x).sum())["Where"] == 0
    assert _counts([x], (x + 1.0).sum())["Where"] == 0
    model = export_onnx([x], (x * 2.0).sum())
    assert Counter(n.op_type for n in model.graph.node)["Where"] == 1
    session = make_session(model)
    (total,) = session.run(None, {"x": np.array([-0.0, -0.0])})
    expected = pytensor.function([x], (x * 2.0).sum())(np.array([-0.0, -0.0]))
    assert total == 0 and np.signbit(total) == np.signbit(expected)


def test_adding_zero_to_a_value_free_of_negative_zero_needs_no_runtime_guard():
    x = pt.vector("x", dtype="float64")
    assert _counts([x], pt.exp(x) + 0.0)["Reshape"] == 0
    assert _counts([x], (x * 3.0) + 0.0)["Reshape"] == 1  # the guard of backend.runtime_guards
