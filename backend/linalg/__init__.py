"""Linear algebra (``pytensor.tensor.linalg``, or ``slinalg`` / ``nlinalg`` before 3.0) as compositions
of standard ONNX ops. ONNX has ``Det`` and nothing else of LAPACK, so the factorizations are written
out as ``Loop``s that carry whole matrices and update one column or row per step with masked
``Where``/``MatMul``, the algorithms LAPACK's unblocked routines run. One module per method:
`solve` (Cholesky, triangular and LU solves, inverse, determinants), `jacobi` (eigenvalues and
vectors, singular values, pinv), `svd` (with vectors), `qr`, `expm`, `lu` (LU, lu_factor, lu_solve's pivots), `constructors` (block_diag), `matrix_equations` (Sylvester, Lyapunov and discrete Riccati equations), `tridiagonal` (gttrf, gttrs), `schur` (the real Schur form and QZ); `declined` names the ops the exporter refuses, with the reason.

Every converter here treats leading dimensions as batch dimensions (broadcasting like numpy), so
their Blockwise versions use them as they are (`backend.blockwise.BATCH_POLYMORPHIC` reads
`LINALG_OPS`). The rounding differs from LAPACK's (different summation order, division instead of
multiplying by a reciprocal): the registry's bounds say by how much.

To extend: compose another factorization from `backend.helpers.loop` and the masked updates of
`backend.linalg.helpers`, in the module of its method (or a new one imported below), and add its op
to `LINALG_OPS` when it batches.
"""

from backend.compat import (
    LU,
    QR,
    QZ,
    SVD,
    Cholesky,
    CholeskySolve,
    Det,
    Eigh,
    Eigvalsh,
    Expm,
    LUFactor,
    MatrixInverse,
    MatrixPinv,
    Schur,
    SLogDet,
    Solve,
    SolveTriangular,
)
from backend.linalg import (  # noqa: F401  (registration happens on import)
    constructors,
    declined,
    expm,
    jacobi,
    lu,
    matrix_equations,
    qr,
    schur,
    solve,
    svd,
    tridiagonal,
)

LINALG_OPS = (Cholesky, SolveTriangular, CholeskySolve, Solve, MatrixInverse, Det, SLogDet, Eigh, Eigvalsh, SVD,
              MatrixPinv, QR, Expm, Schur, QZ, *(op for op in (LU, LUFactor) if op is not None))
"""The linear algebra ops whose converters take batch dimensions as they come."""
