"""Arithmetic elementwise ops and the traps an exporter falls into (dtypes, literals, rounding, division)."""

import numpy as np
import onnx
import pytensor
import pytensor.tensor as pt
import pytest
from onnx.reference import ReferenceEvaluator

from backend import export_function_onnx, export_onnx
from backend.linker import make_session
from harness.testing import compare_onnx_and_py, get_onnx_node_types

FLOATS = np.array([-2.5, -1.5, -0.5, -0.0, 0.0, 0.5, 1.5, 2.5, 3.7, -3.7], dtype="float64")


def vec(name, dtype):
    return pt.vector(name, dtype=dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int8", "int64", "uint8"])
def test_add(dtype):
    x, y = vec("x", dtype), vec("y", dtype)
    a = np.array([1, 2, 100, 0], dtype=dtype)
    compare_onnx_and_py([x, y], x + y, [a, a])  # int8 100+100 wraps to -56 in both


def test_add_bool_is_logical_or():
    x, y = vec("x", "bool"), vec("y", "bool")
    _, res = compare_onnx_and_py([x, y], x + y, [np.array([0, 0, 1, 1], bool), np.array([0, 1, 0, 1], bool)])
    np.testing.assert_array_equal(res, [False, True, True, True])


@pytest.mark.parametrize("dtype", ["float32", "int16", "uint8"])
def test_sub(dtype):
    x, y = vec("x", dtype), vec("y", dtype)
    compare_onnx_and_py([x, y], x - y, [np.array([5, 0, 3], dtype), np.array([1, 1, 3], dtype)])


@pytest.mark.parametrize("dtype", ["float64", "int32", "bool"])
def test_mul(dtype):
    x, y = vec("x", dtype), vec("y", dtype)
    compare_onnx_and_py([x, y], x * y, [np.array([1, 0, 1], dtype), np.array([1, 1, 0], dtype)])


@pytest.mark.parametrize("dtype", ["float32", "int8", "uint16"])
def test_true_div(dtype):
    x, y = vec("x", dtype), vec("y", dtype)
    _, res = compare_onnx_and_py([x, y], x / y, [np.array([7, 1, 0], dtype), np.array([2, 4, 1], dtype)])
    np.testing.assert_array_equal(res, [3.5, 0.25, 0.0])  # ints divide as floats, not truncated


def test_int_div_floors_negative_operands():
    x, y = vec("x", "int32"), vec("y", "int32")
    a, b = np.array([7, -7, 7, -7], "int32"), np.array([2, 2, -2, -2], "int32")
    _, res = compare_onnx_and_py([x, y], x // y, [a, b])
    np.testing.assert_array_equal(res, np.floor_divide(a, b))  # [3, -4, -4, 3]; ONNX Div gives [3,-3,-3,3]


@pytest.mark.parametrize("dtype", ["int8", "int64", "uint32"])
def test_int_div_by_zero_and_minus_one(dtype):
    info = np.iinfo(dtype)
    a = np.array([info.min, info.max, 5, 0, info.min, 7], dtype)
    b = np.array([0, 0, 0, 0, 1, 3], dtype)
    if info.min < 0:
        a[-1] = -7
        b = np.array([-1, 0, -1, 0, 3, -1], dtype)  # -7 // -1 == 7 (found by the edge-case property)
    x, y = vec("x", dtype), vec("y", dtype)
    compare_onnx_and_py([x, y], x // y, [a, b])


@pytest.mark.parametrize("dtype", ["int8", "int64"])
def test_int_mod_by_minus_one_never_reaches_onnx_mod(dtype):
    """INT_MIN % -1 traps in C (onnxruntime 1.31 dies of SIGFPE); numpy gives 0 for any x % -1."""
    info = np.iinfo(dtype)
    a = np.array([info.min, info.max, -7, 7, info.min], dtype)
    b = np.array([-1, -1, -1, 0, 3], dtype)
    x, y = vec("x", dtype), vec("y", dtype)
    _, res = compare_onnx_and_py([x, y], x % y, [a, b])
    with np.errstate(divide="ignore"):
        np.testing.assert_array_equal(res, np.mod(a, b))
    model = export_onnx([x, y], x % y)
    (mod_node,) = [node for node in model.graph.node if node.op_type == "Mod"]
    # The divisor the ONNX Mod receives, exposed as an extra output and computed by onnx's evaluator.
    model.graph.output.append(onnx.helper.make_tensor_value_info(mod_node.input[1], onnx.TensorProto.UNDEFINED, None))
    divisor = ReferenceEvaluator(model).run([mod_node.input[1]], {inp.name: v for inp, v in zip(model.graph.input, [a, b])})[0]
    assert not np.any(divisor == -1) and not np.any(divisor == 0), divisor


def test_int_div_float_follows_numpy_divmod():
    x, y = vec("x", "float64"), vec("y", "float64")
    a = np.array([1.0, -1.0, 1.0, np.inf, 5.0, -0.0, 0.0, 3.0, 1.0])
    b = np.array([0.1, np.inf, -np.inf, 2.0, 0.0, 3.0, -3.0, np.nan, 0.0])
    _, res = compare_onnx_and_py([x, y], x // y, [a, b])
    with np.errstate(all="ignore"):
        expected = np.floor_divide(a, b)
    np.testing.assert_array_equal(res, expected)  # 1.0 // 0.1 == 9.0, -1.0 // inf == -1.0
    assert np.array_equal(np.signbit(res), np.signbit(expected), equal_nan=True)


@pytest.mark.parametrize("dtype", ["float32", "int8", "uint8"])
def test_neg(dtype):
    x = vec("x", dtype)
    compare_onnx_and_py([x], -x, [np.array([1, 0, 127], dtype)])  # -uint8(1) wraps to 255


@pytest.mark.parametrize("dtype", ["float64", "int8", "bool"])
def test_abs(dtype):
    x = vec("x", dtype)
    values = np.array([-128, 0, 5], dtype) if dtype == "int8" else np.array([-1, 0, 1], dtype)
    compare_onnx_and_py([x], abs(x), [values])


@pytest.mark.parametrize("dtype", ["float32", "int16", "uint16", "bool"])
def test_maximum(dtype):
    x, y = vec("x", dtype), vec("y", dtype)
    compare_onnx_and_py([x, y], pt.maximum(x, y), [np.array([0, 1, 1], dtype), np.array([1, 0, 1], dtype)])


def test_maximum_propagates_nan():
    x, y = vec("x", "float64"), vec("y", "float64")
    _, res = compare_onnx_and_py([x, y], pt.maximum(x, y), [np.array([np.nan, 1.0]), np.array([1.0, np.nan])])
    assert np.isnan(res).all()


@pytest.mark.parametrize("dtype", ["float64", "int16", "bool"])
def test_minimum(dtype):
    x, y = vec("x", dtype), vec("y", dtype)
    compare_onnx_and_py([x, y], pt.minimum(x, y), [np.array([0, 1, 1], dtype), np.array([1, 0, 1], dtype)])


@pytest.mark.parametrize("fn", [pt.exp, pt.log, pt.sqrt])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int8", "int64"])
def test_float_functions_with_out_of_domain_inputs(fn, dtype):
    x = vec("x", dtype)
    values = np.array([-1, 0, 1, 4], dtype)
    _, res = compare_onnx_and_py([x], fn(x), [values])  # log/sqrt(-1) is NaN in both, log(0) = -inf
    assert res.dtype == pytensor.function([x], fn(x), mode="FAST_COMPILE")(values).dtype


def test_exp(): _unary(pt.exp)  # noqa: E704
def test_log(): _unary(pt.log, np.array([0.5, 1.0, 2.0]))  # noqa: E704
def test_sqrt(): _unary(pt.sqrt, np.array([0.0, 1.0, 2.0]))  # noqa: E704
def test_floor(): _unary(pt.floor, FLOATS)  # noqa: E704
def test_ceil(): _unary(pt.ceil, FLOATS)  # noqa: E704


def _unary(fn, values=FLOATS):
    x = vec("x", "float64")
    compare_onnx_and_py([x], fn(x), [values])


@pytest.mark.parametrize("dtype", ["float32", "float64", "int8", "int32", "uint8"])
def test_pow(dtype):
    x, y = vec("x", dtype), vec("y", dtype)
    compare_onnx_and_py([x, y], x**y, [np.array([2, 3, 0, 1], dtype), np.array([3, 2, 0, 5], dtype)])


def test_pow_mixed_dtype_upcasts():
    x, y = vec("x", "float32"), vec("y", "int64")
    _, res = compare_onnx_and_py([x, y], x**y, [np.array([2.0, 0.5], "float32"), np.array([3, 2], "int64")])
    assert res.dtype == np.float64


def test_round_half_to_even_ties():
    x = vec("x", "float64")
    _, res = compare_onnx_and_py([x], pt.round_half_to_even(x), [FLOATS])
    np.testing.assert_array_equal(res[:3], [-2.0, -2.0, -0.0])


def test_round_half_away_from_zero_ties():
    x = vec("x", "float32")
    _, res = compare_onnx_and_py([x], pt.round_half_away_from_zero(x), [FLOATS.astype("float32")])
    np.testing.assert_array_equal(res[[0, 1, 2, 5, 6, 7]], [-3.0, -2.0, -1.0, 1.0, 2.0, 3.0])


def test_round_half_away_from_zero_keeps_float32_integers_beyond_2_23():
    """2**23 + 1 + 0.5 rounds to even in float32; PyTensor adds the half in float64 and keeps it."""
    x = vec("x", "float32")
    odd = np.array([2.0**23 + 1, -(2.0**23 + 1), 2.0**23 - 0.5], "float32")
    _, res = compare_onnx_and_py([x], pt.round_half_away_from_zero(x), [odd])
    np.testing.assert_array_equal(res, [2.0**23 + 1, -(2.0**23 + 1), 2.0**23])


@pytest.mark.parametrize("src,dst", [("float64", "int32"), ("int8", "float32"), ("float32", "bool"), ("int64", "uint8")])
def test_cast(src, dst):
    x = vec("x", src)
    compare_onnx_and_py([x], pt.cast(x, dst), [np.array([0, 1, 2, 100], src)])


def test_identity():
    x = vec("x", "int16")
    fn, _ = compare_onnx_and_py([x], pt.tensor_copy(x), [np.array([1, 2], "int16")])
    assert get_onnx_node_types(fn) == ["Identity"]


def test_constant_output():
    x = vec("x", "float64")
    compare_onnx_and_py([x], [x + 1, pt.constant(np.array([1.0, 2.0]))], [np.array([1.0, 2.0])])


def test_chained_arithmetic():
    x = vec("x", "float32")
    _, res = compare_onnx_and_py([x], (x * 2 + 3) / 4, [np.array([1, 2, 3], "float32")])
    assert res.dtype == np.float32  # int literals must not break float32 graphs


def test_mixed_dtypes_follow_pytensor_upcasting():
    x, y = vec("x", "float32"), vec("y", "int64")
    _, res = compare_onnx_and_py([x, y], x + y, [np.ones(2, "float32"), np.ones(2, "int64")])
    assert res.dtype == np.float64
    i = vec("i", "int8")
    _, res = compare_onnx_and_py([i], i + 1000, [np.array([1, -1], "int8")])
    assert res.dtype == np.int16


def test_broadcasting_with_static_ones():
    x = pt.matrix("x", dtype="float64")
    r = pt.row("r", dtype="float64")
    c = pt.col("c", dtype="float64")
    compare_onnx_and_py([x, r, c], x * r + c, [np.ones((2, 3)), np.arange(3.0)[None], np.arange(2.0)[:, None]])


def test_export_function_with_fusion_and_inplace():
    x, y = vec("x", "float32"), vec("y", "float32")
    outs = [pt.exp(x) + pt.sqrt(y) * 2, (x * 2 + 3) / 4, x // y, x]
    fn = pytensor.function([x, y], outs)  # default mode: fused Composite, in-place, DeepCopyOp
    model = export_function_onnx(fn)
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    a, b = np.array([1.0, -2.0, 3.5], "float32"), np.array([4.0, 0.5, 2.0], "float32")
    for got, want in zip(session.run(None, {"x": a, "y": b}), fn(a, b), strict=True):
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_arctan2_quadrants_signed_zeros_and_infinities():
    # IEEE 754 atan2 special cases, as numpy returns them
    y = np.array([0.0, -0.0, 0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.inf, 1.0, -1.0, np.nan], "float32")
    x = np.array([0.0, 0.0, -0.0, -0.0, -np.inf, -np.inf, np.inf, -np.inf, 1.0, 0.0, -0.0, 1.0], "float32")
    a, b = vec("y", "float32"), vec("x", "float32")
    _, res = compare_onnx_and_py([a, b], pt.arctan2(a, b), [y, x])
    expected = np.arctan2(y, x)
    np.testing.assert_array_equal(np.signbit(res[:-1]), np.signbit(expected[:-1]))
    np.testing.assert_allclose(res, expected, rtol=1e-6)


def test_float64_arctan2_keeps_ieee_special_cases_and_signs():
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 5e-324, 1e308])
    y, x = (a.ravel() for a in np.meshgrid(specials, specials))
    a, b = vec("y", "float64"), vec("x", "float64")
    _, res = compare_onnx_and_py([a, b], pt.arctan2(a, b), [y, x])
    expected = np.arctan2(y, x)
    np.testing.assert_array_equal(np.signbit(res), np.signbit(expected))
    np.testing.assert_array_equal(np.isnan(res), np.isnan(expected))
    np.testing.assert_allclose(res, expected, rtol=3e-16)


def _ulps(a, b):
    from harness.conformance.engine import ulp_distance

    return ulp_distance(np.asarray(a), np.asarray(b))


# arguments where the compositions are hardest: reduction boundaries (0.66, tan(3 pi/8), the nearest
# doubles to multiples of pi/2), +-1 for arcsin/arccos, subnormals, signed zeros, inf and NaN
HALF_PI_MULTIPLES = np.array([k * np.pi / 2 for k in (1, 2, 3, 1001, 2**20 + 1)])
TRIGONOMETRY_CASES = {
    "arctan": (np.array([0.0, -0.0, 5e-324, 1e-200, 0.66, np.nextafter(0.66, 1), 2.414213562373095,
                         np.nextafter(2.414213562373095, 3), 1e17, -np.inf, np.nan]), 1),
    "arcsin": (np.array([0.0, -0.0, 5e-324, 0.5, -0.625, 1 - 2**-53, -1.0, 1.0, 1 + 2**-52, np.inf, np.nan]), 2),
    "arccos": (np.array([0.0, -0.0, 5e-324, 0.5, -0.625, 1 - 2**-53, -1.0, 1.0, -1 - 2**-52, np.nan]), 2),
    "tan": (np.concatenate([[0.0, -0.0, 5e-324, 1e-7, -np.pi / 4, 1e8, np.inf, np.nan], HALF_PI_MULTIPLES,
                            np.nextafter(HALF_PI_MULTIPLES, 0), -HALF_PI_MULTIPLES]), 4),
}


@pytest.mark.parametrize("name", sorted(TRIGONOMETRY_CASES))
def test_float64_trigonometric_compositions_are_within_their_bounds_where_they_are_hardest(name):
    data, bound = TRIGONOMETRY_CASES[name]
    x = vec("x", "float64")
    _, res = compare_onnx_and_py([x], getattr(pt, name)(x), [data], assert_fn=lambda *args, **kwargs: None)
    with np.errstate(all="ignore"):
        expected = getattr(np, name)(data)
    np.testing.assert_array_equal(np.isnan(res), np.isnan(expected))
    numbers = ~np.isnan(expected)
    np.testing.assert_array_equal(np.signbit(res[numbers]), np.signbit(expected[numbers]))
    assert _ulps(res[numbers], expected[numbers]).max() <= bound


def test_float64_tan_beyond_its_reduction_is_nan_not_a_wrong_number():
    from backend.scalar import TAN_REDUCTION_LIMIT

    x = vec("x", "float64")
    session = make_session(export_onnx([x], pt.tan(x)))
    (res,) = session.run(None, {"x": np.array([TAN_REDUCTION_LIMIT * 1.01, -1e300, TAN_REDUCTION_LIMIT * 0.99])})
    assert np.isnan(res[:2]).all() and np.isfinite(res[2])


@pytest.mark.parametrize("name,values", [
    ("arctanh", [0.0, -0.0, 0.5, -0.999999, 1.0, -1.0, 1.5, np.nan, 1e-300]),
    ("arcsinh", [0.0, -0.0, 1e-10, -2.5, 3e8, -1e300, np.inf, -np.inf, np.nan]),
    ("arccosh", [1.0, 1.0 + 2**-52, 1.5, 2.0, 1e10, 1e300, np.inf, 0.5, -3.0, np.nan]),
    ("cosh", [0.0, -0.0, 1e-9, -1.5, 30.0, 709.5, -710.4, 710.5, np.inf, np.nan]),
    ("sinh", [0.0, -0.0, 1e-9, -0.7, 1.0, 30.0, -709.5, 710.4, 710.5, -np.inf, np.nan]),
])
def test_float64_hyperbolic_compositions_keep_special_values(name, values):
    # onnxruntime has no float64 kernels for these; the exported compositions must still give
    # numpy's signed zeros, infinities (overflow only past the true limit) and NaNs
    x = vec("x", "float64")
    data = np.array(values)
    _, res = compare_onnx_and_py([x], getattr(pt, name)(x), [data])
    with np.errstate(all="ignore"):
        expected = getattr(np, name)(data)
    np.testing.assert_array_equal(np.isnan(res), np.isnan(expected))
    np.testing.assert_array_equal(np.signbit(res[~np.isnan(res)]), np.signbit(expected[~np.isnan(expected)]))
    np.testing.assert_allclose(res, expected, rtol=1e-15)


def test_reduction_with_a_fused_elementwise_map_is_the_map_then_the_reduction():
    # PyTensor's fusion makes CAReduce{Composite{i0 + log(i1)}} of sum(log(x)) (PyMC's MvNormal gradient)
    import pytensor.scalar.basic as ps
    from pytensor.tensor.elemwise import CAReduce

    acc, element = ps.float64(), ps.float64()
    fused = CAReduce(ps.Composite([acc, element], [ps.add(acc, ps.log(element))]), axis=(1,))
    from backend.linker import make_session

    x = pt.matrix("x", dtype="float64")
    # PyTensor 2.38 makes it; 3.0's py mode cannot evaluate it (a Composite has no identity): numpy judges
    session = make_session(export_onnx([x], fused(x)))
    (result,) = session.run(None, {"x": np.array([[1.0, 2.0, 4.0], [0.5, 0.25, 8.0]])})
    np.testing.assert_allclose(result, np.log([8.0, 1.0]), rtol=1e-15, atol=1e-15)
    # a combination that is not "accumulator <op> g(element)" is refused with the op named
    not_a_map = CAReduce(ps.Composite([acc, element], [ps.log(ps.add(acc, element))]), axis=None)
    with pytest.raises(NotImplementedError, match="CAReduce with scalar op"):
        export_onnx([x], not_a_map(x))


@pytest.mark.parametrize("scalar_op", ["add", "mul"])
def test_one_input_add_and_mul_are_their_input(scalar_op):
    import pytensor.scalar.basic as ps
    from pytensor.tensor.elemwise import Elemwise

    x = pt.vector("x", dtype="float64")
    one_input = Elemwise(getattr(ps, scalar_op))(x)  # PyMC's AR log-density has such an Add
    assert one_input.owner is not None
    _, result = compare_onnx_and_py([x], one_input, [np.array([1.5, -0.0, np.inf])])
    np.testing.assert_array_equal(result, [1.5, -0.0, np.inf])
