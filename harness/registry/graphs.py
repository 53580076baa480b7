"""Real model graphs as matrix rows ``graph:<name>``: what PyMC/nutpie users export (log-densities and
their gradients written with ``@``, Cholesky, gammaln, ...) and everyday data transforms (sort, unique,
searchsorted, cumsum, pad), compared like single ops: dtype, shape and values, on inputs drawn by
Hypothesis (`strategies.models`), in float32 and float64, the dtypes models are written in.

Bounds. A model's outputs are long compositions, so each entry's ``error_scale`` is a normwise bound
derived from its ops: the magnitude of the terms its outputs sum (products of the largest inputs,
exp of the largest linear predictor, the condition number for solves), one number per example that
every output is compared in ULPs of (`GRAPH_BOUND`). Exact data transforms (sort, unique, histogram,
pad) have no scale and must match bit for bit.

To add one: a builder taking the input variables and returning the outputs, ``model_examples`` inputs,
and a scale function; `harness/bench/graphs.py` times the same builders at benchmark sizes.
"""

from __future__ import annotations

import math

import numpy as np
import pytensor
import pytensor.tensor as pt
import scipy.special

from harness.registry.older_onnxruntime import EMPTY_MATMUL
from harness.registry.spec import register
from strategies.models import ModelInput, model_examples
from strategies.values import ArrayExample

MODEL_DTYPES = ("float32", "float64")
GRAPH_BOUND = {"float32": 64, "float64": 64}
"""ULPs of the entry's normwise scale: a few ULP per op of the longest chain an output goes through."""
HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _inputs(*specs):
    return lambda dtype, edge_cases: model_examples(dtype=dtype, inputs=specs)


def _largest(*arrays) -> float:
    return max((float(np.max(np.abs(np.asarray(a, np.float64)), initial=0.0)) for a in arrays), default=0.0)


# ---- models -------------------------------------------------------------------------------------

def logistic_regression(X, y, w, b):
    """Mean negative log-likelihood of a logistic regression and its gradient (weights, bias)."""
    p = pt.sigmoid(X @ w + b)
    loss = -pt.mean(y * pt.log(p) + (1 - y) * pt.log(1 - p))
    return [loss, *pytensor.grad(loss, [w, b])]


def _linear_predictor_scale(example: ArrayExample) -> float:
    X, _, w, b = example.arrays
    return _largest(X) * float(np.sum(np.abs(np.asarray(w, np.float64)))) + _largest(b)


def _logistic_scale(example: ArrayExample) -> float:
    X = example.arrays[0]
    eta = _linear_predictor_scale(example)
    return (1.0 + _largest(X)) * (1.0 + eta) * (1.0 + X.shape[0])


def poisson_glm(X, y, w, b):
    """Negative log-likelihood of a Poisson GLM (log link) and its gradient."""
    eta = X @ w + b
    loss = pt.sum(pt.exp(eta) - y * eta + pt.gammaln(y + 1))
    return [loss, *pytensor.grad(loss, [w, b])]


def _poisson_scale(example: ArrayExample) -> float:
    X, y = example.arrays[:2]
    eta = _linear_predictor_scale(example)
    counts = np.asarray(y, np.float64)
    terms = math.exp(eta) + _largest(y) * eta + float(np.max(scipy.special.gammaln(counts + 1), initial=0.0))
    return (1.0 + _largest(X)) * (1.0 + terms) * (1.0 + X.shape[0])


def mvnormal_logp(S, x, mu):
    """log N(x | mu, S) through the Cholesky factor, and its gradient (mean, covariance)."""
    L = pt.linalg.cholesky(S)
    z = pt.linalg.solve_triangular(L, x - mu, lower=True)
    logp = -0.5 * z @ z - pt.log(pt.diagonal(L)).sum() - HALF_LOG_2PI * pt.cast(x.shape[0], x.dtype)
    return [logp, *pytensor.grad(logp, [mu, S])]


def _condition_scale(matrix, *vectors) -> float:
    cond = float(np.linalg.cond(np.asarray(matrix, np.float64))) if np.size(matrix) else 1.0
    spread = 1.0 + sum(_largest(v) for v in vectors)
    return cond * cond * spread * spread * (1.0 + _largest(matrix))


def _mvnormal_scale(example: ArrayExample) -> float:
    S, x, mu = example.arrays
    return _condition_scale(S, x, mu)


def softmax_classifier(X, labels, W):
    """Mean cross-entropy of a linear softmax classifier with integer labels, and its gradient."""
    log_probs = pt.special.log_softmax(X @ W, axis=-1)
    loss = -pt.mean(log_probs[pt.arange(X.shape[0]), labels])
    return [loss, pytensor.grad(loss, W)]


def _softmax_scale(example: ArrayExample) -> float:
    X, _, W = example.arrays
    logits = _largest(X) * _largest(W) * W.shape[0]
    return (1.0 + _largest(X)) * (1.0 + logits) * (1.0 + X.shape[0])


def gp_marginal_likelihood(x, y, lengthscale, noise):
    """Log marginal likelihood of a Gaussian process (squared-exponential kernel) through Cholesky
    and cho_solve, and its gradient (length scale, noise). PyTensor 2.38's cho_solve has no gradient:
    there the solve is the two triangular solves it stands for."""
    distance = (x[:, None] - x[None, :]) / lengthscale
    K = pt.exp(-0.5 * distance**2) + noise**2 * pt.eye(x.shape[0])
    L = pt.linalg.cholesky(K)

    def loglik(alpha):
        return -0.5 * y @ alpha - pt.log(pt.diagonal(L)).sum() - HALF_LOG_2PI * pt.cast(x.shape[0], x.dtype)

    try:
        value = loglik(pt.linalg.cho_solve((L, True), y))
        return [value, *pytensor.grad(value, [lengthscale, noise])]
    except NotImplementedError:
        half = pt.linalg.solve_triangular(L, y, lower=True)
        value = loglik(pt.linalg.solve_triangular(L.T, half, lower=False))
        return [value, *pytensor.grad(value, [lengthscale, noise])]


def _gp_scale(example: ArrayExample) -> float:
    x, y, lengthscale, noise = (np.asarray(a, np.float64) for a in example.arrays)
    n = x.shape[0]
    K = np.exp(-0.5 * ((x[:, None] - x[None, :]) / lengthscale) ** 2) + noise**2 * np.eye(n)
    spread = 1.0 + _largest(x) / float(lengthscale)
    return _condition_scale(K, y) * spread * spread / min(float(noise), float(lengthscale))


def negative_binomial_logp(y, mu, alpha):
    """log-likelihood of counts under NegativeBinomial(mu, alpha) (gammaln terms) and its gradient
    (mean, dispersion: psi terms)."""
    logp = pt.sum(pt.gammaln(y + alpha) - pt.gammaln(alpha) - pt.gammaln(y + 1)
                  + alpha * pt.log(alpha / (alpha + mu)) + y * pt.log(mu / (alpha + mu)))
    return [logp, *pytensor.grad(logp, [mu, alpha])]


def _negative_binomial_scale(example: ArrayExample) -> float:
    y, mu, alpha = (np.asarray(a, np.float64) for a in example.arrays)
    terms = (np.abs(scipy.special.gammaln(y + alpha)) + abs(scipy.special.gammaln(alpha))
             + scipy.special.gammaln(y + 1) + (alpha + y) * (1.0 + abs(math.log(alpha + mu))))
    return float(np.sum(terms) + 1.0) * (1.0 + 1.0 / float(alpha)) * (1.0 + 1.0 / float(mu))


def cumsum_normalise(x):
    """An empirical distribution function: cumulative sums over the total."""
    return [pt.cumsum(x) / pt.sum(x)]


def _cumsum_scale(example: ArrayExample) -> float:
    return 1.0 + example.arrays[0].shape[0]


def ranks(x):
    """Sorted values and each element's rank (argsort of argsort, stable)."""
    return [pt.sort(x), pt.argsort(pt.argsort(x, kind="stable"), kind="stable")]


def unique_counts(x):
    """Distinct values, where each came from and how often it occurs."""
    values, index, counts = pt.unique(x, return_index=True, return_counts=True)
    return [values, index, counts]


def histogram(edges, x):
    """Counts of x per bin between sorted edges: searchsorted then bincount."""
    return [pt.bincount(pt.searchsorted(pt.sort(edges), x, side="right"))]


def padded_differences(x):
    """First differences of an edge-padded matrix (a boundary-handling stencil)."""
    return [pt.diff(pt.pad(x, 1, mode="edge"), axis=0)]


# ---- entries ------------------------------------------------------------------------------------

DATA = ModelInput(("n", "k"))
WEIGHTS = ModelInput(("k",))
BIAS = ModelInput(())


def _model(name, build, inputs, scale=None, onnx_ops=()):
    arity = len(inputs)
    tolerance = GRAPH_BOUND if scale is not None else {"float32": 0, "float64": 0}
    return register(f"graph:{name}", arity=arity, dtypes=MODEL_DTYPES, build=build, examples=_inputs(*inputs),
                    input_dtypes=lambda d: tuple(i.dtype or d for i in inputs),
                    error_scale=None if scale is None else (lambda ex: np.float64(scale(ex))),
                    tolerance=tolerance, elementwise=False, signed_zeros=False, ulp_dtype=lambda d: d,
                    probe_ndim=tuple(len(i.shape) for i in inputs), onnx_ops=onnx_ops)


_model("logistic_regression", logistic_regression, (DATA, ModelInput(("n",), "binary"), WEIGHTS, BIAS),
       _logistic_scale, ("MatMul",))
_model("poisson_glm", poisson_glm, (DATA, ModelInput(("n",), "count"), WEIGHTS, BIAS), _poisson_scale,
       ("MatMul", "Exp"))
_model("mvnormal_logp", mvnormal_logp, (ModelInput(("k", "k"), "spd"), WEIGHTS, WEIGHTS), _mvnormal_scale,
       ("Loop",))
_model("softmax_classifier", softmax_classifier,
       (DATA, ModelInput(("n",), "label", "int64"), ModelInput(("k", "k"))), _softmax_scale, ("MatMul",))
_model("gp_marginal_likelihood", gp_marginal_likelihood,
       (ModelInput(("n",)), ModelInput(("n",)), ModelInput((), "positive"), ModelInput((), "positive")),
       _gp_scale, ("Loop",)).xfail(**EMPTY_MATMUL)
_model("negative_binomial_logp", negative_binomial_logp,
       (ModelInput(("n",), "count"), ModelInput((), "positive"), ModelInput((), "positive")),
       _negative_binomial_scale, ("Log",))
_model("cumsum_normalise", cumsum_normalise, (ModelInput(("n",), "positive"),), _cumsum_scale, ("CumSum",))
_model("ranks", ranks, (ModelInput(("n",)),), onnx_ops=("TopK",))
_model("unique_counts", unique_counts, (ModelInput(("n",), "count"),), onnx_ops=("TopK", "Compress"))
_model("histogram", histogram, (ModelInput(("k",)), ModelInput(("n",))), onnx_ops=("TopK", "ReduceSum"))
_model("padded_differences", padded_differences, (DATA,), onnx_ops=("Sub",))
