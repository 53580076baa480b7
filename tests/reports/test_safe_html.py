"""Reports render data as text, never as markup: payloads in every field of a crafted run directory
(a downloaded shard or baseline, a plugin's op names) give inert pages, checked by parsing the pages
and by loading them in headless Chromium, where an executed payload would retitle the page."""

from __future__ import annotations

import json
import math

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cli import main
from reports.fuzz import write_fuzz_reports
from reports.safe_html import relative_link, table, text
from reports.speed import write_speed_reports
from tests.browser import PWNED, PageMarkup, assert_inert, assert_inert_in_chromium

PAYLOADS = [
    f'<script>document.title="{PWNED}"</script>',
    f'"><img src=x onerror="document.title=\'{PWNED}\'">',
    f"'><svg onload=\"document.title='{PWNED}'\">",
    f'javascript:document.title="{PWNED}"',
    "../../pwned",
    'x"""\nimport os\n"""',
]
def test_text_and_links_escape_what_they_are_given():
    assert text('<a href="x">&') == "&lt;a href=&quot;x&quot;&gt;&amp;"
    assert text(None) == "" and text(math.nan) == ""
    assert relative_link("reproducers/add-float32-opset18-1a2b3c4d.py").startswith('<a href="reproducers/')
    for hostile in ('javascript:alert(1)', "/etc/passwd", "../outside.py", "reproducers/../../x.py",
                    "https://example.com/x.py", 'a" onclick="x', "data:text/html,<b>"):
        shown = relative_link(hostile)
        assert "<a" not in shown and "<b>" not in shown, shown


def test_tables_escape_cells_and_both_kinds_of_labels_but_not_the_prebuilt_columns():
    frame = pd.DataFrame({"<th>": ["<i>x</i>"], "built": ["<b>ok</b>"]}, index=pd.Index(["<u>row</u>"]))
    page = table(frame, html_columns=["built"]).to_html()
    assert "&lt;th&gt;" in page and "&lt;i&gt;x&lt;/i&gt;" in page and "&lt;u&gt;row&lt;/u&gt;" in page
    assert "<b>ok</b>" in page and "<i>" not in page and "<u>" not in page


def _hostile_records() -> list[dict]:
    records = []
    for i, payload in enumerate(PAYLOADS):
        records.append({"op": payload, "family": payload, "dtype": "float32" if i % 2 else payload, "opset": 18,
                        "status": "mismatch" if i % 3 else "xfail", "examples": 3, "max_abs_err": 1.0,
                        "max_rel_err": 1.0, "max_ulp_err": 9.0, "reference_agrees": None, "category": payload,
                        "declaration": payload, "reason": payload, "counterexample": payload,
                        "reproducer": payload, "seconds": 0.1})
    return records


def _write_run(directory, records) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


def test_a_crafted_run_directory_renders_inert_pages_in_report_diff_and_merge(tmp_path, capsys):
    records = _hostile_records()
    new, old = tmp_path / "new", tmp_path / "old"
    _write_run(new, records)
    _write_run(old, [dict(r, status="pass") for r in records])
    history = {"time": PAYLOADS[0], "versions": {"onnx": PAYLOADS[1], "pytensor": PAYLOADS[2]},
               "counts": {"mismatch": 4}, "cells": {f"{r['op']}|{r['dtype']}|18": "mismatch" for r in records}}
    (new / "history.jsonl").write_text(json.dumps(history) + "\n" + json.dumps(history) + "\n")
    assert main(["diff", str(old), str(new)]) == 1  # every cell regressed
    page = (new / "report.html").read_text()
    markup = assert_inert(page, scripts=1)
    for payload in PAYLOADS:
        assert payload.splitlines()[0] in markup.text  # shown, as text
    assert "History" in markup.text  # diff keeps NEW's history in its report

    (new / "diff.csv").write_text("op,dtype\n" + f'"{PAYLOADS[1]}",x\n')  # not a diff: left out, with a warning
    assert main(["report", str(new)]) == 0
    assert "is not a diff written by `harness diff`" in capsys.readouterr().err
    assert_inert((new / "report.html").read_text(), scripts=1)

    assert main(["merge", str(new), "--out", str(tmp_path / "merged"), "--partial"]) == 1  # failing cells
    merged = tmp_path / "merged" / "report.html"
    assert_inert(merged.read_text(), scripts=1)
    for page_path in (new / "report.html", merged):
        assert_inert_in_chromium(tmp_path, page_path)
    written = {p.relative_to(tmp_path).parts[0] for p in tmp_path.rglob("*") if "chromium" not in str(p)}
    assert written == {"new", "old", "merged"}  # nothing written outside the directories named


def test_fuzz_and_speed_pages_render_payloads_inert(tmp_path):
    rows = [dict(kind="finding", key="k", check=p, graphs=1, detail=p, node=p, graph=p, onnx=p, inputs=p,
                 pytensor=p, onnxruntime=p, reproducer=p) for p in PAYLOADS]
    write_fuzz_reports(tmp_path / "fuzz", rows, {PAYLOADS[0]: PAYLOADS[1], "seeds": PAYLOADS[2]})
    fuzz_page = tmp_path / "fuzz" / "fuzz.html"
    assert PAYLOADS[3] in PageMarkup(fuzz_page.read_text()).text
    assert_inert(fuzz_page.read_text(), scripts=0)
    speed_rows = [dict(section="ops", op=p, dtype=p, size=10, backend=backend, median_s=1e-3, iqr_s=1e-4,
                       one_off_s=0.1, note=p, bandwidth_bound_s=math.nan)
                  for p in PAYLOADS for backend in ("py", "onnxruntime")]
    write_speed_reports(tmp_path / "speed", speed_rows, {PAYLOADS[0]: PAYLOADS[1]})
    speed_page = tmp_path / "speed" / "speed.html"
    assert_inert(speed_page.read_text(), scripts=0)
    for page_path in (fuzz_page, speed_page):
        assert_inert_in_chromium(tmp_path, page_path)


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                     max_leaves=12)
_fields = ["family", "examples", "category", "reason", "reproducer",
           "max_ulp_err", "counterexample", "reference_agrees"]
_near_records = st.fixed_dictionaries(
    {"op": st.text(min_size=1, max_size=12), "dtype": st.text(min_size=1, max_size=8),
     "opset": st.integers(18, 25), "status": st.sampled_from(["pass", "mismatch", "crash", "xfail", "bogus"])},
    optional={f: _json for f in _fields})
_lines = st.lists(st.one_of(_json.map(json.dumps), _near_records.map(json.dumps), st.text(max_size=30)),
                  max_size=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=_lines)
def test_report_never_raises_on_arbitrary_json_lines(tmp_path_factory, lines):
    out = tmp_path_factory.mktemp("arbitrary")
    (out / "results.jsonl").write_text("\n".join(line.replace("\n", " ") for line in lines) + "\n")
    code = main(["report", str(out)])
    assert code in (0, 2)  # 2: not one valid record ("holds no results")
    if code == 0:
        assert_inert((out / "report.html").read_text(), scripts=1)
