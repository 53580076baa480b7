"""The ive composition (backend/special_functions/bessel.py, incomplete_beta.py): each of its methods against 40-digit values,
and scipy's conventions at the edges. The matrix compares it with scipy on drawn inputs; these pin
the methods' accuracy where scipy itself is off, and the conventions one by one."""

from fractions import Fraction

import numpy as np
import onnxruntime as ort
import pytensor.tensor as pt
import pytest
import scipy.special

from backend import export_onnx
from backend.special_functions.bessel import uniform_expansion_polynomials


@pytest.fixture(scope="module")
def ive():
    v, x = pt.dvector("v"), pt.dvector("x")
    model = export_onnx([v, x], pt.ive(v, x))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [i.name for i in model.graph.input]

    def evaluate(orders, arguments):
        orders, arguments = np.broadcast_arrays(np.asarray(orders, np.float64), np.asarray(arguments, np.float64))
        return session.run(None, dict(zip(names, (orders.copy(), arguments.copy()))))[0]

    return evaluate


def test_uniform_expansion_polynomials_are_debyes():
    # DLMF 10.41.10: u1 = (3p - 5p^3) / 24, u2 = (81p^2 - 462p^4 + 385p^6) / 1152,
    # u3 = (30375p^3 - 369603p^5 + 765765p^7 - 425425p^9) / 414720
    u = uniform_expansion_polynomials(4)
    assert u[0] == [1.0]
    np.testing.assert_allclose(u[1], [3 / 24, -5 / 24], rtol=1e-15)
    np.testing.assert_allclose(u[2], [81 / 1152, -462 / 1152, 385 / 1152], rtol=1e-15)
    expected = [Fraction(c, 414720) for c in (30375, -369603, 765765, -425425)]
    np.testing.assert_allclose(u[3], [float(c) for c in expected], rtol=1e-15)


# I_v(x) e^-|x| by mpmath 1.4.1 (besseli at 40 digits): the power series (incl. negative orders),
# the large-x expansion, Debye's expansion (and its reflection for v <= -25)
HIGH_PRECISION = [
    (0.3, 2.5, 0.26217204524001745763),
    (-3.6052963422403117, 20.195490248659294, 0.064276131583656518855),  # scipy is 386 ULP off
    (-2.5, 1.0, 0.77687904599374904159),
    (17.3, 21.7, 0.00010466734752869764235),
    (-30.5, 1.0, 8.5031642745385714376e39),
    (3.0, -7.5, -0.07857196337195986533),
    (7.25, 60.0, 0.033200504177680782067),
    (0.0, 41.0, 0.062496943756818890749),
    (-7.7, 43.98, 0.030561411955417714046),
    (25.74, 0.017, 2.8822870406451192709e-80),
    (60.5, 80.0, 1.1844099753443744819e-11),
    (40.0, 2000.0, 0.0059795261708903902624),
]
# v = -55.09: I_55.09 e^-x = 6.3e-18 and the reflection's K term -4.8e-18 cancel to 1.55e-18
CANCELLING = (-55.086515423249324, 36.414090886179906, 1.5502689215892566498e-18)


@pytest.mark.parametrize(("order", "argument", "expected"), HIGH_PRECISION)
def test_ive_against_high_precision_values(ive, order, argument, expected):
    # 1e-13: the Debye exponent's rounding (25.74 at x = 0.017 is exp(-183)) and the series' products
    np.testing.assert_allclose(ive([order], [argument]), [expected], rtol=1e-13)


def test_ive_reflection_is_accurate_relative_to_its_terms(ive):
    order, argument, expected = CANCELLING
    terms = scipy.special.ive(-order, argument) * 2  # |I term| + |K term| is within 2 |I term| here
    assert abs(ive([order], [argument])[0] - expected) <= 1e-13 * terms


def test_ive_follows_scipy_at_the_edges(ive):
    tiny = 1e3 * np.finfo(np.float64).tiny  # AMOS counts |x| below this as 0
    cases = [
        (2.0, -1.0), (3.0, -1.0), (-3.0, -1.0), (-2.0, 4.0),  # integer orders: (-1)^v for x < 0, I_-n = I_n
        (0.5, -1.0), (-0.5, -1.0),  # x < 0 and v not an integer: NaN
        (0.0, 0.0), (1.0, 0.0), (-1.5, 0.0), (2.0, -0.0),  # x = 0: 1, 0, NaN (the pole)
        (0.0, tiny / 2), (0.5, tiny / 2), (-0.5, tiny / 2),
        (1.0, 2e9), (2e9, 1.0), (np.inf, 1.0), (1.0, np.inf), (1.0, -np.inf), (np.nan, 1.0), (1.0, np.nan),
        (300.0, 5.0), (3.0, -1e-200),  # below e^-700.92: +0.0
        (-30.3, 1e-10),  # overflows: NaN
    ]
    orders, arguments = (np.array(c) for c in zip(*cases))
    actual, expected = ive(orders, arguments), scipy.special.ive(orders, arguments)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    finite = ~np.isnan(expected)
    np.testing.assert_allclose(actual[finite], expected[finite], rtol=1e-14)
    zero = finite & (expected == 0)
    np.testing.assert_array_equal(np.signbit(actual[zero]), np.signbit(expected[zero]))


@pytest.fixture(scope="module")
def incomplete_beta_functions():
    a, b, x = pt.dvector("a"), pt.dvector("b"), pt.dvector("x")
    sessions = {}
    for name, output in (("betainc", pt.betainc(a, b, x)), ("betaincinv", pt.betaincinv(a, b, x))):
        model = export_onnx([a, b, x], output)
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        sessions[name] = (session, [i.name for i in model.graph.input])

    def evaluate(name, *arguments):
        session, names = sessions[name]
        arrays = np.broadcast_arrays(*(np.asarray(v, np.float64) for v in arguments))
        return session.run(None, dict(zip(names, (v.copy() for v in arrays))))[0]

    return evaluate


def test_betainc_with_a_large_b_keeps_log_beta_accurate(incomplete_beta_functions):
    # 1 - I_x(2, b) = (1 - x)^b (1 + b x), by mpmath at 40 digits: 0.38090980295220813343. A difference of
    # lgamma(b + 2) and lgamma(b) (~4e6 each) would be ~1e-9 off
    actual = incomplete_beta_functions("betainc", [2.0], [330469.5], [4e-6])
    np.testing.assert_allclose(actual, [0.38090980295220813343], rtol=1e-13)


# roots of I_x(a, b) = y by mpmath's findroot on its betainc at 40 digits; the lower tail, the upper tail
# (y > 1/2), roots above 1/2 (solved for 1 - x), and a tail of 1e-250 where the root is (y / 21)^(1/5) to
# 1e-50 (scipy's betaincinv is NaN there)
INVERSE_HIGH_PRECISION = [
    (2.0, 3.0, 0.3, 0.27238394207510534103),
    (0.5, 0.5, 0.2, 0.095491502812526298199),
    (0.2, 7.0, 0.9, 0.087462344476364990217),
    (100.0, 0.5, 0.3, 0.99463006097901125079),
    (0.15551464891919484, 7.447178215306342, 0.9267371611581522, 0.08528653219550657958),
    (30.0, 40.0, 0.999999, 0.70292975415268620675),
    (5.0, 3.0, 1e-250, 5.4394644288887850805e-51),
]


@pytest.mark.parametrize(("a", "b", "y", "expected"), INVERSE_HIGH_PRECISION)
def test_betaincinv_against_high_precision_roots(incomplete_beta_functions, a, b, y, expected):
    # the forward function's rounding (~1e-15 of y) moves the root by that over the density
    np.testing.assert_allclose(incomplete_beta_functions("betaincinv", [a], [b], [y]), [expected], rtol=2e-14)


def test_betaincinv_follows_scipy_at_the_edges(incomplete_beta_functions):
    inf = np.inf
    cases = [
        (2.0, 3.0, 0.0), (2.0, 3.0, 1.0), (inf, 0.5, 0.0), (0.5, inf, 1.0),  # y = 0, 1: 0, 1
        (inf, 1.0, 0.5), (1.0, inf, 0.5), (inf, 2.0, 0.5), (0.5, inf, 0.5), (inf, inf, 0.5),  # closed forms, NaN
        (1e-9, 1.0, 0.5), (1.0, 1e9, 0.5), (1e300, 1.0, 0.5), (1.0, 3.0, 1e-20), (1.0, 1.0, 0.3),
        (0.0, 1.0, 0.5), (1.0, 0.0, 0.0), (-1.0, 1.0, 0.5), (1.0, 1.0, -0.1), (1.0, 1.0, 1.1), (np.nan, 1.0, 0.5),
    ]
    a, b, y = (np.array(c) for c in zip(*cases))
    actual, expected = incomplete_beta_functions("betaincinv", a, b, y), scipy.special.betaincinv(a, b, y)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    finite = ~np.isnan(expected)
    np.testing.assert_allclose(actual[finite], expected[finite], rtol=1e-15)
