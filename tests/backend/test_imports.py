import importlib


def test_onnx_module_exists():
    module = importlib.import_module("backend")
    assert module.__name__ == "backend"


def test_onnx_public_api():
    from backend import (
        ONNX_OPSET_VERSION,
        ONNXLinker,
        compile_onnx,
        export_function_onnx,
        export_onnx,
        onnx_funcify,
    )

    assert ONNX_OPSET_VERSION == 18
    for obj in (ONNXLinker, compile_onnx, export_function_onnx, export_onnx, onnx_funcify):
        assert callable(obj), obj


def test_dispatch_module_structure():
    from backend import onnx_funcify, onnx_typify
    from backend.basic import onnx_funcify as core_funcify

    assert onnx_funcify is core_funcify, "there must be a single onnx_funcify dispatcher"
    for dispatcher in (onnx_funcify, onnx_typify):
        assert hasattr(dispatcher, "register") and hasattr(dispatcher, "registry")
    # The op-family modules registered their converters on import.
    from pytensor.tensor.elemwise import DimShuffle, Elemwise

    assert onnx_funcify.dispatch(Elemwise) is not onnx_funcify.dispatch(object)
    assert onnx_funcify.dispatch(DimShuffle) is not onnx_funcify.dispatch(object)


def test_onnx_mode_is_registered():
    import pytensor
    import pytensor.tensor as pt

    import backend  # noqa: F401

    x = pt.vector("x", dtype="float64")
    fn = pytensor.function([x], x + 1, mode="ONNX")
    assert isinstance(fn.maker.linker, backend.ONNXLinker)
    assert list(fn([1.0, 2.0])) == [2.0, 3.0]
