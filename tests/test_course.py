"""The course folder (grader.course) and the LMS file names it shares with grader.collect."""

from __future__ import annotations

import re

import pytest

from grader.collect import LMS_NAME, parse_time, valid_student_id
from grader.course import NBGRADER_REGEXP, make_course
from grader.paths import REPO_ROOT


def test_course_folder_must_be_outside_the_repository():
    with pytest.raises(ValueError, match="outside the repository"):
        make_course(REPO_ROOT / "grading-here")


def test_lms_file_names_and_times():
    match = LMS_NAME.match("alice-2_20250301T100000Z_exercises.ipynb")
    assert match and match["student_id"] == "alice-2" and match["timestamp"] == "20250301T100000Z"
    assert LMS_NAME.match("bob_exercises.ipynb")["timestamp"] is None
    assert LMS_NAME.match("exercises.ipynb") is None
    assert parse_time("20250301T100000Z") == parse_time("2025-03-01 10:00:00")


NAMES = [
    "alice-2_20250301T100000Z_exercises.ipynb",
    "b.c_exercises.ipynb",
    "X9_20250301T100000_exercises.ipynb",
    "9z_exercises.ipynb",
    "a" * 64 + "_exercises.ipynb",
]


@pytest.mark.parametrize("name", NAMES)
def test_nbgrader_reads_the_same_student_and_time_as_collect(name):
    """collect checks the names; nbgrader's zip_collect (NBGRADER_REGEXP) then files them."""
    ours = LMS_NAME.match(name)
    assert ours and valid_student_id(ours["student_id"])
    theirs = re.match(NBGRADER_REGEXP, f"/course/downloaded/01-kernels/archive/{name}")
    assert theirs, name
    assert (theirs["student_id"], theirs["timestamp"]) == (ours["student_id"], ours["timestamp"])
