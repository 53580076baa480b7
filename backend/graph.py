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
    graph_inputs, input_names = [], []
    for i, var in enumerate(fgraph.inputs):
        if isinstance(var, Constant):
            input_names.append(builder.constant(var.data, dtype=var.type.dtype))
            continue
        name = builder.reserve(var.name or f"input_{i}")
        input_names.append(name)
        graph_inputs.append(make_value_info(var, name))

    output_names = emit_graph(fgraph, builder, input_names)
    graph_outputs = _bind_outputs(fgraph, builder, output_names, set(input_names))

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


def emit_graph(fgraph: FunctionGraph, ctx: GraphBuilder, input_names: list[str]) -> list[str]:
    """Convert every Apply node of ``fgraph`` into ``ctx``, its inputs bound to ``input_names``;
    returns the ONNX names of its outputs. The whole model and inner graphs inlined into it
    (OpFromGraph) are converted by this one loop."""
    names: dict[Variable, str] = dict(zip(fgraph.inputs, input_names))

    def name_of(var: Variable) -> str:
        if var not in names:
            if isinstance(var, Constant) and var.data is None:
                # NoneConst (e.g. SpecifyShape's "size unknown"): no ONNX value; converters read
                # such inputs from the PyTensor node, never from the name
                names[var] = ""
            elif isinstance(var, Constant):
                names[var] = ctx.constant(var.data, dtype=var.type.dtype)
            else:
                raise ValueError(
                    f"variable {var} is used before it is computed; the graph is not a valid FunctionGraph"
                )
        return names[var]

    for apply in fgraph.toposort():
        out_names = onnx_funcify(apply.op, apply, ctx, [name_of(v) for v in apply.inputs])
        if len(out_names) != len(apply.outputs):
            raise RuntimeError(
                f"converter for {apply.op} returned {len(out_names)} outputs for {len(apply.outputs)}"
            )
        names.update(zip(apply.outputs, out_names))
    return [name_of(v) for v in fgraph.outputs]


def _bind_outputs(fgraph, builder: GraphBuilder, output_names: list[str], input_names: set[str]):
    """Give every graph output its own name; returns their ValueInfos.

    A value computed by a node is renamed in place; a graph input, an initializer or a value already
    bound to an earlier output goes through an Identity node, since ONNX forbids such aliases.
    """
    produced_by = {out: node for node in builder.nodes for out in node.output}
    output_names = list(output_names)
    used: set[str] = set()
    infos = []
    for i, var in enumerate(fgraph.outputs):
        source = output_names[i]
        wanted = builder.reserve(var.name if var.name and var.name not in input_names else f"output_{i}")
        if source in produced_by and source not in used and source not in input_names:
            _rename_value(builder.nodes, source, wanted)
            produced_by[wanted] = produced_by.pop(source)
            output_names = [wanted if n == source else n for n in output_names]
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
