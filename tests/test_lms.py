"""Canvas and Moodle: their roster exports read into the course, their gradebook imports written.

The documented formats are written here once more, by hand, from the pages grader/lms.py
follows, so a change of the module's lists cannot pass unnoticed:

- Canvas, "How do I import grades in the Gradebook?"
  https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-grades-in-the-Gradebook/ta-p/807
  and Canvas's GradebookExporter / GradebookImporter (github.com/instructure/canvas-lms).
- Moodle, "Grade import" https://docs.moodle.org/en/Grade_import, and the participants
  export (user/action_redir.php in github.com/moodle/moodle).

Real course folders and nbgrader gradebooks; `collect` takes a `<student>/<chapter>/` tree.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import stat
from pathlib import Path

import nbformat
import pytest

from grader.cli import main
from grader.collect import collect
from grader.course import bin_dir, gradebook
from grader.lms import export_lms, load_roster, read_lms_roster, read_roster_file
from grader.paths import NOTEBOOK

# Canvas: "Student", "ID", "SIS User ID", "SIS Login ID", "Section", then the assignments.
CANVAS_DOC_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_DOC_POINTS = "Points Possible"  # the second row's first cell (Canvas: "    Points Possible")
# Moodle: its user fields by their English names (lang/en/moodle.php), then the grade items.
MOODLE_DOC_HEADER = ["First name", "Last name", "ID number", "Username", "Email address"]
CHAPTERS = ["01-kernels", "02-padding"]
FORMULAS = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1:A2)"]


@pytest.fixture(autouse=True)
def _path(monkeypatch):
    """nbgrader's Gradebook runs `alembic` by name: the environment's bin/ goes on PATH."""
    monkeypatch.setenv("PATH", f"{bin_dir()}{os.pathsep}{os.environ['PATH']}")


def _write(path: Path, rows: list[list[str]], delimiter: str = ",", bom: bool = False) -> Path:
    with path.open("w", newline="", encoding="utf-8-sig" if bom else "utf-8") as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return path


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _canvas_export(path: Path, delimiter: str = ",") -> Path:
    """A gradebook export as Canvas writes one: BOM, Muted and Points Possible rows, the test
    student, an assignment as "<title> (<id>)", totals, a name starting with '=' as ="..."."""
    header = [*CANVAS_DOC_HEADER, "01-kernels (4711)", "Quiz 1 (12)", "Current Score"]
    return _write(
        path,
        [
            header,
            ["", "", "", "", "", "Muted", "", ""],
            ["    Points Possible", "", "", "", "", "10", "5", "(read only)"],
            ["O'Brien, Seán", "101", "S101", "sean.ob", "Sec A", "", "4", "80"],
            ['Smith, "Ace", Jr.', "102", "S102", "ace", "Sec A, Sec B", "7", "", "70"],
            ["Müller, Zoë", "103", "", "zoe-m", "Sec B", "", "", ""],
            ['="=HYPERLINK("http://evil")"', "104", "S104", "eve", "Sec B", "", "", ""],
            ["Student, Test", "105", "", "", "", "", "", ""],
            ["No Login, Nora", "106", "S106", "", "Sec A", "", "", ""],
            ["Spaces, Sam", "107", "S107", "sam smith", "Sec A", "", "", ""],
            ["Again, Ace", "108", "S108", "ace", "Sec A", "", "", ""],
        ],
        delimiter,
        bom=True,
    )


def _moodle_export(path: Path) -> Path:
    """The participants export: first and last name, then the site's identity fields."""
    return _write(
        path,
        [
            ["First name", "Last name", "ID number", "Email address"],
            ["Seán", "O'Brien, Jr.", "s101", "sean@example.org"],
            ['Ann "Annie"', "Lee", "s102", "ann@example.org"],
            ["Zoë", "Müller", "zoë", "zoe@example.org"],
            ["+Mal", "=cmd|' -C calc'!A0", "s104", "mal@example.org"],
            ["Nora", "Nobody", "", "nora@example.org"],
        ],
    )


def _tree(tmp_path: Path, students: list[str]) -> Path:
    tree = tmp_path / "tree"
    for student in students:
        path = tree / student / CHAPTERS[0] / NOTEBOOK
        path.parent.mkdir(parents=True)
        nbformat.write(nbformat.v4.new_notebook(), path)
    return tree


def _grade(course: Path, scores: dict[str, dict[str, float]]) -> None:
    """Both chapters in the gradebook, two parts each (1 and 2 points), and these scores."""
    with gradebook(course) as gb:
        for chapter in CHAPTERS:
            gb.update_or_create_assignment(chapter)
            gb.add_notebook("exercises", chapter)
            for name, points in (("test_a", 1.0), ("test_b", 2.0)):
                gb.add_grade_cell(name, "exercises", chapter, max_score=points, cell_type="code")
                gb.add_solution_cell(name + "_answer", "exercises", chapter)
        for student, by_chapter in scores.items():
            gb.update_or_create_student(student)
            for chapter, total in by_chapter.items():
                gb.add_submission(chapter, student)
                notebook = gb.find_submission_notebook("exercises", chapter, student)
                for grade in notebook.grades:
                    grade.auto_score = min(total, 1.0) if grade.name == "test_a" else total - 1.0
                    grade.auto_score = max(grade.auto_score, 0.0)
        gb.db.commit()


def _by(table: list[list[str]], column: str) -> dict[str, dict[str, str]]:
    index = table[0].index(column)
    return {row[index]: dict(zip(table[0], row, strict=True)) for row in table[1:]}


def test_without_a_roster_the_files_have_the_documented_headers(tmp_path):
    course = tmp_path / "course"
    collect(course, CHAPTERS[0], _tree(tmp_path, ["alice", "bob"]), ["alice", "bob", "carol"])
    _grade(course, {"alice": {"01-kernels": 3.0, "02-padding": 1.5}, "bob": {"01-kernels": 0.0}})
    (canvas, moodle), notes = export_lms(course, CHAPTERS)
    assert notes == []

    table = _read(canvas)
    assert table[0] == CANVAS_DOC_HEADER + CHAPTERS
    assert table[0][4] == "Section"  # Canvas: the last identity column must be Section
    assert table[1][0].strip() == CANVAS_DOC_POINTS and table[1][5:] == ["3", "3"]
    rows = _by([table[0], *table[2:]], "SIS Login ID")
    assert rows["alice"]["01-kernels"] == "3" and rows["alice"]["02-padding"] == "1.5"
    assert rows["bob"]["01-kernels"] == "0"  # graded zero is a zero
    assert rows["bob"]["02-padding"] == "" and rows["carol"]["01-kernels"] == ""  # no submission

    table = _read(moodle)
    assert table[0] == MOODLE_DOC_HEADER + CHAPTERS
    rows = _by(table, "ID number")
    assert set(rows) == {"alice", "bob", "carol"} and rows["carol"]["02-padding"] == ""
    for path in (canvas, moodle):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_canvas_round_trip_keeps_names_ids_and_sections(tmp_path, delimiter):
    course, export = tmp_path / "course", _canvas_export(tmp_path / "grades.csv", delimiter)
    ids, roster = read_roster_file(export)
    assert ids == ["sean.ob", "ace", "zoe-m", "eve"]
    refused = "\n".join(roster.refused)
    assert "row 8 (Student, Test): Canvas's test student" in refused
    assert "row 9 (No Login, Nora): no SIS Login ID" in refused
    assert "row 10 (Spaces, Sam): SIS Login ID sam smith is not a valid student id" in refused
    assert "row 11 (Again, Ace): SIS Login ID ace again, not added (kept row 5)" in refused

    report = collect(course, CHAPTERS[0], _tree(tmp_path, ["ace", "sean.ob"]), ids, None, roster)
    assert report.collected == ["ace", "sean.ob"] and report.missing == ["eve", "zoe-m"]
    assert all(entry in report.refused for entry in roster.refused)
    assert load_roster(course, "canvas").students == roster.students
    with gradebook(course) as gb:
        sean = gb.find_student("sean.ob")
        assert (sean.first_name, sean.last_name) == ("Seán", "O'Brien")

    _grade(course, {"ace": {"01-kernels": 2.5}, "sean.ob": {"01-kernels": 3.0}, "x1": {}})
    (canvas, _), notes = export_lms(course, CHAPTERS)
    assert notes == ["canvas.csv: not in the canvas roster, left out: x1"]
    table = _read(canvas)
    assert table[0] == CANVAS_DOC_HEADER + ["01-kernels (4711)", "02-padding"]  # Canvas's id kept
    assert table[1][0] == "    Points Possible"
    rows = {row[0]: row for row in table[2:]}
    assert rows["O'Brien, Seán"][:6] == ["O'Brien, Seán", "101", "S101", "sean.ob", "Sec A", "3"]
    assert rows['Smith, "Ace", Jr.'][:6] == [
        'Smith, "Ace", Jr.',
        "102",
        "S102",
        "ace",
        "Sec A, Sec B",
        "2.5",
    ]
    assert rows["Müller, Zoë"][3:] == ["zoe-m", "Sec B", "", ""]  # no submission: blank
    assert '\'=HYPERLINK("http://evil")' in rows  # Canvas's ="..." undone, then escaped
    assert len(rows) == 4


def test_moodle_round_trip_and_its_bad_rows(tmp_path):
    course = tmp_path / "course"
    ids, roster = read_roster_file(_moodle_export(tmp_path / "participants.csv"))
    assert roster.lms == "moodle" and roster.id_column == "ID number"
    assert ids == ["s101", "s102", "s104"]
    assert any(
        "row 4 ('Zo\\xeb M\\xfcller'): ID number 'zo\\xeb' is not a valid" in r
        for r in roster.refused
    ), roster.refused
    assert any("row 6 (Nora Nobody): no ID number" in r for r in roster.refused)
    collect(course, CHAPTERS[0], _tree(tmp_path, ["s101"]), ids, None, roster)
    with gradebook(course) as gb:
        assert gb.find_student("s101").email == "sean@example.org"
    _grade(course, {"s101": {"01-kernels": 1.0}})
    (_, moodle), _ = export_lms(course, CHAPTERS)
    table = _read(moodle)
    assert table[0] == MOODLE_DOC_HEADER + CHAPTERS
    rows = _by(table, "ID number")
    assert rows["s101"] == {
        "First name": "Seán",
        "Last name": "O'Brien, Jr.",
        "ID number": "s101",
        "Username": "",
        "Email address": "sean@example.org",
        "01-kernels": "1",
        "02-padding": "",
    }
    assert rows["s102"]["First name"] == 'Ann "Annie"' and rows["s102"]["01-kernels"] == ""
    assert set(rows) == {"s101", "s102", "s104"}  # a user Moodle cannot find aborts its import


def test_names_that_spreadsheets_run_are_neutralised(tmp_path):
    course = tmp_path / "course"
    participants = [["First name", "Last name", "Username"]]
    participants += [[text, text, f"u{i}"] for i, text in enumerate(FORMULAS)]
    ids, roster = read_roster_file(_write(tmp_path / "p.csv", participants))
    collect(course, CHAPTERS[0], _tree(tmp_path, ["u0"]), ids, None, roster)
    canvas = [CANVAS_DOC_HEADER] + [[t, str(i), "", f"u{i}", t] for i, t in enumerate(FORMULAS)]
    ids, roster = read_roster_file(_write(tmp_path / "c.csv", canvas))
    collect(course, CHAPTERS[0], _tree(tmp_path / "again", ["u0"]), ids, None, roster)
    _grade(course, {"u0": {"01-kernels": 3.0}})
    for path in export_lms(course, CHAPTERS)[0]:
        table = _read(path)
        for row in table:
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (path.name, cell)
        names = {cell for row in table for cell in row}
        assert {"'" + text for text in FORMULAS} <= names, (path.name, names)


def test_bad_roster_files_are_refused_and_lose_nothing(tmp_path):
    course = tmp_path / "course"
    ids, roster = read_roster_file(_canvas_export(tmp_path / "grades.csv"))
    collect(course, CHAPTERS[0], _tree(tmp_path, ["ace"]), ids, None, roster)
    kept = roster_file = course / "lms" / "canvas-roster.json"
    before = kept.read_text()
    assert stat.S_IMODE(roster_file.stat().st_mode) == 0o600

    not_lms = _write(tmp_path / "other.csv", [["name", "mail"], ["a", "b"]])
    with pytest.raises(ValueError, match="a CSV roster needs an `id` column"):
        read_roster_file(not_lms)
    with pytest.raises(ValueError, match="neither a Canvas gradebook export nor a Moodle"):
        read_lms_roster(not_lms)
    with pytest.raises(ValueError, match="no column 'Username'"):
        read_roster_file(tmp_path / "grades.csv", "Username")
    (tmp_path / "latin1.csv").write_bytes(
        "Student,ID,SIS Login ID,Section\nM\xfcller,1,m,A\n".encode("latin-1")
    )
    with pytest.raises(ValueError, match="not UTF-8"):
        read_roster_file(tmp_path / "latin1.csv")

    tree = _tree(tmp_path / "new", ["zoe-m"])
    with pytest.raises(SystemExit, match="roster not read, nothing collected: .*other.csv"):
        main(["--course", str(course), "collect", CHAPTERS[0], str(tree), "--roster", str(not_lms)])
    assert not (course / "submitted" / "zoe-m").exists()
    assert kept.read_text() == before and json.loads(before)["lms"] == "canvas"


HOSTILE = [
    ";=cmd|' /C calc'!A0",
    '=HYPERLINK("http://x";"y")',
    "+1+1",
    "@SUM(1)",
    "\tTab",
    "<img src=x onerror=alert(1)>",
    "Doe, =1+1",
    "Lee\n=2+2",
    '" -3',
]
TRIGGER = re.compile(r'^[ "]*[=+\-@\t\r]')


def _formgrade_page(notebook: Path, first: str | None, last: str | None) -> str:
    """nbgrader 0.9.6's formgrader page of one submission, rendered as its handler does
    (server_extensions/formgrader/handlers.py: HTMLExporter, template 'formgrade')."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config import Config

    config = Config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    resources = {
        "assignment_id": CHAPTERS[0],
        "notebook_id": "exercises",
        "submission_id": "1",
        "index": 0,
        "total": 1,
        "base_url": "",
        "student": "u5",
        "first_name": first,
        "last_name": last,
        "notebook_path": "x",
    }
    return HTMLExporter(config=config).from_filename(str(notebook), resources=resources)[0]


def test_hostile_roster_names_reach_no_spreadsheet_formula_and_no_markup(tmp_path):
    """Canvas and Moodle rosters full of formulas and markup, through `collect --roster`, a
    graded chapter and `export`: every cell of every CSV, read with `,`, `;`, tab or `|`, is a
    number or starts with no formula character; the gradebook keeps no `<`, and nbgrader's
    formgrader page (which does not escape names) shows the name as text."""
    course = tmp_path / "course"
    ids = [f"u{i}" for i in range(len(HOSTILE))]
    canvas = [CANVAS_DOC_HEADER] + [
        [f"{t}, {t}", str(100 + i), "", f"u{i}", t] for i, t in enumerate(HOSTILE)
    ]
    moodle = [["First name", "Last name", "ID number", "Email address"]]
    moodle += [[t, t, f"u{i}", f"{t}@example.org"] for i, t in enumerate(HOSTILE)]
    for name, rows, delimiter in (("c.csv", canvas, ";"), ("m.csv", moodle, ",")):
        roster = _write(tmp_path / name, rows, delimiter)
        tree = _tree(tmp_path / name.replace(".", "-"), ids[:3])
        assert (
            main(
                [
                    "--course",
                    str(course),
                    "collect",
                    CHAPTERS[0],
                    str(tree),
                    "--roster",
                    str(roster),
                ]
            )
            == 0
        )
    _grade(course, {"u0": {"01-kernels": 3.0}, "u1": {"01-kernels": 1.5}, "u5": {}})
    assert main(["--course", str(course), "export", *CHAPTERS]) == 0
    written = sorted((course / "exports").glob("*.csv"))
    assert [p.name for p in written] == ["canvas.csv", "moodle.csv", "scores.csv", "summary.csv"]
    for path in written:
        text = path.read_text(encoding="utf-8")
        for delimiter in (",", ";", "\t", "|"):
            for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
                for cell in row:
                    if TRIGGER.match(cell):
                        float(cell)  # only a real number may start with "-" (none does here)
    canvas_rows = _by(_read(course / "exports" / "canvas.csv"), "SIS Login ID")
    assert canvas_rows["u0"]["Student"] == ";'=cmd|' /C calc'!A0, ;'=cmd|' /C calc'!A0"
    assert canvas_rows["u2"]["Student"] == "'+1+1, '+1+1" and canvas_rows["u0"]["01-kernels"] == "3"
    scores = (course / "exports" / "scores.csv").read_text()
    assert '"u1","01-kernels",1.0,0.5,1.5,3.0' in scores  # numbers written as numbers

    with sqlite3.connect(course / "gradebook.db") as db:
        names = db.execute("SELECT id, first_name, last_name, email FROM student").fetchall()
    assert len(names) == len(HOSTILE)
    assert not [row for row in names if any("<" in (cell or "") for cell in row)], names
    stored = {row[0]: row for row in names}
    assert stored["u5"][1] == "\u2039img src=x onerror=alert(1)\u203a"
    assert stored["u7"][2] == "Lee =2+2"  # one line
    notebook = _tree(tmp_path / "page", ["u5"]) / "u5" / CHAPTERS[0] / NOTEBOOK
    raw = _formgrade_page(notebook, HOSTILE[5], HOSTILE[5])
    assert 'onerror="alert(1)"' in raw  # the template would run the roster's markup
    page = _formgrade_page(notebook, stored["u5"][1], stored["u5"][2])
    assert "onerror" not in page.replace("onerror=alert(1)\u203a", "")
    assert "\u2039img src=x onerror=alert(1)\u203a" in page
