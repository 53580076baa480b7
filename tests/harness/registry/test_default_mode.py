"""Entries compiled the way users export them: ``pytensor.function`` with the default mode's rewrites
(``fast_run``: fusion, in-place, BLAS and specialised rewrites; from PyTensor 3.3 also the NUMBA mode's,
the default there, which make FusedElemwise, ScalarCAReduce, LazyIfElse and other OpFromGraphs), then
`export_function_onnx`, against
that same function on inputs drawn by each entry's own strategy and compared with its own bound. The
function runs with the Python linker, inner graphs included (`reference_context`): the rewritten graph
is what is exported either way, and C compilation would cost minutes on a fresh machine (PyTensor's C max also drops NaN, which the Python
perform and the export keep). The matrix checks the
graphs as built; this checks what PyTensor's rewrites make of them (Dot22/Gemv/Gemm, SLogDet, fused
Composites, in-place Cholesky and solves).

One family per construct: every model row (``graph:``) and the linear algebra, cumulative, sort,
unique, searchsorted, pad and special-function entries. Examples a declaration covers are left out,
as the matrix counts them as declared divergences (a random profile drew gammaincinv's declared NaN for
a tail below 1e-300 here).
"""

import warnings

import numpy as np
import onnxruntime as ort
import pytensor
import pytest
from hypothesis import HealthCheck, given, reject, settings
from pytensor.compile.mode import Mode, get_mode

from backend import export_function_onnx
from backend.compat import FusedElemwise
from harness.conformance.engine import cell_strategy, compare_arrays, declarations_holding
from harness.registry import ABSENT_ENTRIES, ONNX_OPERATIONS
from harness.registry.spec import build_graph
from harness.testing import reference_context

REWRITES = {"fast_run": Mode(linker="py", optimizer="fast_run")}
if FusedElemwise is not None:  # PyTensor >= 3.3: the default mode is NUMBA, whose rewrites make ops of their own
    REWRITES["numba"] = Mode(linker="py", optimizer=get_mode("NUMBA").provided_optimizer)
VERSION_SPECIFIC = ("lazy_ifelse", "numba_fused_elemwise_sum", "numba_scalar_careduce", "numba_scalarized_join",
                    "numba_scalar_subtensor")
FAMILIES = [name for name in ONNX_OPERATIONS if name.startswith("graph:")] + [
    "cholesky", "solve", "solve_triangular_lower", "cho_solve", "matrix_inverse", "det", "slogdet",
    "eigvalsh_generalized", "svd_values", "pinv", "qr", "qr_r", "expm",
    "cumsum", "cumprod", "sort_stable", "argsort_stable", "unique_index_inverse_counts", "searchsorted_right",
    "pad_constant", "gammaln", "psi", "betaln", "logsumexp", "erfc", "erfcx", "erfinv", "i0", "iv", "betainc",
    "betaincinv", "gammaincinv", "softmax", "log_softmax", "logaddexp", "alloc_diag", "ifelse_nested",
] + list(VERSION_SPECIFIC)
FAMILIES = [name for name in FAMILIES if name not in ABSENT_ENTRIES]  # absent with this PyTensor, saying why


def _default_mode_session(spec, dtype, example, mode):
    inputs, outputs = build_graph(spec, dtype, [(None,) * len(s) for s in example.shapes], example.params)
    outputs = outputs if isinstance(outputs, list | tuple) else [outputs]
    with warnings.catch_warnings(), reference_context():
        warnings.simplefilter("ignore")
        fn = pytensor.function(inputs, list(outputs), on_unused_input="ignore", mode=mode)
    model = export_function_onnx(fn)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return fn, session, names


@pytest.mark.parametrize("rewrites", sorted(REWRITES))
@pytest.mark.parametrize("name", FAMILIES)
def test_default_mode_function_exports_and_matches(name, rewrites):
    spec = ONNX_OPERATIONS[name]
    dtype = "float64"
    assert spec.cell_xfail(dtype) is None, f"{name}'s float64 cell is declared as a whole: pick another entry"
    strategy = cell_strategy(spec, dtype)
    compiled = {}

    @settings(max_examples=3, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(strategy)
    def check(example):
        if declarations_holding(spec, dtype, example):
            reject()  # a declared divergence (the matrix reports it as xfail): not this test's subject
        key = (tuple(len(s) for s in example.shapes), example.params)
        if key not in compiled:
            compiled[key] = _default_mode_session(spec, dtype, example, REWRITES[rewrites])
        fn, session, names = compiled[key]
        try:
            with reference_context():
                expected = fn(*example.arrays)
        except Exception:  # PyTensor refuses the input (LAPACK's own errors too): run_example rejects it as well
            reject()
        feed = {n: a for n, a in zip(names, example.arrays)}
        actual = session.run(None, feed)
        scale = spec.error_scale(example) if spec.error_scale else None
        for a, e in zip(actual, expected):
            e = np.asarray(e)
            cmp = compare_arrays(a, e, max_ulp=spec.max_ulp(str(e.dtype)), signed_zeros=spec.signed_zeros,
                                 scale=scale)
            assert not cmp.problems, f"{name}: {cmp.problems} on {example}"

    check()
