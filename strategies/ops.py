"""Inputs for one op: shapes drawn together (broadcastable), then one array per input.

``params`` (a function of the drawn input shapes returning a strategy of keyword arguments, e.g.
`axis_params`) draws op parameters together with the inputs. `op_inputs` is what the registry uses
by default; `edge_case_inputs` forces the corners (empty
arrays, rank 0, only special values); `special_value_grid` is one fixed example holding every pair of
special values. Registry entries may pass their own ``shapes`` or per-input
``elements`` strategies (e.g. non-negative integer exponents for ``pow``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hypothesis import strategies as st

from backend.dtypes import ALL_DTYPES
from strategies.shapes import BroadcastShapes, broadcastable_shapes
from strategies.values import ArrayExample, array_values, special_values


def _validate(func: str, dtypes: Sequence[str], elements) -> None:
    if not dtypes or any(d not in ALL_DTYPES for d in dtypes):
        raise ValueError(f"{func}: dtypes must be non-empty names from {ALL_DTYPES}, got dtypes={dtypes!r}")
    if elements is not None and len(elements) != len(dtypes):
        raise ValueError(
            f"{func}: need one elements strategy per input, got {len(elements)} for dtypes={dtypes!r}"
        )


@st.composite
def _inputs(draw, dtypes, shapes, elements, params):
    drawn: BroadcastShapes = draw(shapes)
    arrays = tuple(
        draw(array_values(dtype=d, shape=s, elements=None if elements is None else elements[i]))
        for i, (d, s) in enumerate(zip(dtypes, drawn.input_shapes, strict=True))
    )
    drawn_params = () if params is None else tuple(sorted(draw(params(drawn.input_shapes)).items()))
    return ArrayExample(arrays, tuple(drawn.input_shapes), tuple(dtypes), drawn_params)


def op_inputs(
    *,
    dtypes: Sequence[str],
    shapes: st.SearchStrategy[BroadcastShapes] | None = None,
    elements: Sequence[st.SearchStrategy] | None = None,
    params=None,
    max_dims: int = 4,
    max_side: int = 4,
) -> st.SearchStrategy[ArrayExample]:
    """One array per entry of ``dtypes``, with mutually broadcastable shapes (ranks may differ)."""
    dtypes = tuple(dtypes)
    _validate("op_inputs", dtypes, elements)
    if shapes is None:
        nonempty = broadcastable_shapes(num_shapes=len(dtypes), max_dims=max_dims, min_side=1, max_side=max_side)
        with_empty = broadcastable_shapes(num_shapes=len(dtypes), max_dims=max_dims, max_side=max_side)
        # 0-size dims would otherwise empty most multi-dim examples; edge_case_inputs stresses them.
        shapes = st.one_of(nonempty, nonempty, nonempty, with_empty)
    return _inputs(dtypes, shapes, elements, params)


def edge_case_inputs(
    *,
    dtypes: Sequence[str],
    shapes: st.SearchStrategy[BroadcastShapes] | None = None,
    elements: Sequence[st.SearchStrategy] | None = None,
    params=None,
) -> st.SearchStrategy[ArrayExample]:
    """Corners only: rank-0 or size-0 or size-1 shapes, elements from the special values; an input
    with its own ``elements`` keeps them (they are the op's domain: a step count, a bounded weight)."""
    dtypes = tuple(dtypes)
    _validate("edge_case_inputs", dtypes, elements)
    if shapes is None:
        tiny = broadcastable_shapes(num_shapes=len(dtypes), max_dims=3, max_side=1)  # 0-size and 1
        scalars = st.just(BroadcastShapes(((),) * len(dtypes), ()))
        shapes = st.one_of(scalars, tiny, broadcastable_shapes(num_shapes=len(dtypes), max_dims=2, max_side=6))
    if elements is None:
        elements = [st.sampled_from(special_values(d)) for d in dtypes]
    else:
        elements = [e if e is not None else st.sampled_from(special_values(d)) for e, d in zip(elements, dtypes)]
    return _inputs(dtypes, shapes, elements, params)


def axis_params(*, keepdims: bool = True, multiple: bool = True, allow_none: bool = True):
    """``params`` for reductions: axis None, one axis (also negative) or several, and keepdims."""

    def for_shapes(input_shapes):
        ndim = len(input_shapes[0])
        choices = []
        if allow_none:
            choices.append(st.just(None))
        if ndim:
            one = st.integers(-ndim, ndim - 1)
            choices.append(one)
            if multiple:
                choices.append(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True)
                               .map(lambda axes: tuple(sorted(axes))))
        if not choices:
            raise ValueError(f"axis_params(allow_none={allow_none}): rank-0 inputs need allow_none=True")
        fields = {"axis": st.one_of(*choices)}
        if keepdims:
            fields["keepdims"] = st.booleans()
        return st.fixed_dictionaries(fields)

    return for_shapes


def special_value_grid(*, dtypes: Sequence[str], held: Sequence[object | None] | None = None) -> ArrayExample:
    """One deterministic example holding every pair of the dtypes' special values: for each pair of
    operands, the cross product of their special values (the others cycle through theirs), as 1-d
    arrays of one length. ``held[i]``, where given, is the only value operand ``i`` takes (an operand
    with a domain of its own: a step count, an integer exponent)."""
    dtypes = tuple(dtypes)
    _validate("special_value_grid", dtypes, None)
    held = tuple(held) if held is not None else (None,) * len(dtypes)
    if len(held) != len(dtypes):
        raise ValueError(f"special_value_grid: need one held value (or None) per dtype, got held={held!r}")
    values = [special_values(d) if h is None else (h,) for d, h in zip(dtypes, held)]
    if len(dtypes) == 1:
        columns = [list(values[0])]
    else:
        columns = [[] for _ in dtypes]
        for i in range(len(dtypes)):
            for j in range(i + 1, len(dtypes)):
                for a in values[i]:
                    for b in values[j]:
                        for k in range(len(dtypes)):
                            column = values[k]
                            columns[k].append(a if k == i else b if k == j else column[len(columns[k]) % len(column)])
    arrays = tuple(np.array(column, dtype=d) for column, d in zip(columns, dtypes))
    return ArrayExample(arrays, tuple(a.shape for a in arrays), dtypes)
