"""onnxruntime optimizer bug: A Loop whose carried state has a static size-0 dimension fails session creation

Needs only onnx, onnxruntime and numpy:  python repro.py
Exit status 1 while the bug shows, 0 once onnxruntime gives the expected outputs.
Written by pytensor-onnx-conformance (harness/fuzz/upstream.py).
"""
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

HERE = Path(__file__).resolve().parent
KIND = 'optimizer'
TOLERANCE = 0.0  # relative to each output's largest finite magnitude


def run(level):
    options = ort.SessionOptions()
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    options.intra_op_num_threads = 1
    try:
        session = ort.InferenceSession(str(HERE / "model.onnx"), options, providers=["CPUExecutionProvider"])
        return [np.asarray(v) for v in session.run(None, feeds)]
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".split("\n")[0]


def differs(got, expected):
    if isinstance(got, str) or isinstance(expected, str):
        return got != expected
    for a, e in zip(got, expected):
        if a.dtype != e.dtype or a.shape != e.shape:
            return True
        if a.dtype.kind not in "fc":
            if not np.array_equal(a, e):
                return True
            continue
        x, y = a.astype(np.float64).ravel(), e.astype(np.float64).ravel()
        if (np.isnan(x) != np.isnan(y)).any() or (np.isinf(x) != np.isinf(y)).any() or (x[np.isinf(x)] != y[np.isinf(y)]).any():
            return True
        zeros = (x == 0) & (y == 0)
        if (np.signbit(x[zeros]) != np.signbit(y[zeros])).any():
            return True
        finite = np.isfinite(x) & np.isfinite(y)
        scale = max(float(np.abs(y[finite]).max(initial=0.0)), np.finfo(np.float64).tiny)
        if float(np.abs(x[finite] - y[finite]).max(initial=0.0)) > TOLERANCE * scale:
            return True
    return False


with np.load(HERE / "inputs.npz") as data:
    feeds = {name: data[name] for name in data.files}
got = run("ORT_ENABLE_ALL")
if KIND == "optimizer":  # what the same model gives without graph optimizations is the expected result
    expected = run("ORT_DISABLE_ALL")
else:  # onnx's reference evaluator is the expected result
    from onnx.reference import ReferenceEvaluator

    expected = [np.asarray(v) for v in ReferenceEvaluator(onnx.load(str(HERE / "model.onnx"))).run(None, feeds)]
print("onnx", onnx.__version__, "onnxruntime", ort.__version__, "numpy", np.__version__)
with np.printoptions(precision=17, threshold=50):
    print("expected:", expected)
    print("got:     ", got)
bug = differs(got, expected)
print("the bug shows" if bug else "no bug: onnxruntime gives the expected outputs")
sys.exit(1 if bug else 0)
