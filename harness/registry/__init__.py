"""The operation registry: one declarative entry per op. The matrix, the property tests and the
benchmarks all iterate over `ONNX_OPERATIONS`.

Layout (mirrors ``backend/``): ``spec.py`` defines an entry (`OpSpec`, `register`, `.xfail`,
categories, tolerances); one module per op family holds that family's entries, named like the
backend module whose converters it exercises (``scalar``, ``comparison``, ``elemwise``,
``reduction``, ``math``, ``blockwise``, ``special``, ``shape``, ``subtensor``, ``tensor_basic``,
``compile_ops``, ``builders``, ``scan``, ``ifelse``, ``scalar_loop``, ``sort``, ``extra_ops``, ``linalg``, ``special_functions``, ``blas``;
``graphs`` holds whole models, the matrix's ``graph:`` rows; ``gradients`` derives a ``grad:<op>`` row
from every differentiable entry);
``quirks.py`` holds models of runtime behaviour that declarations predict with;
``completeness.py`` checks entries against converters (``python -m harness check``).

How to add an op: a converter in ``backend/<family>.py``, then one ``register(...)`` call in
``harness/registry/<family>.py`` carrying everything (tolerance, ONNX ops, declarations). Importing
this package registers every entry; it builds no graph.
"""

import importlib.util

from harness.registry.spec import (
    ABSENT_ENTRIES,
    CATEGORIES,
    EXACT,
    ONNX_OPERATIONS,
    REDUCTION,
    TRANSCENDENTAL,
    OpSpec,
    RegistryError,
    XFail,
    build_graph,
    register,
)

# Registration happens on import, family by family (the order of `ONNX_OPERATIONS`).
from harness.registry import (  # noqa: E402,F401  isort: skip
    scalar, comparison, elemwise, reduction, math, blockwise, special, shape, subtensor, tensor_basic, compile_ops,
    builders, scan, ifelse, scalar_loop, sort, extra_ops, linalg, special_functions, blas, graphs,
)

if importlib.util.find_spec("pymc") is not None:  # the [pymc] extra: PyMC's own ops, models' rows ``model:<name>``
    from harness.registry import pymc_models, pymc_ops  # noqa: E402,F401

from harness.registry import gradients  # noqa: E402  isort: skip

gradients.register_gradient_rows()  # last: one ``grad:<op>`` row per differentiable entry above

FAMILY_MODULES = ("scalar", "comparison", "elemwise", "reduction", "math", "blockwise", "special", "shape",
                  "subtensor", "tensor_basic", "compile_ops", "builders", "scan", "ifelse",
                  "scalar_loop", "sort", "extra_ops", "linalg", "special_functions", "blas")
"""The registry modules that hold entries, each named after the backend module it exercises."""

__all__ = ["ABSENT_ENTRIES", "CATEGORIES", "EXACT", "FAMILY_MODULES", "ONNX_OPERATIONS", "REDUCTION", "TRANSCENDENTAL", "OpSpec",
           "RegistryError", "XFail", "build_graph", "register"]
