"""Linear algebra converters whose outputs are not unique (eigenvectors, singular vectors, Schur and generalized Schur forms): what they
define must hold on the edge cases the registry's strategies reach rarely (rank deficiency, empty and
one-row matrices, wide and tall shapes, batches)."""

import itertools

import numpy as np
import pytensor.tensor as pt
import pytest
import scipy.linalg

from backend import export_onnx
from backend.dtypes import ONNXExportUnsupported
from backend.linker import make_session


@pytest.mark.parametrize("full_matrices", [True, False])
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5), (1, 4), (4, 1), (0, 3), (3, 0)])
def test_svd_vectors_are_orthonormal_and_rebuild_the_matrix(shape, full_matrices):
    a = pt.dmatrix("a")
    session = make_session(export_onnx([a], list(pt.linalg.svd(a, full_matrices=full_matrices))))
    m = np.random.default_rng(sum(shape)).normal(size=shape)
    if shape == (5, 3):
        m[:, 2] = m[:, 0]  # rank 2: a zero singular value, whose U column must still be a unit vector
    u, s, vt = session.run(None, {"a": m})
    expected_u, expected_s, expected_vt = np.linalg.svd(m, full_matrices=full_matrices)
    assert u.shape == expected_u.shape and vt.shape == expected_vt.shape
    np.testing.assert_allclose(s, expected_s, atol=1e-14)
    k = min(shape)
    np.testing.assert_allclose((u[:, :k] * s) @ vt[:k], m, atol=1e-14)
    np.testing.assert_allclose(u.T @ u, np.eye(u.shape[1]), atol=1e-14)
    np.testing.assert_allclose(vt @ vt.T, np.eye(vt.shape[0]), atol=1e-14)


def test_eigh_of_a_batch_gives_sorted_values_and_orthonormal_vectors_per_matrix():
    a = pt.tensor3("a", dtype="float64")
    w, v = pt.linalg.eigh(a)
    session = make_session(export_onnx([a], [w, v]))
    m = np.random.default_rng(1).normal(size=(3, 4, 4))
    m = m + np.swapaxes(m, -1, -2)
    m[2] = np.diag([2.0, 2.0, -1.0, 5.0])  # a repeated eigenvalue: any basis of its space will do
    values, vectors = session.run(None, {"a": m})
    np.testing.assert_allclose(values, np.linalg.eigvalsh(m), atol=1e-13)
    np.testing.assert_allclose(vectors @ (values[..., None] * np.swapaxes(vectors, -1, -2)), m, atol=1e-13)
    np.testing.assert_allclose(np.swapaxes(vectors, -1, -2) @ vectors, np.broadcast_to(np.eye(4), m.shape), atol=1e-14)


@pytest.mark.parametrize("n", [0, 1, 4])
def test_a_tridiagonal_solve_reads_only_the_band(n):
    # (no registry entry: PyTensor's rewritten gradient of it raises or crashes on empty matrices)
    a, b = pt.dmatrix("a"), pt.dvector("b")
    session = make_session(export_onnx([a, b], pt.linalg.solve(a, b, assume_a="tridiagonal", b_ndim=1)))
    rng = np.random.default_rng(n)
    m = rng.normal(size=(n, n)) + 4 * np.eye(n)
    rhs = rng.normal(size=n)
    band = np.abs(np.subtract.outer(np.arange(n), np.arange(n))) <= 1
    (x,) = session.run(None, {"a": m, "b": rhs})
    np.testing.assert_allclose(x, np.linalg.solve(np.where(band, m, 0.0), rhs) if n else rhs, atol=1e-13)


def _run(inputs, outputs, *arrays):
    model = export_onnx(inputs, outputs)
    return make_session(model).run(None, {i.name: a for i, a in zip(model.graph.input, arrays)})


def test_sylvester_solution_satisfies_the_equation_for_rectangular_unknowns():
    """A X + X B = Q with X of 3 x 2 (the Kronecker form's row-major flattening is easy to get wrong
    for non-square X), checked against the equation itself, not against another solver."""
    from backend.compat import SolveSylvester

    if SolveSylvester is None:
        pytest.skip("this PyTensor has no SolveSylvester")
    try:
        from pytensor.tensor.linalg import solve_sylvester
    except ImportError:
        from pytensor.tensor.slinalg import solve_sylvester
    a_, b_, q_ = pt.matrix("a"), pt.matrix("b"), pt.matrix("q")
    a = np.array([[4.0, 1.0, 0.5], [0.0, 3.0, -1.0], [1.0, 0.0, 5.0]])
    b = np.array([[2.0, -1.0], [0.5, 3.0]])
    q = np.arange(6.0).reshape(3, 2) - 2.0
    (x,) = _run([a_, b_, q_], [solve_sylvester(a_, b_, q_)], a, b, q)
    np.testing.assert_allclose(a @ x + x @ b, q, rtol=0, atol=1e-13)


def test_lstsq_residuals_are_empty_unless_the_matrix_is_tall_with_full_column_rank():
    try:
        from pytensor.tensor.linalg import lstsq
    except ImportError:
        from pytensor.tensor.nlinalg import lstsq
    a_, b_ = pt.matrix("a"), pt.matrix("b")
    outputs = lstsq(a_, b_, -1.0)
    tall = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    wide, rank_deficient = tall.T, np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    b = np.array([[1.0], [2.0], [4.0]])
    for a, rhs, rank, residuals in ((tall, b, 2, 1), (wide, b[:2], 2, 0), (rank_deficient, b, 1, 0)):
        x, found_residuals, found_rank, values = _run([a_, b_], outputs, a, rhs)
        expected = np.linalg.lstsq(a, rhs, rcond=None)
        assert found_rank == rank and found_residuals.shape == (residuals,)
        np.testing.assert_allclose(x, expected[0], atol=1e-12)
        np.testing.assert_allclose(values, expected[3], atol=1e-12)


def test_a_tridiagonal_solve_compiled_with_rewrites_runs_gttrf_and_gttrs_in_onnx():
    """The "ONNX" mode's rewrites turn solve(assume_a="tridiagonal") and its gradient into PyTensor's
    LUFactorTridiagonal and SolveLUFactorTridiagonal: the compiled function must run them in onnxruntime
    and agree with a dense solve and its gradient -x^T outer."""
    import pytensor

    from backend import compile_onnx

    a_, b_ = pt.matrix("a"), pt.vector("b")
    x_ = pt.linalg.solve(a_, b_, assume_a="tridiagonal", b_ndim=1)
    function = compile_onnx([a_, b_], [x_, pytensor.grad(x_.sum(), a_)])
    ops = {type(node.op).__name__ for node in function.maker.fgraph.toposort()}
    assert {"LUFactorTridiagonal", "SolveLUFactorTridiagonal"} <= ops
    a = np.diag([0.5, 5.0, 6.0, 7.0]) + np.diag([3.0, 2.0, 3.0], -1) + np.diag([0.5, -0.5, 0.5], 1)  # pivots
    b = np.arange(4.0)
    x, gradient = function(a, b)
    expected = np.linalg.solve(a, b)
    np.testing.assert_allclose(x, expected, rtol=1e-13)
    # d sum(x) / dA = -(A^-T 1) x^T
    np.testing.assert_allclose(gradient, -np.outer(np.linalg.solve(a.T, np.ones(4)), expected), rtol=1e-12)


def test_discrete_riccati_finds_the_stabilizing_solution_of_an_unstable_system():
    """Doubling converges where A itself is unstable but (A, B) is stabilizable: the solution satisfies
    the equation and makes A - B K stable (the registry's examples have stable A)."""
    try:
        from pytensor.tensor.linalg import solve_discrete_are
    except ImportError:
        from pytensor.tensor.slinalg import solve_discrete_are
    operands = [pt.matrix(name) for name in "abqr"]
    a = np.array([[1.2, 0.5, 0.0], [0.0, 0.9, 0.3], [0.1, 0.0, 1.1]])
    b = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    q, r = np.eye(3), np.array([[2.0, 0.5], [0.5, 1.0]])
    (x,) = _run(operands, [solve_discrete_are(*operands)], a, b, q, r)
    gain = np.linalg.solve(r + b.T @ x @ b, b.T @ x @ a)
    residual = a.T @ x @ a - x - a.T @ x @ b @ gain + q
    assert np.abs(residual).max() <= 1e-12 * np.abs(x).max()
    assert np.abs(np.linalg.eigvals(a - b @ gain)).max() < 1
    np.testing.assert_allclose(x, x.T, rtol=0, atol=0)


def _assert_real_schur_form(a, t, z, *, atol):
    """A = Z T Z^T, Z orthogonal, T zero below its first subdiagonal, and each 2 x 2 block standard (a lone
    nonzero subdiagonal entry, equal diagonal entries, off-diagonal entries of opposite signs), per matrix."""
    n = a.shape[-1]
    np.testing.assert_allclose(z @ t @ np.swapaxes(z, -1, -2), a, atol=atol)
    np.testing.assert_allclose(np.swapaxes(z, -1, -2) @ z, np.broadcast_to(np.eye(n), a.shape), atol=atol)
    assert (t * np.tri(n, n, -2) == 0).all()
    sub, above = np.diagonal(t, -1, -2, -1), np.diagonal(t, 1, -2, -1)
    diagonal = np.diagonal(t, 0, -2, -1)
    blocks = sub != 0
    assert not (blocks[..., :-1] & blocks[..., 1:]).any()
    assert (diagonal[..., :-1][blocks] == diagonal[..., 1:][blocks]).all()
    assert (sub[blocks] * above[blocks] < 0).all()


def test_real_schur_form_of_every_three_by_three_matrix_of_minus_one_zero_and_one():
    """All 19,683 of them at once (a batch): nilpotent, defective, permutation-like and singular matrices,
    whose exact structure a Hessenberg reduction has to see (LAPACK's gees gets them right)."""
    a = pt.tensor3("a", dtype="float64")
    session = make_session(export_onnx([a], list(pt.linalg.schur(a))))
    m = np.array(list(itertools.product((-1.0, 0.0, 1.0), repeat=9))).reshape(-1, 3, 3)
    t, z = session.run(None, {"a": m})
    _assert_real_schur_form(m, t, z, atol=1e-14)
    # the eigenvalues on the diagonal are A's (defective ones to within sqrt(eps)-ish)
    real_parts = np.sort(np.diagonal(t, 0, -2, -1), axis=-1)
    np.testing.assert_allclose(real_parts, np.sort(np.linalg.eigvals(m).real, axis=-1), atol=1e-4)


@pytest.mark.parametrize("n", [0, 1, 2, 7])
def test_real_schur_form_of_random_matrices_and_their_complex_pairs(n):
    a = pt.matrix("a", dtype="float32")
    session = make_session(export_onnx([a], list(pt.linalg.schur(a))))
    m = np.random.default_rng(n).normal(size=(n, n)).astype("float32")
    t, z = session.run(None, {"a": m})
    assert t.dtype == z.dtype == np.float32 and t.shape == z.shape == (n, n)
    _assert_real_schur_form(m.astype(float), t.astype(float), z.astype(float), atol=5e-6)
    expected = np.linalg.eigvals(m.astype(float))
    magnitudes = np.sqrt(np.abs(np.diagonal(t, -1) * np.diagonal(t, 1)))
    rows = np.zeros(n)
    rows[:-1] += magnitudes
    rows[1:] += magnitudes
    np.testing.assert_allclose(np.sort(rows), np.sort(np.abs(expected.imag)), atol=1e-5)


def test_real_schur_form_of_non_finite_input_is_nan_as_pytensor_returns():
    a = pt.tensor3("a", dtype="float64")
    session = make_session(export_onnx([a], list(pt.linalg.schur(a))))
    m = np.stack([np.eye(2), np.array([[1.0, np.inf], [0.0, 1.0]]), np.array([[np.nan, 0.0], [0.0, 1.0]])])
    t, z = session.run(None, {"a": m})
    assert np.isnan(t[1:]).all() and np.isnan(z[1:]).all()
    np.testing.assert_array_equal(t[0], np.eye(2))


@pytest.mark.parametrize("options, reason", [({"output": "complex"}, "complex"), ({"sort": "lhp"}, "ordered")])
def test_schur_forms_the_export_does_not_compose_are_refused_with_the_reason(options, reason):
    a = pt.dmatrix("a")
    with pytest.raises(ONNXExportUnsupported, match=reason):
        export_onnx([a], [pt.linalg.schur(a, **options)[0]])


def _qz_session(a_ndim=2, b_ndim=2):
    a, b = pt.tensor("a", dtype="float64", shape=(None,) * a_ndim), pt.tensor("b", dtype="float64", shape=(None,) * b_ndim)
    return make_session(export_onnx([a, b], list(pt.linalg.qz(a, b))))


def _assert_generalized_schur_form(a, b, aa, bb, q, z, *, atol):
    """A = Q AA Z^T, B = Q BB Z^T, Q and Z orthogonal, BB upper triangular with a nonnegative diagonal, AA
    quasi-upper-triangular with BB diagonal under each of its 2 x 2 blocks."""
    n = aa.shape[-1]
    np.testing.assert_allclose(q @ aa @ np.swapaxes(z, -1, -2), a, atol=atol)
    np.testing.assert_allclose(q @ bb @ np.swapaxes(z, -1, -2), b, atol=atol)
    for factor in (q, z):
        np.testing.assert_allclose(np.swapaxes(factor, -1, -2) @ factor, np.broadcast_to(np.eye(n), factor.shape),
                                   atol=atol)
    assert (aa * np.tri(n, n, -2) == 0).all() and (bb * np.tri(n, n, -1) == 0).all()
    assert (np.diagonal(bb, 0, -2, -1) >= 0).all()
    blocks = np.diagonal(aa, -1, -2, -1) != 0
    assert not (blocks[..., :-1] & blocks[..., 1:]).any()
    assert (np.diagonal(bb, 1, -2, -1)[blocks] == 0).all()


def test_generalized_schur_form_keeps_the_infinite_eigenvalues_of_a_singular_b():
    """B of rank n - 2: two infinite eigenvalues, zeros on BB's diagonal; the finite ones are A's and B's."""
    rng = np.random.default_rng(3)
    a = rng.normal(size=(5, 5))
    b = rng.normal(size=(5, 3)) @ rng.normal(size=(3, 5))
    aa, bb, q, z = _qz_session().run(None, {"a": a, "b": b})
    _assert_generalized_schur_form(a, b, aa, bb, q, z, atol=1e-13)
    assert np.sum(np.abs(np.diagonal(bb)) < 1e-13) == 2
    finite = np.sort_complex(scipy.linalg.eigvals(a, b)[np.isfinite(scipy.linalg.eigvals(a, b))])
    found = scipy.linalg.eigvals(aa, bb)
    np.testing.assert_allclose(np.sort(np.abs(found[np.abs(found) < 1e6])), np.sort(np.abs(finite)), rtol=1e-9)


def test_generalized_schur_form_of_a_batch_broadcasts_b_and_returns_nan_for_a_singular_pencil():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(3, 4, 4))
    b = rng.normal(size=(4, 4))
    a[2] = b * 2.0  # A = 2 B: every eigenvalue is 2
    aa, bb, q, z = _qz_session(3, 2).run(None, {"a": a, "b": b})
    _assert_generalized_schur_form(a, np.broadcast_to(b, a.shape), aa, bb, q, z, atol=1e-13)
    np.testing.assert_allclose(np.diagonal(aa[2]) / np.diagonal(bb[2]), 2.0, rtol=1e-12)
    singular_a, singular_b = np.zeros((2, 2)), np.array([[1.0, 0.0], [2.0, 0.0]])
    singular_a[:, 0] = [3.0, 1.0]  # both map e2 to 0: det(A - x B) = 0 for every x
    outputs = _qz_session().run(None, {"a": singular_a, "b": singular_b})
    assert all(np.isnan(x).all() for x in outputs)


@pytest.mark.parametrize("options, reason", [({"sort": "ouc"}, "ordered"), ({"return_eigenvalues": True}, "complex"),
                                             ({"output": "complex"}, "complex")])
def test_qz_forms_the_export_does_not_compose_are_refused_with_the_reason(options, reason):
    a, b = pt.dmatrix("a"), pt.dmatrix("b")
    with pytest.raises(ONNXExportUnsupported, match=reason):
        export_onnx([a, b], [pt.linalg.qz(a, b, **options)[0]])
