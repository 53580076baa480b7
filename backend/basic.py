"""Core of the exporter: the `onnx_funcify` dispatcher and the `GraphBuilder` converters write into.

How conversion works
--------------------
`backend/graph.py` walks a FunctionGraph in topological order and, for every Apply node, calls
`onnx_funcify(node.op, node, ctx, input_names)`. A converter appends ONNX nodes through the
`GraphBuilder` ``ctx`` and returns one ONNX value name per output of ``node``. Scalar ops (the ones
inside `Elemwise` and `Composite`) use the same signature, with a scalar-level Apply node whose
input/output types carry the PyTensor dtypes.

How to add an op
----------------
In the module of its family (``backend/scalar.py``, ``backend/shape.py`` ...)::

    @onnx_funcify.register(MyOp)
    def onnx_funcify_MyOp(op, node, ctx, inputs):
        (x,) = inputs
        return [ctx.op.Relu(x)]

``ctx.op.<OpType>(*inputs, **attributes)`` appends one node and returns its output name (a list
with ``n_outputs=k``); the op type, the number of inputs and outputs and the attribute names are
checked against ``onnx.defs`` for the model's opset as the node is built, so a typo fails at export
with the schema's own list of what is valid. Shared helpers (dtype casts, computing in a wider
dtype) are in ``backend/helpers.py``.

Then add a registry entry in the registry module of the same family (``harness/registry/``); the
property tests, the matrix and the benchmarks pick it up from there.

Converters must produce PyTensor's result dtype (`ctx.cast`) and must not silently compute something
else: when ONNX or onnxruntime cannot match PyTensor, raise `ONNXExportUnsupported` with the reason.
"""

from __future__ import annotations

import collections
import functools
import itertools
import re
from collections.abc import Sequence
from functools import singledispatch

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from pytensor.graph.basic import Variable

from backend.dtypes import onnx_dtype
from backend.folding import expression_key, fold, infer_static_types, shape_slice, unchanged_by
from backend.signed_zero import can_hold_negative_zero

ONNX_OPSET_VERSION = 18
"""Default opset of exported models."""

MIN_OPSET_VERSION = 18


# ----------------------------------------------------------------------------------------------
# Versions: opset range and the IR version that goes with an opset
# ----------------------------------------------------------------------------------------------


def ir_version_for_opset(opset_version: int) -> int:
    """The lowest IR version that can carry ``opset_version``.

    onnx's helpers stamp the newest IR version they know, which older onnxruntime releases refuse to
    load; the lowest IR version compatible with the opset loads everywhere the opset does.
    """
    return helper.find_min_ir_version_for([helper.make_opsetid("", opset_version)])


@functools.cache
def max_supported_opset() -> int:
    """Newest default-domain opset both the installed onnx and onnxruntime accept (probed once)."""
    import onnxruntime as ort

    for opset in range(onnx.defs.onnx_opset_version(), MIN_OPSET_VERSION - 1, -1):
        graph = helper.make_graph(
            [helper.make_node("Identity", ["x"], ["y"])],
            "opset_probe",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
        )
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", opset)],
            ir_version=ir_version_for_opset(opset),
        )
        try:
            ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph classes
            if "opset" in str(exc).lower() or "version" in str(exc).lower():
                continue
            raise
        return opset
    raise RuntimeError(
        f"the installed onnxruntime {ort.__version__} loads no opset >= {MIN_OPSET_VERSION}; "
        "upgrade onnxruntime"
    )


def check_opset_version(opset_version: int) -> int:
    """Validate a requested opset; the error names the valid range."""
    if opset_version == MIN_OPSET_VERSION:
        return opset_version  # every supported onnxruntime loads it; skip the probe session
    top = max_supported_opset()
    if not isinstance(opset_version, int) or not MIN_OPSET_VERSION <= opset_version <= top:
        raise ValueError(
            f"opset_version={opset_version!r} is not supported: choose an opset from "
            f"{MIN_OPSET_VERSION} to {top} (the newest the installed onnx and onnxruntime both accept)"
        )
    return opset_version


# ----------------------------------------------------------------------------------------------
# The dispatchers
# ----------------------------------------------------------------------------------------------


@singledispatch
def onnx_funcify(op, node=None, ctx=None, inputs=None, **kwargs):
    """Convert a PyTensor Op (or a whole FunctionGraph) to ONNX. See the module docstring."""
    where = f" in node {node}" if node is not None else ""
    raise NotImplementedError(
        f"No ONNX conversion available for: {type(op).__name__} ({op}){where}. "
        "Register a converter with @backend.onnx_funcify.register and add a registry entry."
    )


def register_if_present(op_class):
    """``onnx_funcify.register(op_class)`` for an op class some supported PyTensor releases lack
    (`backend.compat.optional_op` gives None there): the converter is then defined but not registered."""
    if op_class is None:
        return lambda converter: converter
    return onnx_funcify.register(op_class)


@singledispatch
def onnx_typify(data, name: str | None = None, **kwargs) -> TensorProto:
    """Convert a Python/numpy value to an ONNX `TensorProto`."""
    raise NotImplementedError(f"No ONNX tensor conversion for values of type {type(data).__name__}")


@onnx_typify.register(np.ndarray)
def onnx_typify_ndarray(data, name=None, **kwargs):
    onnx_dtype(data.dtype)  # clear error for dtypes ONNX cannot hold
    # np.ascontiguousarray would turn a 0-d array into 1-d
    return numpy_helper.from_array(np.array(data, order="C", copy=True), name=name or "")


@onnx_typify.register(np.generic)
@onnx_typify.register(int)
@onnx_typify.register(float)
@onnx_typify.register(bool)
def onnx_typify_scalar(data, name=None, **kwargs):
    return onnx_typify_ndarray(np.asarray(data), name=name)


def static_dims(var: Variable) -> tuple[int | None, ...]:
    """Static size of each dimension of a tensor variable (None where PyTensor does not know it)."""
    shape = getattr(var.type, "shape", None)
    if shape is None:
        return ()
    return tuple(None if s is None else int(s) for s in shape)


def make_value_info(var: Variable, name: str, *, symbolic_dims: bool = True,
                    dim_names: Sequence[str | None] | None = None) -> onnx.ValueInfoProto:
    """ValueInfo for a PyTensor variable: static sizes where PyTensor knows them.

    Unknown sizes are named by ``dim_names`` where it gives a name (the same name on several inputs
    says they share that axis, e.g. ``"batch"``), else by a name distinct per dimension
    (``<name>_dim<i>``). With ``symbolic_dims=False`` unknown sizes are left unnamed.
    """
    sizes = static_dims(var)
    if dim_names is not None:
        if isinstance(dim_names, str) or len(dim_names) != len(sizes):
            raise ValueError(f"dim_names for input {name!r} must name each of its {len(sizes)} axes (None to leave "
                             f"one unnamed), got {dim_names!r}")
        for axis, (size, dim) in enumerate(zip(sizes, dim_names)):
            if dim is not None and size is not None:
                raise ValueError(f"dim_names: axis {axis} of input {name!r} has the static size {size}; only axes "
                                 "of unknown size take a name")
    dims = [
        size if size is not None
        else (dim_names[i] if dim_names is not None and dim_names[i] is not None
              else (f"{name}_dim{i}" if symbolic_dims else None))
        for i, size in enumerate(sizes)
    ]
    return helper.make_tensor_value_info(name, onnx_dtype(var.type.dtype), dims)


# ----------------------------------------------------------------------------------------------
# The builder that converters write into
# ----------------------------------------------------------------------------------------------

def _unsqueeze(data: np.ndarray, axes: list[int]) -> np.ndarray:
    rank = data.ndim + len(axes)
    shape = list(data.shape)
    for axis in sorted(a % rank for a in axes):
        shape.insert(axis, 1)
    return data.reshape(shape)


def _reshape(data: np.ndarray, shape: list[int]) -> np.ndarray:
    """ONNX Reshape (allowzero=0): a 0 keeps the input's dimension, a -1 is inferred."""
    return data.reshape([data.shape[k] if size == 0 else size for k, size in enumerate(shape)])


def _exact_cast(data: np.ndarray, to: int) -> np.ndarray | None:
    """``data`` cast to the ONNX element type ``to`` where numpy and ONNX Cast agree on every value: to
    a float type (round to nearest even in both), or to an integer type that holds every value; None
    otherwise (NaN or out-of-range values to integers, which ONNX leaves undefined)."""
    target = np.dtype(helper.tensor_dtype_to_np_dtype(to))
    if target.kind == "f" or target == data.dtype:
        return data.astype(target)
    if target.kind in "iu" and data.dtype.kind in "iub":
        converted = data.astype(target)
        return converted if np.array_equal(converted, data) else None
    return None


_SHAPE_OPS = {"Unsqueeze": _unsqueeze, "Reshape": _reshape,
              "Squeeze": lambda data, axes: data.squeeze(tuple(a % data.ndim for a in axes))}
"""Shape ops `GraphBuilder.add_node` applies at export time to constant operands (data and axes/shape)."""


class GraphBuilder:
    """Collects nodes and initializers; hands out unique value and node names.

    ``op`` builds nodes by ONNX op type (``ctx.op.Add(a, b)``, ``ctx.op[name](...)`` for a type held
    in a variable), checked against the schema of the builder's opset.
    """

    def __init__(self, opset_version: int):
        self.opset_version = opset_version
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[TensorProto] = []
        self.op = OpFactory(self)
        self._taken: set[str] = set()
        self._counter = itertools.count()
        self._constant_cache: dict[tuple, str] = {}
        self._constant_names: set[str] = set()
        self._constant_values: dict[str, np.ndarray] = {}  # for `add_node`'s folding
        # value name -> (ONNX element type, shape) where every dimension is known at export: from
        # PyTensor's types and ONNX shape inference (`backend.folding`)
        self.static_types: dict[str, tuple[int, tuple[int, ...]]] = {}
        # expression key -> output names of the node computing it; a subgraph's builder sees its
        # enclosing graphs' expressions, they never see its own
        self._expressions: collections.ChainMap = collections.ChainMap()
        # (IfElse node, branch) -> function emitting the nodes only that branch needs into a
        # subgraph builder; filled by `backend.graph.emit_graph`, read by the IfElse converter
        self.lazy_branches: dict = {}
        # value name -> the node computing it, and which values can hold -0.0 (`backend.signed_zero`)
        self._producers: dict[str, onnx.NodeProto] = {}
        self._negative_zero_memo: dict[str, bool] = {}

    def subgraph(self) -> GraphBuilder:
        """A builder for the body of a Loop or a branch of an If.

        It shares value names (ONNX forbids a subgraph to reuse a name of its enclosing graph) and
        initializers (a constant used in a body is an outer-scope value, stored once) with this
        builder; only its nodes are its own. `backend.graph.make_subgraph` turns it into a GraphProto.
        """
        child = GraphBuilder.__new__(GraphBuilder)
        child.__dict__.update(self.__dict__)
        child.nodes = []
        child.op = OpFactory(child)
        child._expressions = self._expressions.new_child()
        return child

    def fresh(self, hint: str = "v") -> str:
        """A new name for a value or node made by the exporter (letters, digits and ``_`` only)."""
        hint = re.sub(r"[^A-Za-z0-9_]", "_", hint) or "v"
        name = hint
        while name in self._taken:
            name = f"{hint}_{next(self._counter)}"
        self._taken.add(name)
        return name

    def reserve(self, name: str) -> str:
        """Take ``name`` exactly if it is free (ONNX value names are any non-empty strings: the graph's
        inputs and outputs keep their PyTensor/PyMC names, ``chol_cholesky-cov-packed__`` included),
        else a fresh variant of it (``<name>_<n>``)."""
        if not name:
            return self.fresh()
        candidate = name
        while candidate in self._taken:
            candidate = f"{name}_{next(self._counter)}"
        self._taken.add(candidate)
        return candidate

    def add_node(self, op_type: str, inputs: Sequence[str], n_outputs: int = 1, **attrs):
        """Append one ONNX node unchecked; returns its output name (a list when n_outputs != 1).
        Converters use ``ctx.op``, which checks the node against the opset's schema first.

        A node whose result is known here is not appended (`backend.folding`): constant inputs give a
        constant, an identical earlier node gives its outputs."""
        inputs = list(inputs)
        if n_outputs == 1:
            known = self._known_result(op_type, inputs, attrs)
            if known is not None:
                return known
        key = expression_key(op_type, inputs, n_outputs, attrs)
        if key is not None and key in self._expressions:
            outputs = self._expressions[key]
            return outputs[0] if n_outputs == 1 else list(outputs)
        outputs = [self.fresh(op_type.lower()) for _ in range(n_outputs)]
        node = helper.make_node(
            op_type, inputs, outputs, name=self.fresh(f"{op_type}_node"), **attrs
        )
        self.nodes.append(node)
        self._producers.update((output, node) for output in outputs)
        if key is not None:
            self._expressions[key] = tuple(outputs)
            self.static_types.update(infer_static_types(node, self.opset_version, self._static_type_of,
                                                        self.constant_value))
        return outputs[0] if n_outputs == 1 else outputs

    def can_hold_negative_zero(self, name: str) -> bool:
        """False when value ``name`` is never -0.0 by the rules of `backend.signed_zero`: a guard that
        exists only for -0.0 is then not emitted."""
        return can_hold_negative_zero(name, producer=self._producers.get, constant_value=self.constant_value,
                                      memo=self._negative_zero_memo)

    def free_of_negative_zero(self, name: str) -> str:
        """Record that a converter made ``name`` free of -0.0 (a guard's result); returns ``name``."""
        self._negative_zero_memo[name] = False
        return name

    def rounding_barrier(self, name: str) -> str:
        """``name`` through a Reshape to its own 0-d shape that is never folded: onnxruntime's optimizer
        does not look through it, so a Cast pair around it (a rounding PyTensor does) stays."""
        output = self.fresh("barrier")
        self.nodes.append(helper.make_node("Reshape", [name, self.constant([], "int64")], [output],
                                           name=self.fresh("Reshape_barrier")))
        return output

    def _static_type_of(self, name: str) -> tuple[int, tuple[int, ...]] | None:
        if name in self._constant_values:
            value = self._constant_values[name]
            return helper.np_dtype_to_tensor_dtype(value.dtype), value.shape
        return self.static_types.get(name)

    def static_shape(self, name: str) -> tuple[int, ...] | None:
        """The shape of value ``name`` where it is known at export time, else None."""
        known = self._static_type_of(name)
        return None if known is None else known[1]

    def _known_result(self, op_type: str, inputs: list[str], attrs: dict) -> str | None:
        """The name of a value equal to the node's output, without a node: a constant or an input."""
        values = self._constant_values
        if op_type == "Cast" and len(inputs) == 1 and inputs[0] in values:
            folded = _exact_cast(values[inputs[0]], attrs["to"])
            if folded is not None:  # a literal's dtype made the graph's at run time: made here
                return self.constant(folded)
            return None
        if op_type == "Cast" and len(inputs) == 1 and (self._static_type_of(inputs[0]) or (None,))[0] == attrs["to"]:
            return inputs[0]  # already of that type
        if op_type in _SHAPE_OPS and not attrs and len(inputs) == 2 and all(name in values for name in inputs):
            # a constant reshaped (a Python literal broadcast by DimShuffle): the reshaped constant
            data, shape = (values[name] for name in inputs)
            return self.constant(_SHAPE_OPS[op_type](data, [int(v) for v in np.ravel(shape)]))
        if op_type == "Shape" and inputs and self.static_shape(inputs[0]) is not None:
            return self.constant(shape_slice(self.static_shape(inputs[0]), attrs))
        if op_type in ("Expand", "Reshape") and len(inputs) == 2 and inputs[1] in values:
            shape = self.static_shape(inputs[0])
            if shape is not None and unchanged_by(op_type, shape, values[inputs[1]], attrs):
                return inputs[0]
        if inputs and all(name in values for name in inputs):
            folded = fold(op_type, [values[name] for name in inputs], attrs)
            if folded is not None:
                return self.constant(folded)
        return None

    def constant(self, value, dtype: str | None = None) -> str:
        """Name of an initializer holding ``value`` (deduplicated by dtype, shape and bytes)."""
        array = np.asarray(value, dtype=dtype)
        key = (array.dtype.str, array.shape, array.tobytes())
        if key not in self._constant_cache:
            name = self.fresh("const")
            self.initializers.append(onnx_typify(array, name=name))
            self._constant_cache[key] = name
            self._constant_names.add(name)
            self._constant_values[name] = array
        return self._constant_cache[key]

    def is_constant(self, name: str) -> bool:
        return name in self._constant_names

    def constant_value(self, name: str) -> np.ndarray | None:
        """The value of a constant this builder made (None for any other name)."""
        return self._constant_values.get(name)

    def cast(self, name: str, from_dtype: str, to_dtype: str) -> str:
        if str(from_dtype) == str(to_dtype):
            return name
        return self.op.Cast(name, to=onnx_dtype(to_dtype))


class ONNXSchemaError(ValueError):
    """A converter built a node that the ONNX schema of the target opset does not allow."""


@functools.cache
def op_schema(op_type: str, opset_version: int) -> onnx.defs.OpSchema:
    """The default-domain schema of ``op_type`` in force at ``opset_version``."""
    if not onnx.defs.has(op_type):
        raise ONNXSchemaError(f"ONNX has no operator {op_type!r} in the default domain")
    try:
        return onnx.defs.get_schema(op_type, opset_version)
    except onnx.defs.SchemaError:
        since = onnx.defs.get_schema(op_type).since_version
        raise ONNXSchemaError(
            f"ONNX {op_type} does not exist at opset {opset_version} (it was added in opset {since})"
        ) from None


class OpFactory:
    """``ctx.op.Add(a, b)``: one node per call, validated against ``onnx.defs`` for the opset."""

    def __init__(self, builder: GraphBuilder):
        self._builder = builder

    def __getattr__(self, op_type: str):
        if op_type.startswith("_"):
            raise AttributeError(op_type)
        return self[op_type]

    def __getitem__(self, op_type: str):
        schema = op_schema(op_type, self._builder.opset_version)

        def make(*inputs: str, n_outputs: int = 1, **attrs):
            _check_node(schema, self._builder.opset_version, len(inputs), n_outputs, attrs)
            return self._builder.add_node(op_type, inputs, n_outputs, **attrs)

        make.__name__ = op_type
        return make


def _check_node(schema, opset_version: int, n_inputs: int, n_outputs: int, attrs: dict) -> None:
    where = f"ONNX {schema.name} (opset {opset_version}, schema version {schema.since_version})"
    unknown = sorted(set(attrs) - set(schema.attributes))
    if unknown:
        raise ONNXSchemaError(f"{where} has no attribute {', '.join(unknown)}; its attributes: "
                              f"{', '.join(sorted(schema.attributes)) or 'none'}")
    missing = sorted(name for name, a in schema.attributes.items() if a.required and name not in attrs)
    if missing:
        raise ONNXSchemaError(f"{where} needs attribute {', '.join(missing)}")
    if not schema.min_input <= n_inputs <= schema.max_input:
        raise ONNXSchemaError(f"{where} takes {schema.min_input} to {schema.max_input} inputs, got {n_inputs}")
    if not schema.min_output <= n_outputs <= schema.max_output:
        raise ONNXSchemaError(f"{where} has {schema.min_output} to {schema.max_output} outputs, asked for {n_outputs}")
