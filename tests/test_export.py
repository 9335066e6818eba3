"""`export` writes no formula: every text cell a spreadsheet would run is escaped; files 0600."""

from __future__ import annotations

import csv
import os
import stat
from pathlib import Path

import pytest

from grader.course import bin_dir, gradebook, make_course
from grader.export import class_summary, csv_cell, export, write_csv

CHAPTER = "01-kernels"
ATTACK = "=cmd|' -C calc'!A0"
FORMULAS = [ATTACK, "+1+1", "-2+3", "@SUM(A1:A2)", "\tx", "\rx", '=HYPERLINK("http://x")']


@pytest.fixture(autouse=True)
def _path(monkeypatch):
    """nbgrader's Gradebook runs `alembic` by name: the environment's bin/ goes on PATH."""
    monkeypatch.setenv("PATH", f"{bin_dir()}{os.pathsep}{os.environ['PATH']}")


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


def _by(table: list[list[str]], column: int) -> dict[str, dict[str, str]]:
    return {row[column]: dict(zip(table[0], row, strict=True)) for row in table[1:]}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("text", FORMULAS)
def test_formula_text_gets_a_quote(text):
    assert csv_cell(text) == "'" + text.replace("\t", " ").replace("\r", " ")


@pytest.mark.parametrize(
    ("text", "inert"),
    [
        (";=cmd|' /C calc'!A0", ";'=cmd|' /C calc'!A0"),  # a cell for a reader splitting on ;
        ("Doe, =1+1", "Doe, '=1+1"),
        ('x|"@SUM(1)', "x|\"'@SUM(1)"),
        ("Lee\n=2+2", "Lee =2+2"),  # no line breaks: a row of its own for another reader
        (' "=1', "' \"=1"),
        ("a-b; c", "a-b; c"),
    ],
)
def test_a_formula_after_any_separator_is_inert(text, inert):
    assert csv_cell(text) == inert


@pytest.mark.parametrize("value", ["alice", "a=b", "", 1.5, -2.5, 0, -3])
def test_plain_text_and_numbers_stay(value):
    assert csv_cell(value) == value


def test_write_csv_escapes_every_cell_and_is_private(tmp_path):
    path = tmp_path / "out.csv"
    rows = [{"student": text, "score": -2.5, "=part": "-x"} for text in FORMULAS]
    rows.append({"student": "alice", "score": 3.0})
    write_csv(path, rows, ["student", "score", "=part"])
    table = _read(path)
    assert table[0] == ["student", "score", "'=part"]
    assert [row[0] for row in table[1:]] == [csv_cell(text) for text in FORMULAS] + ["alice"]
    assert {row[1] for row in table[1:]} == {"-2.5", "3.0"}  # numbers stay numbers
    assert table[-1] == ["alice", "3.0", ""]
    assert all(row[2] == "'-x" for row in table[1:-1])
    assert _mode(path) == 0o600


def test_write_csv_makes_an_existing_file_private_and_never_follows_a_symlink(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old")
    os.chmod(path, 0o644)
    write_csv(path, [{"a": 1}], ["a"])
    assert _mode(path) == 0o600 and _read(path) == [["a"], ["1"]]
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep")
    os.symlink(target, tmp_path / "link.csv")
    with pytest.raises(OSError):
        write_csv(tmp_path / "link.csv", [{"a": 1}], ["a"])
    assert target.read_text() == "keep"


def _course_with_class(tmp_path: Path) -> Path:
    """A gradebook with one chapter of two graded parts and three students, one of them named
    like a formula (an id that reached the gradebook some other way)."""
    course = make_course(tmp_path / "course")
    with gradebook(course) as gb:
        gb.add_assignment(CHAPTER)
        gb.add_notebook("exercises", CHAPTER)
        for name, points in (("test_a", 1.0), ("-test_b", 2.0)):
            gb.add_grade_cell(name, "exercises", CHAPTER, max_score=points, cell_type="code")
            gb.add_solution_cell(name + "_answer", "exercises", CHAPTER)
        for student in ("alice", ATTACK, "@bob"):
            gb.add_student(student)
        for student, scores in (("alice", (1.0, 2.0)), (ATTACK, (0.0, 2.0))):
            gb.add_submission(CHAPTER, student)
            notebook = gb.find_submission_notebook("exercises", CHAPTER, student)
            for grade in notebook.grades:
                grade.auto_score = scores[0] if grade.name == "test_a" else scores[1]
        gb.db.commit()
    return course


def test_export_escapes_ids_and_part_names(tmp_path):
    course = _course_with_class(tmp_path)
    scores_path, summary_path = export(course, [CHAPTER])
    assert _mode(scores_path) == 0o600 and _mode(summary_path) == 0o600

    scores = _read(scores_path)
    header, rows = scores[0], _by(scores, 0)
    assert "'-test_b" in header and "test_a" in header
    assert set(rows) == {"alice", "'" + ATTACK, "'@bob"}
    attack = rows["'" + ATTACK]
    assert (attack["test_a"], attack["'-test_b"], attack["score"]) == ("0.0", "2.0", "2.0")
    assert rows["alice"]["score"] == "3.0" and rows["'@bob"]["status"] == "missing"
    for row in scores:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell

    summary = _read(summary_path)
    parts = _by(summary, 1)
    assert set(parts) == {"test_a", "'-test_b", "total"}
    assert parts["total"]["mean"] == str(round(5 / 3, 3))
    assert parts["'-test_b"]["max_score"] == "2.0"
    for row in summary:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_class_summary_statistics():
    rows = [
        {"student": s, "chapter": "c", "p": v, "score": v, "max_score": 2.0}
        for s, v in [("a", 2.0), ("b", 0.0), ("c", 2.0), ("d", 1.0)]
    ]
    part = class_summary(rows, {"c": {"p": 2.0}})[0]
    assert part["part"] == "p" and part["mean"] == 1.25 and part["median"] == 1.5
    assert (part["full"], part["zero"], part["distribution"]) == (2, 1, "0:1 1:1 2:2")


def test_nobody_has_full_marks_on_a_part_nobody_finished(tmp_path):
    course = _course_with_class(tmp_path)
    with gradebook(course) as gb:
        for student in ("alice", ATTACK):
            gb.find_grade("-test_b", "exercises", CHAPTER, student).auto_score = 1.0
        gb.db.commit()
    _, summary_path = export(course, [CHAPTER])
    part = _by(_read(summary_path), 1)["'-test_b"]
    assert (part["max_score"], part["mean"]) == ("2.0", str(round(2 / 3, 3)))
    assert part["full"] == "0", part
