"""The cell protocol: each column of the matrix gets its kind of cell, and each kind describes its own
counterexample."""

import numpy as np

from harness.conformance.cells import MixedCell, OpDtypeCell, cell_for
from harness.fuzz.programs import Node, Program
from harness.registry import ONNX_OPERATIONS
from strategies.values import ArrayExample


def test_each_column_gets_its_kind_of_cell():
    add = ONNX_OPERATIONS["add"]
    assert cell_for(add, "float32") == OpDtypeCell(add, "float32")
    assert cell_for(add, "mixed") == MixedCell(add)


def test_each_kind_describes_its_counterexample_exactly():
    example = ArrayExample((np.array([0.1, -0.0]), np.array(3, np.int8)), ((2,), ()), ("float64", "int8"),
                           (("axis", 0),))
    text = OpDtypeCell(ONNX_OPERATIONS["add"], "float64").describe(example)
    assert text == "x0: [ 0.1, -0. ] (float64, shape (2,)); x1: 3 (int8, shape ()); params: axis=0"
    program = Program([("x0", "int8", (2,)), ("x1", "float32", ())], {}, [Node("add", ("x0", "x1"))], ["v0"],
                      [np.array([1, -2], np.int8), np.array(0.1, np.float32)])
    text = MixedCell(ONNX_OPERATIONS["add"]).describe(program)
    assert text == "x0: [ 1, -2] (int8, shape (2,)); x1: 0.1 (float32, shape ())"
