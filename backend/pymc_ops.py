"""Converters for the scalar ops PyMC defines itself rather than PyTensor: ``i0e`` and ``i1e`` of
``pymc.distributions.dist_math`` (the Rice distribution's log-density and their gradients use them).
`backend` imports this module only where PyMC is installed (the ``[pymc]`` extra).

To extend: import the PyMC op class here and register a converter composed from the op family's
helpers (`backend.special_functions` for special functions).
"""

from __future__ import annotations

from pymc.distributions.dist_math import I0e, I1e

from backend.basic import onnx_funcify
from backend.numerics import float64_function
from backend.special_functions.bessel import i0e64, i1e64

onnx_funcify.register(I0e)(float64_function(i0e64))
onnx_funcify.register(I1e)(float64_function(i1e64))
