"""Entries for ``backend/blockwise.py``: Blockwise ops, above all Matmul (``x @ y``) with batch
dimensions that broadcast, vector operands, empty batches and empty contractions.

To add one: a ``register(...)`` call below whose graph builds the Blockwise (``pytensor.tensor``
functions such as ``matmul``, or ``pytensor.tensor.vectorize``); batched operand shapes come from
``strategies/shapes.py``.
"""

from __future__ import annotations

import numpy as np

from backend.dtypes import ALL_DTYPES, FLOAT_DTYPES
from harness.registry.math import (
    EMPTY_CONTRACTION,
    OVERFLOW_ORDER,
    OVERFLOW_ORDER_UNPREDICTABLE,
    empty_contraction_into_values,
    overflow_depends_on_order,
)
from harness.registry.older_onnxruntime import EMPTY_MATMUL
from harness.registry.spec import REDUCTION, register
from strategies.shapes import matmul_batch_shapes


def _batched_operands(dtype: str, size: int) -> list[np.ndarray]:
    """About ``size`` elements per operand: a batch of 8 square matrices."""
    side = max(1, round((size / 8) ** 0.5))
    return [np.ones((8, side, side), dtype), np.ones((8, side, side), dtype)]


# The sign of a zero product depends on the order and start of the accumulation, as for dot.
# Vector operands too: the shapes follow numpy's (n?,k),(k,m?) signature, and PyTensor wraps the
# Blockwise in ExpandDims/Squeeze for them.
register("matmul", arity=2, dtypes=ALL_DTYPES, shapes=lambda d: matmul_batch_shapes(), onnx_ops=("MatMul",),
         elementwise=False, tolerance=REDUCTION, probe_ndim=3, signed_zeros=False,
         bench_inputs=_batched_operands).xfail(
    id="empty-contraction",
    reason=EMPTY_CONTRACTION, category="onnxruntime-kernel", dtypes=("uint32", "uint64"),
    when=empty_contraction_into_values,
).xfail(
    id="overflow-order",
    reason=OVERFLOW_ORDER, category="onnxruntime-kernel", dtypes=FLOAT_DTYPES, when=overflow_depends_on_order,
    unpredictable=OVERFLOW_ORDER_UNPREDICTABLE,
).xfail(**EMPTY_MATMUL)
