"""`course-grade collect`: submissions from an LMS export or a folder tree into the course.

Nothing in a submission or a roster is trusted: no symlink or special file (fifo, device,
socket) is ever followed or read, only the notebook is copied (a regular file, mode 0600), and
a student id must match `STUDENT_ID`; everything refused or skipped is reported with the
reason. A tree's own `timestamp.txt` is never read (`TREE_TIME`): the submission time is the
notebook's file time as received, or the time in an LMS export's file name. Names from a
roster reach nbgrader's gradebook (and its formgrader pages) only through `gradebook_name`: no
markup, one short line.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from grader.course import gradebook, make_course
from grader.course_folder import (  # noqa: F401  (a student id: collect checks it first)
    ID_RULE,
    STUDENT_ID,
    TIMESTAMP,
    CourseFolder,
    valid_student_id,
)
from grader.names import gradebook_name
from grader.paths import NOTEBOOK
from grader.warm_start import nbgrader

# The id is what comes before the first "_" (nbgrader's zip_collect pattern has no "_" in it).
LMS_NAME = re.compile(
    r"^(?P<student_id>[^_/]+)_(?:(?P<timestamp>\d{8}T\d{6}Z?)_)?(?P<file_id>exercises)"
    r"(?: \(\d+\))?\.ipynb$"
)
# A tree's own timestamp.txt may be the student's file: never read. The submission time of a
# tree is the notebook's modification time as it lies in the tree (what the LMS download, the
# unzip or the copy that made the tree recorded); an LMS export's is the time in its file name.
TREE_TIME = "not read (a student can write it): the notebook's file time is the submission time"
FILE_MODE = 0o600


def shown(text: str) -> str:
    """A name as a report shows it: as is when plain printable ASCII, else Python's ascii()."""
    return text if text.isascii() and text.isprintable() else ascii(text)


def _invalid_id(text: str) -> str:
    return f"{shown(text)}: not a valid student id ({ID_RULE})"


@dataclass
class CollectReport:
    """What `collect` found: who submitted, who did not, duplicates, late ones, stray files."""

    collected: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    duplicates: dict[str, list[str]] = field(default_factory=dict)
    late: dict[str, float] = field(default_factory=dict)  # student -> seconds late
    unmatched: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # "path: reason" (never read or copied)
    ignored: list[str] = field(default_factory=list)  # "path: reason" (other files, not copied)

    def format(self) -> str:
        lines = [f"collected {len(self.collected)}: {', '.join(self.collected) or '-'}"]
        lines.append(f"missing   {len(self.missing)}: {', '.join(self.missing) or '-'}")
        for student, files in sorted(self.duplicates.items()):
            lines.append(f"duplicate {student}: kept {files[-1]}, ignored {', '.join(files[:-1])}")
        for student, seconds in sorted(self.late.items()):
            lines.append(f"late      {student}: {seconds / 3600:.1f} h after the due date")
        for name in self.unmatched:
            lines.append(f"skipped   {name}: not named <student>_[<YYYYMMDDTHHMMSSZ>_]{NOTEBOOK}")
        lines += [f"refused   {entry}" for entry in self.refused]
        lines += [f"ignored   {entry}" for entry in self.ignored]
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


def _kind(mode: int) -> str | None:
    """Why an entry is refused (None for a regular file or a real folder)."""
    for test, name in (
        (stat.S_ISLNK, "symlink"),
        (stat.S_ISFIFO, "fifo"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
    ):
        if test(mode):
            return f"a {name}, never followed or read"
    return None if stat.S_ISREG(mode) or stat.S_ISDIR(mode) else "not a regular file"


def _open_regular(source: Path):
    """A regular file opened for reading, never through a symlink (O_NOFOLLOW), nor a fifo."""
    reader = os.fdopen(os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK), "rb")
    if not stat.S_ISREG(os.fstat(reader.fileno()).st_mode):
        reader.close()
        raise OSError(f"{source} is not a regular file")
    return reader


def _new_file(target: Path):
    """A new file of mode 0600 (whatever was at `target` goes first)."""
    if os.path.lexists(target):
        os.unlink(target)
    out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    os.fchmod(out, FILE_MODE)
    return os.fdopen(out, "wb")


def copy_regular(source: Path, target: Path) -> None:
    """Copy a regular file to a new 0600 file; OSError for a symlink or a special file."""
    with _open_regular(source) as reader, _new_file(target) as writer:
        shutil.copyfileobj(reader, writer)


def _collect_tree(course: Path, chapter: str, source: Path, report: CollectReport) -> dict:
    """A `<student>/<chapter>/exercises.ipynb` tree, checked entry by entry, copied."""
    stamps: dict[str, datetime | None] = {}
    for entry in sorted(source.iterdir()):
        name, mode = entry.name, entry.lstat().st_mode
        if not valid_student_id(name):
            report.refused.append(_invalid_id(name))
        elif _kind(mode):
            report.refused.append(f"{shown(name)}: {_kind(mode)}")
        elif not stat.S_ISDIR(mode):
            report.ignored.append(f"{shown(name)}: not a student folder")
        elif not os.path.lexists(folder := entry / chapter):
            continue  # this student's folder holds other chapters only
        elif _kind(folder.lstat().st_mode) or not stat.S_ISDIR(folder.lstat().st_mode):
            kind = _kind(folder.lstat().st_mode) or "a file, not a folder"
            report.refused.append(f"{name}/{chapter}: {kind}")
        else:
            where, target = f"{name}/{chapter}", CourseFolder(course).submitted(name, chapter)
            files = _check_folder(folder, where, report)
            if NOTEBOOK not in files:
                continue
            try:
                stamps[name] = _copy_student(files, target, where, report)
            except OSError as error:  # it changed into a symlink or fifo since it was checked
                report.refused.append(f"{where}: not collected ({error})")
                shutil.rmtree(target, ignore_errors=True)
    return stamps


def _copy_student(files: dict[str, Path], target: Path, where: str, report) -> datetime:
    """Copy the notebook; its time is the notebook's file time as received (`TREE_TIME`)."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    with _open_regular(files[NOTEBOOK]) as reader, _new_file(target / NOTEBOOK) as writer:
        stamp = datetime.fromtimestamp(os.fstat(reader.fileno()).st_mtime, UTC)
        shutil.copyfileobj(reader, writer)
    with _new_file(target / TIMESTAMP) as writer:
        writer.write(stamp.strftime("%Y-%m-%d %H:%M:%S.%f UTC").encode())
    return stamp


def _check_folder(folder: Path, where: str, report: CollectReport) -> dict[str, Path]:
    """The regular notebook and timestamp of a chapter folder; the rest refused or ignored."""
    files = {}
    for path in sorted(folder.iterdir()):
        mode = path.lstat().st_mode
        if _kind(mode):
            report.refused.append(f"{shown(where + '/' + path.name)}: {_kind(mode)}")
        elif path.name == NOTEBOOK and stat.S_ISREG(mode):
            files[path.name] = path
        elif path.name == TIMESTAMP:
            report.ignored.append(f"{shown(where + '/' + path.name)}: {TREE_TIME}")
        else:
            kind = "folder" if stat.S_ISDIR(mode) else "file"
            report.ignored.append(f"{shown(where + '/' + path.name)}: a {kind}, not collected")
    if NOTEBOOK not in files:
        report.refused.append(f"{shown(where)}: no regular {NOTEBOOK}, not collected")
    return files


def _collect_lms(course: Path, chapter: str, source: Path, report: CollectReport) -> dict:
    """A flat LMS export, through `nbgrader zip_collect`; the newest of duplicates is kept."""
    chosen: dict[str, list[tuple[datetime | None, float, Path]]] = {}
    for path in sorted(source.iterdir()):
        mode = path.lstat().st_mode
        match = LMS_NAME.match(path.name)
        if _kind(mode):
            report.refused.append(f"{shown(path.name)}: {_kind(mode)}")
        elif stat.S_ISDIR(mode):
            report.ignored.append(f"{shown(path.name)}: a folder, not collected")
        elif not match:
            report.unmatched.append(shown(path.name))
        elif not valid_student_id(match["student_id"]):
            report.refused.append(f"{shown(path.name)}: {_invalid_id(match['student_id'])}")
        else:
            stamp = match["timestamp"] and parse_time(match["timestamp"])
            entry = (stamp or None, path.lstat().st_mtime, path)
            chosen.setdefault(match["student_id"], []).append(entry)
    archive = course / "downloaded" / chapter / "archive"
    for folder in (archive, archive.parent / "extracted"):
        shutil.rmtree(folder, ignore_errors=True)  # absent is fine
    archive.mkdir(parents=True)
    stamps: dict[str, datetime | None] = {}
    oldest = datetime.min.replace(tzinfo=UTC)
    for student, files in chosen.items():
        files.sort(key=lambda item: (item[0] or oldest, item[1]))
        if len(files) > 1:
            report.duplicates[student] = [path.name for _, _, path in files]
        stamp, _, newest = files[-1]
        name = re.sub(r" \(\d+\)(?=\.ipynb$)", "", newest.name)  # a browser's "x (1).ipynb"
        try:
            copy_regular(newest, archive / name)
        except OSError as error:  # it changed into a symlink or fifo since it was checked
            report.refused.append(f"{shown(newest.name)}: not collected ({error})")
            continue
        stamps[student] = stamp
        target = CourseFolder(course).submitted(student, chapter)
        if target.exists():
            shutil.rmtree(target)
    if stamps:
        nbgrader(["zip_collect", chapter, "--force"], course)
    folders = {s: CourseFolder(course).submitted(s, chapter) for s in stamps}
    lost = [s for s in stamps if not (folders[s] / NOTEBOOK).exists()]
    if lost:
        raise RuntimeError(f"nbgrader zip_collect did not collect {lost}")
    for folder in [archive.parent, *folders.values()]:
        for path in folder.rglob("*"):
            if path.is_file() and not path.is_symlink():
                os.chmod(path, FILE_MODE)
    return stamps


def collect(
    course: Path,
    chapter: str,
    source: Path,
    roster: list[str] | None = None,
    due: datetime | None = None,
    lms_roster=None,
) -> CollectReport:
    """Bring submissions into `<course>/submitted/<student>/<chapter>/` and report on them.

    `source` is either an LMS export (a flat folder of `<student>_<timestamp>_exercises.ipynb`
    files, collected with `nbgrader zip_collect`; the newest of duplicates is kept) or a tree
    `<student>/<chapter>/exercises.ipynb`, whose time is the notebook's file time (a
    `timestamp.txt` there is the student's to write: never read).
    Students of `roster` are added to the gradebook; those without a submission are `missing`
    (nbgrader scores them zero). With `due`, the chapter's due date is set and late ones listed.
    Symlinks, special files and invalid ids are refused; other files are ignored; both reported.
    `lms_roster` (a `grader.lms.Roster`) adds its students with their names and its refused
    rows to the report, and is kept in the course for `export`.
    """
    course, source = make_course(course), Path(source)
    report = CollectReport()
    is_tree = any(os.path.lexists(entry / chapter) for entry in source.iterdir())
    stamps = (_collect_tree if is_tree else _collect_lms)(course, chapter, source, report)
    names = lms_roster.names() if lms_roster is not None else {}
    known = []
    for student in dict.fromkeys([*(roster or []), *names]):
        if valid_student_id(student):
            known.append(student)
        else:
            report.refused.append(f"roster {_invalid_id(student)}; not added to the gradebook")
    if lms_roster is not None:
        report.refused += lms_roster.refused
        lms_roster.save(course)
    report.collected = sorted(stamps)
    report.missing = sorted(set(known) - set(stamps))
    with gradebook(course) as gb:
        if due is not None:
            gb.update_or_create_assignment(chapter, duedate=due.replace(tzinfo=None))
        for student in sorted(set(known) | set(stamps)):
            cleaned = {k: gradebook_name(v) for k, v in names.get(student, {}).items()}
            gb.update_or_create_student(student, **cleaned)
    for student, stamp in stamps.items():
        if due is not None and stamp is not None and stamp > due:
            report.late[student] = (stamp - due).total_seconds()
    return report
