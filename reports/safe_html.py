"""HTML from data, escaped by construction: every report builds its tables with `table` (pandas Styler
with every cell, row label and column label escaped, except the columns named as already-built HTML)
and its text with `text`; links to the run's files go through `relative_link`, which links only plain
relative paths inside the run directory. Op names, dtypes, reasons, errors and whatever a downloaded
``results.jsonl`` holds are data, never markup.

To add a table to a report: ``table(frame, html_columns=[...])`` where the named columns were built
from `text` and `relative_link` only.
"""

from __future__ import annotations

import html
import math
import re

_RELATIVE_PATH = re.compile(r"[A-Za-z0-9_.+-]+(?:/[A-Za-z0-9_.+-]+)*")


def text(value) -> str:
    """``value`` as HTML text (None and NaN as nothing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value), quote=True)


def relative_link(path) -> str:
    """A link to a file of the run directory; anything but a plain relative path below it (a URL with a
    scheme such as ``javascript:``, an absolute path, ``..``) is shown as text, not linked."""
    if not isinstance(path, str) or not path:
        return ""
    if _RELATIVE_PATH.fullmatch(path) and ".." not in path.split("/"):
        return f'<a href="{path}">{text(path)}</a>'
    return text(path)


def table(frame, *, html_columns=(), formatter=None, precision: int | None = None, na_rep: str = ""):
    """A pandas Styler of ``frame`` whose cells, row labels and column labels are all escaped, but for
    ``html_columns`` (built with `text`/`relative_link`). Chain ``.map``/``.hide``/attributes and
    call ``.to_html()`` as with any Styler."""
    escaped = [c for c in frame.columns if c not in set(html_columns)]
    style = frame.style
    if escaped:
        style = style.format(formatter, precision=precision, na_rep=na_rep, escape="html", subset=escaped)
    if html_columns:
        style = style.format(na_rep=na_rep, subset=list(html_columns))
    return style.format_index(escape="html", axis=0).format_index(escape="html", axis=1)
