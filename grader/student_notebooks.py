"""Student notebooks: `chapters/NN-topic/exercises.ipynb`, generated from `solutions/` by nbgrader.

How one is generated; `course-grade release` uses it, and so does the build tool that writes or
checks the committed ones, `course-students [--check]` (`make students`, coursebuild/students.py).
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from grader.course import add_source
from grader.course_folder import CourseFolder
from grader.paths import NOTEBOOK
from grader.warm_start import nbgrader

HEADER_ID = "generated-header"


def header_cell(chapter: str) -> nbformat.NotebookNode:
    """The cell under a student notebook's title: how to answer and submit, and its source.

    The chapter's own introduction, just below, says what the parts practise and how the test
    cells and hidden tests work; this cell adds only what is the same in every chapter.
    """
    cell = nbformat.v4.new_markdown_cell(
        "**Graded notebook.** Write each answer where it says `YOUR CODE HERE`, in place of the "
        "`raise NotImplementedError(...)` line. Only the answer cells are graded: code in cells "
        "you add yourself is not run by the grader. Before you submit, restart the kernel and "
        f"run all cells, or run `make check NB=chapters/{chapter}/{NOTEBOOK}`."
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
    nb = nbformat.read(CourseFolder(course).release(chapter), as_version=4)
    # Under the title: the page's first line is the chapter's H1, as on every page of the book.
    nb.cells.insert(
        1 if nb.cells and nb.cells[0].source.startswith("# ") else 0, header_cell(chapter)
    )
    return nb


def student_notebook_text(nb: nbformat.NotebookNode) -> str:
    """The exact text a student notebook is stored as."""
    return nbformat.writes(nb) + "\n"
