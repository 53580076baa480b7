"""Entries for ``backend/special_functions/erf.py``: erf, erfc, erfcx, erfinv, erfcinv.

To add one: a ``register(...)`` call with the bound measured against scipy.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from backend.dtypes import ALL_DTYPES, FLOAT_DTYPES
from harness.registry.spec import TRANSCENDENTAL, register
from harness.registry.special_functions.elements import LARGE_GRAPH_CI_SHARE, large_graph_shapes, nudged_landmarks
from strategies.values import element_values

# ---- the error function family (cephes' rational functions; Newton's method for the inverses) ----
# Measured against scipy (2e6 values per range; uniform over [-6, 6], [-27, 27], [1, 60], [0, 1] and
# log-uniform over the whole range, both signs): float64 erf 1 ULP, erfc 4, erfcx 18 (near x = 1,
# where exp(x^2) (1 - erf(x)) cancels; 9 elsewhere), erfinv and erfcinv 8 (near x = 1, where cephes'
# erf itself is a few ULP from boost's, 99.99% within 6, also within 1e-16 of +-1 and down to 1e-300);
# NaN, inf and zero signs all agree. float32: scipy's erfinv loop computes in float (3 ULP from the
# double result); the others round the double result. float16/float32 erf is onnxruntime's Erf kernel.
register("erf", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Div",), tolerance=TRANSCENDENTAL)
register("erfc", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Exp", "Div"), tolerance={**TRANSCENDENTAL, "float64": 6})
register("erfcx", arity=1, dtypes=ALL_DTYPES, onnx_ops=("Exp", "Div"), tolerance={**TRANSCENDENTAL, "float64": 24})
INVERSE_ERF_LANDMARKS = (-1.0, -0.5, -0.0, 0.0, 0.5, 0.8427007929497149, 1.0, 1.5, 2.0)


def _inverse_erf_elements(low: float, high: float):
    """Elements for erfinv (domain [-1, 1]) and erfcinv ([0, 2]): the full-range floats (mostly
    outside the domain: NaN), the domain uniformly, its ends approached from inside, and the
    branch points of the composition."""
    def elements(dtype: str):
        if dtype not in FLOAT_DTYPES:
            return [element_values(dtype)]
        t = np.dtype(dtype).type
        domain = hnp.from_dtype(np.dtype(dtype), min_value=low, max_value=high, allow_nan=False,
                                allow_infinity=False)
        # end points approached from inside: high - 10**-k and low + 10**-k
        ends = st.tuples(st.sampled_from([low, high]), st.floats(-320.0, 0.0)).map(
            lambda p: t(p[0] + 10.0 ** p[1] if p[0] == low else p[0] - 10.0 ** p[1]))
        return [st.one_of(element_values(dtype), domain, ends, nudged_landmarks(dtype, INVERSE_ERF_LANDMARKS))]
    return elements


register("erfinv", arity=1, dtypes=ALL_DTYPES, elements=_inverse_erf_elements(-1.0, 1.0), onnx_ops=("Log", "Exp"),
         tolerance={"float16": 1, "float32": 4, "float64": 12}, shapes=large_graph_shapes(1),
         ci_example_share=LARGE_GRAPH_CI_SHARE)
register("erfcinv", arity=1, dtypes=ALL_DTYPES, elements=_inverse_erf_elements(0.0, 2.0), onnx_ops=("Log", "Exp"),
         tolerance={"float16": 1, "float32": 1, "float64": 12}, shapes=large_graph_shapes(1),
         ci_example_share=LARGE_GRAPH_CI_SHARE)
