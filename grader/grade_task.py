"""One submission's grading as a pure function: notebooks and bytes in, a result out.

`grade_submission(chapter, submission, version, settings)` needs no shared folder and never
touches the instructor's gradebook. On whichever machine runs it (the instructor's, or a Dask
worker, `grader.cluster`) it makes a private temporary course folder, puts the chapter's three
notebooks there (nbgrader's `source/`, the student `release/` and the full `hidden/` one), a
gradebook that knows the chapter, and the submission; grades it with the course's own machinery
(`grader.nbgrader_run.grade_student`: rebuild, nbgrader, the sandbox, the hidden tests); reads
back what nbgrader wrote for each graded part; and deletes the folder. The instructor's process
writes the result into the real gradebook (`grader.grade_store`).

The same inputs give the same result, so a result is kept under (the submission's sha256, the
grader version, the settings): `version` hashes the grader's and the helpers' code, the
course's nbgrader settings and the chapter's notebooks. A worker whose own code differs from
the instructor's refuses the task (`GraderMismatch`) rather than grade with other tests.
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import socket
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from grader import sandbox
from grader.course import db_url, gradebook, make_course
from grader.course_folder import HIDDEN, RELEASE, SOURCE, TIMESTAMP, CourseFolder
from grader.grade_result import GradeResult
from grader.nbgrader_run import SANDBOX_DIR, Settings, grade_student
from grader.paths import NOTEBOOK, REPO_ROOT
from grader.warm_start import nbgrader

CODE_DIRS = ("grader", "helpers")  # what grades: its code is part of the grader version
CODE_FILES = ("nbgrader_config.py",)


class GraderMismatch(RuntimeError):
    """The worker's grader is not the one the instructor asked for: it must not grade."""


class SandboxMissing(RuntimeError):
    """The sandbox was asked for and this machine cannot build its walls: it must not grade."""


@dataclass(frozen=True)
class Chapter:
    """A released chapter, as the grader needs it: its three notebooks and its due date."""

    name: str
    source: bytes  # nbgrader's source/: solutions and visible tests
    release: bytes  # what students got (the rebuild's template)
    hidden: bytes  # the full instructor notebook, hidden tests included
    duedate: str | None = None  # ISO time, UTC without a zone, as nbgrader stores it

    @classmethod
    def from_course(cls, course: Path, name: str, duedate: str | None = None) -> Chapter:
        folder = CourseFolder(course)
        source, release = folder.source(name).read_bytes(), folder.release(name).read_bytes()
        return cls(name, source, release, folder.hidden(name).read_bytes(), duedate)

    def digest(self) -> str:
        parts = [self.name.encode(), self.source, self.release, self.hidden]
        return _sha256(*parts, (self.duedate or "").encode())


@dataclass(frozen=True)
class Submission:
    """One student's notebook and its `timestamp.txt`, as bytes."""

    student: str
    notebook: bytes
    timestamp: bytes | None = None

    @property
    def sha256(self) -> str:
        return _sha256(self.notebook, b"\0", self.timestamp or b"")


@functools.cache
def code_version() -> str:
    """A hash of the grading code here (grader/, helpers/, the nbgrader settings), read once."""
    files = [p for d in CODE_DIRS for p in (REPO_ROOT / d).rglob("*") if p.is_file()]
    files += [REPO_ROOT / name for name in CODE_FILES]
    files = sorted(p for p in files if "__pycache__" not in p.parts and p.suffix != ".pyc")
    return _sha256(
        *(b"%s\0%s\0" % (str(p.relative_to(REPO_ROOT)).encode(), p.read_bytes()) for p in files)
    )


def grader_version(chapter: Chapter) -> str:
    """The grader version of a chapter: this machine's code and the chapter's notebooks."""
    return _sha256(code_version().encode(), chapter.digest().encode())[:24]


def grade_submission(
    chapter: Chapter, submission: Submission, version: str, settings: Settings
) -> GradeResult:
    """Grade one submission in a private temporary course folder; the folder is then removed."""
    check_walls(settings)
    mine = grader_version(chapter)
    if mine != version:
        raise GraderMismatch(
            f"{socket.gethostname()}: grader version {mine}, the instructor's is {version}: "
            "update this machine's course checkout and environment, then restart its worker"
        )
    tmp = Path(tempfile.mkdtemp(prefix="course-grade-task-"))
    try:
        course = _task_course(tmp / "course", chapter, submission, settings)
        result = grade_student(course, chapter.name, submission.student, settings)
        result.sha256, result.grader_version = submission.sha256, version
        result.settings, result.worker = settings.digest(), socket.gethostname()
        result.workdir = str(course)
        _read_gradebook(course, chapter.name, submission.student, result)
        graded = CourseFolder(course).autograded(submission.student, chapter.name) / NOTEBOOK
        result.notebook = graded.read_bytes() if graded.is_file() else None
        log = course / "logs" / chapter.name / f"{submission.student}.log"
        result.log = log.read_text(errors="replace") if log.is_file() else ""
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# Walls a grading machine may lack and still grade: a uid of the kernel's own needs root (a
# non-root instructor, a SLURM job) and cgroups need a writable hierarchy; bwrap's namespaces
# (files, processes, network, ipc), the limits and the clean environment are required.
OPTIONAL_WALLS = ("user", "cgroups")


def missing_walls() -> dict[str, str]:
    """The required walls (all but OPTIONAL_WALLS) this machine cannot build, each with why."""
    return {
        wall: why
        for wall, why in sandbox.availability().items()
        if why and wall not in OPTIONAL_WALLS
    }


def check_walls(settings: Settings) -> None:
    """Refuse to grade in a sandbox that lacks a required wall (see OPTIONAL_WALLS)."""
    if not settings.use_sandbox:
        return
    missing = missing_walls()
    if missing:
        walls = "; ".join(f"{wall}: {why}" for wall, why in missing.items())
        raise SandboxMissing(
            f"{socket.gethostname()} refuses to grade: the sandbox lacks walls ({walls}). "
            "Install bubblewrap (Debian: apt-get install bubblewrap; root adds a uid of the "
            "kernel's own), or, knowing what the kernels may then do, grade with --no-sandbox"
        )


def _task_course(root: Path, chapter: Chapter, submission: Submission, settings) -> Path:
    """A course folder of its own: the chapter's notebooks, its gradebook, one submission."""
    course = make_course(root)
    url = db_url(course)
    if not url.startswith("sqlite:///" + str(course)):
        raise RuntimeError(f"a task's gradebook must be its own SQLite file, not {url}")
    for folder, data in (
        (SOURCE, chapter.source),
        (RELEASE, chapter.release),
        (HIDDEN, chapter.hidden),
    ):
        path = course / folder / chapter.name / NOTEBOOK
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (course / "gradebook.db").write_bytes(_template_gradebook(chapter))
    (course / "gradebook.db").chmod(0o600)
    submitted = CourseFolder(course).submitted(submission.student, chapter.name)
    submitted.mkdir(parents=True)
    (submitted / NOTEBOOK).write_bytes(submission.notebook)
    if submission.timestamp is not None:
        (submitted / TIMESTAMP).write_bytes(submission.timestamp)
    if settings.use_sandbox:
        sandbox.install_kernel(course / SANDBOX_DIR)
    return course


_templates: dict[str, bytes] = {}
_templates_lock = threading.Lock()


def _template_gradebook(chapter: Chapter) -> bytes:
    """A gradebook that knows the chapter (nbgrader generate_assignment), made once a process."""
    key = chapter.digest()
    with _templates_lock:
        if key not in _templates:
            with tempfile.TemporaryDirectory(prefix="course-grade-template-") as tmp:
                course = make_course(Path(tmp) / "course")
                path = CourseFolder(course).source(chapter.name)
                path.parent.mkdir(parents=True)
                path.write_bytes(chapter.source)
                nbgrader(["generate_assignment", chapter.name, "--force"], course, 600)
                if chapter.duedate:
                    due = datetime.fromisoformat(chapter.duedate)
                    with gradebook(course) as gb:
                        gb.update_or_create_assignment(chapter.name, duedate=due)
                _templates[key] = (course / "gradebook.db").read_bytes()
        return _templates[key]


def _read_gradebook(course: Path, chapter: str, student: str, result: GradeResult) -> None:
    """What nbgrader (and the course's corrections) wrote for the submission, per part."""
    from nbgrader.api import MissingEntry

    with gradebook(course) as gb:
        try:
            submission = gb.find_submission(chapter, student)
            notebook = gb.find_submission_notebook(Path(NOTEBOOK).stem, chapter, student)
        except MissingEntry:
            return
        result.scores = {g.name: g.auto_score for g in notebook.grades}
        result.needs_manual = {g.name: bool(g.needs_manual_grade) for g in notebook.grades}
        result.comments = {c.name: c.auto_comment for c in notebook.comments}
        stamp = submission.timestamp
        result.timestamp = stamp.isoformat() if stamp is not None else None
        result.late_penalty = notebook.late_submission_penalty


def _sha256(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.hexdigest()
