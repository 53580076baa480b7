"""What the special-function entries share: the value strategies with landmark points (poles, zeros, method
borders) and the shapes of entries whose graphs are large.

To add one: a strategy or shape helper used by more than one family module.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from backend.dtypes import FLOAT_DTYPES
from strategies.shapes import few_signature_shapes
from strategies.values import ArrayExample, element_values

# Each static input shape exports and loads a new graph: ~0.5 s for the incomplete gamma functions'
# ~2,000 nodes with Loops, 30x a small op's. These entries draw shapes in three patterns
# (`few_signature_shapes`: long vectors, scalars, an outer broadcast), so that a cell compiles about
# three graphs and its examples test values, and get a quarter of the ci examples (nightly: all).
LARGE_GRAPH_CI_SHARE = 1 / 4


def large_graph_shapes(arity: int):
    """The ``shapes=`` of an entry with a large graph: see `few_signature_shapes`."""
    return lambda dtype: few_signature_shapes(num_shapes=arity)


def float64_arguments(example: ArrayExample) -> list[np.ndarray]:
    """The example's inputs in float64, broadcast against each other (what the declarations' predicates
    and scales evaluate scipy and numpy on)."""
    return np.broadcast_arrays(*(np.asarray(v, np.float64) for v in example.arrays))


# poles, zeros and branch points of gammaln/psi (in every float dtype they round to)
LANDMARKS = (0.0, -0.0, 1.0, 2.0, 1.4616321449683622, -0.5, -1.0, -2.0, -2.4570247, 0.5, 9.5, 10.0, 10.5, -34.5,
             171.624376956302725)


def landmark_elements(dtype: str):
    """Values near the landmarks and a dense band [-40, 40], mixed with the full-range values."""
    if dtype not in FLOAT_DTYPES:
        return [element_values(dtype)]
    t = np.dtype(dtype).type
    landmarks = st.sampled_from([t(v) for v in LANDMARKS])
    nudged = st.tuples(landmarks, st.integers(-3, 3)).map(lambda p: np.nextafter(p[0], t(np.inf) * np.sign(p[1]))
                                                          if p[1] else p[0]).map(t)
    band = hnp.from_dtype(np.dtype(dtype), min_value=-40.0, max_value=40.0, allow_nan=False, allow_infinity=False)
    return [st.one_of(element_values(dtype), landmarks, nudged, band)]


def nudged_landmarks(dtype: str, landmarks):
    """The landmarks in ``dtype`` and up to 3 ULP either side."""
    t = np.dtype(dtype).type
    points = st.sampled_from([t(v) for v in landmarks])
    return st.tuples(points, st.integers(-3, 3)).map(
        lambda p: t(np.nextafter(p[0], t(np.inf) * np.sign(p[1])) if p[1] else p[0]))
