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


def _model_rows(op, section, times, nodes):
    return [{**_row(backend, t, op=op, size=4), "section": section, "onnx_nodes": nodes if backend.startswith("onnx")
             else math.nan, "onnx_loops": 0 if backend.startswith("onnx") else math.nan}
            for backend, t in times.items()]


def test_real_models_table_puts_nodes_times_and_ratios_to_the_default_mode_side_by_side(tmp_path):
    from reports.speed import real_models_table

    rows = (_model_rows("model:a|b", "models", {"onnxruntime_1thread": 4e-5, "onnxruntime": 8e-5, "default": 1e-5,
                                                 "py": 1e-3}, 120)
            + _model_rows("model:c", "models", {"onnxruntime_1thread": 1e-5, "onnxruntime": 1e-5, "default": 4e-5,
                                                 "py": math.nan}, 30)
            + ROWS)
    frame = pd.DataFrame(add_ratios(rows))
    table = real_models_table(frame)
    first = table.loc[("models", "model:a|b", "float32", 4)]
    assert first["nodes"] == 120 and first["default us"] == pytest.approx(10.0)
    assert first["onnxruntime_1thread / default"] == pytest.approx(4.0)
    assert first["onnxruntime / default"] == pytest.approx(8.0)
    # the geometric mean of 4 and 1/4
    assert table.loc[("models", "geometric mean", "", ""), "onnxruntime_1thread / default"] == pytest.approx(1.0)
    assert "exp" not in table.index.get_level_values("op")  # single ops are not real models
    write_speed_reports(tmp_path, rows, {})
    quoted = (tmp_path / "speed-real-models.md").read_text()
    assert "| model:a\\|b | float32 | 4 | 120 |" in quoted
    assert "Real models" in (tmp_path / "speed.html").read_text()


def test_no_real_models_table_without_graphs_or_models(tmp_path):
    write_speed_reports(tmp_path, ROWS, {})
    assert not (tmp_path / "speed-real-models.md").exists()
