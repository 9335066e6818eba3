"""`course-grade collect`: submissions from an LMS export or a folder tree into the course."""

from __future__ import annotations

import csv
import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from grader.course import gradebook, make_course, nbgrader
from grader.paths import NOTEBOOK

LMS_NAME = re.compile(
    r"^(?P<student_id>[A-Za-z0-9.\-]+)_(?:(?P<timestamp>\d{8}T\d{6}Z?)_)?(?P<file_id>exercises)"
    r"(?: \(\d+\))?\.ipynb$"
)


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
    course, source = make_course(course), Path(source)
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


STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def valid_student_id(text: str) -> bool:
    """Whether `text` is a student id the course accepts (no globs, paths or formulas)."""
    return bool(STUDENT_ID.fullmatch(text)) and ".." not in text
