"""Random PyTensor graphs of the registry's elementwise entries, for composition fuzzing.

A graph (`Program`) has 1-3 inputs of mixed dtypes whose shapes broadcast against each other, and up
to ``max_ops`` nodes; each node applies one registry entry's ``build`` to earlier values (inputs,
other nodes, constants), so subexpressions are reused and PyTensor's upcasting decides the types.
Hypothesis draws it (values too), so a failing graph shrinks to a minimal one.

To fuzz another op: register it as an elementwise entry without ``examples``/``params``/``shapes``/
``error_scale``; `fuzzable_ops` picks it up.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from backend.dtypes import ALL_DTYPES
from harness.registry import ONNX_OPERATIONS

DEFAULT_DTYPES = ("float32", "float64", "int8", "int32", "int64", "uint8", "bool")
LOOSE_ULPS = 64  # per node, of the largest magnitude in the graph
# ops whose declared behaviour depends on more than their inputs, or that stop the graph
_NOT_FUZZED = {"assert_op", "assert_symbolic_condition", "op_from_graph_two_outputs", "op_from_graph_nested"}


def fuzzable_ops(names: list[str] | None = None) -> list[str]:
    """Registry entries a fuzzed graph can use: elementwise, inputs drawn independently, no error scale."""
    chosen = []
    for spec in ONNX_OPERATIONS.values():
        plain = (spec.elementwise and spec.examples is None and spec.params is None and spec.shapes is None
                 and spec.error_scale is None and spec.ulp_dtype is None and not spec.dtype_kwarg
                 and spec.values_defined and spec.input_dtypes is None and spec.arity in (1, 2, 3)
                 and spec.name not in _NOT_FUZZED and not spec.name.startswith("graph:"))
        if plain and (names is None or spec.name in names):
            chosen.append(spec.name)
    if names is not None:
        unknown = sorted(set(names) - set(chosen))
        if unknown:
            raise ValueError(f"fuzz: ops {unknown} cannot be fuzzed (not registered, or not plain elementwise "
                             f"entries); fuzzable: {', '.join(fuzzable_ops())}")
    return chosen


# ----------------------------------------------------------------------------------------------
# Programs
# ----------------------------------------------------------------------------------------------

def _literal(value) -> str:
    """Python source for a nested list of numbers, NaN and infinities included."""
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, float) and not np.isfinite(value):
        return f"float({str(value)!r})"
    return repr(value)


def static_shape(shape) -> tuple:
    """PyTensor's static shape for an input: 1 where the drawn size is 1 (it may broadcast), else unknown."""
    return tuple(1 if size == 1 else None for size in shape)


@dataclass(frozen=True)
class Node:
    op: str
    operands: tuple[str, ...]  # names of earlier values: x0.., c0.., v0..


@dataclass
class Program:
    """A graph: its inputs (name, dtype, shape), constants (name -> array), nodes and outputs."""
    inputs: list[tuple[str, str, tuple[int, ...]]]
    constants: dict[str, np.ndarray]
    nodes: list[Node]
    outputs: list[str]
    values: list[np.ndarray] = field(default_factory=list)  # one array per input

    def signature(self) -> tuple:
        """What identifies a finding's graph: the ops in order with their operands, and the dtypes."""
        return (tuple(d for _, d, _ in self.inputs), tuple((n.op, n.operands) for n in self.nodes),
                tuple(self.outputs))

    def source(self) -> str:
        """The graph as PyTensor code (what a reproducer runs)."""
        lines = []
        for name, dtype, shape in self.inputs:
            lines.append(f"{name} = pt.tensor({name!r}, dtype={dtype!r}, shape={static_shape(shape)!r})")
        for name, array in self.constants.items():
            lines.append(f"{name} = pt.constant(np.array({_literal(array.tolist())}, dtype={str(array.dtype)!r}))")
        for k, node in enumerate(self.nodes):
            lines.append(f"v{k} = ONNX_OPERATIONS[{node.op!r}].build({', '.join(node.operands)})")
        lines.append(f"inputs = [{', '.join(n for n, _, _ in self.inputs)}]")
        lines.append(f"outputs = [{', '.join(self.outputs)}]")
        return "\n".join(lines)

    def onnx_text(self) -> str:
        """The as-built model in ONNX's text syntax, or why it could not be exported."""
        import onnx

        from backend import export_onnx

        inputs, _, outputs = self.build()
        try:
            return onnx.printer.to_text(export_onnx(inputs, outputs).graph)
        except Exception as exc:  # the finding may be the export failing: show why instead of the model
            return f"(no model: {type(exc).__name__}: {exc})"

    def build(self):
        """(input variables, every node's variable, output variables)."""
        import pytensor.tensor as pt

        env = {}
        inputs = []
        for name, dtype, shape in self.inputs:
            env[name] = pt.tensor(name, dtype=dtype, shape=static_shape(shape))
            inputs.append(env[name])
        for name, array in self.constants.items():
            env[name] = pt.constant(array)
        nodes = []
        for k, node in enumerate(self.nodes):
            env[f"v{k}"] = ONNX_OPERATIONS[node.op].build(*(env[o] for o in node.operands))
            nodes.append(env[f"v{k}"])
        return inputs, nodes, [env[o] for o in self.outputs]


def element_strategy(dtype: str) -> st.SearchStrategy:
    """Moderate values with the specials now and then: long chains of huge values only overflow."""
    if dtype == "bool":
        return st.booleans()
    kind = np.dtype(dtype).kind
    if kind in "iu":
        info = np.iinfo(dtype)
        return st.integers(max(int(info.min), -8), min(int(info.max), 8))
    moderate = hnp.from_dtype(np.dtype(dtype), min_value=-6.0, max_value=6.0, allow_subnormal=False)
    specials = st.sampled_from([0.0, -0.0, 0.5, 1.0, -1.0, 2.0, float("nan"), float("inf"), float("-inf")])
    return st.one_of(moderate, moderate, specials)


def _accepts(op: str, dtypes: tuple[str, ...]) -> bool:
    """Whether the entry was registered for each operand's dtype (its cells test them one by one)."""
    return all(d in ONNX_OPERATIONS[op].dtypes for d in dtypes)


def programs(*, ops: list[str], dtypes: tuple[str, ...] = DEFAULT_DTYPES, max_ops: int = 8) -> st.SearchStrategy:
    """Random graphs (`Program`) over ``ops`` with inputs of ``dtypes`` (see the module docstring)."""
    if not ops:
        raise ValueError("programs: ops is empty")
    unknown = [op for op in ops if op not in ONNX_OPERATIONS]
    if unknown:
        raise ValueError(f"programs: ops={unknown!r} are not registry entries")
    if not isinstance(max_ops, int) or max_ops < 1:
        raise ValueError(f"programs: max_ops must be an int >= 1, got max_ops={max_ops!r}")
    bad = [d for d in dtypes if d not in ALL_DTYPES]
    if bad or not dtypes:
        raise ValueError(f"programs: dtypes={dtypes!r}; valid: {ALL_DTYPES}")
    return _programs(list(ops), tuple(dtypes), max_ops)


@st.composite
def _programs(draw, ops: list[str], dtypes: tuple[str, ...], max_ops: int) -> Program:
    import pytensor.tensor as pt

    result_shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3))
    n_inputs = draw(st.integers(1, 3))
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=n_inputs, base_shape=result_shape, max_side=3)).input_shapes
    inputs = [(f"x{k}", draw(st.sampled_from(dtypes)), tuple(shape)) for k, shape in enumerate(shapes)]
    values = [draw(hnp.arrays(np.dtype(d), s, elements=element_strategy(d))) for _, d, s in inputs]

    env = {name: pt.tensor(name, dtype=d, shape=static_shape(s)) for name, d, s in inputs}
    constants, nodes = {}, []
    n_nodes = draw(st.integers(1, max_ops))
    for k in range(n_nodes):
        op = draw(st.sampled_from(ops))
        spec = ONNX_OPERATIONS[op]
        operands = []
        for _ in range(spec.arity):
            usable = [n for n, v in env.items() if v.type.dtype in spec.dtypes]
            if draw(st.integers(0, 9)) == 0:  # a constant, now and then
                dtype = draw(st.sampled_from([d for d in dtypes if d in spec.dtypes] or list(spec.dtypes)))
                name = f"c{len(constants)}"
                constants[name] = draw(hnp.arrays(np.dtype(dtype), draw(st.sampled_from([(), (1,)])),
                                                  elements=element_strategy(dtype)))
                env[name] = pt.constant(constants[name])
                usable = [name]
            if not usable:
                break
            # the newest values first, so that graphs are chains more often than flat fans
            operands.append(draw(st.sampled_from(usable[::-1])))
        if len(operands) < spec.arity or not _accepts(op, tuple(env[o].type.dtype for o in operands)):
            continue
        if all(o in constants for o in operands):
            continue  # a node of constants only is folded away; graphs depend on their inputs
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                variable = spec.build(*(env[o] for o in operands))
        except (TypeError, ValueError, NotImplementedError):
            continue  # PyTensor refuses this dtype combination (e.g. bitwise ops of floats)
        if isinstance(variable, list | tuple) or variable.type.dtype not in ALL_DTYPES:
            continue
        env[f"v{len(nodes)}"] = variable
        nodes.append(Node(op, tuple(operands)))
    if not nodes:
        from hypothesis import reject

        reject()
    outputs = [f"v{len(nodes) - 1}"]
    if len(nodes) > 1 and draw(st.booleans()):
        extra = f"v{draw(st.integers(0, len(nodes) - 2))}"
        outputs.append(extra)
    return _pruned(Program(inputs, constants, nodes, outputs, values))


def _pruned(program: Program) -> Program:
    """Without the nodes, constants and inputs no output depends on (nodes renumbered): a minimal graph
    shows only what matters."""
    needed = set(program.outputs)
    for k in reversed(range(len(program.nodes))):
        if f"v{k}" in needed:
            needed |= set(program.nodes[k].operands)
    kept = [k for k in range(len(program.nodes)) if f"v{k}" in needed]
    rename = {f"v{old}": f"v{new}" for new, old in enumerate(kept)}
    nodes = [Node(program.nodes[k].op, tuple(rename.get(o, o) for o in program.nodes[k].operands)) for k in kept]
    constants = {n: c for n, c in program.constants.items() if n in needed}
    used = [k for k, (name, _, _) in enumerate(program.inputs) if name in needed] or [0]
    return Program([program.inputs[k] for k in used], constants, nodes, [rename[o] for o in program.outputs],
                   [program.values[k] for k in used])
