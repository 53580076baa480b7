"""Command-line input and its checks, shared by the subcommands of ``python -m harness``: `UsageError`
(exit status 2, raised before any work starts) and the parsers of comma lists, shards, opsets, output
directories and plugins.

To extend: a checker for a new kind of option raises `UsageError` saying what is valid.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_OUT = "conformance-report"


class UsageError(Exception):
    """Bad command-line input; the message says what is valid. Exit status 2."""


def split_list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def select(kind: str, requested: list[str] | None, valid: list[str]) -> list[str]:
    if requested is None:
        return list(valid)
    unknown = [r for r in requested if r not in valid]
    if unknown:
        raise UsageError(f"unknown {kind} {', '.join(unknown)}; valid {kind}s: {', '.join(valid)}")
    return requested


def parse_shard(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        k, n = (int(p) for p in value.split("/"))
    except ValueError:
        raise UsageError(f"--shard must look like K/N (e.g. 0/4), got {value!r}") from None
    if not 0 <= k < n:
        raise UsageError(f"--shard K/N numbers shards from 0: it needs 0 <= K < N, got {value!r}")
    return k, n


def parse_opsets(value: str | None) -> list[int]:
    """``--opset``: integers and ``max`` (the newest the installed onnx and onnxruntime both accept)."""
    from backend import ONNX_OPSET_VERSION
    from backend.basic import check_opset_version, max_supported_opset

    if value is None:
        return [ONNX_OPSET_VERSION]
    try:
        opsets = [max_supported_opset() if v == "max" else int(v) for v in split_list(value)]
    except ValueError:
        raise UsageError(f"--opset takes integers or `max` separated by commas, got {value!r}") from None
    for opset in opsets:
        try:
            check_opset_version(opset)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    return sorted(set(opsets))


def check_out_dir(out: Path) -> Path:
    packages = {Path(__file__).resolve().parent.parent / p for p in ("backend", "common", "harness", "strategies", "reports")}
    resolved = out.resolve()
    if any(resolved == p or p in resolved.parents for p in packages):
        raise UsageError(f"--out {out} is inside the project's packages; choose a directory outside them")
    return out


def load_plugins_or_exit(names, *, check=False) -> list[str]:
    from harness.plugins import load_plugins
    from harness.registry import RegistryError

    try:
        return load_plugins(names, check=check)
    except (ImportError, RegistryError) as exc:
        raise UsageError(f"plugin: {exc}") from None
