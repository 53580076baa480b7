"""What every layer shares and that loads neither PyTensor nor onnx: the cell statuses
(`common.status`), the dtype names (`common.dtypes`), the record fields the reports read
(`common.records`) and atomic file writes (`common.files`). The reports import only this package, so
rendering a report never loads the exporter.

To add something here: it must be plain Python (and numpy at most), needed by more than one layer.
"""
