"""PyTensor names that moved between the versions this project supports (2.38 through 3.0): each is
imported here once, from where the installed PyTensor keeps it, and the rest of the project imports
it from here.

To support another move: try the newest location first and fall back to the older one, naming the
versions in a comment.
"""

from __future__ import annotations


def _release(distribution: str) -> tuple[int, int]:
    from importlib.metadata import version

    return tuple(int(part) for part in version(distribution).split(".")[:2])


PYTENSOR_VERSION = _release("pytensor")
"""(major, minor) of the installed PyTensor, for declarations that hold on some versions only."""

ONNXRUNTIME_VERSION = _release("onnxruntime")
"""(major, minor) of the installed onnxruntime (read without importing it), for kernels and
declarations that differ between releases."""

try:  # PyTensor >= 3.0: one linalg package
    from pytensor.tensor.linalg import (
        QR,
        SVD,
        Cholesky,
        CholeskySolve,
        Det,
        Eig,
        Eigh,
        Eigvalsh,
        Expm,
        MatrixInverse,
        MatrixPinv,
        SLogDet,
        Solve,
        SolveTriangular,
    )
except ImportError:  # PyTensor 2.38: numpy-style (nlinalg) and scipy-style (slinalg) modules
    from pytensor.tensor.nlinalg import (
        SVD,
        Det,
        Eig,
        Eigh,
        MatrixInverse,
        MatrixPinv,
        SLogDet,
    )
    from pytensor.tensor.slinalg import (
        QR,
        Cholesky,
        CholeskySolve,
        Eigvalsh,
        Expm,
        Solve,
        SolveTriangular,
    )


try:  # PyTensor >= 3.0
    from pytensor.compile.executor import Function
except ImportError:  # PyTensor 2.38
    from pytensor.compile.function.types import Function

# PyTensor 2.38 passes each slice of an advanced index as a variable (MakeSlice's output); 3.0 keeps
# slices in the op (``idx_list``)
try:
    from pytensor.tensor.subtensor import unflatten_index_variables as _unflatten
    SLICES_ARE_VARIABLES = False
except ImportError:
    SLICES_ARE_VARIABLES = True


def advanced_index_variables(op, index_inputs) -> tuple:
    """The indices of an Advanced(Inc)Subtensor node as ``x[...]`` spells them: variables, and Python
    slices of variables (or None). PyTensor 3.0 keeps slices in ``op.idx_list`` over flat inputs;
    2.38 passes each slice as a variable of its own (a constant slice, or ``MakeSlice``'s output)."""
    if hasattr(op, "idx_list"):
        from pytensor.tensor.subtensor import unflatten_index_variables

        return unflatten_index_variables(index_inputs, op.idx_list)
    from pytensor.graph.basic import Constant
    from pytensor.tensor.type_other import NoneTypeT, SliceType

    def bound(variable):
        return None if variable is None or isinstance(variable.type, NoneTypeT) else variable

    indices = []
    for variable in index_inputs:
        if not isinstance(variable.type, SliceType):
            indices.append(variable)
        elif isinstance(variable, Constant):
            indices.append(variable.data)
        else:  # MakeSlice(start, stop, step)
            indices.append(slice(*(bound(v) for v in variable.owner.inputs)))
    return tuple(indices)


__all__ = [
    "ONNXRUNTIME_VERSION",
    "PYTENSOR_VERSION",
    "QR",
    "SLICES_ARE_VARIABLES",
    "SVD",
    "Cholesky",
    "CholeskySolve",
    "Det",
    "Eig",
    "Eigh",
    "Eigvalsh",
    "Expm",
    "Function",
    "MatrixInverse",
    "MatrixPinv",
    "SLogDet",
    "Solve",
    "SolveTriangular",
    "advanced_index_variables",
]
