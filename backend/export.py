"""The export API: `export_onnx`, `compile_onnx`, `export_function_onnx`, and the "ONNX" mode."""

from __future__ import annotations

import os

import onnx
import pytensor
from pytensor.compile.mode import Mode, register_mode
from pytensor.graph.fg import FunctionGraph
from pytensor.graph.rewriting.db import RewriteDatabaseQuery

from backend.basic import ONNX_OPSET_VERSION
from backend.compat import Function
from backend.graph import fgraph_to_onnx
from backend.linker import ONNXLinker
from common.files import atomic_write


def onnx_mode(opset_version: int = ONNX_OPSET_VERSION) -> Mode:
    """PyTensor's fast_run rewrites minus what the exporter cannot take, linked by `ONNXLinker`."""
    return Mode(linker=ONNXLinker(opset_version=opset_version), optimizer=RewriteDatabaseQuery(include=["fast_run"]))


def _as_list(outputs):
    return list(outputs) if isinstance(outputs, list | tuple) else [outputs]


def export_onnx(inputs, outputs, filename=None, *, opset_version: int = ONNX_OPSET_VERSION) -> onnx.ModelProto:
    """Export the graph from ``inputs`` to ``outputs`` as-is (no rewrites) and save it if ``filename``.

    The model is checked with ``onnx.checker.check_model(full_check=True)``.
    """
    outputs = _as_list(outputs)
    fgraph = FunctionGraph(list(inputs), outputs, clone=True)
    model = fgraph_to_onnx(fgraph, opset_version=opset_version)
    if filename is not None:
        _save(model, filename)
    return model


def compile_onnx(inputs, outputs, *, opset_version: int = ONNX_OPSET_VERSION, **kwargs) -> Function:
    """A PyTensor function that runs on onnxruntime; ``fn.maker.linker.onnx_model`` is its model."""
    return pytensor.function(inputs, outputs, mode=onnx_mode(opset_version), **kwargs)


def export_function_onnx(fn: Function, filename=None, *, opset_version: int = ONNX_OPSET_VERSION) -> onnx.ModelProto:
    """Export a function already compiled by PyTensor (in any mode) from its rewritten graph.

    The compiled graph may hold fused Composite ops, in-place Elemwise, DeepCopyOp and the like; all
    are converted. Unsupported ops raise NotImplementedError naming the op. PyMC's compiled model
    functions are taken as they come: ``model.compile_logp()`` / ``compile_dlogp()`` (a ``PointFunc``)
    and ``model.logp_dlogp_function()`` (a ``ValueGradFunction``); the ONNX inputs are then named after
    the model's value variables (``sigma_log__``, or ``joined_inputs`` when raveled).
    """
    fn = _pytensor_function(fn)
    fgraph = fn.maker.fgraph
    model = fgraph_to_onnx(fgraph, opset_version=opset_version)
    if filename is not None:
        _save(model, filename)
    return model


def _pytensor_function(fn) -> Function:
    """``fn``, or the PyTensor function inside PyMC's compiled wrappers."""
    if isinstance(fn, Function):
        return fn
    # PyMC's PointFunc keeps it as ``f``; its ValueGradFunction as ``_pytensor_function`` (PyMC 5)
    for attribute in ("f", "_pytensor_function"):
        inner = getattr(fn, attribute, None)
        if isinstance(inner, Function):
            return inner
    raise TypeError(f"export_function_onnx expects a compiled pytensor Function (or PyMC's compile_logp/"
                    f"compile_dlogp/logp_dlogp_function result), got {type(fn).__name__}")


def _save(model, filename) -> None:
    atomic_write(os.fspath(filename), lambda tmp: onnx.save(model, str(tmp)))


ONNX = onnx_mode()
register_mode("ONNX", ONNX)
