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
from dataclasses import dataclass, field, replace

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from backend.dtypes import ALL_DTYPES
from harness.registry import ONNX_OPERATIONS
from strategies.values import trigger_values

DEFAULT_DTYPES = ("float32", "float64", "int8", "int32", "int64", "uint8", "bool")
LOOSE_ULPS = 64  # per node, of the largest magnitude in the graph
# ops whose declared behaviour depends on more than their inputs, or that stop the graph
_NOT_FUZZED = {"assert_op", "assert_symbolic_condition", "op_from_graph_two_outputs", "op_from_graph_nested"}
_STOPS_THE_GRAPH = ("raises by design on inputs that fail its condition, which ends the whole graph's "
                    "evaluation; its cells test it")


def fuzzable_ops(names: list[str] | None = None) -> list[str]:
    """Plain elementwise entries (inputs drawn independently, no error scale): what elementwise
    programs and the matrix's mixed-dtype cells compose."""
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


def not_fuzzable() -> dict[str, str]:
    """Registry entries no program uses, each with the reason (``harness fuzz --list``)."""
    reasons = {}
    for spec in ONNX_OPERATIONS.values():
        if not spec.values_defined:
            reasons[spec.name] = "its values are undefined (only dtype and shape are specified): nothing to compare"
        elif spec.name in ("assert_op", "assert_symbolic_condition"):
            reasons[spec.name] = _STOPS_THE_GRAPH
    return reasons


def fuzz_ops(names: list[str] | None = None) -> list[str]:
    """Entries programs compose: every registry entry but `not_fuzzable`'s; ``names`` selects some
    (ValueError naming the unknown or excluded ones)."""
    excluded = not_fuzzable()
    usable = [name for name in ONNX_OPERATIONS if name not in excluded]
    if names is None:
        return usable
    problems = [f"{name}: {excluded[name]}" if name in excluded else f"{name}: not a registry entry"
                for name in names if name not in usable]
    if problems:
        raise ValueError("fuzz: these ops cannot be fuzzed: " + "; ".join(problems) + " (harness fuzz --list "
                         "names every fuzzable op)")
    return [name for name in usable if name in names]


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


FIT = "fit"
"""The pseudo-op of a node that fits an earlier value to another operand's shape: its first elements,
reshaped (``v.flatten()[:size].reshape(shape)``), so that values of one op feed ops of any other."""


@dataclass(frozen=True)
class Node:
    op: str  # a registry entry, or `FIT`
    operands: tuple[str, ...]  # names of earlier values: x0.., c0.., v0.. (v3_1: node 3's second output)
    params: tuple[tuple[str, object], ...] = ()  # the entry's drawn keyword arguments (axis, ...)
    dtype: str = ""  # the cell dtype the node was drawn for ('' for elementwise nodes: the operands' upcast)
    outputs: int = 1
    unpack: bool = False  # the entry's build returns a sequence (of ``outputs`` variables)

    def value_names(self, k: int) -> list[str]:
        """Names of node ``k``'s outputs."""
        return [f"v{k}"] + [f"v{k}_{j}" for j in range(1, self.outputs)]

    def source(self, k: int) -> str:
        """This node as a line of PyTensor code."""
        targets = ", ".join(self.value_names(k)) + ("," if self.unpack and self.outputs == 1 else "")
        if self.op == FIT:
            shape = dict(self.params)["shape"]
            return f"{targets} = {self.operands[0]}.flatten()[:{int(np.prod(shape))}].reshape({tuple(shape)!r})"
        arguments = list(self.operands) + [f"{key}={value!r}" for key, value in self._keywords()]
        return f"{targets} = ONNX_OPERATIONS[{self.op!r}].build({', '.join(arguments)})"

    def _keywords(self) -> list[tuple[str, object]]:
        keywords = list(self.params)
        if self.op != FIT and ONNX_OPERATIONS[self.op].dtype_kwarg:
            keywords.append(("dtype", self.dtype))
        return keywords

    def call(self, operands: list):
        """What the entry's build returns for ``operands`` (PyTensor variables): a variable or a sequence."""
        if self.op == FIT:
            shape = tuple(dict(self.params)["shape"])
            return operands[0].flatten()[:int(np.prod(shape))].reshape(shape)
        return ONNX_OPERATIONS[self.op].build(*operands, **dict(self._keywords()))

    def apply(self, operands: list) -> list:
        """The node's output variables, applied to ``operands``."""
        result = self.call(operands)
        return list(result) if isinstance(result, list | tuple) else [result]


@dataclass
class Program:
    """A graph: its inputs (name, dtype, shape), constants (name -> array), nodes and outputs; optionally
    the gradient of ``cost``'s sum with respect to the inputs ``wrt`` (outputs ``g0``, ``g1``, ...)."""
    inputs: list[tuple[str, str, tuple[int, ...]]]
    constants: dict[str, np.ndarray]
    nodes: list[Node]
    outputs: list[str]
    values: list[np.ndarray] = field(default_factory=list)  # one array per input
    cost: str = ""
    wrt: tuple[str, ...] = ()
    kind: str = "elementwise"  # elementwise (plain elementwise entries only), or a mixed program's `mixed_kind`

    def signature(self) -> tuple:
        """What identifies a finding's graph: the ops in order with their operands, and the dtypes."""
        return (tuple(d for _, d, _ in self.inputs), tuple((n.op, n.operands, n.params) for n in self.nodes),
                tuple(self.outputs), self.cost, self.wrt)

    def node_value_names(self) -> list[str]:
        """Every node's outputs' names, in order."""
        return [name for k, node in enumerate(self.nodes) for name in node.value_names(k)]

    def source(self) -> str:
        """The graph as PyTensor code (what a reproducer runs)."""
        lines = []
        for name, dtype, shape in self.inputs:
            lines.append(f"{name} = pt.tensor({name!r}, dtype={dtype!r}, shape={static_shape(shape)!r})")
        for name, array in self.constants.items():
            lines.append(f"{name} = pt.constant(np.array({_literal(array.tolist())}, dtype={str(array.dtype)!r}))")
        for k, node in enumerate(self.nodes):
            lines.append(node.source(k))
        if self.cost:
            targets = ", ".join(f"g{i}" for i in range(len(self.wrt)))
            lines.append(f"{targets}, = pytensor.grad({self.cost}.sum(), [{', '.join(self.wrt)}], "
                         "disconnected_inputs='ignore')")
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
        """(input variables, {name: variable} of every node output then every gradient, output variables)."""
        import pytensor
        import pytensor.tensor as pt

        env = {}
        inputs = []
        for name, dtype, shape in self.inputs:
            env[name] = pt.tensor(name, dtype=dtype, shape=static_shape(shape))
            inputs.append(env[name])
        for name, array in self.constants.items():
            env[name] = pt.constant(array)
        values = {}
        for k, node in enumerate(self.nodes):
            for name, variable in zip(node.value_names(k), node.apply([env[o] for o in node.operands]), strict=True):
                env[name] = values[name] = variable
        if self.cost:
            grads = pytensor.grad(env[self.cost].sum(), [env[w] for w in self.wrt], disconnected_inputs="ignore")
            for i, grad in enumerate(grads):
                env[f"g{i}"] = values[f"g{i}"] = grad
        return inputs, values, [env[o] for o in self.outputs]


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


class _OpNames(tuple):
    """Op names that a strategy's repr (in Hypothesis' messages) counts instead of listing."""

    def __repr__(self) -> str:
        return f"<{len(self)} registry ops>"


def programs(*, ops: list[str], dtypes: tuple[str, ...] = DEFAULT_DTYPES, max_ops: int = 8,
             gradient_share: float = 0.25, constant_share: float = 0.15) -> st.SearchStrategy:
    """Random graphs (`Program`) over ``ops`` with inputs of ``dtypes`` (see the module docstring):
    elementwise programs when every op is a plain elementwise entry (`fuzzable_ops`), else either kind.
    ``gradient_share`` of mixed programs also output a gradient; ``constant_share`` of their fresh
    operands are graph constants (`TRIGGER_VALUES` where the operand's values are free)."""
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
    for name, share in (("gradient_share", gradient_share), ("constant_share", constant_share)):
        if not (isinstance(share, int | float) and 0 <= share <= 1):
            raise ValueError(f"programs: {name} must be in [0, 1], got {name}={share!r}")
    blocked = sorted(set(ops) & set(not_fuzzable()))
    if blocked:
        raise ValueError(f"programs: ops {blocked} cannot be fuzzed: {not_fuzzable()[blocked[0]]}")
    elementwise = _OpNames(op for op in ops if op in fuzzable_ops())
    plain = _programs(elementwise, tuple(dtypes), max_ops) if elementwise else None
    if len(elementwise) == len(ops):
        return plain
    mixed = _mixed_programs(_OpNames(ops), tuple(dtypes), max_ops, float(gradient_share), float(constant_share))
    return mixed if plain is None else st.one_of(plain, mixed)
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
    return pruned(Program(inputs, constants, nodes, outputs, values))


def pruned(program: Program) -> Program:
    """Without the nodes, constants and inputs no output depends on (nodes renumbered): a minimal graph
    shows only what matters."""
    needed = {o for o in program.outputs if not o.startswith("g")} | ({program.cost, *program.wrt} if program.cost else set())
    for k in reversed(range(len(program.nodes))):
        if needed & set(program.nodes[k].value_names(k)):
            needed |= set(program.nodes[k].operands)
    kept = [k for k in range(len(program.nodes)) if needed & set(program.nodes[k].value_names(k))]
    rename = {old_name: new_name for new, old in enumerate(kept)
              for old_name, new_name in zip(program.nodes[old].value_names(old), program.nodes[old].value_names(new))}
    nodes = [replace(program.nodes[k], operands=tuple(rename.get(o, o) for o in program.nodes[k].operands)) for k in kept]
    constants = {n: c for n, c in program.constants.items() if n in needed}
    # at least one input (a graph of constants alone is folded whole) where the program had any
    used = [k for k, (name, _, _) in enumerate(program.inputs) if name in needed] or [0][:len(program.inputs)]
    return Program([program.inputs[k] for k in used], constants, nodes, [rename.get(o, o) for o in program.outputs],
                   [program.values[k] for k in used], rename.get(program.cost, program.cost), program.wrt,
                   program.kind)


def _free_operands(spec, dtype: str) -> list[bool]:
    """Which operands take any value of their dtype (so an earlier value or a trigger constant may stand
    in): none of an entry whose inputs depend on each other (``examples``), and not those with a
    domain of their own (``elements``)."""
    if spec.examples is not None:
        return [False] * spec.arity
    n = len(spec.inputs_dtypes(dtype))
    own = spec.elements(dtype) if spec.elements is not None else None
    return [e is None for e in own] if own is not None else [True] * n


def _direct_fit(variable, shape: tuple[int, ...]) -> bool:
    """Can ``variable`` (of concrete ``shape`` elsewhere known to match) stand where a graph input of
    that shape would: its size-1 dimensions are static where an input's would be."""
    return all(size != 1 or static == 1 for size, static in zip(shape, variable.type.shape))


MAX_HEAVY_NODES = 2
"""Heavy entries a mixed program holds at most: PyTensor's rewriting of a program with several whole
models' gradients takes minutes, and one such graph would eat a search's budget."""


def _heavy(op: str) -> bool:
    """Entries whose graphs are large: whole models (``graph:``, ``model:``), gradients of those and of
    Loop-based compositions (`OpSpec.ci_example_share` below 1)."""
    base = op.removeprefix("grad:")
    return base.startswith(("graph:", "model:")) or ONNX_OPERATIONS[op].ci_example_share < 1


def _chance(draw, share: float) -> bool:
    """True with probability about ``share``; False is the simpler choice, the one shrinking goes to."""
    return draw(st.integers(0, 999)) >= 1000 * (1 - share)


_BUILD_REFUSALS = (TypeError, ValueError, NotImplementedError, IndexError, AssertionError)
"""What PyTensor raises when an entry is applied to operands it does not take (dtype, rank, static shape)."""


@st.composite
def _mixed_programs(draw, ops: list[str], dtypes: tuple[str, ...], max_ops: int, gradient_share: float,
                    constant_share: float) -> Program:
    """Nodes of any entries: each draws an example from its entry's own strategy (valid shapes, params and
    values, SPD matrices and all), then each operand whose values are free may be an earlier value of the
    same dtype instead (fitted to the shape by a `FIT` node) or a trigger constant; shapes are thus solved
    while drawing, never by rejection. A share of programs output the gradient of a float value."""
    import pytensor
    import pytensor.tensor as pt
    from hypothesis import reject
    from pytensor.gradient import NullTypeGradError
    from pytensor.graph.utils import MethodNotDefined

    from backend.compat import ancestors as graph_ancestors
    from harness.conformance.engine import cell_strategy
    from strategies.shapes import pytensor_input_shape

    inputs, values, constants, nodes = [], [], {}, []
    env, shapes = {}, {}  # name -> program variable; name -> concrete shape (None where unknown)
    shadow = {}  # name -> the same value with fully static input shapes, to read output shapes from
    light = [op for op in ops if not _heavy(op)]
    heavy_nodes = 0
    for _ in range(draw(st.integers(1, max_ops))):
        op = draw(st.sampled_from(ops if heavy_nodes < MAX_HEAVY_NODES or not light else light))
        heavy_nodes += _heavy(op)
        spec = ONNX_OPERATIONS[op]
        # mostly a dtype some earlier value has, so that the node can take it as an operand
        held = [d for d in dict.fromkeys(str(v.type.dtype) for v in env.values()) if d in spec.dtypes]
        allowed = [d for d in spec.dtypes if d in dtypes] or list(spec.dtypes)
        dtype = draw(st.sampled_from(held if held and not _chance(draw, 0.25) else allowed))
        example = draw(cell_strategy(spec, dtype))
        free = _free_operands(spec, dtype)
        operands = []
        for i, array in enumerate(example.arrays):
            name = None
            if i < len(free) and free[i] and draw(st.integers(0, 3)) > 0:
                usable = [n for n, known in shapes.items() if known is not None and str(env[n].type.dtype) == str(array.dtype)
                          and int(np.prod(known)) >= array.size]
                if usable:
                    source = draw(st.sampled_from(usable[::-1]))  # the newest first: chains more often than fans
                    if shapes[source] == array.shape and _direct_fit(env[source], array.shape):
                        name = source
                    else:
                        fit = Node(FIT, (source,), (("shape", tuple(array.shape)),))
                        name = f"v{len(nodes)}"
                        env[name] = fit.apply([env[source]])[0]
                        shadow[name] = fit.apply([shadow[source]])[0]
                        shapes[name] = tuple(array.shape)
                        nodes.append(fit)
            if name is None:
                if _chance(draw, constant_share):
                    name = f"c{len(constants)}"
                    free_here = i < len(free) and free[i]
                    constants[name] = (np.full(array.shape, draw(st.sampled_from(trigger_values(str(array.dtype)))))
                                       if free_here and draw(st.booleans()) else array)
                    env[name] = shadow[name] = pt.constant(constants[name])
                else:
                    name = f"x{len(inputs)}"
                    inputs.append((name, str(array.dtype), tuple(array.shape)))
                    values.append(array)
                    env[name] = pt.tensor(name, dtype=str(array.dtype), shape=pytensor_input_shape(array.shape))
                    shadow[name] = pt.tensor(name, dtype=str(array.dtype), shape=tuple(array.shape))
                shapes[name] = tuple(array.shape)
            operands.append(name)
        node = Node(op, tuple(operands), example.params, dtype)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                raw = node.call([env[o] for o in operands])
                static = node.apply([shadow[o] for o in operands])
            built = list(raw) if isinstance(raw, list | tuple) else [raw]
        except _BUILD_REFUSALS:
            continue  # PyTensor refuses the composition (a fitted operand's static shape, say)
        if not built or any(getattr(v.type, "dtype", None) not in ALL_DTYPES for v in built):
            continue  # no output, or one ONNX has no type for (a complex or a scalar type)
        node = Node(op, tuple(operands), example.params, dtype, len(built), unpack=isinstance(raw, list | tuple))
        for name, variable, static_variable in zip(node.value_names(len(nodes)), built, static):
            env[name], shadow[name] = variable, static_variable
            known = static_variable.type.shape
            shapes[name] = tuple(known) if all(d is not None for d in known) else None
        nodes.append(node)
    real = [k for k, node in enumerate(nodes) if node.op != FIT]
    if not real:
        reject()
    node_values = [n for k in real for n in nodes[k].value_names(k)]
    # every node's first output that no other node reads (several subgraphs in one model), and some that are read
    read = {o for node in nodes for o in node.operands}
    sinks = [nodes[k].value_names(k)[0] for k in real if not read & set(nodes[k].value_names(k))]
    outputs = list(dict.fromkeys([*sinks, *draw(st.lists(st.sampled_from(node_values), max_size=2))]))
    cost, wrt = "", ()
    floats = [n for n in node_values if str(env[n].type.dtype).startswith("float")]
    if floats and _chance(draw, gradient_share):
        cost = draw(st.sampled_from(floats))
        ancestors = set(graph_ancestors([env[cost]]))
        wrt = tuple(n for n, d, _ in inputs if d.startswith("float") and env[n] in ancestors)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pytensor.grad(env[cost].sum(), [env[w] for w in wrt], disconnected_inputs="ignore")
        # PyTensor has no gradient here (NullType, not implemented, no pullback: ScalarLoop)
        except (*_BUILD_REFUSALS, NullTypeGradError, MethodNotDefined):
            cost, wrt = "", ()
        if wrt:
            outputs += [f"g{i}" for i in range(len(wrt))]
        else:
            cost = ""
    program = pruned(Program(inputs, constants, nodes, outputs, values, cost, wrt))
    return replace(program, kind=mixed_kind(program))


CONTROL_FLOW_FAMILIES = ("scan", "ifelse", "builders", "scalar_loop")


def mixed_kind(program: Program) -> str:
    """What a mixed program exercises, for throughput per kind: ``gradient`` (it outputs one), ``control
    flow`` (a Scan, IfElse, OpFromGraph or ScalarLoop node) or ``structural`` (the other families)."""
    if program.cost:
        return "gradient"
    families = {ONNX_OPERATIONS[node.op].family for node in program.nodes if node.op != FIT}
    return "control flow" if families & set(CONTROL_FLOW_FAMILIES) else "structural"
