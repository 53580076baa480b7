"""`harness.conformance.runner.run_task`: one cell in the worker, with the profile's examples or --max-examples."""

import pytest
from hypothesis import settings

from backend import ONNX_OPSET_VERSION
from harness.conformance.engine import special_value_grid_of
from harness.conformance.runner import CellTask, run_task
from harness.registry import ONNX_OPERATIONS
from strategies.profiles import examples_for


@pytest.fixture
def restore_profile():
    """run_task loads the task's profile globally, as a worker process does: put this worker's back."""
    before = settings.get_current_profile_name()
    yield
    settings.load_profile(before)


@pytest.mark.parametrize("op,max_examples", [("erfinv", None), ("exp", None), ("erfinv", 3)])
def test_a_cell_runs_its_share_of_the_ci_examples_unless_told_how_many(op, max_examples, tmp_path,
                                                                          restore_profile):
    record = run_task(CellTask(op, "float32", ONNX_OPSET_VERSION, "ci", None, max_examples, str(tmp_path)))
    assert record["status"] == "pass", record["reason"]
    ci_examples = settings.get_profile("ci").max_examples
    share = ONNX_OPERATIONS[op].ci_example_share
    assert (share < 1) == (op == "erfinv")  # the registry gives erfinv's large graph a share
    expected = max_examples if max_examples is not None else examples_for(ci_examples, ci_share=share)
    grid = special_value_grid_of(op, "float32") is not None  # one more: the special-value grid
    assert record["examples"] == expected + grid


def test_progress_without_a_terminal_prints_a_line_every_interval_even_while_no_cell_ends():
    import io
    import time

    from harness.conformance.runner import Progress

    stream = io.StringIO()
    progress = Progress(4, stream, interval=0.05, tty=False)
    progress(dict(op="add", dtype="float32", status="pass"))
    progress(dict(op="sub", dtype="float32", status="mismatch"))
    time.sleep(0.3)  # no cell ends meanwhile: the lines still come
    progress.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) >= 3, lines
    assert all(line.startswith("progress: 2/4 cells, 1 failing, ") and "ETA " in line for line in lines)
    assert "\r" not in stream.getvalue()  # no bar in a log


def test_progress_on_a_terminal_redraws_a_bar_with_rate_and_eta():
    import io

    from harness.conformance.runner import Progress

    stream = io.StringIO()
    progress = Progress(2, stream, tty=True)
    progress(dict(op="add", dtype="float32", status="pass"))
    progress(dict(op="exp", dtype="float64", status="pass"))
    progress.close()
    text = stream.getvalue()
    assert text.count("\r[") == 2 and "2/2 cells, 0 failing" in text and "ETA" in text and text.endswith("\n")
