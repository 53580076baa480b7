"""``python -m backend [FILE]``: export a small demo graph, run it on onnxruntime, compare with PyTensor.

A smoke test of an installation: it exports ``(x * 2 + 3) / 4`` for a float32 vector ``x`` with
Python int literals, checks the model, runs it and prints both results.
"""

import sys

import numpy as np
import onnxruntime as ort
import pytensor
import pytensor.tensor as pt
from pytensor.compile.mode import Mode

from backend import export_onnx


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    filename = argv[0] if argv else "demo.onnx"
    x = pt.vector("x", dtype="float32")
    y = (x * 2 + 3) / 4
    model = export_onnx([x], y, filename)
    value = np.array([-1.5, 0.0, 1.0, 2.5], dtype="float32")
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"x": value})
    want = pytensor.function([x], y, mode=Mode(linker="py", optimizer=None))(value)
    print(f"wrote {filename} (opset {model.opset_import[0].version}, IR {model.ir_version})")
    print(f"onnxruntime: {got!r}\npytensor:    {want!r}")
    same = got.dtype == want.dtype and np.array_equal(got, want)
    print("match" if same else "MISMATCH")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
