"""The exporter's public face: one dispatcher, every op family registered on import, the ONNX mode."""

import pytensor
import pytensor.tensor as pt
import pytest

import backend


@pytest.mark.parametrize("name", backend.__all__)
def test_every_public_name_resolves(name):
    assert getattr(backend, name) is not None


def test_there_is_one_dispatcher_and_every_family_registered_on_import():
    from pytensor.tensor.elemwise import CAReduce, DimShuffle, Elemwise
    from pytensor.tensor.math import Dot
    from pytensor.tensor.subtensor import Subtensor

    from backend.basic import onnx_funcify as core_funcify

    assert backend.onnx_funcify is core_funcify, "there must be a single onnx_funcify dispatcher"
    fallback = backend.onnx_funcify.dispatch(object)
    for op_class in (Elemwise, DimShuffle, CAReduce, Dot, Subtensor):
        assert backend.onnx_funcify.dispatch(op_class) is not fallback, op_class


def test_onnx_mode_is_registered():
    x = pt.vector("x", dtype="float64")
    fn = pytensor.function([x], x + 1, mode="ONNX")
    assert isinstance(fn.maker.linker, backend.ONNXLinker)
    assert list(fn([1.0, 2.0])) == [2.0, 3.0]
