"""Conformance matrix: ``matrix.csv``, ``environment.json`` and ``report.html`` from a run's records.

Everything is built with pandas (tables, CSV) and pandas Styler (HTML); the page is self-contained
(inline CSS, one inline script for the filters, no network; without scripts it shows everything).
Every text from the records is escaped (`reports.safe_html`). Filters are read from the page address (``report.html?status=mismatch,crash&dtype=float32``), so a
filtered view can be linked. Files are written atomically (temp file + rename).

To add a column: put it in the record (harness/conformance/runner.py) and in `MATRIX_COLUMNS`. Statuses, their
order and meanings are `common.status`'s; their colours are here.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import pandas as pd

from common.dtypes import ALL_DTYPES, MIXED_DTYPES
from common.files import atomic_write_text, safe_stem
from common.status import FAILING, STATUS_MEANING, Status
from reports.safe_html import relative_link, table, text

STATUS_ORDER = [str(s) for s in Status]
STATUS_COLOURS = {
    Status.PASS: "#c8e6c9", Status.XFAIL: "#fff3c4", Status.UNSUPPORTED: "#e0e0e0", Status.MISMATCH: "#ffab91",
    Status.EXPORT_ERROR: "#f48fb1", Status.RUNTIME_ERROR: "#ce93d8", Status.CRASH: "#ef5350",
    Status.TIMEOUT: "#ff7043", Status.XPASS: "#90caf9",
}
MATRIX_COLUMNS = ["op", "family", "dtype", "opset", "status", "examples", "max_abs_err", "max_rel_err", "max_ulp_err",
                  "reference_agrees", "reference_unavailable", "category", "declaration", "reason",
                  "counterexample", "reproducer", "seconds", "native_output"]
VERSION_PACKAGES = ("pytensor", "onnx", "onnxruntime", "numpy", "hypothesis")


def environment(opsets, absent_entries: dict[str, str] | None = None) -> dict:
    """Versions, opsets, Python and machine; ``absent_entries`` (registry entries the installed
    PyTensor lacks, name -> why) when given."""
    from importlib.metadata import version

    env = {name: version(name) for name in VERSION_PACKAGES}
    env["opsets"] = sorted(set(opsets))
    env["python"] = platform.python_version()
    env["machine"] = platform.machine()
    if absent_entries:
        env["absent_entries"] = dict(sorted(absent_entries.items()))
    return env


def _absent_html(env: dict) -> str:
    absent = env.get("absent_entries") or {}
    if not absent:
        return ""
    items = "".join(f"<li><b>{text(name)}</b>: {text(why)}</li>" for name, why in absent.items())
    return (f"<p>Registry entries not in this matrix, because pytensor {text(env.get('pytensor'))} "
            f"lacks their op:</p><ul>{items}</ul>")


def matrix_frame(records: list[dict], env: dict) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records)
    for column in MATRIX_COLUMNS:
        if column not in frame:
            frame[column] = None
    frame = frame[MATRIX_COLUMNS].copy()
    frame["family"] = frame["family"].fillna("")  # results written before families were recorded
    for name in VERSION_PACKAGES:
        frame[f"{name}_version"] = env[name]
    frame["status"] = pd.Categorical(frame["status"], categories=STATUS_ORDER)
    return frame.sort_values(["op", "dtype", "opset"]).reset_index(drop=True)


def status_counts(frame: pd.DataFrame) -> pd.Series:
    return frame["status"].value_counts().reindex(STATUS_ORDER, fill_value=0)


def summary_line(frame: pd.DataFrame, out_dir: Path) -> str:
    counts = status_counts(frame)
    parts = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    return f"{len(frame)} cells: {parts}. Report: {Path(out_dir) / 'report.html'}"


def _anchor(op, dtype, opset) -> str:
    return f"cell-{safe_stem(op, dtype, opset)}"


def _grid(frame: pd.DataFrame, values: str = "status") -> pd.DataFrame:
    """Rows (family, op), columns dtype of ``values``. In a run over several opsets a dtype gets one
    column per opset (``float32@21``) only where some op's status differs between opsets; otherwise
    one column, which holds the lowest opset's cell."""
    frame = frame.assign(status=frame["status"].astype(str))
    if frame["opset"].nunique() > 1:
        statuses_per_cell = frame.groupby(["op", "dtype"])["status"].nunique()
        split = set(statuses_per_cell[statuses_per_cell > 1].index.get_level_values("dtype"))
        lowest = frame["opset"] == frame.groupby(["op", "dtype"])["opset"].transform("min")
        frame = frame[frame["dtype"].isin(split) | lowest]
        column = [f"{d}@{o}" if d in split else d for d, o in zip(frame["dtype"], frame["opset"])]
    else:
        column = list(frame["dtype"])
    labelled = frame.assign(
        column=column,
        label=[_grid_label(o, d, p, s, c)
               for o, d, p, s, c in zip(frame["op"], frame["dtype"], frame["opset"], frame["status"],
                                        frame["category"].fillna(""))])
    table = labelled.pivot_table(index=["family", "op"], columns="column", values=values, aggfunc="first")
    table = table[sorted(table.columns, key=_column_order)]
    table.columns.name = None
    return table.astype(object).where(table.notna(), "")


def _grid_label(op, dtype, opset, status, category) -> str:
    """A grid cell's text; the filters read its status and categories from the data attributes. A cell
    that did not pass links to its row in the details."""
    data = f'data-status="{text(status)}" data-category="{text(category)}"'
    if str(status) == str(Status.PASS):
        return f"<span {data}>{text(status)}</span>"
    return f'<a href="#{_anchor(op, dtype, opset)}" {data}>{text(status)}</a>'


_DTYPE_ORDER = [*ALL_DTYPES, MIXED_DTYPES]


def _column_order(column: str) -> tuple:
    """float16 ... uint64, bool, then mixed (type promotion); each dtype's opsets together."""
    dtype, _, opset = column.partition("@")
    return (_DTYPE_ORDER.index(dtype) if dtype in _DTYPE_ORDER else len(_DTYPE_ORDER), dtype, int(opset or 0))


def _style_status(value) -> str:
    colour = STATUS_COLOURS.get(str(value))
    return f"background-color: {colour}" if colour else "color: #bbb"


def _trend_svg(history: list[dict]) -> str:
    """Stacked bars of status counts, one per run (the last 60), oldest on the left."""
    runs = history[-60:]
    width, height, gap = 14, 120, 3
    tallest = max(sum(r["counts"].values()) for r in runs) or 1
    bars = []
    for i, run in enumerate(runs):
        y = height
        for status in STATUS_ORDER:
            count = run["counts"].get(status, 0)
            if not count:
                continue
            h = height * count / tallest
            y -= h
            bars.append(f'<rect x="{i * (width + gap)}" y="{y:.1f}" width="{width}" height="{h:.1f}" '
                        f'fill="{STATUS_COLOURS[Status(status)]}"><title>{text(run["time"])}: {count} '
                        f'{status}</title></rect>')
    total_width = len(runs) * (width + gap)
    return (f'<svg width="{total_width}" height="{height}" role="img" aria-label="status counts per run">'
            + "".join(bars) + "</svg>")


def failing_since(frame: pd.DataFrame, history: list[dict]) -> pd.DataFrame:
    """For each failing cell of this run: the first run of its current failing streak, and the
    versions then."""
    failing = frame[frame["status"].isin([str(s) for s in FAILING])]
    rows = []
    for op, dtype, opset, status in zip(failing["op"], failing["dtype"], failing["opset"], failing["status"]):
        key = f"{op}|{dtype}|{opset}"
        since = None
        for run in reversed(history):
            if run["cells"].get(key) not in {str(s) for s in FAILING}:
                break
            since = run
        rows.append({"op": op, "dtype": dtype, "opset": opset, "status": str(status),
                     "failing since": since["time"] if since else "this run",
                     "versions then": ", ".join(f"{k} {v}" for k, v in since["versions"].items()
                                                if k in VERSION_PACKAGES) if since else ""})
    return pd.DataFrame(rows, columns=["op", "dtype", "opset", "status", "failing since", "versions then"])


def _history_html(frame: pd.DataFrame, history: list[dict] | None) -> str:
    if not history:
        return ""
    runs = pd.DataFrame([{"run": r["time"], **{s: r["counts"].get(s, 0) for s in STATUS_ORDER},
                          "versions": ", ".join(f"{k} {v}" for k, v in r["versions"].items() if k in VERSION_PACKAGES)}
                         for r in reversed(history[-20:])])
    runs_html = table(runs).hide(axis="index").set_table_attributes('class="detail"').to_html()
    since = failing_since(frame, history)
    since_html = (table(since).hide(axis="index").map(_style_status, subset=["status"])
                  .set_table_attributes('class="detail"').to_html() if len(since) else
                  "<p>No failing cell in this run.</p>")
    return (f"<h2>History</h2><p>{len(history)} runs recorded; status counts of the last "
            f"{min(len(history), 60)}, oldest first:</p>{_trend_svg(history)}"
            f"<h3>Last runs</h3>{runs_html}<h3>Failing cells: since when</h3>{since_html}")


def _checkboxes(name: str, values) -> str:
    return "".join(f'<label><input type="checkbox" name="{name}" value="{text(v)}" checked> '
                   f"{text(v)}</label> " for v in values)


def _options(name: str, values) -> str:
    options = "".join(f'<option value="{text(v)}">{text(v)}</option>' for v in values)
    return f'<select name="{name}"><option value="">all</option>{options}</select>'


def _filters_html(frame: pd.DataFrame) -> str:
    """Controls for the grid and the details, offering only what this run has."""
    statuses = [s for s in STATUS_ORDER if (frame["status"] == s).any()]
    dtypes = sorted(frame["dtype"].unique(), key=_column_order)
    families = sorted(f for f in frame["family"].unique() if f)
    categories = sorted({c for cell in frame["category"].fillna("") for c in str(cell).split(", ") if c})
    return f"""<form id="filters" class="filters">
<div><b>status</b> {_checkboxes("status", statuses)}</div>
<div><b>dtype</b> {_checkboxes("dtype", dtypes)}</div>
<div><b>family</b> {_options("family", families)} <b>declared category</b> {_options("category", categories)}
<b>op contains</b> <input type="search" name="op" size="16"></div>
<div><span id="filter-count"></span> <a id="filter-link" href="?">link to this view</a></div>
</form>"""


# Reads the filters from the page address, applies them to the grid (rows, dtype columns, dimmed
# cells) and the details, and keeps "link to this view" pointing at the current choice.
_FILTER_SCRIPT = """
(function () {
  var form = document.getElementById("filters");
  var grid = document.querySelector("table.grid");
  if (!form || !grid) { return; }
  var details = document.querySelector("table.failing");
  var params = new URLSearchParams(location.search);
  form.querySelectorAll("input[type=checkbox]").forEach(function (box) {
    if (params.has(box.name)) { box.checked = params.get(box.name).split(",").indexOf(box.value) >= 0; }
  });
  form.querySelectorAll("select, input[type=search]").forEach(function (field) {
    if (params.has(field.name)) { field.value = params.get(field.name); }
  });
  function chosen(name) {
    var values = [];
    form.querySelectorAll("input[name=" + name + "]:checked").forEach(function (box) { values.push(box.value); });
    return values;
  }
  function columnOf(cell) {
    for (var i = 0; i < cell.classList.length; i++) {
      if (/^col[0-9]+$/.test(cell.classList[i])) { return cell.classList[i]; }
    }
    return null;
  }
  function apply() {
    var statuses = chosen("status"), dtypes = chosen("dtype");
    var family = form.elements.family.value, category = form.elements.category.value;
    var opText = form.elements.op.value.trim();
    function hasCategory(text) { return !category || text.split(", ").indexOf(category) >= 0; }
    var dtypeOfColumn = {};
    grid.querySelectorAll("thead th.col_heading").forEach(function (th) {
      dtypeOfColumn[columnOf(th)] = th.textContent.split("@")[0];
    });
    grid.querySelectorAll("thead th").forEach(function (th) {
      var column = columnOf(th);
      if (column) { th.hidden = dtypes.indexOf(dtypeOfColumn[column]) < 0; }
    });
    var familyOfOp = {}, rowsShown = 0, rowsAll = 0;
    Array.prototype.forEach.call(grid.tBodies[0].rows, function (row) {
      var heads = row.querySelectorAll("th");
      var rowFamily = heads[0].textContent, rowOp = heads[heads.length - 1].textContent;
      familyOfOp[rowOp] = rowFamily;
      var anyMatch = false;
      row.querySelectorAll("td").forEach(function (td) {
        var inColumn = dtypes.indexOf(dtypeOfColumn[columnOf(td)]) >= 0;
        var mark = td.querySelector("[data-status]");
        var match = mark !== null && statuses.indexOf(mark.dataset.status) >= 0 && hasCategory(mark.dataset.category);
        td.hidden = !inColumn;
        td.classList.toggle("dim", !match);
        anyMatch = anyMatch || (inColumn && match);
      });
      var shown = anyMatch && (!family || rowFamily === family) && (!opText || rowOp.indexOf(opText) >= 0);
      row.hidden = !shown;
      rowsAll += 1;
      rowsShown += shown ? 1 : 0;
    });
    if (details) {
      var names = [];
      details.querySelectorAll("thead th").forEach(function (th) { names.push(th.textContent); });
      Array.prototype.forEach.call(details.tBodies[0].rows, function (row) {
        var value = {};
        Array.prototype.forEach.call(row.cells, function (cell, i) { value[names[i]] = cell.textContent; });
        row.hidden = !(statuses.indexOf(value.status) >= 0 && dtypes.indexOf(value.dtype) >= 0
                       && hasCategory(value.category) && (!family || familyOfOp[value.op] === family)
                       && (!opText || value.op.indexOf(opText) >= 0));
      });
    }
    document.getElementById("filter-count").textContent = rowsShown + " of " + rowsAll + " ops shown";
    var query = [];
    ["status", "dtype"].forEach(function (name) {
      var all = form.querySelectorAll("input[name=" + name + "]").length, picked = chosen(name);
      if (picked.length < all) { query.push(name + "=" + encodeURIComponent(picked.join(","))); }
    });
    [["family", family], ["category", category], ["op", opText]].forEach(function (pair) {
      if (pair[1]) { query.push(pair[0] + "=" + encodeURIComponent(pair[1])); }
    });
    document.getElementById("filter-link").setAttribute("href", "?" + query.join("&"));
  }
  form.addEventListener("input", apply);
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  apply();
})();
"""


def render_html(frame: pd.DataFrame, env: dict, diff: pd.DataFrame | None = None,
                history: list[dict] | None = None) -> str:
    counts = status_counts(frame).rename("cells").to_frame()
    counts["meaning"] = [STATUS_MEANING[Status(s)] for s in counts.index]
    summary_html = (table(counts)
                    .apply(lambda col: [_style_status(s) for s in col.index], subset=["cells"])
                    .set_table_attributes('class="summary"').to_html())
    # a cell that did not pass links to its row in the details below; colours come from the statuses
    statuses = _grid(frame).map(_style_status)
    labels = _grid(frame, "label")  # each label is built from escaped parts (`_grid_label`)
    grid_html = (table(labels, html_columns=list(labels.columns)).apply(lambda _: statuses, axis=None)
                 .set_table_attributes('class="grid"').to_html(sparse_index=False))

    failing = frame[~frame["status"].isin([Status.PASS])].copy()
    detail = failing[["op", "dtype", "opset", "status", "category", "declaration", "examples", "max_ulp_err",
                      "reference_agrees", "reference_unavailable", "reason", "counterexample", "reproducer",
                      "native_output"]].copy()
    detail["reproducer"] = detail["reproducer"].map(relative_link)
    detail["op"] = [f'<span id="{_anchor(o, d, p)}">{text(o)}</span>'
                    for o, d, p in zip(detail["op"], detail["dtype"], detail["opset"])]
    detail_html = (table(detail, html_columns=["op", "reproducer"]).hide(axis="index")
                   .map(_style_status, subset=["status"]).set_table_attributes('class="detail failing"')
                   .to_html() if len(detail) else "<p>Every cell passed.</p>")

    # astype(str): a results file whose categories are all null reads back as a float column
    declared = frame[frame["category"].fillna("").astype(str) != ""]
    declared = declared.assign(category=declared["category"].astype(str).str.split(", ")).explode("category")
    by_category = pd.DataFrame(
        [(category, len(group), ", ".join(f"{o} ({d})" for o, d in zip(group["op"], group["dtype"])))
         for category, group in declared.groupby("category")],
        columns=["category", "cells", "ops (dtype)"],
    )
    categories_html = (table(by_category).hide(axis="index").set_table_attributes('class="detail"').to_html()
                       if len(by_category) else "<p>No declared divergences in this run.</p>")

    diff_html = ""
    if diff is not None:
        diff_view = diff[diff["change"] != "unchanged"]
        diff_html = "<h2>Changes since the baseline</h2>" + (
            table(diff_view).hide(axis="index").set_table_attributes('class="detail"').to_html()
            if len(diff_view) else "<p>No change since the baseline.</p>")

    versions = ", ".join(f"{k} {v}" for k, v in env.items() if k not in ("opsets", "absent_entries"))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>PyTensor -> ONNX conformance</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; font-size: 13px; }}
td, th {{ border: 1px solid #ccc; padding: 3px 6px; vertical-align: top; }}
table.detail td {{ max-width: 40em; white-space: pre-wrap; word-break: break-word; }}
table.grid thead th {{ position: sticky; top: 0; background: #fff; z-index: 2; }}
table.grid tbody th {{ position: sticky; left: 0; background: #fafafa; z-index: 1; text-align: left; }}
table.grid a, table.grid a:visited {{ color: inherit; }}
:target {{ outline: 3px solid #e65100; }}
[hidden] {{ display: none !important; }}
table.grid td.dim {{ opacity: 0.2; }}
form.filters {{ font-size: 13px; margin-bottom: 0.5em; }}
form.filters label {{ white-space: nowrap; }}
.legend {{ max-width: 60em; }}
</style></head><body>
<h1>PyTensor &rarr; ONNX conformance matrix</h1>
<p>{text(versions)}; opsets {text(env.get('opsets'))}.</p>{_absent_html(env)}
<div class="legend"><h2>How to read this page</h2>
<p>Each cell is one PyTensor op (row) at one input dtype (column), exported to ONNX and run on
onnxruntime (graph optimizations on and off) against PyTensor's Python mode on inputs drawn by
Hypothesis, including NaN, &plusmn;inf, &minus;0.0, subnormals, extremes, empty and rank-0 arrays.
Floats must agree within the op's ULP bound; integers and bools exactly. The <b>mixed</b> column is
type promotion: the op on inputs of different dtypes (int8 and float32, say), whose result dtype must
be PyTensor's upcast of them. In a run over several opsets, a dtype shows one column per opset
(<code>float16@21</code>) only where some op's status differs between them. A blank cell means PyTensor does not define the op for that dtype. Failing cells are listed below with the shrunk counterexample
and a reproducer script (exit 1 while the divergence reproduces).</p></div>
<h2>Summary</h2>{summary_html}
<h2>Matrix</h2>{_filters_html(frame)}{grid_html}
{diff_html}
<h2>Cells that did not pass</h2>{detail_html}
<h2>Declared divergences by category</h2>{categories_html}
{_history_html(frame, history)}
<script>{_FILTER_SCRIPT}</script>
</body></html>
"""


def write_reports(out_dir: Path, records: list[dict], diff: pd.DataFrame | None = None,
                  history: list[dict] | None = None, absent_entries: dict[str, str] | None = None) -> pd.DataFrame:
    """matrix.csv, environment.json and report.html (with the trend of ``history``, runs oldest first,
    and the registry entries the installed PyTensor lacks) in ``out_dir``; returns the matrix frame."""
    out_dir = Path(out_dir)
    env = environment([r["opset"] for r in records] or [18], absent_entries)
    frame = matrix_frame(records, env)
    atomic_write_text(out_dir / "matrix.csv", frame.to_csv(index=False))
    atomic_write_text(out_dir / "environment.json", json.dumps(env, indent=2) + "\n")
    atomic_write_text(out_dir / "report.html", render_html(frame, env, diff, history))
    return frame
