"""A course folder: nbgrader's settings, its gradebook, and running nbgrader in it.

Every instructor command works on a course folder the instructor owns, outside the repository
(`--course`, default `$COURSE_GRADING_DIR` or `~/cnn-grading`). The folder is mode 0700 and the
gradebook 0600. nbgrader's `source/` holds each chapter's notebook *without* its hidden tests
(so no student kernel ever executes them); the full instructor notebook is kept in `hidden/`,
which only the grader's own process reads (`grader.hidden`).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import nbformat

from grader import notebooks
from grader.paths import NOTEBOOK, REPO_ROOT, SOLUTIONS_DIR

SECRET_MARKERS = ("CANARY", "BEGIN HIDDEN TESTS", "BEGIN SOLUTION")
DB_TIMEOUT_S = 60
REBUILT = "rebuilt"  # submissions rebuilt from the source notebook; what nbgrader grades
HIDDEN = "hidden"  # full instructor notebooks, hidden tests included
# LMS export names: <student>_<UTC timestamp>_exercises.ipynb; nbgrader matches the full path.
NBGRADER_REGEXP = (
    r".*[/\\](?P<student_id>[A-Za-z0-9][A-Za-z0-9.\-]{0,63})_"
    r"(?:(?P<timestamp>\d{8}T\d{6}Z?)_)?(?P<file_id>exercises)"
)


def bin_dir() -> Path:
    """The environment's `bin/`: nbgrader runs `alembic` by name, so it must be on PATH."""
    return Path(sys.executable).parent


def grading_env(**extra: str) -> dict[str, str]:
    """Environment for nbgrader and its kernels: the course's bin/ first, fast and offline mode."""
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir()}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("COURSE_FAST", "1")
    env.setdefault("COURSE_OFFLINE", "1")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.update(extra)
    return env


def default_course() -> Path:
    """The instructor's course folder: $COURSE_GRADING_DIR or ~/cnn-grading."""
    return Path(os.environ.get("COURSE_GRADING_DIR", Path.home() / "cnn-grading")).expanduser()


def db_url(course: Path) -> str:
    """The gradebook URL with a busy timeout, so that a second writer waits instead of failing."""
    return f"sqlite:///{Path(course) / 'gradebook.db'}?timeout={DB_TIMEOUT_S}"


def make_course(root: Path) -> Path:
    """Create (or reuse) a private course folder at `root`, outside the repository.

    Its nbgrader_config.py loads the repository's and adds: the gradebook URL with a busy
    timeout, the LMS file-name pattern, and the rebuilt submissions as what nbgrader grades.
    """
    root = Path(root).expanduser().resolve()
    if root == REPO_ROOT or REPO_ROOT in root.parents:
        raise ValueError(f"expected a course folder outside the repository, got {root}")
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    (root / "source").mkdir(exist_ok=True)
    shared = REPO_ROOT / "nbgrader_config.py"
    (root / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"load_subconfig({str(shared)!r})  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        f"c.CourseDirectory.db_url = {db_url(root)!r}\n"
        f"c.FileNameCollectorPlugin.named_regexp = {NBGRADER_REGEXP!r}\n"
    )
    protect_gradebook(root)
    return root


def protect_gradebook(course: Path) -> None:
    """The gradebook and its WAL files are the grader's alone (0600)."""
    for name in ("gradebook.db", "gradebook.db-wal", "gradebook.db-shm"):
        path = Path(course) / name
        if path.exists():
            os.chmod(path, 0o600)


def use_wal(course: Path) -> None:
    """Switch the gradebook to write-ahead logging: readers never block the one writer."""
    path = Path(course) / "gradebook.db"
    if path.exists():
        with sqlite3.connect(path, timeout=DB_TIMEOUT_S) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
    protect_gradebook(course)


def gradebook(course: Path):
    """An nbgrader Gradebook on the course's database (use it in a `with` block)."""
    from nbgrader.api import Gradebook

    return Gradebook(db_url(course))


def nbgrader(args: list[str], course: Path, timeout: float | None = None) -> str:
    """Run an nbgrader command in `course`; raise with its output when it fails."""
    command = [str(bin_dir() / "nbgrader"), *args]
    result = subprocess.run(
        command, cwd=course, env=grading_env(), capture_output=True, text=True, timeout=timeout
    )
    protect_gradebook(course)
    if result.returncode != 0:
        raise RuntimeError(
            f"`{' '.join(command[1:])}` failed ({result.returncode}):\n"
            f"{result.stdout}{result.stderr}"
        )
    return result.stdout + result.stderr


def add_source(course: Path, chapter: str) -> Path:
    """Put a chapter's notebook into the course: `hidden/` in full, `source/` without hidden tests.

    nbgrader only ever sees `source/`, so the test cells it puts back into a submission hold the
    visible tests alone; the hidden tests run in the grader's own process (`grader.hidden`).
    """
    full = nbformat.read(SOLUTIONS_DIR / chapter / NOTEBOOK, as_version=4)
    hidden = Path(course) / HIDDEN / chapter / NOTEBOOK
    hidden.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(full, hidden)
    target = Path(course) / "source" / chapter / NOTEBOOK
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebooks.without_hidden_tests(full), target)
    return target


def hidden_notebook(course: Path, chapter: str) -> nbformat.NotebookNode:
    """The full instructor notebook of a chapter (hidden tests included), for the grader only."""
    return nbformat.read(Path(course) / HIDDEN / chapter / NOTEBOOK, as_version=4)


def source_notebook(course: Path, chapter: str) -> nbformat.NotebookNode:
    """The chapter's notebook as nbgrader knows it: solutions, visible tests, no hidden tests."""
    return nbformat.read(Path(course) / "source" / chapter / NOTEBOOK, as_version=4)


def find_secrets(text: str) -> list[str]:
    """The solution / hidden-test markers present in `text` (an empty list is the goal)."""
    return [marker for marker in SECRET_MARKERS if marker in text]
