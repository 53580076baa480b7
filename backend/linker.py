"""`ONNXLinker`: runs a PyTensor FunctionGraph through onnxruntime.

The FunctionGraph is converted once (`onnx_model` holds the ModelProto) and served by a single
`InferenceSession` created at compile time, so every call of the compiled function reuses it.
"""

from __future__ import annotations

import numpy as np
from pytensor.link.basic import JITLinker

from backend.basic import ONNX_OPSET_VERSION, check_opset_version
from backend.graph import fgraph_to_onnx


def make_session(model, *, intra_op_num_threads: int | None = None, optimize: bool = True):
    """An onnxruntime CPU session for ``model`` (a ModelProto or its serialized bytes)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 4  # fatal only: failures reach the caller as exceptions anyway
    if intra_op_num_threads is not None:
        options.intra_op_num_threads = intra_op_num_threads
    if not optimize:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
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

    def __init__(self, opset_version: int = ONNX_OPSET_VERSION, *args, **kwargs):
        self.opset_version = check_opset_version(opset_version)
        self.onnx_model = None
        self.session = None
        super().__init__(*args, **kwargs)

    def fgraph_convert(self, fgraph, input_storage=None, storage_map=None, **kwargs):
        self.onnx_model = fgraph_to_onnx(fgraph, opset_version=self.opset_version)
        return self.onnx_model

    def jit_compile(self, model):
        self.session = session = make_session(model)
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
