"""Entries for ``backend/tensor_basic.py``: Alloc, AllocEmpty, ARange, Eye, ExtractDiag, Join
(concatenate), Split and scalar<->tensor conversion.

To add one: a ``register(...)`` call below; inputs that depend on each other (split sizes, arange
bounds) come from an ``examples=`` strategy in ``strategies/creation.py``.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from hypothesis import strategies as st

from backend.dtypes import ALL_DTYPES, FLOAT_DTYPES, INT_DTYPES
from harness.registry.older_onnxruntime import RANGE_LENGTH_IN_FLOAT64
from harness.registry.shape import ranked
from harness.registry.spec import register
from strategies.creation import arange_examples, eye_examples, split_examples
from strategies.shapes import BroadcastShapes, concatenable_shapes, fixed_target_shapes
from strategies.values import ArrayExample

ALLOC_NEGATIVE_ZERO = ("Alloc.perform fills with np.zeros when the single fill value == 0, so -0.0 becomes +0.0 "
                       "(only on a fresh output buffer; a reused buffer keeps -0.0)")
ALLOC_BUFFER_REUSE = "whether py mode's output buffer is fresh depends on the examples run before"


def single_negative_zero(example: ArrayExample) -> bool:
    """The (first) input is a single -0.0: what Alloc fills with zeros in PyTensor's py mode."""
    value = np.asarray(example.arrays[0])
    return value.size == 1 and value.item() == 0 and bool(np.signbit(value).all())


register("scalar_from_tensor", arity=1, dtypes=ALL_DTYPES,
         build=lambda x: pt.tensor_from_scalar(pt.scalar_from_tensor(x)),
         shapes=lambda d: st.just(BroadcastShapes(((),), ())), elementwise=False, probe_ndim=0)
register("concatenate", arity=2, dtypes=ALL_DTYPES, build=lambda x, y: pt.concatenate([x, y], axis=0),
         shapes=lambda d: concatenable_shapes(), onnx_ops=("Concat",), elementwise=False)
# Structural ops that PyTensor puts into graphs of other ops or into compiled functions.
register("alloc", arity=1, dtypes=ALL_DTYPES, build=lambda x: pt.alloc(x, 2, 3),
         shapes=lambda d: fixed_target_shapes(num_shapes=1, target=(2, 3)), onnx_ops=("Expand",),
         elementwise=False).xfail(
    id="alloc-negative-zero",
    reason=ALLOC_NEGATIVE_ZERO, category="pytensor", dtypes=FLOAT_DTYPES, when=single_negative_zero,
    unpredictable=ALLOC_BUFFER_REUSE,
)


def _square_side(size: int) -> int:
    return max(2, round(size ** 0.5))


register("split", arity=2, dtypes=ALL_DTYPES, build=lambda x, sizes: pt.split(x, sizes, n_splits=3, axis=-1),
         bench_inputs=lambda d, size: [np.ones(size, d), np.array([size // 3, size // 3, size - 2 * (size // 3)])],
         input_dtypes=lambda d: (d, "int64"), probe_ndim=(1, 1), elementwise=False, onnx_ops=("Split",),
         examples=lambda d, edge_cases: split_examples(dtype=d, n_splits=3, axis=-1, edge_cases=edge_cases))
register("alloc_empty", arity=1, dtypes=ALL_DTYPES, build=lambda x: pt.empty(x.shape, dtype=x.dtype),
         values_defined=False, elementwise=False, onnx_ops=("ConstantOfShape",))
register("arange", arity=3, dtypes=ALL_DTYPES, probe_ndim=0, elementwise=False, onnx_ops=("Range",),
         bench_inputs=lambda d, size: [np.array(v).astype(d) for v in (0, min(size, np.iinfo(d).max if d in INT_DTYPES
                                                                            else size), 1)],
         examples=lambda d, edge_cases: arange_examples(dtype=d, edge_cases=edge_cases)).xfail(**RANGE_LENGTH_IN_FLOAT64)
register("eye", arity=3, dtypes=ALL_DTYPES, build=lambda n, m, k, dtype: pt.eye(n, m, k, dtype=dtype),
         dtype_kwarg=True, input_dtypes=lambda d: ("int64",) * 3, probe_ndim=0, elementwise=False,
         bench_inputs=lambda d, size: [np.array(_square_side(size)), np.array(_square_side(size)), np.array(0)],
         onnx_ops=("Range", "Equal"), examples=lambda d, edge_cases: eye_examples())


def _offsets(input_shapes):
    return st.fixed_dictionaries({"offset": st.integers(-4, 4)})


register("extract_diag", arity=1, dtypes=ALL_DTYPES, build=lambda x, offset=0: pt.diagonal(x, offset, 0, 1),
         shapes=ranked(min_dims=2), params=_offsets, probe_ndim=2, elementwise=False, onnx_ops=("GatherND",),
         bench_inputs=lambda d, size: [np.ones((_square_side(size),) * 2, d)])
# a vector onto a matrix's diagonal (AllocDiag, an OpFromGraph from PyTensor 3.0)
register("alloc_diag", arity=1, dtypes=ALL_DTYPES, build=lambda x, offset=0: pt.diag(x, offset),
         shapes=ranked(max_dims=1), params=_offsets, elementwise=False, onnx_ops=("ScatterElements",))
register("extract_diag_last_first", arity=1, dtypes=ALL_DTYPES,
         build=lambda x, offset=0: pt.diagonal(x, offset, 2, 0), shapes=ranked(min_dims=3), params=_offsets,
         probe_ndim=3, elementwise=False, onnx_ops=("GatherND", "Transpose"),
         bench_inputs=lambda d, size: [np.ones((_square_side(size), 2, _square_side(size)), d)])
