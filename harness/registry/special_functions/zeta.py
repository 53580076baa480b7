"""Entries for ``backend/special_functions/zeta.py``: polygamma.

To add one: a ``register(...)`` call with its orders drawn by ``params``.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from hypothesis import strategies as st

from backend.dtypes import ALL_DTYPES
from harness.registry.spec import register
from harness.registry.special_functions.elements import LARGE_GRAPH_CI_SHARE, large_graph_shapes
from harness.registry.special_functions.gamma import psi_scale, trigamma_elements
from strategies.values import ArrayExample


def _polygamma_orders(input_shapes):
    """The order n: psi (0), the small orders models' derivatives reach, and large ones (gamma(n + 1)
    overflows from 170 on); negative orders give NaN, and so does 127: PyTensor makes it an int8
    constant, in which n + 1 wraps to -128."""
    return st.fixed_dictionaries({"n": st.one_of(st.integers(0, 6), st.integers(-2, 300), st.sampled_from([127, 128]))})


def _polygamma_scale(example: ArrayExample) -> np.ndarray:
    """psi's cancelling terms for n = 0; the value itself otherwise (no cancellation: the head sum's
    terms share a sign for x > 0, and the Hurwitz zeta's terms are summed as scipy sums them)."""
    order = dict(example.params)["n"]
    return psi_scale(example) if order == 0 else np.zeros(np.shape(example.arrays[0]))


# Measured against scipy on 3e5 (n, x) pairs (n in -1..200, x log-uniform over 1e-10..1e12, uniform
# over [-50, 50] and -(1e-5..1e3)): n >= 1: 4 ULP for x > 0, 1 for x < 0 (the same sum, in cephes'
# order); n = 0 is psi (its bound and scale); NaN positions all agree.
register("polygamma", arity=1, dtypes=ALL_DTYPES, build=lambda x, n=2: pt.polygamma(n, x), params=_polygamma_orders,
         elements=trigamma_elements, error_scale=_polygamma_scale,
         tolerance={"float16": 1, "float32": 2, "float64": 8}, onnx_ops=("Loop", "Pow"),
         shapes=large_graph_shapes(1), ci_example_share=LARGE_GRAPH_CI_SHARE)
