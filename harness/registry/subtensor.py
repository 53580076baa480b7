"""Entries for ``backend/subtensor.py``: basic indexing (constant and symbolic slices, negative
indices), advanced indexing (integer arrays, masks) and updates through every indexing kind.

Basic entries are one ``register(...)`` call each. Indexing patterns are one `indexing_entry` call:
``indexing_entry(name, pattern, update=None|"inc"|"set")`` with a pattern such as
``("array", slice(None), "array")`` (tokens in ``strategies/indexing.py``) builds the graph, draws
in-range indices with repeats, masks, out-of-range symbolic bounds and update values that broadcast
to the selection, and makes the benchmark inputs.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor.subtensor import advanced_subtensor1

from backend.compat import AdvancedIncSubtensor1
from backend.dtypes import ALL_DTYPES
from harness.registry.shape import ranked
from harness.registry.spec import absent_entry, register
from strategies.indexing import apply_pattern, indexing_examples, pattern_input_dtypes, pattern_ndim
from strategies.shapes import broadcastable_shapes
from strategies.values import ArrayExample


def advanced_inc_subtensor1(x, y, index):
    return AdvancedIncSubtensor1()(x, y, index)


def advanced_set_subtensor1(x, y, index):
    return AdvancedIncSubtensor1(set_instead_of_inc=True)(x, y, index)


register("subtensor_reverse", arity=1, dtypes=ALL_DTYPES, build=lambda x: x[::-1], shapes=ranked(),
         onnx_ops=("Slice",), elementwise=False)
register("subtensor_negative_index", arity=1, dtypes=ALL_DTYPES, build=lambda x: x[-1],
         shapes=ranked(min_side=1), onnx_ops=("Gather",), elementwise=False)
register("subtensor_step_slice", arity=1, dtypes=ALL_DTYPES, build=lambda x: x[1::2], shapes=ranked(),
         onnx_ops=("Slice",), elementwise=False)
register("subtensor_negative_step_bounds", arity=1, dtypes=ALL_DTYPES, build=lambda x: x[..., -1:0:-2],
         shapes=ranked(), onnx_ops=("Slice",), elementwise=False)
register("subtensor_mixed", arity=1, dtypes=ALL_DTYPES, build=lambda x: x[1:, -2, ::-1],
         shapes=lambda d: broadcastable_shapes(num_shapes=1, min_dims=3, max_dims=3, min_side=2),
         onnx_ops=("Slice", "Gather"), elementwise=False, probe_ndim=3)


def indexing_entry(name, pattern, *, update=None, op=None, index_dtype="int64", max_ndim=3, index_ndim=None, **fields):
    """One entry for ``x[pattern]`` (``update``: None, "inc" or "set"; see strategies/indexing.py).
    Inputs: x, the pattern's index inputs, then the update values. ``op`` builds the node directly
    (the specialised Advanced*Subtensor1 ops that PyTensor's rewrites introduce)."""
    index_dtypes = pattern_input_dtypes(pattern, index_dtype=index_dtype)

    def build(x, *rest):
        index_inputs, values = rest[:len(index_dtypes)], rest[len(index_dtypes):]
        if op is not None:
            return op(x, *values, *index_inputs)
        selection = x[apply_pattern(pattern, index_inputs)]
        if update is None:
            return selection
        return (pt.set_subtensor if update == "set" else pt.inc_subtensor)(selection, values[0])

    probe_index_ranks = tuple(
        0 if token == "bounds" else 2 if token == "mask2" else 1 if index_ndim is None else index_ndim
        for token in pattern if isinstance(token, str) for _ in range(3 if token == "bounds" else 1))
    def bench_inputs(dtype, size):
        rng = np.random.default_rng(0)
        ndim = pattern_ndim(pattern)
        side = max(2, round(size ** (1 / ndim)))
        arrays = [np.ones((side,) * ndim, dtype)]
        for token in pattern:
            if token == "array":
                arrays.append(rng.integers(0, side, side).astype(index_dtype))
            elif token in ("mask", "mask2"):
                arrays.append(rng.integers(0, 2, (side,) * (2 if token == "mask2" else 1)).astype(bool))
            elif token == "bounds":
                arrays += [np.array(1), np.array(side), np.array(2)]
        return arrays + ([np.ones((), dtype)] if update else [])

    spec = register(
        name, arity=1 + len(index_dtypes) + (update is not None), dtypes=ALL_DTYPES, build=build,
        bench_inputs=bench_inputs,
        input_dtypes=lambda d: (d, *index_dtypes) + ((d,) if update else ()),
        examples=lambda d, edge_cases: indexing_examples(
            dtype=d, pattern=pattern, max_ndim=max_ndim, index_dtype=index_dtype, index_ndim=index_ndim,
            updates=update is not None, edge_cases=edge_cases),
        probe_ndim=(pattern_ndim(pattern), *probe_index_ranks) + ((0,) if update else ()),
        elementwise=False, **fields)
    if update == "inc":
        spec.xfail(
            id="float16-scatter-add-in-float32",
            reason="onnxruntime has no float16 ScatterElements(reduction=add), so the export accumulates in "
                   "float32 and rounds once; np.add.at rounds to float16 after every addition, which differs "
                   "when a position repeats and the float32 sum rounds differently",
            category="exporter", dtypes=("float16",), when=_float32_accumulation_differs(pattern))
        if any(token in ("array", "mask", "mask2") for token in pattern):  # advanced: PyTensor uses np.add.at
            spec.xfail(
                id="numpy-add-at-overlap",
                reason="PyTensor's reference is np.add.at, which adds wrong values when the update must be "
                       "broadcast to a multi-dimensional index (numpy 2.4: adding [1, 2] at [[0, 0], [0, 0]] "
                       "gives 3.0 for floats and garbage for integers, instead of 6); the export adds the "
                       "broadcast values",
                category="pytensor", when=_numpy_add_at_broadcast_differs(pattern))
    return spec


def _add_at_arguments(pattern, example: ArrayExample):
    """np.add.at's arguments for an inc entry's example: x, the index tuple (masks as their nonzero
    rows) and the update values, as given and broadcast to the selection."""
    x, *index_inputs, y = (np.asarray(a) for a in example.arrays)
    index = apply_pattern(pattern, [np.asarray(i) for i in index_inputs])
    flat_index = tuple(part for i in index for part in (i.nonzero() if getattr(i, "dtype", None) == np.dtype(bool) else (i,)))
    return x, flat_index, y, np.broadcast_to(y, x[index].shape).copy()


def _float32_accumulation_differs(pattern):
    def predicate(example: ArrayExample) -> bool:
        x, index, _, y_full = _add_at_arguments(pattern, example)
        stepwise, once = x.copy(), x.astype(np.float32)
        with np.errstate(all="ignore"):
            np.add.at(stepwise, index, y_full)
            np.add.at(once, index, y_full.astype(np.float32))
            once = once.astype(np.float16)
        return not np.array_equal(stepwise, once, equal_nan=True)
    return predicate


def _numpy_add_at_broadcast_differs(pattern):
    def predicate(example: ArrayExample) -> bool:
        x, index, y, y_full = _add_at_arguments(pattern, example)
        as_given, broadcast = x.copy(), x.copy()
        with np.errstate(all="ignore"):
            np.add.at(as_given, index, y)
            np.add.at(broadcast, index, y_full)
        return not np.array_equal(as_given, broadcast, equal_nan=True)
    return predicate


indexing_entry("subtensor_symbolic_bounds", ("bounds",), onnx_ops=("Slice",))
indexing_entry("subtensor_symbolic_bounds_2d", (slice(None, None, -1), "bounds"), onnx_ops=("Slice",))
indexing_entry("advanced_subtensor1", ("array",), op=advanced_subtensor1, index_ndim=1, onnx_ops=("Gather",))
indexing_entry("advanced_subtensor_take", ("array",), onnx_ops=("Gather",))
indexing_entry("advanced_subtensor_int32_index", ("array",), index_dtype="int32", onnx_ops=("Gather",))
indexing_entry("advanced_subtensor_separated", ("array", slice(None), "array"), onnx_ops=("GatherND",))
indexing_entry("advanced_subtensor_adjacent", (slice(1, None), "array", "array"), onnx_ops=("GatherND", "Transpose"))
indexing_entry("advanced_subtensor_scalar_and_array", (-1, "array"), onnx_ops=("GatherND",))
indexing_entry("advanced_subtensor_mask", ("mask2",), onnx_ops=("NonZero", "GatherND"))
indexing_entry("advanced_subtensor_mask_after_slice", (slice(None, None, -1), "mask"), onnx_ops=("NonZero", "Gather"))
indexing_entry("inc_subtensor_slices", (slice(1, None), slice(None, None, 2)), update="inc",
          onnx_ops=("ScatterElements",))
indexing_entry("set_subtensor_index", (-1,), update="set", onnx_ops=("ScatterElements",))
indexing_entry("set_subtensor_symbolic_bounds", ("bounds",), update="set", onnx_ops=("ScatterElements",))
if AdvancedIncSubtensor1 is None:
    for name in ("advanced_inc_subtensor1", "advanced_set_subtensor1"):
        absent_entry(name, reason="PyTensor 3.2 removed AdvancedIncSubtensor1 (AdvancedIncSubtensor takes its "
                                  "place; 2.38 through 3.1 have it)")
else:
    indexing_entry("advanced_inc_subtensor1", ("array",), update="inc", op=advanced_inc_subtensor1, index_ndim=1,
                   onnx_ops=("ScatterElements",))
    indexing_entry("advanced_set_subtensor1", ("array",), update="set", op=advanced_set_subtensor1, index_ndim=1,
                   onnx_ops=("ScatterElements",))
indexing_entry("advanced_inc_subtensor_take", ("array",), update="inc", onnx_ops=("ScatterElements",))
indexing_entry("advanced_set_subtensor_separated", ("array", slice(None), "array"), update="set",
          onnx_ops=("ScatterElements",))
indexing_entry("advanced_inc_subtensor_adjacent", (slice(None), "array", "array"), update="inc",
          onnx_ops=("ScatterElements",))
indexing_entry("advanced_inc_subtensor_mask", ("mask",), update="inc", onnx_ops=("NonZero", "ScatterElements"))
