"""Files read back and named from data: schema-checked JSON lines, safe file names, the directory lock."""

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.files import (
    DataFileError,
    DirectoryLock,
    DirectoryLocked,
    append_json_line,
    read_json_lines,
    safe_stem,
)
from common.records import HISTORY_SCHEMA, JOURNAL_SCHEMA, RESULT_SCHEMA


def test_bad_lines_are_skipped_with_a_warning_naming_the_file_and_line(tmp_path):
    path = tmp_path / "results.jsonl"
    good = {"op": "add", "dtype": "float32", "opset": 18, "status": "pass"}
    lines = [json.dumps(good), "{}", "null", json.dumps({**good, "opset": "18"}), json.dumps({**good, "status": "ok"}),
             '{"op": "add", "dty', json.dumps([1, 2]), json.dumps({**good, "dtype": "int8", "reason": None})]
    path.write_text("\n".join(lines) + "\n")
    warnings = []
    entries = read_json_lines(path, RESULT_SCHEMA, on_skip=warnings.append)
    assert [e["dtype"] for e in entries] == ["float32", "int8"]
    assert [int(re.search(r"line (\d+)", w).group(1)) for w in warnings] == [2, 3, 4, 5, 6, 7]
    assert all(str(path) in w for w in warnings)
    assert "opset" in warnings[2] and "status" in warnings[3]


def test_history_and_journal_lines_of_the_wrong_shape_are_skipped(tmp_path):
    path = tmp_path / "history.jsonl"
    entry = {"time": "t", "versions": {"onnx": "1.17"}, "counts": {"pass": 3}, "cells": {"add|float32|18": "pass"}}
    append_json_line(path, entry)
    append_json_line(path, {**entry, "counts": {"pass": "3"}})
    append_json_line(path, {**entry, "cells": []})
    assert len(read_json_lines(path, HISTORY_SCHEMA, on_skip=lambda _: None)) == 1
    journal = tmp_path / "seed-1.jsonl"
    append_json_line(journal, {"session": "s", "seed": 1, "round": 0})  # a round without its counts
    skipped = []
    assert read_json_lines(journal, JOURNAL_SCHEMA, on_skip=skipped.append) == [] and len(skipped) == 1


def test_a_directory_where_a_data_file_belongs_is_a_data_file_error(tmp_path):
    (tmp_path / "results.jsonl").mkdir()
    with pytest.raises(DataFileError, match="is not a file"):
        read_json_lines(tmp_path / "results.jsonl")
    assert read_json_lines(tmp_path / "missing.jsonl") == []


@given(parts=st.lists(st.text(), min_size=1, max_size=3))
def test_safe_stems_stay_in_their_folder_and_keep_apart_what_their_slug_merges(parts):
    stem = safe_stem(*parts)
    assert re.fullmatch(r"[A-Za-z0-9_.+-]+", stem) and not stem.startswith(".")
    assert len(stem) <= 70
    folder = Path("/out/reproducers")
    assert (folder / f"{stem}.py").resolve().parent == folder
    assert safe_stem(*parts, "x") != stem


def test_safe_stems_differ_for_names_that_differ_only_in_dropped_characters():
    assert safe_stem("a/b", "f32") != safe_stem("a:b", "f32") != safe_stem("a_b", "f32")
    assert safe_stem("Abs") != safe_stem("abs")  # case-insensitive file systems
    assert safe_stem("../../pwned", "float64").startswith("pwned-float64-")


def test_a_locked_directory_refuses_a_second_lock_until_released(tmp_path):
    with DirectoryLock(tmp_path):
        with pytest.raises(DirectoryLocked, match=f"in use by pid {__import__('os').getpid()}"):
            with DirectoryLock(tmp_path):
                pass
    with DirectoryLock(tmp_path):  # released on exit
        pass
