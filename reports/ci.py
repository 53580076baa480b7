"""What CI tools read: a JUnit XML file (``--junit-xml FILE``) and, under GitHub Actions, a Markdown
step summary and one ``::error`` annotation per failing cell or finding.

JUnit: one ``<testcase>`` per matrix cell (``classname`` the op's family, ``name`` ``op[dtype] opsetN``)
or fuzz finding; a failing status is a ``<failure>`` (message: status and reason; text: counterexample
and reproducer path), xfail and unsupported are ``<skipped>`` with the declaration or the reason. The
layout is the one GitHub's test reporters, GitLab and Jenkins read (``tests/reports/junit.xsd``
checks it). Written atomically; every text is XML-escaped by ElementTree (characters XML 1.0 cannot
hold are replaced).

GitHub: `github_outputs` appends to ``$GITHUB_STEP_SUMMARY`` and prints the annotations when
``GITHUB_ACTIONS`` is ``true``. To add a field: put it in the rows the commands pass here.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from common.files import atomic_write_text
from common.status import FAILING, Status

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(value) -> str:
    """``value`` as text XML 1.0 can hold (control characters and lone surrogates become U+FFFD)."""
    return _NOT_XML.sub("\ufffd", "" if value is None or value != value else str(value))


def _seconds(value) -> str:
    try:
        return f"{max(float(value), 0.0):.3f}"
    except (TypeError, ValueError):
        return "0.000"


def cell_cases(frame) -> list[dict]:
    """JUnit cases of a conformance matrix frame (`reports.matrix.matrix_frame`)."""
    cases = []
    for row in frame.itertuples(index=False):
        status = str(row.status)
        case = dict(classname=row.family or "registry", name=f"{row.op}[{row.dtype}] opset{row.opset}",
                    time=row.seconds, outcome="pass")
        if status in FAILING:
            details = [f"counterexample: {row.counterexample}" if isinstance(row.counterexample, str) and row.counterexample else "",
                       f"reproducer: {row.reproducer}" if isinstance(row.reproducer, str) and row.reproducer else ""]
            case.update(outcome="failure", message=f"{status}: {row.reason or ''}".strip(),
                        text="\n".join(d for d in details if d))
        elif status == Status.XFAIL:
            case.update(outcome="skipped", message=f"xfail: {row.declaration or row.reason or ''}".strip())
        elif status == Status.UNSUPPORTED:
            case.update(outcome="skipped", message=f"unsupported: {row.reason or ''}".strip())
        cases.append(case)
    return cases


def finding_cases(rows: list[dict], graphs: int) -> list[dict]:
    """JUnit cases of a fuzz search: one failing case per finding, one passing case for the graphs
    that passed (``graphs`` judged in all)."""
    cases = [dict(classname="fuzz", name=f"finding {row['key']} ({row.get('check') or ''})", time=0.0,
                  outcome="failure", message=str(row.get("detail") or ""),
                  text=f"{row.get('graph') or ''}\nreproducer: {row.get('reproducer') or ''}")
             for row in rows if row.get("kind") == "finding"]
    cases.append(dict(classname="fuzz", name=f"{graphs} graphs judged", time=0.0, outcome="pass"))
    return cases


def write_junit(path: Path, suite: str, cases: list[dict]) -> None:
    """``cases`` (dicts: classname, name, time, outcome pass/failure/skipped, message, text) as one
    JUnit test suite in ``path``."""
    failures = sum(c["outcome"] == "failure" for c in cases)
    skipped = sum(c["outcome"] == "skipped" for c in cases)
    total = sum(float(_seconds(c.get("time"))) for c in cases)
    root = ET.Element("testsuites", name=suite, tests=str(len(cases)), failures=str(failures), errors="0",
                      skipped=str(skipped), time=f"{total:.3f}")
    element = ET.SubElement(root, "testsuite", name=suite, tests=str(len(cases)), failures=str(failures),
                            errors="0", skipped=str(skipped), time=f"{total:.3f}")
    for case in cases:
        testcase = ET.SubElement(element, "testcase", classname=_xml_text(case["classname"]),
                                 name=_xml_text(case["name"]), time=_seconds(case.get("time")))
        if case["outcome"] == "failure":
            failure = ET.SubElement(testcase, "failure", message=_xml_text(case.get("message")), type="divergence")
            failure.text = _xml_text(case.get("text"))
        elif case["outcome"] == "skipped":
            ET.SubElement(testcase, "skipped", message=_xml_text(case.get("message")))
    ET.indent(root)
    atomic_write_text(Path(path), ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n")


def _annotation_text(value) -> str:
    """A workflow command's message: %, CR and LF escaped as GitHub's runner expects."""
    return str(value).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_outputs(title: str, counts: dict, failing: list[tuple[str, str]], *, environ=None, stream=None) -> bool:
    """Under GitHub Actions (``GITHUB_ACTIONS=true``): append a Markdown summary (``counts``, the failing
    items as (name, why) pairs) to ``$GITHUB_STEP_SUMMARY`` and print one ``::error`` annotation per
    failing item to ``stream`` (stdout). Returns whether it wrote anything."""
    import sys

    environ = os.environ if environ is None else environ
    stream = sys.stdout if stream is None else stream
    if environ.get("GITHUB_ACTIONS") != "true":
        return False
    for name, why in failing:
        print(f"::error title={_annotation_text(name).replace(',', '%2C').replace(':', '%3A')}::"
              f"{_annotation_text(why)}", file=stream)
    summary_file = environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        lines = [f"## {title}", "", "| | count |", "|---|---:|",
                 *[f"| {_markdown_cell(k)} | {v} |" for k, v in counts.items()], ""]
        if failing:
            lines += ["| failing | why |", "|---|---|",
                      *[f"| {_markdown_cell(n)} | {_markdown_cell(w)[:300]} |" for n, w in failing[:100]], ""]
            if len(failing) > 100:
                lines.append(f"... and {len(failing) - 100} more (see the report)\n")
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
    return True


def _markdown_cell(value) -> str:
    """Text safe in a Markdown table cell: no pipes, newlines or HTML."""
    text = str(value).replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    return text.replace("<", "&lt;").replace(">", "&gt;")
