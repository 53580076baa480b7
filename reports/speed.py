"""The speed report: ``speed.csv``, ``speed-environment.json`` and ``speed.html`` from the rows the
benchmarks produced (``harness/bench/runner.py``, ``harness/bench/graphs.py``, or a pytest-benchmark JSON).

Ratios are added here (onnxruntime time / PyTensor time per op x dtype x size); the page holds the
ratio matrices coloured (pandas Styler), the real-models table (`real_models_table`: graphs and PyMC
models, node counts, every backend's time and onnxruntime / PyTensor's default mode, with geometric
means; also written as ``speed-real-models.md`` to quote), the bandwidth-bound fractions and small
log-log plots drawn as inline SVG. Every text from the rows is escaped (`reports.safe_html`). Files
are written atomically.

To add a column: put it in the rows and in `TABLE_COLUMNS`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from common.files import atomic_write_text
from common.records import PYTENSOR_BACKENDS
from reports.safe_html import table, text

TABLE_COLUMNS = ["section", "op", "dtype", "size", "backend", "median_s", "iqr_s", "one_off_s", "ratio_to_py",
                 "ratio_to_default", "ratio_to_best_pytensor", "bound_fraction", "onnx_nodes", "onnx_loops", "note"]
REAL_MODEL_SECTIONS = ("graphs", "models")
ORT_BACKENDS = ("onnxruntime_1thread", "onnxruntime")


def add_ratios(rows: list[dict]) -> list[dict]:
    import pandas as pd

    frame = pd.DataFrame(rows)
    for column in ("onnx_nodes", "onnx_loops", "bandwidth_bound_s"):  # absent from pytest-benchmark rows
        if column not in frame:
            frame[column] = float("nan")
    keys = ["section", "op", "dtype", "size"]
    indexed = frame.set_index(keys)
    for backend, column in (("py", "ratio_to_py"), ("default", "ratio_to_default")):
        reference = frame[frame.backend == backend].set_index(keys)["median_s"]
        frame[column] = (indexed["median_s"] / reference.reindex(indexed.index)).to_numpy()
    best = frame[frame.backend.isin(PYTENSOR_BACKENDS)].groupby(keys)["median_s"].min()
    frame["ratio_to_best_pytensor"] = (indexed["median_s"] / best.reindex(indexed.index)).to_numpy()
    frame["bound_fraction"] = frame["bandwidth_bound_s"] / frame["median_s"]
    return frame.to_dict("records")


def real_models_table(frame):
    """One row per graph/model x dtype x size: ONNX nodes and Loops, each backend's time in
    microseconds, onnxruntime's time / the default mode's (1 thread and default threads), and a
    geometric-mean row per section. None when no graph or model was timed."""
    import numpy as np
    import pandas as pd

    part = frame[frame.section.isin(REAL_MODEL_SECTIONS)]
    if part.empty:
        return None
    keys = ["section", "op", "dtype", "size"]
    times = part.groupby(keys + ["backend"])["median_s"].first().unstack("backend") * 1e6
    times = times.rename(columns=lambda b: f"{b} us")
    ort = part[part.backend == "onnxruntime_1thread"].set_index(keys)
    table = pd.DataFrame({"nodes": ort["onnx_nodes"], "loops": ort["onnx_loops"]}).join(times, how="outer")
    for backend in ORT_BACKENDS:
        ratio = part[part.backend == backend].set_index(keys)["ratio_to_default"]
        table[f"{backend} / default"] = ratio
    rows = [table]
    for section, group in table.groupby(level="section"):
        means = {column: float(np.exp(np.log(group[column][group[column] > 0]).mean()))
                 for column in table.columns if column.endswith("/ default")}
        rows.append(pd.DataFrame([means], index=pd.MultiIndex.from_tuples(
            [(section, "geometric mean", "", "")], names=keys)))
    return pd.concat(rows)


def markdown(table) -> str:
    """A pipe table of ``table`` (index flattened), numbers to 3 significant digits."""
    flat = table.reset_index()
    cells = [[text_cell(v) for v in row] for row in flat.itertuples(index=False)]
    header = [str(c) for c in flat.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines) + "\n"


def text_cell(value) -> str:
    if isinstance(value, float):
        return "" if not math.isfinite(value) else f"{value:.3g}"
    return str(value).replace("|", "\\|")


def _svg_loglog(series: dict[str, list[tuple[float, float]]], title: str, width=360, height=220) -> str:
    """A small inline log-log line plot (time vs size per backend); no plotting library needed."""
    points = [(x, y) for pts in series.values() for x, y in pts if x > 0 and y > 0 and math.isfinite(y)]
    if not points:
        return ""
    lx = [math.log10(x) for x, _ in points]
    ly = [math.log10(y) for _, y in points]
    x0, x1 = min(lx), max(lx) if max(lx) > min(lx) else min(lx) + 1
    y0, y1 = min(ly), max(ly) if max(ly) > min(ly) else min(ly) + 1
    pad = 40
    colours = ["#1565c0", "#42a5f5", "#e65100", "#2e7d32", "#6a1b9a"]

    def px(x):
        return pad + (math.log10(x) - x0) / (x1 - x0) * (width - 2 * pad)

    def py(y):
        return height - pad - (math.log10(y) - y0) / (y1 - y0) * (height - 2 * pad)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
             f'<text x="{pad}" y="14" font-size="12">{text(title)}</text>',
             f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#999"/>',
             f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#999"/>',
             f'<text x="{width / 2}" y="{height - 8}" font-size="10" text-anchor="middle">elements (log)</text>',
             f'<text x="10" y="{height / 2}" font-size="10" transform="rotate(-90 10 {height / 2})" '
             f'text-anchor="middle">seconds/call (log)</text>']
    for i, (name, pts) in enumerate(series.items()):
        pts = [(x, y) for x, y in pts if x > 0 and y > 0 and math.isfinite(y)]
        if not pts:
            continue
        colour = colours[i % len(colours)]
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in sorted(pts))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{coords}"/>')
        parts.append(f'<text x="{width - pad + 2}" y="{pad + 12 * i}" font-size="9" fill="{colour}">'
                     f'{text(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def write_speed_reports(out_dir: Path, rows: list[dict], meta: dict) -> None:
    import pandas as pd

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(add_ratios(rows))
    atomic_write_text(out_dir / "speed.csv", frame.to_csv(index=False))
    atomic_write_text(out_dir / "speed-environment.json", json.dumps(meta, indent=2, default=str) + "\n")

    ort = frame[frame.backend == "onnxruntime"]
    sections = []
    for section, title in (("ops", "Single ops"), ("graphs", "Real graphs"),
                           ("models", "PyMC models, logp and gradient per call (size: parameters)")):
        part = ort[ort.section == section]
        if part.empty:
            continue
        ratio = part.pivot_table(index=["op", "dtype"], columns="size", values="ratio_to_py")
        best = part.pivot_table(index=["op", "dtype"], columns="size", values="ratio_to_best_pytensor")
        for label, ratios in (("py-mode time", ratio), ("best PyTensor backend time", best)):
            styled = table(ratios, formatter="{:.3g}", na_rep="n/a").map(_ratio_colour).to_html()
            sections.append(f"<h2>{title}: onnxruntime time / {label}</h2>{styled}")
    real_models = real_models_table(frame)
    if real_models is not None:
        atomic_write_text(out_dir / "speed-real-models.md", markdown(real_models))
        styled = table(real_models, formatter="{:.3g}", na_rep="").map(_ratio_colour, subset=[
            c for c in real_models.columns if c.endswith("/ default")]).to_html()
        sections.insert(0, "<h2>Real models: ONNX nodes, microseconds per call, onnxruntime / PyTensor's default "
                        "mode</h2>" + styled)
    bound = ort[ort.bandwidth_bound_s.notna()].pivot_table(index=["op", "dtype"], columns="size",
                                                          values="bound_fraction")
    if not bound.empty:
        sections.append("<h2>onnxruntime: fraction of the memory-bandwidth bound reached (1 = at the bound)</h2>"
                        + table(bound, formatter="{:.2f}", na_rep="n/a").to_html())
    plots = []
    for (section, op, dtype), group in frame.groupby(["section", "op", "dtype"]):
        series = {b: list(zip(g["size"], g["median_s"])) for b, g in group.groupby("backend")}
        plots.append(_svg_loglog(series, f"{op} ({dtype})"))
    measurements = table(frame[TABLE_COLUMNS], precision=3).hide(axis="index").to_html()
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Speed matrix</title>
<style>body {{ font-family: system-ui, sans-serif; margin: 2em; }} table {{ border-collapse: collapse; font-size: 12px;
margin-bottom: 1.5em; }} td, th {{ border: 1px solid #ccc; padding: 2px 6px; }} svg {{ margin: 4px; border: 1px solid #eee; }}
</style></head><body><h1>onnxruntime vs PyTensor: speed matrix</h1>
<p>{text(json.dumps(meta, default=str))}</p>
<p>How to read: a ratio below 1 means onnxruntime's steady-state call is faster (green), above 1 slower
(red). Times are medians over repeats of many calls, measured one backend after the other in one run;
one-off costs (export + session creation, PyTensor compilation) are in speed.csv, column one_off_s.
"default" is PyTensor's default mode (what pytensor.function and PyMC compile with), "py" its Python
linker without rewrites, "c" and "numba" its compiled modes; "onnxruntime_1thread" runs one intra-op
thread, "onnxruntime" one per core.</p>
{''.join(sections)}<h2>Time vs size (log-log)</h2>{''.join(plots)}
<h2>All measurements</h2>{measurements}
</body></html>"""
    atomic_write_text(out_dir / "speed.html", page)


def _ratio_colour(value) -> str:
    if not isinstance(value, float) or not math.isfinite(value):
        return "color: #999"
    if value < 1:
        return "background-color: #c8e6c9"
    return "background-color: #ffcdd2" if value > 1.5 else "background-color: #fff3c4"
