"""Gradient rows ``grad:<op>``: for every entry PyTensor can differentiate, the matrix compares the
gradient PyTensor builds (``pytensor.grad`` of the sum of the entry's float outputs with respect to
each float input) exported to ONNX against PyTensor's Python mode, in float64 (PyMC's floatX; a
sampler's gradient runs in it).

How a row is made. `register_gradient_rows` runs after every family module (and PyMC's, with the
``[pymc]`` extra) has registered, and adds one row per entry with a float64 cell, except those that
`NO_GRADIENT`, `PYTENSOR_CANNOT_EVALUATE` and `PYTENSOR_GRADIENT_WRONG` name with the reason (tests
check each still holds). The row reuses the entry's input dtypes, shapes, parameters and value
domain; its inputs are finite (special values are the entry's own row's business: a gradient at inf
is mostly NaN on both sides and says nothing about the gradient graph). ``model:`` rows are left
out: their gradients are rows of their own.

Bound. A gradient is a sum of products of the op's terms, so it inherits the cancellation of the
largest of them: every output is compared in ULPs *of its own largest finite magnitude*, and at
least of 1 (``OpSpec.scale_by_largest_output``), `GRADIENT_BOUND` of them unless `GRADIENT_TOLERANCE`
names the entry with its measured bound or `GRADIENT_ERROR_SCALE` with the derivative's own
conditioning; the sign of a zero gradient is not compared.

To change a row: give its entry a declaration here with ``ONNX_OPERATIONS["grad:<op>"].xfail(...)``
after `register_gradient_rows` (below), or a bound in `GRADIENT_TOLERANCE` with the reason.
"""

from __future__ import annotations

import numpy as np
import pytensor
import scipy.special
from hypothesis import strategies as st

from backend.compat import PYTENSOR_VERSION
from backend.dtypes import FLOAT_DTYPES
from harness.registry.extra_ops import FILL_OUTSIDE, pytensor_fills_off_the_diagonal
from harness.registry.older_onnxruntime import EMPTY_MATMUL
from harness.registry.spec import ONNX_OPERATIONS, OpSpec, register
from harness.registry.special_functions.gamma import psi_scale
from strategies.ops import op_inputs
from strategies.values import ArrayExample, bounded_values

GRADIENT_DTYPE = "float64"
GRADIENT_BOUND = 64
"""ULPs of each output's largest magnitude: a few per op on the longest chain of the backward graph."""
GRADIENT_MAGNITUDE = 30.0
"""Inputs of entries without a value domain of their own lie in [-30, 30]: exp, sinh, gammaln stay finite."""

_INTEGER_VALUED = "its inputs or its outputs are integers or booleans: there is nothing to differentiate"
_NO_PULLBACK = "PyTensor implements no gradient for the op"
_NULL_GRADIENT = "PyTensor's gradient with respect to one of its inputs is undefined (a NullType gradient)"

NO_GRADIENT: dict[str, str] = {
    **dict.fromkeys(("cast_to_int32", "cast_to_int64", "cast_to_uint8", "cast_to_bool", "eq", "neq", "lt", "le",
                     "gt", "ge", "isnan", "isinf", "all", "any", "argmax", "argmin", "shape", "shape_i", "eye",
                     "argsort", "argsort_stable", "searchsorted_left", "searchsorted_right", "searchsorted_sorter",
                     "eig", "graph:histogram"), _INTEGER_VALUED),
    **dict.fromkeys(("composite_exp_mul_add", "deep_copy_op", "scalar_loop_newton_sqrt",
                     "scalar_loop_newton_sqrt_until", "unique", "unique_index_inverse_counts", "unique_axis",
                     "unique_axis_index_inverse_counts", "slogdet",
                     "gemv", "gemv_beta_zero", "gemm", "ger", "dot22", "dot22scalar", "graph:unique_counts",
                     "qr_raw", "qr_raw_tau", "tensorinv", "tensorsolve", "tensorsolve_axes", "lstsq", "lstsq_rank_deficient", "tridiagonal_lu_factor",
                     "tridiagonal_lu_solve", "tridiagonal_lu_solve_transposed", "schur", "schur_batched",
                     "schur_eigenvalues", "schur_sorted", "schur_complex", "qz", "qz_batched", "qz_eigenvalues",
                     "qz_sorted", "qz_eigenvalues_complex", "sylvester_through_schur"), _NO_PULLBACK),
    **dict.fromkeys(("svd", "svd_rectangular"), "PyTensor implements no gradient of the SVD with full_matrices=True"),
    **dict.fromkeys(("prod_without_zeros", "ive", "iv", "gammaincinv", "gammainccinv", "betaincinv"), _NULL_GRADIENT),
    **dict.fromkeys(("qr", "qr_r", "qr_economic", "qr_full_rectangular", "qr_batched"),
                    "PyTensor's QR gradient raises TypeError ('module' object is not callable: it calls the ifelse "
                    "module; 2.38 through 3.3)"),
    "pymc_i1e": _NO_PULLBACK,
    **({"cho_solve": "PyTensor 2.38 implements no gradient for CholeskySolve"} if PYTENSOR_VERSION < (3, 0) else {}),
    **dict.fromkeys(("numba_fused_elemwise_sum", "numba_scalar_careduce", "numba_scalar_subtensor", "lazy_ifelse"),
                    "ops that PyTensor 3.3's NUMBA rewrites make (FusedElemwise's Composite, LazyIfElse) have no "
                    "gradient: PyTensor differentiates the graph before rewriting it"),
}
"""Entries with a float64 cell but no gradient row, each with the reason; a test checks that PyTensor
indeed builds no gradient for each, and does for every other entry."""

AT_NONDIFFERENTIABLE_POINTS: dict[str, str] = {
    "svd_values_singular": ("every example is a singular matrix, whose zero singular value has no derivative there; "
                            "the gradient PyTensor returns is one subgradient, built from LAPACK's choice of null-space "
                            "vectors (the export's Jacobi picks others)"),
}
"""Entries whose examples all lie where the op has no derivative: no gradient row, each with the reason
(a test checks the examples)."""

PYTENSOR_CANNOT_EVALUATE: dict[str, str] = {
    **({"pad_edge": "PyTensor's own gradient of pad(mode='edge') raises in its Python mode (non-broadcastable "
                    "output operand) on every example, before 3.3"} if PYTENSOR_VERSION < (3, 3) else {}),
    "solve_vector_singular": "the entry's matrices are singular: PyTensor's gradient raises on every example",
}
"""Entries whose gradient PyTensor builds but cannot evaluate on the entry's inputs (no row: nothing
to compare with); strict: a test fails once PyTensor evaluates one."""

PYTENSOR_GRADIENT_WRONG: dict[str, tuple[str, tuple, float]] = {
    **({"gammaincc": (
        "PyTensor before 3.3 differentiates gammaincc in a wrongly: 0.1484 at a=18, x=12.5, where mpmath and "
        "finite differences of scipy give 0.0389 (3.3 gives 0.0389); with no right answer to compare with, "
        "the export (which takes PyTensor's steps) is not compared", (18.0, 12.5), 0.03891689415)}
       if PYTENSOR_VERSION < (3, 3) else {}),
}
"""Entries whose gradient PyTensor computes wrongly on the installed release (no row: the reference is
wrong), as name -> (reason, a point, the true derivative in the first input there); strict: a test
fails once PyTensor gets that point right."""

SAME_RANK_ONLY: dict[str, str] = dict.fromkeys(
    ("xlogy", "xlog1py"), "PyTensor's gradient raises ValueError ('grad returned a term with 1 dimensions, but 0 are "
                          "required') when a scalar broadcasts against a vector (PyTensor 2.38 through 3.3)")
"""Entries whose gradient PyTensor builds only for inputs of one rank: their rows draw no rank
broadcasting; strict: a test fails once PyTensor builds the gradient of a scalar and a vector."""

_CHOLESKY_GRADIENT = 2048  # its backward pass solves with the factor twice: errors grow with the condition number
_PINV_GRADIENT = 65536  # products of pinv(A) with itself and A: measured up to 16 kappa(A) ULP, kappa ~ 1e3 drawn
_INCOMPLETE_GAMMA_GRADIENT = 4096  # series of exp(k log x - gammaln(k + n + 1)): |log| up to ~700 scales the
# terms' rounding, and the derivative in a is a difference of terms of psi's size
_TANH_RECURRENCE_GRADIENT = 512  # 1 - tanh(h)**2 cancels against 1, then multiplies along the recurrence
_EXPM_GRADIENT = 65536  # the Frechet derivative is expm of a block matrix twice A's size, squared s times more
_BILINEAR_LYAPUNOV_GRADIENT = 2048  # the bilinear transform's solves and a continuous Lyapunov solve forward,
# their adjoints backward: measured up to 672 ULP of the largest output (A with row sums <= 1/2)
_RICCATI_GRADIENT = 2048  # the pullback solves the Riccati equation again (PyTensor's QZ route: up to 900 eps x
# its condition scale off, registry/linalg.py) and a discrete Lyapunov equation in the closed loop: measured 182
GRADIENT_TOLERANCE: dict[str, int] = {
    "solve_discrete_lyapunov": _BILINEAR_LYAPUNOV_GRADIENT,
    "solve_discrete_are": _RICCATI_GRADIENT,
    **dict.fromkeys(("cholesky", "cholesky_upper", "cholesky_batched", "cholesky_indefinite",
                     "solve_positive_definite"), _CHOLESKY_GRADIENT),
    **dict.fromkeys(("expm", "expm_symmetric", "expm_triangular", "expm_batched"), _EXPM_GRADIENT),
    **dict.fromkeys(("pinv", "pinv_rectangular", "pinv_hermitian", "pinv_batched"), _PINV_GRADIENT),
    **dict.fromkeys(("scan_tanh_recurrence", "scan_tanh_recurrence_gradient"), _TANH_RECURRENCE_GRADIENT),
    **dict.fromkeys(("gammainc", "gammaincc"), _INCOMPLETE_GAMMA_GRADIENT),
}
"""Entries whose gradient needs another bound than `GRADIENT_BOUND` (ULPs of the largest output), from
the worst error measured over nightly runs with random seeds, rounded up to a power of two."""


def _gamma_gradient_scale(example: ArrayExample) -> np.ndarray:
    """gamma'(x) = gamma(x) psi(x): |gamma(x)| times psi's own error scale."""
    x = np.asarray(example.arrays[0], np.float64)
    with np.errstate(all="ignore"):
        return np.abs(scipy.special.gamma(x)) * psi_scale(example)


def _inverse_error_function_gradient_scale(inverse):
    """erfinv'(x) = sqrt(pi)/2 exp(y**2), y = erfinv(x) (erfcinv: its negative): exp(y**2) multiplies the
    relative error of y by 2 y**2, so ULPs are counted at |gradient| (1 + 2 y**2)."""
    def scale(example: ArrayExample) -> np.ndarray:
        with np.errstate(all="ignore"):
            y = inverse(np.asarray(example.arrays[0], np.float64))
            return np.sqrt(np.pi) / 2 * np.exp(y * y) * (1 + 2 * y * y)
    return scale


def _eigenvector_gradient_scale(example: ArrayExample) -> np.ndarray:
    """An eigenvector's derivative divides by the gaps between eigenvalues: the two sides' vectors differ
    by ~eps ||A|| / gap (Davis-Kahan), and the gradient's terms by that times the largest of them, counted
    here as max|A| ||A|| / gap (at least the largest output's 1)."""
    a = np.asarray(example.arrays[0], np.float64)
    if a.shape[-1] < 2 or not np.isfinite(a).all():
        return np.ones(())
    values = np.linalg.eigvalsh(np.tril(a) + np.tril(a, -1).T)
    gap = np.diff(values).min()
    norm = np.abs(values).max()
    return np.asarray(max(1.0, norm * max(norm, 1.0) / gap) if gap > 0 else np.inf)


GRADIENT_ERROR_SCALE = {"eigh": _eigenvector_gradient_scale, "eigh_indefinite": _eigenvector_gradient_scale,
                        "gammaln": psi_scale, "gamma": _gamma_gradient_scale,
                        "erfinv": _inverse_error_function_gradient_scale(scipy.special.erfinv),
                        "erfcinv": _inverse_error_function_gradient_scale(scipy.special.erfcinv)}
"""Gradients that are ill-conditioned functions of their own (psi near its poles, where both sides'
cotangent is dominated by the rounding of pi * x): the entry's ``error_scale`` for the derivative."""


def gradient_of(spec: OpSpec):
    """A builder of the gradient of ``spec``'s float outputs (summed) with respect to its float inputs."""

    def build(*inputs, **params):
        out = spec.build(*inputs, **params)
        outputs = out if isinstance(out, list | tuple) else [out]
        floats = [o for o in outputs if str(getattr(o.type, "dtype", "")).startswith("float")]
        if not floats:
            raise TypeError(f"{spec.name}: no float output to differentiate")
        cost = sum(o.sum() for o in floats)
        wrt = [i for i in inputs if i.type.dtype in FLOAT_DTYPES]
        if not wrt:
            raise TypeError(f"{spec.name}: no float input to differentiate with respect to")
        return pytensor.grad(cost, wrt, disconnected_inputs="ignore", return_disconnected="zero")

    return build


def _finite(example: ArrayExample) -> bool:
    return all(np.isfinite(a).all() for a in example.arrays if a.dtype.kind == "f")


_NEGATIVE_ARGUMENTS_LOOP = ("PyTensor's Python gradient of the incomplete gamma function runs its series to the "
                            "iteration limit for a negative argument (7 to 15 s per element) to return NaN")
NONNEGATIVE_ONLY: dict[str, str] = dict.fromkeys(("gammainc", "gammaincc"), _NEGATIVE_ARGUMENTS_LOOP)
"""Rows whose inputs are drawn as magnitudes (|x|), each with the reason."""


def _moderate(value):
    """A finite value of an entry's own domain brought into [-GRADIENT_MAGNITUDE, GRADIENT_MAGNITUDE]
    (clipping keeps an interval domain: positive stays positive, [0, 1] stays [0, 1])."""
    return type(value)(np.clip(value, -GRADIENT_MAGNITUDE, GRADIENT_MAGNITUDE))


def _unchanged(value):
    return value


def gradient_examples(spec: OpSpec):
    """The entry's inputs for ``dtype``, finite: its own ``examples`` where it has them, else its own
    ``elements`` (its value domain) brought to moderate magnitudes, bounded values otherwise. An
    elementwise entry's inputs are scalars or vectors of up to 4 elements (broadcasting one against the
    other: the gradient's reduction over broadcast axes): the backward graphs of series functions
    are thousands of nodes, exported and loaded once per broadcast pattern."""

    def examples(dtype: str, edge_cases: bool):
        drawn = _drawn_inputs(dtype)
        if spec.name in SAME_RANK_ONLY:
            return drawn.filter(lambda example: len({len(shape) for shape in example.shapes}) == 1)
        return drawn

    def _drawn_inputs(dtype: str):
        if spec.examples is not None:
            return spec.examples(dtype, False).filter(_finite)
        dtypes = spec.inputs_dtypes(dtype)
        own = spec.elements(dtype) if spec.elements is not None else [None] * len(dtypes)
        domain = np.abs if spec.name in NONNEGATIVE_ONLY else _unchanged
        elements = [e.filter(np.isfinite).map(_moderate).map(domain) if e is not None and d in FLOAT_DTYPES else
                    e if e is not None else
                    bounded_values(d, magnitude=GRADIENT_MAGNITUDE) if d in FLOAT_DTYPES else None
                    for e, d in zip(own, dtypes)]
        if all(e is None for e in elements):
            elements = None
        elif any(e is None for e in elements):  # integer inputs without a domain: small values
            elements = [e if e is not None else st.integers(-3, 3).map(np.dtype(d).type)
                        for e, d in zip(elements, dtypes)]
        own_shapes = spec.shapes(dtype) if spec.shapes and not spec.elementwise else None
        return op_inputs(dtypes=dtypes, shapes=own_shapes, elements=elements, params=spec.params, max_dims=1,
                         max_side=4)

    return examples


MATRIX_PRODUCT_FAMILIES = ("math", "blas", "blockwise", "linalg", "graphs")
"""Families whose gradients multiply matrices: their rows share the entries' MatMul declarations."""


def register_gradient_rows() -> None:
    """One ``grad:<op>`` row per differentiable entry registered so far (see the module docstring)."""
    for name, spec in list(ONNX_OPERATIONS.items()):
        if (GRADIENT_DTYPE not in spec.dtypes or name in NO_GRADIENT or name in PYTENSOR_CANNOT_EVALUATE
                or name in PYTENSOR_GRADIENT_WRONG or name in AT_NONDIFFERENTIABLE_POINTS
                or name.startswith(("model:", "grad:"))):
            continue
        register(f"grad:{name}", arity=spec.arity, dtypes=(GRADIENT_DTYPE,), build=gradient_of(spec),
                 input_dtypes=spec.input_dtypes, examples=gradient_examples(spec), elementwise=spec.elementwise,
                 probe_ndim=spec.probe_ndim, dtype_kwarg=spec.dtype_kwarg, ci_example_share=spec.ci_example_share,
                 tolerance={GRADIENT_DTYPE: GRADIENT_TOLERANCE.get(name, GRADIENT_BOUND)},
                 error_scale=GRADIENT_ERROR_SCALE.get(name), scale_by_largest_output=True, signed_zeros=False,
                 family="gradients")
        if spec.family in MATRIX_PRODUCT_FAMILIES:
            ONNX_OPERATIONS[f"grad:{name}"].xfail(**EMPTY_MATMUL)
        if name == "fill_diagonal_offset_outside":  # its pullback fills the output gradient's diagonal alike
            ONNX_OPERATIONS[f"grad:{name}"].xfail(id="fills-off-the-diagonal", category="pytensor", reason=FILL_OUTSIDE,
                                                  when=pytensor_fills_off_the_diagonal)
        if name in EIGENVECTOR_ROWS:
            ONNX_OPERATIONS[f"grad:{name}"].xfail(
                id="eigh-grad-repeated-eigenvalue", category="pytensor", when=_has_a_repeated_eigenvalue,
                reason=EIGH_GRAD_REPEATED_EIGENVALUE,
                unpredictable="whether either side's computed gap is exactly 0, and which entries its infinities "
                              "reach, depends on rounding")
        if name in SINGULAR_VALUE_ROWS:
            ONNX_OPERATIONS[f"grad:{name}"].xfail(
                id="subgradient-at-a-zero-singular-value", category="pytensor", when=_has_a_zero_singular_value,
                reason=SUBGRADIENT_AT_ZERO_SINGULAR_VALUE,
                unpredictable="the two choices of vectors may give the same subgradient (or signs that cancel)")


EIGENVECTOR_ROWS = ("eigh", "eigh_indefinite")
EIGH_GRAD_REPEATED_EIGENVALUE = (
    "at a repeated eigenvalue the eigenvectors have no derivative: PyTensor's gradient divides by the gaps "
    "between eigenvalues, exactly 0 in LAPACK's (inf, NaN) and a rounding-sized nonzero in the export's Jacobi "
    "values (finite), or the reverse")


def _has_a_repeated_eigenvalue(example) -> bool:
    a = np.asarray(example.arrays[0], np.float64)
    if a.shape[-1] < 2 or not np.isfinite(a).all():
        return False
    values = np.linalg.eigvalsh(np.tril(a) + np.tril(a, -1).T)
    return bool(np.any(np.diff(values) <= 1e-12 * np.maximum(np.abs(values).max(), 1e-300)))


SINGULAR_VALUE_ROWS = ("svd_values", "svd_values_batched", "svd_reduced")
SUBGRADIENT_AT_ZERO_SINGULAR_VALUE = (
    "a singular value is not differentiable where it is 0 (|x| at 0): PyTensor's gradient there is one subgradient, "
    "built from LAPACK's choice of the singular vectors, the export's from Jacobi's")


def _has_a_zero_singular_value(example) -> bool:
    a = np.asarray(example.arrays[0], np.float64)
    if 0 in a.shape[-2:] or not np.isfinite(a).all():
        return False
    values = np.linalg.svd(a, compute_uv=False)
    return bool(np.any(values[..., -1] <= 1e-12 * np.maximum(values[..., 0], 1e-300)))
