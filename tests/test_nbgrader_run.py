"""grader.nbgrader_run's steps around nbgrader, without running it.

`prepare_submission` (is it a notebook, what nbgrader will grade) and `run_nbgrader`'s reading
of how the process ended, on small course folders; the process itself is replaced by its
outcome (`warm_start.run_measured`). tests/test_round.py runs real nbgrader end to end.
"""

from __future__ import annotations

import shutil
import stat

import nbformat
import pytest
from conftest import CHAPTERS_DIR

from grader import nbgrader_run
from grader.course_folder import REBUILT, TIMESTAMP, CourseFolder
from grader.grade_result import GradeResult
from grader.notebooks import grade_id
from grader.paths import NOTEBOOK

CHAPTER = "01-kernels"
RELEASE = CHAPTERS_DIR / CHAPTER / NOTEBOOK


@pytest.fixture
def course(tmp_path):
    release = CourseFolder(tmp_path).release(CHAPTER)
    release.parent.mkdir(parents=True)
    shutil.copy(RELEASE, release)
    return tmp_path


def _submit(course, text: str, stamp: str | None = None) -> None:
    folder = CourseFolder(course).submitted("ada", CHAPTER)
    folder.mkdir(parents=True)
    (folder / NOTEBOOK).write_text(text)
    if stamp is not None:
        (folder / TIMESTAMP).write_text(stamp)


def _prepare(course) -> tuple[nbformat.NotebookNode | None, GradeResult]:
    result = GradeResult("ada", CHAPTER, "graded")
    return nbgrader_run.prepare_submission(course, CHAPTER, "ada", result), result


def test_the_student_notebook_is_rebuilt_privately_with_its_timestamp(course):
    _submit(course, RELEASE.read_text(), "2026-12-01 10:00:00 UTC")
    nb, result = _prepare(course)
    assert nb is not None and (result.status, result.flags) == ("graded", [])
    target = course / REBUILT / "ada" / CHAPTER
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    rebuilt = nbformat.read(target / NOTEBOOK, as_version=4)
    assert [grade_id(c) for c in rebuilt.cells] == [grade_id(c) for c in nb.cells]
    assert (target / TIMESTAMP).read_text() == "2026-12-01 10:00:00 UTC"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{not json", "not a readable notebook"),
        (
            '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
            "a notebook without cells",
        ),
    ],
    ids=["bad JSON", "no cells"],
)
def test_an_unreadable_notebook_is_corrupt_and_nothing_is_rebuilt(course, text, problem):
    _submit(course, text)
    nb, result = _prepare(course)
    assert nb is None and result.status == "corrupt"
    assert problem in result.message
    assert not (course / REBUILT / "ada" / CHAPTER).exists()


def test_a_deleted_answer_cell_is_flagged_and_graded_as_the_release_left_it(course):
    nb = nbformat.read(RELEASE, as_version=4)
    answers = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    removed = grade_id(answers[0])
    nb.cells.remove(answers[0])
    nb.cells.append(nbformat.v4.new_code_cell("print('my own cell')"))
    _submit(course, nbformat.writes(nb))
    _, result = _prepare(course)
    assert f"structure {removed}: answer cell missing (graded as unanswered)" in result.flags
    assert "structure 1 code cells of the student's own dropped" in " ".join(result.flags)
    rebuilt = nbformat.read(course / REBUILT / "ada" / CHAPTER / NOTEBOOK, as_version=4)
    kept = next(c for c in rebuilt.cells if grade_id(c) == removed)
    assert kept.source == answers[0].source  # the release's stub
    assert "my own cell" not in nbformat.writes(rebuilt)


def _run(monkeypatch, tmp_path, code, output="") -> GradeResult:
    monkeypatch.setattr(nbgrader_run.warm_start, "run_measured", lambda *args: (code, output, 123))
    result = GradeResult("ada", CHAPTER, "graded")
    nbgrader_run.run_nbgrader(["nbgrader", "autograde"], tmp_path, CHAPTER, "ada", 60, result, {})
    return result


def test_a_finished_nbgrader_leaves_the_result_graded(monkeypatch, tmp_path):
    result = _run(monkeypatch, tmp_path, 0, "ERROR looks bad but the process succeeded")
    assert (result.status, result.message, result.grader_peak) == ("graded", "", 123)


def test_a_process_past_the_notebook_limit_is_a_time_limit(monkeypatch, tmp_path):
    result = _run(monkeypatch, tmp_path, None)
    assert result.status == "time limit"
    assert "60 s notebook limit" in result.message


def test_a_failed_nbgrader_is_an_error_naming_its_last_errors_and_the_log(monkeypatch, tmp_path):
    output = "start\n[AutogradeApp | ERROR] one\nok\nValueError: two\n"
    result = _run(monkeypatch, tmp_path, 1, output)
    log = tmp_path / "logs" / CHAPTER / "ada.log"
    assert result.status == "error"
    assert "[AutogradeApp | ERROR] one | ValueError: two" in result.message
    assert str(log) in result.message and log.read_text() == output
