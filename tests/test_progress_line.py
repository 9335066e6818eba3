"""`autograde`'s progress lines: done/total, student, status, seconds and the time left."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pytest

from grader.progress_line import (
    PROGRESS_LOG,
    Progress,
    format_duration,
    progress_line,
    seconds_left,
)


@dataclass
class Result:
    student: str
    status: str
    seconds: float


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (12.4, "12 s"), (245, "4 min 05 s"), (3720, "1 h 02 min"), (-3, "0 s")],
)
def test_durations(seconds, text):
    assert format_duration(seconds) == text


def test_the_estimate_is_the_mean_times_the_remaining_over_the_jobs():
    assert seconds_left([10.0, 20.0], 6, 2) == pytest.approx(45.0)
    assert seconds_left([10.0, 20.0], 6, 1) == pytest.approx(90.0)
    assert seconds_left([], 6, 2) == 0.0


def test_a_line_holds_the_count_the_student_the_status_and_the_time_left():
    line = progress_line(3, 40, Result("ada", "time limit", 12.34), 245)
    assert line.startswith("[ 3/40] ada ")
    assert "time limit" in line and "12.3 s" in line and line.endswith("about 4 min 05 s left")
    assert progress_line(40, 40, Result("bo", "graded", 1), 0).endswith("all done")


def test_progress_prints_each_finished_result_and_appends_it_to_the_log(tmp_path):
    stream = io.StringIO()
    progress = Progress(tmp_path, "01-kernels", 4, 2, stream)
    finished = [Result("ada", "graded", 10.0), Result("bo", "error", 30.0)]
    lines = [progress.finished(r) for r in finished]
    assert lines[0].endswith("about 15 s left"), lines[0]  # 10 s x 3 left / 2 jobs
    assert lines[1].endswith("about 20 s left"), lines[1]  # mean 20 s x 2 left / 2 jobs
    printed = stream.getvalue().splitlines()
    assert printed[0] == "autograde 01-kernels: 4 submissions to grade, 2 at a time"
    assert printed[1:] == lines
    logged = (tmp_path / "logs" / PROGRESS_LOG).read_text().splitlines()
    assert len(logged) == 3
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ 01-kernels "
    for entry, line in zip(logged[1:], lines, strict=True):
        assert re.fullmatch(stamp + re.escape(line), entry), entry
    # A second run appends to the same log.
    again = Progress(tmp_path, "01-kernels", 1, 1, io.StringIO())
    assert again.finished(Result("cy", "graded", 2.0)).endswith("all done")
    assert len((tmp_path / "logs" / PROGRESS_LOG).read_text().splitlines()) == 5


def test_on_a_cluster_the_estimate_is_the_wall_clock_rate(tmp_path, monkeypatch):
    clock = iter([100.0, 160.0])  # started at 100, first result at 160: 60 s per result
    monkeypatch.setattr("grader.progress_line.time.monotonic", lambda: next(clock))
    progress = Progress(tmp_path, "c", 3, None, io.StringIO())
    assert progress.finished(Result("ada", "graded", 500.0)).endswith("about 2 min 00 s left")
