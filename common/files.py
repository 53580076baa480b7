"""Files the harness writes and reads back, shared by the exporter (models), the harness (results,
journals, reproducers) and the reports:

- atomic writes: a reader never sees a half-written file, and an interrupted write leaves the old one;
- JSON-lines files read against a schema (`common.records`): a line that is cut short, not an
  object or not of the file's kind is skipped with a warning naming the file and the line;
- `safe_stem`: file names derived from data (op names, dtypes) that stay inside their folder;
- `DataFileError`: a file that cannot be read at all (a directory, unreadable), for the CLI's exit 2.

To read a new kind of file: give its schema in `common.records` and pass it to `read_json_lines`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path


class DataFileError(Exception):
    """A data file the user pointed at cannot be read (it is a directory, or unreadable)."""


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


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def read_json_lines(path, schema: dict | None = None, *, on_skip: Callable[[str], object] = warn) -> list[dict]:
    """The JSON objects of a JSON-lines file, one per line, in order ([] when there is no file). A line
    that is not JSON (cut short by an interrupted write), not an object or, given ``schema``, not valid
    against it is skipped: ``on_skip`` gets a message naming the file, the line and what is wrong."""
    path = Path(path)
    if not path.exists():
        return []
    if not path.is_file():
        raise DataFileError(f"{path} is not a file; it should hold one JSON record per line")
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise DataFileError(f"{path} cannot be read: {exc.strerror or exc}") from None
    validator = None
    if schema is not None:
        from jsonschema import Draft202012Validator

        validator = Draft202012Validator(schema)
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            on_skip(f"{path} line {number} skipped: not JSON (cut short by an interrupted write?)")
            continue
        if validator is not None:
            from jsonschema.exceptions import best_match

            error = best_match(validator.iter_errors(entry))
            if error is not None:
                where = "/".join(str(p) for p in error.absolute_path) or "the line"
                on_skip(f"{path} line {number} skipped: {where}: {_short(error.message)}")
                continue
        entries.append(entry)
    return entries


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def append_json_line(path, entry: dict, *, default=None) -> None:
    """Append ``entry`` as one line, flushed to disk; after half a line left by an interrupted write,
    on a fresh line (the reader skips the broken one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    needs_newline = path.exists() and path.stat().st_size > 0 and path.read_bytes()[-1:] != b"\n"
    with open(path, "a", encoding="utf-8") as f:
        f.write(("\n" if needs_newline else "") + json.dumps(entry, default=default) + "\n")
        f.flush()
        os.fsync(f.fileno())


_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]+")


def safe_stem(*parts) -> str:
    """A file name stem for data-derived ``parts`` (op, dtype, ...): their readable slug (letters,
    digits and ``_.+-`` only, so no ``/``, ``..``, ``:`` or quotes; at most 60 characters) and a short
    hash of the exact parts, so that names differing only in what the slug drops stay apart."""
    text = "\x1f".join(str(p) for p in parts)
    slug = _UNSAFE.sub("_", "-".join(str(p) for p in parts)).strip("._-")[:60] or "x"
    return f"{slug}-{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


class DirectoryLocked(Exception):
    """Another process holds the lock of an output directory."""


class DirectoryLock:
    """An exclusive lock on an output directory (``DIR/.lock``, held with ``flock`` and released when
    the process ends, even when it is killed), so that two runs never write into one directory."""

    def __init__(self, directory):
        self.path = Path(directory) / ".lock"
        self._file = None

    def __enter__(self) -> DirectoryLock:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise DirectoryLocked(f"{self.path.parent} is in use by {holder}") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        self._file = handle
        return self

    def __exit__(self, *exc) -> None:
        if self._file is not None:
            self._file.close()  # closing releases the flock
            self._file = None


class NativeOutput:
    """What `captured_native_output` caught: ``text``, at most `NATIVE_OUTPUT_LIMIT` characters."""

    text: str = ""


NATIVE_OUTPUT_LIMIT = 2000


@contextlib.contextmanager
def captured_native_output():
    """Redirect file descriptors 1 and 2, where native libraries write (LAPACK's "** On entry to SGEQRF
    parameter number 4 had an illegal value" goes to standard output, onnxruntime's warnings to
    standard error), to a temporary file for the block; yields a `NativeOutput` whose ``text`` holds
    it afterwards (undecodable bytes replaced, the start kept when it is long)."""
    import tempfile

    captured = NativeOutput()
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    with tempfile.TemporaryFile() as sink:
        for fd in saved:
            os.dup2(sink.fileno(), fd)
        try:
            yield captured
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)
            sink.seek(0)
            text = sink.read(NATIVE_OUTPUT_LIMIT * 4).decode("utf-8", errors="replace")
            captured.text = text if len(text) <= NATIVE_OUTPUT_LIMIT else text[:NATIVE_OUTPUT_LIMIT] + " [...]"
