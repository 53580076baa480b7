"""FunctionGraph -> ModelProto: the graph-level conversion, apart from the per-op converters.

`fgraph_to_onnx` names the graph inputs, turns constants into initializers, calls `onnx_funcify` on
every Apply node in topological order (each converter writes its nodes into one `GraphBuilder`),
binds the outputs to names of their own and checks the model with ``onnx.checker`` (full check,
shape inference included). ``onnx_funcify(fgraph, opset_version=...)`` dispatches here.

To change how graphs are assembled (naming, initializers, model metadata), change this module; to
convert another op, add a converter in its family's module instead.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np
import onnx
import pytensor
from onnx import helper
from pytensor.graph.basic import Apply, Constant, Variable
from pytensor.graph.fg import FunctionGraph
from pytensor.tensor.type import TensorType

from backend.basic import (
    ONNX_OPSET_VERSION,
    GraphBuilder,
    check_opset_version,
    ir_version_for_opset,
    make_value_info,
    onnx_funcify,
    onnx_typify,
)
from backend.compat import IfElse
from backend.dtypes import ONNXExportUnsupported, onnx_dtype
from backend.runtime_guards import apply_guards


def fgraph_to_onnx(
    fgraph: FunctionGraph,
    *,
    opset_version: int = ONNX_OPSET_VERSION,
    graph_name: str = "pytensor_graph",
    check: bool = True,
    initializers: Mapping[Variable, object] | None = None,
    drop_unread: Collection[Variable] = (),
    output_names: Sequence[str | None] | None = None,
    dim_names: Mapping[str, Sequence[str | None]] | None = None,
) -> onnx.ModelProto:
    """Convert a whole FunctionGraph into a checked ModelProto.

    - Inputs keep their PyTensor names exactly (ONNX accepts any string); an unnamed input is
      ``input_<i>``, and a name already taken gets a suffix (``x_1``).
    - ``initializers``: inputs (shared variables) stored in the model with the given values, under
      their names, instead of being graph inputs. ``drop_unread``: inputs left out when no node reads
      them (PyMC's ``coords`` lengths).
    - Outputs take ``output_names[i]`` where given, else the variable's name, else ``output_<i>``.
    - ``dim_names``: per input name, a name for each axis of unknown size (None leaves one unnamed); a
      name used on several inputs says they share that axis. Output shapes are filled by ONNX shape
      inference where it can tell them.
    - Constants become initializers. The model is checked with ``onnx.checker`` (full check).
    """
    check_opset_version(opset_version)
    initializers = dict(initializers or {})
    dim_names = dict(dim_names or {})
    builder = GraphBuilder(opset_version)
    graph_inputs, input_names = [], []
    for i, var in enumerate(fgraph.inputs):
        if isinstance(var, Constant):
            input_names.append(builder.constant(var.data, dtype=var.type.dtype))
            continue
        if var in drop_unread and not fgraph.clients[var]:
            input_names.append("")
            continue
        if not isinstance(var.type, TensorType):
            readers = sorted({str(client.op) for client, _ in fgraph.clients[var] if hasattr(client, "op")})
            raise ONNXExportUnsupported(
                f"graph input {var.name or i} has type {var.type}"
                + (f" and is read by {', '.join(readers)}" if readers else "")
                + ": ONNX inputs are tensors. A graph that draws random numbers cannot be exported; draw them "
                "outside the model and pass the draws as an input (replace the random variable by a tensor "
                "input, e.g. with pytensor.graph.replace.graph_replace)"
            )
        name = builder.reserve(var.name or f"input_{i}")
        input_names.append(name)
        if var in initializers:
            value = np.asarray(initializers[var], dtype=var.type.dtype)
            builder.initializers.append(onnx_typify(value, name=name))
        else:
            graph_inputs.append(make_value_info(var, name, dim_names=dim_names.pop(name, None)))
    if dim_names:
        raise ValueError(f"dim_names names {sorted(dim_names)}, which are not graph inputs; the inputs are "
                         f"{[info.name for info in graph_inputs]}")
    wanted_outputs = _reserve_output_names(fgraph, builder, output_names)

    computed = emit_graph(fgraph, builder, input_names)
    bound = bind_names(builder, computed, wanted_outputs, set(input_names))
    graph_outputs = [make_value_info(var, name, symbolic_dims=False) for var, name in zip(fgraph.outputs, bound)]

    apply_guards(builder.nodes, builder.initializers, builder.fresh, builder.can_hold_negative_zero)
    builder.nodes[:] = live_nodes(builder.nodes, bound)
    used_names = _names_read(builder.nodes) | set(bound)
    # Converters that drop an input (e.g. an assertion's condition) leave initializers unused.
    kept = [t for t in builder.initializers if t.name in used_names]
    graph = helper.make_graph(builder.nodes, graph_name, graph_inputs, graph_outputs, initializer=kept)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset_version)],
        ir_version=ir_version_for_opset(opset_version),
        producer_name=PRODUCER_NAME,
        producer_version=_producer_version(),
        doc_string=f"Exported from PyTensor {pytensor.__version__} by {PRODUCER_NAME} (opset {opset_version}).",
    )
    _fill_output_shapes(model)
    if check:
        onnx.checker.check_model(model, full_check=True)
    return model


PRODUCER_NAME = "pytensor-onnx-conformance"


def _producer_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(PRODUCER_NAME)
    except PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown"


def _reserve_output_names(fgraph, builder: GraphBuilder, output_names) -> list[str]:
    """The outputs' names, reserved before any node is emitted so that no value of the exporter's takes them."""
    given = list(output_names or []) + [None] * (len(fgraph.outputs) - len(output_names or []))
    return [builder.reserve(given[i] or var.name or f"output_{i}") for i, var in enumerate(fgraph.outputs)]


def _fill_output_shapes(model: onnx.ModelProto) -> None:
    """Output sizes and symbolic dims where ONNX shape inference tells them (a deployed model's outputs
    then say ``[batch, 3]``, not ``[?, ?]``)."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False)
    except (onnx.shape_inference.InferenceError, onnx.checker.ValidationError):
        return  # the checker below names what is wrong with the model
    for output, found in zip(model.graph.output, inferred.graph.output):
        if found.type.tensor_type.HasField("shape") and \
                len(found.type.tensor_type.shape.dim) == len(output.type.tensor_type.shape.dim):
            output.type.CopyFrom(found.type)


def emit_graph(fgraph: FunctionGraph, ctx: GraphBuilder, input_names: list[str]) -> list[str]:
    """Convert every Apply node of ``fgraph`` into ``ctx``, its inputs bound to ``input_names``;
    returns the ONNX names of its outputs. The whole model, Loop bodies (Scan) and inner graphs
    inlined into it (OpFromGraph) are converted by this one function.

    Nodes whose results only feed one branch of an `IfElse` are not emitted here but inside that
    branch's ONNX ``If`` subgraph, so that, as in PyTensor's lazy evaluation, only the branch taken
    is computed (see `_exclusive_to_branch`).
    """
    names: dict[Variable, str] = dict(zip(fgraph.inputs, input_names))
    remember_static_shapes(ctx, fgraph.inputs, input_names)
    return _emit_scope(fgraph, fgraph.toposort(), list(fgraph.outputs), ctx, names)


def _emit_scope(fgraph, applies: list[Apply], outputs: list[Variable], ctx: GraphBuilder,
                names: dict[Variable, str]) -> list[str]:
    """Emit ``applies`` (in topological order) into ``ctx``, deferring each IfElse branch's exclusive
    nodes to that branch; returns the names of ``outputs``."""
    in_scope = set(applies)
    deferred: set[Apply] = set()
    for apply in reversed(applies):
        if isinstance(apply.op, IfElse) and apply not in deferred:
            n_outs = apply.op.n_outs
            for branch, positions in enumerate((range(1, 1 + n_outs), range(1 + n_outs, 1 + 2 * n_outs))):
                exclusive = _exclusive_to_branch(fgraph, applies, in_scope, outputs, apply, set(positions))
                deferred |= exclusive
                ctx.lazy_branches[(apply, branch)] = _branch_emitter(
                    fgraph, [a for a in applies if a in exclusive],
                    [apply.inputs[p] for p in positions], names,
                )

    def name_of(var: Variable) -> str:
        if var not in names:
            if isinstance(var, Constant) and (var.data is None or not hasattr(var.type, "dtype")):
                # NoneConst (SpecifyShape's "size unknown") and constant slices (PyTensor 2.38's
                # advanced indices, ``x[:, i, i]``): no ONNX value; converters read such inputs from
                # the PyTensor node, never from the name
                names[var] = ""
            elif isinstance(var, Constant):
                names[var] = ctx.constant(var.data, dtype=var.type.dtype)
            else:
                raise ValueError(
                    f"variable {var} is used before it is computed; the graph is not a valid FunctionGraph"
                )
        return names[var]

    for apply in applies:
        if apply in deferred:
            continue
        # values computed inside a lazy branch have no name here; the IfElse converter gets them
        # from `ctx.lazy_branches`
        in_names = ["" if v.owner in deferred else name_of(v) for v in apply.inputs]
        empty = _statically_empty(apply)
        out_names = [ctx.constant(value, dtype=value.dtype.name) for value in empty] if empty \
            else onnx_funcify(apply.op, apply, ctx, in_names)
        if len(out_names) != len(apply.outputs):
            raise RuntimeError(
                f"converter for {apply.op} returned {len(out_names)} outputs for {len(apply.outputs)}"
            )
        names.update(zip(apply.outputs, out_names))
        remember_static_shapes(ctx, apply.outputs, out_names)
    return [name_of(v) for v in outputs]


def remember_static_shapes(ctx: GraphBuilder, variables, onnx_names) -> None:
    """Tell ``ctx`` the shapes PyTensor's types fix, for `backend.folding`'s shape folding."""
    for var, name in zip(variables, onnx_names):
        shape = getattr(var.type, "shape", None)
        if name and shape is not None and all(d is not None for d in shape) and not ctx.is_constant(name):
            ctx.static_types.setdefault(name, (onnx_dtype(var.type.dtype), tuple(int(d) for d in shape)))


def _statically_empty(apply: Apply) -> list[np.ndarray] | None:
    """The outputs of ``apply`` as constants when each has a static shape of size 0 (their values are
    known without computing anything), else None. Not for checks (Assert), whose point is to raise.
    Besides saving work, an empty constant avoids onnxruntime's optimizer turning ``Expand(x[1],
    [0])`` into x (1.31-1.32: ``upstream/expand-to-zero``)."""
    from pytensor.raise_op import CheckAndRaise

    if isinstance(apply.op, CheckAndRaise) or not apply.outputs:
        return None
    values = []
    for out in apply.outputs:
        shape = getattr(out.type, "shape", None)
        if shape is None or any(d is None for d in shape) or 0 not in shape or not hasattr(out.type, "dtype"):
            return None
        values.append(np.zeros(shape, dtype=out.type.dtype))
    return values


def _branch_emitter(fgraph, applies: list[Apply], branch_values: list[Variable], names: dict):
    def emit(branch_ctx: GraphBuilder) -> list[str]:
        # a copy: values computed inside a branch are not visible outside it
        return _emit_scope(fgraph, applies, branch_values, branch_ctx, dict(names))

    return emit


def _exclusive_to_branch(fgraph, applies, in_scope, outputs, ifelse: Apply, positions: set[int]) -> set[Apply]:
    """The nodes of ``applies`` whose every result is used only by the IfElse ``ifelse`` at input
    ``positions`` (one branch), directly or through other such nodes."""
    exclusive: set[Apply] = set()
    scope_outputs = set(outputs)
    for apply in reversed(applies):
        if apply is ifelse:
            continue
        uses = [(client, index) for out in apply.outputs for client, index in fgraph.clients[out]]
        if uses and not scope_outputs.intersection(apply.outputs) and all(
            (client is ifelse and index in positions) or (client in exclusive and client in in_scope)
            for client, index in uses
        ):
            exclusive.add(apply)
    return exclusive


def bind_names(builder: GraphBuilder, sources: list[str], wanted: list[str], not_movable: set[str]) -> list[str]:
    """Make the values ``sources`` available under the distinct names ``wanted`` (graph outputs).

    A value computed by a node of ``builder`` is renamed in place; a graph input, an outer-scope or
    constant value (``not_movable``, initializers) or a value already bound goes through an Identity
    node, since ONNX forbids a graph output to alias another value.
    """
    produced_by = {out for node in builder.nodes for out in node.output}
    sources = list(sources)
    used: set[str] = set()
    for i, name in enumerate(wanted):
        source = sources[i]
        if source in produced_by and source not in used and source not in not_movable:
            _rename_value(builder.nodes, source, name)
            produced_by.discard(source)
            produced_by.add(name)
            sources = [name if s == source else s for s in sources]
        else:
            builder.nodes.append(
                helper.make_node("Identity", [source], [name], name=builder.fresh("Identity_output"))
            )
        used.add(name)
    return list(wanted)


def make_subgraph(
    body: GraphBuilder,
    name: str,
    inputs: list[onnx.ValueInfoProto],
    output_names: list[str],
    output_types: list[tuple[str, int]],
) -> onnx.GraphProto:
    """GraphProto of a Loop body or If branch written into ``body`` (a `GraphBuilder.subgraph`).

    ``output_types`` gives each output's PyTensor dtype and rank, None where the rank is not known
    (sizes are left to shape inference: a loop-carried value may change size between iterations).
    """
    wanted = [body.fresh(f"{name}_out") for _ in output_names]
    bind_names(body, output_names, wanted, {info.name for info in inputs})
    outputs = [
        helper.make_tensor_value_info(out, onnx_dtype(dtype), None if ndim is None else [None] * ndim)
        for out, (dtype, ndim) in zip(wanted, output_types)
    ]
    return helper.make_graph(body.nodes, name, inputs, outputs)


def live_nodes(nodes: list[onnx.NodeProto], outputs) -> list[onnx.NodeProto]:
    """``nodes`` without those whose results nothing reads (converters that compute a value and then
    use a folded or shared one instead leave such nodes). No ONNX op of a deployed model has a side
    effect, so an unread node is dead."""
    needed = set(outputs)
    kept = []
    for node in reversed(nodes):
        if any(name in needed for name in node.output):
            kept.append(node)
            needed |= _names_read([node])
    return kept[::-1]


def _names_read(nodes) -> set[str]:
    """Every value name read by ``nodes`` or by the subgraphs (Loop bodies, If branches) inside them."""
    names = set()
    for node in nodes:
        names.update(node.input)
        for attribute in node.attribute:
            for graph in [attribute.g, *attribute.graphs]:
                names |= _names_read(graph.node)
    return names


def _rename_value(nodes, old: str, new: str) -> None:
    """Rename value ``old`` to ``new`` wherever it is read or written, in the subgraphs (Loop bodies, If
    branches) inside ``nodes`` too: a body that reads an outer value by name must follow its renaming.
    (Value names are unique across scopes, so no subgraph holds another value of the same name.)"""
    for node in nodes:
        for seq in (node.input, node.output):
            for k, value in enumerate(seq):
                if value == old:
                    seq[k] = new
        for attribute in node.attribute:
            for graph in [attribute.g, *attribute.graphs]:
                _rename_value(graph.node, old, new)
                for seq in (graph.input, graph.output):
                    for info in seq:
                        if info.name == old:
                            info.name = new


@onnx_funcify.register(FunctionGraph)
def onnx_funcify_FunctionGraph(fgraph, node=None, ctx=None, inputs=None, **kwargs) -> onnx.ModelProto:
    return fgraph_to_onnx(fgraph, **kwargs)
