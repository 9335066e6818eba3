"""grader.grade_store without nbgrader: what a submission becomes, and when a result is kept.

The round (tests/test_round.py) commits real results; these check the instructor's decisions
before and after a task, on small course folders, in a second.
"""

from __future__ import annotations

import os
import shutil

import pytest
from conftest import CHAPTERS_DIR

from grader import grade_store
from grader.course_folder import TIMESTAMP, CourseFolder
from grader.grade_result import GradeResult
from grader.grade_task import Submission
from grader.gradebook_notes import part_names
from grader.paths import NOTEBOOK

CHAPTER = "01-kernels"


@pytest.fixture
def course(tmp_path):
    """A course folder with chapter 01's notebook as its source (the graded parts' names)."""
    source = CourseFolder(tmp_path).source(CHAPTER)
    source.parent.mkdir(parents=True)
    shutil.copy(CHAPTERS_DIR / CHAPTER / NOTEBOOK, source)
    return tmp_path


def _submit(course, student: str, notebook: bytes = b"{}", stamp: bytes | None = None):
    folder = CourseFolder(course).submitted(student, CHAPTER)
    folder.mkdir(parents=True)
    (folder / NOTEBOOK).write_bytes(notebook)
    if stamp is not None:
        (folder / TIMESTAMP).write_bytes(stamp)
    return folder


def test_a_regular_notebook_is_read_as_bytes_with_its_timestamp(course):
    _submit(course, "ada", b'{"cells": []}', b"2026-12-01 10:00:00 UTC")
    submission = grade_store.read_submission(course, CHAPTER, "ada")
    assert submission == Submission("ada", b'{"cells": []}', b"2026-12-01 10:00:00 UTC")


def test_a_timestamp_of_100_bytes_or_a_symlinked_one_is_not_read(course):
    folder = _submit(course, "ada", stamp=b"x" * 100)
    assert grade_store.read_submission(course, CHAPTER, "ada").timestamp is None
    (folder / TIMESTAMP).unlink()
    outside = course / "elsewhere.txt"
    outside.write_text("2026-12-01 10:00:00 UTC")
    os.symlink(outside, folder / TIMESTAMP)
    assert grade_store.read_submission(course, CHAPTER, "ada").timestamp is None


def test_a_missing_notebook_is_missing_and_has_no_scores(course):
    CourseFolder(course).submitted("ada", CHAPTER).mkdir(parents=True)
    result = grade_store.read_submission(course, CHAPTER, "ada")
    assert isinstance(result, GradeResult)
    assert result.status == "missing"
    assert "was not submitted" in result.message
    assert result.scores is None  # nothing to write into the gradebook


def test_a_symlinked_notebook_scores_zero_on_every_part_without_being_read(course):
    folder = CourseFolder(course).submitted("ada", CHAPTER)
    folder.mkdir(parents=True)
    secret = course / "instructor-only.txt"
    secret.write_text("not the student's")
    os.symlink(secret, folder / NOTEBOOK)
    result = grade_store.read_submission(course, CHAPTER, "ada")
    assert isinstance(result, GradeResult)
    assert result.status == "corrupt"
    assert "not a regular file" in result.message
    assert result.scores == dict.fromkeys(part_names(course, CHAPTER), 0.0)
    assert len(result.scores) >= 2


def test_a_notebook_set_aside_as_unreadable_is_sent_again(course):
    folder = CourseFolder(course).submitted("ada", CHAPTER)
    folder.mkdir(parents=True)
    (folder / (NOTEBOOK + ".corrupt")).write_bytes(b"{not json")
    assert grade_store.read_submission(course, CHAPTER, "ada").notebook == b"{not json"


@pytest.mark.parametrize("student", ["../ada", "-rf", "a" * 65, "a..b", ""])
def test_an_invalid_student_id_is_an_error_and_nothing_is_read(course, student):
    result = grade_store.read_submission(course, CHAPTER, student)
    assert isinstance(result, GradeResult)
    assert (result.status, result.scores) == ("error", None)
    assert "not a valid student id" in result.message


def _entry(status="graded", sha="s", version="v", settings="t"):
    return {"status": status, "sha256": sha, "grader_version": version, "settings": settings}


def test_a_result_is_reused_only_for_the_same_bytes_grader_and_settings():
    submission = Submission("ada", b"{}")
    key = {"sha": submission.sha256}
    assert grade_store.reusable(_entry(**key), submission, "v", "t")
    assert grade_store.reusable(_entry("corrupt", **key), submission, "v", "t")
    assert not grade_store.reusable(None, submission, "v", "t")
    assert not grade_store.reusable(_entry(), submission, "v", "t")  # other bytes
    assert not grade_store.reusable(_entry(**key), submission, "v2", "t")  # another grader
    assert not grade_store.reusable(_entry(**key), submission, "v", "t2")  # other settings


@pytest.mark.parametrize("status", ["time limit", "error", "missing"])
def test_a_time_limit_or_an_error_is_graded_again(status):
    submission = Submission("ada", b"{}")
    assert not grade_store.reusable(_entry(status, sha=submission.sha256), submission, "v", "t")
