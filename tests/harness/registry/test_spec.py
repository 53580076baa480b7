"""Entries and declarations: what `register` and `.xfail` accept and refuse."""

import pytensor.tensor as pt
import pytest

from harness.registry import (
    CATEGORIES,
    ONNX_OPERATIONS,
    OpSpec,
    RegistryError,
    register,
)
from harness.registry import spec as spec_module


def _spec(**kw):
    return OpSpec(name="fake", arity=1, dtypes=("float32", "int8"), build=pt.exp, **kw)


def test_xfail_declarations_are_validated():
    with pytest.raises(RegistryError, match="dtypes.*does not have"):
        _spec().xfail(id="r", reason="r", category="onnx-spec", dtypes=["float64"])
    with pytest.raises(RegistryError, match="unknown xfail category"):
        _spec().xfail(id="r", reason="r", category="whatever")
    with pytest.raises(RegistryError, match="needs a reason"):
        _spec().xfail(id="r", reason=" ", category="exporter")
    with pytest.raises(RegistryError, match="lowercase words joined by hyphens"):
        _spec().xfail(id="Float16 chain", reason="r", category="exporter")
    with pytest.raises(TypeError):
        _spec().xfail(reason="r", category="exporter")  # no id
    with pytest.raises(RegistryError, match="two declarations named 'r'"):
        _spec().xfail(id="r", reason="r", category="exporter", dtypes=["int8"]).xfail(
            id="r", reason="s", category="exporter", dtypes=["float32"])


def test_whole_cell_and_conditional_declarations_are_told_apart_and_labelled():
    spec = _spec().xfail(id="whole-int8", reason="r", category="exporter", dtypes=["int8"]).xfail(
        id="some-inputs", reason="s", category="onnx-spec", when=lambda ex: True)
    assert spec.cell_xfail("int8").reason == "r" and spec.cell_xfail("float32") is None
    assert [x.reason for x in spec.conditional_xfails("float32")] == ["s"]
    assert [x.label for x in spec.xfails] == ["fake#whole-int8 [exporter]", "fake#some-inputs [onnx-spec]"]
    assert spec.declaration("some-inputs").reason == "s"
    with pytest.raises(KeyError, match="'whole-int8', 'some-inputs'"):
        spec.declaration("no-such-id")


@pytest.mark.parametrize(("installed", "active"), [((1, 31), True), ((1, 32), False), ((2, 0), False)])
def test_a_declaration_for_older_onnxruntime_judges_only_where_it_is_installed(monkeypatch, installed, active):
    monkeypatch.setattr(spec_module, "ONNXRUNTIME_VERSION", installed)
    spec = _spec().xfail(id="old-bug", reason="old", category="onnxruntime-kernel", when=lambda ex: True,
                         onnxruntime_before=(1, 32)).xfail(id="any", reason="any", category="exporter",
                                                           when=lambda ex: True)
    assert [x.reason for x in spec.conditional_xfails("float32")] == (["old", "any"] if active else ["any"])
    assert [x.reason for x in spec.inactive_xfails] == ([] if active else ["old"])
    # labels are names, the same on every release, so reports and history compare across versions
    assert next(x for x in spec.xfails if x.reason == "any").label == "fake#any [exporter]"


def test_onnxruntime_before_must_be_a_major_minor_pair():
    with pytest.raises(RegistryError, match="onnxruntime_before must be \\(major, minor\\), got '1.32'"):
        _spec().xfail(id="r", reason="r", category="onnxruntime-kernel", onnxruntime_before="1.32")


def test_register_rejects_duplicates_unknown_names_and_unknown_fields():
    with pytest.raises(RegistryError, match="registered twice"):
        register("add", arity=2, dtypes=("float32",))
    with pytest.raises(RegistryError, match="not a pytensor.tensor function"):
        register("no_such_function_xyz", arity=1, dtypes=("float32",))
    with pytest.raises(RegistryError, match="unknown dtypes"):
        register("exp_probe_dtypes", arity=1, dtypes=("float128",), build=pt.exp)
    with pytest.raises(RegistryError, match="unknown entry fields.*tolerence"):
        register("exp_probe_fields", arity=1, dtypes=("float32",), build=pt.exp, tolerence={})
    with pytest.raises(RegistryError, match="exp_probe_share: ci_example_share must be in \\(0, 1\\], got 0"):
        register("exp_probe_share", arity=1, dtypes=("float32",), build=pt.exp, ci_example_share=0)
    assert not {"exp_probe_dtypes", "exp_probe_fields", "exp_probe_share", "no_such_function_xyz"} & set(ONNX_OPERATIONS)


def test_every_declaration_in_the_registry_has_a_known_category_and_a_reason():
    declarations = [x for spec in ONNX_OPERATIONS.values() for x in spec.xfails]
    assert declarations, "the registry declares known divergences"
    for x in declarations:
        assert x.category in CATEGORIES and x.reason.strip(), x.label
        assert set(x.dtypes) <= set(ONNX_OPERATIONS[x.op].dtypes), x.label


def test_an_absent_entry_needs_a_reason_and_excludes_registration(monkeypatch):
    from harness.registry.spec import ABSENT_ENTRIES, ONNX_OPERATIONS, absent_entry

    monkeypatch.setattr("harness.registry.spec.ABSENT_ENTRIES", dict(ABSENT_ENTRIES))
    monkeypatch.setattr("harness.registry.spec.ONNX_OPERATIONS", dict(ONNX_OPERATIONS))
    with pytest.raises(RegistryError, match="needs a reason"):
        absent_entry("gone_op", reason=" ")
    with pytest.raises(RegistryError, match="cannot also be absent"):
        absent_entry("exp", reason="never")
    absent_entry("gone_op", reason="PyTensor 9.9 removed GoneOp")
    with pytest.raises(RegistryError, match="declared absent"):
        register("gone_op", arity=1, dtypes=("float64",), build=lambda x: x)
