"""Comparing two runs: regressions, fixes, new, removed and changed cells."""

import pandas as pd

from reports.diff import diff_records, regressions, write_diff


def _r(op, status, dtype="float32"):
    return {"op": op, "dtype": dtype, "opset": 18, "status": status}


def test_each_kind_of_change_is_classified():
    old = [_r("a", "pass"), _r("b", "mismatch"), _r("c", "pass"), _r("d", "xfail"), _r("e", "crash"),
           _r("f", "unsupported")]
    new = [_r("a", "mismatch"), _r("b", "pass"), _r("d", "pass"), _r("e", "timeout"), _r("f", "xpass"),
           _r("g", "pass")]
    changes = diff_records(old, new).set_index("op")["change"].to_dict()
    assert changes == {"a": "regression", "b": "fix", "c": "removed", "d": "changed", "e": "changed",
                       "f": "regression", "g": "new"}
    assert regressions(diff_records(old, new)) == 2


def test_identical_runs_have_no_change_and_an_empty_baseline_makes_every_cell_new(tmp_path):
    runs = [_r("a", "pass"), _r("b", "xfail", dtype="int8")]
    assert set(diff_records(runs, runs)["change"]) == {"unchanged"}
    assert set(diff_records([], runs)["change"]) == {"new"}
    write_diff(tmp_path, diff_records([], runs))
    written = pd.read_csv(tmp_path / "diff.csv")
    assert list(written.columns) == ["op", "dtype", "opset", "old_status", "new_status", "change"]
    assert len(written) == 2
