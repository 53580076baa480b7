"""The fuzz report: ``fuzz.csv`` (one row per finding and per declaration that explained graphs) and
``fuzz.html`` (the run's summary, where the time went, and each finding with its minimal graph as
PyTensor code and ONNX text, the inputs and both outputs), built with pandas and its Styler and
written atomically, like the conformance matrix. Every text from the journal is escaped (`reports.safe_html`).

To add a column: put it in the rows `harness.cli` builds from the journal (`harness.fuzz.journal`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from common.files import atomic_write_text
from reports.safe_html import relative_link, table, text

FUZZ_COLUMNS = ["kind", "check", "declaration", "graphs", "detail", "node", "graph", "onnx", "inputs", "pytensor",
                "onnxruntime", "reproducer", "upstream"]


def fuzz_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows)
    for column in FUZZ_COLUMNS:
        if column not in frame:
            frame[column] = None
    return frame[FUZZ_COLUMNS]


def _pre(value) -> str:
    return f"<pre>{text(value)}</pre>" if isinstance(value, str) and value else ""


def render_fuzz_html(frame: pd.DataFrame, summary: dict) -> str:
    overview = pd.DataFrame({"": list(summary)}, index=None).assign(value=[summary[k] for k in summary])
    overview_html = (table(overview, precision=2).hide(axis="index")
                     .set_table_attributes('class="summary"').to_html())
    findings = frame.copy()
    for column in ("graph", "onnx", "inputs", "pytensor", "onnxruntime", "detail"):
        findings[column] = findings[column].map(_pre)
    findings["reproducer"] = findings["reproducer"].map(relative_link)
    findings["upstream"] = findings["upstream"].map(relative_link)
    colours = {"finding": "background-color: #ffab91", "xfail": "background-color: #fff3c4"}
    pre_built = ["graph", "onnx", "inputs", "pytensor", "onnxruntime", "detail", "reproducer", "upstream"]
    findings_html = (table(findings, html_columns=pre_built).hide(axis="index")
             .map(lambda v: colours.get(v, ""), subset=["kind"])
             .set_table_attributes('class="findings"')
             .to_html() if len(findings) else "<p>No finding and no declared divergence.</p>")
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Composition fuzzing</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; }}
td, th {{ border: 1px solid #bbb; padding: 0.3em 0.5em; vertical-align: top; text-align: left; }}
pre {{ margin: 0; font-size: 0.85em; white-space: pre-wrap; max-width: 40em; }}
</style></head><body>
<h1>Composition fuzzing</h1>
<p>Random PyTensor graphs: elementwise programs (chains of the registry's plain elementwise entries) and
mixed programs (entries of every family on their own inputs, earlier results and constants, some with a
gradient), exported and run by onnxruntime (optimizations on and off) and compiled with PyTensor's
default rewrites, against PyTensor's Python mode.
A <b>finding</b> is a divergence no declaration explains; <b>xfail</b> rows count the graphs a declared
divergence explained. Each finding's graph is Hypothesis' minimal one, with a reproducer script that
exits 1 while it reproduces; a finding shown to be onnxruntime's own links to an ONNX-only
<b>upstream</b> bundle (model, inputs, repro.py, an issue-ready README).</p>
{overview_html}
{findings_html}
</body></html>
"""


def write_fuzz_reports(out_dir: Path, rows: list[dict], summary: dict) -> pd.DataFrame:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frame = fuzz_frame(rows)
    atomic_write_text(out_dir / "fuzz.csv", frame.to_csv(index=False))
    atomic_write_text(out_dir / "fuzz.html", render_fuzz_html(frame, summary))
    return frame
