"""Standalone reproducers for failing cells: ``DIR/reproducers/<stem>.{py,onnx,npz}``, the stem a safe
slug of op, dtype and opset plus a short hash (`common.files.safe_stem`), so any op name stays a file
inside ``reproducers/``.

The script holds only data, as Python literals (`repr`), never pasted into code or docstring text (op, dtype, opset, drawn parameters, plugins) and calls `replay`, which
rebuilds the entry from the registry with the current exporter and reaches its verdict through the
engine's own `reproduce`: the same comparison, ULP bounds, ``ulp_dtype``, ``error_scale`` and both
onnxruntime optimization levels as the matrix. It prints the inputs and every output, and exits 1
while the example diverges, 0 once it agrees. The ``.onnx`` is the model as exported when the
failure was found, for readers who want to run it elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from common.files import atomic_write, safe_stem
from harness.plugins import load_plugins

_TEMPLATE = '''"""Reproducer for one cell of the conformance matrix (OP, DTYPE, OPSET below): written by
pytensor-onnx-conformance.

Run from a checkout with the project installed:  python {script}
Exit status: 1 while onnxruntime and PyTensor still diverge on these inputs (judged as the
conformance matrix judges them), 0 once they agree.
"""
import sys
from pathlib import Path

from harness.conformance.reproducer import replay

OP = {op!r}
DTYPE = {dtype!r}
OPSET = {opset!r}

sys.exit(replay(op=OP, dtype=DTYPE, opset=OPSET, params={params!r}, plugins={plugins!r},
                inputs=Path(__file__).resolve().with_name({npz!r}), constants={constants!r}))
'''


def write_reproducer(out_dir: Path, spec, dtype: str, opset: int, example, plugins=()) -> str:
    """Write the script, the inputs and the model; returns the script's path relative to out_dir."""
    from harness.conformance.engine import ExportFailure, compile_signature, constants_key, signature_of

    folder = Path(out_dir) / "reproducers"
    folder.mkdir(parents=True, exist_ok=True)
    stem = safe_stem(spec.name, dtype, f"opset{opset}")
    arrays = {f"x{i}": np.asarray(a) for i, a in enumerate(example.arrays)}

    def save_inputs(path):
        with open(path, "wb") as f:
            np.savez(f, **arrays)

    atomic_write(folder / f"{stem}.npz", save_inputs)
    try:
        model = compile_signature(spec.name, dtype, signature_of(example, elementwise=spec.elementwise), opset,
                                  example.params, constants_key(example)).model
        import onnx

        atomic_write(folder / f"{stem}.onnx", lambda p: onnx.save(model, str(p)))
    except ExportFailure as exc:  # no model to save; the script will show the export error again
        message = exc.message
        atomic_write(folder / f"{stem}.export-error.txt", lambda p: Path(p).write_text(message))
    script = _TEMPLATE.format(op=spec.name, dtype=dtype, opset=opset, params=example.params, plugins=list(plugins),
                              constants=tuple(example.constants),
                              npz=f"{stem}.npz", script=f"reproducers/{stem}.py")
    atomic_write(folder / f"{stem}.py", lambda p: Path(p).write_text(script))
    return f"reproducers/{stem}.py"


def replay(*, op: str, dtype: str, opset: int, params: tuple, plugins: list[str], inputs: Path,
           constants: tuple = ()) -> int:
    """Run a saved example through the engine, print what both sides computed; 1 if it diverges."""
    load_plugins(plugins)
    from harness.conformance.engine import reproduce
    from harness.registry import ONNX_OPERATIONS
    from strategies.values import ArrayExample

    with np.load(inputs) as data:
        arrays = tuple(data[f"x{i}"] for i in range(len(data.files)))
    example = ArrayExample(arrays, tuple(a.shape for a in arrays), tuple(a.dtype.name for a in arrays),
                           tuple(params), tuple(constants))
    result = reproduce(ONNX_OPERATIONS[op], dtype, example, opset=opset)
    outcome = result.outcome
    with np.printoptions(precision=17):
        for i, a in enumerate(arrays):
            held = " (held by the graph as a constant)" if i in example.constants else ""
            print(f"input x{i} ({a.dtype}, shape {a.shape}){held}:", np.array2string(a))
        for k, e in enumerate(outcome.expected or []):
            print(f"pytensor                  (output {k}):", repr(e))
        for level, outputs in (outcome.actual or {}).items():
            for k, a in enumerate(outputs):
                print(f"onnxruntime ({level:>11}) (output {k}):", repr(np.asarray(a)))
    if outcome.detail:
        print(("DIVERGES: " if result.diverges else "note: ") + outcome.detail)
    for declaration in result.declared:
        print(f"declared as {declaration.label}: {declaration.reason}")
    print("still diverges" if result.diverges else "fixed: outputs agree")
    return 1 if result.diverges else 0
