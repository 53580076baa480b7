"""Entries for ``backend/scalar_loop.py``: ScalarLoop inside an Elemwise, exported as one ONNX Loop
over whole tensors — a for loop whose number of steps differs per element (Newton's iteration for a
square root) and the same as a while loop that each element leaves when its own condition holds.

To add one: a ``register(...)`` call below whose ``build`` wraps a ``ScalarLoop`` in an Elemwise; the
number of steps is an input drawn small (each element runs that many steps).
"""

from __future__ import annotations

import numpy as np
import pytensor.scalar as ps
from hypothesis import strategies as st
from pytensor.scalar.loop import ScalarLoop
from pytensor.tensor.elemwise import Elemwise

from backend.dtypes import FLOAT_DTYPES
from harness.registry.quirks import FLOAT16_CHAIN, float16_chain_differs
from harness.registry.spec import register


def _newton_step(dtype):
    x, c = ps.get_scalar_type(dtype)(), ps.get_scalar_type(dtype)()
    half = ps.constant(np.asarray(0.5, dtype))
    return x, c, (x + c / x) * half


def _newton_sqrt(steps, x0, c):
    x, c_, update = _newton_step(x0.dtype)
    return Elemwise(ScalarLoop(init=[x], constant=[c_], update=[update]))(steps, x0, c)


def _newton_sqrt_until_exact(steps, x0, c):
    """Stops an element once its iterate squares exactly to c (or after its steps); returns the
    iterate and PyTensor's ``done`` flag."""
    x, c_, update = _newton_step(x0.dtype)
    loop = ScalarLoop(init=[x], constant=[c_], update=[update], until=ps.eq(update * update, c_))
    return Elemwise(loop)(steps, x0, c)


def _float16_newton_in_numpy(steps, x0, c, *, until=False):
    """The loops above stepped in numpy, the iterate rounded to float16 after every step (the Loop
    carries it as float16) whatever precision a step computes in."""
    x = np.asarray(x0).astype(np.float16)
    done = np.zeros(x.shape, bool)
    with np.errstate(all="ignore"):
        for k in range(int(np.max(steps, initial=0))):
            running = (k < steps) & ~done
            new = (x.astype(c.dtype) + c / x) * 0.5  # in the precision the step runs in
            if until:
                done = done | (running & (new * new == c))
            x = np.where(running, new.astype(np.float16), x)
    return np.concatenate([x.ravel(), done.ravel().astype(np.float16)]) if until else x


def _newton_bench_inputs(dtype, size):
    """Eight steps for every element (the timing is of the Loop, not of long runs)."""
    return [np.full(size, 8, np.int64), np.ones(size, dtype), np.linspace(1.0, 100.0, size).astype(dtype)]


def _steps_then_values(dtype):
    return [st.integers(0, 6).map(np.int64), None, None]


for name, build, until in (("scalar_loop_newton_sqrt", _newton_sqrt, False),
                           ("scalar_loop_newton_sqrt_until", _newton_sqrt_until_exact, True)):
    register(name, arity=3, dtypes=FLOAT_DTYPES, build=build, input_dtypes=lambda d: ("int64", d, d),
             elements=_steps_then_values, bench_inputs=_newton_bench_inputs, onnx_ops=("Loop", "Where")).xfail(
        id="float16-chain-in-loop",
        reason=FLOAT16_CHAIN + " (here: within each step of the Loop body)", category="onnxruntime-kernel",
        dtypes=("float16",),
        when=float16_chain_differs(lambda s, x, c, until=until: _float16_newton_in_numpy(s, x, c, until=until)),
    )
