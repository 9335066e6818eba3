"""The instructor's side of grading: submissions into tasks, each result into the course.

`grader.grade_task.grade_submission` grades one submission anywhere and returns its result;
this module, in the instructor's process only, reads the submissions of a course folder,
decides which need grading, and commits each result as it arrives: the scores into the
gradebook (nbgrader's API: `update_or_create_submission`, then each grade's `auto_score`; a
manual score entered meanwhile is never touched), the autograded notebook into
`<course>/autograded/<student>/<chapter>/`, the outcome into the gradebook's flags and comments
(`grader.gradebook_notes.record_outcome`) and into `grading-log.json`, written whole after each
result (under a lock, merged with what another process logged), so that a killed instructor
process leaves every result that had finished.

A result is kept under (the submission's sha256, the grader version, the settings), in the log:
a submission whose three are unchanged is not graded again (`reusable`), unless its result was
a time limit or an error, which may not happen again.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import warnings
from contextlib import contextmanager
from pathlib import Path

from grader.course import gradebook
from grader.course_folder import TIMESTAMP, CourseFolder, timestamp_file, valid_student_id
from grader.grade_result import GradeResult
from grader.grade_task import Chapter, Submission
from grader.gradebook_notes import part_names, record_outcome
from grader.paths import NOTEBOOK

LOG_NAME = "grading-log.json"


def released_chapter(course: Path, chapter: str) -> Chapter:
    """The chapter's notebooks from the course folder, and its due date from the gradebook."""
    with gradebook(course) as gb:
        due = gb.find_assignment(chapter).duedate
    return Chapter.from_course(course, chapter, due.isoformat() if due else None)


def read_submission(course: Path, chapter: str, student: str) -> Submission | GradeResult:
    """A student's submission as bytes, or the result when there is nothing to grade.

    Missing, not a regular file (a symlink, a folder) and an invalid student id are decided
    here; a notebook set aside as unreadable by an earlier run is sent again as it is.
    """
    folder = CourseFolder(course).submitted(student, chapter)
    path = folder / NOTEBOOK
    if not valid_student_id(student):
        message = f"{student!r} is not a valid student id: skipped"
        return GradeResult(student, chapter, "error", message=message)
    if path.is_symlink() or (path.exists() and not path.is_file()):
        message, zeros = f"{student}: {path}: not a regular file", part_names(course, chapter)
        return GradeResult(
            student, chapter, "corrupt", message=message, scores=dict.fromkeys(zeros, 0.0)
        )
    if not path.exists():
        set_aside = path.with_name(NOTEBOOK + ".corrupt")
        if not set_aside.is_file() or set_aside.is_symlink():
            message = f"{student}: {path} was not submitted"
            return GradeResult(student, chapter, "missing", message=message)
        path = set_aside
    stamp = timestamp_file(folder)
    return Submission(student, path.read_bytes(), stamp.read_bytes() if stamp else None)


def read_log(course: Path) -> dict:
    path = Path(course) / LOG_NAME
    return json.loads(path.read_text()) if path.exists() else {}


REUSABLE_STATUSES = {"graded", "corrupt"}  # what the bytes decide; not a time limit or an error


def reusable(entry: dict | None, submission: Submission, version: str, settings: str) -> bool:
    """Whether a logged result was graded from these bytes, by this grader, with these settings,
    and finished: a time limit or an error (a crash, a lost worker) is graded again."""
    if not entry or entry.get("status") not in REUSABLE_STATUSES:
        return False
    logged = (entry.get("sha256"), entry.get("grader_version"), entry.get("settings"))
    return logged == (submission.sha256, version, settings)


def commit(
    course: Path, chapter: str, result: GradeResult, submission: Submission | None, log: dict
) -> GradeResult:
    """Write one result into the course: gradebook, autograded notebook, flags and the log."""
    course = Path(course)
    if result.workdir:  # the task's temporary folder, as messages name it: the course's instead
        result.message = result.message.replace(result.workdir, str(course))
        result.flags = [flag.replace(result.workdir, str(course)) for flag in result.flags]
    if result.log:
        log_file = course / "logs" / chapter / f"{result.student}.log"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        log_file.write_text(result.log)
    if result.scores is not None:
        _write_grades(course, chapter, result.student, result)
    if result.status != "missing" and valid_student_id(result.student):
        graded = CourseFolder(course).autograded(result.student, chapter)
        shutil.rmtree(graded, ignore_errors=True)
        if result.notebook is not None:
            graded.mkdir(parents=True)
            (graded / NOTEBOOK).write_bytes(result.notebook)
            if submission is not None and submission.timestamp is not None:
                (graded / TIMESTAMP).write_bytes(submission.timestamp)
    submitted = CourseFolder(course).submitted(result.student, chapter) / NOTEBOOK
    if result.status == "corrupt" and submitted.is_file() and not submitted.is_symlink():
        submitted.replace(submitted.with_name(NOTEBOOK + ".corrupt"))  # kept for the record
    if result.status != "missing" and valid_student_id(result.student):
        record_outcome(course, result)  # flags and comment, on the submission if there is one
    entry = log.setdefault(chapter, {})[result.student] = result.log_entry()
    with _log_lock(course):  # another autograde may have logged its students meanwhile
        on_disk = read_log(course)
        on_disk.setdefault(chapter, {})[result.student] = entry
        write_log(course, on_disk)
    return result


@contextmanager
def file_lock(path: Path):
    """One holder of `path` (a lock file) at a time, across processes (an advisory lock)."""
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _log_lock(course: Path):
    """One writer of grading-log.json at a time."""
    return file_lock(Path(course) / (LOG_NAME + ".lock"))


def write_log(course: Path, log: dict) -> None:
    """grading-log.json, replaced whole: a reader (or a crash) never sees half of it.

    Writers hold `_log_lock`, re-read the file and change only their own student's entry, so
    two `autograde` processes at once (a shared PostgreSQL gradebook) keep each other's results.
    """
    path = Path(course) / LOG_NAME
    partial = path.with_name(LOG_NAME + ".partial")
    partial.write_text(json.dumps(log, indent=1, sort_keys=True))
    os.replace(partial, path)


def _write_grades(course: Path, chapter: str, student: str, result: GradeResult) -> None:
    """The submission's automatic scores and comments; manual scores stay as they are."""
    with gradebook(course) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy chatter on re-creating a submission
        gb.update_or_create_student(student)
        when = {"timestamp": result.timestamp} if result.timestamp else {}
        gb.update_or_create_submission(chapter, student, **when)
        notebook = gb.find_submission_notebook(Path(NOTEBOOK).stem, chapter, student)
        for grade in notebook.grades:
            if grade.name in result.scores:
                grade.auto_score = result.scores[grade.name]
                manual = grade.manual_score is not None
                grade.needs_manual_grade = result.needs_manual.get(grade.name, False) or manual
        for comment in notebook.comments:
            if comment.name in result.comments:
                comment.auto_comment = result.comments[comment.name]
        notebook.late_submission_penalty = result.late_penalty
        gb.db.commit()
