"""The speed report: ratios computed side by side, CSV and HTML written."""

import math

import pandas as pd
import pytest

from reports.speed import add_ratios, write_speed_reports


def _row(backend, median, op="exp", size=1000, bound=math.nan):
    return {"section": "ops", "op": op, "dtype": "float32", "size": size, "backend": backend, "median_s": median,
            "iqr_s": 0.0, "one_off_s": 0.5, "note": "", "bytes_moved": 8000, "bandwidth_bound_s": bound}


ROWS = [_row("onnxruntime", 1e-5, bound=5e-6), _row("py", 4e-5), _row("c", 2e-5), _row("numba", math.nan)]


def test_ratios_are_to_py_and_to_the_fastest_pytensor_backend():
    by_backend = {r["backend"]: r for r in add_ratios(ROWS)}
    assert by_backend["onnxruntime"]["ratio_to_py"] == pytest.approx(0.25)
    assert by_backend["onnxruntime"]["ratio_to_best_pytensor"] == pytest.approx(0.5)  # c beats py
    assert by_backend["onnxruntime"]["bound_fraction"] == pytest.approx(0.5)
    assert by_backend["py"]["ratio_to_py"] == pytest.approx(1.0)


def test_reports_are_written_with_a_ratio_table_and_plots(tmp_path):
    write_speed_reports(tmp_path, ROWS, {"onnxruntime": "test"})
    frame = pd.read_csv(tmp_path / "speed.csv")
    assert len(frame) == len(ROWS) and {"ratio_to_py", "ratio_to_best_pytensor"} <= set(frame.columns)
    page = (tmp_path / "speed.html").read_text()
    assert "onnxruntime time / py-mode time" in page and "<svg" in page and "0.25" in page
    assert (tmp_path / "speed-environment.json").exists()
