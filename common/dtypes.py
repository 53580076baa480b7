"""The dtype names the project handles, grouped: the one definition that the exporter
(`backend.dtypes` adds their ONNX element types), the strategies, the harness and the reports use.

To support another dtype: add it to a group here and its ONNX type in `backend.dtypes`.
"""

FLOAT_DTYPES = ("float16", "float32", "float64")
SIGNED_DTYPES = ("int8", "int16", "int32", "int64")
UNSIGNED_DTYPES = ("uint8", "uint16", "uint32", "uint64")
INT_DTYPES = SIGNED_DTYPES + UNSIGNED_DTYPES
NUMERIC_DTYPES = FLOAT_DTYPES + INT_DTYPES
ALL_DTYPES = NUMERIC_DTYPES + ("bool",)
MIXED_DTYPES = "mixed"
"""The conformance matrix's column for type promotion: an n-ary elementwise op whose inputs have
different dtypes (the result dtype is PyTensor's upcast of them)."""
