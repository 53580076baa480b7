"""Entries for ``backend/math.py``: matrix products (numpy's dot for 1-d and 2-d operands).

To add one: a ``register(...)`` call below; operand shapes come from ``strategies/shapes.py``.
"""

from __future__ import annotations

from backend.dtypes import ALL_DTYPES
from harness.registry.spec import REDUCTION, register
from strategies.shapes import matmul_shapes
from strategies.values import ArrayExample


def _empty_contraction(example: ArrayExample) -> bool:
    a, _ = example.shapes
    return a[-1] == 0


# The sign of a zero dot product depends on the order and start of the accumulation (BLAS vs MLAS).
register("dot", arity=2, dtypes=ALL_DTYPES, shapes=lambda d: matmul_shapes(), onnx_ops=("MatMul",),
         elementwise=False, tolerance=REDUCTION, probe_ndim=2, signed_zeros=False).xfail(
    reason="onnxruntime's uint32/uint64 MatMul fails ('Tensor::MutableData') when the contracted "
           "dimension is 0, where numpy returns zeros",
    category="onnxruntime-kernel", dtypes=("uint32", "uint64"), when=_empty_contraction,
)
