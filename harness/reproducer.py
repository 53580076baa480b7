"""Standalone reproducers for failing cells: ``DIR/reproducers/<op>-<dtype>[-opsetN].{py,onnx,npz}``.

The script rebuilds the graph from the registry with the current exporter, runs PyTensor's py mode
and onnxruntime on the shrunk inputs (the ``.npz``), prints both outputs, and exits 1 while they
still diverge, 0 once fixed. The ``.onnx`` is the model as exported when the failure was found.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from backend import ONNX_OPSET_VERSION

_TEMPLATE = '''"""Reproducer for {op} ({dtype}), opset {opset}: written by pytensor-onnx-conformance.

Run from a checkout with the project installed:  python {script}
Exit status: 1 while onnxruntime and PyTensor still diverge on these inputs, 0 once they agree.
"""
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytensor

from backend import export_onnx
from harness.engine import compare_arrays
from harness.registry import ONNX_OPERATIONS, build_graph
from harness.testing import py_mode, reference_context

OP, DTYPE, OPSET = {op!r}, {dtype!r}, {opset!r}
STATIC_SHAPES = {static_shapes!r}
PARAMS = {params!r}

here = Path(__file__).resolve().parent
with np.load(here / {npz!r}) as data:
    arrays = [data[f"x{{i}}"] for i in range(len(data.files))]
spec = ONNX_OPERATIONS[OP]
inputs, output = build_graph(spec, DTYPE, STATIC_SHAPES, PARAMS)
for i, a in enumerate(arrays):
    print(f"input x{{i}} ({{a.dtype}}, shape {{a.shape}}):", np.array2string(a, precision=17))

with reference_context(), np.errstate(all="ignore"):
    expected = pytensor.function(inputs, output, mode=py_mode())(*arrays)
expected = [np.asarray(e) for e in expected] if isinstance(expected, list) else [np.asarray(expected)]
model = export_onnx(inputs, output, opset_version=OPSET)
session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
actual = session.run(None, {{i.name: a for i, a in zip(model.graph.input, arrays)}})
aspects = {{"dtype", "shape", "values"}} if spec.values_defined else {{"dtype", "shape"}}
problems = []
for k, (a, e) in enumerate(zip(actual, expected)):
    print(f"pytensor    (output {{k}}):", repr(e))
    print(f"onnxruntime (output {{k}}):", repr(a))
    problems += compare_arrays(a, e, max_ulp=spec.max_ulp(str(e.dtype)), signed_zeros=spec.signed_zeros,
                               aspects=aspects).problems
for problem in problems:
    print("DIVERGES:", problem)
print("still diverges" if problems else "fixed: outputs agree")
sys.exit(1 if problems else 0)
'''


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    write(tmp)
    os.replace(tmp, path)


def write_reproducer(out_dir: Path, spec, dtype: str, opset: int, example) -> str:
    """Write the script, the inputs and the model; returns the script's path relative to out_dir."""
    from harness.engine import ExportFailure, compile_signature, signature_of

    folder = Path(out_dir) / "reproducers"
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{spec.name}-{dtype}" + ("" if opset == ONNX_OPSET_VERSION else f"-opset{opset}")
    static_shapes = signature_of(example, elementwise=spec.elementwise)
    arrays = {f"x{i}": np.asarray(a) for i, a in enumerate(example.arrays)}
    _atomic_write(folder / f"{stem}.npz", lambda p: np.savez(open(p, "wb"), **arrays))
    try:
        model = compile_signature(spec.name, dtype, static_shapes, opset, example.params).model
        import onnx

        _atomic_write(folder / f"{stem}.onnx", lambda p: onnx.save(model, str(p)))
    except ExportFailure as exc:  # no model to save; the script will show the export error again
        message = exc.message
        _atomic_write(folder / f"{stem}.export-error.txt", lambda p: Path(p).write_text(message))
    script = _TEMPLATE.format(op=spec.name, dtype=dtype, opset=opset, static_shapes=static_shapes,
                              params=example.params,
                              npz=f"{stem}.npz", script=f"reproducers/{stem}.py")
    _atomic_write(folder / f"{stem}.py", lambda p: Path(p).write_text(script))
    return f"reproducers/{stem}.py"
