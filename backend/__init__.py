"""PyTensor -> ONNX exporter.

``import backend`` registers every converter and the PyTensor mode ``"ONNX"``, so that
``pytensor.function(inputs, outputs, mode="ONNX")`` runs on onnxruntime.

Layout (PyTensor's ``link/jax/dispatch`` style): ``basic`` holds the single `onnx_funcify`
dispatcher and the `GraphBuilder` converters write into, ``graph`` the FunctionGraph -> ModelProto
conversion, ``helpers`` what several converters share; each op family has its own module, imported
here so that registration happens.
"""

import importlib.util

# First: a PyTensor outside the supported range is one clear error, not an ImportError from deep inside
from backend.versions import require_supported_pytensor

require_supported_pytensor()

from backend.basic import ONNX_OPSET_VERSION, make_value_info, max_supported_opset, onnx_funcify, onnx_typify  # noqa: E402,E501
from backend.dtypes import ONNXExportUnsupported  # noqa: E402

# Registration happens on import; keep one module per op family.
from backend import graph  # noqa: F401,E402  (FunctionGraph -> ModelProto)  isort: skip
from backend import blas, blockwise, builders, comparison, compile_ops, elemwise, extra_ops, ifelse, linalg, math, reduction, scalar, scalar_loop, scan, shape, sort, special, special_functions, subtensor, tensor_basic  # noqa: F401,E402,E501  isort: skip

if importlib.util.find_spec("pymc") is not None:  # the [pymc] extra: the scalar ops PyMC defines itself
    from backend import pymc_ops  # noqa: F401,E402
from backend.export import compile_onnx, export_function_onnx, export_onnx, onnx_mode  # noqa: E402
from backend.linker import ONNXLinker  # noqa: E402

__all__ = [
    "ONNX_OPSET_VERSION",
    "ONNXExportUnsupported",
    "ONNXLinker",
    "compile_onnx",
    "export_function_onnx",
    "export_onnx",
    "make_value_info",
    "max_supported_opset",
    "onnx_funcify",
    "onnx_mode",
    "onnx_typify",
]
