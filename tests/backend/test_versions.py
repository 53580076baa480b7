"""backend/versions.py: the supported PyTensor range is checked first, with one clear error."""

import subprocess
import sys
from pathlib import Path

import pytest

from backend import versions
from backend.versions import SUPPORTED_PYTENSOR, UnsupportedPyTensorError, require_supported_pytensor

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("installed", ["2.37.9", "3.4.0", "4.0.0.dev1"])
def test_a_pytensor_outside_the_range_is_one_error_naming_both_versions(monkeypatch, installed):
    monkeypatch.setattr(versions, "version", lambda name: installed)
    with pytest.raises(UnsupportedPyTensorError) as raised:
        require_supported_pytensor()
    message = str(raised.value)
    assert f"pytensor {installed} is installed" in message and "PyTensor 2.38 through 3.3.x" in message
    assert raised.value.name == "pytensor"


@pytest.mark.parametrize("installed, release", [("2.38.3", (2, 38)), ("3.0.7", (3, 0)), ("3.3.8", (3, 3)),
                                                ("3.3.10rc1", (3, 3))])
def test_supported_releases_pass(monkeypatch, installed, release):
    monkeypatch.setattr(versions, "version", lambda name: installed)
    assert require_supported_pytensor() == release
    assert SUPPORTED_PYTENSOR[0] <= release <= SUPPORTED_PYTENSOR[1]


def test_import_and_the_command_line_refuse_an_unsupported_pytensor_with_exit_2():
    """In a fresh interpreter whose package metadata reports pytensor 3.4.0: ``import backend`` raises
    the one error, and ``python -m harness run`` exits 2 with it before any work."""
    fake = ("import importlib.metadata as m; real = m.version; "
            "m.version = lambda name: '3.4.0' if name == 'pytensor' else real(name); ")
    imported = subprocess.run([sys.executable, "-c", fake + "import backend"], cwd=ROOT, capture_output=True,
                              text=True, timeout=300)
    assert imported.returncode == 1
    assert "UnsupportedPyTensorError: pytensor 3.4.0 is installed" in imported.stderr
    ran = subprocess.run([sys.executable, "-c", fake + "import sys; from harness.cli import main; "
                          "sys.exit(main(['run', '--ops', 'exp', '--out', 'never-written']))"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 2, ran.stderr[-2000:]
    assert ran.stderr.startswith("error: pytensor 3.4.0 is installed") and not (ROOT / "never-written").exists()
