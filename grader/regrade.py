"""Regrade requests: grade a submission again, and change a score only by a recorded decision.

`course-grade regrade CHAPTER --student S [--part P] --reason TEXT` grades the student's
submission again with the current grader and tests, in a private scratch folder
(`grader.grade_task.grade_submission`, the pure function `autograde` uses), prints the
gradebook's score next to the new one per part, and records an open request in
`<course>/regrade_requests.json`. The gradebook is not touched.

`course-grade requests [CHAPTER] --decide ID --accept|--reject --note TEXT` decides it. An
accepted request writes each part's new score as nbgrader's manual grade of that part
(`Grade.manual_score`), which `autograde` never overwrites (`grader.grade_store`), so a rerun
keeps it; a rejected one changes nothing. Every request and decision stays in the file, with
who and when (UTC): the audit log `export` shows in scores.csv's `regrade` column.
"""

from __future__ import annotations

import getpass
import json
import os
from datetime import UTC, datetime
from pathlib import Path

REQUESTS_NAME = "regrade_requests.json"
ALL = "all"


class RequestError(ValueError):
    """A request or decision that cannot be recorded as asked."""


# The log as pure functions: a list of request dicts in, a new one out.


def new_request(
    requests: list[dict],
    chapter: str,
    student: str,
    part: str | None,
    reason: str,
    old: dict[str, float | None],
    new: dict[str, float | None],
    who: str,
    when: datetime,
) -> dict:
    """The next open request (ids count up from 1); `old` and `new` hold the asked parts."""
    if not reason or not reason.strip():
        raise RequestError("a regrade request needs a reason")
    return {
        "id": max((r["id"] for r in requests), default=0) + 1,
        "chapter": chapter,
        "student": student,
        "part": part or ALL,
        "reason": reason.strip(),
        "who": who,
        "when": when.astimezone(UTC).isoformat(),
        "old": dict(old),
        "new": dict(new),
        "decision": None,
    }


def decide(
    requests: list[dict], request_id: int, accept: bool, note: str, who: str, when: datetime
) -> list[dict]:
    """The log with request `request_id` decided; a decided request is never decided again."""
    found = [r for r in requests if r["id"] == request_id]
    if not found:
        raise RequestError(f"no regrade request {request_id}")
    if found[0]["decision"] is not None:
        done = found[0]["decision"]
        raise RequestError(
            f"request {request_id} was already {done['outcome']} by {done['who']} at "
            f"{done['when']}: make a new request"
        )
    if not note or not note.strip():
        raise RequestError("a decision needs a note")
    decision = {
        "outcome": "accepted" if accept else "rejected",
        "note": note.strip(),
        "who": who,
        "when": when.astimezone(UTC).isoformat(),
    }
    return [{**r, "decision": decision} if r["id"] == request_id else r for r in requests]


def open_requests(requests: list[dict], chapter: str | None = None) -> list[dict]:
    return [r for r in requests if r["decision"] is None and chapter in (None, r["chapter"])]


def decided_ids(requests: list[dict], student: str, chapter: str) -> list[int]:
    """The decided requests of one student and chapter, oldest first (export's column)."""
    return [
        r["id"]
        for r in requests
        if r["decision"] is not None and (r["student"], r["chapter"]) == (student, chapter)
    ]


def format_request(r: dict) -> str:
    """A request as lines: header, reason, old -> new per part, and its decision if any."""
    lines = [
        f"#{r['id']} {r['chapter']} {r['student']} part {r['part']}: asked by {r['who']} "
        f"at {r['when']}",
        f"    reason: {r['reason']}",
        f"    {'part':<22} {'gradebook':>9} {'regraded':>9}",
    ]
    for part, old in r["old"].items():
        new = r["new"].get(part)
        mark = "" if old == new else "  <- differs"
        lines.append(f"    {part:<22} {_num(old):>9} {_num(new):>9}{mark}")
    d = r["decision"]
    if d is None:
        lines.append("    open: decide with `course-grade requests --decide ID --accept|--reject`")
    else:
        lines.append(f"    {d['outcome']} by {d['who']} at {d['when']}: {d['note']}")
    return "\n".join(lines)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


# The file: read whole, written whole under a lock.


def read_requests(course: Path) -> list[dict]:
    path = Path(course) / REQUESTS_NAME
    return json.loads(path.read_text())["requests"] if path.exists() else []


def _locked(course: Path):
    from grader.grade_store import file_lock

    return file_lock(Path(course) / (REQUESTS_NAME + ".lock"))


def _write_requests(course: Path, requests: list[dict]) -> Path:
    path = Path(course) / REQUESTS_NAME
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"requests": requests}, indent=1) + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


# The course: the gradebook's scores, a fresh grading, the decision applied.


def gradebook_scores(course: Path, chapter: str, student: str) -> dict[str, float]:
    """The score nbgrader counts now (manual if set, else automatic) of each graded part."""
    from nbgrader.api import MissingEntry

    from grader.course import gradebook
    from grader.paths import NOTEBOOK

    with gradebook(course) as gb:
        try:
            notebook = gb.find_submission_notebook(Path(NOTEBOOK).stem, chapter, student)
        except MissingEntry:
            raise RequestError(f"{student} has no graded submission of {chapter}") from None
        return {g.name: float(g.score) for g in notebook.grades if g.max_score > 0}


def regrade_scores(course: Path, chapter: str, student: str, settings) -> dict[str, float | None]:
    """The submission graded again with the current grader, in a scratch folder of its own."""
    from grader.grade_result import GradeResult
    from grader.grade_store import read_submission, released_chapter
    from grader.grade_task import grade_submission, grader_version

    released = released_chapter(course, chapter)
    submission = read_submission(course, chapter, student)
    if isinstance(submission, GradeResult):
        raise RequestError(submission.message or f"{student}: nothing to grade")
    result = grade_submission(released, submission, grader_version(released), settings)
    if result.scores is None:
        raise RequestError(f"{student}: not graded again: {result.message}")
    return dict(result.scores)


def request_regrade(
    course: Path,
    chapter: str,
    student: str,
    part: str | None,
    reason: str,
    settings,
    now: datetime | None = None,
) -> dict:
    """Grade again, record an open request with the old and new scores; the gradebook stays."""
    if not reason or not reason.strip():
        raise RequestError("a regrade request needs a reason")
    old = gradebook_scores(course, chapter, student)
    if part is not None and part not in old:
        raise RequestError(f"{chapter} has no graded part {part!r}; its parts: {sorted(old)}")
    fresh = regrade_scores(course, chapter, student, settings)
    parts = [part] if part else sorted(old)
    when = now or datetime.now(UTC)
    with _locked(course):
        requests = read_requests(course)
        request = new_request(
            requests,
            chapter,
            student,
            part,
            reason,
            {p: old[p] for p in parts},
            {p: fresh.get(p) for p in parts},
            getpass.getuser(),
            when,
        )
        _write_requests(course, [*requests, request])
    return request


def decide_request(
    course: Path, request_id: int, accept: bool, note: str, now: datetime | None = None
) -> dict:
    """Record the decision; an accepted one sets each part's new score as its manual grade."""
    from grader.course import gradebook
    from grader.paths import NOTEBOOK

    when = now or datetime.now(UTC)
    with _locked(course):
        requests = read_requests(course)
        decided = decide(requests, request_id, accept, note, getpass.getuser(), when)
        request = next(r for r in decided if r["id"] == request_id)
        if accept:
            missing = [p for p, score in request["new"].items() if score is None]
            if missing:
                raise RequestError(f"request {request_id}: no new score for {missing}")
            with gradebook(course) as gb:
                for part, score in request["new"].items():
                    grade = gb.find_grade(
                        part, Path(NOTEBOOK).stem, request["chapter"], request["student"]
                    )
                    grade.manual_score = score
                gb.db.commit()
        _write_requests(course, decided)
    return request
