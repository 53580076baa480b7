"""Entries for ``backend/extra_ops.py`` (cumsum, cumprod, searchsorted, unique, fill_diagonal (with an
offset), bartlett, cpu_contiguous, ravel_multi_index, unravel_index) and for the ``pytensor.tensor.extra_ops`` functions PyTensor builds
from basic ops (repeat, tile, diff, roll, bincount, broadcast_to, tril/triu, take_along_axis), which
users call as often and which must export through the converters of those basic ops.

To add one: a ``register(...)`` call below; inputs whose values depend on each other come from
``strategies/ordering.py``.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from hypothesis import strategies as st

from backend.compat import PYTENSOR_VERSION
from backend.dtypes import (
    ALL_DTYPES,
    FLOAT_DTYPES,
    INT_DTYPES,
    NUMERIC_DTYPES,
    SIGNED_DTYPES,
)
from harness.registry.older_onnxruntime import TOPK_NAN
from harness.registry.quirks import FLOAT16_CHAIN, float16_chain_differs
from harness.registry.shape import ranked
from harness.registry.spec import register
from harness.registry.tensor_basic import (
    ALLOC_BUFFER_REUSE,
    ALLOC_NEGATIVE_ZERO,
    single_negative_zero,
)
from strategies.ops import axis_params
from strategies.ordering import (
    diagonal_offset_examples,
    flat_index_examples,
    multi_index_examples,
    searchsorted_examples,
)
from strategies.shapes import BroadcastShapes
from strategies.values import ArrayExample, array_values

ONE_AXIS = axis_params(keepdims=False, multiple=False)
NARROW_ACCUMULATION = ("int8", "int16", "int32", "uint8", "uint16", "uint32", "bool")
CUMULATIVE_DTYPE = ("CumOp.perform returns numpy's accumulation dtype (int64/uint64) for narrower integer and bool "
                    "inputs while the node's output type is the input dtype; the export follows the type")


def _cumulative(function):
    return lambda x, axis=None: function(x, axis=axis)


def _matrix_and_scalar(dtype):
    return st.tuples(st.integers(0, 4), st.integers(0, 4)).map(lambda s: BroadcastShapes((s, ()), s))


register("cumsum", arity=1, dtypes=ALL_DTYPES, build=_cumulative(pt.cumsum), params=ONE_AXIS, shapes=ranked(),
         onnx_ops=("CumSum",), elementwise=False).xfail(
    id="cumulative-dtype",
    reason=CUMULATIVE_DTYPE, category="pytensor", dtypes=NARROW_ACCUMULATION,
)
register("cumprod", arity=1, dtypes=ALL_DTYPES, build=_cumulative(pt.cumprod), params=ONE_AXIS, shapes=ranked(),
         onnx_ops=("Loop",), elementwise=False).xfail(
    id="cumulative-dtype",
    reason=CUMULATIVE_DTYPE, category="pytensor", dtypes=NARROW_ACCUMULATION,
)
register("searchsorted_left", arity=2, dtypes=ALL_DTYPES, build=lambda a, v: pt.searchsorted(a, v, side="left"),
         examples=lambda d, edge_cases: searchsorted_examples(dtype=d, edge_cases=edge_cases),
         onnx_ops=("Less", "ReduceSum"), elementwise=False)
register("searchsorted_right", arity=2, dtypes=ALL_DTYPES, build=lambda a, v: pt.searchsorted(a, v, side="right"),
         examples=lambda d, edge_cases: searchsorted_examples(dtype=d, edge_cases=edge_cases),
         onnx_ops=("Less", "ReduceSum"), elementwise=False)
register("searchsorted_sorter", arity=3, dtypes=ALL_DTYPES,
         input_dtypes=lambda d: (d, d, "int64"), build=lambda a, v, s: pt.searchsorted(a, v, sorter=s),
         examples=lambda d, edge_cases: searchsorted_examples(dtype=d, with_sorter=True, edge_cases=edge_cases),
         onnx_ops=("Gather", "Less"), elementwise=False)
# numpy sorts with quicksort unless the index is asked for, so which of -0.0 and 0.0 stands for both is
# unspecified in the values alone
register("unique", arity=1, dtypes=ALL_DTYPES, build=pt.unique, shapes=ranked(), onnx_ops=("TopK", "Compress"),
         elementwise=False, signed_zeros=False).xfail(**TOPK_NAN)
register("unique_index_inverse_counts", arity=1, dtypes=ALL_DTYPES,
         build=lambda x: pt.unique(x, return_index=True, return_inverse=True, return_counts=True),
         shapes=ranked(), onnx_ops=("TopK", "Compress", "ScatterElements"), elementwise=False).xfail(**TOPK_NAN)


def _few_values(dtype):
    """Elements from a handful of values, so that whole rows repeat: NaN and both zeros among floats."""
    if dtype == "bool":
        return [st.booleans()]
    values = [0, 1, 2] + ([-0.0, np.nan] if dtype in FLOAT_DTYPES else [])
    return [st.sampled_from(values)]


# unique sub-arrays along an axis: rows compared field by field, NaN unequal to itself (every row with a
# NaN is its own group, as numpy's structured comparison gives)
register("unique_axis", arity=1, dtypes=ALL_DTYPES, build=lambda x: pt.unique(x, axis=0), elements=_few_values,
         shapes=ranked(min_dims=2, max_dims=3), onnx_ops=("CumSum", "Compress"), elementwise=False,
         signed_zeros=False, probe_ndim=2)
register("unique_axis_index_inverse_counts", arity=1, dtypes=ALL_DTYPES,
         build=lambda x: pt.unique(x, axis=-1, return_index=True, return_inverse=True, return_counts=True),
         elements=_few_values, shapes=ranked(min_dims=2, max_dims=3), onnx_ops=("CumSum", "ScatterElements"),
         elementwise=False, probe_ndim=2)
register("fill_diagonal", arity=2, dtypes=ALL_DTYPES, build=pt.fill_diagonal, shapes=_matrix_and_scalar,
         probe_ndim=(2, 0), onnx_ops=("Where",), elementwise=False)
def pytensor_fills_off_the_diagonal(example: ArrayExample) -> bool:
    """PyTensor's FillDiagonalOffset writes a.flat[start:end:step] with a step count that turns negative for
    an offset past the matrix's edge, so that numpy's negative slice end counts from the back: the flat
    positions it writes (computed here by its own rule) are not the diagonal's (none)."""
    a, _, offset = example.arrays
    height, width = a.shape
    offset = int(offset)
    if offset >= 0:
        start, steps = offset, min(min(width, height), width - offset)
    else:
        start, steps = -offset * width, min(min(width, height), height + offset)
    step = width + 1
    written = np.arange(a.size)[start:start + step * steps:step]
    rows, columns = np.divmod(written, max(width, 1))
    return bool(np.any(columns - rows != offset))


FILL_OUTSIDE = ("PyTensor's FillDiagonalOffset fills a.flat[start:end:step] with end = start + step * n and n = "
                "min(rows, columns, columns - offset) (rows + offset below), negative for an offset past the edge: "
                "numpy counts a negative end from the back, so entries off any diagonal are overwritten. The export "
                "fills the diagonal's entries inside the matrix (none there)")
register("fill_diagonal_offset", arity=3, dtypes=ALL_DTYPES, input_dtypes=lambda d: (d, d, "int64"),
         build=pt.extra_ops.fill_diagonal_offset, examples=lambda d, edge_cases: diagonal_offset_examples(
             dtype=d, inside=True, edge_cases=edge_cases), onnx_ops=("Where",), elementwise=False, probe_ndim=(2, 0, 0))
register("fill_diagonal_offset_outside", arity=3, dtypes=ALL_DTYPES, input_dtypes=lambda d: (d, d, "int64"),
         build=pt.extra_ops.fill_diagonal_offset, examples=lambda d, edge_cases: diagonal_offset_examples(
             dtype=d, inside=False, edge_cases=edge_cases), elementwise=False, probe_ndim=(2, 0, 0)).xfail(
    id="fills-off-the-diagonal", reason=FILL_OUTSIDE, category="pytensor", when=pytensor_fills_off_the_diagonal)
# numpy's window: float64 whatever the integer M
register("bartlett", arity=1, dtypes=INT_DTYPES, build=pt.extra_ops.bartlett, shapes=lambda d: st.just(BroadcastShapes(((),), ())),
         elements=lambda d: [st.integers(0 if d.startswith("u") else -3, 40)], onnx_ops=("Range",), elementwise=False,
         probe_ndim=0)
register("cpu_contiguous", arity=1, dtypes=ALL_DTYPES, build=pt.extra_ops.cpu_contiguous, shapes=ranked(),
         elementwise=False)
# numpy's ravel_multi_index/unravel_index take signed indices only (an unsigned one raises TypeError)
register("ravel_multi_index", arity=3, dtypes=SIGNED_DTYPES, input_dtypes=lambda d: (d, d, "int64"),
         build=lambda i, j, dims: pt.ravel_multi_index((i, j), dims),
         examples=lambda d, edge_cases: multi_index_examples(dtype=d), onnx_ops=("Mul", "Add"), elementwise=False)
register("unravel_index", arity=2, dtypes=SIGNED_DTYPES, input_dtypes=lambda d: (d, "int64"),
         build=lambda i, dims: pt.stack(pt.unravel_index(i, pt.specify_shape(dims, (2,)))),
         examples=lambda d, edge_cases: flat_index_examples(dtype=d), onnx_ops=("Mod", "Div"), elementwise=False)


# ---- built by PyTensor from basic ops: they export through those ops' converters ----

def _nonnegative_counts(dtype):
    return [st.integers(0, 1 if dtype == "bool" else 6).map(np.dtype(dtype).type)]


MATRICES = ranked(min_dims=2, max_dims=2)
# repeat, tile and broadcast_to allocate their result with Alloc, whose -0.0 quirk shows through
_ALLOC_ZERO = dict(id="alloc-negative-zero", reason=ALLOC_NEGATIVE_ZERO, category="pytensor", dtypes=FLOAT_DTYPES, when=single_negative_zero,
                   unpredictable=ALLOC_BUFFER_REUSE)
register("repeat", arity=1, dtypes=ALL_DTYPES[:-2] + ("bool",),  # PyTensor: no uint64 repeat
         build=lambda x: pt.repeat(x, 2, axis=0), shapes=ranked(), elementwise=False).xfail(**_ALLOC_ZERO)
def _counted_examples(*, flatten: bool):
    """(x, counts): x of rank 1-3 in the cell dtype, one int64 count (0-3) per element along axis 0, or
    per element of the flattened x."""
    def examples(dtype, edge_cases):
        @st.composite
        def draw(draw_):
            shape = draw_(st.lists(st.integers(0, 3), min_size=1, max_size=3).map(tuple).filter(
                # PyTensor takes a count vector of static length 1 for one count of every element, and
                # refuses that for uint64 (its reshape would get float64 sizes)
                lambda s: dtype != "uint64" or (int(np.prod(s)) if flatten else s[0]) != 1))
            x = draw_(array_values(dtype=dtype, shape=shape))
            n = int(np.prod(shape)) if flatten else shape[0]
            counts = np.asarray(draw_(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=np.int64)
            return ArrayExample((x, counts), (x.shape, counts.shape), (dtype, "int64"))
        return draw()
    return examples


# repeat with one count per element: a Gather at the source index of each output position
# (backend/extra_ops.py); exact
for _name, _axis in (("repeat_counts", 0), ("repeat_counts_flattened", None)):
    # a count vector of static length 1 takes PyTensor's scalar path, whose Alloc shows its -0.0 quirk
    register(_name, arity=2, dtypes=ALL_DTYPES, build=lambda x, r, axis=_axis: pt.repeat(x, r, axis=axis),
             examples=_counted_examples(flatten=_axis is None), input_dtypes=lambda d: (d, "int64"),
             elementwise=False, probe_ndim=(1, 1), onnx_ops=("ScatterElements", "Gather")).xfail(**_ALLOC_ZERO)
register("tile", arity=1, dtypes=ALL_DTYPES, build=lambda x: pt.tile(x, (2, 3)), shapes=MATRICES, probe_ndim=2,
         elementwise=False).xfail(**_ALLOC_ZERO)
register("diff", arity=1, dtypes=NUMERIC_DTYPES, build=lambda x: pt.diff(x, axis=-1), shapes=ranked(),
         elementwise=False, onnx_ops=("Sub",)).xfail(
    id="float16-chain",
    reason=FLOAT16_CHAIN, category="onnxruntime-kernel", dtypes=("float16",),
    when=float16_chain_differs(lambda x: x[..., 1:] - x[..., :-1]),
)
register("roll", arity=1, dtypes=ALL_DTYPES, build=lambda x: pt.roll(x, 2, axis=-1), shapes=ranked(),
         elementwise=False)
register("bincount", arity=1, dtypes=INT_DTYPES + (("bool",) if PYTENSOR_VERSION >= (3, 3) else ()),  # bool from 3.3
         build=pt.bincount, elements=_nonnegative_counts, shapes=ranked(max_dims=1), elementwise=False)
register("broadcast_to", arity=1, dtypes=ALL_DTYPES, build=lambda x: pt.broadcast_to(x, (3, *x.shape)),
         shapes=ranked(max_dims=2), onnx_ops=("Expand",), elementwise=False).xfail(**_ALLOC_ZERO)
register("tril", arity=1, dtypes=ALL_DTYPES, build=pt.tril, shapes=MATRICES, probe_ndim=2, elementwise=False)
# PyTensor's py mode has no bool triu with an offset ("bool output not supported")
register("triu", arity=1, dtypes=NUMERIC_DTYPES, build=lambda x: pt.triu(x, 1), shapes=MATRICES, probe_ndim=2,
         elementwise=False)
