"""grader.grade_result: the one result type, and what of it the grading log keeps."""

from __future__ import annotations

import json

from grader.grade_result import LOG_FIELDS, PAYLOAD, GradeResult


def _graded() -> GradeResult:
    return GradeResult(
        "ada",
        "01-kernels",
        "graded",
        seconds=2.5,
        flags=["code eval"],
        sha256="s",
        grader_version="v",
        settings="t",
        scores={"p1": 1.0},
        notebook=b"{}",
        log="nbgrader's output",
        workdir="/tmp/task",
    )


def test_the_log_keeps_how_it_went_and_its_key_never_scores_or_bytes():
    entry = _graded().log_entry()
    assert set(entry) == set(LOG_FIELDS)
    assert not set(entry) & set(PAYLOAD)
    assert {"status", "message", "flags", "sha256", "grader_version", "settings"} <= set(entry)
    json.dumps(entry)  # the log is JSON: no bytes in it


def test_a_logged_result_comes_back_the_same_marked_reused_without_its_payload():
    again = GradeResult.from_log(json.loads(json.dumps(_graded().log_entry())))
    assert again.reused and (again.student, again.status, again.flags) == (
        "ada",
        "graded",
        ["code eval"],
    )
    assert (again.scores, again.notebook, again.workdir) == (None, None, "")


def test_an_older_logs_unknown_keys_are_dropped():
    entry = {**_graded().log_entry(), "outcome_v0": 1, "scores": {"p1": 1.0}}
    assert GradeResult.from_log(entry).scores is None


def test_a_minimal_log_entry_becomes_a_whole_reused_result():
    entry = {"student": "ada", "chapter": "01-kernels", "status": "graded", "sha256": "s"}
    entry |= {"grader_version": "v", "settings": "t", "scores": {"p1": 1.0}}
    assert GradeResult.from_log(entry) == GradeResult(
        "ada", "01-kernels", "graded", sha256="s", grader_version="v", settings="t", reused=True
    )
