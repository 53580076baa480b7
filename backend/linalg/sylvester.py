"""The Sylvester equation ``A X + X B = Q`` and the Lyapunov solvers PyTensor builds on it.

PyTensor's `SolveSylvester` is an OpFromGraph of two real Schur decompositions and LAPACK's ``trsyl``
(Bartels-Stewart); ``solve_continuous_lyapunov`` is ``solve_sylvester(A, A^T, Q)`` and the bilinear
``solve_discrete_lyapunov`` an OpFromGraph of solves around it, so all three export through the one
converter here (the OpFromGraphs around it are inlined, `backend.builders`).

The solution of the equation is unique whenever A and -B share no eigenvalue, whatever method finds
it, so the export solves the same linear system in its Kronecker form instead of computing Schur forms
(which the export has no composition for): with X and Q flattened row by row (numpy's reshape),

    (A (x) I_n + I_m (x) B^T) vec(X) = vec(Q),

an ``mn x mn`` system solved by Gaussian elimination with partial pivoting (`backend.linalg.solve`),
unrolled for ``mn <= UNROLLED_SIZE``. The rounding differs from trsyl's: the registry bounds the
difference by the condition number of the Kronecker matrix. Where A and -B share an eigenvalue
(the system is singular) trsyl perturbs the problem and returns a solution; the export returns NaN
for an exactly zero pivot, else what elimination gives.

To extend: another solver with a unique solution expressible as a linear system goes here; one that
needs the Schur vectors themselves cannot (`backend.linalg.declined`).
"""

from __future__ import annotations

from backend.basic import onnx_funcify
from backend.compat import SolveSylvester
from backend.dtypes import ONNXExportUnsupported
from backend.helpers import dtype_of
from backend.linalg.helpers import axis_size, identity, solve_operands, swap_last_axes
from backend.linalg.solve import lu_solve


def sylvester_solve(ctx, a, b, q, dtype: str):
    """X (m x n) with A X + X B = Q for A (m x m), B (n x n), Q (m x n), through the Kronecker system."""
    m, n = axis_size(ctx, a, 0), axis_size(ctx, b, 0)
    mn = ctx.op.Unsqueeze(ctx.op.Mul(m, n), ctx.constant([0], "int64"))
    corners = ctx.constant([1, 3], "int64")  # (i, j, k, l): row (i, j) and column (k, l) of the system
    edges = ctx.constant([0, 2], "int64")
    # A[i, k] delta(j, l) + delta(i, k) B[l, j]
    system = ctx.op.Add(ctx.op.Mul(ctx.op.Unsqueeze(a, corners), ctx.op.Unsqueeze(identity(ctx, n, dtype), edges)),
                        ctx.op.Mul(ctx.op.Unsqueeze(identity(ctx, m, dtype), corners),
                                   ctx.op.Unsqueeze(swap_last_axes(ctx, b, 2), edges)))
    system = ctx.op.Reshape(system, ctx.op.Concat(mn, mn, axis=0), allowzero=1)
    rhs = ctx.op.Reshape(q, ctx.op.Concat(mn, ctx.constant([1], "int64"), axis=0), allowzero=1)
    solution = lu_solve(ctx, system, rhs, dtype, 2)
    return ctx.op.Reshape(solution, ctx.op.Shape(q), allowzero=1)


if SolveSylvester is not None:
    @onnx_funcify.register(SolveSylvester)
    def onnx_funcify_SolveSylvester(op, node, ctx, inputs):
        if dtype_of(node.outputs[0]) not in ("float32", "float64"):
            raise ONNXExportUnsupported(
                f"{op}: PyTensor types the solution {dtype_of(node.outputs[0])} (its inputs' dtype, PyTensor 2.38) "
                "although it is fractional, and returns floats; PyTensor 3.0 and later type it float")
        (a, b, q), dtype = solve_operands(ctx, node, inputs)
        return [sylvester_solve(ctx, a, b, q, dtype)]
