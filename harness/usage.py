"""Command-line input and its checks, shared by the subcommands of ``python -m harness``: `UsageError`
(exit status 2, raised before any work starts) and the parsers of comma lists, shards, opsets, output
directories and plugins.

To extend: a checker for a new kind of option raises `UsageError` saying what is valid.
"""

from __future__ import annotations

import difflib
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from common.files import DataFileError

DEFAULT_OUT = "conformance-report"


class UsageError(Exception):
    """Bad command-line input; the message says what is valid. Exit status 2."""


class Terminated(Exception):
    """SIGTERM arrived (a CI job cancelled, ``kill``); `harness.cli` raises it in the main thread so that
    every ``finally`` runs and the worker processes end with the command."""


USER_ERRORS = (UsageError, DataFileError)
"""What the command line reports in one line with exit status 2: bad input, unreadable data files."""


def check_output_file(option: str, value: str | None) -> Path | None:
    """A file an option names for writing: its directory must exist and it must not be a directory."""
    if value is None:
        return None
    path = Path(value)
    if path.is_dir():
        raise UsageError(f"{option} {value} is a directory; give a file name, e.g. {option} results.xml")
    if not path.resolve().parent.is_dir():
        raise UsageError(f"{option} {value}: directory {path.parent} does not exist; create it first")
    return path


def split_list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def select(kind: str, requested: list[str] | None, valid: list[str]) -> list[str]:
    if requested is None:
        return list(valid)
    unknown = [r for r in requested if r not in valid]
    if unknown:
        raise UsageError("; ".join(f"unknown {kind} {name!r}{did_you_mean(name, valid)}" for name in unknown)
                         + (" (`python -m harness list` prints them all)" if kind == "op" else
                            f"; valid {kind}s: {', '.join(valid)}"))
    return requested


def did_you_mean(name: str, valid: list[str]) -> str:
    """``": did you mean a, b?"`` naming the closest valid names, or "" when none is close."""
    close = difflib.get_close_matches(name, valid, n=3, cutoff=0.6)
    return f": did you mean {', '.join(close)}?" if close else ""


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


def positive_seconds(option: str, value: float) -> float:
    """A duration option: finite and > 0 (``nan`` would switch a timeout off, ``inf`` never end)."""
    if not (math.isfinite(value) and value > 0):
        raise UsageError(f"{option} must be a finite number of seconds > 0, got {value!r}")
    return value


def check_out_dir(out: Path, option: str = "--out") -> Path:
    """An output directory that can be used: not inside the project's packages, not a file, created if
    missing and writable (probed with a temporary file), all before any work starts."""
    out = Path(out)
    packages = {Path(__file__).resolve().parent.parent / p for p in ("backend", "common", "harness", "strategies", "reports")}
    resolved = out.resolve()
    if any(resolved == p or p in resolved.parents for p in packages):
        raise UsageError(f"{option} {out} is inside the project's packages; choose a directory outside them")
    if out.exists() and not out.is_dir():
        raise UsageError(f"{option} {out} is a file, not a directory; choose a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise UsageError(f"{option} {out} cannot be written ({exc.strerror or exc}); choose a writable directory") from None
    return out


def check_history_file(path: Path) -> Path:
    """``--history``: a file that can be appended to (created empty if missing), checked up front."""
    path = Path(path)
    if path.exists() and not path.is_file():
        raise UsageError(f"--history {path} is not a file; give the path of a .jsonl file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8"):
            pass
        if not os.access(path, os.W_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        raise UsageError(f"--history {path} cannot be written ({exc.strerror or exc}); choose a writable file") from None
    return path


@contextmanager
def exclusive(out: Path, command: str):
    """Hold ``out``'s lock while ``command`` writes into it; a second command on it is a usage error."""
    from common.files import DirectoryLock, DirectoryLocked

    try:
        with DirectoryLock(out):
            yield
    except DirectoryLocked as exc:
        raise UsageError(f"{exc}: another `harness {command}` is writing there; wait for it to end or choose "
                         "another --out") from None


def load_plugins_or_exit(names, *, check=False) -> list[str]:
    """Import the plugins (and with ``check`` build each entry they add); what fails is a usage error
    naming the plugin or entry."""
    from harness.plugins import PluginError, load_plugins
    from harness.registry import RegistryError

    try:
        return load_plugins(names, check=check)
    except (PluginError, RegistryError) as exc:
        raise UsageError(f"plugin: {exc}") from None
