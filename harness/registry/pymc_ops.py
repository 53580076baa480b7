"""Entries for ``backend/pymc_ops.py``: the scalar ops PyMC defines itself (``i0e`` and ``i1e`` of
``pymc.distributions.dist_math``), registered only where PyMC is installed (the ``[pymc]`` extra, tox
env ``pymc``). Values as for i0/i1 (`harness.registry.special_functions.bessel_elements`).

To add one: a ``register(...)`` call with ``build=`` the PyMC op.
"""

from __future__ import annotations

from pymc.distributions.dist_math import i0e, i1e

from backend.dtypes import ALL_DTYPES
from harness.registry.spec import register
from harness.registry.special_functions.bessel import bessel_elements

# Measured against scipy's i0e/i1e (cephes, PyMC's reference) on 1e6 float64 values (log-uniform over the
# whole range, both signs, uniform over [-720, 720] and [-10, 10]): bit for bit, zero signs and NaN
# included (the same Chebyshev series in cephes' order). Bound: 2 ULP (1 for the narrower floats,
# which round the float64 result).
BOUND = {"float16": 1, "float32": 1, "float64": 2}
register("pymc_i0e", arity=1, dtypes=ALL_DTYPES, build=i0e, elements=bessel_elements, onnx_ops=("Sqrt",),
         tolerance=BOUND)
register("pymc_i1e", arity=1, dtypes=ALL_DTYPES, build=i1e, elements=bessel_elements, onnx_ops=("Sqrt",),
         tolerance=BOUND)
