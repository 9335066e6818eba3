"""Gradebook files for Canvas and Moodle, and the rosters they export, read into the course.

The formats followed (tests/test_lms.py holds the same header lists, with these addresses):

- Canvas, the Gradebook CSV import: Instructure's guide "How do I import grades in the
  Gradebook?" (https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-grades-in-the-Gradebook/ta-p/807),
  and for the exact rules Canvas's own code (github.com/instructure/canvas-lms, classes
  GradebookExporter and GradebookImporter): the header is "Student", "ID", "SIS User ID",
  "SIS Login ID", "Section" (the last identity column must be Section), then one column per
  assignment named "<title> (<id>)"; a column without an id matches an assignment by title or
  creates a new one. The second row starts "    Points Possible" and holds each assignment's
  points. A student is found by ID, then SIS User ID, then SIS Login ID, then by name. A blank
  cell changes no grade. The export may start with a BOM, use ";" and carry "Muted" rows.
- Moodle, the CSV grade import: "Grade import" (https://docs.moodle.org/en/Grade_import). At the
  preview one column is mapped to the user ("Map from" ID number to "Map to" useridnumber, or
  Username to username) and each grade column to a grade item or a new one. A blank or "-"
  cell is no grade, and a user it cannot find aborts the whole import
  (grade/import/csv/classes/load_data.php), so the file holds the roster's students only.
  The participants export ("Download table data as" CSV, user/action_redir.php) has
  "First name", "Last name" and the site's identity fields ("Email address", "ID number",
  "Username", ...). An email address cannot be a course id (no "@" in `STUDENT_ID`).

A student without a submission gets a blank cell in both files: "no grade" in the LMS, whose
own missing-work rule then applies, and never over a grade entered there by hand. Where the
course has a late policy, a chapter's cell is the policy's adjusted score, the `adjusted_score`
of scores.csv (`grader.export.final_score`): the grade the student is given.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from grader.collect import ID_RULE, read_roster, shown, valid_student_id
from grader.course_folder import CourseFolder
from grader.export import final_score, part_maxima, policy_rows, write_csv

CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS = "    Points Possible"  # the first cell of the second row, as Canvas writes it
CANVAS_TEST_STUDENT = {"Student, Test", "Test Student"}  # Canvas's own test account
MOODLE_COLUMNS = ["First name", "Last name", "ID number", "Username", "Email address"]
ID_COLUMNS = {"canvas": ("SIS Login ID", "SIS User ID", "ID"), "moodle": ("ID number", "Username")}
FILES = {"canvas": "canvas.csv", "moodle": "moodle.csv"}
TITLE_WITH_ID = re.compile(r"^(?P<title>.*) \((?P<id>\d+)\)$")


@dataclass
class Roster:
    """An LMS's roster: who is enrolled, under which course id, and what the LMS calls them."""

    lms: str  # "canvas" or "moodle"
    id_column: str  # the LMS column that holds the course's student id
    students: dict[str, dict[str, str]] = field(default_factory=dict)  # id -> identity cells
    assignments: list[str] = field(default_factory=list)  # Canvas: its assignment headers
    refused: list[str] = field(default_factory=list)  # "roster row N ...: why"

    def ids(self) -> list[str]:
        return list(self.students)

    def names(self) -> dict[str, dict[str, str]]:
        """First and last name and email per student, for the gradebook."""
        found = {}
        for student, cells in self.students.items():
            if self.lms == "canvas":
                last, _, first = cells.get("Student", "").partition(", ")
                found[student] = {"first_name": first, "last_name": last}
            else:
                found[student] = {
                    "first_name": cells.get("First name", ""),
                    "last_name": cells.get("Last name", ""),
                    "email": cells.get("Email address", ""),
                }
        return found

    def save(self, course: Path) -> Path:
        """Keep the roster in the course (`lms/<lms>-roster.json`, 0600) for `export`."""
        return _write_private(roster_path(course, self.lms), json.dumps(asdict(self), indent=1))


def roster_path(course: Path, lms: str) -> Path:
    return Path(course) / "lms" / f"{lms}-roster.json"


def load_roster(course: Path, lms: str) -> Roster | None:
    path = roster_path(course, lms)
    return Roster(**json.loads(path.read_text())) if path.exists() else None


def _write_private(path: Path, text: str) -> Path:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return path


def lms_of(header: list[str]) -> str | None:
    """Which LMS exported a CSV with this header: Canvas's rules, Moodle's names, or None."""
    header = [cell.strip() for cell in header]
    if len(header) > 3 and header[0] == "Student" and header[1] == "ID":
        if "SIS Login ID" in header and "Section" in header:
            return "canvas"
    if "First name" in header and "Last name" in header:
        return "moodle"
    return None


def _table(path: Path) -> list[list[str]]:
    """The rows of a CSV export: UTF-8 with or without a BOM, "," or ";" between cells."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not UTF-8 text ({error})") from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _canvas_name(text: str) -> str:
    """A name as Canvas exports it: one starting with '=' is written ="..." (undone here)."""
    match = re.fullmatch(r'="(.*)"', text.strip(), re.S)
    return match[1] if match else text.strip()


def read_lms_roster(path: Path, id_column: str | None = None) -> Roster:
    """A Canvas gradebook export or a Moodle participants export, as a `Roster`.

    `id_column` is the LMS column that holds the course's student id (default: Canvas's
    "SIS Login ID"; Moodle's "ID number", else "Username"). Every row that is not taken is in
    `refused` with its row number and why; a file that is no such export raises ValueError.
    """
    table = _table(path)
    header = [cell.strip() for cell in table[0]] if table else []
    lms = lms_of(header)
    if lms is None:
        raise ValueError(
            f"{path}: neither a Canvas gradebook export nor a Moodle participants export "
            f"(header: {', '.join(map(shown, header[:8])) or 'none'})"
        )
    choices = [c for c in ID_COLUMNS[lms] if c in header]
    id_column = id_column or (choices[0] if choices else ID_COLUMNS[lms][0])
    if id_column not in header:
        raise ValueError(
            f"{path}: this {lms} export has no column {id_column!r} for the course's student id "
            f"(its columns: {', '.join(map(shown, header))}); choose one with --lms-id"
        )
    identity = CANVAS_COLUMNS if lms == "canvas" else MOODLE_COLUMNS
    roster = Roster(lms, id_column)
    if lms == "canvas":
        roster.assignments = [c for c in header if c and c not in identity + ["Root Account"]]
    first_row: dict[str, int] = {}
    for number, row in enumerate(table[1:], start=2):
        cells = dict(zip(header, [cell.strip() for cell in row], strict=False))
        if lms == "canvas":
            if "Points Possible" in (row[0] if row else ""):
                continue  # Canvas's rule: this row describes the assignments
            cells["Student"] = _canvas_name(cells.get("Student", ""))
        if not any(cells.get(column) for column in identity):
            continue  # an empty row, or Canvas's "Muted" / "Manual Posting" rows
        who = cells.get("Student") or " ".join(
            filter(None, (cells.get("First name"), cells.get("Last name")))
        )
        where = f"{lms} roster row {number} ({shown(who) or 'no name'})"
        value = cells.get(id_column, "")
        if lms == "canvas" and who in CANVAS_TEST_STUDENT:
            roster.refused.append(f"{where}: Canvas's test student, not added")
        elif not value:
            roster.refused.append(f"{where}: no {id_column}, not added")
        elif not valid_student_id(value):
            roster.refused.append(
                f"{where}: {id_column} {shown(value)} is not a valid student id ({ID_RULE}); "
                "not added"
            )
        elif value in first_row:
            roster.refused.append(
                f"{where}: {id_column} {value} again, not added (kept row {first_row[value]})"
            )
        else:
            first_row[value] = number
            roster.students[value] = {c: cells[c] for c in identity if c in cells}
    return roster


def read_roster_file(path: Path | None, id_column: str | None = None):
    """(ids, Roster or None) from `--roster`: an LMS export, or the plain list of ids."""
    if path is None:
        return [], None
    table = _table(path)
    if table and lms_of(table[0]):
        roster = read_lms_roster(path, id_column)
        return roster.ids(), roster
    if id_column:
        raise ValueError(f"{path}: --lms-id needs a Canvas or Moodle roster export")
    header = [cell.strip() for cell in table[0]] if table else []
    if Path(path).suffix == ".csv" and "id" not in header:
        raise ValueError(f"{path}: a CSV roster needs an `id` column, or must be an LMS export")
    return read_roster(path), None


def _points(value: float):
    """Points as the LMS reads them: 3 rather than 3.0, at most three decimals."""
    value = round(float(value), 3)
    return int(value) if value.is_integer() else value


def _column(chapter: str, roster: Roster | None) -> str:
    """Canvas's own header for a chapter's assignment ("<title> (<id>)"), else its name."""
    for header in roster.assignments if roster else []:
        match = TITLE_WITH_ID.match(header)
        if match and match["title"] == chapter:
            return header
    return chapter


def _identity(lms: str, student: str, roster: Roster | None) -> dict[str, str]:
    if roster is not None:
        return dict(roster.students[student])
    return {ID_COLUMNS[lms][0]: student, **({"Student": student} if lms == "canvas" else {})}


def export_lms(course: Path, chapters: list[str], folder: Path | None = None):
    """Write canvas.csv and moodle.csv (one row per student, one column per chapter).

    With a roster kept by `collect` (`--roster` given an LMS export), the rows are its
    students, with the LMS's own identity cells, and other graded students are left out (and
    named in the notes returned); without one, every student of the gradebook, with the course
    id in "SIS Login ID" (Canvas) or "ID number" (Moodle). Returns (paths, notes).
    """
    folder = Path(folder or CourseFolder(course).exports())
    folder.mkdir(parents=True, exist_ok=True)
    rows, _ = policy_rows(course, chapters)
    scored = {
        (r["student"], r["chapter"]): final_score(r) for r in rows if r["status"] != "missing"
    }
    graded = sorted({r["student"] for r in rows})
    maxima = part_maxima(course, chapters)
    paths, notes = [], []
    for lms, identity in (("canvas", CANVAS_COLUMNS), ("moodle", MOODLE_COLUMNS)):
        roster = load_roster(course, lms)
        columns = {
            chapter: _column(chapter, roster) if lms == "canvas" else chapter
            for chapter in chapters
        }
        students = roster.ids() if roster else graded
        table = []
        if lms == "canvas":
            points = {columns[c]: _points(sum(maxima[c].values())) for c in chapters}
            table.append({"Student": CANVAS_POINTS, **points})
        for student in students:
            row = _identity(lms, student, roster)
            for chapter in chapters:
                score = scored.get((student, chapter))
                row[columns[chapter]] = "" if score is None else _points(score)
            table.append(row)
        left_out = sorted(set(graded) - set(students))
        if left_out:
            notes.append(f"{FILES[lms]}: not in the {lms} roster, left out: {', '.join(left_out)}")
        paths.append(write_csv(folder / FILES[lms], table, identity + list(columns.values())))
    return paths, notes
