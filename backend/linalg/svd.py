"""SVD with its singular vectors: one-sided Jacobi (`backend.linalg.jacobi`) on the tall orientation
of A gives B = A V with orthogonal columns b_j = sigma_j u_j and the accumulated rotations V; the
singular values are |b_j| (descending), U's columns b_j / sigma_j. The reduced factor is completed to
a square orthogonal one with the Householder Q (`backend.linalg.qr`) of it, whose zero columns
(sigma_j = 0, sorted last) then become basis vectors orthogonal to the rest; ``full_matrices=False``
keeps its first k columns.

The vectors' signs are Jacobi's, not LAPACK's (and a repeated singular value's vectors are any basis of
their space): the registry judges what the SVD defines, the values, U diag(s) V^T = A, U^T U = I and
V^T V = I.

To extend: another decomposition built on the same Jacobi factors goes here.
"""

from __future__ import annotations

from backend.basic import onnx_funcify
from backend.compat import SVD
from backend.linalg.helpers import solve_operands, swap_last_axes
from backend.linalg.jacobi import if_then_else, singular_value_factors, sorted_values
from backend.linalg.qr import householder_qr


def _columns_in_order(ctx, x, order):
    """x's columns (last axis) taken in ``order`` (..., k)."""
    indices = ctx.op.Expand(ctx.op.Unsqueeze(order, ctx.constant([-2], "int64")), ctx.op.Shape(x))
    return ctx.op.GatherElements(x, indices, axis=-1)


def _completed(ctx, reduced, dtype, ndim):
    """A square orthogonal matrix whose leading columns are ``reduced``'s nonzero ones: the Householder
    Q of ``reduced`` (zero columns last), each of its leading columns given the sign that makes it the
    column of ``reduced`` it spans (R's diagonal is +-1 there)."""
    work, _, q = householder_qr(ctx, reduced, dtype, ndim)
    rows, columns = (ctx.op.Squeeze(ctx.op.Gather(ctx.op.Shape(reduced), ctx.constant([axis], "int64")),
                                    ctx.constant([0], "int64")) for axis in (ndim - 2, ndim - 1))
    positions = ctx.op.Range(ctx.constant(0, "int64"), rows, ctx.constant(1, "int64"))
    k_positions = ctx.op.Range(ctx.constant(0, "int64"), columns, ctx.constant(1, "int64"))
    on_diagonal = ctx.op.Equal(ctx.op.Unsqueeze(positions, ctx.constant([1], "int64")), k_positions)
    zero = ctx.constant(0.0, dtype)
    r_diagonal = ctx.op.ReduceSum(ctx.op.Where(on_diagonal, work, zero), ctx.constant([-2], "int64"), keepdims=0)
    signs = ctx.op.Where(ctx.op.Less(r_diagonal, zero), ctx.constant(-1.0, dtype), ctx.constant(1.0, dtype))
    # the columns past k keep Q's sign: pad the signs with 1 at the end of the last axis
    pads = ctx.op.Concat(ctx.constant([0] * (2 * (ndim - 1) - 1), "int64"),
                         ctx.op.Unsqueeze(ctx.op.Sub(rows, columns), ctx.constant([0], "int64")), axis=0)
    signs = ctx.op.Pad(signs, pads, ctx.constant(1.0, dtype))
    return ctx.op.Mul(q, ctx.op.Unsqueeze(signs, ctx.constant([-2], "int64")))


@onnx_funcify.register(SVD)
def onnx_funcify_SVD(op, node, ctx, inputs):
    (a,), dtype = solve_operands(ctx, node, inputs)
    ndim = node.inputs[0].type.ndim
    (columns, rotations), scale, wide, k = singular_value_factors(ctx, a, dtype, ndim, accumulate=True)
    norms = ctx.op.Sqrt(ctx.op.ReduceSumSquare(columns, ctx.constant([-2], "int64"), keepdims=0))
    scale_vector = ctx.op.Squeeze(scale, ctx.constant([-1], "int64"))
    if not op.compute_uv:
        return [ctx.op.Mul(sorted_values(ctx, norms, k, descending=True), scale_vector)]
    values, order = ctx.op.TopK(norms, ctx.op.Unsqueeze(k, ctx.constant([0], "int64")), axis=-1, largest=1,
                                sorted=1, n_outputs=2)
    b, v = _columns_in_order(ctx, columns, order), _columns_in_order(ctx, rotations, order)
    zero = ctx.constant(0.0, dtype)
    nonzero = ctx.op.Unsqueeze(ctx.op.Greater(values, zero), ctx.constant([-2], "int64"))
    unit = ctx.op.Where(nonzero, ctx.op.Div(b, ctx.op.Unsqueeze(ctx.op.Where(ctx.op.Greater(values, zero), values,
                                                                             ctx.constant(1.0, dtype)),
                                                                ctx.constant([-2], "int64"))), zero)
    # a zero singular value's column is completed too (LAPACK's U is orthogonal also then); the reduced
    # factor keeps the first k columns
    unit = _completed(ctx, unit, dtype, ndim)
    if not op.full_matrices:
        unit = ctx.op.Slice(unit, ctx.constant([0], "int64"), ctx.op.Unsqueeze(k, ctx.constant([0], "int64")),
                            ctx.constant([-1], "int64"))
    # tall A: A = unit diag(s) v^T; wide A (A^T was factored): A = v diag(s) unit^T
    u = if_then_else(ctx, wide, lambda body: body.op.Identity(v), lambda body: body.op.Identity(unit), dtype, ndim,
                     "svd_u")
    vt = if_then_else(ctx, wide, lambda body: swap_last_axes(body, unit, ndim),
                      lambda body: swap_last_axes(body, v, ndim), dtype, ndim, "svd_vt")
    return [u, ctx.op.Mul(values, scale_vector), vt]
