"""The kernel table in backend/kernels.py matches the installed onnxruntime, both ways."""

import numpy as np
import onnxruntime as ort
import pytest
from onnx import helper

from backend.basic import onnx_dtype
from backend.dtypes import ALL_DTYPES
from backend.kernels import KERNEL_DTYPES, KERNELS_ADDED_IN, compute_dtype, installed_kernel_dtypes

BINARY = {"Add", "Sub", "Mul", "Div", "Mod", "Max", "Min", "Pow", "MatMul"}
COMPARISONS = {"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"}


def _split_key(key: str) -> tuple[str, dict]:
    """``"ScatterElements(reduction=add)"`` -> ("ScatterElements", {"reduction": "add"})."""
    op, _, rest = key.partition("(")
    return op, dict(item.split("=") for item in rest.rstrip(")").split(",") if item)


def _runs(key: str, dtype: str) -> bool:
    op, attrs = _split_key(key)
    elem = onnx_dtype(dtype)
    if op == "Mod" and dtype.startswith("float"):
        attrs["fmod"] = 1
    if op == "ArgMax" or op.startswith("Reduce"):
        attrs["keepdims"] = 1  # output keeps the probe's shape [2] -> [1]
    shapes = None
    if op == "Where":
        names, types = ["c", "a", "b"], [onnx_dtype("bool"), elem, elem]
    elif op == "ScatterElements":
        names, types = ["a", "i", "b"], [elem, onnx_dtype("int64"), elem]
    elif op == "Range":
        names, types, shapes = ["a", "b", "c"], [elem] * 3, [[], [], []]
    elif op == "CumSum":
        names, types, shapes = ["a", "axis"], [elem, onnx_dtype("int64")], [[2], []]
    elif op == "Pad":
        names, types = ["a", "pads"], [elem, onnx_dtype("int64")]
    elif op in BINARY | COMPARISONS:
        names, types = ["a", "b"], [elem, elem]
    else:
        names, types = ["a"], [elem]
    out_elem = onnx_dtype("bool") if op in COMPARISONS else onnx_dtype("int64") if op == "ArgMax" else elem
    graph = helper.make_graph(
        [helper.make_node(op, names, ["out"], **attrs)],
        "probe",
        [helper.make_tensor_value_info(n, t, s) for n, t, s in zip(names, types, shapes or [[2]] * len(names))],
        [helper.make_tensor_value_info("out", out_elem, None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8)
    feed = {n: np.ones(2, dtype="bool" if n == "c" else dtype) for n in names}
    if op == "ScatterElements":
        feed["i"] = np.zeros(2, "int64")
    elif op == "Range":
        feed = {"a": np.array(0, dtype), "b": np.array(2, dtype), "c": np.array(1, dtype)}
    elif op == "CumSum":
        feed["axis"] = np.array(0, "int64")
    elif op == "Pad":
        feed["pads"] = np.array([1, 0], "int64")
    try:
        ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feed)
    except Exception as exc:  # onnxruntime's NotImplemented / InvalidGraph / Fail
        assert any(k in str(exc) for k in ("NOT_IMPLEMENTED", "INVALID_GRAPH", "Type", "type")), exc
        return False
    return True


@pytest.mark.parametrize("op", sorted(KERNEL_DTYPES))
def test_kernel_table_matches_onnxruntime(op):
    declared = set(installed_kernel_dtypes(op))
    observed = {d for d in ALL_DTYPES if _runs(op, d)}
    assert observed == declared, (
        f"{op}: onnxruntime {ort.__version__} runs {sorted(observed)}, the table says {sorted(declared)}"
    )


def test_compute_dtype_widens_only_exactly():
    assert compute_dtype("Max", "int16") == "int32"
    assert compute_dtype("Add", "bool") == "uint8"
    assert compute_dtype("Exp", "float32") == "float32"
    from backend import ONNXExportUnsupported

    with pytest.raises(ONNXExportUnsupported, match="Exp has no onnxruntime CPU kernel for int8"):
        compute_dtype("Exp", "int8")


def test_kernels_added_in_later_releases_are_left_out_for_older_ones():
    assert set(KERNEL_DTYPES["Where"]) - set(installed_kernel_dtypes("Where", (1, 30))) == {"int8", "uint32"}
    assert installed_kernel_dtypes("Where", (1, 31)) == KERNEL_DTYPES["Where"]
    assert "float64" not in installed_kernel_dtypes("Cos", (1, 28))
    assert installed_kernel_dtypes("Exp", (1, 22)) == KERNEL_DTYPES["Exp"]
    for op, added in KERNELS_ADDED_IN.items():
        assert set(added) <= set(KERNEL_DTYPES[op]), f"{op}: a kernel added later must be in the newest table"
