"""Linear algebra ops the exporter declines, named so that users get the reason instead of "no
conversion available": the gradient of generalized eigenvalues and general eigenvalues (complex).

To extend: an entry in `_DECLINED` with the reason; a composed op moves to its own module.
"""

from __future__ import annotations

from backend.basic import onnx_funcify
from backend.compat import Eig, EigvalshGrad
from backend.dtypes import ONNXExportUnsupported

# ---- declined: named here so that users get the reason instead of "no conversion available" ----

SIGN_CHOICE = ("{op}: {what} are defined only up to sign (and, for repeated {values}, up to a rotation of their "
                "basis); LAPACK's choice follows from its own rounding, which no composition reproduces, so the "
                "export could not be compared with PyTensor's result")
_DECLINED = {
    **({EigvalshGrad: lambda op: SIGN_CHOICE.format(op=f"{op} (the gradient of generalized eigenvalues, PyTensor 2.38)",
                                                    what="the eigenvectors it is computed from",
                                                    values="eigenvalues")} if EigvalshGrad else {}),
    Eig: lambda op: (f"{op}: the eigenvalues of a general matrix are complex; onnxruntime's CPU kernels have no "
                     "complex tensors"),
}


def _decline(op, node, ctx, inputs):
    raise ONNXExportUnsupported(_DECLINED[type(op)](op))


for _op_type in _DECLINED:
    onnx_funcify.register(_op_type)(_decline)
