"""Atomic file writes, shared by the exporter (models), the harness (reproducers) and the reports:
a reader never sees a half-written file, and an interrupted write leaves the old file in place."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def atomic_write(path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp)`` on a temporary path beside ``path``, then rename it over ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_text(path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
