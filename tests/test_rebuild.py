"""`grader.rebuild`: what nbgrader grades is the release with the student's answers put in.

Each test rebuilds a small submission of tests/files/ (see its README) against
`release.ipynb` and compares the result with the release whose answer cells hold what the
student wrote: every other cell, all metadata and the cell order must be the release's.
"""

from __future__ import annotations

import copy

import nbformat
import pytest
from conftest import FILES

from grader.notebooks import grade_id, nbgrader_meta
from grader.paths import CHAPTERS_DIR, NOTEBOOK
from grader.rebuild import MAX_ANSWER_CHARS, rebuild

ANSWERS = ("double", "total", "why")  # the answer cells of the fixtures, code and markdown


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(FILES / name, as_version=4)


def _cell(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if grade_id(c) == name)


def _release_with(answers: dict[str, str]) -> nbformat.NotebookNode:
    """What a rebuild must give: the release, its answer cells holding `answers`."""
    nb = _read("release.ipynb")
    for name, text in answers.items():
        _cell(nb, name).source = text
    return nb


def _answers_of(nb: nbformat.NotebookNode) -> dict[str, str]:
    return {name: _cell(nb, name).source for name in ANSWERS}


def test_an_honest_submission_keeps_its_answers_and_nothing_else():
    """Outputs and execution counts go; the answers, code and markdown, stay."""
    submitted = _read("answered.ipynb")
    assert any(c.get("outputs") for c in submitted.cells)  # the fixture has outputs to drop
    rebuilt, flags = rebuild(submitted, _read("release.ipynb"))
    assert flags == []  # the release's own untracked scratch cell is not "the student's own"
    assert rebuilt == _release_with(_answers_of(submitted))
    code = [c for c in rebuilt.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)


def test_answers_are_matched_by_grade_id_not_by_position_or_cell_id():
    submitted = _read("answered.ipynb")
    answers = _answers_of(submitted)
    submitted.cells.reverse()
    for index, cell in enumerate(submitted.cells):
        cell.id = f"moved-{index}"
    rebuilt, flags = rebuild(submitted, _read("release.ipynb"))
    assert flags == []
    assert rebuilt == _release_with(answers)  # release order, release cell ids


def test_edited_locked_test_and_task_cells_come_back_from_the_release():
    """Source and metadata of every cell but the answers' sources are the release's."""
    submitted = _read("edited.ipynb")
    release = _read("release.ipynb")
    rebuilt, flags = rebuild(submitted, release)
    assert flags == []  # what was edited is reported by grader.scan.tampering, not here
    assert rebuilt == _release_with(_answers_of(submitted))
    assert _cell(rebuilt, "setup").source.endswith("SCALE = 2")
    assert nbgrader_meta(_cell(rebuilt, "setup"))["locked"] is True
    assert _cell(rebuilt, "test_double").metadata.nbgrader["points"] == 2
    assert _cell(rebuilt, "test_double").source == _cell(release, "test_double").source
    task = _cell(rebuilt, "task_plot")
    assert (
        task.source == _cell(release, "task_plot").source and task.metadata.nbgrader["points"] == 1
    )
    assert _cell(rebuilt, "intro").metadata == _cell(release, "intro").metadata


def test_an_answer_cell_keeps_the_release_metadata():
    """A student cannot make an answer cell graded, locked or worth 100 points."""
    rebuilt, _ = rebuild(_read("edited.ipynb"), _read("release.ipynb"))
    answer = _cell(rebuilt, "double")
    assert answer.metadata == _cell(_read("release.ipynb"), "double").metadata
    assert answer.source == "def double(x):\n    return SCALE * x"  # the student's answer


def test_the_submissions_notebook_metadata_is_not_trusted():
    submitted = _read("edited.ipynb")
    assert submitted.metadata.kernelspec["name"] == "mine"
    rebuilt, _ = rebuild(submitted, _read("release.ipynb"))
    assert rebuilt.metadata == _read("release.ipynb").metadata
    assert rebuilt.metadata.kernelspec["name"] == "python3"


def _misshapen() -> tuple[nbformat.NotebookNode, list[str]]:
    return rebuild(_read("misshapen.ipynb"), _read("release.ipynb"))


def test_an_answer_turned_into_markdown_is_flagged_and_not_graded():
    rebuilt, flags = _misshapen()
    assert "double: answer cell changed to markdown (not graded)" in flags
    assert _cell(rebuilt, "double") == _cell(_read("release.ipynb"), "double")  # the stub, code


def test_a_deleted_answer_is_graded_as_unanswered_and_a_deleted_test_comes_back():
    rebuilt, flags = _misshapen()
    release = _read("release.ipynb")
    assert "why: answer cell missing (graded as unanswered)" in flags
    assert _cell(rebuilt, "why") == _cell(release, "why")
    assert _cell(rebuilt, "test_double") == _cell(release, "test_double")  # no flag here


def test_an_answer_pasted_twice_is_graded_from_its_first_copy():
    rebuilt, flags = _misshapen()
    assert "total: answer cell appears 2 times (the first is graded)" in flags
    assert _cell(rebuilt, "total").source == "def total(xs):\n    return 0"
    assert [c.id for c in rebuilt.cells] == [c.id for c in _read("release.ipynb").cells]


def test_a_misshapen_submission_gets_one_flag_per_mismatch_in_release_order():
    rebuilt, flags = _misshapen()
    assert flags == [
        "double: answer cell changed to markdown (not graded)",
        "why: answer cell missing (graded as unanswered)",
        "total: answer cell appears 2 times (the first is graded)",
    ]
    assert rebuilt == _release_with({"total": "def total(xs):\n    return 0"})


def test_cells_the_student_added_are_dropped_and_counted():
    """Two own code cells and one under an unknown grade id are flagged; markdown is not."""
    submitted = _read("added-cells.ipynb")
    rebuilt, flags = rebuild(submitted, _read("release.ipynb"))
    assert flags == [
        "cells with unknown grade ids dropped: my_helper",
        "2 code cells of the student's own dropped (only answer cells count)",
    ]
    assert rebuilt == _release_with(_answers_of(submitted))


def test_an_overlong_answer_is_cut_and_flagged():
    submitted = _read("answered.ipynb")
    _cell(submitted, "double").source = "x = 1\n" * (MAX_ANSWER_CHARS // 6 + 10)
    rebuilt, flags = rebuild(submitted, _read("release.ipynb"))
    assert flags == [f"double: answer cut to {MAX_ANSWER_CHARS:,} characters"]
    assert len(_cell(rebuilt, "double").source) == MAX_ANSWER_CHARS


def test_rebuild_changes_neither_the_submission_nor_the_release():
    """autograde reads the same submission again for the tampering report after a rebuild."""
    submitted, release = _read("misshapen.ipynb"), _read("release.ipynb")
    before = copy.deepcopy((submitted, release))
    rebuilt, _ = rebuild(submitted, release)
    _cell(rebuilt, "total").source = "changed"
    assert (submitted, release) == before


@pytest.mark.parametrize("value", ["double", ["double"]])
def test_nbgrader_metadata_that_is_not_a_dict_is_graded_from_what_matches(value, tmp_path):
    submitted = _read("answered.ipynb")
    _cell(submitted, "total").metadata["nbgrader"] = value
    path = tmp_path / NOTEBOOK
    nbformat.write(submitted, path)
    nbformat.validate(nbformat.read(path, as_version=4))  # grader.scan lets it through
    rebuilt, flags = rebuild(nbformat.read(path, as_version=4), _read("release.ipynb"))
    assert "total: answer cell missing (graded as unanswered)" in flags


def test_the_released_chapter_rebuilds_from_a_doubled_answer():
    release = nbformat.read(CHAPTERS_DIR / "01-kernels" / NOTEBOOK, as_version=4)
    twice = nbformat.from_dict(release)
    twice.cells.append(next(c for c in twice.cells if grade_id(c) == "hand_output"))
    rebuilt, flags = rebuild(twice, release)
    assert flags == ["hand_output: answer cell appears 2 times (the first is graded)"]
    assert [grade_id(c) for c in rebuilt.cells] == [grade_id(c) for c in release.cells]
