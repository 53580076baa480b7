"""The matrix's ``mixed`` column: type promotion. Each binary and n-ary elementwise entry registered for
more than one dtype gets one-node graphs on inputs of at least two different dtypes, judged strictly
(`harness.fuzz.judge` with ``strict=True``): the result dtype and shape must be PyTensor's upcast, the
values within the entry's own bound; a divergence the entry declares for the upcast dtype is xfail.

To extend: `promotion_ops` decides which entries get a mixed cell.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from backend.dtypes import ALL_DTYPES, MIXED_DTYPES
from harness.fuzz.judge import Diverged, Verdict, judge
from harness.fuzz.programs import Node, Program, element_strategy, fuzzable_ops
from harness.registry import ONNX_OPERATIONS

# ----------------------------------------------------------------------------------------------
# Type promotion: the matrix's "mixed" column
# ----------------------------------------------------------------------------------------------

def promotion_ops() -> list[str]:
    """Entries with a ``mixed`` cell: fuzzable (plain elementwise) entries of two or more inputs
    registered for more than one dtype."""
    return [name for name in fuzzable_ops()
            if ONNX_OPERATIONS[name].arity >= 2 and len(ONNX_OPERATIONS[name].dtypes) > 1]


def cell_dtypes(spec) -> tuple[str, ...]:
    """The matrix columns of an entry: its dtypes, and ``mixed`` where it has a promotion cell."""
    return spec.dtypes + ((MIXED_DTYPES,) if spec.name in promotion_ops() else ())


def promotion_programs(*, op: str) -> st.SearchStrategy[Program]:
    """One node of ``op`` on graph inputs of at least two different dtypes (each one the entry
    registers) whose shapes broadcast; values over each dtype's whole range, the specials included."""
    if op not in promotion_ops():
        raise ValueError(f"promotion_programs: op={op!r} has no mixed-dtype cell; those that do: "
                         f"{', '.join(promotion_ops())}")
    return _promotion_programs(op)


@st.composite
def _promotion_programs(draw, op: str) -> Program:
    from hypothesis import reject

    spec = ONNX_OPERATIONS[op]
    dtypes = draw(st.lists(st.sampled_from(spec.dtypes), min_size=spec.arity, max_size=spec.arity)
                  .filter(lambda ds: len(set(ds)) > 1))
    result_shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3))
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=spec.arity, base_shape=result_shape,
                                                    max_side=3)).input_shapes
    inputs = [(f"x{k}", d, tuple(shape)) for k, (d, shape) in enumerate(zip(dtypes, shapes))]
    program = Program(inputs, {}, [Node(op, tuple(name for name, _, _ in inputs))], ["v0"])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (output,) = program.build()[2]
    except (TypeError, ValueError, NotImplementedError):
        reject()  # PyTensor refuses this dtype combination (bitwise ops of bool and int8, say)
    if output.type.dtype not in ALL_DTYPES:
        reject()
    values = [draw(hnp.arrays(np.dtype(d), s, elements=st.one_of(element_strategy(d), hnp.from_dtype(np.dtype(d)))))
              for _, d, s in inputs]
    return Program(inputs, {}, [Node(op, tuple(name for name, _, _ in inputs))], ["v0"], values)


def run_promotion_cell(spec, *, hypothesis_settings=None, opset: int | None = None, seed: int | None = None):
    """The ``mixed`` cell of ``spec``: drawn one-node graphs judged strictly (result dtype and shape as
    PyTensor's upcasting makes them, values within the entry's bound; a divergence its declarations
    explain on the upcast inputs is xfail). Returns an engine `CellResult`; its counterexample is the
    shrunk `Program`."""
    from hypothesis import given, reject
    from hypothesis.errors import FailedHealthCheck, Unsatisfiable

    from common.status import Status
    from harness.conformance.engine import CellResult, as_cell_property

    start = time.perf_counter()
    cell = CellResult(spec.name, MIXED_DTYPES, status=Status.PASS)
    attributed: dict[str, str] = {}
    failure: list[tuple[Program, Verdict]] = []
    declined: list[Verdict] = []

    @given(promotion_programs(op=spec.name))
    def property_(program):
        verdict = judge(program, default_mode=False, strict=True, opset=opset)
        if verdict.status == "invalid":
            cell.rejected += 1
            cell.last_rejection = verdict.detail
            reject()
        if verdict.status == "unsupported":  # one dtype combination declined (float64 arctan2): others run
            declined.append(verdict)
            return
        cell.examples += 1
        cell.max_ulp_err = max(cell.max_ulp_err, verdict.max_ulp_err)
        if verdict.status == "xfail":
            cell.xfailed_examples += 1
            attributed.setdefault(verdict.declaration, verdict.detail)
        elif verdict.status == "finding":
            failure[:] = [(program, verdict)]
            raise Diverged(verdict.detail)

    property_ = as_cell_property(property_, spec.name, MIXED_DTYPES, hypothesis_settings=hypothesis_settings,
                                 seed=seed)
    try:
        property_()
        if declined and not cell.examples:
            cell.status, cell.reason = Status.UNSUPPORTED, declined[0].detail
        elif attributed:
            labels = sorted(attributed)
            cell.status, cell.declaration = Status.XFAIL, ", ".join(labels)
            cell.category = ", ".join(sorted({_declared(label).category for label in labels}))
            cell.reason = "; ".join(f"{label}: {_declared(label).reason} (e.g. {attributed[label]})"
                                    for label in labels)
    except Diverged:  # Hypothesis re-raises the shrunk graph's failure last
        program, verdict = failure[0]
        cell.status = {"export": Status.EXPORT_ERROR, "onnxruntime": Status.RUNTIME_ERROR}.get(verdict.check,
                                                                                               Status.MISMATCH)
        cell.reason, cell.counterexample = verdict.detail, program
    except (Unsatisfiable, FailedHealthCheck) as exc:
        cell.status = Status.RUNTIME_ERROR
        cell.reason = (f"PyTensor's py mode raised on the generated inputs ({cell.rejected} tried), last: "
                       f"{cell.last_rejection}" if cell.rejected else f"harness error: {type(exc).__name__}: {exc}")
    if declined and cell.examples:
        cell.reason = (f"{cell.reason}; " if cell.reason else "") + (
            f"{len(declined)} drawn graphs declined by the exporter, e.g. {declined[0].detail}")
    cell.seconds = time.perf_counter() - start
    return cell


def _declared(label: str):
    """The registry declaration labelled ``op#id [category]``."""
    op, ident = label.split(" [", 1)[0].rsplit("#", 1)
    return ONNX_OPERATIONS[op].declaration(ident)
