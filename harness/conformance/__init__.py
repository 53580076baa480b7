"""The conformance matrix (``harness run``): the differential engine that judges one op x dtype cell
(`engine`), the mixed-dtype cells (`promotion`), the worker pool, results files and history
(`runner`), and reproducer scripts for failing cells (`reproducer`).

To extend: a new check belongs in `engine.compare_arrays`; a new kind of cell is a function returning
an `engine.CellResult` with a `common.status.Status`, dispatched by `runner.run_task`.
"""
