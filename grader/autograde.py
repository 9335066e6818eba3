"""`course-grade autograde`: grade every submission of a chapter, here or on many machines.

Each submission is one call of the pure function `grader.grade_task.grade_submission` (its own
temporary course folder, its own `nbgrader autograde` process, the sandbox): `jobs` at a time
in this process (`grader.grade_pool.grade_locally`), or one Dask task each on the cluster at
`scheduler` (`grade_on_cluster`). This process commits each result as it arrives
(`grader.grade_store.commit`). A submission whose bytes, grader version and settings are those
of its logged result is not graded again unless `regrade`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from grader import sandbox
from grader.cluster import Connection, connection
from grader.course import make_course, use_wal
from grader.course_folder import CourseFolder
from grader.grade_pool import grade_locally, grade_on_cluster
from grader.grade_result import GradeResult
from grader.grade_store import (
    LOG_NAME,
    commit,
    read_log,
    read_submission,
    released_chapter,
    reusable,
)
from grader.grade_task import Settings, grader_version
from grader.nbgrader_run import SANDBOX_DIR, grade_student
from grader.progress_line import Progress

__all__ = ["LOG_NAME", "SANDBOX_DIR", "GradeResult", "autograde", "grade_student"]


def submitted_students(course: Path, chapter: str) -> list[str]:
    """Students with a folder for `chapter` under submitted/."""
    return CourseFolder(course).submitted_students(chapter)


def autograde(
    course: Path,
    chapter: str,
    students: list[str] | None = None,
    jobs: int = 1,
    cell_timeout: int | None = None,
    notebook_timeout: float | None = None,
    use_sandbox: bool = True,
    limits: sandbox.Limits | None = None,
    scheduler: str | Connection | None = None,
    regrade: bool = False,
    on_result: Callable[[GradeResult], None] | None = None,
    part_timeout: int = Settings.part_timeout,
    progress: TextIO | None = None,
) -> list[GradeResult]:
    """Autograde every submission of `chapter` (or `students`); one result per student, in order.

    A failure (bad notebook, time limit, crash) is reported by student and file and leaves the
    others alone. With `use_sandbox` (the default) each kernel runs in the grading sandbox.
    `scheduler` (`tls://HOST:8786`, reached with the course's certificates in
    `<course>/cluster/`, or a `grader.cluster.Connection`) grades on a Dask cluster instead of
    `jobs` local threads.
    A task that could not finish (its workers died, a worker with another grader) is reported
    as an error and left out of the gradebook and the log, so the next run grades it.
    `on_result` is called with each result as it is committed. With a `progress` stream, a line
    per finished submission with the time left goes there and into the course's logs/
    (`grader.progress_line`).
    """
    course = make_course(course)
    use_wal(course)
    names = students or submitted_students(course, chapter)
    limits = limits or sandbox.Limits()
    settings = Settings(
        cell_timeout,
        notebook_timeout,
        use_sandbox,
        limits.memory_bytes,
        limits.processes,
        part_timeout,
    )
    released = released_chapter(course, chapter)
    version = grader_version(released)
    log = read_log(course)
    done: dict[str, GradeResult] = {}
    todo = []
    for name in names:
        item = read_submission(course, chapter, name)
        entry = log.get(chapter, {}).get(name)
        if isinstance(item, GradeResult):  # nothing to grade: missing, not a file, bad id
            done[name] = commit(course, chapter, item, None, log)
        elif not regrade and reusable(entry, item, version, settings.digest()):
            done[name] = GradeResult.from_log(entry)
        else:
            todo.append(item)
    at_once = None if scheduler else jobs
    tracker = Progress(course, chapter, len(todo), at_once, progress) if progress else None
    if scheduler:
        finished = grade_on_cluster(
            connection(scheduler, course), released, todo, version, settings
        )
    else:
        finished = grade_locally(jobs, released, todo, version, settings)
    for submission, result in finished:
        name = submission.student
        if isinstance(result, BaseException):
            done[name] = GradeResult(
                name,
                chapter,
                "error",
                message=f"{name}: not graded ({type(result).__name__}: {result}); "
                "run autograde again to retry",
            )
        else:
            done[name] = commit(course, chapter, result, submission, log)
        if on_result:
            on_result(done[name])
        if tracker:
            tracker.finished(done[name])
    return [done[name] for name in names]


def format_results(results: list[GradeResult]) -> str:
    lines = []
    for r in results:
        peaks = r.kernel_peaks
        used = (
            f" (kernel peak {peaks.get('memory', 0) / 2**30:.2f} GiB, {peaks.get('pids', 0)} tasks)"
            if peaks
            else ""
        )
        kept = " (kept)" if r.reused else ""
        lines.append(
            f"{r.status:<10} {r.student:<14} {r.seconds:6.1f} s{used}{kept}  {r.message}".rstrip()
        )
        lines.extend(f"           flag: {flag}" for flag in r.flags)
    return "\n".join(lines)


def format_summary_line(results: list[GradeResult]) -> str:
    """How many were graded now and how many kept from an earlier run."""
    kept = sum(r.reused for r in results)
    failed = sum(r.status not in {"graded", "missing"} and not r.reused for r in results)
    line = f"{len(results) - kept} graded, {kept} unchanged since the last run (kept)"
    return line + (f"; {failed} of them not graded or faulty, see above" if failed else "")
