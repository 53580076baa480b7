"""Standalone reproducers for fuzzed graphs: fuzz findings (``DIR/reproducers/finding-<key>.{py,onnx,npz}``)
and failing mixed-dtype cells of the matrix (``DIR/reproducers/<op>-mixed-opset<N>-<hash>.*``, judged
strictly; `common.files.safe_stem`).

The script holds the graph (inputs, nodes, outputs) as Python literals (`repr`) and its arrays, shows
the graph's PyTensor code as comment lines (each line's unprintable characters escaped, so no name
can end a comment or a string), and calls `replay_fuzz`, which judges
it again with `harness.fuzz.judge`; it exits 1 while the graph diverges, 0 once it agrees.

To extend: what a fuzzed graph is made of is `harness.fuzz.programs.Program`; the script stores it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from common.files import atomic_write
from harness.plugins import load_plugins

_FUZZ_TEMPLATE = '''"""Reproducer for a graph judged by harness/fuzz/ (the check in CHECK below): written by
pytensor-onnx-conformance.

Run from a checkout with the project installed:  python {script}
Exit status: 1 while the graph still diverges (judged as {judged_as} judges it), 0 once it agrees.
"""
# The graph, as PyTensor code (ONNX_OPERATIONS is harness.registry's):
{source}
import sys
from pathlib import Path

import numpy as np  # noqa: F401  (node parameters may be numpy scalars)

from harness.fuzz.reproducer import replay_fuzz

CHECK = {check!r}

sys.exit(replay_fuzz(inputs={inputs!r}, nodes={nodes!r}, outputs={outputs!r}, plugins={plugins!r},
                     arrays=Path(__file__).resolve().with_name({npz!r}), strict={strict!r}, opset={opset!r},
                     gradient={gradient!r}))
'''


def write_fuzz_reproducer(out_dir: Path, stem: str, program, check: str, plugins=(), *, strict: bool = False,
                          opset: int | None = None) -> str:
    """Script, inputs (and constants) and the as-built model of a fuzzed graph; returns the script's
    path relative to out_dir. ``strict``/``opset``: judged as a mixed-dtype cell is (`harness.fuzz.judge`)."""
    folder = Path(out_dir) / "reproducers"
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {f"input:{name}": np.asarray(v) for (name, _, _), v in zip(program.inputs, program.values)}
    arrays.update({f"constant:{name}": np.asarray(c) for name, c in program.constants.items()})

    def save_arrays(path):
        with open(path, "wb") as f:
            np.savez(f, **arrays)

    atomic_write(folder / f"{stem}.npz", save_arrays)
    try:
        import onnx

        from backend import export_onnx

        inputs, _, outputs = program.build()
        model = export_onnx(inputs, outputs, **({} if opset is None else {"opset_version": opset}))
        atomic_write(folder / f"{stem}.onnx", lambda p: onnx.save(model, str(p)))
    except Exception as exc:  # the finding may be the export failing: keep why; the script shows it again
        message = f"{type(exc).__name__}: {exc}"
        atomic_write(folder / f"{stem}.export-error.txt", lambda p: Path(p).write_text(message))
    script = _FUZZ_TEMPLATE.format(
        check=check, source="\n".join(f"#     {_printable(line)}" for line in program.source().splitlines()),
        script=f"reproducers/{stem}.py", inputs=[(n, d, tuple(s)) for n, d, s in program.inputs],
        nodes=[(node.op, tuple(node.operands), node.params, node.dtype, node.outputs, node.unpack)
               for node in program.nodes], outputs=list(program.outputs),
        gradient=(program.cost, tuple(program.wrt), program.kind),
        plugins=list(plugins), npz=f"{stem}.npz", strict=strict, opset=opset,
        judged_as="a mixed-dtype cell of `harness run`" if strict else "`harness fuzz`")
    atomic_write(folder / f"{stem}.py", lambda p: Path(p).write_text(script))
    return f"reproducers/{stem}.py"


def _printable(line: str) -> str:
    """``line`` with every unprintable character (line and paragraph separators, NUL, ...) escaped."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in line)


def replay_fuzz(*, inputs, nodes, outputs, plugins, arrays: Path, strict: bool = False, opset: int | None = None,
                gradient: tuple = ("", (), "elementwise")) -> int:
    """Judge a saved fuzzed graph again; print the verdict; 1 while it is a finding."""
    load_plugins(plugins)
    from harness.fuzz.judge import judge
    from harness.fuzz.programs import Node, Program

    with np.load(arrays) as data:
        values = [data[f"input:{name}"] for name, _, _ in inputs]
        constants = {key.split(":", 1)[1]: data[key] for key in data.files if key.startswith("constant:")}
    cost, wrt, kind = gradient
    program = Program([tuple(i) for i in inputs], constants, [Node(node[0], tuple(node[1]), *node[2:]) for node in nodes],
                      list(outputs), values, cost, tuple(wrt), kind)
    verdict = judge(program, default_mode=not strict, strict=strict, opset=opset)
    with np.printoptions(precision=17):
        for (name, _, _), value in zip(program.inputs, values):
            print(f"input {name} ({value.dtype}, shape {value.shape}):", np.array2string(value))
        for label, outs in (("pytensor", verdict.expected), ("onnxruntime", verdict.actual)):
            for k, value in enumerate(outs or []):
                print(f"{label:<11} (output {k}):", repr(np.asarray(value)))
    print(f"{verdict.status} ({verdict.check or 'all checks'}): {verdict.detail or 'outputs agree'}")
    return 1 if verdict.status == "finding" else 0
