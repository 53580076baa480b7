"""The registry/converter completeness check: every entry's graph reaches only ops that have a
converter, and every registered converter is exercised by some entry.

It builds every cell's graph (about a second for the whole registry), so it is not run on import:
``python -m harness check`` and ``tests/harness/registry/test_completeness.py`` run it, and
``harness run --plugin`` checks the entries a plugin added before any cell starts.
"""

from __future__ import annotations

from collections.abc import Iterable

from pytensor.graph.fg import FunctionGraph
from pytensor.graph.traversal import applys_between
from pytensor.tensor.blockwise import Blockwise
from pytensor.tensor.elemwise import CAReduce

from backend import onnx_funcify
from harness.registry.spec import ONNX_OPERATIONS, OpSpec, RegistryError, build_graph


def _ops_in(outputs):
    """Every (op, node) of the graph, those of inner graphs (Scan bodies, OpFromGraph, Composite)
    included; scalar ops of Elemwise/Composite come with node None."""
    for apply in applys_between([], outputs if isinstance(outputs, list | tuple) else [outputs]):
        yield from _op_and_inner_ops(apply.op, apply)


def _op_and_inner_ops(op, node):
    yield op, node
    scalar_op = getattr(op, "scalar_op", None)
    dedicated = isinstance(op, CAReduce) and onnx_funcify.dispatch(type(op)) is not onnx_funcify.dispatch(CAReduce)
    if scalar_op is not None and not dedicated:  # a reduction with its own converter (ProdWithoutZeros) needs no scalar one
        yield from _op_and_inner_ops(scalar_op, None)
    inner = getattr(op, "fgraph", None)
    if isinstance(inner, FunctionGraph):
        for inner_node in inner.toposort():
            yield from _op_and_inner_ops(inner_node.op, inner_node)


def converters_used(spec: OpSpec, dtype: str) -> set:
    """The converters the graph of ``spec`` for ``dtype`` dispatches to; a Blockwise uses its own
    converter and its core op's (which converts the core op on every batch entry when it cannot
    take the batch itself)."""
    _, out = build_graph(spec, dtype)
    used = set()
    for op, node in _ops_in(out):
        if isinstance(op, Blockwise):
            used |= {onnx_funcify.dispatch(Blockwise), onnx_funcify.dispatch(type(op.core_op))}
        else:
            used.add(onnx_funcify.dispatch(type(op)))
    return used


def check_registry(names: Iterable[str] | None = None) -> None:
    """Raise `RegistryError` naming the entry (and dtype) whose ops lack a converter; with every entry
    checked (``names`` None), also name converters no entry exercises."""
    fallback = onnx_funcify.dispatch(object)
    selected = list(ONNX_OPERATIONS) if names is None else list(names)
    reached = set()
    for name in selected:
        spec = ONNX_OPERATIONS[name]
        for dtype in spec.dtypes:
            try:
                used = converters_used(spec, dtype)
            except TypeError as exc:
                raise RegistryError(f"{spec.name}: PyTensor refuses dtype {dtype}: {exc}") from exc
            except Exception as exc:  # a plugin's builder that raises is the entry's error, named, not a traceback
                raise RegistryError(f"{spec.name} ({dtype}): building the entry's graph raised "
                                    f"{type(exc).__name__}: {exc}; fix its build=") from exc
            if fallback in used:
                raise RegistryError(f"{spec.name} ({dtype}) builds an op with no ONNX converter")
            reached |= used
    if names is not None:
        return
    registered = set(onnx_funcify.registry.values()) - {fallback, onnx_funcify.dispatch(FunctionGraph)}
    unexercised = sorted(f.__name__ for f in registered - reached)
    if unexercised:
        raise RegistryError(f"converters not exercised by any registry entry: {unexercised}; add entries")
