"""Shapes: scalars (rank 0), 0-size dimensions, ranks up to 4, mutually broadcastable tuples.

PyTensor rejects broadcasting it was not told about, so `pytensor_input_shape` turns a drawn shape
into the static type shape of the graph input: a static 1 where the size is 1, unknown elsewhere.
"""

from __future__ import annotations

from typing import NamedTuple

from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


class BroadcastShapes(NamedTuple):
    input_shapes: tuple[tuple[int, ...], ...]
    result_shape: tuple[int, ...]


def _check_bounds(func: str, *, min_dims: int, max_dims: int, min_side: int, max_side: int) -> None:
    if not 0 <= min_dims <= max_dims <= 32:
        raise ValueError(f"{func}: need 0 <= min_dims <= max_dims <= 32, got min_dims={min_dims}, max_dims={max_dims}")
    if not 0 <= min_side <= max_side:
        raise ValueError(f"{func}: need 0 <= min_side <= max_side, got min_side={min_side}, max_side={max_side}")


def broadcastable_shapes(
    *, num_shapes: int, min_dims: int = 0, max_dims: int = 4, min_side: int = 0, max_side: int = 4
) -> st.SearchStrategy[BroadcastShapes]:
    """``num_shapes`` mutually broadcastable shapes, possibly of different ranks, with 0-size dims."""
    if not isinstance(num_shapes, int) or num_shapes < 1:
        raise ValueError(f"broadcastable_shapes: num_shapes must be a positive int, got num_shapes={num_shapes!r}")
    _check_bounds("broadcastable_shapes", min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    ).map(lambda s: BroadcastShapes(tuple(s.input_shapes), tuple(s.result_shape)))


def fixed_target_shapes(
    *, num_shapes: int, target: tuple[int, ...]
) -> st.SearchStrategy[BroadcastShapes]:
    """Shapes that each broadcast to ``target`` (for ops such as Alloc with a fixed output shape)."""
    if not all(isinstance(s, int) and s >= 0 for s in target):
        raise ValueError(f"fixed_target_shapes: target must be a tuple of sizes >= 0, got target={target!r}")
    one = hnp.broadcastable_shapes(tuple(target), min_dims=0, max_dims=len(target), min_side=1)
    return st.tuples(*[one] * num_shapes).map(lambda shapes: BroadcastShapes(tuple(shapes), tuple(target)))


def pytensor_input_shape(shape: tuple[int, ...]) -> tuple[int | None, ...]:
    """Static type shape for a graph input that will receive arrays of ``shape``."""
    return tuple(1 if size == 1 else None for size in shape)


def few_signature_shapes(*, num_shapes: int, max_side: int = 16) -> st.SearchStrategy[BroadcastShapes]:
    """Broadcastable shapes in three patterns, for ops whose every new static input shape exports and
    loads a large graph (Loop compositions): every input a vector (n,) with n from 0 (empty) to
    ``max_side``; every input a scalar; or an outer broadcast, the first (n, 1) against (m,) for the
    rest, n and m >= 2. A cell then compiles about three graphs, and its examples go to values
    (vectors up to ``max_side`` long) rather than to shapes, which the ops with small graphs cover."""
    if not isinstance(num_shapes, int) or num_shapes < 1:
        raise ValueError(f"few_signature_shapes: num_shapes must be a positive int, got num_shapes={num_shapes!r}")
    if not isinstance(max_side, int) or max_side < 2:
        raise ValueError(f"few_signature_shapes: max_side must be an int >= 2, got max_side={max_side!r}")
    vectors = st.integers(0, max_side).map(lambda n: BroadcastShapes(((n,),) * num_shapes, (n,)))
    scalars = st.just(BroadcastShapes(((),) * num_shapes, ()))
    outer = st.tuples(st.integers(2, max_side), st.integers(2, max_side)).map(
        lambda nm: BroadcastShapes(((nm[0], 1),) + ((nm[1],),) * (num_shapes - 1),
                                   (nm[0], nm[1]) if num_shapes > 1 else (nm[0], 1)))
    return st.one_of(vectors, scalars, outer)


def matmul_shapes(*, max_side: int = 4) -> st.SearchStrategy[BroadcastShapes]:
    """Operand shapes for numpy's dot with 1-d or 2-d operands: (n, k) or (k,) times (k, m) or (k,)."""
    if not isinstance(max_side, int) or max_side < 0:
        raise ValueError(f"matmul_shapes: max_side must be an int >= 0, got max_side={max_side!r}")

    @st.composite
    def draw(draw_):
        n, k, m = (draw_(st.integers(0, max_side)) for _ in range(3))
        a = draw_(st.sampled_from([(n, k), (k,)]))
        b = draw_(st.sampled_from([(k, m), (k,)]))
        result = a[:-1] + b[1:]
        return BroadcastShapes((a, b), result)

    return draw()


def concatenable_shapes(*, num_shapes: int = 2, max_dims: int = 3, max_side: int = 4) -> st.SearchStrategy[BroadcastShapes]:
    """Shapes that differ only in their first dimension (for concatenation along axis 0)."""
    if num_shapes < 1 or not 1 <= max_dims <= 32:
        raise ValueError(f"concatenable_shapes: need num_shapes >= 1 and 1 <= max_dims <= 32, got "
                         f"num_shapes={num_shapes!r}, max_dims={max_dims!r}")

    @st.composite
    def draw(draw_):
        rest = draw_(hnp.array_shapes(min_dims=0, max_dims=max_dims - 1, min_side=0, max_side=max_side))
        firsts = [draw_(st.integers(0, max_side)) for _ in range(num_shapes)]
        shapes = tuple((f, *rest) for f in firsts)
        return BroadcastShapes(shapes, (sum(firsts), *rest))

    return draw()


def matmul_batch_shapes(*, max_batch_dims: int = 2, max_side: int = 3) -> st.SearchStrategy[BroadcastShapes]:
    """Operand shapes for numpy's matmul: matrices or vectors (``(n?,k),(k,m?)``) with up to
    ``max_batch_dims`` batch dimensions that broadcast against each other, sizes 0..``max_side``
    (empty batches and empty contractions included)."""
    if not isinstance(max_batch_dims, int) or max_batch_dims < 0 or not isinstance(max_side, int) or max_side < 1:
        raise ValueError(f"matmul_batch_shapes: need max_batch_dims >= 0 and max_side >= 1, got "
                         f"max_batch_dims={max_batch_dims!r}, max_side={max_side!r}")
    return hnp.mutually_broadcastable_shapes(
        signature="(n?,k),(k,m?)->(n?,m?)", max_dims=max_batch_dims, min_side=0, max_side=max_side
    ).map(lambda s: BroadcastShapes(tuple(s.input_shapes), tuple(s.result_shape)))


def template_shapes(*templates: str, sizes: dict[str, tuple[int, int]]) -> st.SearchStrategy[BroadcastShapes]:
    """Shapes of several inputs whose dimensions are tied by name: ``template_shapes("n,n", "n",
    "T,n", sizes={"T": (0, 6), "n": (1, 3)})`` draws each named size once in its range and gives
    each input its shape (``""`` is a scalar; a digit is a fixed size). For graphs whose inputs
    must agree (a recurrence's weights, state and sequence); the result shape is that of the
    first input."""
    parsed = []
    for template in templates:
        dims = tuple(d.strip() for d in template.split(",")) if template.strip() else ()
        for d in dims:
            if not (d.isdigit() or d in sizes):
                raise ValueError(f"template_shapes: dimension {d!r} of template {template!r} is neither a size "
                                 f"nor one of the named sizes {sorted(sizes)}")
        parsed.append(dims)
    for name, bounds in sizes.items():
        if not (isinstance(bounds, tuple) and len(bounds) == 2 and 0 <= bounds[0] <= bounds[1]):
            raise ValueError(f"template_shapes: size {name!r} needs bounds (low, high) with 0 <= low <= high, "
                             f"got {bounds!r}")
    names = sorted(sizes)

    def shapes(drawn: tuple[int, ...]) -> BroadcastShapes:
        value = dict(zip(names, drawn))
        inputs = tuple(tuple(int(d) if d.isdigit() else value[d] for d in dims) for dims in parsed)
        return BroadcastShapes(inputs, inputs[0] if inputs else ())

    return st.tuples(*(st.integers(*sizes[name]) for name in names)).map(shapes)
