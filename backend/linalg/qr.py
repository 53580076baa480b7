"""QR by Householder reflections as LAPACK's geqr2 and org2r compute them (the reflectors' signs
included, so that Q and R match numpy's).

To extend: another mode of QR from `householder_qr`'s work matrix, tau and Q.
"""

from __future__ import annotations

from backend.basic import onnx_funcify
from backend.compat import QR
from backend.dtypes import ONNXExportUnsupported, onnx_dtype
from backend.helpers import loop, select_keeping_zero_sign, sign_bit
from backend.linalg.helpers import UNROLLED_SIZE, axis_size, index_range, solve_operands
from backend.linalg.jacobi import power_of_two_scale

# ---- QR: Householder reflections as LAPACK's geqr2 and org2r compute them ----

def householder_qr(ctx, a, dtype: str, ndim: int) -> tuple[str, str, str]:
    """geqr2 on A (..., m, n): the work matrix (R on and above the diagonal, the reflectors' v below
    it, as LAPACK stores them), tau (..., min(m, n)) and Q = H_0 H_1 ... (..., m, m).

    Reflector k is dlarfg's: alpha = a_kk, beta = -sign(alpha) |(alpha, x)| (-0.0 counts as negative), tau = (beta - alpha) /
    beta, v = x / (alpha - beta) below a 1; no reflection (tau = 0) where x is exactly 0. It is applied
    to the columns right of k as dlarf does: w = C^T v, C - v (tau w)^T.
    """
    m, n = axis_size(ctx, a, ndim - 2), axis_size(ctx, a, ndim - 1)
    rows, columns = index_range(ctx, m), index_range(ctx, n)
    zero, one = ctx.constant(0.0, dtype), ctx.constant(1.0, dtype)
    last = ctx.constant([-1], "int64")
    batch_shape = ctx.op.Slice(ctx.op.Shape(a), ctx.constant([0], "int64"), ctx.constant([ndim - 2], "int64"))
    m_vector = ctx.op.Unsqueeze(m, ctx.constant([0], "int64"))
    identity = ctx.op.Cast(ctx.op.Equal(ctx.op.Unsqueeze(rows, ctx.constant([1], "int64")), rows), to=onnx_dtype(dtype))
    q_initial = ctx.op.Expand(identity, ctx.op.Concat(batch_shape, m_vector, m_vector, axis=0))
    steps = ctx.op.Min(m, n)
    tau_initial = ctx.op.Expand(zero, ctx.op.Concat(batch_shape, ctx.op.Unsqueeze(steps, ctx.constant([0], "int64")),
                                                     axis=0))

    def step(body, k, values):
        trailing, factor, tau_all, q = values
        below, at = body.op.Greater(rows, k), body.op.Equal(rows, k)
        column = body.op.Gather(trailing, k, axis=-1)
        alpha = body.op.Gather(column, k, axis=-1)
        # (selections here keep the sign of zeros: dlarfg and dlarf carry a -0.0 into a later beta's sign)
        tail = select_keeping_zero_sign(body, below, column, zero, dtype)
        x_norm = body.op.Sqrt(body.op.ReduceSumSquare(tail, last, keepdims=0))
        norm = body.op.Sqrt(body.op.Add(body.op.Mul(alpha, alpha), body.op.Mul(x_norm, x_norm)))
        # Fortran's SIGN(norm, alpha) sees the sign of a zero: alpha = -0.0 gives beta = +norm
        beta = body.op.Where(sign_bit(body, alpha, dtype), norm, body.op.Neg(norm))
        reflects = body.op.Not(body.op.Equal(x_norm, zero))
        safe_beta = body.op.Where(reflects, beta, one)
        tau = body.op.Where(reflects, body.op.Div(body.op.Sub(beta, alpha), safe_beta), zero)
        # dlarfg scales x by the reciprocal 1 / (alpha - beta)
        reciprocal = body.op.Div(one, body.op.Where(reflects, body.op.Sub(alpha, beta), one))
        v = select_keeping_zero_sign(body, at, one, body.op.Mul(tail, body.op.Unsqueeze(reciprocal, last)), dtype)
        # the columns right of k: C - v (tau C^T v)^T (dlarf skips tau = 0)
        row_v = body.op.Unsqueeze(v, body.constant([-2], "int64"))
        scaled_w = body.op.Mul(body.op.Unsqueeze(body.op.Unsqueeze(tau, last), last), body.op.MatMul(row_v, trailing))
        changes = body.op.And(body.op.Greater(columns, k),
                              body.op.Unsqueeze(reflects, body.constant([-1, -2], "int64")))
        trailing = select_keeping_zero_sign(body, changes, body.op.Sub(trailing, body.op.Mul(body.op.Unsqueeze(v, last),
                                                                                             scaled_w)), trailing, dtype)
        # the finished column: beta (or alpha, unreflected) on the diagonal, v below it
        new_column = body.op.Where(at, body.op.Unsqueeze(body.op.Where(reflects, beta, alpha), last),
                                   body.op.Where(below, v, column))
        factor = body.op.Where(body.op.Equal(columns, k), body.op.Unsqueeze(new_column, last), factor)
        tau_all = body.op.Where(body.op.Equal(index_range(body, steps), k), body.op.Unsqueeze(tau, last), tau_all)
        # Q H: Q - (Q v) (tau v)^T
        q_v = body.op.MatMul(q, body.op.Unsqueeze(v, last))
        q = body.op.Sub(q, body.op.Mul(q_v, body.op.Mul(body.op.Unsqueeze(body.op.Unsqueeze(tau, last), last), row_v)))
        return [trailing, factor, tau_all, q]

    trailing, factor, tau, q = loop(ctx, steps, [(a, dtype, ndim), (a, dtype, ndim), (tau_initial, dtype, ndim - 1),
                                                 (q_initial, dtype, ndim)], step, "householder_body",
                                    unroll_up_to=UNROLLED_SIZE)
    # a wide A's columns past the last reflector are the trailing matrix's
    return ctx.op.Where(ctx.op.Less(columns, steps), factor, trailing), tau, q


def _upper(ctx, x, rows: str | None, dtype, ndim):
    """The first ``rows`` rows of x (all of them for None) with everything below the diagonal 0."""
    if rows is not None:
        x = ctx.op.Slice(x, ctx.constant([0], "int64"), ctx.op.Unsqueeze(rows, ctx.constant([0], "int64")),
                         ctx.constant([ndim - 2], "int64"))
    i = ctx.op.Unsqueeze(index_range(ctx, axis_size(ctx, x, ndim - 2)), ctx.constant([1], "int64"))
    return ctx.op.Where(ctx.op.LessOrEqual(i, index_range(ctx, axis_size(ctx, x, ndim - 1))), x, ctx.constant(0.0, dtype))


@onnx_funcify.register(QR)
def onnx_funcify_QR(op, node, ctx, inputs):
    if op.pivoting:
        raise ONNXExportUnsupported(f"{op}: column pivoting (geqp3) is not exported; QR without pivoting is")
    (a,), dtype = solve_operands(ctx, node, inputs)
    ndim = node.inputs[0].type.ndim
    # on A divided by a power of two near its largest entry (squares neither overflow nor underflow);
    # the reflectors and Q do not depend on it, R is multiplied back
    scale = power_of_two_scale(ctx, a, dtype)
    work, tau, q = householder_qr(ctx, ctx.op.Div(a, scale), dtype, ndim)
    m, n = axis_size(ctx, a, ndim - 2), axis_size(ctx, a, ndim - 1)
    upper = ctx.op.LessOrEqual(ctx.op.Unsqueeze(index_range(ctx, m), ctx.constant([1], "int64")), index_range(ctx, n))
    work = ctx.op.Where(upper, ctx.op.Mul(work, scale), work)
    k = ctx.op.Min(m, n)
    # PyTensor: R is m x n except for economic and raw modes of a tall A, which keep n rows
    r = _upper(ctx, work, k if op.mode in ("economic", "raw") else None, dtype, ndim)
    if op.mode == "r":
        return [r]
    if op.mode == "raw":
        return [work, tau, r]
    if op.mode == "economic":
        q = ctx.op.Slice(q, ctx.constant([0], "int64"), ctx.op.Unsqueeze(k, ctx.constant([0], "int64")),
                         ctx.constant([ndim - 1], "int64"))
    return [q, r]
