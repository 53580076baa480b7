"""CI outputs (reports/ci.py): JUnit XML valid against the layout CI reporters read, whatever the text
in the records; GitHub's step summary and annotations only under GitHub Actions."""

import io
from pathlib import Path

import pytest
import xmlschema

from reports.ci import cell_cases, finding_cases, github_outputs, write_junit
from reports.matrix import matrix_frame

SCHEMA = xmlschema.XMLSchema(Path(__file__).with_name("junit.xsd"))
HOSTILE = 'a <b>&"\x00\x1b\ud800 ]]> line\nbreak'
ENV = {name: "n/a" for name in ("pytensor", "onnx", "onnxruntime", "numpy", "hypothesis")}


def _record(op, status, **fields):
    return dict(op=op, family="scalar", dtype="float32", opset=18, status=status, seconds=0.25, **fields)


def test_every_status_becomes_one_valid_testcase_with_the_right_outcome(tmp_path):
    records = [_record("add", "pass"), _record("exp", "xfail", declaration="exp#x [pytensor]"),
               _record("tan", "unsupported", reason="no kernel"),
               _record(HOSTILE, "mismatch", reason=HOSTILE, counterexample=HOSTILE, reproducer="reproducers/a.py"),
               _record("sin", "crash", reason="died"), _record("cos", "xpass", reason="stale")]
    path = tmp_path / "cells.xml"
    write_junit(path, "suite", cell_cases(matrix_frame(records, ENV)))
    SCHEMA.validate(path)  # raises on an invalid file
    suite = SCHEMA.to_dict(path)["testsuite"][0]
    assert (suite["@tests"], suite["@failures"], suite["@skipped"]) == (6, 3, 2)
    cases = {case["@name"].split("[")[0]: case for case in suite["testcase"]}
    assert cases["exp"]["skipped"]["@message"] == "xfail: exp#x [pytensor]"
    assert cases["tan"]["skipped"]["@message"] == "unsupported: no kernel"
    assert "failure" not in cases["add"] and "skipped" not in cases["add"]
    hostile = next(case for name, case in cases.items() if name.startswith("a <b>"))
    assert hostile["failure"]["@message"].startswith("mismatch: a <b>&")
    assert "reproducer: reproducers/a.py" in hostile["failure"]["$"]
    assert cases["cos"]["failure"]["@message"] == "xpass: stale"


def test_fuzz_findings_are_failing_testcases(tmp_path):
    path = tmp_path / "fuzz.xml"
    rows = [dict(kind="finding", key="abc", check="optimizer", detail=HOSTILE, graph="v0 = ...", reproducer="r.py"),
            dict(kind="xfail", declaration="d", graphs=3)]
    write_junit(path, "fuzz", finding_cases(rows, 40))
    suite = SCHEMA.to_dict(path)["testsuite"][0]
    assert (suite["@tests"], suite["@failures"]) == (2, 1)
    assert suite["testcase"][1]["@name"] == "40 graphs judged"


def test_github_outputs_only_under_github_actions(tmp_path):
    summary = tmp_path / "summary.md"
    out = io.StringIO()
    assert not github_outputs("t", {"pass": 1}, [("x", "y")], environ={"GITHUB_STEP_SUMMARY": str(summary)}, stream=out)
    assert out.getvalue() == "" and not summary.exists()
    failing = [("add[float32] opset18", "mismatch: 100% off\nsecond line"), ("a|b", "<script>")]
    assert github_outputs("Matrix", {"pass": 3, "mismatch": 2}, failing,
                          environ={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}, stream=out)
    lines = out.getvalue().splitlines()
    # one annotation per failing item, on one line each, with GitHub's escapes
    assert lines == ["::error title=add[float32] opset18::mismatch: 100%25 off%0Asecond line",
                     "::error title=a|b::<script>"]
    text = summary.read_text()
    assert "## Matrix" in text and "| mismatch | 2 |" in text and "a\\|b" in text and "<script>" not in text


@pytest.mark.parametrize("hostile", ["\x00", "\ud800", "\x1b[31m"])
def test_text_xml_cannot_hold_is_replaced_not_fatal(tmp_path, hostile):
    write_junit(tmp_path / "x.xml", "s", [dict(classname=hostile, name=hostile, time=None, outcome="failure",
                                               message=hostile, text=hostile)])
    SCHEMA.validate(tmp_path / "x.xml")
