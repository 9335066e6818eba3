"""Real nbgrader on every graded chapter: student notebooks in sync, and the tests discriminate.

For each chapter, in a temporary course folder: `generate_assignment` must reproduce the
committed student notebook; `autograde` must give the reference solution full marks, the
untouched student notebook zero, and each graded answer of solutions/<chapter>/wrong_answers.yml
zero on the parts it breaks and full marks on all the others.

`make test` grades `grader.selftest.sample_entries` of each list (a wrong answer for every part,
the right answers that must survive a warning, one other right answer: 37 gradings instead of
105, about 15 minutes less on 2 cores); COURSE_TEST_FULL_SELFTEST=1 grades every answer, as
`make selftest` (`course-grade selftest all`) does, which a change to a chapter's solutions,
its wrong answers or the grader must pass before it is committed.
"""

from __future__ import annotations

import os

import nbformat
import pytest
from conftest import CHAPTERS_DIR, graded_chapters

from grader.course import make_course
from grader.notebooks import grade_id, is_answer_cell
from grader.paths import NOTEBOOK, SOLUTIONS_DIR
from grader.selftest import OUTPUT_PART, Verdict, format_verdicts, load_fixtures, sample_entries
from grader.selftest import selftest as selftest_chapter
from grader.student_notebooks import generate_student_notebook, student_notebook_text

CHAPTERS = graded_chapters()
SAMPLE = os.environ.get("COURSE_TEST_FULL_SELFTEST") != "1"


class GradedClasses:
    """Every chapter's made-up class, autograded the first time a test asks for the chapter.

    `make test` runs the tests in several processes (pytest-xdist) and sends all of one
    chapter's tests to the same process (conftest.py groups them), so each class is graded
    once, and different chapters are graded at the same time.
    """

    def __init__(self, root):
        self.root = root
        self.done: dict[str, list[Verdict] | Exception] = {}

    def __getitem__(self, chapter: str) -> list[Verdict] | Exception:
        if chapter not in self.done:
            try:
                course = self.root / chapter / "course"
                course.parent.mkdir(parents=True)
                self.done[chapter] = selftest_chapter(chapter, course, jobs=1, sample=SAMPLE)
            except Exception as error:  # reported by each of the chapter's tests
                self.done[chapter] = error
        return self.done[chapter]


@pytest.fixture(scope="session")
def graded_classes(tmp_path_factory) -> GradedClasses:
    return GradedClasses(tmp_path_factory.mktemp("graded"))


def _verdicts(graded_classes, chapter) -> list[Verdict]:
    result = graded_classes[chapter]
    if isinstance(result, Exception):
        raise result
    return result


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_student_notebook_is_generated_from_solutions(chapter, tmp_path):
    course = make_course(tmp_path)
    generated = student_notebook_text(generate_student_notebook(chapter, course))
    committed = (CHAPTERS_DIR / chapter / NOTEBOOK).read_text()
    assert committed == generated, (
        f"chapters/{chapter}/exercises.ipynb differs from what nbgrader generates from "
        f"solutions/{chapter}: run `make students` and commit the result"
    )


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_reference_solution_gets_full_marks(chapter, graded_classes):
    verdicts = [v for v in _verdicts(graded_classes, chapter) if v.student == "reference"]
    assert verdicts, "the reference solution was not graded"
    lost = [v for v in verdicts if v.score != v.max_score]
    assert not lost, format_verdicts(lost)


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_untouched_student_notebook_gets_zero(chapter, graded_classes):
    verdicts = [v for v in _verdicts(graded_classes, chapter) if v.student == "blank"]
    assert verdicts and sum(v.score for v in verdicts) == 0, format_verdicts(verdicts)


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_each_wrong_answer_loses_exactly_its_parts(chapter, graded_classes):
    verdicts = _verdicts(graded_classes, chapter)
    fixtures = load_fixtures(chapter, sample=SAMPLE)
    wrong = [f for f in fixtures if f.loses]
    assert wrong, f"solutions/{chapter}/wrong_answers.yml has no wrong answers"
    bad = [v for v in verdicts if not v.ok]
    assert not bad, format_verdicts(bad)
    parts = {v.part for v in verdicts if not v.part.startswith(OUTPUT_PART)}
    caught = {part for f in wrong for part in f.loses}
    assert caught == parts, f"graded parts without a wrong answer that loses them: {parts - caught}"
    unknown = caught - parts
    assert not unknown, f"wrong answers name tests that do not exist: {unknown}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_sample_keeps_a_wrong_answer_for_every_part_and_the_right_answers_that_prove_fairness(
    chapter,
):
    import yaml

    from grader.paths import wrong_answers_file

    listed = yaml.safe_load(wrong_answers_file(chapter).read_text())
    chosen = sample_entries(listed)
    every_part = {part for entry in listed for part in entry["loses"]}
    assert {part for entry in chosen for part in entry["loses"]} == every_part
    rights = [entry for entry in chosen if not entry["loses"]]
    assert [e for e in rights if not e.get("shows")] == [
        next(e for e in listed if not e["loses"] and not e.get("shows"))
    ], "the sample keeps the first right answer without a warning"
    assert [e for e in rights if e.get("shows")] == [
        e for e in listed if not e["loses"] and e.get("shows")
    ], "the sample keeps every right answer that must survive a warning"
    assert len(chosen) < len(listed)


def test_the_sample_takes_the_first_answer_that_loses_each_part():
    listed = [
        {"name": "a", "answers": {"x": ""}, "loses": ["p1"]},
        {"name": "b", "answers": {"x": ""}, "loses": ["p1"]},
        {"name": "c", "answers": {"y": ""}, "loses": ["p1", "p2"]},
        {"name": "d", "answers": {"y": ""}, "loses": ["p2"]},
        {"name": "r1", "answers": {"x": ""}, "loses": []},
        {"name": "r2", "answers": {"x": ""}, "loses": []},
        {"name": "w", "answers": {"y": ""}, "loses": [], "shows": "careful"},
    ]
    assert [e["name"] for e in sample_entries(listed)] == ["a", "c", "r1", "w"]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_graded_cells_follow_the_rules(chapter):
    """Points > 0, a docstring first, no bare final expression, canaries in hidden regions."""
    import ast

    nb = nbformat.read(SOLUTIONS_DIR / chapter / NOTEBOOK, as_version=4)
    ids = [grade_id(c) for c in nb.cells if grade_id(c)]
    assert len(ids) == len(set(ids)), f"duplicate grade ids: {ids}"
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert 4 <= len(tests) <= 7, f"{len(tests)} graded parts; a chapter has 4 to 7"
    for cell in tests:
        meta, name = cell.metadata.nbgrader, grade_id(cell)
        assert meta.get("points", 0) > 0, f"{name} has no points"
        assert meta.get("locked"), f"{name} is not locked"
        body = ast.parse(cell.source).body
        assert isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant), (
            f"{name} must begin with a docstring saying what it checks"
        )
        # nbgrader gives full credit to a cell ending in a bare expression: end with a statement.
        last = body[-1]
        assert not (isinstance(last, ast.Expr) and not isinstance(last.value, ast.Call)), (
            f"{name} ends in a bare expression"
        )
        assert "### BEGIN HIDDEN TESTS" in cell.source, f"{name} has no hidden tests"
        assert f"# CANARY hidden {chapter}/{name}" in cell.source, f"{name} lacks its canary"
    for cell in nb.cells:
        if is_answer_cell(cell):
            assert "### BEGIN SOLUTION" in cell.source, f"{grade_id(cell)}: no solution"
            assert f"# CANARY solution {chapter}/" in cell.source, (
                f"{grade_id(cell)} lacks its canary"
            )


def test_student_notebooks_hold_no_solution_or_hidden_test():
    for path in CHAPTERS_DIR.glob("*/*.ipynb"):
        text = path.read_text()
        assert "CANARY" not in text, f"{path} contains a solution or a hidden test"
        assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text, path
