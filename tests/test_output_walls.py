"""Three small walls through the real round (release, autograde in the sandbox, feedback).

- A display flood (300 outputs in one cell) is stored as 100 outputs, with a line where
  outputs were cut, and scores what the reference does. (Bigger floods are cut the same way,
  tests/test_preprocessors.py; on a loaded machine nbclient may give up waiting for their
  output first, `raise_on_iopub_timeout`, and the submission ends as an error.)
- A student who prints the grader's markers (`BEGIN HIDDEN TESTS`, `CANARY`) gets a feedback page
  without them, and `course-grade feedback` gives every student a page.
- A result that hit the time limit is graded again by the next `autograde`, while an unchanged
  graded one is kept: a failure is never kept as the submission's result.
"""

from __future__ import annotations

import json

import nbformat
import pytest

from grader.autograde import autograde
from grader.cli import main
from grader.course import find_secrets
from grader.notebooks import fill_answers, solution_answers
from grader.paths import NOTEBOOK, SOLUTIONS_DIR
from grader.release import release
from grader.selftest import scores, submit

pytestmark = pytest.mark.slow

CHAPTER = "01-kernels"
FLOOD = (
    "\nfrom IPython.display import display as _show\n"
    "for _i in range(300):\n"
    "    _show({'text/plain': 'x' * 2_000}, raw=True)\n"
)
MARKERS = "\nprint('### BEGIN HIDDEN TESTS', 'CANARY', 'BEGIN SOLUTION')\n"


@pytest.fixture(scope="module")
def graded(sandbox_here, tmp_path_factory):
    course = tmp_path_factory.mktemp("walls") / "course"
    release(course, [CHAPTER])
    student = nbformat.read(course / "release" / CHAPTER / NOTEBOOK, as_version=4)
    reference = solution_answers(nbformat.read(SOLUTIONS_DIR / CHAPTER / NOTEBOOK, as_version=4))
    first = sorted(reference)[0]
    answers = {
        "ref": reference,
        "flood": {**reference, first: reference[first] + FLOOD},
        "marker": {**reference, first: reference[first] + MARKERS},
        "sleeper": {**reference, first: "import time\ntime.sleep(3600)\n" + reference[first]},
    }
    for name, given in answers.items():
        submit(course, CHAPTER, name, fill_answers(student, given))
    results = {r.student: r for r in autograde(course, CHAPTER, ["ref", "flood", "marker"])}
    return course, results


def test_a_display_flood_is_stored_small_and_scores_as_the_reference(graded):
    course, results = graded
    assert {r.status for r in results.values()} == {"graded"}, results
    got = scores(course, CHAPTER)
    assert {p: s.score for p, s in got["flood"].items()} == {
        p: s.score for p, s in got["ref"].items()
    }
    stored = course / "autograded" / "flood" / CHAPTER / NOTEBOOK
    assert stored.stat().st_size < 600_000, stored.stat().st_size
    notes = [
        o.get("text", "")
        for cell in nbformat.read(stored, as_version=4).cells
        for o in cell.get("outputs", [])
        if o.get("output_type") == "stream"
    ]
    assert any(n.startswith("[autograde: 200 outputs (") for n in notes), notes[-3:]


def test_marker_text_from_one_student_stops_nobodys_feedback(graded, capsys):
    course, _ = graded
    assert main(["--course", str(course), "feedback", CHAPTER]) == 0, capsys.readouterr().out
    pages = {s: course / "feedback" / s / CHAPTER / "exercises.html" for s in graded[1]}
    assert all(page.is_file() for page in pages.values())
    text = pages["marker"].read_text()
    assert find_secrets(text) == [] and "[text like the grader's markers, removed]" in text


def test_a_time_limit_is_graded_again_and_a_graded_result_is_kept(graded):
    course, _ = graded
    first = autograde(course, CHAPTER, ["sleeper"], notebook_timeout=10)
    assert [(r.status, r.reused) for r in first] == [("time limit", False)]
    again = autograde(course, CHAPTER, ["sleeper"], notebook_timeout=10)
    assert [(r.status, r.reused) for r in again] == [("time limit", False)]
    kept = autograde(course, CHAPTER, ["ref"])  # the settings it was graded with
    assert [(r.status, r.reused) for r in kept] == [("graded", True)]
    log = json.loads((course / "grading-log.json").read_text())[CHAPTER]
    assert log["sleeper"]["status"] == "time limit" and log["ref"]["status"] == "graded"
