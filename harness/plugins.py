"""Extension modules: ``--plugin MODULE`` or $ONNX_CONFORMANCE_PLUGINS (comma separated) name modules
that register extra converters and registry entries. They are imported in the parent and in every
worker before the registry is read, and reproducer scripts import them again.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable

from harness.registry import ONNX_OPERATIONS
from harness.registry.completeness import check_registry

PLUGINS_ENV = "ONNX_CONFORMANCE_PLUGINS"


class PluginError(ImportError):
    """A plugin that cannot be imported: missing, a syntax error, or raising while it is imported."""


def plugin_names(names: Iterable[str] = ()) -> list[str]:
    """The plugins to load: those in $ONNX_CONFORMANCE_PLUGINS, then ``names``, without repeats."""
    env = [n.strip() for n in os.environ.get(PLUGINS_ENV, "").split(",") if n.strip()]
    return list(dict.fromkeys([*env, *(n.strip() for n in names if n.strip())]))


def load_plugins(names: Iterable[str] = (), *, check: bool = False) -> list[str]:
    """Import the plugins (`plugin_names`); with ``check``, run the completeness check on the entries
    they added, so that an entry without a converter is an error before any cell runs."""
    before = set(ONNX_OPERATIONS)
    loaded = plugin_names(names)
    for name in loaded:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not (name == exc.name or name.startswith(exc.name + ".")):
                raise PluginError(f"plugin {name!r} failed while it was imported: {exc}") from exc
            raise PluginError(f"plugin {name!r} cannot be found ({exc}); put its folder on PYTHONPATH "
                              f"or drop it from --plugin / ${PLUGINS_ENV}") from exc
        except SyntaxError as exc:
            raise PluginError(f"plugin {name!r} has a syntax error at {exc.filename}, line {exc.lineno}: "
                              f"{exc.msg}") from exc
        except Exception as exc:  # the plugin's own code raised: name it and where, without a traceback
            raise PluginError(f"plugin {name!r} raised {type(exc).__name__} while it was imported{_where(exc)}: "
                              f"{exc}") from exc
    added = [name for name in ONNX_OPERATIONS if name not in before]
    if check and added:
        check_registry(added)
    return loaded


def _where(exc: BaseException) -> str:
    """`` at FILE, line N``: the innermost frame of the exception's traceback."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    return f" at {frames[-1].filename}, line {frames[-1].lineno}" if frames else ""
