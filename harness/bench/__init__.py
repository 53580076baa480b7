"""The speed report (``harness bench``): timing and the backends (`timing`), the real graphs it times
(`graphs`), and the speed matrix of registry ops and models (`runner`).

To extend: a new real graph in `graphs`; a new backend in `timing.compile_backend`.
"""
