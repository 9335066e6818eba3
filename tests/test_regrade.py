"""Regrade requests: the log's rules as pure functions, and one round on real nbgrader.

The round (slow): chapter 01's reference answers are autograded; one part's score is then
lowered in the gradebook (an older grader's mistake). `regrade` shows the old and the new score
and changes nothing; an accepted request sets the new score, and a rerun of `autograde` keeps
it; a rejected request changes nothing; `export` lists the decided requests.
"""

from __future__ import annotations

import csv
import os
from datetime import UTC, datetime

import nbformat
import pytest

from grader import late_policy, regrade, sandbox
from grader.autograde import autograde
from grader.cli import main
from grader.course import bin_dir, gradebook, make_course
from grader.export import export
from grader.grade_task import Settings
from grader.notebooks import fill_answers, solution_answers
from grader.paths import NOTEBOOK, SOLUTIONS_DIR
from grader.release import release
from grader.selftest import submit

CHAPTER = "01-kernels"
WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'  # a student's reason


@pytest.fixture(autouse=True)
def _path(monkeypatch):
    """nbgrader's Gradebook runs `alembic` by name: the environment's bin/ goes on PATH."""
    monkeypatch.setenv("PATH", f"{bin_dir()}{os.pathsep}{os.environ['PATH']}")


def _request(log, student="ann", part=None, old=None, new=None):
    old = old or {"p1": 0.0}
    return regrade.new_request(
        log, CHAPTER, student, part, "  my test passes  ", old, new or {"p1": 1.0}, "ta", WHEN
    )


def test_requests_count_up_and_record_who_when_why():
    first = _request([])
    second = _request([first], part="p1")
    assert (first["id"], second["id"]) == (1, 2)
    assert first["part"] == "all" and second["part"] == "p1"
    assert first["reason"] == "my test passes" and first["who"] == "ta"
    assert first["when"] == "2026-03-01T12:00:00+00:00" and first["decision"] is None
    assert (first["old"], first["new"]) == ({"p1": 0.0}, {"p1": 1.0})
    with pytest.raises(regrade.RequestError, match="reason"):
        regrade.new_request([], CHAPTER, "ann", None, " ", {}, {}, "ta", WHEN)


def test_a_decision_is_recorded_once_and_leaves_other_requests_alone():
    log = [_request([])]
    log.append(_request(log, student="bob"))
    decided = regrade.decide(log, 2, False, "the test was right", "prof", WHEN)
    assert decided[0] == log[0] and log[1]["decision"] is None  # pure: the input is unchanged
    assert decided[1]["decision"] == {
        "outcome": "rejected",
        "note": "the test was right",
        "who": "prof",
        "when": "2026-03-01T12:00:00+00:00",
    }
    with pytest.raises(regrade.RequestError, match="already rejected by prof"):
        regrade.decide(decided, 2, True, "changed my mind", "prof", WHEN)
    with pytest.raises(regrade.RequestError, match="no regrade request 3"):
        regrade.decide(decided, 3, True, "x", "prof", WHEN)
    with pytest.raises(regrade.RequestError, match="note"):
        regrade.decide(decided, 1, True, "", "prof", WHEN)
    assert [r["id"] for r in regrade.open_requests(decided)] == [1]
    assert regrade.open_requests(decided, "02-convolution") == []
    assert regrade.decided_ids(decided, "bob", CHAPTER) == [2]
    assert regrade.decided_ids(decided, "ann", CHAPTER) == []


def test_format_shows_old_and_new_side_by_side_and_the_decision():
    log = [_request([], old={"p1": 0.0, "p2": 2.0}, new={"p1": 1.0, "p2": 2.0})]
    text = regrade.format_request(log[0])
    assert "p1" in text and "<- differs" in text.splitlines()[3] and "open" in text
    assert "differs" not in text.splitlines()[4]
    decided = regrade.decide(log, 1, True, "grader bug", "prof", WHEN)[0]
    assert "accepted by prof at 2026-03-01T12:00:00+00:00: grader bug" in (
        regrade.format_request(decided)
    )


def _scores(course, student):
    with gradebook(course) as gb:
        notebook = gb.find_submission_notebook("exercises", CHAPTER, student)
        return {g.name: (g.auto_score, g.manual_score, g.score) for g in notebook.grades}


def _lower(course, student, part):
    """An older grader's mistake: the part's automatic score set to 0 in the gradebook."""
    with gradebook(course) as gb:
        gb.find_grade(part, "exercises", CHAPTER, student).auto_score = 0.0
        gb.db.commit()


@pytest.mark.slow
def test_a_score_changes_only_by_an_accepted_decision_and_autograde_keeps_it(tmp_path, capsys):
    course = make_course(tmp_path / "course")
    release(course, [CHAPTER])
    student_nb = nbformat.read(course / "release" / CHAPTER / NOTEBOOK, as_version=4)
    answers = solution_answers(nbformat.read(SOLUTIONS_DIR / CHAPTER / NOTEBOOK, as_version=4))
    submit(course, CHAPTER, "ann", fill_answers(student_nb, answers))
    stamp = course / "submitted" / "ann" / CHAPTER / "timestamp.txt"
    stamp.write_text("2026-03-01 10:00:00.000000 UTC")  # late: see the feedback page below
    walls = sandbox.full_isolation()
    [graded] = autograde(course, CHAPTER, use_sandbox=walls)
    assert graded.status == "graded", graded.message
    _lower(course, "ann", "test_conv2d_valid")
    _lower(course, "ann", "test_edge_kernel")
    before = _scores(course, "ann")
    assert before["test_conv2d_valid"][2] == 0.0

    # regrade: old and new side by side, an open request, the gradebook unchanged
    argv = ["--course", str(course), "regrade", CHAPTER, "--student", "ann"]
    argv += ["--part", "test_conv2d_valid", "--reason", f"my convolution is right {HOSTILE}"]
    assert main(argv + ([] if walls else ["--no-sandbox"])) == 0
    shown = capsys.readouterr().out
    assert "test_conv2d_valid" in shown and "0         3  <- differs" in shown
    assert _scores(course, "ann") == before
    [request] = regrade.read_requests(course)
    assert (request["old"], request["new"]) == (
        {"test_conv2d_valid": 0.0},
        {"test_conv2d_valid": 3.0},
    )
    settings = Settings(use_sandbox=walls)
    other = regrade.request_regrade(course, CHAPTER, "ann", None, "edge too", settings)
    assert other["new"]["test_edge_kernel"] == 2.0 and other["old"]["test_edge_kernel"] == 0.0
    assert _scores(course, "ann") == before

    # decisions: the accepted one sets the part's manual score, the rejected one nothing
    decide = ["--course", str(course), "requests", "--decide"]
    assert main([*decide, "1", "--accept", "--note", "grader bug, fixed"]) == 0
    assert main([*decide, "2", "--reject", "--note", "not asked in time"]) == 0
    after = _scores(course, "ann")
    assert after["test_conv2d_valid"] == (0.0, 3.0, 3.0)
    assert after["test_edge_kernel"] == before["test_edge_kernel"]  # rejected: as it was
    assert {k: v for k, v in after.items() if k != "test_conv2d_valid"} == {
        k: v for k, v in before.items() if k != "test_conv2d_valid"
    }
    with pytest.raises(SystemExit, match="already accepted"):
        main([*decide, "1", "--reject", "--note", "again"])

    # a rerun of autograde (grading again, not reusing the log) keeps the decision
    [again] = autograde(course, CHAPTER, use_sandbox=walls, regrade=True)
    assert again.status == "graded" and not again.reused
    kept = _scores(course, "ann")
    assert kept["test_conv2d_valid"][1:] == (3.0, 3.0)

    capsys.readouterr()
    assert main(["--course", str(course), "requests", CHAPTER]) == 0
    listing = capsys.readouterr().out
    assert "accepted by" in listing and "rejected by" in listing
    scores_csv, _ = export(course, [CHAPTER])
    with scores_csv.open(newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0][-1] == "regrade" and table[1][-1] == "#1 #2"
    row = dict(zip(table[0], table[1], strict=True))
    assert float(row["test_conv2d_valid"]) == 3.0

    # the student's feedback page: late with an extension, and both decisions (real nbgrader)
    (course / late_policy.POLICY_NAME).write_text(
        f"due:\n  {CHAPTER}: 2026-02-27T23:59:00+01:00\npenalty:\n  per_day: 0.2\n"
    )
    until = ["--until", "2026-02-28T23:59:00+01:00", "--reason", "flu"]
    assert main(["--course", str(course), "extend", "ann", CHAPTER, *until]) == 0
    assert main(["--course", str(course), "feedback", CHAPTER]) == 0
    page = (course / "feedback" / "ann" / CHAPTER / "exercises.html").read_text()
    scores_csv, _ = export(course, [CHAPTER])
    with scores_csv.open(newline="") as handle:
        [row] = list(csv.DictReader(handle))
    score = float(row["score"])
    assert float(row["adjusted_score"]) == pytest.approx(score * 0.8)  # 1 late day, 20%
    late = page[page.index('id="late-policy"') : page.index('id="regrade-requests"')]
    for shown in (
        "until 2026-02-28 23:59:00+01:00: your deadline",
        "39660 s after the deadline (11 h 01 min): 1 late day",  # 10:00Z - 22:59Z
        "0 on this chapter",
        "20% of the score",
        f"Score before the penalty</th><td>{score:g} / ",
        f"Score after the penalty</th><td><b>{float(row['adjusted_score']):g} / ",
    ):
        assert shown in late, shown
    requests = page[page.index('id="regrade-requests"') :]
    assert "Request #1, part test_conv2d_valid" in requests and "Request #2, part all" in requests
    assert "my convolution is right &lt;script&gt;alert(1)&lt;/script&gt;&lt;img" in requests
    assert (
        HOSTILE not in page
        and "<td><code>test_conv2d_valid</code></td><td>0</td><td>3</td>" in (requests)
    )
    assert "<b>Accepted</b> by" in requests and ": grader bug, fixed" in requests
    assert "<b>Rejected</b> by" in requests and ": not asked in time" in requests
