"""The cell protocol: what the runner does with any cell of the matrix, whatever kind it is. A cell
`run`s to an `engine.CellResult` whose status is a `common.status.Status`, `describe`s its
counterexample as text for the record, and `write_reproducer`s a script for it.

Two kinds implement it: `OpDtypeCell` (one entry at one dtype, `engine.run_cell`) and `MixedCell`
(the ``mixed`` column: one-node graphs on inputs of different dtypes, `promotion.run_promotion_cell`).
To add a kind of cell: a class with these three methods, returned by `cell_for` for its column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from backend.dtypes import MIXED_DTYPES
from common.files import safe_stem
from harness.conformance.engine import CellResult, run_cell
from harness.registry import OpSpec


class Cell(Protocol):
    def run(self, *, hypothesis_settings, opset: int, seed: int | None) -> CellResult: ...

    def describe(self, counterexample) -> str: ...

    def write_reproducer(self, out_dir: Path, counterexample, *, opset: int, plugins) -> str: ...


def _array_text(value) -> str:
    return np.array2string(np.asarray(value), separator=", ")


@dataclass(frozen=True)
class OpDtypeCell:
    """One registry entry at one dtype; its counterexample is an `strategies.values.ArrayExample`."""

    spec: OpSpec
    dtype: str

    def run(self, *, hypothesis_settings, opset: int, seed: int | None) -> CellResult:
        return run_cell(self.spec, self.dtype, hypothesis_settings=hypothesis_settings, opset=opset, seed=seed)

    def describe(self, example) -> str:
        with np.printoptions(precision=17, threshold=40):
            parts = [f"x{i}: {_array_text(a)} ({a.dtype}, shape {a.shape}"
                     f"{', a graph constant' if i in example.constants else ''})" for i, a in enumerate(example.arrays)]
        if example.params:
            parts.append("params: " + ", ".join(f"{k}={v!r}" for k, v in example.params))
        return "; ".join(parts)

    def write_reproducer(self, out_dir: Path, example, *, opset: int, plugins) -> str:
        from harness.conformance.reproducer import write_reproducer

        return write_reproducer(out_dir, self.spec, self.dtype, opset, example, plugins=plugins)


@dataclass(frozen=True)
class MixedCell:
    """The ``mixed`` column of an entry; its counterexample is a `harness.fuzz.programs.Program`."""

    spec: OpSpec

    def run(self, *, hypothesis_settings, opset: int, seed: int | None) -> CellResult:
        from harness.conformance.promotion import run_promotion_cell

        return run_promotion_cell(self.spec, hypothesis_settings=hypothesis_settings, opset=opset, seed=seed)

    def describe(self, program) -> str:
        with np.printoptions(precision=17, threshold=40):
            return "; ".join(f"{name}: {_array_text(v)} ({dtype}, shape {shape})"
                             for (name, dtype, shape), v in zip(program.inputs, program.values))

    def write_reproducer(self, out_dir: Path, program, *, opset: int, plugins) -> str:
        from harness.fuzz.reproducer import write_fuzz_reproducer

        return write_fuzz_reproducer(out_dir, safe_stem(self.spec.name, MIXED_DTYPES, f"opset{opset}"), program, "mixed dtypes",
                                     plugins=plugins, strict=True, opset=opset)


def cell_for(spec: OpSpec, dtype: str) -> Cell:
    """The cell of ``spec`` in the matrix's ``dtype`` column."""
    return MixedCell(spec) if dtype == MIXED_DTYPES else OpDtypeCell(spec, dtype)
