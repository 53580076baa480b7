"""PyMC models as matrix rows ``model:<name>``: each model's joint log-density and its gradient with
respect to every value variable (what ``model.compile_logp()`` and ``compile_dlogp()`` compute, and
what samplers call), at points drawn by Hypothesis on the unconstrained space. Registered only where
PyMC is installed (the ``[pymc]`` extra, tox env ``pymc``), in float64 (PyMC's floatX).

Each model's observed data is fixed and written out here (no random generator), so the rows are the
same graphs on every machine.

Bounds: a log-density sums many terms, and its gradient sums their derivatives, so values are
compared in ULPs (`GRAPH_BOUND`) of a normwise scale: (1 + the sum of |elementwise log-density terms|)
times (1 + the largest |gradient|), computed by PyTensor at the example's point.

To add a model: a function building it inside ``with pm.Model()`` and returning the model, then
``_model_row(name, function, onnx_ops)``.
"""

from __future__ import annotations

import functools

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from pytensor.graph.replace import graph_replace

from backend.compat import PYTENSOR_VERSION
from harness.registry.graphs import GRAPH_BOUND
from harness.registry.spec import register
from strategies.models import ModelInput, model_examples

MODEL_DTYPE = "float64"  # PyMC's floatX

# fixed design matrix and responses (a smooth, full-rank pattern rather than random draws)
_ROWS = np.arange(12, dtype=np.float64)
DESIGN = np.stack([np.sin(_ROWS), np.cos(0.7 * _ROWS), np.linspace(-1.0, 1.0, 12)], axis=1)
RESPONSE = DESIGN @ np.array([0.5, -1.0, 2.0]) + 0.3 * np.sin(3.1 * _ROWS)


def linear_regression():
    with pm.Model() as model:
        beta = pm.Normal("beta", 0.0, 1.0, shape=3)
        sigma = pm.HalfNormal("sigma", 1.0)
        pm.Normal("y", DESIGN @ beta, sigma, observed=RESPONSE)
    return model


def eight_schools_noncentred():
    effects = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
    errors = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 5.0)
        tau = pm.HalfCauchy("tau", 5.0)
        offset = pm.Normal("offset", 0.0, 1.0, shape=8)
        pm.Normal("y", mu + tau * offset, errors, observed=effects)
    return model


def logistic_regression():
    with pm.Model() as model:
        w = pm.Normal("w", 0.0, 1.0, shape=3)
        b = pm.Normal("b", 0.0, 1.0)
        pm.Bernoulli("y", logit_p=DESIGN @ w + b, observed=(RESPONSE > 0).astype(np.int64))
    return model


def poisson_gamma():
    with pm.Model() as model:
        rate = pm.Gamma("rate", alpha=2.0, beta=0.5)
        pm.Poisson("counts", rate, observed=np.array([3, 0, 7, 2, 4, 4, 1, 9]))
    return model


def gaussian_process():
    x = np.linspace(0.0, 5.0, 6)[:, None]
    with pm.Model() as model:
        lengthscale = pm.Gamma("lengthscale", alpha=2.0, beta=1.0)
        amplitude = pm.HalfNormal("amplitude", 1.0)
        noise = pm.HalfNormal("noise", 0.5)
        cov = amplitude**2 * pm.gp.cov.ExpQuad(1, ls=lengthscale)(x) + (noise**2 + 1e-6) * pt.eye(6)
        pm.MvNormal("y", mu=np.zeros(6), cov=cov, observed=np.sin(x[:, 0]))
    return model


def ar1_time_series():
    series = np.cumsum(np.sin(np.arange(15) * 1.3)) * 0.5
    with pm.Model() as model:
        rho = pm.Normal("rho", 0.0, 0.5)
        sigma = pm.HalfNormal("sigma", 1.0)
        pm.AR("y", rho=pt.stack([rho]), sigma=sigma, init_dist=pm.Normal.dist(0.0, 2.0), observed=series)
    return model


def censored_normal():
    """A Tobit model: measurements clipped to [-1, 1] enter through the normal's log-CDF and log
    survival function (erfc, erfcx), the others through its density."""
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 2.0)
        sigma = pm.HalfNormal("sigma", 1.0)
        pm.Censored("y", pm.Normal.dist(mu, sigma), lower=-1.0, upper=1.0,
                    observed=np.clip(RESPONSE, -1.0, 1.0))
    return model


def rice_amplitudes():
    """A Rice likelihood: its log-density goes through PyMC's own i0e op, the gradient through i1e."""
    with pm.Model() as model:
        nu = pm.HalfNormal("nu", 2.0)
        sigma = pm.HalfNormal("sigma", 1.0)
        pm.Rice("y", nu=nu, sigma=sigma, observed=np.abs(RESPONSE) + 0.1)
    return model


def censored_student_t():
    """A Student-t likelihood censored at +-1: its log-CDF and log-survival go through betainc, their
    gradients through PyTensor's ScalarLoop of betainc's derivative."""
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 2.0)
        sigma = pm.HalfNormal("sigma", 1.0)
        pm.Censored("y", pm.StudentT.dist(nu=4.0, mu=mu, sigma=sigma), lower=-1.0, upper=1.0,
                    observed=np.clip(RESPONSE, -1.0, 1.0))
    return model


def normal_mixture():
    """Three normal components with Dirichlet weights: the simplex transform (softmax, whose gradient is
    PyTensor 2.38's SoftmaxGrad) and the mixture's logsumexp."""
    with pm.Model() as model:
        weights = pm.Dirichlet("w", a=np.ones(3))
        mu = pm.Normal("mu", np.array([-2.0, 0.0, 2.0]), 1.0, shape=3)
        sigma = pm.HalfNormal("sigma", 1.0)
        pm.NormalMixture("y", w=weights, mu=mu, sigma=sigma, observed=RESPONSE)
    return model


def lkj_mvnormal():
    """A correlated bivariate normal: LKJCholeskyCov's packed Cholesky factor (the value variable named
    ``chol_cholesky-cov-packed__``) and MvNormal's Cholesky parametrisation."""
    with pm.Model() as model:
        chol, _, _ = pm.LKJCholeskyCov("chol", n=2, eta=2.0, sd_dist=pm.Exponential.dist(1.0, shape=2),
                                       compute_corr=True)
        pm.MvNormal("y", mu=np.zeros(2), chol=chol, observed=DESIGN[:, :2])
    return model


def hierarchical_dims():
    """Varying intercepts over ``coords``/``dims``: PyMC keeps the county count as a shared variable."""
    county = np.arange(12) % 3
    with pm.Model(coords={"county": ["a", "b", "c"], "obs": np.arange(12)}) as model:
        mu = pm.Normal("mu_a", 0.0, 2.0)
        sigma = pm.HalfNormal("sigma_a", 1.0)
        intercept = pm.Normal("a", mu, sigma, dims="county")
        pm.Normal("y", intercept[county], 0.5, observed=RESPONSE, dims="obs")
    return model


def truncated_normal():
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 2.0)
        sigma = pm.HalfNormal("sigma", 1.0)
        pm.Truncated("y", pm.Normal.dist(mu, sigma), lower=-1.0, upper=2.0, observed=np.clip(RESPONSE, -0.9, 1.9))
    return model


def gaussian_random_walk():
    with pm.Model() as model:
        sigma = pm.HalfNormal("sigma", 1.0)
        walk = pm.GaussianRandomWalk("walk", sigma=sigma, init_dist=pm.Normal.dist(0.0, 1.0), steps=7)
        pm.Normal("y", walk, 0.5, observed=np.sin(np.arange(8) * 0.6))
    return model


def ordered_logistic():
    with pm.Model() as model:
        cutpoints = pm.Normal("cutpoints", mu=np.array([-1.0, 1.0]), sigma=2.0, shape=2,
                              transform=pm.distributions.transforms.ordered)
        eta = pm.Normal("eta", 0.0, 1.0)
        pm.OrderedLogistic("y", eta=eta, cutpoints=cutpoints, observed=np.array([0, 1, 2, 1, 1, 0, 2, 2]))
    return model


def zero_inflated_poisson():
    with pm.Model() as model:
        psi = pm.Beta("psi", 2.0, 2.0)
        rate = pm.Gamma("rate", alpha=2.0, beta=0.5)
        pm.ZeroInflatedPoisson("counts", psi=psi, mu=rate, observed=np.array([0, 0, 3, 0, 5, 2, 0, 4]))
    return model


def scan_state_space():
    """A latent AR(1) written with ``pytensor.scan`` over its innovations (an ONNX Loop in the export)."""
    with pm.Model() as model:
        rho = pm.Normal("rho", 0.0, 0.5)
        innovations = pm.Normal("innovations", 0.0, 1.0, shape=10)
        states = pytensor.scan(lambda e, prev, r: r * prev + e, sequences=[innovations],
                               outputs_info=[pt.as_tensor_variable(np.float64(0.0))], non_sequences=[rho],
                               return_updates=False) if PYTENSOR_VERSION >= (3, 0) else \
            pytensor.scan(lambda e, prev, r: r * prev + e, sequences=[innovations],
                          outputs_info=[pt.as_tensor_variable(np.float64(0.0))], non_sequences=[rho])[0]
        pm.Normal("y", states, 0.3, observed=np.sin(np.arange(10) * 0.4))
    return model


def gp_marginal():
    x = np.linspace(0.0, 5.0, 6)[:, None]
    with pm.Model() as model:
        lengthscale = pm.Gamma("ls", alpha=2.0, beta=1.0)
        amplitude = pm.HalfNormal("eta", 1.0)
        noise = pm.HalfNormal("noise", 0.5)
        gp = pm.gp.Marginal(cov_func=amplitude**2 * pm.gp.cov.ExpQuad(1, ls=lengthscale))
        gp.marginal_likelihood("y", X=x, y=np.cos(x[:, 0]), sigma=noise)
    return model


@functools.cache
def _built(make_model):
    """(model, its log-density, [log-density, *gradient])."""
    model = make_model()
    logp = model.logp()
    return model, logp, [logp, *pytensor.grad(logp, model.value_vars)]


@functools.cache
def _scale_function(make_model):
    model, _, outputs = _built(make_model)
    terms = model.logp(sum=False)
    absolute = pt.add(*(pt.abs(term).sum() for term in terms))
    largest_gradient = pt.max(pt.stack([pt.abs(g).max() for g in outputs[1:]]))
    return pytensor.function(model.value_vars, (1.0 + absolute) * (1.0 + largest_gradient), mode="FAST_COMPILE",
                             on_unused_input="ignore")


def _model_row(name: str, make_model, values: dict[str, tuple[int, ...]], onnx_ops=()):
    """``values``: the model's value variables in order, name -> shape (written out, so that importing
    the registry builds no model; tests/harness/registry/test_pymc_models.py checks them)."""
    inputs = tuple(ModelInput(shape) for shape in values.values())

    def build(*points):
        model, _, outputs = _built(make_model)
        replace = {v: v.type.filter_variable(x, allow_convert=True) for v, x in zip(model.value_vars, points)}
        return graph_replace(outputs, replace, strict=False)

    def scale(example):
        with np.errstate(all="ignore"):
            return np.float64(_scale_function(make_model)(*example.arrays))

    spec = register(f"model:{name}", arity=len(inputs), dtypes=(MODEL_DTYPE,), build=build,
                    examples=lambda dtype, edge_cases: model_examples(dtype=dtype, inputs=inputs),
                    error_scale=scale, tolerance=GRAPH_BOUND, elementwise=False, signed_zeros=False,
                    ulp_dtype=lambda d: d, probe_ndim=tuple(len(i.shape) for i in inputs), onnx_ops=onnx_ops)
    MODELS[spec.name] = (make_model, values)
    return spec


MODELS: dict[str, tuple] = {}
"""Row name -> (model builder, declared value variables)."""

_model_row("linear_regression", linear_regression, {"beta": (3,), "sigma_log__": ()}, ("MatMul",))
_model_row("eight_schools_noncentred", eight_schools_noncentred, {"mu": (), "tau_log__": (), "offset": (8,)},
           ("Mul",))
_model_row("logistic_regression", logistic_regression, {"w": (3,), "b": ()}, ("MatMul",))
_model_row("poisson_gamma", poisson_gamma, {"rate_log__": ()}, ("Log",))
_model_row("gaussian_process", gaussian_process,
           {"lengthscale_log__": (), "amplitude_log__": (), "noise_log__": ()}, ("Loop",))
_model_row("ar1_time_series", ar1_time_series, {"rho": (), "sigma_log__": ()}, ("Sub",))
_model_row("censored_normal", censored_normal, {"mu": (), "sigma_log__": ()}, ("Exp", "Div"))
_model_row("rice_amplitudes", rice_amplitudes, {"nu_log__": (), "sigma_log__": ()}, ("Sqrt",))
_model_row("censored_student_t", censored_student_t, {"mu": (), "sigma_log__": ()}, ("Loop",))
_model_row("normal_mixture", normal_mixture, {"w_simplex__": (2,), "mu": (3,), "sigma_log__": ()}, ("Exp",))
_model_row("lkj_mvnormal", lkj_mvnormal, {"chol_cholesky-cov-packed__": (3,)}, ("Loop",))
_model_row("hierarchical_dims", hierarchical_dims, {"mu_a": (), "sigma_a_log__": (), "a": (3,)}, ("Gather",))
_model_row("truncated_normal", truncated_normal, {"mu": (), "sigma_log__": ()}, ("Log",))
_model_row("gaussian_random_walk", gaussian_random_walk, {"sigma_log__": (), "walk": (8,)}, ("Sub",))
_model_row("ordered_logistic", ordered_logistic, {"cutpoints_ordered__": (2,), "eta": ()}, ("Exp",))
_model_row("zero_inflated_poisson", zero_inflated_poisson, {"psi_logodds__": (), "rate_log__": ()}, ("Log",))
_model_row("scan_state_space", scan_state_space, {"rho": (), "innovations": (10,)}, ("Loop",))
_model_row("gp_marginal", gp_marginal, {"ls_log__": (), "eta_log__": (), "noise_log__": ()}, ("Loop",))
