"""PyTensor names that moved, appeared or went between the versions this project supports (2.38
through 3.3): each is imported here once, from where the installed PyTensor keeps it, and the rest of
the project imports it from here.

To support another move: try the newest location first and fall back to the older one, naming the
versions in a comment. An op that only some versions have is `optional_op` (None elsewhere): its
converter registers through `backend.basic.register_if_present` and its registry entry through
`harness.registry.spec.absent_entry`, which records why the entry is absent.
"""

from __future__ import annotations

import importlib

from backend.versions import ONNXRUNTIME_VERSION, PYTENSOR_VERSION


def optional_op(module: str, name: str):
    """``module.name`` where the installed PyTensor has it, else None."""
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


# Removed in later releases: Ger after 3.3.0; AdvancedSubtensor1 / AdvancedIncSubtensor1 in 3.2
# (AdvancedSubtensor takes their place); the scalar Deg2Rad / Rad2Deg in 3.2 (pt.deg2rad multiplies)
Ger = optional_op("pytensor.tensor.blas", "Ger")
# Gradient ops of PyTensor 2.38 that 3.0 writes as graphs of other ops
SoftmaxGrad = optional_op("pytensor.tensor.special", "SoftmaxGrad")
EigvalshGrad = (optional_op("pytensor.tensor.linalg", "EigvalshGrad")  # its home from 3.0
                or optional_op("pytensor.tensor.slinalg", "EigvalshGrad"))
# LU factorisations (default-mode rewrites turn a solve's gradient into LUFactor + its solves)
LU = optional_op("pytensor.tensor.linalg", "LU") or optional_op("pytensor.tensor.slinalg", "LU")
LUFactor = optional_op("pytensor.tensor.linalg", "LUFactor") or optional_op("pytensor.tensor.slinalg", "LUFactor")
PivotToPermutations = (optional_op("pytensor.tensor.linalg", "PivotToPermutations")
                       or optional_op("pytensor.tensor.slinalg", "PivotToPermutations"))
# eigh's gradient op (PyTensor 2.38; 3.0 writes the gradient as a graph of ordinary ops)
EighGrad = optional_op("pytensor.tensor.nlinalg", "EighGrad")
# block_diag's op (slinalg before 3.0)
# reshapes that join consecutive axes into one or split one into several (pytensor.tensor.reshape, 2.38+)
JoinDims = optional_op("pytensor.tensor.reshape", "JoinDims")
SplitDims = optional_op("pytensor.tensor.reshape", "SplitDims")
# Sylvester equation (an OpFromGraph of Schur forms and trsyl): linalg.solvers from 3.0, _linalg.solve in 2.38
SolveSylvester = (optional_op("pytensor.tensor.linalg.solvers.linear_control", "SolveSylvester")
                  or optional_op("pytensor.tensor._linalg.solve.linear_control", "SolveSylvester"))
# LAPACK's trsyl on Schur forms (the step SolveSylvester's OpFromGraph takes after two Schur decompositions)
TRSYL = (optional_op("pytensor.tensor.linalg.solvers.linear_control", "TRSYL")
         or optional_op("pytensor.tensor._linalg.solve.linear_control", "TRSYL"))
# LAPACK's tridiagonal LU (gttrf/gttrs), what PyTensor's rewrites make of solve(assume_a="tridiagonal")
LUFactorTridiagonal = (optional_op("pytensor.tensor.linalg.solvers.tridiagonal", "LUFactorTridiagonal")
                       or optional_op("pytensor.tensor._linalg.solve.tridiagonal", "LUFactorTridiagonal"))
SolveLUFactorTridiagonal = (optional_op("pytensor.tensor.linalg.solvers.tridiagonal", "SolveLUFactorTridiagonal")
                            or optional_op("pytensor.tensor._linalg.solve.tridiagonal", "SolveLUFactorTridiagonal"))
# the discrete algebraic Riccati equation (an OpFromGraph of QZ and LU), same modules
SolveDiscreteARE = (optional_op("pytensor.tensor.linalg.solvers.linear_control", "SolveDiscreteARE")
                    or optional_op("pytensor.tensor._linalg.solve.linear_control", "SolveDiscreteARE"))
# the real Schur and generalized Schur (QZ) decompositions: linalg from 3.0, slinalg in 2.38
Schur = optional_op("pytensor.tensor.linalg", "Schur") or optional_op("pytensor.tensor.slinalg", "Schur")
QZ = optional_op("pytensor.tensor.linalg", "QZ") or optional_op("pytensor.tensor.slinalg", "QZ")
BlockDiagonal = (optional_op("pytensor.tensor.linalg", "BlockDiagonal")
                 or optional_op("pytensor.tensor.slinalg", "BlockDiagonal"))
AdvancedSubtensor1 = optional_op("pytensor.tensor.subtensor", "AdvancedSubtensor1")
AdvancedIncSubtensor1 = optional_op("pytensor.tensor.subtensor", "AdvancedIncSubtensor1")
Deg2Rad = optional_op("pytensor.scalar", "Deg2Rad")
Rad2Deg = optional_op("pytensor.scalar", "Rad2Deg")
# Added in 3.3: the lazy IfElse that ``introduce_lazy_ifelse`` makes, and the OpFromGraphs the NUMBA
# mode's rewrites make (exported through their inner graphs, as every OpFromGraph)
LazyIfElse = optional_op("pytensor.conditional.op", "LazyIfElse")
FusedElemwise = optional_op("pytensor.tensor.rewriting.fused_elemwise", "FusedElemwise")
ScalarCAReduce = optional_op("pytensor.tensor.rewriting.scalarize", "ScalarCAReduce")
ScalarizedJoin = optional_op("pytensor.tensor.rewriting.scalarize", "ScalarizedJoin")
ScalarSubtensor = optional_op("pytensor.tensor.rewriting.scalarize", "ScalarSubtensor")

try:  # PyTensor >= 3.3: IfElse lives in pytensor.conditional (pytensor.ifelse is a deprecated shim)
    from pytensor.conditional.op import IfElse, ifelse
except ImportError:
    from pytensor.ifelse import IfElse, ifelse

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
        Lstsq,
        MatrixInverse,
        MatrixPinv,
        SLogDet,
        Solve,
        SolveTriangular,
        TensorInv,
        TensorSolve,
    )
except ImportError:  # PyTensor 2.38: numpy-style (nlinalg) and scipy-style (slinalg) modules
    from pytensor.tensor.nlinalg import (
        SVD,
        Det,
        Eig,
        Eigh,
        Lstsq,
        MatrixInverse,
        MatrixPinv,
        SLogDet,
        TensorInv,
        TensorSolve,
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


try:  # PyTensor >= 3.0 (2.38 has them in pytensor.graph.basic)
    from pytensor.graph.traversal import ancestors, graph_inputs
except ImportError:
    from pytensor.graph.basic import ancestors, graph_inputs

try:  # PyTensor >= 3.0
    from pytensor.compile.executor import Function
except ImportError:  # PyTensor 2.38
    from pytensor.compile.function.types import Function

# PyTensor 2.38 passes each slice of an advanced index as a variable (MakeSlice's output); 3.0 keeps
# slices in the op (``idx_list``)
SLICES_ARE_VARIABLES = optional_op("pytensor.tensor.subtensor", "unflatten_index_variables") is None


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
        elif isinstance(variable, Constant):  # a constant slice: its bounds as constants, like MakeSlice's
            from pytensor.tensor import constant

            bounds = (variable.data.start, variable.data.stop, variable.data.step)
            indices.append(slice(*(None if b is None else constant(int(b), dtype="int64") for b in bounds)))
        else:  # MakeSlice(start, stop, step)
            indices.append(slice(*(bound(v) for v in variable.owner.inputs)))
    return tuple(indices)


__all__ = [
    "AdvancedIncSubtensor1",
    "AdvancedSubtensor1",
    "Deg2Rad",
    "FusedElemwise",
    "Ger",
    "IfElse",
    "LazyIfElse",
    "ONNXRUNTIME_VERSION",
    "PYTENSOR_VERSION",
    "QR",
    "SLICES_ARE_VARIABLES",
    "SoftmaxGrad",
    "EigvalshGrad",
    "LU",
    "LUFactor",
    "BlockDiagonal",
    "EighGrad",
    "PivotToPermutations",
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
    "Lstsq",
    "TensorInv",
    "TensorSolve",
    "JoinDims",
    "SplitDims",
    "SolveSylvester",
    "SolveDiscreteARE",
    "LUFactorTridiagonal",
    "SolveLUFactorTridiagonal",
    "Solve",
    "SolveTriangular",
    "Rad2Deg",
    "ScalarCAReduce",
    "ScalarSubtensor",
    "ScalarizedJoin",
    "advanced_index_variables",
    "ancestors",
    "graph_inputs",
    "ifelse",
    "optional_op",
]
