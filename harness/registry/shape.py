"""Entries for ``backend/shape.py``: Shape, Shape_i, Reshape, JoinDims, SplitDims, SpecifyShape,
DimShuffle (transpose, expand, drop).

To add one: a ``register(...)`` call below with ``elementwise=False`` and the input ranks it needs.
"""

from __future__ import annotations

import pytensor.tensor as pt
from pytensor.tensor.reshape import join_dims, split_dims
from pytensor.tensor.shape import Shape_i

from backend.dtypes import ALL_DTYPES
from harness.registry.spec import register
from strategies.shapes import broadcastable_shapes


def ranked(min_dims=1, min_side=0, max_dims=4):
    """``shapes`` for one input of rank ``min_dims``..``max_dims`` with sides >= ``min_side``."""
    return lambda d: broadcastable_shapes(num_shapes=1, min_dims=min_dims, max_dims=max_dims, min_side=min_side)


register("shape", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Shape",), elementwise=False)
register("shape_i", arity=1, dtypes=ALL_DTYPES, build=lambda x: Shape_i(0)(x), shapes=ranked(),
         onnx_ops=("Shape", "Squeeze"), elementwise=False)
register("reshape_flatten", arity=1, dtypes=ALL_DTYPES, build=lambda x: x.reshape((-1,)), onnx_ops=("Reshape",),
         elementwise=False)
register("reshape_keep_first", arity=1, dtypes=ALL_DTYPES, build=lambda x: x.reshape((x.shape[0], -1)),
         shapes=ranked(min_side=1), onnx_ops=("Reshape", "Concat"), elementwise=False)
register("specify_shape", arity=1, dtypes=ALL_DTYPES, build=lambda x: pt.specify_shape(x, x.shape),
         elementwise=False)
register("dimshuffle_transpose_expand", arity=1, dtypes=ALL_DTYPES,
         build=lambda x: x.dimshuffle(["x", *reversed(range(x.ndim))]), onnx_ops=("Unsqueeze",),
         elementwise=False)
register("squeeze", arity=1, dtypes=ALL_DTYPES, build=pt.squeeze, elementwise=False)  # DimShuffle drop form
# join_dims / split_dims (what solve_discrete_lyapunov's direct method and vectorised graphs use); the
# split shape comes from the input's own axis so that every drawn shape (0-size included) is valid
register("join_dims", arity=1, dtypes=ALL_DTYPES, build=lambda x: join_dims(x, start_axis=1, n_axes=2),
         shapes=ranked(min_dims=3), onnx_ops=("Reshape", "ReduceProd"), elementwise=False, probe_ndim=3)
register("join_dims_new_axis", arity=1, dtypes=ALL_DTYPES, build=lambda x: join_dims(x, start_axis=1, n_axes=0),
         shapes=ranked(min_dims=1), onnx_ops=("Reshape",), elementwise=False)
register("split_dims", arity=1, dtypes=ALL_DTYPES,
         build=lambda x: split_dims(x, (1, x.shape[-1], 1), axis=x.ndim - 1),
         shapes=ranked(min_dims=1), onnx_ops=("Reshape",), elementwise=False)
