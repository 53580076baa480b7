"""The conformance harness: operation registry, differential engine, benchmark runner and CLI.

Importing `harness` alone loads nothing else, so that ``python -m harness`` can report a missing or
unsupported PyTensor as a usage error; every module that converts imports `backend` (which registers
every converter and the "ONNX" mode) itself.
"""
