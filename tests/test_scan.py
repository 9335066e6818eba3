"""grader.scan: unreadable notebooks, suspicious code and edited locked cells, named for review.

The chapter 01 notebooks check the scan against real cells; tests/files/ (see its README)
holds the small submissions for the tampering report.
"""

from __future__ import annotations

import json

import nbformat
from conftest import FILES

from grader.notebooks import fill_answers, grade_id, solution_answers
from grader.paths import CHAPTERS_DIR, NOTEBOOK, SOLUTIONS_DIR
from grader.scan import not_executed, notebook_problem, scan_code, tampering

CHAPTER = "01-kernels"


def _student_nb() -> nbformat.NotebookNode:
    return nbformat.read(CHAPTERS_DIR / CHAPTER / NOTEBOOK, as_version=4)


def _solution_nb() -> nbformat.NotebookNode:
    return nbformat.read(SOLUTIONS_DIR / CHAPTER / NOTEBOOK, as_version=4)


def _reference() -> nbformat.NotebookNode:
    """The student notebook with the reference answers, as a good student hands it in."""
    return fill_answers(_student_nb(), solution_answers(_solution_nb()))


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(FILES / name, as_version=4)


def _cell(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if grade_id(c) == name)


def test_code_scan_flags_patched_tools_exits_and_sockets():
    nb = fill_answers(
        _student_nb(),
        {
            "hand_output": "checks.check_close = print\nnp.testing.assert_allclose = print\n",
            "kernel_bank": "import socket, sys\nsys.exit(0)\n",
            "conv2d_valid": "class A:\n    def __eq__(self, o):\n        return True\n",
            "edge_kernel": "import math\nmath.isclose = lambda *a, **k: True\n"
            "get_ipython().showtraceback = print\n",
            "apply_kernels": "import os\nos._exit(0)\n",
        },
    )
    flags = "\n".join(scan_code(nb))
    for expected in (
        "replaces checks.check_close",
        "replaces np.testing.assert_allclose",
        "replaces math.isclose",
        "imports socket",
        "calls sys.exit()",
        "defines __eq__",
        "showtraceback",
        "calls os._exit()",
    ):
        assert expected in flags, flags
    assert scan_code(_reference()) == []


def test_code_scan_reads_the_students_cells_only_and_survives_bad_code():
    nb = _read("added-cells.ipynb")
    assert scan_code(nb) == ["an unmarked cell: replaces checks.check_close"]
    _cell(nb, "setup").source += "\nimport socket"  # a locked cell: replaced before grading
    _cell(nb, "test_double").source += "\nimport subprocess"
    _cell(nb, "double").source = "%pip install x\n!ls\ndef double(x):\n    return x +"
    assert scan_code(nb) == ["an unmarked cell: replaces checks.check_close"]


def test_tampering_report_names_each_change():
    source = _solution_nb()
    assert tampering(_reference(), source) == []
    tampered = _reference()
    test = _cell(tampered, "test_hand_output")
    test.source = 'print("Part 1 passed.")'
    test.metadata.nbgrader["points"] = 10
    notes = "\n".join(tampering(tampered, source))
    assert "test_hand_output: points changed to 10" in notes
    assert "test_hand_output: test code edited" in notes
    deleted = _reference()
    deleted.cells.remove(_cell(deleted, "test_hand_output"))
    assert tampering(deleted, source) == ["test_hand_output: deleted (put back from the release)"]


def test_tampering_report_on_edited_and_misshapen_submissions():
    """As autograde calls it: the submission against the release."""
    notes = tampering(_read("edited.ipynb"), _read("release.ipynb"))
    for expected in (
        "intro: lock or grade flag changed",
        "setup: lock or grade flag changed",
        "test_double: points changed to 10",
        "test_double: test code edited",
        "task_plot: lock or grade flag changed",
    ):
        assert expected in notes, notes
    assert not [n for n in notes if n.startswith(("double:", "total:", "parameters:"))], notes
    notes = tampering(_read("misshapen.ipynb"), _read("release.ipynb"))
    assert "test_double: deleted (put back from the release)" in notes


def test_tampering_report_names_a_duplicated_and_a_retyped_locked_cell():
    nb = _read("answered.ipynb")
    nb.cells.append(nbformat.from_dict(_cell(nb, "test_double")))
    intro = _cell(nb, "intro")
    intro.cell_type = "raw"
    notes = tampering(nb, _read("release.ipynb"))
    assert "test_double: duplicated" in notes and "intro: cell type changed to raw" in notes


def test_an_honest_submission_with_a_written_answer_is_not_reported():
    assert tampering(_read("answered.ipynb"), _read("release.ipynb")) == []


def test_unreadable_notebooks_are_named_with_the_reason(tmp_path):
    good = tmp_path / "good.ipynb"
    nbformat.write(_student_nb(), good)
    assert notebook_problem(good) is None
    truncated = tmp_path / "truncated.ipynb"
    truncated.write_text(good.read_text()[:500])
    assert "not a readable notebook (NotJSONError" in notebook_problem(truncated)
    old_format = tmp_path / "v3.ipynb"
    old_format.write_text(json.dumps({"nbformat": 3, "nbformat_minor": 0, "worksheets": "x"}))
    assert "not a readable notebook" in notebook_problem(old_format)
    empty = tmp_path / "empty.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), empty)
    assert notebook_problem(empty) == "a notebook without cells"
    twice = _student_nb()
    twice.cells.append(next(c for c in twice.cells if grade_id(c) == "hand_output"))
    doubled = tmp_path / "doubled.ipynb"
    nbformat.write(twice, doubled)
    assert notebook_problem(doubled) is None  # readable: rebuilt from what matches, flagged


def test_not_executed_names_the_code_cells_that_never_ran():
    nb = _read("answered.ipynb")
    assert not_executed(nb) == []
    _cell(nb, "test_total").execution_count = None
    nb.cells.append(nbformat.v4.new_code_cell("print(1)"))
    nb.cells.append(nbformat.v4.new_code_cell("  \n"))  # empty: nothing to run
    assert not_executed(nb) == ["test_total", f"cell {len(nb.cells) - 2}"]
