"""What autograde writes into nbgrader's gradebook besides scores: zeros, flags and comments."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbgrader.api import MissingEntry

from grader.course import gradebook
from grader.course_folder import CourseFolder
from grader.notebooks import grade_id, is_answer_cell, is_test_cell
from grader.paths import NOTEBOOK


def part_names(course: Path, chapter: str) -> list[str]:
    """The grade ids of a chapter's graded parts (its test cells), from the source notebook."""
    source = nbformat.read(CourseFolder(course).source(chapter), as_version=4)
    return [grade_id(c) for c in source.cells if is_test_cell(c)]


def zero_parts(course: Path, chapter: str, student: str, parts: list[str]) -> None:
    """Set the automatic score of some graded parts of one submission to zero."""
    with gradebook(course) as gb:
        notebook = gb.find_submission_notebook(Path(NOTEBOOK).stem, chapter, student)
        for grade in notebook.grades:
            if grade.name in parts:
                grade.auto_score = 0.0
                grade.needs_manual_grade = False
        gb.db.commit()


def record_outcome(course: Path, result) -> bool:
    """Write what happened into the gradebook: the notebook flagged, a comment on its first answer.

    The instructor then sees it in formgrader too, not only in grading-log.json. A clean result
    changes nothing (a flag is for a human to clear). Returns False when the gradebook holds no
    submission to write on (a student who never submitted).
    """
    notes = [f"status {result.status}: {result.message}"] if result.status != "graded" else []
    notes += result.flags
    source = nbformat.read(CourseFolder(course).source(result.chapter), as_version=4)
    first_answer = next(grade_id(c) for c in source.cells if is_answer_cell(c))
    with gradebook(course) as gb:
        try:
            notebook = gb.find_submission_notebook(
                Path(NOTEBOOK).stem, result.chapter, result.student
            )
            comment = gb.find_comment(
                first_answer, Path(NOTEBOOK).stem, result.chapter, result.student
            )
        except MissingEntry:
            return False
        if notes:  # nothing to say: leave nbgrader's own comment ("No response.") and flag
            notebook.flagged = True
            before = comment.auto_comment or ""
            kept = "" if not before or before.startswith("Autograder:") else f" ({before})"
            comment.auto_comment = "Autograder: " + " | ".join(notes) + kept
            gb.db.commit()
    return True
