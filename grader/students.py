"""Student notebooks: `chapters/NN-topic/exercises.ipynb`, generated from `solutions/` by nbgrader.

How one is generated; `course-grade release` uses it, and so does the build tool that writes or
checks the committed ones, `course-students [--check]` (`make students`, coursebuild/students.py).
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from grader.course import add_source, nbgrader
from grader.paths import NOTEBOOK

HEADER_ID = "generated-header"


def header_cell(chapter: str) -> nbformat.NotebookNode:
    """The first cell of a student notebook: where it comes from and what to edit instead."""
    cell = nbformat.v4.new_markdown_cell(
        "**Graded notebook.** Write each answer where it says `YOUR CODE HERE`, in place of the "
        "`raise NotImplementedError(...)` line. Each answer has a test cell below it: "
        "run it for instant feedback. More tests, hidden from you, run when your work is "
        "graded, so solve the task in general rather than for the examples shown. Only the "
        "answer cells are graded: code in cells you add yourself is not run by the grader. "
        "Before you submit, restart the kernel and run all cells."
    )
    # Where the notebook comes from, for course maintainers (metadata: an HTML comment would
    # show as raw text in the sanitised feedback pages).
    cell.metadata["course"] = {
        "generated_from": f"solutions/{chapter}/{NOTEBOOK}",
        "by": "make students: edit that file, not this one",
    }
    cell.id = HEADER_ID
    return cell


def generate_student_notebook(chapter: str, course: Path) -> nbformat.NotebookNode:
    """Run `nbgrader generate_assignment` for `chapter` in `course`; return the student version."""
    add_source(course, chapter)
    nbgrader(["generate_assignment", chapter, "--force"], course)
    nb = nbformat.read(Path(course) / "release" / chapter / NOTEBOOK, as_version=4)
    nb.cells.insert(0, header_cell(chapter))
    return nb


def student_notebook_text(nb: nbformat.NotebookNode) -> str:
    """The exact text a student notebook is stored as."""
    return nbformat.writes(nb) + "\n"
