"""Upstream reports: a divergence that is onnxruntime's own, handed over as an ONNX-only bundle.

A fuzz finding is onnxruntime's when its optimized session differs from (or fails where) the
unoptimized one runs (check ``optimizer``), or when onnxruntime differs from onnx's reference
evaluator and the reference evaluator agrees with PyTensor (check ``kernel``). `write_bundle` writes
``<folder>/model.onnx``, ``inputs.npz``, ``repro.py`` (needs only onnx, onnxruntime and numpy; exits 1
while the bug shows, 0 once it is gone) and ``README.md`` (issue-ready: versions, expected against
got, the graph optimization levels and the onnxruntime rewrites whose disabling makes it pass).
``harness fuzz`` writes one per such finding under ``DIR/upstream/<key>/``; the repository's
``upstream/`` folder keeps the confirmed ones, each checked by ``tests/test_upstream.py``.

To extend: another kind of runtime bug is a `classify` case; `ORT_REWRITES` lists the rewrite names
`passes_with` tries (onnxruntime's rule and transformer names, from its graph_transformer_utils.cc).
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import numpy as np

from common.files import atomic_write

ORT_REWRITES = (
    # level 1 rewrite rules
    "EliminateIdentity", "EliminateSlice", "UnsqueezeElimination", "EliminateDropout", "ExpandElimination",
    "CastElimination", "PreShapeNodeElimination", "NoopElimination", "DivMulFusion", "FuseReluClip",
    "GemmSumFusion", "GemmTransposeFusion", "NotWhereFusion", "PadFusion",
    # level 1 transformers
    "ConstantSharing", "CommonSubexpressionElimination", "ConstantFolding", "MatMulAddFusion", "ReshapeFusion",
    "GeluFusion", "LayerNormFusion", "TransposeOptimizer",
    # level 2 transformers that act on the ops the exporter emits
    "MatMulScaleFusion", "MatmulTransposeFusion", "GemmActivationFusion", "MatMulActivationFusion",
    "BiasSoftmaxFusion", "SkipLayerNormFusion", "FastGeluFusion", "QuickGeluFusion", "NchwcTransformer",
)

_LEVELS = ("ORT_DISABLE_ALL", "ORT_ENABLE_BASIC", "ORT_ENABLE_EXTENDED", "ORT_ENABLE_ALL")


def run_onnxruntime(model_bytes: bytes, feeds: dict, level: str = "ORT_ENABLE_ALL", disabled: tuple = ()):
    """The outputs of onnxruntime (1 thread) at a graph optimization ``level`` with rewrites ``disabled``,
    or the text of the exception it raised."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"],
                                       disabled_optimizers=list(disabled))
        return [np.asarray(v) for v in session.run(None, feeds)]
    except Exception as exc:  # noqa: BLE001  the failure is the result: reported as text
        return f"{type(exc).__name__}: {exc}".split("\n")[0]


def difference(got, expected, tolerance: float) -> str:
    """'' when ``got`` matches ``expected`` (shapes, dtypes, NaN positions, signs of zero, values within
    ``tolerance`` relative to each output's largest magnitude), else what differs first."""
    if isinstance(got, str) or isinstance(expected, str):
        return "" if got == expected else f"{got if isinstance(got, str) else 'outputs'} vs " \
                                          f"{expected if isinstance(expected, str) else 'outputs'}"
    if len(got) != len(expected):
        return f"{len(got)} outputs vs {len(expected)}"
    for k, (a, e) in enumerate(zip(got, expected)):
        if a.dtype != e.dtype or a.shape != e.shape:
            return f"output {k}: {a.dtype}{list(a.shape)} vs {e.dtype}{list(e.shape)}"
        if a.dtype.kind not in "fc":
            if not np.array_equal(a, e):
                return f"output {k}: {a.ravel()[np.flatnonzero(a.ravel() != e.ravel())[0]]!r} differs"
            continue
        x, y = a.astype(np.float64).ravel(), e.astype(np.float64).ravel()
        if (np.isnan(x) != np.isnan(y)).any():
            return f"output {k}: NaN positions differ"
        inf_x, inf_y = np.isinf(x), np.isinf(y)
        if (inf_x != inf_y).any() or (x[inf_x] != y[inf_y]).any():
            return f"output {k}: infinities differ"
        zeros = (x == 0) & (y == 0)
        if (np.signbit(x[zeros]) != np.signbit(y[zeros])).any():
            return f"output {k}: signs of zero differ"
        finite = np.isfinite(x)
        scale = max(float(np.abs(y[finite]).max(initial=0.0)), np.finfo(np.float64).tiny)
        error = float(np.abs(x[finite] - y[finite]).max(initial=0.0))
        if error > tolerance * scale:
            i = int(np.flatnonzero(finite)[np.argmax(np.abs(x[finite] - y[finite]))])
            return f"output {k}[{i}]: {x[i]!r} vs {y[i]!r} (relative error {error / scale:.3g})"
    return ""


def reference_outputs(model, feeds: dict):
    """onnx's reference evaluator's outputs, or the text of its exception."""
    from onnx.reference import ReferenceEvaluator

    try:
        return [np.asarray(v) for v in ReferenceEvaluator(model).run(None, feeds)]
    except Exception as exc:  # noqa: BLE001  the evaluator lacking an op or failing is reported as text
        return f"{type(exc).__name__}: {exc}".split("\n")[0]


def classify(model, feeds: dict, pytensor_outputs: list, tolerance: float) -> str | None:
    """'optimizer', 'kernel' or None (not shown to be onnxruntime's): see the module docstring."""
    model_bytes = model.SerializeToString()
    optimized = run_onnxruntime(model_bytes, feeds)
    unoptimized = run_onnxruntime(model_bytes, feeds, "ORT_DISABLE_ALL")
    if difference(optimized, unoptimized, tolerance) and not isinstance(unoptimized, str):
        return "optimizer"
    reference = reference_outputs(model, feeds)
    if isinstance(reference, str) or difference(reference, pytensor_outputs, tolerance):
        return None
    return "kernel" if difference(unoptimized, reference, tolerance) else None


def passes_with(model_bytes: bytes, feeds: dict, expected, tolerance: float) -> dict:
    """Which graph optimization levels, and which single disabled rewrites at the default level, give
    ``expected``."""
    return {"levels": [level for level in _LEVELS
                       if not difference(run_onnxruntime(model_bytes, feeds, level), expected, tolerance)],
            "disabled_optimizers": [name for name in ORT_REWRITES if not difference(
                run_onnxruntime(model_bytes, feeds, "ORT_ENABLE_ALL", (name,)), expected, tolerance)]}


_REPRO = '''"""onnxruntime {kind} bug: {title}

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
KIND = {kind!r}
TOLERANCE = {tolerance!r}  # relative to each output's largest finite magnitude


def run(level):
    options = ort.SessionOptions()
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    options.intra_op_num_threads = 1
    try:
        session = ort.InferenceSession(str(HERE / "model.onnx"), options, providers=["CPUExecutionProvider"])
        return [np.asarray(v) for v in session.run(None, feeds)]
    except Exception as exc:
        return f"{{type(exc).__name__}}: {{exc}}".split("\\n")[0]


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
    feeds = {{name: data[name] for name in data.files}}
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
'''


def _versions() -> dict:
    import onnx
    import onnxruntime

    return {"onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__, "numpy": np.__version__,
            "python": sys.version.split()[0], "platform": platform.platform()}


def write_bundle(folder: Path, model, feeds: dict, *, kind: str, title: str, tolerance: float,
                 context: str = "") -> Path:
    """The bundle of the module docstring in ``folder``; returns ``folder``. ``kind``: 'optimizer' or
    'kernel'; ``context``: where the model came from (a sentence for the README)."""
    import onnx

    if kind not in ("optimizer", "kernel"):
        raise ValueError(f"write_bundle: kind must be 'optimizer' or 'kernel', got kind={kind!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model_bytes = model.SerializeToString()
    expected = run_onnxruntime(model_bytes, feeds, "ORT_DISABLE_ALL") if kind == "optimizer" \
        else reference_outputs(model, feeds)
    got = run_onnxruntime(model_bytes, feeds)
    fixes = passes_with(model_bytes, feeds, expected, tolerance)
    atomic_write(folder / "model.onnx", lambda p: onnx.save(model, str(p)))

    def save_inputs(path):
        with open(path, "wb") as f:
            np.savez(f, **feeds)

    atomic_write(folder / "inputs.npz", save_inputs)
    atomic_write(folder / "repro.py", lambda p: Path(p).write_text(_REPRO.format(
        kind=kind, title=title.replace('"""', "'''"), tolerance=float(tolerance))))
    versions = _versions()
    what = ("onnxruntime's optimized session gives a different result from the same model without graph "
            "optimizations" if kind == "optimizer" else
            "onnxruntime's CPU kernels give a different result from onnx's reference evaluator")
    with np.printoptions(precision=17, threshold=50):
        readme = "\n".join([
            f"# onnxruntime: {title}", "",
            f"{what}. {context}".strip(), "",
            "## Versions", "",
            *[f"- {name}: {value}" for name, value in versions.items()], "",
            "## Reproduce", "",
            "```", "python repro.py   # model.onnx and inputs.npz beside it; exit 1 while the bug shows", "```", "",
            "## Expected (" + ("ORT_DISABLE_ALL" if kind == "optimizer" else "onnx.reference.ReferenceEvaluator") + ")",
            "", "```", repr(expected), "```", "",
            "## Got (default session options, ORT_ENABLE_ALL)", "", "```", repr(got), "```", "",
            "## Passes with", "",
            f"- graph optimization levels: {', '.join(fixes['levels']) or 'none'}",
            "- a single rewrite disabled at the default level (`disabled_optimizers=[...]`): "
            f"{', '.join(fixes['disabled_optimizers']) or 'none of ' + str(len(ORT_REWRITES)) + ' tried'}", ""])
    atomic_write(folder / "README.md", lambda p: Path(p).write_text(readme))
    summary = dict(kind=kind, title=title, versions=versions, passes_with=fixes)
    atomic_write(folder / "bundle.json", lambda p: Path(p).write_text(json.dumps(summary, indent=1) + "\n"))
    return folder
