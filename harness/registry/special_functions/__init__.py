"""Entries for ``backend/special_functions/`` and the special functions statistical log-densities use,
one module per family as in the backend (`gamma`, `erf`, `bessel`, `zeta`, `incomplete_gamma`,
`incomplete_beta`; `elements` holds the value strategies they share). Each bound is the measured
accuracy of the composition against scipy (and mpmath where scipy is the less accurate side), with the
measurement in a comment beside the entry; scipy's own accidents are declared ``pytensor``.

To add one: a ``register(...)`` call in the family's module (or a new module imported below); a
composition that cancels gets an ``error_scale``, and one whose graph is large (a Loop, or ~1,000
nodes or more) ``shapes=large_graph_shapes(arity)`` and ``ci_example_share=LARGE_GRAPH_CI_SHARE``.
"""

from harness.registry.special_functions import (  # noqa: F401  (registration happens on import)
    bessel,
    erf,
    gamma,
    incomplete_beta,
    incomplete_gamma,
    zeta,
)
