"""Hypothesis strategies for shapes, dtypes and values that stress an ONNX exporter."""

from strategies import profiles  # noqa: F401  (registers the dev/ci/nightly profiles)
