"""Compare two runs: regressions (pass -> failing), fixes (failing -> pass), new and removed cells."""

from __future__ import annotations

import pandas as pd

from common.files import atomic_write_text
from common.status import FAILING

KEY = ["op", "dtype", "opset"]
DIFF_COLUMNS = [*KEY, "old_status", "new_status", "change"]


def _classify(old, new) -> str:
    if pd.isna(old):
        return "new"
    if pd.isna(new):
        return "removed"
    if old == new:
        return "unchanged"
    if old not in FAILING and new in FAILING:
        return "regression"
    if old in FAILING and new not in FAILING:
        return "fix"
    return "changed"


def diff_records(old: list[dict], new: list[dict]) -> pd.DataFrame:
    def frame(records):
        if not records:
            return pd.DataFrame(columns=[*KEY, "status"])
        return pd.DataFrame.from_records(records)[[*KEY, "status"]]

    merged = frame(old).merge(frame(new), on=KEY, how="outer", suffixes=("_old", "_new"))
    merged["change"] = [_classify(o, n) for o, n in zip(merged["status_old"], merged["status_new"])]
    merged = merged.rename(columns={"status_old": "old_status", "status_new": "new_status"})
    return merged.sort_values(["change", *KEY]).reset_index(drop=True)[DIFF_COLUMNS]


def write_diff(out_dir, diff: pd.DataFrame) -> None:
    atomic_write_text(out_dir / "diff.csv", diff.to_csv(index=False))


def regressions(diff: pd.DataFrame) -> int:
    return int((diff["change"] == "regression").sum())
