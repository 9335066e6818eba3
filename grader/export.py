"""`course-grade export` and `summary`: scores per student and part, statistics per part.

Every CSV file the course writes (these, and canvas.csv and moodle.csv through `write_csv`) is
made inert for spreadsheets, whichever separator the reader splits on (`,`, `;`, tab, `|`):

- every text cell is quoted, and numbers (scores, points, counts: never negative) are written
  unquoted as numbers, so an LMS import still reads them as numbers;
- a text cell whose first visible character (after spaces and quotes) is `=`, `+`, `-`, `@`,
  a tab or a carriage return gets a `'` in front (OWASP's advice against CSV injection);
- inside a text cell, line breaks and tabs become spaces, and a `'` is put before a formula
  character that follows a separator (`a;=cmd` becomes `a;'=cmd`): a reader that splits on
  `;` where the file was written with `,` may start a cell there (a name `;=cmd|' /C calc'!A0`
  becomes a formula in canvas.csv otherwise).

The `'` shows in the spreadsheet; a name that needed one is rare, and the LMS matches students
by id, never by name. The files are the instructor's alone (0600).
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import statistics
from collections import Counter
from pathlib import Path

from grader import late_policy, regrade
from grader.autograde import LOG_NAME
from grader.course import gradebook
from grader.course_folder import CourseFolder
from grader.paths import NOTEBOOK

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_MODE = 0o600
_AFTER_SEPARATOR = re.compile(r"(?P<lead>[,;|][ \"]*)(?P<trigger>[=+\-@])")
_LEADING = re.compile(r"^[ \"]*[=+\-@\t\r]")


def csv_cell(value):
    """A value as a CSV cell: a number stays a number; text is made inert (module docstring)."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int | float):
        return value if math.isfinite(value) else ""
    text = str(value)
    lead = "'" if _LEADING.match(text) else ""
    text = lead + re.sub(r"[\r\n\t\v\f]", " ", text)
    return _AFTER_SEPARATOR.sub(lambda m: f"{m['lead']}'{m['trigger']}", text)


def write_csv(path: Path, rows: list[dict], columns: list[str]) -> Path:
    """Write `rows` under a header of `columns` (missing values empty), every cell escaped.

    The file is created 0600 and never written through a symlink.
    """
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, CSV_MODE)
    os.fchmod(fd, CSV_MODE)
    with os.fdopen(fd, "w", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow([csv_cell(column) for column in columns])
        for row in rows:
            writer.writerow([csv_cell(row.get(column, "")) for column in columns])
    return path


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


TOTALS = {"score": "total", "adjusted_score": "adjusted_total"}  # summary's names for them


def class_summary(rows: list[dict], maxima: dict[str, dict[str, float]]) -> list[dict]:
    """Per chapter and graded part: points, mean, median, full / zero counts, histogram.

    `maxima` holds each part's points per chapter (`part_maxima`): "full" counts the students
    with all of a part's points, even when nobody reached them. Rows from `policy_rows` with a
    late policy also give `adjusted_total`, the late policy's `adjusted_score`.
    """
    summary = []
    reserved = {"student", "chapter", "score", "max_score", "seconds_late", "status", "flags"}
    reserved |= {*late_policy.COLUMNS, "regrade"}  # `policy_rows`' columns
    for chapter in sorted({row["chapter"] for row in rows}):
        mine = [row for row in rows if row["chapter"] == chapter]
        parts = [key for key in mine[0] if key not in reserved] + ["score"]
        if "adjusted_score" in mine[0]:  # a late policy applies: its total too
            parts.append("adjusted_score")
        for part in parts:
            values = [float(row[part]) for row in mine]
            top = float(mine[0]["max_score"]) if part in TOTALS else maxima[chapter][part]
            counts = Counter(values)
            summary.append(
                {
                    "chapter": chapter,
                    "part": TOTALS.get(part, part),
                    "max_score": top,
                    "students": len(values),
                    "mean": round(statistics.fmean(values), 3),
                    "median": statistics.median(values),
                    "full": sum(v == top for v in values) if top > 0 else 0,
                    "zero": sum(v == 0 for v in values),
                    "distribution": " ".join(f"{v:g}:{counts[v]}" for v in sorted(counts)),
                }
            )
    return summary


def part_maxima(course: Path, chapters: list[str]) -> dict[str, dict[str, float]]:
    """Points of each graded part, per chapter."""
    return {chapter: part_max(course, chapter) for chapter in chapters}


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


def policy_rows(course: Path, chapters: list[str]) -> tuple[list[dict], list[str]]:
    """`score_rows` with what the course's late policy and regrade log add, and those columns.

    With `late_policy.yml`, each row gets `late_policy.COLUMNS` (`adjusted_score` is the score
    the policy leaves: what `summary`, canvas.csv and moodle.csv use); with
    `regrade_requests.json`, a last column `regrade` lists the decided requests (`#1 #3`).
    Without either file, the rows are `score_rows`' and no column is added.
    """
    course = Path(course)
    rows, added = score_rows(course, chapters), []
    decisions = late_decisions(course, chapters)
    if decisions is not None:  # grader/late_policy.py: its columns after every other one
        added += list(late_policy.COLUMNS)
        rows = [
            {**row, **late_policy.columns(decisions[row["student"], row["chapter"]], row["score"])}
            for row in rows
        ]
    if (course / regrade.REQUESTS_NAME).exists():  # grader/regrade.py: decided requests, last
        requests = regrade.read_requests(course)
        added.append("regrade")
        rows = [
            {
                **row,
                "regrade": " ".join(
                    f"#{n}" for n in regrade.decided_ids(requests, row["student"], row["chapter"])
                ),
            }
            for row in rows
        ]
    return rows, added


def final_score(row: dict) -> float:
    """The score a student is given: the late policy's adjusted score where one applies."""
    return float(row.get("adjusted_score", row["score"]))


def export(course: Path, chapters: list[str], folder: Path | None = None) -> tuple[Path, Path]:
    """Write scores.csv (per student and chapter) and summary.csv (per graded part)."""
    course = Path(course)
    folder = Path(folder or CourseFolder(course).exports())
    folder.mkdir(parents=True, exist_ok=True)
    rows, added = policy_rows(course, chapters)
    scores_path, summary_path = folder / "scores.csv", folder / "summary.csv"
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns and key not in added]
    write_csv(scores_path, rows, columns + added)
    summary = class_summary(rows, part_maxima(course, chapters))
    fields = ["chapter", "part", "max_score", "students", "mean", "median", "full", "zero"]
    write_csv(summary_path, summary, [*fields, "distribution"])
    return scores_path, summary_path


late_decisions = late_policy.course_decisions  # the decide step's, under export's old name


def format_summary(summary: list[dict]) -> str:
    lines = [f"{'chapter':<12} {'part':<20} {'mean':>6} {'median':>6}  full/zero  distribution"]
    for s in summary:
        lines.append(
            f"{s['chapter']:<12} {s['part']:<20} {s['mean']:>6g} {s['median']:>6g}  "
            f"{s['full']:>4}/{s['zero']:<4}  {s['distribution']}"
        )
    return "\n".join(lines)
