"""Real graphs for the speed matrix: what PyTensor users run, not single ops.

- logistic-regression loss with its gradient (w.r.t. weights and bias),
- an MLP forward pass (tanh hidden layer, softmax output),
- layer normalisation,
- log-sum-exp over the last axis,
- Scan recurrences (an ONNX Loop): a scalar AR(1) path, a tanh RNN with a vector state, and the
  RNN's gradient with respect to its weights (a reverse Scan); their size is the number of steps,
- matmul, solve and Cholesky (sizes: matrix sides), cumsum and sort (elements), and the registry's
  MvNormal log-density and Poisson GLM with their gradients (`harness.registry.graphs`).

Each graph is exported after PyTensor's rewrites (the "ONNX" mode), as a user exporting a model would
get it, and timed the same way as the single ops. To add a graph: a builder returning inputs, outputs
and a function that makes input arrays for a size, registered in `GRAPHS` with its sizes.

PyMC models (`run_model_benchmarks`, where PyMC is installed): each ``model:<name>`` row's
``model.logp_dlogp_function(ravel_inputs=True)``, the log-density and gradient call a sampler makes,
timed as PyMC compiles it (``default``: PyTensor's default mode), in the py, C and NUMBA modes, and
exported with `export_function_onnx` on onnxruntime at one thread and at its default threads. Its
size is the number of unconstrained parameters; models are added in ``harness/registry/pymc_models.py``.
The report's "real models" table puts both sections side by side: nodes, times, onnxruntime / default.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pytensor
import pytensor.tensor as pt

from backend.compat import PYTENSOR_VERSION
from harness.bench.timing import BACKENDS, compile_backend, measured_row
from harness.registry.graphs import mvnormal_logp, poisson_glm


def _logistic_regression(dtype):
    X, y, w, b = pt.matrix("X", dtype=dtype), pt.vector("y", dtype=dtype), pt.vector("w", dtype=dtype), \
        pt.scalar("b", dtype=dtype)
    p = pt.sigmoid(X @ w + b)
    loss = -pt.mean(y * pt.log(p) + (1 - y) * pt.log(1 - p))
    grads = pytensor.grad(loss, [w, b])

    def arrays(n, rng):
        features = 32
        return [rng.normal(size=(n, features)).astype(dtype), (rng.random(n) > 0.5).astype(dtype),
                (rng.normal(size=features) * 0.1).astype(dtype), np.asarray(0.1, dtype=dtype)]

    return [X, y, w, b], [loss, *grads], arrays


def _mlp(dtype):
    X, W1, b1, W2 = (pt.matrix("X", dtype=dtype), pt.matrix("W1", dtype=dtype), pt.vector("b1", dtype=dtype),
                     pt.matrix("W2", dtype=dtype))
    out = pt.special.softmax(pt.tanh(X @ W1 + b1) @ W2, axis=-1)

    def arrays(n, rng):
        return [rng.normal(size=(n, 64)).astype(dtype), (rng.normal(size=(64, 128)) * 0.1).astype(dtype),
                np.zeros(128, dtype), (rng.normal(size=(128, 10)) * 0.1).astype(dtype)]

    return [X, W1, b1, W2], [out], arrays


def _layer_norm(dtype):
    X, gamma = pt.matrix("X", dtype=dtype), pt.vector("gamma", dtype=dtype)
    mu = X.mean(axis=-1, keepdims=True)
    var = ((X - mu) ** 2).mean(axis=-1, keepdims=True)
    out = (X - mu) / pt.sqrt(var + 1e-5) * gamma

    def arrays(n, rng):
        return [rng.normal(size=(n, 256)).astype(dtype), np.ones(256, dtype)]

    return [X, gamma], [out], arrays


def _logsumexp(dtype):
    X = pt.matrix("X", dtype=dtype)

    def arrays(n, rng):
        return [rng.normal(size=(n, 256)).astype(dtype)]

    return [X], [pt.logsumexp(X, axis=-1)], arrays


def _scan(fn, **kwargs):
    return pytensor.scan(fn, return_updates=False, **kwargs)


def _ar1_path(dtype):
    phi, x0, noise = pt.scalar("phi", dtype=dtype), pt.scalar("x0", dtype=dtype), pt.vector("noise", dtype=dtype)
    path = _scan(lambda e, previous, p: p * previous + e, sequences=noise, outputs_info=x0, non_sequences=phi)

    def arrays(steps, rng):
        return [np.asarray(0.9, dtype), np.asarray(0.0, dtype), rng.normal(size=steps).astype(dtype)]

    return [phi, x0, noise], [path], arrays


RNN_STATE = 16


def _rnn(dtype, *, gradient: bool):
    w, h0, xs = pt.matrix("w", dtype=dtype), pt.vector("h0", dtype=dtype), pt.matrix("xs", dtype=dtype)
    states = _scan(lambda x_t, h, w_: pt.tanh(w_ @ h + x_t), sequences=xs, outputs_info=h0, non_sequences=w)
    outputs = [states[-1], pytensor.grad(states[-1].sum(), w)] if gradient else [states]

    def arrays(steps, rng):
        return [(rng.normal(size=(RNN_STATE, RNN_STATE)) / RNN_STATE).astype(dtype), np.zeros(RNN_STATE, dtype),
                rng.normal(size=(steps, RNN_STATE)).astype(dtype)]

    return [w, h0, xs], outputs, arrays


def _matmul(dtype):
    X, Y = pt.matrix("X", dtype=dtype), pt.matrix("Y", dtype=dtype)

    def arrays(n, rng):
        return [rng.normal(size=(n, n)).astype(dtype), rng.normal(size=(n, n)).astype(dtype)]

    return [X, Y], [X @ Y], arrays


def _well_conditioned(n, rng, dtype):
    root = rng.normal(size=(n, n))
    return (root @ root.T + n * np.eye(n)).astype(dtype)


def _solve(dtype):
    A, b = pt.matrix("A", dtype=dtype), pt.vector("b", dtype=dtype)

    def arrays(n, rng):
        return [_well_conditioned(n, rng, dtype), rng.normal(size=n).astype(dtype)]

    return [A, b], [pt.linalg.solve(A, b, b_ndim=1)], arrays


def _cholesky(dtype):
    A = pt.matrix("A", dtype=dtype)

    def arrays(n, rng):
        return [_well_conditioned(n, rng, dtype)]

    return [A], [pt.linalg.cholesky(A)], arrays


def _matrix_op(function, matrix):
    """A graph of one square matrix: ``function(A)``'s outputs, A = ``matrix(n, rng, dtype)``."""
    def build(dtype):
        A = pt.matrix("A", dtype=dtype)

        def arrays(n, rng):
            return [matrix(n, rng, dtype)]

        outputs = function(A)
        return [A], list(outputs) if isinstance(outputs, list | tuple) else [outputs], arrays
    return build


def _eigenvalues(A):
    """eigvalsh(A); PyTensor 2.38 builds only the generalized form, so there against the identity
    (the same eigenvalues, after a Cholesky factor of I and two triangular solves)."""
    if PYTENSOR_VERSION >= (3, 0):
        return pt.linalg.eigvalsh(A, None)
    return pt.linalg.eigvalsh(A, pt.eye(A.shape[0], dtype=A.dtype))


def _unit_scale(n, rng, dtype):
    """Entries of size 1 / sqrt(n): a norm near 1 whatever n (expm of it stays in range)."""
    return (rng.normal(size=(n, n)) / np.sqrt(n)).astype(dtype)


def _vector_op(function):
    def build(dtype):
        x = pt.vector("x", dtype=dtype)

        def arrays(n, rng):
            return [rng.normal(size=n).astype(dtype)]

        return [x], [function(x)], arrays
    return build


def _mvnormal(dtype):
    S, x, mu = pt.matrix("S", dtype=dtype), pt.vector("x", dtype=dtype), pt.vector("mu", dtype=dtype)

    def arrays(n, rng):
        return [_well_conditioned(n, rng, dtype), rng.normal(size=n).astype(dtype), np.zeros(n, dtype)]

    return [S, x, mu], mvnormal_logp(S, x, mu), arrays


def _poisson(dtype):
    X, y, w, b = pt.matrix("X", dtype=dtype), pt.vector("y", dtype=dtype), pt.vector("w", dtype=dtype), \
        pt.scalar("b", dtype=dtype)

    def arrays(n, rng):
        return [rng.normal(size=(n, 16)).astype(dtype), rng.poisson(2.0, size=n).astype(dtype),
                (rng.normal(size=16) * 0.1).astype(dtype), np.asarray(0.1, dtype)]

    return [X, y, w, b], poisson_glm(X, y, w, b), arrays


GRAPH_ROWS = (100, 10_000)
SCAN_STEPS = (1_000, 100_000)
GRAPHS = {
    "logistic_regression_loss_grad": (_logistic_regression, GRAPH_ROWS),
    "mlp_forward_softmax": (_mlp, GRAPH_ROWS),
    "layer_norm": (_layer_norm, GRAPH_ROWS),
    "logsumexp": (_logsumexp, GRAPH_ROWS),
    "scan_ar1_scalar_state": (_ar1_path, SCAN_STEPS),
    "scan_tanh_rnn_vector_state": (lambda dtype: _rnn(dtype, gradient=False), SCAN_STEPS),
    # the reverse Scan's mit-mot buffer is copied every step on onnxruntime (ScatterND): its time grows
    # with the square of the steps, 1e5 steps would take minutes per call
    "scan_tanh_rnn_weight_gradient": (lambda dtype: _rnn(dtype, gradient=True), (1_000, 10_000)),
    # the performance list: three sizes each (matrix sides for the linear algebra, elements
    # for cumsum and sort); Cholesky and solve are Loops of one step per column
    "matmul": (_matmul, (16, 128, 512)),
    "solve": (_solve, (16, 64, 256)),
    "cholesky": (_cholesky, (16, 64, 256)),
    # the decompositions composed since: Jacobi's method (eigvalsh) needs 6-8 sweeps of n - 1 Loop steps
    # of O(n^3) each, so its sizes stop at 64; QR is one Householder step per column, expm a Pade
    # solve and a few squarings
    "eigvalsh": (_matrix_op(_eigenvalues, _well_conditioned), (16, 64)),
    "qr": (_matrix_op(pt.linalg.qr, _well_conditioned), (16, 64, 256)),
    "expm": (_matrix_op(pt.linalg.expm, _unit_scale), (16, 64, 256)),
    "cumsum": (_vector_op(pt.cumsum), (1_000, 100_000, 1_000_000)),
    "sort": (_vector_op(pt.sort), (1_000, 100_000, 1_000_000)),
    "mvnormal_logp_grad": (_mvnormal, (8, 32, 128)),
    "poisson_glm_loss_grad": (_poisson, GRAPH_ROWS),
}
"""name -> (builder, sizes): rows of data for the models, steps for the Scans."""


def run_graph_benchmarks(*, repeat: int = 7, dtypes=("float32", "float64"), names=None,
                         optimization_level: str = "all") -> list[dict]:
    """Time every graph of `GRAPHS` (or those in ``names``) at each of its sizes on every backend."""
    records = []
    rng = np.random.default_rng(0)
    for name, (builder, sizes) in GRAPHS.items():
        if names is not None and name not in names:
            continue
        for dtype in dtypes:
            inputs, outputs, make_arrays = builder(dtype)
            for n in sizes:
                arrays = make_arrays(n, rng)
                for backend_name in BACKENDS:
                    records.append(measured_row(
                        "graphs", name, dtype, n, backend_name,
                        partial(compile_backend, backend_name, inputs, outputs, arrays, rewritten=True,
                                optimization_level=optimization_level),
                        repeat=repeat))
    return records


MODEL_BACKENDS = BACKENDS
"""``default``: the function as PyMC compiles it (PyTensor's default mode); py, c and numba: PyTensor's
Python linker without rewrites and its C and NUMBA modes, as in the other sections."""


def _model_call(backend_name: str, make_model, size: int, optimization_level: str = "all"):
    """(callable, one-off seconds) of a model's logp+gradient call on a backend, at a fixed point of
    ``size`` unconstrained parameters."""
    import time

    from pytensor.compile.mode import Mode, get_mode

    from backend import export_function_onnx
    from backend.linker import make_session

    start = time.perf_counter()
    modes = {"py": Mode(linker="py", optimizer=None), "c": get_mode("C"), "numba": get_mode("NUMBA")}
    compile_kwargs = {"mode": modes[backend_name]} if backend_name in modes else {}
    compiled = make_model().logp_dlogp_function(ravel_inputs=True, **compile_kwargs)
    compiled.set_extra_values({})
    point = np.linspace(-0.5, 0.5, size)
    if backend_name.startswith("onnxruntime"):
        model = export_function_onnx(compiled)
        session = make_session(model, intra_op_num_threads=1 if backend_name.endswith("1thread") else None,
                               optimization_level=optimization_level)
        feed = {"joined_inputs": point}
        call = lambda: session.run(None, feed)  # noqa: E731
        call.onnx_model = model
    else:
        call = lambda: compiled(point)  # noqa: E731
    call()
    return call, time.perf_counter() - start


def run_model_benchmarks(*, repeat: int = 7, names=None, optimization_level: str = "all") -> list[dict]:
    """Time every PyMC model row (or those in ``names``, row names ``model:<name>``) on every backend
    of `MODEL_BACKENDS`; raises ImportError where PyMC is not installed."""
    from harness.registry.pymc_models import MODEL_DTYPE, MODELS

    records = []
    for name, (make_model, values) in MODELS.items():
        if names is not None and name not in names:
            continue
        size = sum(int(np.prod(shape)) for shape in values.values())
        for backend_name in MODEL_BACKENDS:
            records.append(measured_row(
                "models", name, MODEL_DTYPE, size, backend_name,
                partial(_model_call, backend_name, make_model, size, optimization_level), repeat=repeat))
    return records
