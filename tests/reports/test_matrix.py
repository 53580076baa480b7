"""matrix.csv, environment.json and report.html from a run's records."""

import json
import re
import struct

import pandas as pd
import pytest

from common.status import Status
from reports.matrix import (
    MATRIX_COLUMNS,
    STATUS_COLOURS,
    render_html,
    summary_line,
    write_reports,
)
from tests.browser import chromium
from tests.html_tables import HTMLTables, ShownRows


def _record(op, dtype, status, **fields):
    return {"op": op, "dtype": dtype, "opset": 18, "status": status, "examples": 3, "max_abs_err": 0.0,
            "max_rel_err": 0.0, "max_ulp_err": 0.0, "reference_agrees": True, "category": "", "declaration": "",
            "reason": "", "counterexample": None, "reproducer": "", "seconds": 0.1, **fields}


RECORDS = [
    _record("exp", "float32", "pass"),
    _record("exp", "int8", "mismatch", reason="2 values beyond 4 ULP", counterexample="x0: [1]",
            reproducer="reproducers/exp-int8.py", max_ulp_err=7.0),
    _record("dot", "uint32", "xfail", category="onnxruntime-kernel", declaration="dot#empty-contraction [onnxruntime-kernel]",
            reason="empty contraction"),
    _record("pow", "float64", "xfail", category="pytensor, onnxruntime-kernel",
            declaration="pow#numpy-sqrt-fast-path [pytensor], pow#large-exponent [onnxruntime-kernel]", reason="two fired"),
    _record("erfc", "float64", "unsupported", reason="no accurate composition"),
]


def test_csv_has_one_row_per_cell_with_every_column_and_the_versions(tmp_path):
    frame = write_reports(tmp_path, RECORDS)
    matrix = pd.read_csv(tmp_path / "matrix.csv")
    assert len(matrix) == len(RECORDS)
    assert list(matrix.columns[: len(MATRIX_COLUMNS)]) == MATRIX_COLUMNS
    assert {"pytensor_version", "onnxruntime_version", "onnx_version", "numpy_version"} <= set(matrix.columns)
    assert matrix.set_index(["op", "dtype"]).loc[("exp", "int8"), "reproducer"] == "reproducers/exp-int8.py"
    assert list(zip(matrix["op"], matrix["dtype"])) == sorted(zip(matrix["op"], matrix["dtype"]))
    env = json.loads((tmp_path / "environment.json").read_text())
    assert env["opsets"] == [18] and env["onnxruntime"] == matrix["onnxruntime_version"].iloc[0]
    assert summary_line(frame, tmp_path).startswith("5 cells: 1 pass, 2 xfail, 1 unsupported, 1 mismatch.")
    assert not list(tmp_path.glob(".*tmp-*")), "temporary files left behind"


def test_html_grid_colours_every_cell_by_status_and_lists_what_did_not_pass(tmp_path):
    write_reports(tmp_path, RECORDS)
    page = (tmp_path / "report.html").read_text()
    parsed = HTMLTables(page)
    summary, grid, detail, categories = parsed.tables[:4]
    assert grid.count("pass") == 1 and grid.count("mismatch") == 1 and grid.count("xfail") == 2
    for status in Status:
        assert STATUS_COLOURS[status] in page or status not in {r["status"] for r in RECORDS}
    assert "reproducers/exp-int8.py" in parsed.links
    assert "pow#large-exponent [onnxruntime-kernel]" in " ".join(detail)
    # a cell where two declarations fired counts under each category
    joined = " | ".join(categories)
    assert "pow (float64)" in joined.split("onnxruntime-kernel")[1] and "pow (float64)" in joined.split("pytensor")[1]


def test_html_escapes_text_from_the_run():
    frame_records = [_record("add", "int8", "export_error", reason="<script>alert(1)</script>")]
    from reports.matrix import environment, matrix_frame

    page = render_html(matrix_frame(frame_records, environment([18])), environment([18]))
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)" in page
    assert page.count("<script>") == 1  # the report's own filter script


def test_history_shows_the_trend_and_when_each_failing_cell_started_failing(tmp_path):
    from harness.conformance.runner import append_history, read_history
    from reports.matrix import failing_since

    path = tmp_path / "history.jsonl"
    versions = {"pytensor": "3.0.7", "onnxruntime": "1.32.0"}
    # exp int8: passes, then fails twice (since run 2); exp float32 failed once long ago, passes now
    append_history(path, [_record("exp", "int8", "pass"), _record("exp", "float32", "mismatch")], versions)
    append_history(path, [_record("exp", "int8", "mismatch"), _record("exp", "float32", "pass")],
                   {**versions, "onnxruntime": "1.33.0"})
    append_history(path, RECORDS, {**versions, "onnxruntime": "1.33.0"})
    history = read_history(path)
    assert [sum(h["counts"].values()) for h in history] == [2, 2, len(RECORDS)]
    frame = write_reports(tmp_path, RECORDS, history=history)
    since = failing_since(frame, history).set_index(["op", "dtype"])
    assert since.loc[("exp", "int8"), "failing since"] == history[1]["time"]
    assert "onnxruntime 1.33.0" in since.loc[("exp", "int8"), "versions then"]
    assert ("exp", "float32") not in since.index
    page = (tmp_path / "report.html").read_text()
    assert "<h2>History</h2>" in page and page.count("<rect ") >= 4 and "3 runs recorded" in page
    # a write cut short is skipped, the runs before it stay
    with open(path, "a") as f:
        f.write('{"time": "2026-12-0')
    assert len(read_history(path)) == 3


def test_grid_groups_rows_by_family_and_links_failing_cells_to_their_details(tmp_path):
    records = [dict(r, family="scalar" if r["op"] == "exp" else "math") for r in RECORDS]
    write_reports(tmp_path, records)
    page = (tmp_path / "report.html").read_text()
    anchors = re.findall(r'href="#(cell-exp-int8-18-[0-9a-f]+)"', page)
    assert len(anchors) == 1 and f'id="{anchors[0]}"' in page
    assert 'href="#cell-exp-float32-18' not in page  # passing cells are not links
    grid = page.split('class="grid"')[1].split("</table>")[0]
    assert ">scalar<" in grid and ">math<" in grid
    assert "position: sticky" in page
    assert pd.read_csv(tmp_path / "matrix.csv")["family"].notna().all()


FAMILY_OF = {"exp": "scalar", "dot": "blas", "pow": "scalar", "erfc": "scalar"}


def _shown(tmp_path, query: str) -> ShownRows:
    write_reports(tmp_path, [dict(r, family=FAMILY_OF[r["op"]]) for r in RECORDS])
    page = chromium(tmp_path, "--dump-dom", f"{(tmp_path / 'report.html').as_uri()}?{query}").stdout
    return ShownRows(page)


@pytest.mark.parametrize(("query", "grid_ops", "detail_cells"), [
    ("", {"exp", "dot", "pow", "erfc"}, {("exp", "int8"), ("dot", "uint32"), ("pow", "float64"),
                                         ("erfc", "float64")}),
    ("status=mismatch", {"exp"}, {("exp", "int8")}),
    ("status=xfail&category=pytensor", {"pow"}, {("pow", "float64")}),
    ("family=blas", {"dot"}, {("dot", "uint32")}),
    ("op=er", {"erfc"}, {("erfc", "float64")}),
    ("dtype=float64", {"pow", "erfc"}, {("pow", "float64"), ("erfc", "float64")}),
])
def test_filters_from_the_address_apply_in_a_real_browser(tmp_path, query, grid_ops, detail_cells):
    shown = _shown(tmp_path, query)
    assert {row[1] for row in shown.rows["grid"]} == grid_ops
    assert {(row[0], row[1]) for row in shown.rows["failing"]} == detail_cells


def test_dtype_filter_hides_the_other_columns_and_status_filter_keeps_rows_with_a_match(tmp_path):
    grid = _shown(tmp_path, "dtype=int8,float32&status=pass").rows["grid"]
    # exp has a pass (float32) among the shown columns; its int8 cell stays, dimmed, as a mismatch
    assert grid == [["scalar", "exp", "pass", "mismatch"]]


def test_report_renders_as_a_screenshot_of_the_requested_size(tmp_path):
    write_reports(tmp_path, [dict(r, family=FAMILY_OF[r["op"]]) for r in RECORDS])
    shot = tmp_path / "report.png"
    chromium(tmp_path, "--window-size=1200,900", f"--screenshot={shot}", (tmp_path / "report.html").as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1200, 900)
    assert len(data) > 20_000  # a blank page compresses to a few kilobytes


def test_opset_columns_appear_only_for_dtypes_whose_results_differ_between_opsets(tmp_path):
    records = [dict(_record("exp", "float32", "pass"), opset=opset) for opset in (18, 21)]
    records += [dict(_record("exp", "float16", "pass"), opset=18),
                dict(_record("exp", "float16", "mismatch", reason="IsInf"), opset=21),
                dict(_record("log", "float16", "pass"), opset=18), dict(_record("log", "float16", "pass"), opset=21)]
    write_reports(tmp_path, records)
    page = (tmp_path / "report.html").read_text()
    head = page.split('class="grid"')[1].split("</thead>")[0]
    assert [h for h in ("float16@18", "float16@21", "float32@18", "float32@21", ">float32<") if h in head] == [
        "float16@18", "float16@21", ">float32<"]
    grid = page.split('class="grid"')[1].split("</table>")[0]
    assert 'href="#cell-exp-float16-21-' in grid and grid.count(">pass<") == 4  # exp f16@18, f32; log f16 x2
    assert len(pd.read_csv(tmp_path / "matrix.csv")) == 6  # the CSV keeps every opset's row


def test_entries_the_installed_pytensor_lacks_are_named_escaped_in_the_report_and_environment(tmp_path):
    import json

    absent = {"ger": "removed after 3.3.0", "<img src=x onerror=alert(1)>": "a <script> reason"}
    write_reports(tmp_path, RECORDS, absent_entries=absent)
    page = (tmp_path / "report.html").read_text()
    assert "<b>ger</b>: removed after 3.3.0" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page and "<script> reason" not in page
    assert json.loads((tmp_path / "environment.json").read_text())["absent_entries"] == dict(sorted(absent.items()))
    write_reports(tmp_path, RECORDS)
    assert "lacks their op" not in (tmp_path / "report.html").read_text()
