"""Entries for ``backend/compile_ops.py``: the routing ops of compiled functions (DeepCopyOp, Assert).

To add one: a ``register(...)`` call below building the op on one input.
"""

from __future__ import annotations

import numpy as np
from pytensor.compile.ops import deep_copy_op
from pytensor.raise_op import Assert

from backend.dtypes import ALL_DTYPES
from harness.registry.spec import register

register("deep_copy_op", arity=1, dtypes=ALL_DTYPES, build=deep_copy_op, onnx_ops=("Identity",))
register("assert_op", arity=1, dtypes=ALL_DTYPES, build=lambda x: Assert("never fails")(x, np.array(True)),
         onnx_ops=("Identity",))
