"""grader/course_folder.py: the course folder's layout, named once."""

from __future__ import annotations

from pathlib import Path

from grader.course_folder import TIMESTAMP, CourseFolder, valid_student_id
from grader.paths import NOTEBOOK


def test_every_step_finds_its_folder_where_nbgrader_puts_it(tmp_path):
    folder = CourseFolder(tmp_path)
    assert folder.source("01-kernels") == tmp_path / "source" / "01-kernels" / NOTEBOOK
    assert folder.hidden("01-kernels") == tmp_path / "hidden" / "01-kernels" / NOTEBOOK
    assert folder.release("01-kernels") == tmp_path / "release" / "01-kernels" / NOTEBOOK
    assert folder.submitted("ann", "01-kernels") == tmp_path / "submitted" / "ann" / "01-kernels"
    assert folder.autograded("ann", "01-kernels") == tmp_path / "autograded" / "ann" / "01-kernels"
    assert folder.feedback_root() == tmp_path / "feedback"
    assert folder.exports() == tmp_path / "exports"
    assert TIMESTAMP == "timestamp.txt"  # nbgrader reads this name


def test_submitted_students_are_the_folders_that_hold_the_chapter(tmp_path):
    folder = CourseFolder(str(tmp_path))  # a plain string is a path too
    for student, chapter in [("bo", "01-kernels"), ("ann", "01-kernels"), ("cy", "02-padding")]:
        folder.submitted(student, chapter).mkdir(parents=True)
    assert folder.submitted_students("01-kernels") == ["ann", "bo"]
    assert folder.submitted_students("03-stride") == []
    assert isinstance(folder.root, Path)


def test_a_student_id_is_a_safe_folder_name():
    assert valid_student_id("ann.lee-2_b")
    for bad in ("", "..", "a..b", "../x", "a/b", ".hidden", "x" * 65, 7, None, "é"):
        assert not valid_student_id(bad), bad
