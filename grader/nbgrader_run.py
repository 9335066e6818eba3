"""One submission through `nbgrader autograde` in a course folder: rebuild, grade, check.

`grade_student` grades one student's notebook that lies in `<course>/submitted/`, writing the
scores into that course's gradebook; `grader.grade_task` calls it in a private temporary course
folder on whichever machine grades the submission.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat

from grader import sandbox, warm_start
from grader.course import bin_dir, db_url, gradebook, grading_env
from grader.course_folder import REBUILT, TIMESTAMP, CourseFolder, timestamp_file
from grader.grade_result import GradeResult
from grader.gradebook_notes import part_names, record_outcome, zero_parts
from grader.hidden import forged_parts
from grader.paths import NOTEBOOK
from grader.rebuild import rebuild
from grader.scan import not_executed, notebook_problem, scan_code, tampering

SANDBOX_DIR = "sandbox-kernel"  # JUPYTER_PATH folder of the course-sandbox kernel spec
# Seconds one submission may take in all when the instructor gives no --notebook-timeout: the
# reference solutions take at most ~2 minutes; a function that sleeps on every call must not
# hold a grading slot for an hour (300 s per cell times every cell).
DEFAULT_NOTEBOOK_TIMEOUT = 900


@dataclass(frozen=True)
class Settings:
    """How to grade: time limits, the sandbox and its limits (one object, from the command line
    to the nbgrader run; its digest is part of what a kept result is kept under)."""

    cell_timeout: int | None = None
    notebook_timeout: float | None = None
    use_sandbox: bool = True
    memory_bytes: int = sandbox.Limits().memory_bytes
    processes: int = sandbox.Limits().processes
    part_timeout: int = 120  # seconds for all the grader's tests of one part

    def digest(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(text).hexdigest()[:16]


def grade_student(course: Path, chapter: str, student: str, settings: Settings) -> GradeResult:
    """Autograde one student's notebook in its own nbgrader process, then check the result.

    With `settings.use_sandbox` the kernel runs in the grading sandbox (`grader.sandbox`), as a
    uid of its own, under the settings' limits; the course folder must hold the kernel spec
    (`grader.grade_task` puts it there).
    """
    per_part = [f"--ExecuteAndGrade.part_timeout={int(settings.part_timeout)}"]
    if not settings.use_sandbox:  # no walls for the kernel, none for the judge (said, not hidden)
        walls_off = [*per_part, "--ExecuteAndGrade.judge_walls=False"]
        return _grade_student(course, chapter, student, settings, {}, walls_off)
    limits = sandbox.Limits(settings.memory_bytes, settings.processes)
    hidden = sandbox.default_hidden(course)
    with sandbox.Slot(hidden, limits, sandbox.full_isolation()) as place:
        extra = {**place.env(), "JUPYTER_PATH": str(Path(course) / SANDBOX_DIR)}
        arguments = [*per_part, *place.nbgrader_args()]
        result = _grade_student(course, chapter, student, settings, extra, arguments)
    result.kernel_peaks = place.peaks
    result.sandbox_uid = place.uid
    return result


def _grade_student(
    course: Path,
    chapter: str,
    student: str,
    settings: Settings,
    extra_env: dict[str, str],
    extra_args: list[str],
) -> GradeResult:
    course = Path(course)
    start = time.perf_counter()
    result = GradeResult(student, chapter, "graded")
    nb = prepare_submission(course, chapter, student, result)
    if result.status == "corrupt":
        # nbgrader cannot read it: record a zero for every part, without running anything.
        with gradebook(course) as gb:
            gb.update_or_create_student(student)
            gb.update_or_create_submission(chapter, student)
        zero_parts(course, chapter, student, list(part_names(course, chapter)))
        record_outcome(course, result)
        result.seconds = time.perf_counter() - start
        return result
    command = [str(bin_dir() / "nbgrader"), "autograde", chapter, "--force"]
    command += ["--student", student, "--CourseDirectory.db_url=" + db_url(course)]
    command.append(f"--CourseDirectory.submitted_directory={REBUILT}")
    if settings.cell_timeout:
        command.append(f"--Execute.timeout={int(settings.cell_timeout)}")
    command += extra_args
    notebook_timeout = settings.notebook_timeout or DEFAULT_NOTEBOOK_TIMEOUT
    run_nbgrader(command, course, chapter, student, notebook_timeout, result, extra_env)
    folder = CourseFolder(course)
    graded = folder.autograded(student, chapter) / NOTEBOOK
    if nb is not None:
        release = nbformat.read(folder.release(chapter), as_version=4)
        result.flags += [f"tampered {note}" for note in tampering(nb, release)]
        rebuilt = nbformat.read(course / REBUILT / student / chapter / NOTEBOOK, as_version=4)
        result.flags += [f"code {flag}" for flag in scan_code(rebuilt)]
    if result.status in {"graded", "time limit"} and nb is not None:
        graded_parts = set(part_names(course, chapter))
        autograded = nbformat.read(graded, as_version=4) if graded.exists() else None
        skipped = not_executed(autograded) if autograded is not None else []
        lost = (
            sorted(graded_parts)
            if result.status == "time limit"
            else [name for name in skipped if name in graded_parts]
        )
        if skipped:
            result.flags.append(f"not executed: {', '.join(skipped)}")
        forged = forged_parts(autograded) if autograded is not None else []
        if forged:
            result.flags.append(f"forged replies to the grader (scored zero): {', '.join(forged)}")
        if lost:
            try:
                zero_parts(course, chapter, student, lost)
                result.flags.append(f"scored zero (never ran): {', '.join(lost)}")
            except Exception as error:  # no gradebook entry to correct
                result.flags.append(f"could not zero {lost}: {error}")
    if result.status != "missing":
        record_outcome(course, result)
    result.seconds = time.perf_counter() - start
    return result


def prepare_submission(
    course: Path, chapter: str, student: str, result: GradeResult
) -> nbformat.NotebookNode | None:
    """Check the submitted notebook and write its rebuilt copy, which nbgrader grades.

    The submission is the task's own regular file (`grader.grade_task` wrote it; whether the
    student's file was missing, a symlink or an invalid id was decided before, by
    `grader.grade_store.read_submission`). Returns it as read, or None when it is not a
    notebook nbgrader can read (`result` then says "corrupt").
    """
    folder = CourseFolder(course)
    submitted = folder.submitted(student, chapter) / NOTEBOOK
    target = course / REBUILT / student / chapter
    shutil.rmtree(target, ignore_errors=True)
    problem = notebook_problem(submitted)
    if problem:  # every part scores zero; the instructor's copy is set aside at commit
        result.status, result.message = "corrupt", f"{student}: {submitted}: {problem}"
        return None
    nb = nbformat.read(submitted, as_version=4)
    release = nbformat.read(folder.release(chapter), as_version=4)
    rebuilt, mismatches = rebuild(nb, release)
    result.flags += [f"structure {note}" for note in mismatches]
    target.mkdir(parents=True, mode=0o700)
    nbformat.write(rebuilt, target / NOTEBOOK)
    stamp = timestamp_file(submitted.parent)
    if stamp:
        (target / TIMESTAMP).write_text(stamp.read_text(errors="replace"))
    return nb


def run_nbgrader(
    command: list[str],
    course: Path,
    chapter: str,
    student: str,
    notebook_timeout: float,
    result: GradeResult,
    extra_env: dict[str, str],
) -> None:
    """Run one `nbgrader autograde --student` process.

    Its gradebook is the task's own SQLite file with one writer, so a failure is never retried:
    a decision is never taken from the text of a log that a kernel could once write into.
    """
    code, output, result.grader_peak = warm_start.run_measured(
        command[1:], grading_env(**extra_env), course, notebook_timeout
    )
    if code is None:
        result.status = "time limit"
        result.message = f"{student}: stopped after the {notebook_timeout:g} s notebook limit"
        return
    if code == 0:
        return
    result.status = "error"
    last = [line for line in output.splitlines() if "ERROR" in line or "Error" in line]
    log_file = course / "logs" / chapter / f"{student}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.write_text(output)
    result.message = f"{student}: nbgrader autograde failed: " + " | ".join(last[-3:])
    result.message += f" (log: {log_file})"
