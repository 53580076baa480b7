"""What a registry entry is: `OpSpec`, its `XFail` declarations, `register`, the categories of known
divergences and the ULP tolerances. The family modules beside this one hold the entries.

An entry
--------
``register(name, arity=, dtypes=, ...)`` adds one `OpSpec` to `ONNX_OPERATIONS` and returns it;
``build`` defaults to ``getattr(pytensor.tensor, name)``. The fields are documented on `OpSpec`.

A known divergence
------------------
Chain ``.xfail(id=..., reason=..., category=..., dtypes=..., when=...)`` on the entry. ``id`` names the
declaration (lowercase words joined by hyphens, unique within the entry: ``"float16-chain"``); reports,
diffs and tests label it ``op#id [category]``, so adding a declaration renames none. ``category`` is one of
`CATEGORIES`; ``dtypes`` limits it (default: every dtype of the entry); ``when`` is a predicate on the
inputs (an `ArrayExample`) that says which examples diverge. Declarations are strict, each on its
own: a whole-cell declaration whose cell passes is ``xpass``, and so is a ``when`` declaration that
held on examples none of which diverged (unless it says why its divergence is ``unpredictable``
from the inputs); a declaration naming a dtype the entry does not have is an error at registration.
``onnxruntime_before=(major, minor)`` limits a declaration to older onnxruntime releases than that.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pytensor.tensor as pt
from hypothesis import strategies as st

from backend.compat import ONNXRUNTIME_VERSION
from backend.dtypes import ALL_DTYPES
from strategies.shapes import BroadcastShapes
from strategies.values import ArrayExample

DECLARATION_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
"""What a declaration's ``id`` looks like."""

CATEGORIES = {
    "onnx-spec": "ONNX defines the op differently from PyTensor",
    "onnxruntime-kernel": "onnxruntime's CPU kernel deviates from the ONNX spec or lacks precision",
    "exporter": "a known gap in this project's converter",
    "pytensor": "PyTensor's reference behaviour is itself questionable",
}

EXACT = {"float16": 0, "float32": 0, "float64": 0}
"""Max ULP error per float dtype: correctly rounded ops (add, mul, sqrt, ...) must match bit for bit."""
TRANSCENDENTAL = {"float16": 1, "float32": 4, "float64": 2}
"""exp, log, pow: libm/MLAS implementations may differ by a few ULP; float64 stays tight."""
REDUCTION = {"float16": 2, "float32": 16, "float64": 16}
"""sum/prod/mean: onnxruntime and numpy add in different orders (pairwise vs vectorised), so the
rounding differs by a few ULP per element; float16 accumulates in float32 in both."""


class RegistryError(ValueError):
    """A registry entry or declaration is inconsistent."""


def validate_declaration(owner: str, id: str, reason: str, category: str) -> None:
    """The parts every declared divergence has, an entry's (`OpSpec.xfail`) or a composition's
    (`harness.fuzz.judge.CompositionDivergence`): a name, a reason, a known category."""
    if not isinstance(id, str) or not DECLARATION_ID.fullmatch(id):
        raise RegistryError(f"{owner}: xfail id {id!r} must be lowercase words joined by hyphens, e.g. "
                            "'float16-chain'")
    if not reason or not reason.strip():
        raise RegistryError(f"{owner}: an xfail needs a reason")
    if category not in CATEGORIES:
        raise RegistryError(f"{owner}: unknown xfail category {category!r}; use one of {sorted(CATEGORIES)}")


@dataclass(frozen=True)
class XFail:
    """One declared divergence of an entry; `label` names it in reports."""

    op: str
    id: str  # the declaration's name, unique within the entry
    reason: str
    category: str
    dtypes: tuple[str, ...]
    when: Callable[[ArrayExample], bool] | None = None
    unpredictable: str = ""  # why ``when`` can hold without a divergence (see `OpSpec.xfail`)

    @property
    def stale_when_quiet(self) -> bool:
        """A ``when`` that held on examples none of which diverged makes this declaration stale."""
        return not self.unpredictable

    @property
    def label(self) -> str:
        return f"{self.op}#{self.id} [{self.category}]"

    def holds(self, dtype: str, example: ArrayExample) -> bool:
        """Does this declaration cover ``example`` of a ``dtype`` cell?"""
        if dtype not in self.dtypes:
            return False
        return self.when is None or bool(self.when(example))


@dataclass
class OpSpec:
    """One registered op.

    Fields users set (all but name/arity/dtypes/build are optional):

    - ``onnx_ops``: ONNX op types the export must contain (checked by a test);
    - ``tolerance``: max ULP error per float dtype (`EXACT` by default);
    - ``input_dtypes(dtype)``: the inputs' dtypes for a cell (default: ``arity`` x the cell dtype);
    - ``elements(dtype)`` / ``shapes(dtype)``: Hypothesis strategies for the inputs' values / shapes;
    - ``elementwise``: inputs broadcast against each other (False for shape-changing ops);
    - ``signed_zeros``: compare the sign of zero results;
    - ``ulp_dtype(dtype)``: count ULPs in this dtype (a chain computed in lower precision);
    - ``probe_ndim``: rank of the inputs (or of each) when built without drawn shapes;
    - ``examples(dtype, edge_cases)``: whole examples for inputs that depend on each other
      (replaces shapes/elements/params);
    - ``params(input_shapes)``: a strategy of build keyword arguments drawn with the inputs;
    - ``bench_inputs(dtype, size)``: benchmark inputs of about ``size`` elements;
    - ``error_scale(example)``: magnitude of the terms each result is a difference of;
    - ``scale_by_largest_output``: ULPs are counted at each output's largest finite magnitude, and at
      least at 1 (results that are sums of products of many terms, like gradients: ``1 - tanh(x)**2``
      cancels against the constant 1);
    - ``values_defined``: False when only dtype and shape are specified (AllocEmpty);
    - ``dtype_kwarg``: ``build`` receives the cell dtype as ``dtype=``;
    - ``ci_example_share``: the share of the ci profile's examples the op's properties get, for graphs
      that take long to export and load per input shape (Loop-based compositions); dev and nightly
      keep every example (`strategies.profiles.examples_for`).
    """

    name: str
    arity: int
    dtypes: tuple[str, ...]
    build: Callable[..., object]
    onnx_ops: tuple[str, ...] = ()
    tolerance: dict[str, int] = field(default_factory=lambda: dict(EXACT))
    input_dtypes: Callable[[str], tuple[str, ...]] | None = None
    elements: Callable[[str], Sequence[st.SearchStrategy | None]] | None = None
    shapes: Callable[[str], st.SearchStrategy[BroadcastShapes]] | None = None
    elementwise: bool = True
    signed_zeros: bool = True
    ulp_dtype: Callable[[str], str | None] | None = None
    probe_ndim: int | tuple[int, ...] = 1
    examples: Callable[[str, bool], st.SearchStrategy[ArrayExample]] | None = None
    params: Callable | None = None
    bench_inputs: Callable[[str, int], list[np.ndarray]] | None = None
    error_scale: Callable[[ArrayExample], np.ndarray] | None = None
    scale_by_largest_output: bool = False
    values_defined: bool = True
    dtype_kwarg: bool = False
    ci_example_share: float = 1.0
    family: str = ""  # the registry module that registered it (the report groups rows by it)
    xfails: list[XFail] = field(default_factory=list)
    # declarations for other onnxruntime releases than the installed one (``onnxruntime_before=``)
    inactive_xfails: list[XFail] = field(default_factory=list)

    def xfail(self, *, id: str, reason: str, category: str, dtypes: Sequence[str] | None = None,
              when: Callable[[ArrayExample], bool] | None = None, unpredictable: str = "",
              onnxruntime_before: tuple[int, int] | None = None) -> OpSpec:
        """Declare a known divergence (see the module docstring). ``unpredictable`` is for a divergence
        that the inputs alone cannot predict (it depends on the runtime's internal order, say): it
        says why, ``when`` then holds on every example that may diverge, and examples on which it
        holds without diverging do not make the declaration stale. ``onnxruntime_before=(major,
        minor)`` declares a bug of older onnxruntime releases: with that release or a newer one
        installed the declaration is kept in ``inactive_xfails`` and judges nothing."""
        validate_declaration(self.name, id, reason, category)
        if any(x.id == id for x in self.xfails + self.inactive_xfails):
            raise RegistryError(f"{self.name}: two declarations named {id!r}; give each its own id")
        if unpredictable and when is None:
            raise RegistryError(f"{self.name}: unpredictable= qualifies a when= predicate; give one")
        dtypes = tuple(self.dtypes if dtypes is None else dtypes)
        stray = [d for d in dtypes if d not in self.dtypes]
        if stray or not dtypes:
            raise RegistryError(
                f"{self.name}: xfail for dtypes {stray or dtypes} that the entry does not have; "
                f"its dtypes are {self.dtypes}"
            )
        if onnxruntime_before is not None and not (isinstance(onnxruntime_before, tuple) and len(onnxruntime_before) == 2):
            raise RegistryError(f"{self.name}: onnxruntime_before must be (major, minor), got {onnxruntime_before!r}")
        declaration = XFail(self.name, id, reason.strip(), category, dtypes, when, unpredictable.strip())
        active = onnxruntime_before is None or ONNXRUNTIME_VERSION < onnxruntime_before
        (self.xfails if active else self.inactive_xfails).append(declaration)
        return self

    def declaration(self, id: str) -> XFail:
        """The declaration named ``id`` (active or not); KeyError naming the entry's ids otherwise."""
        for declared in self.xfails + self.inactive_xfails:
            if declared.id == id:
                return declared
        raise KeyError(f"{self.name} has no declaration {id!r}; it has "
                       f"{[x.id for x in self.xfails + self.inactive_xfails]}")

    def inputs_dtypes(self, dtype: str) -> tuple[str, ...]:
        return self.input_dtypes(dtype) if self.input_dtypes else (dtype,) * self.arity

    def cell_xfail(self, dtype: str) -> XFail | None:
        """A declaration covering the whole cell (no ``when``), if any."""
        return next((x for x in self.xfails if x.when is None and dtype in x.dtypes), None)

    def conditional_xfails(self, dtype: str) -> list[XFail]:
        """The declarations with a ``when`` predicate that name ``dtype``."""
        return [x for x in self.xfails if x.when is not None and dtype in x.dtypes]

    def max_ulp(self, dtype: str) -> int:
        return self.tolerance.get(dtype, 0)


ONNX_OPERATIONS: dict[str, OpSpec] = {}

ABSENT_ENTRIES: dict[str, str] = {}
"""Entries the installed PyTensor cannot build, as name -> why (the op exists only in other supported
releases); `harness list`, ``environment.json`` and the report name them."""


def absent_entry(name: str, *, reason: str) -> None:
    """Record that entry ``name`` is not registered with the installed PyTensor, and why (say which
    releases have the op). Use it where a family module skips a ``register`` call on some versions."""
    if name in ONNX_OPERATIONS:
        raise RegistryError(f"{name!r} is registered; it cannot also be absent")
    if not reason or not reason.strip():
        raise RegistryError(f"{name}: an absent entry needs a reason naming the releases that have the op")
    ABSENT_ENTRIES[name] = reason.strip()


def register(name: str, *, arity: int, dtypes: Sequence[str], build: Callable | None = None, **fields) -> OpSpec:
    """Add one entry to `ONNX_OPERATIONS` (see `OpSpec` for ``fields``) and return it."""
    if name in ONNX_OPERATIONS:
        raise RegistryError(f"op {name!r} is registered twice")
    if name in ABSENT_ENTRIES:
        raise RegistryError(f"op {name!r} was declared absent on this PyTensor; it cannot also be registered")
    if build is None:
        if not hasattr(pt, name):
            raise RegistryError(f"{name!r} is not a pytensor.tensor function; pass build=")
        build = getattr(pt, name)
    bad = [d for d in dtypes if d not in ALL_DTYPES]
    if bad:
        raise RegistryError(f"{name}: unknown dtypes {bad}; valid: {ALL_DTYPES}")
    unknown = sorted(set(fields) - set(OpSpec.__dataclass_fields__) | ({"xfails", "inactive_xfails"} & set(fields)))
    if unknown:
        raise RegistryError(f"{name}: unknown entry fields {unknown}; declare divergences with .xfail()")
    _check_field_types(name, fields)
    share = fields.get("ci_example_share", 1.0)
    if not 0 < share <= 1:
        raise RegistryError(f"{name}: ci_example_share must be in (0, 1], got {share!r}")
    if "family" not in fields:  # the calling module: harness.registry.<family>, or a plugin's name
        caller = sys._getframe(1).f_globals.get("__name__", "")
        fields["family"] = caller.removeprefix("harness.registry.").split(".")[0]  # a family may be a package
    spec = OpSpec(name=name, arity=arity, dtypes=tuple(dtypes), build=build, **fields)
    ONNX_OPERATIONS[name] = spec
    return spec


_CALLABLE_FIELDS = ("input_dtypes", "elements", "shapes", "ulp_dtype", "examples", "params", "bench_inputs",
                    "error_scale")
_BOOL_FIELDS = ("elementwise", "signed_zeros", "values_defined", "dtype_kwarg", "scale_by_largest_output")


def _check_field_types(name: str, fields: dict) -> None:
    """`register`'s fields of the wrong type are the entry's error now, not a crash in some cell later."""
    tolerance = fields.get("tolerance", EXACT)
    if not isinstance(tolerance, dict) or not all(
            d in ALL_DTYPES and isinstance(u, int) and not isinstance(u, bool) and u >= 0 for d, u in tolerance.items()):
        raise RegistryError(f"{name}: tolerance must map dtypes to ULP bounds (ints >= 0), e.g. "
                            f"{{'float32': 4, 'float64': 2}}; got {tolerance!r}")
    for field_name in _CALLABLE_FIELDS:
        if fields.get(field_name) is not None and not callable(fields[field_name]):
            raise RegistryError(f"{name}: {field_name} must be a function, got {fields[field_name]!r}")
    for field_name in _BOOL_FIELDS:
        if field_name in fields and not isinstance(fields[field_name], bool):
            raise RegistryError(f"{name}: {field_name} must be True or False, got {fields[field_name]!r}")
    onnx_ops = fields.get("onnx_ops", ())
    if isinstance(onnx_ops, str) or not all(isinstance(o, str) for o in onnx_ops):
        raise RegistryError(f"{name}: onnx_ops must be a tuple of ONNX op types, e.g. ('Add',); got {onnx_ops!r}")
    probe_ndim = fields.get("probe_ndim", 1)
    if not (isinstance(probe_ndim, int) or (isinstance(probe_ndim, tuple) and all(isinstance(r, int) for r in probe_ndim))):
        raise RegistryError(f"{name}: probe_ndim must be an int or a tuple of ints, got {probe_ndim!r}")


def build_graph(spec: OpSpec, dtype: str, static_shapes: Sequence[tuple[int | None, ...]] | None = None,
                params: tuple = (), constants: dict[int, np.ndarray] | None = None):
    """Input variables and output of ``spec`` for ``dtype`` (inputs are rank-``probe_ndim`` unless
    shapes are given); ``params`` are the drawn build keyword arguments, as (name, value) pairs;
    ``constants`` maps operand positions to the arrays the graph holds as constants (no input is made
    for them, and the result passes through one more node, as in a model where it feeds another op:
    onnxruntime's rewrites leave a graph's output alone)."""
    in_dtypes = spec.inputs_dtypes(dtype)
    constants = constants or {}
    if static_shapes is None:
        ranks = spec.probe_ndim if isinstance(spec.probe_ndim, tuple) else (spec.probe_ndim,) * len(in_dtypes)
        static_shapes = [(None,) * r for r in ranks]
    operands = [pt.constant(constants[i]) if i in constants else pt.tensor(f"x{i}", dtype=d, shape=tuple(s))
                for i, (d, s) in enumerate(zip(in_dtypes, static_shapes))]
    kwargs = dict(params, dtype=dtype) if spec.dtype_kwarg else dict(params)
    output = spec.build(*operands, **kwargs)
    if constants:
        output = pt.stack([output])[0]
    return [v for i, v in enumerate(operands) if i not in constants], output
