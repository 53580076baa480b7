"""The export API: `export_onnx`, `compile_onnx`, `export_function_onnx`, and the "ONNX" mode."""

from __future__ import annotations

import os

import onnx
import pytensor
from pytensor.compile.mode import Mode, register_mode
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.fg import FunctionGraph
from pytensor.graph.rewriting.db import RewriteDatabaseQuery
from pytensor.tensor.type import TensorType

from backend.basic import ONNX_OPSET_VERSION
from backend.compat import Function, graph_inputs
from backend.graph import fgraph_to_onnx
from backend.linker import DEFAULT_THREADS, ONNXLinker
from common.files import atomic_write


def onnx_mode(opset_version: int = ONNX_OPSET_VERSION, *, intra_op_num_threads: int | None = DEFAULT_THREADS,
              optimization_level: str = "all") -> Mode:
    """PyTensor's fast_run rewrites minus what the exporter cannot take, linked by `ONNXLinker`; the
    onnxruntime session runs ``intra_op_num_threads`` threads (None: one per core) at graph
    ``optimization_level`` (one of `backend.linker.OPTIMIZATION_LEVELS`)."""
    linker = ONNXLinker(opset_version=opset_version, intra_op_num_threads=intra_op_num_threads,
                        optimization_level=optimization_level)
    return Mode(linker=linker, optimizer=RewriteDatabaseQuery(include=["fast_run"]))


def _as_list(outputs):
    return list(outputs) if isinstance(outputs, list | tuple) else [outputs]


def export_onnx(inputs, outputs, filename=None, *, opset_version: int = ONNX_OPSET_VERSION,
                keep_shared_as_inputs: bool = False, dim_names=None) -> onnx.ModelProto:
    """Export the graph from ``inputs`` to ``outputs`` as-is (no rewrites) and save it if ``filename``.

    ``pytensor.shared`` variables the outputs depend on are stored in the model as initializers holding
    their current values, under their names (the model carries its weights); with
    ``keep_shared_as_inputs=True`` they are graph inputs instead, to be fed at every call. ``dim_names``
    names axes of unknown size per input (`backend.graph.fgraph_to_onnx`). The model is checked with
    ``onnx.checker.check_model(full_check=True)``.
    """
    inputs, outputs = list(inputs), _as_list(outputs)
    shared = [v for v in graph_inputs(outputs) if isinstance(v, SharedVariable) and v not in inputs]
    fgraph = FunctionGraph(inputs + shared, outputs, clone=True)
    initializers = {} if keep_shared_as_inputs else {
        fgraph.inputs[len(inputs) + k]: var.get_value(borrow=True) for k, var in enumerate(shared) if _is_tensor(var)}
    model = fgraph_to_onnx(fgraph, opset_version=opset_version, initializers=initializers,
                           drop_unread=fgraph.inputs[len(inputs):], dim_names=dim_names)
    if filename is not None:
        _save(model, filename)
    return model


def compile_onnx(inputs, outputs, *, opset_version: int = ONNX_OPSET_VERSION,
                 intra_op_num_threads: int | None = DEFAULT_THREADS, optimization_level: str = "all",
                 **kwargs) -> Function:
    """A PyTensor function that runs on onnxruntime; ``fn.maker.linker.onnx_model`` is its model,
    ``fn.maker.linker.session`` its session (threads and optimization level as `onnx_mode` takes them).

    Its shared variables stay graph inputs, fed their current values at every call, so that
    ``set_value`` and ``updates=`` work as in any PyTensor mode; `export_function_onnx` of the function
    stores them in the model instead."""
    mode = onnx_mode(opset_version, intra_op_num_threads=intra_op_num_threads, optimization_level=optimization_level)
    return pytensor.function(inputs, outputs, mode=mode, **kwargs)


def export_function_onnx(fn: Function, filename=None, *, opset_version: int = ONNX_OPSET_VERSION,
                         keep_shared_as_inputs: bool = False, dim_names=None) -> onnx.ModelProto:
    """Export a function already compiled by PyTensor (in any mode) from its rewritten graph.

    The compiled graph may hold fused Composite ops, in-place Elemwise, DeepCopyOp and the like; all
    are converted. Unsupported ops raise NotImplementedError naming the op. PyMC's compiled model
    functions are taken as they come: ``model.compile_logp()`` / ``compile_dlogp()`` (a ``PointFunc``)
    and ``model.logp_dlogp_function()`` (a ``ValueGradFunction``); the ONNX inputs are then named after
    the model's value variables (``sigma_log__``, or ``joined_inputs`` when raveled).

    Shared variables are initializers holding the values they have now (``keep_shared_as_inputs=True``:
    graph inputs); those no node reads (PyMC's ``coords`` lengths) are left out. A function compiled
    with ``updates=`` gives each updated shared variable's new value as an extra output named
    ``update:<name>``.
    """
    fn = _pytensor_function(fn)
    fgraph = fn.maker.fgraph
    shared = {fgraph.inputs[i]: storage.data for i, (spec, storage) in enumerate(zip(fn.maker.inputs, fn.input_storage))
              if spec.shared}
    initializers = {} if keep_shared_as_inputs else {var: value for var, value in shared.items() if _is_tensor(var)}
    updates = getattr(fgraph, "update_mapping", None) or {}
    output_names = [None] * len(fgraph.outputs)
    for out_index, in_index in updates.items():
        output_names[out_index] = f"update:{fn.maker.inputs[in_index].variable.name or f'shared_{in_index}'}"
    model = fgraph_to_onnx(fgraph, opset_version=opset_version, initializers=initializers, drop_unread=list(shared),
                           output_names=output_names, dim_names=dim_names)
    if filename is not None:
        _save(model, filename)
    return model


def _is_tensor(var) -> bool:
    return isinstance(var.type, TensorType)


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
