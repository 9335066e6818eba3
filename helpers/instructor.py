"""The instructor's grading round on real nbgrader: release, collect, autograde, feedback, export.

Every command works on a course folder the instructor owns, outside the repository
(`--course`, default `$COURSE_GRADING_DIR` or `~/cnn-grading`). A whole round for chapter 01:

    python -m helpers.instructor release 01-kernels            # release/ + release/01-kernels.zip
    python -m helpers.instructor collect 01-kernels LMS_FOLDER --roster roster.txt \\
        --due 2025-03-01T23:59:00Z                              # -> submitted/<student>/01-kernels/
    python -m helpers.instructor autograde 01-kernels --jobs 2 --cell-timeout 60
    python -m helpers.instructor feedback 01-kernels          # feedback/, hidden tests removed
    python -m helpers.instructor export 01-kernels            # scores.csv + summary.csv
    python -m helpers.instructor summary 01-kernels           # which parts the class found hard
    python -m helpers.instructor benchmark --chapter 01-kernels 05-mnist-cnn --students 60
                                                              # seconds per submission, --jobs 2

Why the wrapping: nbgrader grades one notebook at a time and its SQLite gradebook takes one
writer at a time, so `--jobs N` runs one `nbgrader autograde --student S` process per student,
N at once, on a gradebook opened with a 60 s busy timeout in WAL mode (a retry covers a lock
that still slips through). Plain `generate_feedback` prints hidden tests (jupyter/nbgrader#917):
the course's feedback removes them and the tracebacks that quote them, and every release zip
and feedback page is scanned for the CANARY strings planted in solutions and hidden tests.
After grading, each notebook is checked: a graded cell that never ran (`sys.exit`, `os._exit`,
a killed kernel) scores zero, and a scan of the student's own code flags tampering with the
checking tools for review; what happened is written into the gradebook (the notebook flagged,
a comment on its first answer). Every kernel runs in the grading sandbox (`helpers.sandbox`:
its own uid, no network, the course hidden, memory and process limits) unless `--no-sandbox`.
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbgrader.api import MissingEntry
from nbgrader.preprocessors import LimitOutput
from traitlets import Integer

from helpers import grading, sandbox

NOTEBOOK = grading.NOTEBOOK
SECRET_MARKERS = ("CANARY", "BEGIN HIDDEN TESTS", "BEGIN SOLUTION")
DB_TIMEOUT_S = 60
LOG_NAME = "grading-log.json"
SANDBOX_DIR = "sandbox-kernel"  # JUPYTER_PATH folder of the course-sandbox kernel spec
# LMS export names: <student>_<UTC timestamp>_exercises.ipynb, the timestamp optional.
LMS_NAME = re.compile(
    r"^(?P<student_id>[A-Za-z0-9.\-]+)_(?:(?P<timestamp>\d{8}T\d{6}Z?)_)?(?P<file_id>exercises)"
    r"(?: \(\d+\))?\.ipynb$"
)
# nbgrader matches it against the file's absolute path.
NBGRADER_REGEXP = (
    r".*[/\\](?P<student_id>[A-Za-z0-9.\-]+)_"
    r"(?:(?P<timestamp>\d{8}T\d{6}Z?)_)?(?P<file_id>exercises)"
)
HIDDEN_REGION = re.compile(
    r"^[^\n]*BEGIN HIDDEN TESTS.*?^[^\n]*END HIDDEN TESTS[^\n]*(\n|$)", re.M | re.S
)
# Names whose attributes a submission has no business replacing: the checking tools.
GUARDED_MODULES = {"checks", "np", "numpy", "math", "tf", "tensorflow", "testing", "builtins"}
SUSPICIOUS_CALLS = {
    "exit": "calls exit()",
    "quit": "calls quit()",
    "sys.exit": "calls sys.exit()",
    "os._exit": "calls os._exit()",
    "os.kill": "sends a signal",
    "os.fork": "forks",
    "os.system": "runs a shell command",
    "setattr": "sets an attribute with setattr()",
    "get_ipython": "reaches into the IPython shell",
}
SUSPICIOUS_IMPORTS = {
    "socket": "opens network sockets",
    "subprocess": "runs programs",
    "ctypes": "calls C code",
    "builtins": "touches builtins",
    "gc": "walks the garbage collector",
    "inspect": "inspects frames",
    "signal": "handles signals",
    "importlib": "reloads modules",
    "urllib": "uses the network",
    "requests": "uses the network",
}


# --------------------------------------------------------------------------------------------
# Course folder
# --------------------------------------------------------------------------------------------


def default_course() -> Path:
    """The instructor's course folder: $COURSE_GRADING_DIR or ~/cnn-grading."""
    return Path(os.environ.get("COURSE_GRADING_DIR", Path.home() / "cnn-grading")).expanduser()


def db_url(course: Path) -> str:
    """The gradebook URL with a busy timeout, so that a second writer waits instead of failing."""
    return f"sqlite:///{Path(course) / 'gradebook.db'}?timeout={DB_TIMEOUT_S}"


def open_course(root: Path) -> Path:
    """Create (or reuse) a course folder at `root`, outside the repository, set up for parallel use.

    It is `grading.make_course` plus: the gradebook URL with a busy timeout, the LMS file-name
    pattern for `nbgrader zip_collect`, and feedback that hides hidden tests.
    """
    root = Path(root).expanduser().resolve()
    if root == grading.REPO_ROOT or grading.REPO_ROOT in root.parents:
        raise ValueError(f"expected a course folder outside the repository, got {root}")
    grading.make_course(root)
    with (root / "nbgrader_config.py").open("a") as config:
        config.write(
            "# Added by helpers.instructor: parallel-safe gradebook, LMS names, safe feedback.\n"
            f"c.CourseDirectory.db_url = {db_url(root)!r}\n"
            f"c.FileNameCollectorPlugin.named_regexp = {NBGRADER_REGEXP!r}\n"
            "c.GenerateFeedback.preprocessors = [\n"
            "    'nbgrader.preprocessors.GetGrades',\n"
            "    'helpers.instructor.HideHiddenTests',\n"
            "    'nbconvert.preprocessors.CSSHTMLHeaderPreprocessor',\n"
            "]\n"
        )
    return root


def use_wal(course: Path) -> None:
    """Switch the gradebook to write-ahead logging: readers never block the one writer."""
    path = Path(course) / "gradebook.db"
    if path.exists():
        with sqlite3.connect(path, timeout=DB_TIMEOUT_S) as connection:
            connection.execute("PRAGMA journal_mode=WAL")


def gradebook(course: Path):
    """An nbgrader Gradebook on the course's database (use it in a `with` block)."""
    from nbgrader.api import Gradebook

    return Gradebook(db_url(course))


def nbgrader(args: list[str], course: Path, timeout: float | None = None) -> str:
    """Run an nbgrader command in the course folder; raise with its output when it fails."""
    return grading.nbgrader(args, Path(course), timeout=timeout)


def find_secrets(text: str) -> list[str]:
    """The solution / hidden-test markers present in `text` (an empty list is the goal)."""
    return [marker for marker in SECRET_MARKERS if marker in text]


# --------------------------------------------------------------------------------------------
# release
# --------------------------------------------------------------------------------------------


def release(course: Path, chapters: list[str], zip_path: Path | None = None) -> Path:
    """Generate the student version of each chapter in the course folder and zip them for an LMS.

    Returns the zip's path (default `<course>/release/<chapters>.zip`). Raises if a solution
    or hidden test reached the zip.
    """
    course = open_course(course)
    for chapter in chapters:
        student = grading.generate_student_notebook(chapter, course)
        nbformat.write(student, course / "release" / chapter / NOTEBOOK)
    use_wal(course)
    name = chapters[0] if len(chapters) == 1 else "all-chapters"
    zip_path = Path(zip_path or course / "release" / f"{name}.zip")
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for chapter in chapters:
            folder = course / "release" / chapter
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                archive.write(path, path.relative_to(course / "release"))
    with zipfile.ZipFile(zip_path) as archive:
        for member in archive.namelist():
            found = find_secrets(archive.read(member).decode("utf-8", errors="replace"))
            if found:
                raise RuntimeError(f"{zip_path}:{member} contains {found}: not releasing")
    return zip_path


# --------------------------------------------------------------------------------------------
# collect
# --------------------------------------------------------------------------------------------


@dataclass
class CollectReport:
    """What `collect` found: who submitted, who did not, duplicates, late ones, stray files."""

    collected: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    duplicates: dict[str, list[str]] = field(default_factory=dict)
    late: dict[str, float] = field(default_factory=dict)  # student -> seconds late
    unmatched: list[str] = field(default_factory=list)

    def format(self) -> str:
        lines = [f"collected {len(self.collected)}: {', '.join(self.collected) or '-'}"]
        lines.append(f"missing   {len(self.missing)}: {', '.join(self.missing) or '-'}")
        for student, files in sorted(self.duplicates.items()):
            lines.append(f"duplicate {student}: kept {files[-1]}, ignored {', '.join(files[:-1])}")
        for student, seconds in sorted(self.late.items()):
            lines.append(f"late      {student}: {seconds / 3600:.1f} h after the due date")
        for name in self.unmatched:
            lines.append(f"skipped   {name}: not named <student>_[<YYYYMMDDTHHMMSSZ>_]{NOTEBOOK}")
        return "\n".join(lines)


def parse_time(text: str) -> datetime:
    """A UTC datetime from '2025-03-01T23:59:00Z', '20250301T235900Z' or '2025-03-01 23:59:00'."""
    text = text.strip().replace("Z", "+00:00")
    if re.fullmatch(r"\d{8}T\d{6}(\+00:00)?", text):
        value = datetime.strptime(text[:15], "%Y%m%dT%H%M%S")
    else:
        value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def read_roster(path: Path | None) -> list[str]:
    """Student ids from a text file (one per line) or a CSV with an `id` column."""
    if path is None:
        return []
    text = Path(path).read_text()
    if Path(path).suffix == ".csv":
        return [row["id"].strip() for row in csv.DictReader(text.splitlines()) if row.get("id")]
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def collect(
    course: Path,
    chapter: str,
    source: Path,
    roster: list[str] | None = None,
    due: datetime | None = None,
) -> CollectReport:
    """Bring submissions into `<course>/submitted/<student>/<chapter>/` and report on them.

    `source` is either an LMS export (a flat folder of `<student>_<timestamp>_exercises.ipynb`
    files, collected with `nbgrader zip_collect`; the newest of duplicates is kept) or a tree
    `<student>/<chapter>/exercises.ipynb` (optionally with nbgrader's `timestamp.txt`).
    Students of `roster` are added to the gradebook; those without a submission are `missing`
    (nbgrader scores them zero). With `due`, the chapter's due date is set and late ones listed.
    """
    course, source = open_course(course), Path(source)
    report = CollectReport()
    stamps: dict[str, datetime | None] = {}
    if any(source.glob(f"*/{chapter}")):  # a submitted/<student>/<chapter>/ tree
        for folder in sorted(p for p in source.glob(f"*/{chapter}") if p.is_dir()):
            student = folder.parent.name
            target = course / "submitted" / student / chapter
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(folder, target)
            stamp = folder / "timestamp.txt"
            stamps[student] = parse_time(stamp.read_text()) if stamp.exists() else None
    else:  # a flat LMS export, through nbgrader zip_collect
        chosen: dict[str, list[tuple[datetime | None, float, Path]]] = {}
        for path in sorted(p for p in source.iterdir() if p.is_file()):
            match = LMS_NAME.match(path.name)
            if not match:
                report.unmatched.append(path.name)
                continue
            stamp = match["timestamp"] and parse_time(match["timestamp"])
            chosen.setdefault(match["student_id"], []).append(
                (stamp or None, path.stat().st_mtime, path)
            )
        archive = course / "downloaded" / chapter / "archive"
        for folder in (archive, archive.parent / "extracted"):
            if folder.exists():
                shutil.rmtree(folder)
        archive.mkdir(parents=True)
        oldest = datetime.min.replace(tzinfo=UTC)
        for student, files in chosen.items():
            files.sort(key=lambda item: (item[0] or oldest, item[1]))
            if len(files) > 1:
                report.duplicates[student] = [path.name for _, _, path in files]
            stamps[student], _, newest = files[-1]
            name = newest.name
            if " (" in name:  # "alice_exercises (1).ipynb": a browser's copy of a duplicate
                name = re.sub(r" \(\d+\)(?=\.ipynb$)", "", name)
            shutil.copy(newest, archive / name)
            target = course / "submitted" / student / chapter
            if target.exists():
                shutil.rmtree(target)
        if chosen:
            nbgrader(["zip_collect", chapter, "--force"], course)
        lost = [s for s in chosen if not (course / "submitted" / s / chapter / NOTEBOOK).exists()]
        if lost:
            raise RuntimeError(f"nbgrader zip_collect did not collect {lost}")
    report.collected = sorted(stamps)
    report.missing = sorted(set(roster or []) - set(stamps))
    with gradebook(course) as gb:
        if due is not None:
            gb.update_or_create_assignment(chapter, duedate=due.replace(tzinfo=None))
        for student in sorted(set(roster or []) | set(stamps)):
            gb.update_or_create_student(student)
    for student, stamp in stamps.items():
        if due is not None and stamp is not None and stamp > due:
            report.late[student] = (stamp - due).total_seconds()
    return report


# --------------------------------------------------------------------------------------------
# autograde
# --------------------------------------------------------------------------------------------


@dataclass
class StudentResult:
    """How grading one student's notebook went."""

    student: str
    chapter: str
    status: str  # "graded", "missing", "corrupt", "time limit", "error"
    seconds: float = 0.0
    message: str = ""
    flags: list[str] = field(default_factory=list)
    attempts: int = 1
    kernel_peaks: dict[str, int] = field(default_factory=dict)  # sandbox cgroups: memory, pids
    sandbox_uid: int | None = None


def submitted_students(course: Path, chapter: str) -> list[str]:
    """Students with a folder for `chapter` under submitted/."""
    return sorted(p.parent.name for p in (Path(course) / "submitted").glob(f"*/{chapter}"))


def notebook_problem(path: Path) -> str | None:
    """Why a submitted notebook cannot be graded (None when it can): bad JSON, format, ids."""
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as error:  # truncated JSON, wrong nbformat, invalid structure
        return f"not a readable notebook ({type(error).__name__}: {str(error)[:200]})"
    ids = [grading.grade_id(cell) for cell in nb.cells if grading.grade_id(cell)]
    repeated = sorted(name for name, count in Counter(ids).items() if count > 1)
    if repeated:
        return f"grade_id used twice: {', '.join(repeated)}"
    return None


def scan_code(nb: nbformat.NotebookNode) -> list[str]:
    """Flags for review from the student's own cells: patched checking tools, exits, sockets.

    A scan cannot prove intent; it points a human at the cells worth reading.
    """
    flags = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("locked") or meta.get("grade"):
            continue  # locked and test cells are replaced by the instructor's copy anyway
        where = grading.grade_id(cell) or "an unmarked cell"
        source = re.sub(r"^\s*[!%].*$", "", cell.source, flags=re.M)  # IPython magics
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
                targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [
                    node.target
                ]  # fmt: skip
                for target in targets:
                    base = target
                    while isinstance(base, ast.Attribute):
                        base = base.value
                    if isinstance(target, ast.Attribute) and isinstance(base, ast.Name):
                        if base.id in GUARDED_MODULES or base.id in {"sys", "os", "IPython"}:
                            flags.append(f"{where}: replaces {ast.unparse(target)}")
            elif isinstance(node, ast.FunctionDef) and node.name in {"__eq__", "__ne__"}:
                flags.append(f"{where}: defines {node.name} (an always-equal object?)")
            elif isinstance(node, ast.Call):
                name = ast.unparse(node.func)
                if name in SUSPICIOUS_CALLS:
                    flags.append(f"{where}: {SUSPICIOUS_CALLS[name]}")
            elif isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [
                    node.module or ""
                ]  # fmt: skip
                for module in names:
                    top = module.split(".")[0]
                    if top in SUSPICIOUS_IMPORTS:
                        flags.append(f"{where}: imports {module} ({SUSPICIOUS_IMPORTS[top]})")
            elif isinstance(node, ast.Attribute) and node.attr in {"stderr", "showtraceback"}:
                flags.append(f"{where}: uses {ast.unparse(node)}")
    return sorted(set(flags))


def tampering(nb: nbformat.NotebookNode, source: nbformat.NotebookNode) -> list[str]:
    """Differences in the locked cells between a submission and the instructor's notebook.

    nbgrader grades with its own copy of these cells anyway; this says what a student changed.
    """
    mine = {grading.grade_id(c): c for c in source.cells if grading.grade_id(c)}
    theirs: dict[str, list] = {}
    for cell in nb.cells:
        if grading.grade_id(cell):
            theirs.setdefault(grading.grade_id(cell), []).append(cell)
    notes = []
    for name, cell in mine.items():
        meta = cell.metadata.nbgrader
        if not (meta.get("locked") or meta.get("grade")):
            continue
        copies = theirs.get(name, [])
        if not copies:
            notes.append(f"{name}: deleted (restored from the gradebook)")
            continue
        if len(copies) > 1:
            notes.append(f"{name}: duplicated")
        got = copies[0]
        if got.cell_type != cell.cell_type:
            notes.append(f"{name}: cell type changed to {got.cell_type}")
        got_meta = got.metadata.get("nbgrader", {})
        if meta.get("grade") and got_meta.get("points") != meta.get("points"):
            notes.append(f"{name}: points changed to {got_meta.get('points')}")
        if got_meta.get("locked") != meta.get("locked") or got_meta.get("grade") != meta.get(
            "grade"
        ):
            notes.append(f"{name}: lock or grade flag changed")
        if meta.get("grade") and grading.SOLUTION_REGION.sub("", got.source).strip() != (
            HIDDEN_REGION.sub("", cell.source).strip()
        ):
            notes.append(f"{name}: test code edited")
    return notes


def not_executed(path: Path) -> list[str]:
    """Grade ids (or cell numbers) of code cells that never ran in an autograded notebook."""
    nb = nbformat.read(path, as_version=4)
    return [
        grading.grade_id(cell) or f"cell {index}"
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and cell.source.strip() and cell.get("execution_count") is None
    ]


def part_names(course: Path, chapter: str) -> list[str]:
    """The grade ids of a chapter's graded parts, from the source notebook."""
    source = nbformat.read(Path(course) / "source" / chapter / NOTEBOOK, as_version=4)
    return [
        grading.grade_id(c)
        for c in source.cells
        if c.metadata.get("nbgrader", {}).get("grade") and not grading.is_answer_cell(c)
    ]


def zero_parts(course: Path, chapter: str, student: str, parts: list[str]) -> None:
    """Set the automatic score of some graded parts of one submission to zero."""
    with gradebook(course) as gb:
        notebook = gb.find_submission_notebook(Path(NOTEBOOK).stem, chapter, student)
        for grade in notebook.grades:
            if grade.name in parts:
                grade.auto_score = 0.0
                grade.needs_manual_grade = False
        gb.db.commit()


def record_outcome(course: Path, result: StudentResult) -> bool:
    """Write what happened into the gradebook: the notebook flagged, a comment on its first answer.

    The instructor then sees it in formgrader too, not only in grading-log.json. A clean result
    changes nothing (a flag is for a human to clear). Returns False when the gradebook holds no
    submission to write on (a student who never submitted).
    """
    notes = [f"status {result.status}: {result.message}"] if result.status != "graded" else []
    notes += result.flags
    source = nbformat.read(Path(course) / "source" / result.chapter / NOTEBOOK, as_version=4)
    first_answer = next(grading.grade_id(c) for c in source.cells if grading.is_answer_cell(c))
    with gradebook(course) as gb:
        try:
            notebook = gb.find_submission_notebook(Path(NOTEBOOK).stem, result.chapter,
                                                   result.student)  # fmt: skip
            comment = gb.find_comment(first_answer, Path(NOTEBOOK).stem, result.chapter,
                                      result.student)  # fmt: skip
        except MissingEntry:
            return False
        if notes:  # nothing to say: leave nbgrader's own comment ("No response.") and flag
            notebook.flagged = True
            before = comment.auto_comment or ""
            kept = "" if not before or before.startswith("Autograder:") else f" ({before})"
            comment.auto_comment = "Autograder: " + " | ".join(notes) + kept
            gb.db.commit()
    return True


def kill_group(process: subprocess.Popen) -> None:
    """Stop a grading process and everything it started (its kernel included)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def grade_student(
    course: Path,
    chapter: str,
    student: str,
    cell_timeout: int | None = None,
    notebook_timeout: float | None = None,
    retries: int = 2,
    use_sandbox: bool = False,
    limits: sandbox.Limits | None = None,
) -> StudentResult:
    """Autograde one student's notebook in its own nbgrader process, then check the result.

    With `use_sandbox` the kernel runs in the grading sandbox (`helpers.sandbox`), as a uid of
    its own, under `limits`; the course folder must hold the kernel spec (`autograde` puts it).
    """
    if not use_sandbox:
        return _grade_student(course, chapter, student, cell_timeout, notebook_timeout, retries)
    isolate = sandbox.full_isolation()
    hidden = sandbox.default_hidden(course)
    with sandbox.Slot(hidden, limits or sandbox.Limits(), isolate) as place:
        extra = {**place.env(), "JUPYTER_PATH": str(Path(course) / SANDBOX_DIR)}
        result = _grade_student(
            course, chapter, student, cell_timeout, notebook_timeout, retries,
            extra_env=extra, extra_args=place.nbgrader_args(),
        )  # fmt: skip
    result.kernel_peaks = place.peaks
    result.sandbox_uid = place.uid
    return result


def _grade_student(
    course: Path,
    chapter: str,
    student: str,
    cell_timeout: int | None,
    notebook_timeout: float | None,
    retries: int,
    extra_env: dict[str, str] | None = None,
    extra_args: list[str] | None = None,
) -> StudentResult:
    course = Path(course)
    start = time.perf_counter()
    submitted = course / "submitted" / student / chapter / NOTEBOOK
    result = StudentResult(student, chapter, "graded")
    if submitted.exists():
        problem = notebook_problem(submitted)
        if problem:
            # Keep the file for the record, and let nbgrader score the missing notebook zero.
            aside = submitted.with_name(NOTEBOOK + ".corrupt")
            submitted.replace(aside)
            result.status, result.message = "corrupt", f"{student}: {submitted}: {problem}"
    elif (submitted.parent / (NOTEBOOK + ".corrupt")).exists():
        result.status, result.message = "corrupt", f"{student}: {submitted}: unreadable before"
    else:
        result.status, result.message = "missing", f"{student}: {submitted} was not submitted"
    if result.status == "corrupt":
        # nbgrader cannot read it: record a zero for every part, without running anything.
        with gradebook(course) as gb, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SQLAlchemy chatter on re-creating a submission
            gb.update_or_create_student(student)
            gb.update_or_create_submission(chapter, student)
        zero_parts(course, chapter, student, list(part_names(course, chapter)))
        record_outcome(course, result)
        result.seconds = time.perf_counter() - start
        return result
    command = [str(grading.bin_dir() / "nbgrader"), "autograde", chapter, "--force"]
    command += ["--student", student, "--CourseDirectory.db_url=" + db_url(course)]
    if cell_timeout:
        command.append(f"--Execute.timeout={int(cell_timeout)}")
    command += extra_args or []
    for attempt in range(1, retries + 2):
        result.attempts = attempt
        process = subprocess.Popen(
            command, cwd=course, env=grading.grading_env(**(extra_env or {})),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )  # fmt: skip
        try:
            output, _ = process.communicate(timeout=notebook_timeout)
        except subprocess.TimeoutExpired:
            kill_group(process)
            result.status = "time limit"
            result.message = f"{student}: stopped after the {notebook_timeout:g} s notebook limit"
            break
        if process.returncode == 0:
            break
        if "database is locked" in output and attempt <= retries:
            time.sleep(1 + attempt)
            continue
        result.status = "error"
        last = [line for line in output.splitlines() if "ERROR" in line or "Error" in line]
        log_file = course / "logs" / chapter / f"{student}.log"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        log_file.write_text(output)
        result.message = f"{student}: nbgrader autograde failed: " + " | ".join(last[-3:])
        result.message += f" (log: {log_file})"
        break
    graded = course / "autograded" / student / chapter / NOTEBOOK
    if result.status != "corrupt" and submitted.exists():
        nb = nbformat.read(submitted, as_version=4)
        source = nbformat.read(course / "source" / chapter / NOTEBOOK, as_version=4)
        result.flags += [f"tampered {note}" for note in tampering(nb, source)]
        result.flags += [f"code {flag}" for flag in scan_code(nb)]
    if result.status in {"graded", "time limit"} and submitted.exists():
        graded_parts = set(part_names(course, chapter))
        skipped = not_executed(graded) if graded.exists() else []
        lost = sorted(graded_parts) if result.status == "time limit" else [
            name for name in skipped if name in graded_parts
        ]  # fmt: skip
        if skipped:
            result.flags.append(f"not executed: {', '.join(skipped)}")
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


def autograde(
    course: Path,
    chapter: str,
    students: list[str] | None = None,
    jobs: int = 1,
    cell_timeout: int | None = None,
    notebook_timeout: float | None = None,
    use_sandbox: bool = True,
    limits: sandbox.Limits | None = None,
) -> list[StudentResult]:
    """Autograde every submission of `chapter` (or `students`), `jobs` processes at a time.

    Each student is graded by its own `nbgrader autograde --student` process; a failure (bad
    notebook, time limit, crash) is reported by student and file and leaves the others alone.
    With `use_sandbox` (the default) each kernel runs in the grading sandbox, with a uid of its own.
    Results are appended to `<course>/grading-log.json`.
    """
    course = open_course(course)
    use_wal(course)
    names = students or submitted_students(course, chapter)
    if use_sandbox:
        sandbox.install_kernel(course / SANDBOX_DIR)

    def one(student: str) -> StudentResult:
        return grade_student(
            course, chapter, student, cell_timeout, notebook_timeout,
            use_sandbox=use_sandbox, limits=limits,
        )  # fmt: skip

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(one, names))
    log_path = course / LOG_NAME
    log = json.loads(log_path.read_text()) if log_path.exists() else {}
    for result in results:
        log.setdefault(chapter, {})[result.student] = asdict(result)
    log_path.write_text(json.dumps(log, indent=1, sort_keys=True))
    return results


def format_results(results: list[StudentResult]) -> str:
    lines = []
    for r in results:
        peaks = r.kernel_peaks
        used = (
            f" (kernel peak {peaks.get('memory', 0) / 2**30:.2f} GiB, {peaks.get('pids', 0)} tasks)"
            if peaks else ""
        )  # fmt: skip
        lines.append(
            f"{r.status:<10} {r.student:<14} {r.seconds:6.1f} s{used}  {r.message}".rstrip()
        )
        lines.extend(f"           flag: {flag}" for flag in r.flags)
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# feedback
# --------------------------------------------------------------------------------------------


class HideHiddenTests(Preprocessor):
    """Feedback preprocessor: drop hidden-test regions and the tracebacks that quote them.

    A failing test keeps its error name and message (the hint); the traceback, which would show
    the hidden test's source lines, goes.
    """

    enabled = True  # nbconvert preprocessors are off unless enabled

    def preprocess_cell(self, cell, resources, index):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade"):
            cell.source = HIDDEN_REGION.sub("", cell.source)
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', '')}: {output.get('evalue', '')}"]
        return cell, resources


class CapOutput(LimitOutput):
    """Autograde preprocessor: nbgrader's line limit, plus a cap on the characters of any output.

    nbgrader keeps 1000 lines, but one 100 MB line (`print("x" * 10**8)`) would pass whole into
    the autograded notebook, the feedback and the gradebook's copy. Every text or data field of
    an output is cut to `max_chars` characters, so the autograded notebook stays small.
    """

    max_chars = Integer(100_000, help="characters kept of each output field").tag(config=True)

    def _cut(self, text: str) -> str:
        if len(text) <= self.max_chars:
            return text
        return text[: self.max_chars] + f"\n... output cut: {len(text):,} characters in all ...\n"

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        for output in cell.get("outputs", []):
            if isinstance(output.get("text"), str):
                output["text"] = self._cut(output["text"])
            for mime, value in list(output.get("data", {}).items()):
                if isinstance(value, str) and len(value) > self.max_chars:
                    output["data"][mime] = (
                        self._cut(value) if mime.startswith("text/") else
                        f"... {mime} output of {len(value):,} characters removed ..."
                    )  # fmt: skip
            if output.get("output_type") == "error":
                output["evalue"] = self._cut(str(output.get("evalue", "")))
                output["traceback"] = [self._cut(line) for line in output.get("traceback", [])]
        return cell, resources


def feedback(course: Path, chapter: str) -> list[Path]:
    """Write feedback/<student>/<chapter>/exercises.html; refuse any page with a hidden test."""
    course = open_course(course)
    nbgrader(["generate_feedback", chapter, "--force"], course)
    pages = sorted((course / "feedback").glob(f"*/{chapter}/*.html"))
    for page in pages:
        found = find_secrets(page.read_text(errors="replace"))
        if found:
            page.unlink()
            raise RuntimeError(f"{page} contained {found}; it was deleted")
    return pages


# --------------------------------------------------------------------------------------------
# export and summary
# --------------------------------------------------------------------------------------------


def score_rows(course: Path, chapters: list[str]) -> list[dict]:
    """One row per student and chapter: total, each part, late seconds, status and flags."""
    course = Path(course)
    log_path = course / LOG_NAME
    log = json.loads(log_path.read_text()) if log_path.exists() else {}
    rows = []
    with gradebook(course) as gb:
        students = sorted(s.id for s in gb.students)
        for chapter in chapters:
            assignment = gb.find_assignment(chapter)
            parts = sorted(
                (cell.name, float(cell.max_score))
                for notebook in assignment.notebooks
                for cell in notebook.grade_cells
                if cell.max_score > 0
            )
            for student in students:
                row = {"student": student, "chapter": chapter}
                try:
                    submission = gb.find_submission(chapter, student)
                except Exception:
                    submission = None
                scores = {}
                if submission is not None:
                    notebook = gb.find_submission_notebook(Path(NOTEBOOK).stem, chapter, student)
                    scores = {g.name: float(g.score) for g in notebook.grades if g.max_score > 0}
                for name, _ in parts:
                    row[name] = scores.get(name, 0.0)
                row["score"] = sum(row[name] for name, _ in parts)
                row["max_score"] = sum(points for _, points in parts)
                row["seconds_late"] = (
                    float(submission.total_seconds_late or 0) if submission is not None else 0.0
                )
                entry = log.get(chapter, {}).get(student, {})
                row["status"] = entry.get("status", "graded" if submission else "missing")
                if submission is None:
                    row["status"] = "missing"
                row["flags"] = "; ".join(entry.get("flags", []))
                rows.append(row)
    return rows


def class_summary(rows: list[dict]) -> list[dict]:
    """Per chapter and graded part: max, mean, median, full / partial / zero counts, histogram."""
    summary = []
    reserved = {"student", "chapter", "score", "max_score", "seconds_late", "status", "flags"}
    for chapter in sorted({row["chapter"] for row in rows}):
        mine = [row for row in rows if row["chapter"] == chapter]
        parts = [key for key in mine[0] if key not in reserved] + ["score"]
        for part in parts:
            values = [float(row[part]) for row in mine]
            top = max(values) if part != "score" else float(mine[0]["max_score"])
            counts = Counter(values)
            summary.append(
                {
                    "chapter": chapter,
                    "part": "total" if part == "score" else part,
                    "students": len(values),
                    "mean": round(statistics.fmean(values), 3),
                    "median": statistics.median(values),
                    "full": sum(v == top for v in values) if top > 0 else 0,
                    "zero": sum(v == 0 for v in values),
                    "distribution": " ".join(f"{v:g}:{counts[v]}" for v in sorted(counts)),
                }
            )
    return summary


def part_max(course: Path, chapter: str) -> dict[str, float]:
    """Points of each graded part of a chapter, from the gradebook."""
    with gradebook(course) as gb:
        assignment = gb.find_assignment(chapter)
        return {
            cell.name: float(cell.max_score)
            for notebook in assignment.notebooks
            for cell in notebook.grade_cells
            if cell.max_score > 0
        }


def export(course: Path, chapters: list[str], folder: Path | None = None) -> tuple[Path, Path]:
    """Write scores.csv (per student and chapter) and summary.csv (per graded part)."""
    course = Path(course)
    folder = Path(folder or course / "exports")
    folder.mkdir(parents=True, exist_ok=True)
    rows = score_rows(course, chapters)
    scores_path, summary_path = folder / "scores.csv", folder / "summary.csv"
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    with scores_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    summary = class_summary(rows)
    for item in summary:
        if item["part"] != "total":
            item["max_score"] = part_max(course, item["chapter"])[item["part"]]
    with summary_path.open("w", newline="") as handle:
        fields = ["chapter", "part", "max_score", "students", "mean", "median", "full", "zero"]
        writer = csv.DictWriter(handle, [*fields, "distribution"], restval="")
        writer.writeheader()
        writer.writerows(summary)
    return scores_path, summary_path


def format_summary(summary: list[dict]) -> str:
    lines = [f"{'chapter':<12} {'part':<20} {'mean':>6} {'median':>6}  full/zero  distribution"]
    for s in summary:
        lines.append(
            f"{s['chapter']:<12} {s['part']:<20} {s['mean']:>6g} {s['median']:>6g}  "
            f"{s['full']:>4}/{s['zero']:<4}  {s['distribution']}"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# benchmark
# --------------------------------------------------------------------------------------------


def make_class(course: Path, chapter: str, size: int) -> list[str]:
    """Submit `size` made-up notebooks for `chapter`: the chapter's fixtures, round robin."""
    student_nb = nbformat.read(course / "release" / chapter / NOTEBOOK, as_version=4)
    fixtures = grading.load_fixtures(chapter)
    names = []
    for number in range(size):
        fixture = fixtures[number % len(fixtures)]
        nb = student_nb if fixture.answers is None else grading.fill_answers(
            student_nb, fixture.answers
        )  # fmt: skip
        name = f"s{number:03d}-{fixture.student}"
        grading.submit(course, chapter, name, nb)
        names.append(name)
    return names


class MemorySampler:
    """Peak resident memory of this process's children (graders and kernels), sampled."""

    def __init__(self, interval: float = 0.25) -> None:
        self.peak, self.interval, self._stop = 0, interval, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for child in me.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def benchmark(
    chapters: list[str], size: int, jobs: list[int], cell_timeout: int | None = None,
    use_sandbox: bool = True,
) -> str:  # fmt: skip
    """Grade a generated class of `size` submissions per chapter once per value of `jobs`."""
    where = "in the sandbox" if use_sandbox else "without the sandbox"
    lines = [f"benchmark: {size} submissions per chapter, {os.cpu_count()} CPUs, {where}"]
    with tempfile.TemporaryDirectory(prefix="nbgrader-bench-") as tmp:
        course = Path(tmp) / "course"
        release(course, chapters)
        for chapter in chapters:
            names = make_class(course, chapter, size)
            base = None
            for n in jobs:
                start = time.perf_counter()
                with MemorySampler() as memory:
                    results = autograde(
                        course, chapter, names, jobs=n, cell_timeout=cell_timeout,
                        use_sandbox=use_sandbox,
                    )  # fmt: skip
                seconds = time.perf_counter() - start
                base = base or seconds
                bad = [r.student for r in results if r.status != "graded"]
                lines.append(
                    f"{chapter} --jobs {n}: {seconds:7.1f} s in all, "
                    f"{seconds / size:5.1f} s per submission, speed-up {base / seconds:4.2f}x, "
                    f"peak memory {memory.peak / 2**30:5.2f} GiB"
                    + (f", not graded: {bad}" if bad else "")
                )
                print(lines[-1], flush=True)
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------


def _chapters(values: list[str]) -> list[str]:
    known = grading.graded_chapters()
    chosen = known if values == ["all"] else values
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise SystemExit(f"unknown chapters {unknown}; expected some of {known} or 'all'")
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.instructor",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--course", type=Path, default=default_course(),
        help="the course folder, outside the repository (default: %(default)s)",
    )  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("release", help="student versions into <course>/release and a zip")
    p.add_argument("chapters", nargs="+", help="chapter names, or 'all'")
    p.add_argument("--zip", type=Path, help="where to write the zip for the LMS")
    p = sub.add_parser("collect", help="bring an LMS export or a submitted/ tree into the course")
    p.add_argument("chapter")
    p.add_argument(
        "source", type=Path, help="LMS folder (<student>_<time>_exercises.ipynb) or a tree"
    )
    p.add_argument("--roster", type=Path, help="student ids, one a line (or a CSV with `id`)")
    p.add_argument("--due", help="due date, UTC, e.g. 2025-03-01T23:59:00Z")
    p = sub.add_parser("autograde", help="grade every submission, in parallel with --jobs")
    p.add_argument("chapter")
    p.add_argument("--jobs", type=int, default=1, help="students graded at once (default 1)")
    p.add_argument("--student", action="append", help="grade only this student (repeatable)")
    p.add_argument("--cell-timeout", type=int, help="seconds per cell (default: the config's 300)")
    p.add_argument("--notebook-timeout", type=float, help="seconds per notebook (default: none)")
    p.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run kernels as yourself, with network (see helpers/sandbox.py)",
    )
    p.add_argument(
        "--memory-limit",
        type=float,
        default=sandbox.Limits().memory_bytes / 2**30,
        help="GiB of address space per kernel (default: %(default)g)",
    )
    p.add_argument(
        "--process-limit",
        type=int,
        default=sandbox.Limits().processes,
        help="processes and threads per kernel (default: %(default)s)",
    )
    p = sub.add_parser("feedback", help="feedback HTML per student, hidden tests removed")
    p.add_argument("chapter")
    p = sub.add_parser("export", help="scores.csv and summary.csv into <course>/exports")
    p.add_argument("chapters", nargs="+", help="chapter names, or 'all'")
    p.add_argument("--to", type=Path, help="folder for the CSV files")
    p = sub.add_parser("summary", help="print the class summary per graded part")
    p.add_argument("chapters", nargs="+")
    p = sub.add_parser("benchmark", help="grade a generated class; time --jobs 1 and 2")
    p.add_argument("--chapter", nargs="+", default=["01-kernels"])
    p.add_argument("--students", type=int, default=6)
    p.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    p.add_argument("--cell-timeout", type=int)
    p.add_argument("--no-sandbox", action="store_true")
    args = parser.parse_args(argv)
    course = args.course

    if args.command == "release":
        print(f"Released into {course / 'release'}; zip for the LMS: "
              f"{release(course, _chapters(args.chapters), args.zip)}")  # fmt: skip
    elif args.command == "collect":
        report = collect(
            course, args.chapter, args.source, read_roster(args.roster),
            parse_time(args.due) if args.due else None,
        )  # fmt: skip
        print(report.format())
    elif args.command == "autograde":
        limits = sandbox.Limits(int(args.memory_limit * 2**30), args.process_limit)
        if not args.no_sandbox:
            print(sandbox.format_availability())
            print(f"Limits per kernel: {limits.describe()}")
        results = autograde(
            course, args.chapter, args.student, args.jobs, args.cell_timeout,
            args.notebook_timeout, use_sandbox=not args.no_sandbox, limits=limits,
        )  # fmt: skip
        print(format_results(results))
        return 0 if all(r.status in {"graded", "missing"} for r in results) else 1
    elif args.command == "feedback":
        pages = feedback(course, args.chapter)
        print(f"{len(pages)} feedback pages in {course / 'feedback'}")
    elif args.command == "export":
        for path in export(course, _chapters(args.chapters), args.to):
            print(f"wrote {path}")
    elif args.command == "summary":
        print(format_summary(class_summary(score_rows(course, _chapters(args.chapters)))))
    elif args.command == "benchmark":
        benchmark(_chapters(args.chapter), args.students, args.jobs, args.cell_timeout,
                  use_sandbox=not args.no_sandbox)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
