"""Entries for ``backend/ifelse.py``: IfElse exported as an ONNX If — conditions of every dtype
(truthy like Python's bool of a 0-d array, NaN included), several outputs, branches of different
shapes and cost, one branch whose work is only done when taken, and an IfElse nested in another.

To add one: a ``register(...)`` call below whose ``build`` calls ``ifelse`` (``backend.compat``: pytensor.conditional or pytensor.ifelse).
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from backend.compat import LazyIfElse, ifelse
from backend.dtypes import ALL_DTYPES, NUMERIC_DTYPES
from harness.registry.builders import NUMPY_EXP_OF_BOOL, numba_rewritten
from harness.registry.quirks import FLOAT16_CHAIN, float16_chain_differs
from harness.registry.spec import TRANSCENDENTAL, absent_entry, register
from strategies.shapes import template_shapes


def _swap(condition, x, y):
    """Two outputs; the branches give vectors of different lengths."""
    return ifelse(condition, [x, y], [y, x])


def _uneven_branches(condition, x, y):
    """The branch taken when the condition is true does more work (a dot product scaling a
    vector), the other only reads an element. At most three terms are summed, in the same order by
    numpy and onnxruntime, so the result is exact."""
    return ifelse(condition, pt.sum(x * y, keepdims=True, dtype=x.dtype) * x, x[:1])


def _float16_uneven_branches_in_numpy(condition, x, y):
    """`_uneven_branches` on float16 arrays: the sum accumulates in float32 and is rounded to float16
    (as PyTensor's sum does, and onnxruntime keeps that rounding); only the product before it may
    skip its rounding."""
    if not bool(condition):
        return x[:1]
    return (x * y).astype(np.float32).sum(keepdims=True).astype(np.float16) * x


def _nested(condition, x, y):
    return ifelse(condition, ifelse(pt.lt(condition, 1), x + x, x - y), y)


register("ifelse_swap", arity=3, dtypes=ALL_DTYPES, build=_swap, probe_ndim=(0, 1, 1),
         shapes=lambda d: template_shapes("", "n", "m", sizes={"n": (0, 3), "m": (0, 3)}), elementwise=False,
         onnx_ops=("If",))
register("ifelse_uneven_branches", arity=3, dtypes=ALL_DTYPES, build=_uneven_branches, probe_ndim=(0, 1, 1),
         shapes=lambda d: template_shapes("", "n", "n", sizes={"n": (1, 3)}), elementwise=False,
         onnx_ops=("If",)).xfail(
    id="float16-chain",
    reason=FLOAT16_CHAIN, category="onnxruntime-kernel", dtypes=("float16",),
    when=float16_chain_differs(_float16_uneven_branches_in_numpy),
)
register("ifelse_nested", arity=3, dtypes=NUMERIC_DTYPES, build=_nested, probe_ndim=(0, 1, 1),
         shapes=lambda d: template_shapes("", "n", "n", sizes={"n": (0, 3)}), elementwise=False, onnx_ops=("If",))


def _branches_of_work(condition, x, y):
    """Each branch computes something of its own from the shared inputs (the rewrite moves that work
    into the branch's OpFromGraph)."""
    return ifelse(condition, pt.exp(x) * y, pt.log(y) + x)


def taken_exp_of_true(example) -> bool:
    """The condition holds and some exp(x) * y of bools is exp(True) * True."""
    condition, x, y = (np.asarray(a) for a in example.arrays)
    return bool(condition) and bool(np.any(x & y))


if LazyIfElse is None:
    absent_entry("lazy_ifelse", reason="LazyIfElse is made by PyTensor 3.3's introduce_lazy_ifelse rewrite "
                                       "(releases before 3.3 have no such op)")
else:
    register("lazy_ifelse", arity=3, dtypes=ALL_DTYPES, build=numba_rewritten(_branches_of_work),
             probe_ndim=(0, 1, 1), shapes=lambda d: template_shapes("", "n", "n", sizes={"n": (0, 3)}),
             elementwise=False, tolerance=TRANSCENDENTAL, onnx_ops=("If",)).xfail(
        id="numpy-exp-of-bool",
        reason=NUMPY_EXP_OF_BOOL, category="pytensor", dtypes=("bool",),
        when=taken_exp_of_true).xfail(
        id="float16-chain",
        reason=FLOAT16_CHAIN, category="onnxruntime-kernel", dtypes=("float16",),
        when=float16_chain_differs(lambda c, x, y: np.where(c, np.exp(x) * y, np.log(y) + x),
                                   beyond_ulps=TRANSCENDENTAL["float16"]))
