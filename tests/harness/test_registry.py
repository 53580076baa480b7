import numpy as np
import pytensor.tensor as pt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from backend import ONNXExportUnsupported, export_onnx
from harness.registry import (
    CATEGORIES,
    ONNX_OPERATIONS,
    OpSpec,
    RegistryError,
    build_graph,
    check_registry,
    onnxruntime_where,
    register,
)
from strategies.dtypes import ALL_DTYPES
from strategies.shapes import broadcastable_shapes


def test_registry_is_keyed_by_pytensor_function_names():
    for name in ("add", "int_div", "round_half_to_even", "exp"):
        assert ONNX_OPERATIONS[name].build is getattr(pt, name)


@pytest.mark.parametrize("spec", list(ONNX_OPERATIONS.values()), ids=lambda s: s.name)
def test_declared_dtypes_are_exactly_what_pytensor_allows(spec):
    accepted = []
    for dtype in ALL_DTYPES:
        try:
            build_graph(spec, dtype)
        except TypeError:
            continue
        accepted.append(dtype)
    assert tuple(spec.dtypes) == tuple(accepted), (
        f"{spec.name}: registry says {spec.dtypes}, PyTensor builds the graph for {tuple(accepted)}"
    )


@pytest.mark.parametrize("spec", [s for s in ONNX_OPERATIONS.values() if s.onnx_ops], ids=lambda s: s.name)
def test_expected_onnx_nodes_appear_in_the_export(spec):
    dtype = "float64" if "float64" in spec.dtypes else spec.dtypes[0]
    inputs, out = build_graph(spec, dtype)
    try:
        model = export_onnx(inputs, out)
    except ONNXExportUnsupported:
        pytest.skip("declined")
    node_types = {n.op_type for n in model.graph.node}
    assert set(spec.onnx_ops) <= node_types, f"{spec.name}: expected {spec.onnx_ops} in {sorted(node_types)}"


def _spec(**kw):
    return OpSpec(name="fake", arity=1, dtypes=("float32", "int8"), build=pt.exp, **kw)


def test_xfail_declarations_are_validated():
    with pytest.raises(RegistryError, match="dtypes.*does not have"):
        _spec().xfail(reason="r", category="onnx-spec", dtypes=["float64"])
    with pytest.raises(RegistryError, match="unknown xfail category"):
        _spec().xfail(reason="r", category="whatever")
    with pytest.raises(RegistryError, match="needs a reason"):
        _spec().xfail(reason=" ", category="exporter")
    spec = _spec().xfail(reason="r", category="exporter", dtypes=["int8"]).xfail(
        reason="s", category="onnx-spec", when=lambda ex: True)
    assert spec.cell_xfail("int8").reason == "r" and spec.cell_xfail("float32") is None
    assert set(CATEGORIES) >= {"onnx-spec", "onnxruntime-kernel", "exporter", "pytensor"}


def test_register_rejects_duplicates_and_unknown_names():
    with pytest.raises(RegistryError, match="registered twice"):
        register("add", arity=2, dtypes=("float32",))
    with pytest.raises(RegistryError, match="not a pytensor.tensor function"):
        register("no_such_function_xyz", arity=1, dtypes=("float32",))


def test_completeness_check_finds_an_op_without_converter(monkeypatch):
    monkeypatch.setitem(ONNX_OPERATIONS, "det_probe", OpSpec(
        name="det_probe", arity=1, dtypes=("float64",), build=lambda x: pt.linalg.det(pt.outer(x, x))))
    with pytest.raises(RegistryError, match="det_probe .* no ONNX converter"):
        check_registry()


def test_completeness_check_finds_an_unexercised_converter(monkeypatch):
    from types import MappingProxyType

    from backend import onnx_funcify

    class OrphanOp:
        pass

    def onnx_funcify_OrphanOp(op, node, ctx, inputs):
        return inputs

    # singledispatch cannot unregister, so the registry view is patched instead of registering.
    monkeypatch.setattr(onnx_funcify, "registry",
                        MappingProxyType({**onnx_funcify.registry, OrphanOp: onnx_funcify_OrphanOp}))
    with pytest.raises(RegistryError, match="not exercised.*onnx_funcify_OrphanOp"):
        check_registry()


def test_list_command_prints_one_op_per_line(capsys):
    from harness.cli import main

    assert main(["list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == list(ONNX_OPERATIONS)


def test_signatures_are_static_one_where_size_is_one():
    from strategies.shapes import pytensor_input_shape

    assert pytensor_input_shape((1, 3, 0, 1)) == (1, None, None, 1)
    assert np.asarray(0).shape == () and pytensor_input_shape(()) == ()


@settings(max_examples=150, database=None, deadline=None)
@given(shapes=broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3), data=st.data())
def test_onnxruntime_where_model_matches_the_installed_runtime(shapes, data):
    """The declared Where divergence is predicted by `onnxruntime_where`; check the model, zero
    signs included, against the real kernel so the declaration cannot drift from onnxruntime."""
    from onnx import TensorProto, helper

    from backend.linker import make_session

    cond_shape, x_shape, y_shape = shapes.input_shapes
    zeros = st.sampled_from([0.0, -0.0, 1.0])
    cond = data.draw(hnp.arrays(np.bool_, cond_shape))
    x, y = (data.draw(hnp.arrays(np.float32, s, elements=zeros)) for s in (x_shape, y_shape))
    graph = helper.make_graph(
        [helper.make_node("Where", ["c", "x", "y"], ["out"])], "where",
        [helper.make_tensor_value_info("c", TensorProto.BOOL, cond_shape),
         helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape),
         helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8)
    actual = make_session(model, optimize=False).run(None, {"c": cond, "x": x, "y": y})[0]
    predicted = onnxruntime_where(cond, x, y)
    assert actual.shape == predicted.shape
    np.testing.assert_array_equal(np.signbit(actual), np.signbit(predicted))
    np.testing.assert_array_equal(actual, predicted)
