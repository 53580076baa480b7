"""Real graphs for the speed matrix: what PyTensor users run, not single ops.

- logistic-regression loss with its gradient (w.r.t. weights and bias),
- an MLP forward pass (tanh hidden layer, softmax output),
- layer normalisation,
- log-sum-exp over the last axis.

Each graph is exported after PyTensor's rewrites (the "ONNX" mode), as a user exporting a model would
get it, and timed the same way as the single ops. To add a graph: a builder returning inputs, outputs
and a function that makes input arrays for a size, registered in `GRAPHS`.
"""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt

from harness.timing import BACKENDS, compile_backend, describe_unavailable, time_call


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


GRAPHS = {"logistic_regression_loss_grad": _logistic_regression, "mlp_forward_softmax": _mlp,
          "layer_norm": _layer_norm, "logsumexp": _logsumexp}
GRAPH_ROWS = (100, 10_000)


def run_graph_benchmarks(*, repeat: int = 7, dtypes=("float32", "float64"), rows=GRAPH_ROWS) -> list[dict]:
    records = []
    rng = np.random.default_rng(0)
    for name, builder in GRAPHS.items():
        for dtype in dtypes:
            inputs, outputs, make_arrays = builder(dtype)
            for n in rows:
                arrays = make_arrays(n, rng)
                for backend_name in BACKENDS:
                    row = {"section": "graphs", "op": name, "dtype": dtype, "size": n, "backend": backend_name,
                           "median_s": float("nan"), "iqr_s": float("nan"), "one_off_s": float("nan"), "note": "",
                           "bytes_moved": float("nan"), "bandwidth_bound_s": float("nan")}
                    try:
                        fn, one_off = compile_backend(backend_name, inputs, outputs, arrays, rewritten=True)
                        timing = time_call(fn, repeat=repeat)
                        row.update(median_s=timing.median_s, iqr_s=timing.iqr_s, one_off_s=one_off)
                    except Exception as exc:  # recorded in the report, the other backends still run
                        row["note"] = describe_unavailable(exc)
                    records.append(row)
    return records
