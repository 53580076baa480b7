"""Entries for ``backend/builders.py``: ops defined by an inner graph (OpFromGraph), inlined into the
model: user-defined ones (several outputs, nested), PyTensor's own (Kronecker product, einsum, pad),
and those the NUMBA mode's rewrites make from PyTensor 3.3 (``numba_*``: FusedElemwise,
ScalarCAReduce, ScalarizedJoin, ScalarSubtensor), built as a default-mode function holds them.

To add one: a ``register(...)`` call below whose ``build`` makes the OpFromGraph for the cell's
input types (one instance per graph, as a user would); for an op only rewrites make, wrap the
graph's builder in `numba_rewritten`.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from hypothesis import strategies as st
from pytensor.compile.builders import OpFromGraph
from pytensor.compile.mode import get_mode
from pytensor.graph.fg import FunctionGraph
from pytensor.graph.replace import graph_replace

from backend.compat import PYTENSOR_VERSION, FusedElemwise
from backend.dtypes import ALL_DTYPES, FLOAT_DTYPES, NUMERIC_DTYPES
from harness.registry.math import (
    EMPTY_CONTRACTION,
    OVERFLOW_ORDER,
    OVERFLOW_ORDER_UNPREDICTABLE,
    empty_contraction_into_values,
    overflow_depends_on_order,
)
from harness.registry.quirks import FLOAT16_CHAIN, float16_chain_differs
from harness.registry.shape import ranked
from harness.registry.spec import REDUCTION, TRANSCENDENTAL, absent_entry, register
from harness.registry.tensor_basic import ALLOC_BUFFER_REUSE, ALLOC_NEGATIVE_ZERO, single_negative_zero
from strategies.shapes import BroadcastShapes, matmul_shapes
from strategies.values import bounded_values, element_values


def _two_outputs(x, y):
    """An OpFromGraph with two outputs, x * y - x and x + y, built as a user would."""
    a, b = x.type(), y.type()
    return OpFromGraph([a, b], [a * b - a, a + b])(x, y)


def _nested(x, y):
    """An OpFromGraph whose inner graph applies another OpFromGraph: twice(x) + y."""
    a, b, c = x.type(), x.type(), y.type()
    twice = OpFromGraph([a], [a + a])
    return OpFromGraph([b, c], [twice(b) - c])(x, y)


def _square_matrices(dtype):
    return st.integers(0, 4).map(lambda n: BroadcastShapes(((n, n),), (n,)))


def _two_matrices(dtype):
    return st.tuples(*(st.tuples(st.integers(0, 3), st.integers(0, 3)),) * 2).map(
        lambda shapes: BroadcastShapes(shapes, (shapes[0][0] * shapes[1][0], shapes[0][1] * shapes[1][1])))


def _largest_magnitude(example):
    x = np.abs(np.asarray(example.arrays[0], dtype=np.float64))
    return np.max(x, initial=0.0)


def _pad(mode):
    return lambda x: pt.pad(x, 2, mode=mode)


# pad's inner graphs are large (export, sessions and py function take ~0.3 s per signature), so its
# entries draw matrices only: four signatures at most (which sides are 1), every mode's logic still
# crosses both axes
MATRICES = ranked(min_dims=2, max_dims=2)
NONEMPTY_MATRICES = ranked(min_dims=2, max_dims=2, min_side=1)


register("op_from_graph_two_outputs", arity=2, dtypes=NUMERIC_DTYPES, build=_two_outputs,
         onnx_ops=("Mul", "Sub", "Add")).xfail(
    id="float16-chain",
    reason=FLOAT16_CHAIN, category="onnxruntime-kernel", dtypes=("float16",),
    when=float16_chain_differs(lambda x, y: x * y - x),
)
register("op_from_graph_nested", arity=2, dtypes=NUMERIC_DTYPES, build=_nested, onnx_ops=("Add", "Sub")).xfail(
    id="float16-chain",
    reason=FLOAT16_CHAIN, category="onnxruntime-kernel", dtypes=("float16",),
    when=float16_chain_differs(lambda x, y: (x + x) - y),
)
register("kron", arity=2, dtypes=ALL_DTYPES, build=lambda a, b: pt.linalg.kron(a, b), shapes=_two_matrices,
         probe_ndim=2, elementwise=False, onnx_ops=("Mul", "Reshape"))
# einsum contracting one index: a matrix product, summed in either library's order
register("einsum_matmul", arity=2, dtypes=ALL_DTYPES, build=lambda a, b: pt.einsum("ij,jk->ik", a, b),
         shapes=lambda d: matmul_shapes().filter(lambda s: all(len(x) == 2 for x in s.input_shapes)),
         probe_ndim=2, elementwise=False, tolerance=REDUCTION, signed_zeros=False).xfail(
    id="empty-contraction",
    reason=EMPTY_CONTRACTION, category="onnxruntime-kernel", dtypes=("uint32", "uint64"),
    when=empty_contraction_into_values,
).xfail(
    id="overflow-order",
    reason=OVERFLOW_ORDER, category="onnxruntime-kernel", dtypes=FLOAT_DTYPES, when=overflow_depends_on_order,
    unpredictable=OVERFLOW_ORDER_UNPREDICTABLE,
)
register("einsum_diagonal", arity=1, dtypes=ALL_DTYPES, build=lambda a: pt.einsum("ii->i", a),
         shapes=_square_matrices, probe_ndim=2, elementwise=False)
register("pad_constant", arity=1, dtypes=ALL_DTYPES, build=_pad("constant"), shapes=MATRICES, probe_ndim=2,
         elementwise=False)
register("pad_edge", arity=1, dtypes=ALL_DTYPES, build=_pad("edge"), shapes=NONEMPTY_MATRICES, probe_ndim=2,
         elementwise=False)
# PyTensor tiles the input with Alloc for wrap, so alloc's -0.0 quirk shows through
register("pad_wrap", arity=1,  # PyTensor before 3.3: no uint64 repeat
         dtypes=ALL_DTYPES if PYTENSOR_VERSION >= (3, 3) else ALL_DTYPES[:-2] + ("bool",),
         build=_pad("wrap"), shapes=NONEMPTY_MATRICES, probe_ndim=2, elementwise=False).xfail(
    id="alloc-negative-zero",
    reason=ALLOC_NEGATIVE_ZERO, category="pytensor", dtypes=FLOAT_DTYPES, when=single_negative_zero,
    unpredictable=ALLOC_BUFFER_REUSE,
)
register("pad_maximum", arity=1, dtypes=ALL_DTYPES, build=_pad("maximum"), shapes=NONEMPTY_MATRICES, probe_ndim=2,
         elementwise=False, signed_zeros=False)
# the padded means sum in float64 in numpy's order and onnxruntime's: where values cancel, the error is
# relative to the terms, which max|x| bounds (as error_scale) for every mean in the output
register("pad_mean", arity=1, dtypes=ALL_DTYPES, build=_pad("mean"), shapes=NONEMPTY_MATRICES, probe_ndim=2,
         elementwise=False, tolerance=REDUCTION, error_scale=_largest_magnitude)
register("pad_linear_ramp", arity=1, dtypes=ALL_DTYPES, build=_pad("linear_ramp"), shapes=NONEMPTY_MATRICES, probe_ndim=2,
         elementwise=False)


def numba_rewritten(build):
    """``build``'s graph after the NUMBA mode's rewrites (in-place ones aside): what a function
    compiled with PyTensor 3.3's default mode holds, over the same input variables."""
    def rewritten(*inputs):
        fgraph = FunctionGraph(list(inputs), [build(*inputs)], clone=True)
        get_mode("NUMBA").excluding("inplace").optimizer.rewrite(fgraph)
        (output,) = graph_replace(fgraph.outputs, dict(zip(fgraph.inputs, inputs)), strict=False)
        return output
    return rewritten


def _sum_terms(example):
    """sum(2x + 1): the magnitude of the terms the sum adds."""
    return np.sum(np.abs(2.0 * np.asarray(example.arrays[0], np.float64)) + 1.0)


NUMPY_EXP_OF_BOOL = ("PyTensor's Python mode takes exp of a bool with numpy, whose smallest float loop is float16: "
                     "exp(True) is 2.71875 before the cast to the float32 result; the export computes exp in "
                     "float32 (2.7182817)")
PYTHON_SUM_OF_NEGATIVE_ZEROS = (
    "PyTensor's Python-mode scalar add (what a Composite evaluates with) is Python's sum(), which starts "
    "from the integer 0: -0.0 + -0.0 gives +0.0 (IEEE, numpy, PyTensor's NUMBA backend and the export: -0.0)")


def first_and_last_are_negative_zeros(example) -> bool:
    """x[0] and x[-1] are -0.0: x[0] * 2 + x[-1] is -0.0."""
    ends = np.asarray(example.arrays[0])[[0, -1]]
    return ends.dtype.kind == "f" and bool(np.all((ends == 0) & np.signbit(ends)))


def exp_of_true(example) -> bool:
    """exp(max(x)) of a bool x holding True."""
    return bool(np.any(example.arrays[0]))


NUMBA_SPECIALISED = "PyTensor 3.3's NUMBA rewrites make this op (releases before 3.3 have no such op)"
if FusedElemwise is None:
    for name in ("numba_fused_elemwise_sum", "numba_scalar_careduce", "numba_scalarized_join",
                 "numba_scalar_subtensor"):
        absent_entry(name, reason=NUMBA_SPECIALISED)
else:
    # an elementwise chain fused into its sum; the two sum in different orders
    register("numba_fused_elemwise_sum", arity=1, dtypes=ALL_DTYPES,
             build=numba_rewritten(lambda x: pt.sum(x * 2 + 1)), shapes=ranked(max_dims=2), tolerance=REDUCTION,
             elements=lambda d: [bounded_values(d, magnitude=1e3) if d in FLOAT_DTYPES else element_values(d)],
             error_scale=_sum_terms, elementwise=False,
             onnx_ops=("ReduceSum",))
    # a reduction to a scalar followed by scalar work
    register("numba_scalar_careduce", arity=1, dtypes=ALL_DTYPES,
             build=numba_rewritten(lambda x: pt.exp(pt.max(x)) * 2), shapes=ranked(max_dims=1, min_side=1),
             tolerance=TRANSCENDENTAL, elementwise=False, onnx_ops=("ReduceMax", "Exp")).xfail(
        id="numpy-exp-of-bool",
        reason=NUMPY_EXP_OF_BOOL, category="pytensor", dtypes=("bool",),
        when=exp_of_true)
    register("numba_scalarized_join", arity=1, dtypes=ALL_DTYPES,
             build=numba_rewritten(lambda s: pt.stack([s, s * 2])), probe_ndim=0,
             shapes=ranked(min_dims=0, max_dims=0), elementwise=False, onnx_ops=("Concat",))
    register("numba_scalar_subtensor", arity=1, dtypes=ALL_DTYPES,
             build=numba_rewritten(lambda x: x[0] * 2 + x[-1]), shapes=ranked(max_dims=1, min_side=1),
             elementwise=False, onnx_ops=("Gather",)).xfail(
        id="python-sum-of-negative-zeros",
        reason=PYTHON_SUM_OF_NEGATIVE_ZEROS, category="pytensor", dtypes=FLOAT_DTYPES,
        when=first_and_last_are_negative_zeros)
