"""Timing and backends, shared by the speed matrix (``bench.py``) and the real graphs (``graphs.py``).

- `time_call`: median and IQR of one call's steady-state time (warm-up, then timed repeats of many
  calls each).
- `compile_backend`: a graph compiled for onnxruntime (default threads or one), or PyTensor's default,
  py, C or NUMBA mode, with its one-off cost (export + session creation, or compilation); an
  onnxruntime callable carries its model, whose nodes `measured_row` counts (`count_nodes`).
- `memory_bandwidth`: what a numpy copy reaches on this machine now, for the bandwidth bound.

To time another backend: a name in `BACKENDS` and a branch in `compile_backend`.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from dataclasses import dataclass
from functools import partial

import numpy as np

BACKENDS = ("onnxruntime", "onnxruntime_1thread", "default", "py", "c", "numba")
"""Every backend each section times: onnxruntime at its default threads (one per core) and at one,
PyTensor's default mode (what ``pytensor.function`` and PyMC compile with), its Python linker without
rewrites, and its C and NUMBA modes. The speed report's "best PyTensor backend" is the fastest of
PyTensor's."""


@dataclass
class Timing:
    median_s: float
    iqr_s: float
    calls: int


def time_call(fn, *, repeat: int = 7, min_repeat_s: float = 0.02, max_number: int = 100_000) -> Timing:
    """Median and IQR of one call's time: each repeat runs ``number`` calls, sized to ~min_repeat_s."""
    fn()  # warm-up: first-call allocations and lazy initialisation are not steady state
    number = 1
    while number < max_number:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        if time.perf_counter() - start >= min_repeat_s:
            break
        number *= 4
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    q1, median, q3 = np.percentile(samples, [25, 50, 75])
    return Timing(float(median), float(q3 - q1), number * repeat)


def bench_inputs(dtypes, size: int, seed: int = 0) -> list[np.ndarray]:
    """Benchmark inputs in every op's domain (positive, no zeros): speed, not semantics, is measured."""
    rng = np.random.default_rng(seed)
    arrays = []
    for dtype in dtypes:
        if dtype == "bool":
            arrays.append(rng.integers(0, 2, size).astype(bool))
        elif np.dtype(dtype).kind in "iu":
            arrays.append(rng.integers(1, 4, size).astype(dtype))
        else:
            arrays.append(rng.uniform(0.5, 2.0, size).astype(dtype))
    return arrays


def memory_bandwidth(size_bytes: int, repeat: int = 7) -> float:
    """Bytes per second of a numpy copy of ``size_bytes`` (read + write counted), on this machine now."""
    src = np.ones(max(size_bytes // 8, 1), dtype=np.float64)
    dst = np.empty_like(src)
    timing = time_call(lambda: np.copyto(dst, src), repeat=repeat)
    return 2 * src.nbytes / timing.median_s


def compile_backend(name: str, inputs, output, arrays, *, rewritten: bool = False, optimization_level: str = "all"):
    """(callable, one-off seconds) for a backend; raises with the reason when it cannot compile.

    ``rewritten``: export the graph after PyTensor's rewrites (the "ONNX" mode), as a user compiling
    a model would; otherwise the graph is exported as built (single ops). ``optimization_level``:
    onnxruntime's (`backend.linker.OPTIMIZATION_LEVELS`)."""
    import pytensor
    from pytensor.compile.mode import Mode, get_mode

    start = time.perf_counter()
    if name.startswith("onnxruntime"):
        from backend import compile_onnx, export_onnx
        from backend.linker import make_session

        model = compile_onnx(inputs, output).maker.linker.onnx_model if rewritten else export_onnx(inputs, output)
        session = make_session(model, intra_op_num_threads=1 if name.endswith("1thread") else None,
                               optimization_level=optimization_level)
        feed = {i.name: a for i, a in zip(model.graph.input, arrays)}
        fn = lambda: session.run(None, feed)  # noqa: E731
        fn.onnx_model = model
    else:
        modes = {"py": Mode(linker="py", optimizer=None), "c": get_mode("C"), "numba": get_mode("NUMBA")}
        compiled = pytensor.function(inputs, output, **({"mode": modes[name]} if name in modes else {}))
        compiled.trust_input = True  # skip PyTensor's input validation: time the computation
        fn = lambda: compiled(*arrays)  # noqa: E731
    fn()
    return fn, time.perf_counter() - start


def count_nodes(model) -> tuple[int, int]:
    """(nodes, Loops) of an ONNX model, the nodes inside Loop bodies and If branches counted once each."""
    nodes = loops = 0
    graphs = [model.graph]
    while graphs:
        graph = graphs.pop()
        for node in graph.node:
            nodes += 1
            loops += node.op_type == "Loop"
            for attribute in node.attribute:
                graphs += [attribute.g] if attribute.g.node else list(attribute.graphs)
    return nodes, loops


MEASUREMENT_TIMEOUT_S = 900
"""A measurement (compile, warm-up, timed repeats) still running after this is stopped and reported."""


def measured_row(section: str, op: str, dtype: str, size: int, backend: str, compile_call, *,
                 repeat: int, timeout_s: float = MEASUREMENT_TIMEOUT_S) -> dict:
    """One speed-matrix row: ``compile_call()`` returns (callable, one-off seconds), which is then timed.
    A backend that cannot compile or run the graph gets a row with NaN times and the reason in ``note``;
    an onnxruntime row counts its model's nodes and Loops. Each measurement runs in a forked child
    process, so that a backend that crashes the interpreter (PyTensor's C backend can abort) or hangs
    costs its own row only."""
    nan = float("nan")
    row = {"section": section, "op": op, "dtype": dtype, "size": size, "backend": backend, "median_s": nan,
           "iqr_s": nan, "one_off_s": nan, "note": "", "bytes_moved": nan, "bandwidth_bound_s": nan,
           "onnx_nodes": nan, "onnx_loops": nan}
    row.update(run_isolated(partial(_measure, compile_call, repeat), timeout_s=timeout_s,
                            what=f"{backend} on {op} ({dtype}, size {size})"))
    return row


def _measure(compile_call, repeat: int) -> dict:
    found = {}
    try:
        fn, one_off = compile_call()
        model = getattr(fn, "onnx_model", None)
        if model is not None:
            found["onnx_nodes"], found["onnx_loops"] = count_nodes(model)
        timing = time_call(fn, repeat=repeat)
        found.update(median_s=timing.median_s, iqr_s=timing.iqr_s, one_off_s=one_off)
    except Exception as exc:  # recorded in the report; the other backends still run
        found["note"] = describe_unavailable(exc)
    return found


def run_isolated(function, *, timeout_s: float, what: str) -> dict:
    """``function()`` (returning a dict) in a forked child; {"note": ...} when the child crashed, was
    killed or ran past ``timeout_s``."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)

    def child():
        sender.send(function())
        sender.close()

    process = context.Process(target=child, daemon=True)
    process.start()
    sender.close()
    try:
        if receiver.poll(timeout_s):
            return receiver.recv()
        if process.is_alive():
            return {"note": f"unavailable: timeout: {what} ran past {timeout_s:g} s and was stopped"}
        return {"note": f"unavailable: crash: {what} ended the process ({_ending(process)})"}
    except EOFError:  # the child died before sending
        process.join()
        return {"note": f"unavailable: crash: {what} ended the process ({_ending(process)})"}
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receiver.close()


def _ending(process) -> str:
    process.join()
    code = process.exitcode
    if code is not None and code < 0:
        return f"signal {signal.Signals(-code).name}"
    return f"exit status {code}"


def describe_unavailable(exc: Exception) -> str:
    """One line for a report: why a backend could not compile or run a graph."""
    first_line = (str(exc).splitlines() or [""])[0][:200]
    return f"unavailable: {type(exc).__name__}: {first_line}"


def ort_thread_settings() -> dict:
    import onnxruntime as ort

    return {"onnxruntime": ort.__version__, "default_intra_op_threads": "onnxruntime default (one per core)",
            "cores": os.cpu_count(), "onnxruntime_1thread": "intra_op_num_threads=1"}
