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
    """``pytensor.function`` in PyTensor's reference mode, Scan bodies included.

    A Scan compiles its body with its own mode, whatever the outer function's: by default PyTensor's
    C backend with all rewrites, where the C compiler contracts ``a * b + c`` into one fused
    multiply-add (one rounding instead of two, and no overflow of the product). The reference is
    Python-mode evaluation throughout, so the graph is cloned and each Scan in it (and in Scan
    bodies) evaluates its body with the Python VM and no rewrites. The caller's graph is unchanged.
    """
    many = isinstance(outputs, list | tuple)
    outputs = list(outputs) if many else [outputs]
    if not any(isinstance(apply.op, Scan) for apply in applys_between(inputs, outputs)):
        return pytensor.function(inputs, outputs if many else outputs[0], mode=_REFERENCE_MODE, **kwargs)
    equiv = clone_get_equiv(inputs, outputs, copy_inputs=False, copy_orphans=False)
    cloned = [equiv[out] for out in outputs]
    _evaluate_scan_bodies_in_python(cloned)
    return pytensor.function(inputs, cloned if many else cloned[0], mode=_REFERENCE_MODE, **kwargs)


# Scan's Python loop needs a VM linker to run bodies with preallocated gradient buffers; without C
# thunks the VM calls each op's Python ``perform``, as the py linker does
_SCAN_BODY_REFERENCE_MODE = Mode(linker=VMLinker(use_cloop=False, c_thunks=False), optimizer=None)


def _evaluate_scan_bodies_in_python(outputs) -> None:
    """Give every Scan reachable from ``outputs`` (which must be a private clone) a copy of its op
    whose body, and nested Scans' bodies, run in `_SCAN_BODY_REFERENCE_MODE`."""
    for apply in applys_between([], outputs):
        if isinstance(apply.op, Scan):
            op = apply.op.clone()  # deep: its body is its own
            op.mode = _SCAN_BODY_REFERENCE_MODE
            op._fn = None  # a body compiled for the original's mode is not reused
            _evaluate_scan_bodies_in_python(list(op.fgraph.outputs))
            apply.op = op


def reference_context():
    """Run PyTensor's reference inside this: inner graphs (OpFromGraph such as Softmax) compile lazily
    with the *default* mode (NUMBA and all rewrites, ~1 s each); here they use the py mode too, so the
    reference is Python-mode evaluation throughout."""
    return pytensor.config.change_flags(mode=_REFERENCE_MODE)


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
