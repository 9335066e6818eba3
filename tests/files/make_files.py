"""Write the small fixture notebooks of tests/files/ (see README.md there).

    .venv/bin/python tests/files/make_files.py

`source.ipynb` is a two-part instructor notebook; `release.ipynb` its student version, as
nbgrader releases it (solutions stubbed, hidden tests gone); the other files are submissions,
each the release with one kind of change. Cell ids are fixed, so the files are stable.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

HERE = Path(__file__).parent
KERNEL = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
STUB = "    # YOUR CODE HERE\n    raise NotImplementedError()"
WRITTEN_STUB = "YOUR ANSWER HERE"
ANSWERS = {
    "double": "def double(x):\n    return SCALE * x",
    "total": "def total(xs):\n    return sum(xs)",
    "why": "Doubling is scaling by two.",
}


def _nbgrader(cell, grade_id, locked=False, solution=False, grade=False, task=False, points=None):
    meta = {
        "cell_type": cell.cell_type,
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": task,
    }
    if points is not None:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    cell.metadata["deletable"] = False
    if locked:
        cell.metadata["editable"] = False
    cell.id = grade_id
    return cell


def _code(source, grade_id=None, **flags):
    cell = nbformat.v4.new_code_cell(source)
    return _nbgrader(cell, grade_id, **flags) if grade_id else cell


def _markdown(source, grade_id=None, **flags):
    cell = nbformat.v4.new_markdown_cell(source)
    return _nbgrader(cell, grade_id, **flags) if grade_id else cell


def _solution(answer: str) -> str:
    """An answer cell of the instructor: the signature, then the solution region."""
    signature, body = answer.split("\n", 1)
    return f"{signature}\n    ### BEGIN SOLUTION\n{body}\n    ### END SOLUTION"


def source() -> nbformat.NotebookNode:
    """The instructor's notebook: solutions, visible and hidden tests, one hidden-only part."""
    header = _markdown("# Exercises: doubling")
    header.id = "header"
    scratch = _code("# scratch: try things here")
    scratch.id = "scratch"
    cells = [
        header,
        _markdown("Two graded parts and a written answer.", "intro", locked=True),
        _code("import numpy as np\n\nSCALE = 2", "setup", locked=True),
        _code("SEED = 0", "parameters", locked=True),
        _code(_solution(ANSWERS["double"]), "double", solution=True),
        _code(
            '"""double() doubles."""\n'
            "assert double(1) == 2\n"
            "### BEGIN HIDDEN TESTS\n"
            "# CANARY hidden double\n"
            "assert double(21) == 42\n"
            "### END HIDDEN TESTS",
            "test_double",
            locked=True,
            grade=True,
            points=2,
        ),
        _markdown("Why does `double` work?", "task_why", locked=True),
        _markdown(ANSWERS["why"], "why", solution=True, grade=True, points=1),
        _markdown(
            "Plot `double` on [0, 1] (checked by hand).",
            "task_plot",
            locked=True,
            task=True,
            points=1,
        ),
        _code(_solution(ANSWERS["total"]), "total", solution=True),
        _code(
            '"""total() adds."""\n'
            "assert total([1, 2]) == 3\n"
            "### BEGIN HIDDEN TESTS\n"
            "# grader: hidden tests only\n"
            "# CANARY hidden total\n"
            "assert total(np.arange(4)) == 6\n"
            "### END HIDDEN TESTS",
            "test_total",
            locked=True,
            grade=True,
            points=1,
        ),
        scratch,
    ]
    return nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": KERNEL})


def release() -> nbformat.NotebookNode:
    """The student version of `source()`: solutions stubbed, hidden tests removed."""
    nb = source()
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            cell.source = cell.source.split("\n", 1)[0] + "\n" + STUB
        elif meta.get("solution"):
            cell.source = WRITTEN_STUB
        elif "BEGIN HIDDEN TESTS" in cell.source:
            cell.source = cell.source.split("\n### BEGIN HIDDEN TESTS")[0]
    return nb


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def answered() -> nbformat.NotebookNode:
    """An honest student: every answer written and run, the outputs left in."""
    nb = release()
    for name, text in ANSWERS.items():
        _cell(nb, name).source = text
    for count, cell in enumerate((c for c in nb.cells if c.cell_type == "code"), 1):
        cell.execution_count = count
    _cell(nb, "setup").outputs = [nbformat.v4.new_output("stream", text="set up\n")]
    _cell(nb, "double").outputs = [
        nbformat.v4.new_output("execute_result", data={"text/plain": "4"}, execution_count=5)
    ]
    return nb


def edited() -> nbformat.NotebookNode:
    """Answers written, and the locked, test and task cells and every metadata edited."""
    nb = answered()
    setup = _cell(nb, "setup")
    setup.source = "import numpy as np\n\nSCALE = 3"
    setup.metadata.nbgrader["locked"] = False
    test = _cell(nb, "test_double")
    test.source = 'print("double() passed")'
    test.metadata.nbgrader["points"] = 10
    task = _cell(nb, "task_plot")
    task.source = "Done."
    task.metadata.nbgrader.update(points=5, locked=False)
    intro = _cell(nb, "intro")
    intro.metadata["editable"] = True
    intro.metadata.nbgrader["locked"] = False
    answer = _cell(nb, "double")  # made a graded, locked cell worth 100 points
    answer.metadata.nbgrader.update(grade=True, locked=True, points=100)
    answer.metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"display_name": "mine", "language": "python", "name": "mine"}
    nb.metadata["language_info"] = {"name": "python", "version": "0.0"}
    return nb


def misshapen() -> nbformat.NotebookNode:
    """`double` turned into markdown and its test deleted, `total` pasted twice (a wrong copy
    first), the written answer `why` deleted."""
    nb = answered()
    double = _cell(nb, "double")
    double.cell_type = "markdown"
    double.metadata.nbgrader["cell_type"] = "markdown"
    del double["outputs"], double["execution_count"]
    total = _cell(nb, "total")
    total.source = "def total(xs):\n    return 0"
    twin = nbformat.from_dict(total)
    twin.source, twin.id = ANSWERS["total"], "total-copy"
    nb.cells.append(twin)
    nb.cells.remove(_cell(nb, "why"))
    nb.cells.remove(_cell(nb, "test_double"))
    return nb


def added_cells() -> nbformat.NotebookNode:
    """Answers written, plus two code cells and a markdown cell of the student's own, and a code
    cell with nbgrader metadata under a grade id the release does not have."""
    nb = answered()
    own = nbformat.v4.new_code_cell("import helpers.checks as checks\n\nchecks.check_close = print")
    own.id = "own-1"
    more = nbformat.v4.new_code_cell("print(double(3))")
    more.id = "own-2"
    notes = nbformat.v4.new_markdown_cell("My notes.")
    notes.id = "own-notes"
    stray = _code("HELPER = 1", "my_helper", solution=True)
    stray.id = "own-stray"
    index = nb.cells.index(_cell(nb, "setup")) + 1
    nb.cells[index:index] = [own, notes]
    nb.cells += [more, stray]
    return nb


FILES = {
    "source.ipynb": source,
    "release.ipynb": release,
    "answered.ipynb": answered,
    "edited.ipynb": edited,
    "misshapen.ipynb": misshapen,
    "added-cells.ipynb": added_cells,
}


def main() -> None:
    for name, build in FILES.items():
        nb = build()
        nbformat.validate(nb)
        nbformat.write(nb, HERE / name)


if __name__ == "__main__":
    main()
