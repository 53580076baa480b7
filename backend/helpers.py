"""Helpers shared by the converters of several op families: dtypes of PyTensor variables, the
implicit upcasts PyTensor makes without a Cast node, computing an op in a wider dtype that has an
onnxruntime kernel, the converter for scalar ops that map one to one onto an ONNX op, and Loops
that carry values through a fixed number of steps.

To extend: a helper belongs here once two op-family modules need it; a family's own helpers stay in
its module.
"""

from __future__ import annotations

from onnx import TensorProto, helper

from backend.basic import GraphBuilder
from backend.dtypes import FLOAT_DTYPES, onnx_dtype
from backend.graph import make_subgraph
from backend.kernels import compute_dtype


def dtype_of(var) -> str:
    """PyTensor dtype of a variable (tensor or scalar), as a string."""
    return str(var.type.dtype)


def output_dtype(node) -> str:
    """PyTensor dtype of the node's first output."""
    return dtype_of(node.outputs[0])


def inputs_as(node, ctx: GraphBuilder, inputs, dtype: str) -> list[str]:
    """The node's inputs cast to ``dtype``: PyTensor upcasts mixed inputs implicitly
    (``float32 + int64 -> float64``, ``exp(int8) -> float32``) without a Cast node in the graph."""
    return [ctx.cast(name, dtype_of(var), dtype) for name, var in zip(inputs, node.inputs)]


def apply_in(ctx, onnx_op, args, compute, out_dtype, **attrs):
    """Run ``onnx_op`` on ``args`` (already in the output dtype) in ``compute`` dtype, cast back."""
    args = [ctx.cast(a, out_dtype, compute) for a in args]
    if len(args) == 1 and onnx_op in ("Add", "Mul"):
        result = ctx.op.Identity(args[0])  # a one-input Add/Mul (PyMC's AR logp has one) is its input
    elif len(args) > 2 and onnx_op in ("Add", "Mul"):
        # Fusion and canonicalisation make variadic Add/Mul; ONNX's are binary.
        result = args[0]
        for arg in args[1:]:
            result = ctx.op[onnx_op](result, arg, **attrs)
    else:
        result = ctx.op[onnx_op](*args, **attrs)
    return ctx.cast(result, compute, out_dtype)


def one_to_one_converter(onnx_op: str):
    """A converter for a scalar op that is ``onnx_op`` with every input cast to the output dtype,
    computed in that dtype or an exact wider one (`compute_dtype`)."""

    def convert(op, node, ctx, inputs):
        out_dtype = output_dtype(node)
        compute = compute_dtype(onnx_op, out_dtype)
        return [apply_in(ctx, onnx_op, inputs_as(node, ctx, inputs, out_dtype), compute, out_dtype)]

    convert.__name__ = f"onnx_funcify_{onnx_op}"
    return convert


def sign_bit(ctx, x, dtype):
    """True for negative numbers, -0.0 and -inf (1/x < 0 sees the zero's sign, x < 0 the infinity's)."""
    zero = ctx.constant(0.0, dtype)
    reciprocal = ctx.op.Div(ctx.constant(1.0, dtype), x)
    return ctx.op.Or(ctx.op.Less(x, zero), ctx.op.Less(reciprocal, zero))


def select_keeping_zero_sign(ctx, condition, x, y, dtype: str) -> str:
    """``Where(condition, x, y)`` that returns a chosen -0.0 as -0.0.

    onnxruntime's CPU Where merges ``condition ? x : 0`` and ``condition ? 0 : y`` by taking the
    nonzero one, so a chosen -0.0 can come back as +0.0 (the registry's ``onnxruntime_where`` models
    it). Here the chosen value's sign bit is selected too (with And/Or: onnxruntime has no boolean
    Where) and put back on its magnitude: ``|chosen| * (-1 or 1)``, exact for every value (a NaN's
    sign bit is not a value). float16 is handled in float32, exactly.
    """
    if dtype == "bool":  # onnxruntime has no boolean Where (ScalarLoops carry flags: betainc's gradient)
        return ctx.op.Or(ctx.op.And(condition, x), ctx.op.And(ctx.op.Not(condition), y))
    if dtype not in FLOAT_DTYPES:
        work = compute_dtype("Where", dtype, allow_widening=True)
        chosen = ctx.op.Where(condition, ctx.cast(x, dtype, work), ctx.cast(y, dtype, work))
        return ctx.cast(chosen, work, dtype)
    work = "float32" if dtype == "float16" else dtype
    x, y = ctx.cast(x, dtype, work), ctx.cast(y, dtype, work)
    chosen = ctx.op.Where(condition, x, y)
    negative = ctx.op.Or(ctx.op.And(condition, sign_bit(ctx, x, work)),
                         ctx.op.And(ctx.op.Not(condition), sign_bit(ctx, y, work)))
    sign = ctx.op.Where(negative, ctx.constant(-1.0, work), ctx.constant(1.0, work))
    return ctx.cast(ctx.op.Mul(ctx.op.Abs(chosen), sign), work, dtype)


def loop(ctx, steps, carried: list[tuple[str, str, int]], step, name: str, *, keep_going=None,
         unroll_up_to: int = 0, fixed_shapes: bool = False) -> list[str]:
    """A Loop of ``steps`` iterations over the ``(name, dtype, ndim)`` values in ``carried`` (ndim None:
    rank unknown, as inside a scalar op's converter); ``step(body, iteration, values)`` returns their
    next values, and ``keep_going(body, next_values)``, if given, a 0-d bool that ends the Loop early
    when False. Returns the final values.

    ``unroll_up_to``: when ``steps`` is known at export time (a constant, static shapes folded) and at
    most this, the steps are written one after another into ``ctx`` with the iteration a constant, and
    no Loop is emitted: onnxruntime's Loop costs more per iteration than a small step's nodes
    (measured in ``docs/speed.md``), and constant iterations fold the step's index arithmetic.

    ``fixed_shapes``: the step keeps every carried value's shape, so a value whose shape is known at
    export time has it inside the body too (its Shape folds: nested loops over it unroll)."""
    known_steps = ctx.constant_value(steps)
    if keep_going is None and known_steps is not None and known_steps.size == 1 \
            and int(known_steps.item()) <= unroll_up_to:
        values = [value for value, _, _ in carried]
        for iteration in range(int(known_steps.item())):
            values = list(step(ctx, ctx.constant(iteration, "int64"), values))
        return values
    body = ctx.subgraph()
    iteration, cond = body.fresh("iteration"), body.fresh("cond_in")
    names = [body.fresh("carried") for _ in carried]
    inputs = [helper.make_tensor_value_info(iteration, TensorProto.INT64, []),
              helper.make_tensor_value_info(cond, TensorProto.BOOL, [])]
    shapes = [ctx.static_shape(value) if fixed_shapes else None for value, _, _ in carried]
    for body_name, shape, (_, d, _) in zip(names, shapes, carried):
        if shape is not None:
            body.static_types[body_name] = (onnx_dtype(d), shape)
    inputs += [helper.make_tensor_value_info(n, onnx_dtype(d), list(shape) if shape is not None else
                                             None if k is None else [None] * k)
               for n, shape, (_, d, k) in zip(names, shapes, carried)]
    updated = step(body, iteration, names)
    going = cond if keep_going is None else keep_going(body, updated)
    graph = make_subgraph(body, ctx.fresh(name), inputs, [going, *updated],
                          [("bool", 0)] + [(d, k) for _, d, k in carried])
    finals = ctx.op.Loop(steps, ctx.constant(True, "bool"), *[value for value, _, _ in carried], body=graph,
                         n_outputs=len(carried))
    return finals if len(carried) > 1 else [finals]
