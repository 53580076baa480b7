"""Special functions of ``pytensor.scalar.math`` that ONNX lacks, composed in float64 the way
PyTensor's reference (scipy.special: cephes, Boost, AMOS) evaluates them, and cast to the output dtype.
One module per family; importing this package registers every converter. How each function is
composed, its methods by region and its error conventions: ``docs/special_functions.md``.

To add a function: a converter in the module of its family (or a new module imported below), built
from the float64 blocks of `backend.numerics`; its registry entry, bound and declarations in
``harness/registry/special_functions/``.
"""

from backend.special_functions import (  # noqa: F401  (registration happens on import)
    bessel,
    erf,
    gamma,
    incomplete_beta,
    incomplete_gamma,
    zeta,
)
