"""Entries for ``backend/compile_ops.py``: the routing ops of compiled functions (DeepCopyOp, Assert).

To add one: a ``register(...)`` call below building the op on one input.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pytensor.compile.ops import deep_copy_op
from pytensor.raise_op import Assert

from backend.dtypes import ALL_DTYPES
from harness.registry.spec import register

register("deep_copy_op", arity=1, dtypes=ALL_DTYPES, build=deep_copy_op, onnx_ops=("Identity",))
register("assert_op", arity=1, dtypes=ALL_DTYPES, build=lambda x: Assert("never fails")(x, np.array(True)),
         onnx_ops=("Identity",))
# a condition known only at run time (and true on every input): the exported check must pass every value
# through unchanged (tests/backend/test_compile_ops.py checks that it fails the run where it fails)
register("assert_symbolic_condition", arity=1, dtypes=ALL_DTYPES,
         build=lambda x: Assert("size is non-negative")(x, pt.ge(x.size, 0)), onnx_ops=("Range", "Reshape"))
