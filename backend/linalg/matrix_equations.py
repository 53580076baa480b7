"""Matrix equations: the Sylvester equation ``A X + X B = Q``, the Lyapunov solvers PyTensor builds on
it, and the discrete algebraic Riccati equation.

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

The discrete algebraic Riccati equation ``A^T X A - X - A^T X B (R + B^T X B)^-1 B^T X A + Q = 0``:
PyTensor (as scipy) takes the stable invariant subspace of a symplectic pencil from an ordered QZ
decomposition; the export computes the same stabilizing solution by the structure-preserving doubling
algorithm (Chu, Fan and Lin 2005), which converges quadratically where that solution exists:

    A_0 = A, G_0 = B R^-1 B^T, H_0 = Q;  W = I + G_k H_k,
    A_k+1 = A_k W^-1 A_k,  G_k+1 = G_k + A_k W^-1 G_k A_k^T,  H_k+1 = H_k + A_k^T H_k W^-1 A_k,

until H stops changing (at most `RICCATI_MAX_STEPS` steps, a Loop), X = (H + H^T) / 2 as PyTensor
symmetrizes. Where PyTensor's solution fails its symmetry check it returns NaN; the export returns what
the iteration reached.

trsyl itself (``TRSYL``, the step of SolveSylvester's inner graph after its two Schur decompositions,
which `backend.linalg.schur` exports) solves the same system on its quasi-triangular operands.

To extend: another solver with a unique solution expressible through linear systems goes here.
"""

from __future__ import annotations

from backend.basic import onnx_funcify
from backend.compat import TRSYL, SolveDiscreteARE, SolveSylvester
from backend.dtypes import ONNXExportUnsupported
from backend.helpers import dtype_of, loop
from backend.linalg.helpers import axis_size, identity, index_range, solve_operands, swap_last_axes
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


if TRSYL is not None:
    @onnx_funcify.register(TRSYL)
    def onnx_funcify_TRSYL(op, node, ctx, inputs):
        """trsyl's A X + X B = C for A and B in real Schur form (what SolveSylvester's inner graph gives it, and
        what the export now computes too): the same Kronecker system on their quasi-triangular parts, the
        entries below the subdiagonal that trsyl does not read set to 0."""
        (a, b, c), dtype = solve_operands(ctx, node, inputs)

        def quasi_triangular(x):
            n = axis_size(ctx, x, 0)
            rows = ctx.op.Unsqueeze(index_range(ctx, n), ctx.constant([1], "int64"))
            read = ctx.op.LessOrEqual(rows, ctx.op.Add(index_range(ctx, n), ctx.constant(1, "int64")))
            return ctx.op.Where(read, x, ctx.constant(0.0, dtype))

        return [sylvester_solve(ctx, quasi_triangular(a), quasi_triangular(b), c, dtype)]


RICCATI_MAX_STEPS = 64
"""Doubling steps at most: the error squares every step, so a solvable equation converges in far fewer."""


def _largest_magnitude(ctx, x):
    """max |x| over all entries, 0 for an empty x (0-d)."""
    flat = ctx.op.Reshape(ctx.op.Abs(x), ctx.constant([-1], "int64"))
    return ctx.op.ReduceMax(ctx.op.Concat(flat, ctx.op.CastLike(ctx.constant([0.0], "float64"), x), axis=0), keepdims=0)


def discrete_riccati(ctx, a, b, q, r, dtype: str):
    """The stabilizing X of the discrete algebraic Riccati equation by structure-preserving doubling."""
    m = axis_size(ctx, a, 0)
    eye = identity(ctx, m, dtype)
    g = ctx.op.MatMul(b, lu_solve(ctx, r, swap_last_axes(ctx, b, 2), dtype, 2))
    columns = ctx.op.Unsqueeze(m, ctx.constant([0], "int64"))
    zero, twice = ctx.constant([0], "int64"), ctx.op.Add(columns, columns)
    epsilon = ctx.constant(2.0**-52, dtype)

    def step(body, _, values):
        a_k, g_k, h_k, _ = values
        w = body.op.Add(eye, body.op.MatMul(g_k, h_k))
        solved = lu_solve(body, w, body.op.Concat(a_k, g_k, axis=1), dtype, 2)  # W^-1 [A_k, G_k]
        w_a = body.op.Slice(solved, zero, columns, ctx.constant([1], "int64"))
        w_g = body.op.Slice(solved, columns, twice, ctx.constant([1], "int64"))
        a_t = swap_last_axes(body, a_k, 2)
        h_next = body.op.Add(h_k, body.op.MatMul(body.op.MatMul(a_t, h_k), w_a))
        converged = body.op.LessOrEqual(_largest_magnitude(body, body.op.Sub(h_next, h_k)),
                                        body.op.Mul(epsilon, _largest_magnitude(body, h_next)))
        return [body.op.MatMul(a_k, w_a), body.op.Add(g_k, body.op.MatMul(body.op.MatMul(a_k, w_g), a_t)), h_next,
                converged]

    _, _, h, _ = loop(ctx, ctx.constant(RICCATI_MAX_STEPS, "int64"),
                      [(a, dtype, 2), (g, dtype, 2), (q, dtype, 2), (ctx.constant(False, "bool"), "bool", 0)],
                      step, "riccati_doubling", keep_going=lambda body, values: body.op.Not(values[3]))
    return ctx.op.Mul(ctx.constant(0.5, dtype), ctx.op.Add(h, swap_last_axes(ctx, h, 2)))


if SolveDiscreteARE is not None:
    @onnx_funcify.register(SolveDiscreteARE)
    def onnx_funcify_SolveDiscreteARE(op, node, ctx, inputs):
        (a, b, q, r), dtype = solve_operands(ctx, node, inputs)
        return [discrete_riccati(ctx, a, b, q, r, dtype)]
