"""`backend.numerics`: the building blocks of the float64 compositions."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from onnx import TensorProto, helper

from backend.basic import GraphBuilder
from backend.linker import make_session
from backend.numerics import polevl, polevl_many
from backend.runtime_guards import apply_guards

COEFFICIENTS = st.lists(st.floats(-1e6, 1e6, allow_nan=False).filter(lambda c: c != 0.0), min_size=2, max_size=9)
ARGUMENT = hnp.arrays(np.float64, st.integers(0, 6), elements=st.floats(allow_nan=True, allow_infinity=True))


@given(st.lists(st.tuples(COEFFICIENTS, st.sampled_from("xy"), st.booleans()), min_size=1, max_size=5),
       ARGUMENT, st.data())
def test_polynomials_in_one_pass_equal_each_evaluated_alone_bit_for_bit(polynomials, x, data):
    y = data.draw(hnp.arrays(np.float64, x.shape, elements=st.floats(allow_nan=True, allow_infinity=True)))
    builder = GraphBuilder(18)
    together = polevl_many(builder, polynomials)
    alone = [polevl(builder, c, argument, monic=monic) for c, argument, monic in polynomials]
    # as an export does: onnxruntime's optimizer would otherwise drop additions of float64 constants
    # that round to 0 in float32 (backend.runtime_guards)
    apply_guards(builder.nodes, builder.initializers, builder.fresh)
    graph = helper.make_graph(
        builder.nodes, "polynomials", [helper.make_tensor_value_info(n, TensorProto.DOUBLE, [None]) for n in "xy"],
        [helper.make_tensor_value_info(name, TensorProto.DOUBLE, None) for name in together + alone],
        initializer=builder.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    results = make_session(model).run(None, {"x": x, "y": y})
    for stacked, single in zip(results[:len(together)], results[len(together):]):
        np.testing.assert_array_equal(stacked.view(np.int64), single.view(np.int64))
