"""The installed PyTensor and onnxruntime releases, read from their package metadata (neither is
imported here), and the PyTensor releases this project supports.

`require_supported_pytensor` runs first when ``backend`` is imported: a PyTensor outside
`SUPPORTED_PYTENSOR` is one clear error naming both versions, not an ImportError from deep inside a
converter module. To support a newer PyTensor: raise the upper bound here and in pyproject.toml
together, after the ``current`` tox env passes.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

SUPPORTED_PYTENSOR = ((2, 38), (3, 3))
"""The oldest and newest (major, minor) PyTensor releases this project supports, both included."""


class UnsupportedPyTensorError(ImportError):
    """The installed PyTensor is missing or outside `SUPPORTED_PYTENSOR` (``name`` is ``"pytensor"``)."""


def release(distribution: str) -> tuple[int, int]:
    """(major, minor) of an installed distribution."""
    major, minor = (version(distribution).split(".") + ["0"])[:2]
    return int(major), int("".join(c for c in minor if c.isdigit()) or 0)


def _supported_range() -> str:
    (old_major, old_minor), (new_major, new_minor) = SUPPORTED_PYTENSOR
    return f"PyTensor {old_major}.{old_minor} through {new_major}.{new_minor}.x"


def require_supported_pytensor() -> tuple[int, int]:
    """The installed PyTensor's (major, minor); raises `UnsupportedPyTensorError` outside the range."""
    try:
        installed = version("pytensor")
    except PackageNotFoundError:
        raise UnsupportedPyTensorError(
            f"PyTensor is not installed; this project supports {_supported_range()}: "
            "pip install -e '.' in the checkout installs one", name="pytensor") from None
    found = release("pytensor")
    if not SUPPORTED_PYTENSOR[0] <= found <= SUPPORTED_PYTENSOR[1]:
        (_, _), (new_major, new_minor) = SUPPORTED_PYTENSOR
        raise UnsupportedPyTensorError(
            f"pytensor {installed} is installed, but this project supports {_supported_range()}: "
            f"pip install 'pytensor>=2.38.3,<{new_major}.{new_minor + 1}' "
            "(PyTensor 3.2 and later need Python 3.12 or newer)", name="pytensor")
    return found


PYTENSOR_VERSION = require_supported_pytensor()
"""(major, minor) of the installed PyTensor, for declarations that hold on some versions only."""

ONNXRUNTIME_VERSION = release("onnxruntime")
"""(major, minor) of the installed onnxruntime, for kernels and declarations that differ between
releases."""
