"""Test utilities shared by the test suite and by users writing their own export tests.

`compare_onnx_and_py` compiles a graph twice, on onnxruntime (the raw graph, no rewrites, so the
converters themselves are tested) and with PyTensor's reference ``Mode(linker="py", optimizer=None)``,
then checks dtype, shape and values, and that the model passes the full ONNX checker.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytensor
from pytensor.compile.mode import Mode
from pytensor.graph.basic import clone_get_equiv
from pytensor.graph.traversal import applys_between
from pytensor.link.vm import VMLinker
from pytensor.scan.op import Scan

from backend import ONNX_OPSET_VERSION, ONNXLinker

# Relative tolerance per dtype for the quick checks here; the differential engine uses ULP bounds.
QUICK_RTOL = {"float16": 1e-3, "float32": 1e-6, "float64": 1e-13}


def py_mode() -> Mode:
    """PyTensor's reference: the Python linker with no rewrites."""
    return Mode(linker="py", optimizer=None)


_REFERENCE_MODE = py_mode()


def reference_function(inputs, outputs, **kwargs):
    """``pytensor.function`` in PyTensor's reference mode, inner graphs included.

    The reference is Python-mode evaluation of the graph as built: every op's Python ``perform``, no
    rewrites, no C or Numba code, in Scan bodies and OpFromGraph inner graphs too. Two PyTensor
    mechanisms would otherwise compile inner graphs: a Scan compiles its body with its own mode
    (before 3.1.2 the C backend with all rewrites, where the C compiler contracts ``a * b + c`` into
    one fused multiply-add: one rounding, no overflow of the product), and since 3.1.2 inner functions
    (``HasInnerFunction``) ignore ``config.mode`` and link with the C-thunk VM. So the function is
    compiled and called inside `reference_context` (``cxx=""``: PyTensor compiles no C code,
    and VMs run ``perform``), and each Scan is replaced by a copy whose mode is the Python VM without
    rewrites (Scan's own per-op mode, honoured by every supported release). The caller's graph and
    ops are unchanged: the graph is cloned, and Scan ops are copied, never modified. The returned
    function runs each call inside `reference_context`.
    """
    many = isinstance(outputs, list | tuple)
    outputs = list(outputs) if many else [outputs]
    if any(isinstance(apply.op, Scan) for apply in applys_between(inputs, outputs)):
        equiv = clone_get_equiv(inputs, outputs, copy_inputs=False, copy_orphans=False)
        outputs = [equiv[out] for out in outputs]
        _use_python_scans(applys_between(inputs, outputs))
    with reference_context():
        return _InReferenceContext(pytensor.function(inputs, outputs if many else outputs[0], mode=_REFERENCE_MODE,
                                                     **kwargs))


class _InReferenceContext:
    """A compiled `pytensor.function` whose every call runs inside `reference_context` (inner graphs
    that compile lazily, at the first call, do so in Python mode too); other attributes are the
    function's."""

    def __init__(self, function):
        self.function = function

    def __call__(self, *args, **kwargs):
        with reference_context():
            return self.function(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.function, name)


# Scan's Python loop needs a VM linker to run bodies with preallocated gradient buffers; without C
# thunks the VM calls each op's Python ``perform``, as the py linker does
_SCAN_BODY_REFERENCE_MODE = Mode(linker=VMLinker(use_cloop=False, c_thunks=False), optimizer=None)


def _use_python_scans(applies) -> None:
    """Give each of ``applies`` (nodes of a private clone) whose op is a Scan a `_python_scan` copy."""
    for apply in applies:
        if isinstance(apply.op, Scan):
            apply.op = _python_scan(apply.op)


def _python_scan(op: Scan) -> Scan:
    """A copy of ``op`` whose body, nested Scans included, runs in `_SCAN_BODY_REFERENCE_MODE`.

    From PyTensor 3.1.2 a Scan's inner graph is frozen and ``clone()`` returns the op itself; a
    mutable copy of the body (``unfreeze``) becomes a new op through ``clone_with_inner_graph``.
    Earlier releases' ``clone()`` copies the body."""
    copy = op.clone()
    if copy is op:
        body = op.fgraph.unfreeze()
        _use_python_scans(body.apply_nodes)
        copy = op.clone_with_inner_graph(body)
    else:
        _use_python_scans(copy.fgraph.apply_nodes)
    copy.mode = _SCAN_BODY_REFERENCE_MODE
    copy._fn = None  # a body compiled for the original's mode is not reused
    return copy


def reference_context():
    """Call (and compile) `reference_function`s inside this: PyTensor compiles no C code (``cxx=""``,
    its documented switch: every VM calls the ops' Python ``perform``), and inner graphs that compile
    lazily with ``config.mode`` (OpFromGraph before 3.1.2, e.g. Softmax) use the py mode too, not the
    default NUMBA or C mode with all rewrites."""
    return pytensor.config.change_flags(mode=_REFERENCE_MODE, cxx="")


def raw_onnx_mode(opset_version: int = ONNX_OPSET_VERSION) -> Mode:
    """ONNXLinker with only the rewrites the linker requires, so the graph is exported as built."""
    return Mode(linker=ONNXLinker(opset_version=opset_version), optimizer=None)


def assert_same_result(actual, expected, *, what: str = "output") -> None:
    """Same dtype, same shape, same NaN positions, equal values (exact for ints/bools)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != PyTensor's {expected.dtype}"
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != PyTensor's {expected.shape}"
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(
            actual, expected, rtol=QUICK_RTOL[expected.dtype.name], atol=0, equal_nan=True, err_msg=what
        )
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=what)


def compare_onnx_and_py(graph_inputs, graph_outputs, test_inputs, *, mode=None, assert_fn=assert_same_result):
    """Run the graph on onnxruntime and in PyTensor's py mode and assert that they agree.

    Returns ``(onnx_fn, onnx_result)``; ``onnx_result`` is a list when ``graph_outputs`` is a list.
    """
    onnx_fn = pytensor.function(graph_inputs, graph_outputs, mode=mode or raw_onnx_mode())
    py_fn = reference_function(graph_inputs, graph_outputs)
    onnx_res = onnx_fn(*test_inputs)
    with reference_context():
        py_res = py_fn(*test_inputs)
    if isinstance(graph_outputs, list | tuple):
        for i, (a, e) in enumerate(zip(onnx_res, py_res, strict=True)):
            assert_fn(a, e, what=f"output {i}")
    else:
        assert_fn(onnx_res, py_res)
    onnx.checker.check_model(onnx_fn.maker.linker.onnx_model, full_check=True)
    return onnx_fn, onnx_res


def get_onnx_node_types(fn) -> list[str]:
    """ONNX op types of the model behind a function compiled with the ONNX linker, in graph order."""
    return [node.op_type for node in fn.maker.linker.onnx_model.graph.node]
