"""FunctionGraph -> ModelProto: the graph-level conversion, apart from the per-op converters.

`fgraph_to_onnx` names the graph inputs, turns constants into initializers, calls `onnx_funcify` on
every Apply node in topological order (each converter writes its nodes into one `GraphBuilder`),
binds the outputs to names of their own and checks the model with ``onnx.checker`` (full check,
shape inference included). ``onnx_funcify(fgraph, opset_version=...)`` dispatches here.

To change how graphs are assembled (naming, initializers, model metadata), change this module; to
convert another op, add a converter in its family's module instead.
"""

from __future__ import annotations

import onnx
from onnx import helper
from pytensor.graph.basic import Constant, Variable
from pytensor.graph.fg import FunctionGraph

from backend.basic import (
    ONNX_OPSET_VERSION,
    GraphBuilder,
    check_opset_version,
    ir_version_for_opset,
    make_value_info,
    onnx_funcify,
)


def fgraph_to_onnx(
    fgraph: FunctionGraph,
    *,
    opset_version: int = ONNX_OPSET_VERSION,
    graph_name: str = "pytensor_graph",
    check: bool = True,
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


@onnx_funcify.register(FunctionGraph)
def onnx_funcify_FunctionGraph(fgraph, node=None, ctx=None, inputs=None, **kwargs) -> onnx.ModelProto:
    return fgraph_to_onnx(fgraph, **kwargs)
