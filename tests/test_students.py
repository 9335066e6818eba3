"""Tests of `course-students` (coursebuild/students.py): the student notebooks are what nbgrader
makes from solutions/, and `--check` notices one edited by hand. The repository's notebooks are
only read: the hand edit is made in a temporary copy."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import CHAPTERS_DIR

from grader.paths import NOTEBOOK

SCRIPT = Path(sys.executable).parent / "course-students"


def course_students(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=900, check=False
    )


@pytest.mark.slow
def test_check_fails_on_a_hand_edited_copy_and_a_rebuild_restores_it(tmp_path):
    """`--check` on two chapters, one edited by hand: only that one is out of date. (That every
    committed notebook is up to date, test_grading.py checks chapter by chapter.)"""
    chapters = ("01-kernels", "09-detection")
    for chapter in chapters:
        (tmp_path / chapter).mkdir()
        shutil.copy(CHAPTERS_DIR / chapter / NOTEBOOK, tmp_path / chapter / NOTEBOOK)
    edited = tmp_path / "09-detection" / NOTEBOOK
    nb = nbformat.read(edited, as_version=4)
    nb.cells[-1].source += "\n# edited by hand"
    nbformat.write(nb, edited)
    hand_edited = edited.read_text()

    result = course_students("--check", "--chapters-dir", str(tmp_path), *chapters)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Out of date: 09-detection." in result.stdout  # and only that one
    assert edited.read_text() == hand_edited, "--check must not write"

    result = course_students("--chapters-dir", str(tmp_path), "09-detection")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Regenerated: 09-detection" in result.stdout
    assert edited.read_text() == (CHAPTERS_DIR / "09-detection" / NOTEBOOK).read_text()


def test_unknown_chapters_are_refused():
    result = course_students("--check", "99-nothing")
    assert result.returncode == 2
    assert "no graded chapter 99-nothing" in result.stderr


@pytest.mark.parametrize(
    "stale, argv, code, said",
    [
        ([], ["--check"], 0, "Up to date."),
        (["02-padding"], ["--check"], 1, "Out of date: 02-padding."),
        (["02-padding"], [], 0, "Regenerated: 02-padding"),
        ([], [], 0, "Up to date."),
    ],
)
def test_what_the_command_says_for_what_it_found(monkeypatch, capsys, stale, argv, code, said):
    """What `main` prints and returns for each outcome of the comparison (which the test above
    runs for real with nbgrader)."""
    from coursebuild import students

    asked = []
    monkeypatch.setattr(
        students, "write_student_notebooks", lambda *args: asked.append(args) or stale
    )
    assert students.main(argv) == code
    assert said in capsys.readouterr().out
    assert asked and asked[0][0] == ("--check" in argv)
