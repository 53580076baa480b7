"""`ONNXLinker`: runs a PyTensor FunctionGraph through onnxruntime.

The FunctionGraph is converted once (`onnx_model` holds the ModelProto) and served by a single
`InferenceSession` created at compile time, so every call of the compiled function reuses it.
"""

from __future__ import annotations

import numpy as np
from pytensor.link.basic import JITLinker

from backend.basic import ONNX_OPSET_VERSION, check_opset_version
from backend.graph import fgraph_to_onnx

OPTIMIZATION_LEVELS = ("all", "extended", "basic", "disabled")
"""onnxruntime's graph optimization levels (``GraphOptimizationLevel.ORT_ENABLE_ALL`` ... ``ORT_DISABLE_ALL``)."""

DEFAULT_THREADS = 1
"""The "ONNX" mode's intra-op threads: one is faster for model-sized graphs (docs/speed.md) and sums in
one order, and samplers run a chain per core anyway; None is onnxruntime's own default, a thread per core."""


def check_session_settings(intra_op_num_threads: int | None, optimization_level: str) -> None:
    """Raise ValueError naming the setting and its valid values."""
    if intra_op_num_threads is not None and (not isinstance(intra_op_num_threads, int) or intra_op_num_threads < 1):
        raise ValueError(f"intra_op_num_threads must be a positive integer or None (one per core), "
                         f"got {intra_op_num_threads!r}")
    if optimization_level not in OPTIMIZATION_LEVELS:
        raise ValueError(f"optimization_level must be one of {', '.join(OPTIMIZATION_LEVELS)}, "
                         f"got {optimization_level!r}")


def make_session(model, *, intra_op_num_threads: int | None = None, optimize: bool = True,
                 optimization_level: str = "all"):
    """An onnxruntime CPU session for ``model`` (a ModelProto or its serialized bytes);
    ``optimize=False`` is ``optimization_level="disabled"``."""
    import onnxruntime as ort

    check_session_settings(intra_op_num_threads, optimization_level)
    options = ort.SessionOptions()
    options.log_severity_level = 4  # fatal only: failures reach the caller as exceptions anyway
    if intra_op_num_threads is not None:
        options.intra_op_num_threads = intra_op_num_threads
    level = optimization_level if optimize else "disabled"
    options.graph_optimization_level = {
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    }[level]
    payload = model if isinstance(model, bytes) else model.SerializeToString()
    return ort.InferenceSession(payload, sess_options=options, providers=["CPUExecutionProvider"])


class ONNXLinker(JITLinker):
    """A JITLinker whose compiled function is an onnxruntime session over the exported model."""

    required_rewrites = ("minimum_compile",)
    # What the exporter cannot take: C-only and BLAS ops, in-place destruction (ONNX values are
    # immutable and the exporter would have to undo it), and backend-specific fusions.
    incompatible_rewrites = (
        "cxx_only",
        "BlasOpt",
        "inplace",
        "local_careduce_fusion",
        "scan_reduce_trace_prealloc",
        "numba",
        "jax",
    )

    def __init__(self, opset_version: int = ONNX_OPSET_VERSION, *args, intra_op_num_threads: int | None = DEFAULT_THREADS,
                 optimization_level: str = "all", **kwargs):
        self.opset_version = check_opset_version(opset_version)
        check_session_settings(intra_op_num_threads, optimization_level)
        self.intra_op_num_threads = intra_op_num_threads
        self.optimization_level = optimization_level
        self.onnx_model = None
        self.session = None
        super().__init__(*args, **kwargs)

    def fgraph_convert(self, fgraph, input_storage=None, storage_map=None, **kwargs):
        self.onnx_model = fgraph_to_onnx(fgraph, opset_version=self.opset_version)
        return self.onnx_model

    def jit_compile(self, model):
        self.session = session = make_session(model, intra_op_num_threads=self.intra_op_num_threads,
                                              optimization_level=self.optimization_level)
        input_names = [i.name for i in session.get_inputs()]
        dtypes = [
            np.dtype(v.type.dtype) for v in self.fgraph.inputs if not hasattr(v, "data")
        ]

        def run(*args):
            feed = {
                name: np.asarray(arg, dtype=dtype)
                for name, arg, dtype in zip(input_names, args, dtypes, strict=True)
            }
            return session.run(None, feed)

        return run

    def create_thunk_inputs(self, storage_map):
        return [storage_map[v] for v in self.fgraph.inputs]

    def export_to_file(self, filename) -> None:
        import onnx

        if self.onnx_model is None:
            raise RuntimeError("ONNXLinker.export_to_file: compile a function with this linker first")
        onnx.save(self.onnx_model, str(filename))
