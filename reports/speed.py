"""The speed report: ``speed.csv``, ``speed-environment.json`` and ``speed.html`` from the rows the
benchmarks produced (``harness/bench/runner.py``, ``harness/bench/graphs.py``, or a pytest-benchmark JSON).

Ratios are added here (onnxruntime time / PyTensor time per op x dtype x size); the page holds the
ratio matrices coloured (pandas Styler), the bandwidth-bound fractions and small log-log plots drawn
as inline SVG. Every text from the rows is escaped (`reports.safe_html`). Files are written atomically.

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
                 "ratio_to_best_pytensor", "bound_fraction", "note"]


def add_ratios(rows: list[dict]) -> list[dict]:
    import pandas as pd

    frame = pd.DataFrame(rows)
    keys = ["section", "op", "dtype", "size"]
    py = frame[frame.backend == "py"].set_index(keys)["median_s"]
    best = frame[frame.backend.isin(PYTENSOR_BACKENDS)].groupby(keys)["median_s"].min()
    indexed = frame.set_index(keys)
    frame["ratio_to_py"] = (indexed["median_s"] / py.reindex(indexed.index)).to_numpy()
    frame["ratio_to_best_pytensor"] = (indexed["median_s"] / best.reindex(indexed.index)).to_numpy()
    frame["bound_fraction"] = frame["bandwidth_bound_s"] / frame["median_s"]
    return frame.to_dict("records")


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
"py" is PyTensor's Python linker without rewrites, "c" and "numba" its compiled modes; in the PyMC
model section, "pymc_default" is the model's logp_dlogp_function as PyMC compiles it.</p>
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
