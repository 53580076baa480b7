"""Fields of the records the harness writes and the reports read, beyond the statuses.

To add a speed backend: its name here when it is one of PyTensor's (the speed report's
``ratio_to_best_pytensor`` takes the fastest of these).
"""

PYTENSOR_BACKENDS = ("py", "c", "numba", "pymc_default")
"""The speed records' backends that are PyTensor's own (the others are onnxruntime's)."""
