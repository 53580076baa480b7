"""Core of the exporter: the `onnx_funcify` dispatcher and FunctionGraph -> ModelProto.

How conversion works
--------------------
`onnx_funcify(fgraph, opset_version=...)` walks the graph in topological order and, for every Apply
node, calls `onnx_funcify(node.op, node, ctx, input_names)`. A converter appends ONNX nodes through
the `GraphBuilder` ``ctx`` and returns one ONNX value name per output of ``node``. Scalar ops (the
ones inside `Elemwise` and `Composite`) use the same signature, with a scalar-level Apply node whose
input/output types carry the PyTensor dtypes.

How to add an op
----------------
In the module of its family (``backend/elemwise.py``, ``backend/shape.py`` ...)::

    @onnx_funcify.register(MyOp)
    def onnx_funcify_MyOp(op, node, ctx, inputs):
        (x,) = inputs
        return [ctx.add_node("Relu", [x])]

Then add a registry entry in ``harness/registry.py``; the property tests, the matrix and the
benchmarks pick it up from there.

Converters must produce PyTensor's result dtype (`ctx.cast`) and must not silently compute something
else: when ONNX or onnxruntime cannot match PyTensor, raise `ONNXExportUnsupported` with the reason.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence
from functools import singledispatch

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from pytensor.graph.basic import Constant, Variable
from pytensor.graph.fg import FunctionGraph

ONNX_OPSET_VERSION = 18
"""Default opset of exported models."""

MIN_OPSET_VERSION = 18


class ONNXExportUnsupported(NotImplementedError):
    """The exporter declines an op or dtype on purpose: ONNX or onnxruntime cannot match PyTensor."""


NUMPY_TO_ONNX_DTYPE = {
    "float16": TensorProto.FLOAT16,
    "float32": TensorProto.FLOAT,
    "float64": TensorProto.DOUBLE,
    "int8": TensorProto.INT8,
    "int16": TensorProto.INT16,
    "int32": TensorProto.INT32,
    "int64": TensorProto.INT64,
    "uint8": TensorProto.UINT8,
    "uint16": TensorProto.UINT16,
    "uint32": TensorProto.UINT32,
    "uint64": TensorProto.UINT64,
    "bool": TensorProto.BOOL,
}


def onnx_dtype(dtype: str | np.dtype) -> int:
    """ONNX element type of a numpy/PyTensor dtype; a clear error for dtypes ONNX cannot hold."""
    key = str(np.dtype(dtype))
    try:
        return NUMPY_TO_ONNX_DTYPE[key]
    except KeyError:
        raise ONNXExportUnsupported(
            f"dtype {key!r} has no ONNX tensor element type here; supported: {sorted(NUMPY_TO_ONNX_DTYPE)}"
        ) from None


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


def make_value_info(var: Variable, name: str, *, symbolic_dims: bool = True) -> onnx.ValueInfoProto:
    """ValueInfo for a PyTensor variable: static sizes where PyTensor knows them.

    Unknown sizes get a symbolic name that is distinct per dimension (``<name>_dim<i>``): onnxruntime
    does not check that equal symbolic names agree, so sharing names would only mislead readers and
    shape inference. With ``symbolic_dims=False`` unknown sizes are left unnamed.
    """
    dims = [
        size if size is not None else (f"{name}_dim{i}" if symbolic_dims else None)
        for i, size in enumerate(static_dims(var))
    ]
    return helper.make_tensor_value_info(name, onnx_dtype(var.type.dtype), dims)


# ----------------------------------------------------------------------------------------------
# The builder that converters write into
# ----------------------------------------------------------------------------------------------

_VALID_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class GraphBuilder:
    """Collects nodes and initializers; hands out unique value and node names."""

    def __init__(self, opset_version: int):
        self.opset_version = opset_version
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[TensorProto] = []
        self._taken: set[str] = set()
        self._counter = itertools.count()
        self._constant_cache: dict[tuple, str] = {}
        self._constant_names: set[str] = set()

    def fresh(self, hint: str = "v") -> str:
        hint = re.sub(r"[^A-Za-z0-9_]", "_", hint) or "v"
        name = hint
        while name in self._taken:
            name = f"{hint}_{next(self._counter)}"
        self._taken.add(name)
        return name

    def reserve(self, name: str) -> str:
        """Take ``name`` if free and valid, else a fresh variant of it."""
        if _VALID_NAME.match(name) and name not in self._taken:
            self._taken.add(name)
            return name
        return self.fresh(name)

    def add_node(self, op_type: str, inputs: Sequence[str], n_outputs: int = 1, **attrs):
        """Append one ONNX node; returns its output name (or list of names when n_outputs != 1)."""
        outputs = [self.fresh(op_type.lower()) for _ in range(n_outputs)]
        node = helper.make_node(
            op_type, list(inputs), outputs, name=self.fresh(f"{op_type}_node"), **attrs
        )
        self.nodes.append(node)
        return outputs[0] if n_outputs == 1 else outputs

    def constant(self, value, dtype: str | None = None) -> str:
        """Name of an initializer holding ``value`` (deduplicated by dtype, shape and bytes)."""
        array = np.asarray(value, dtype=dtype)
        key = (array.dtype.str, array.shape, array.tobytes())
        if key not in self._constant_cache:
            name = self.fresh("const")
            self.initializers.append(onnx_typify(array, name=name))
            self._constant_cache[key] = name
            self._constant_names.add(name)
        return self._constant_cache[key]

    def is_constant(self, name: str) -> bool:
        return name in self._constant_names

    def cast(self, name: str, from_dtype: str, to_dtype: str) -> str:
        if str(from_dtype) == str(to_dtype):
            return name
        return self.add_node("Cast", [name], to=onnx_dtype(to_dtype))


# ----------------------------------------------------------------------------------------------
# FunctionGraph -> ModelProto
# ----------------------------------------------------------------------------------------------


@onnx_funcify.register(FunctionGraph)
def onnx_funcify_FunctionGraph(
    fgraph: FunctionGraph,
    node=None,
    ctx=None,
    inputs=None,
    *,
    opset_version: int = ONNX_OPSET_VERSION,
    graph_name: str = "pytensor_graph",
    check: bool = True,
    **kwargs,
) -> onnx.ModelProto:
    """Convert a whole FunctionGraph into a checked ModelProto.

    Inputs keep their PyTensor names where those are valid and unique; outputs are named
    ``output_<i>`` (or their PyTensor name). Constants become initializers.
    """
    check_opset_version(opset_version)
    builder = GraphBuilder(opset_version)
    names: dict[Variable, str] = {}

    graph_inputs = []
    for i, var in enumerate(fgraph.inputs):
        if isinstance(var, Constant):
            continue
        name = builder.reserve(var.name or f"input_{i}")
        names[var] = name
        graph_inputs.append(make_value_info(var, name))

    def name_of(var: Variable) -> str:
        if var not in names:
            if isinstance(var, Constant) and var.data is None:
                # NoneConst (e.g. SpecifyShape's "size unknown"): no ONNX value; converters read
                # such inputs from the PyTensor node, never from the name
                names[var] = ""
            elif isinstance(var, Constant):
                names[var] = builder.constant(var.data, dtype=var.type.dtype)
            else:
                raise ValueError(
                    f"variable {var} is used before it is computed; the graph is not a valid FunctionGraph"
                )
        return names[var]

    for apply in fgraph.toposort():
        input_names = [name_of(v) for v in apply.inputs]
        out_names = onnx_funcify(apply.op, apply, builder, input_names)
        if len(out_names) != len(apply.outputs):
            raise RuntimeError(
                f"converter for {apply.op} returned {len(out_names)} outputs for {len(apply.outputs)}"
            )
        for var, out_name in zip(apply.outputs, out_names):
            names[var] = out_name

    graph_outputs = _bind_outputs(fgraph, builder, names, name_of)

    used_names = {name for node in builder.nodes for name in node.input}
    # Converters that drop an input (e.g. an assertion's condition) leave initializers unused.
    initializers = [t for t in builder.initializers if t.name in used_names]
    graph = helper.make_graph(builder.nodes, graph_name, graph_inputs, graph_outputs, initializer=initializers)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset_version)],
        ir_version=ir_version_for_opset(opset_version),
        producer_name="pytensor-onnx-conformance",
    )
    if check:
        onnx.checker.check_model(model, full_check=True)
    return model


def _bind_outputs(fgraph, builder: GraphBuilder, names, name_of) -> list[onnx.ValueInfoProto]:
    """Give every graph output its own name.

    A value computed by a node is renamed in place; a graph input, an initializer or a value already
    bound to an earlier output goes through an Identity node, since ONNX forbids such aliases.
    """
    produced_by = {out: node for node in builder.nodes for out in node.output}
    input_names = set(names[v] for v in fgraph.inputs if v in names)
    used: set[str] = set()
    infos = []
    for i, var in enumerate(fgraph.outputs):
        source = name_of(var)
        wanted = builder.reserve(var.name if var.name and var.name not in input_names else f"output_{i}")
        if source in produced_by and source not in used and source not in input_names:
            _rename_value(builder.nodes, source, wanted)
            produced_by[wanted] = produced_by.pop(source)
            for v, n in names.items():
                if n == source:
                    names[v] = wanted
        else:
            builder.nodes.append(
                helper.make_node("Identity", [source], [wanted], name=builder.fresh("Identity_output"))
            )
        used.add(wanted)
        infos.append(make_value_info(var, wanted, symbolic_dims=False))
    return infos


def _rename_value(nodes, old: str, new: str) -> None:
    for node in nodes:
        for seq in (node.input, node.output):
            for k, value in enumerate(seq):
                if value == old:
                    seq[k] = new
