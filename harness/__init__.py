"""The conformance harness: operation registry, differential engine, benchmark runner and CLI.

Importing `harness` imports `backend`, so every converter is registered.
"""

import backend  # noqa: F401  (registers the converters and the "ONNX" mode)
