"""A course folder: nbgrader's settings, its gradebook, and running nbgrader in it.

Every instructor command works on a course folder the instructor owns, outside the repository
(`--course`, default `$COURSE_GRADING_DIR` or `~/cnn-grading`). The folder is mode 0700 and the
gradebook 0600. nbgrader's `source/` holds each chapter's notebook *without* its hidden tests
(so no student kernel ever executes them); the full instructor notebook is kept in `hidden/`,
which only the grader's own process reads (`grader.hidden`).

The gradebook is SQLite in the course folder unless the instructor chose a shared PostgreSQL
database once (`course-grade --db postgresql://...`): the URL is then kept in the course folder
(`gradebook-url`, 0600) and every command and nbgrader's own config read it through `db_url`.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

import nbformat

from grader import notebooks
from grader.alembic_version import cache_alembic_version
from grader.course_folder import SOURCE, CourseFolder
from grader.paths import NOTEBOOK, REPO_ROOT, SOLUTIONS_DIR

SECRET_MARKERS = ("CANARY", "BEGIN HIDDEN TESTS", "BEGIN SOLUTION")
DB_TIMEOUT_S = 60
DB_URL_FILE = "gradebook-url"  # the URL given with --db; absent: SQLite in the course folder
POSTGRES_DRIVER = "postgresql+psycopg2"  # requirements.txt pins psycopg2-binary
# nbgrader's course id: every assignment row refers to a course row, which nbgrader only creates
# for a non-empty id. SQLite never checks that reference, PostgreSQL does. Gradebook's default.
NBGRADER_COURSE_ID = "default_course"
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
    """The course's gradebook URL: the one chosen with `--db`, else SQLite in the course folder.

    The SQLite URL has a busy timeout, so that a second writer waits instead of failing.
    """
    stored = Path(course) / DB_URL_FILE
    if stored.is_file():
        return stored.read_text().strip()
    return f"sqlite:///{Path(course) / 'gradebook.db'}?timeout={DB_TIMEOUT_S}"


def is_sqlite(course: Path) -> bool:
    """Whether the course's gradebook is its own SQLite file (WAL and 0600 apply)."""
    return db_url(course).startswith("sqlite:")


def checked_db_url(url: str) -> str:
    """A `--db` value as the URL to keep: `postgresql://` gets the pinned driver, psycopg2.

    SQLAlchemy 2.1 reads a bare `postgresql://` as psycopg 3, which the course does not install.
    Raises ValueError (the password hidden) for anything but a PostgreSQL URL with a database.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError("expected a URL like postgresql://user@host:5432/gradebook") from None
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        raise ValueError(f"expected postgresql://user@host:port/database, got {shown_url(url)}")
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername=POSTGRES_DRIVER)
    return parsed.render_as_string(hide_password=False)


def shown_url(url: str) -> str:
    """A gradebook URL fit to print: its password (if any) as ***."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a URL)"


def set_db_url(course: Path, url: str) -> str:
    """Keep `url` as the course's gradebook (`sqlite` for the course folder's own file).

    Returns the URL as shown (password hidden). The file is the instructor's alone (0600).
    """
    course = make_course(course)
    stored = course / DB_URL_FILE
    if url == "sqlite":
        stored.unlink(missing_ok=True)
        return shown_url(db_url(course))
    url = checked_db_url(url)
    fd = os.open(stored, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(url + "\n")
    return shown_url(url)


def make_course(root: Path) -> Path:
    """Create (or reuse) a private course folder at `root`, outside the repository.

    Its nbgrader_config.py loads the repository's and adds: the course id, the gradebook URL
    (read from `db_url` when nbgrader starts, so a password never lands in the file) and the LMS
    file-name pattern.
    """
    root = Path(root).expanduser().resolve()
    if root == REPO_ROOT or REPO_ROOT in root.parents:
        raise ValueError(f"expected a course folder outside the repository, got {root}")
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    (root / SOURCE).mkdir(exist_ok=True)
    shared = REPO_ROOT / "nbgrader_config.py"
    (root / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"load_subconfig({str(shared)!r})  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        f"c.CourseDirectory.course_id = {NBGRADER_COURSE_ID!r}\n"
        "from grader.course import db_url  # noqa: E402\n"
        f"c.CourseDirectory.db_url = db_url({str(root)!r})\n"
        f"c.FileNameCollectorPlugin.named_regexp = {NBGRADER_REGEXP!r}\n"
    )
    protect_gradebook(root)
    return root


def protect_gradebook(course: Path) -> None:
    """The gradebook, its WAL files and the kept URL are the grader's alone (0600)."""
    for name in ("gradebook.db", "gradebook.db-wal", "gradebook.db-shm", DB_URL_FILE):
        path = Path(course) / name
        if path.exists():
            os.chmod(path, 0o600)


def use_wal(course: Path) -> None:
    """Switch an SQLite gradebook to write-ahead logging: readers never block the one writer.

    A PostgreSQL gradebook needs nothing: its readers and writers never block each other.
    """
    path = Path(course) / "gradebook.db"
    if is_sqlite(course) and path.exists():
        with sqlite3.connect(path, timeout=DB_TIMEOUT_S) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
    protect_gradebook(course)


def gradebook(course: Path):
    """An nbgrader Gradebook on the course's database (use it in a `with` block)."""
    from nbgrader.api import Gradebook

    cache_alembic_version()
    return Gradebook(db_url(course), NBGRADER_COURSE_ID)


def add_source(course: Path, chapter: str) -> Path:
    """Put a chapter's notebook into the course: `hidden/` in full, `source/` without hidden tests.

    nbgrader only ever sees `source/`, so the test cells it puts back into a submission hold the
    visible tests alone; the hidden tests run in the grader's own process (`grader.hidden`).
    """
    full = nbformat.read(SOLUTIONS_DIR / chapter / NOTEBOOK, as_version=4)
    hidden = CourseFolder(course).hidden(chapter)
    hidden.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(full, hidden)
    target = CourseFolder(course).source(chapter)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebooks.without_hidden_tests(full), target)
    return target


def hidden_notebook(course: Path, chapter: str) -> nbformat.NotebookNode:
    """The full instructor notebook of a chapter (hidden tests included), for the grader only."""
    return nbformat.read(CourseFolder(course).hidden(chapter), as_version=4)


def source_notebook(course: Path, chapter: str) -> nbformat.NotebookNode:
    """The chapter's notebook as nbgrader knows it: solutions, visible tests, no hidden tests."""
    return nbformat.read(CourseFolder(course).source(chapter), as_version=4)


def find_secrets(text: str) -> list[str]:
    """The solution / hidden-test markers present in `text` (an empty list is the goal)."""
    return [marker for marker in SECRET_MARKERS if marker in text]
