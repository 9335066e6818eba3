"""`course-grade report`: the instructor's page per chapter, from a real nbgrader gradebook.

The class is written straight into the gradebook with nbgrader's API (no kernel runs): three
graded parts, a late student, a flagged one, one who submitted nothing; the grading log holds
the seconds and the flags as `autograde` writes them. The page is opened in headless Chromium.
"""

from __future__ import annotations

import base64
import csv
import os
import re
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from grader.class_report import write_report
from grader.cli import main
from grader.course import bin_dir, gradebook, make_course
from grader.grade_store import write_log
from grader.similarity_report import CSV_COLUMNS, default_folder

CHAPTER = "01-kernels"
PARTS = {"easy": 1.0, "middle": 2.0, "hard": 3.0}
SCORES = {  # points per part; dee submitted nothing
    "ada": {"easy": 1.0, "middle": 2.0, "hard": 1.0},
    "bo": {"easy": 1.0, "middle": 1.0, "hard": 0.0},
    "cy": {"easy": 0.0, "middle": 2.0, "hard": 0.5},
}
DUE = datetime(2025, 3, 1, 23, 59)
SUBMITTED = {"ada": DUE, "bo": datetime(2025, 3, 2, 2, 29), "cy": datetime(2025, 3, 1, 12, 0)}
FLAG = "code: eval <script>alert(1)</script>"


@pytest.fixture(autouse=True)
def _path(monkeypatch):
    """nbgrader's Gradebook runs `alembic` by name: the environment's bin/ goes on PATH."""
    monkeypatch.setenv("PATH", f"{bin_dir()}{os.pathsep}{os.environ['PATH']}")


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    os.environ["PATH"] = f"{bin_dir()}{os.pathsep}{os.environ['PATH']}"
    course = make_course(tmp_path_factory.mktemp("report") / "course")
    with gradebook(course) as gb:
        gb.add_assignment(CHAPTER, duedate=DUE)
        gb.add_notebook("exercises", CHAPTER)
        for name, points in PARTS.items():
            gb.add_grade_cell(name, "exercises", CHAPTER, max_score=points, cell_type="code")
            gb.add_solution_cell(name + "_answer", "exercises", CHAPTER)
        for student in [*SCORES, "dee"]:
            gb.add_student(student)
        for student, scores in SCORES.items():
            gb.add_submission(CHAPTER, student, timestamp=SUBMITTED[student])
            for grade in gb.find_submission_notebook("exercises", CHAPTER, student).grades:
                grade.auto_score = scores[grade.name]
        gb.db.commit()
    entries = {
        "ada": {"status": "graded", "seconds": 12.5, "flags": []},
        "bo": {"status": "graded", "seconds": 48.0, "flags": [FLAG, "output: 3,000 lines cut"]},
        "cy": {"status": "time limit", "seconds": 900.0, "flags": []},
        "dee": {"status": "missing", "seconds": 0.0, "flags": []},
    }
    write_log(course, {CHAPTER: entries})
    return course


def _section(page: str, title: str) -> str:
    """The HTML from the <h2> that starts with `title` to the next <h2>."""
    start = page.index(f"<h2>{title}")
    end = page.find("<h2>", start + 4)
    return page[start : end if end > 0 else None]


def test_the_page_shows_each_part_the_hardest_first_late_and_flags(course, tmp_path):
    page_path = write_report(course, CHAPTER, tmp_path / "out")
    assert page_path == tmp_path / "out" / f"{CHAPTER}.html"
    assert page_path.stat().st_mode & 0o777 == 0o600
    page = page_path.read_text()
    assert "http://" not in page and "https://" not in page and "<script" not in page
    # One histogram per graded part and one of the total, each a PNG inside the page.
    figures = re.findall(r"<figure class='hist' data-part='([^']+)'><img[^>]* src='([^']+)'", page)
    assert [part for part, _ in figures] == ["easy", "hard", "middle", "total"]
    for _, src in figures:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    # Mean shares over four students (dee: zero): hard 1.5/12, easy 2/4, middle 5/8.
    hardest = _section(page, "Hardest")
    order = [hardest.index(f"<td>{part}</td>") for part in ("hard", "easy", "middle")]
    assert order == sorted(order), hardest
    assert "12%" in hardest and "50%" in hardest and "62%" in hardest
    late = _section(page, "Late submissions")
    assert "(1)" in late and "<td>bo</td>" in late and "2 h 30 min" in late
    assert "<td>ada</td>" not in late, "exactly at the deadline is on time"
    flags = _section(page, "Flags")
    assert "<td>bo</td>" in flags and "code: eval &lt;script&gt;" in flags
    assert "output: 3,000 lines cut" in flags and "<td>ada</td>" not in flags
    timing = _section(page, "Grading time")
    assert "3 submissions graded" in timing and "longest 900.0 s" in timing
    assert timing.index("<td>cy</td>") < timing.index("<td>bo</td>") < timing.index("<td>ada</td>")
    assert "Not run" in _section(page, "Similarity")


def test_similarity_clusters_come_from_the_similarity_csv(course, tmp_path):
    folder = default_folder(course, CHAPTER)
    folder.mkdir(parents=True)
    try:
        with (folder / "pairs.csv").open("w", newline="") as handle:
            out = csv.writer(handle)
            out.writerow(CSV_COLUMNS)
            out.writerow(["ada", "bo", "hard", "0.910", "40"])
            out.writerow(["bo", "cy", "hard", "0.880", "35"])
            out.writerow(["ada", "bo", "middle", "0.800", "40"])
        page = write_report(course, CHAPTER, tmp_path).read_text()
    finally:
        shutil.rmtree(folder.parent)
    similarity = _section(page, "Similarity")
    assert "2 pairs above the threshold" in similarity
    assert "<li>ada, bo, cy <span class='muted'>on hard, middle</span></li>" in similarity


def test_the_command_writes_into_the_course_reports_folder(course, capsys):
    assert main(["--course", str(course), "report", CHAPTER]) == 0
    page = course / "reports" / f"{CHAPTER}.html"
    assert capsys.readouterr().out.strip() == f"wrote {page}"
    assert "<h1>Class report: 01-kernels</h1>" in page.read_text()


def test_the_page_in_a_browser(course, tmp_path):
    """Every histogram is drawn and nothing is wider than the window; a screenshot to look at."""
    from browser import chromium, screenshot, serve, wait_for

    write_report(course, CHAPTER, tmp_path)
    with serve(tmp_path) as url, chromium((1100, 900)) as driver:
        driver.get(f"{url}{CHAPTER}.html")
        drawn = wait_for(
            driver,
            "const i = [...document.images];"
            "return i.length && i.every(x => x.complete && x.naturalWidth > 300) && i.length",
        )
        assert drawn == len(PARTS) + 1
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0, f"{overflow} px wider than the window"
        shot = screenshot(driver, "class-report/01-kernels.png", full_page=True)
    assert shot.stat().st_size > 10_000


def test_a_bar_per_possible_score_when_points_are_whole_or_half():
    from grader.class_report import _edges

    assert _edges([0.0, 1.0], 1.0) == [-0.5, 0.5, 1.5]
    assert _edges([0.0, 0.5, 2.0], 2.0) == [-0.25, 0.25, 0.75, 1.25, 1.75, 2.25]
    assert _edges([0.3, 0.7], 1.0) == [i / 10 for i in range(11)]
    assert len(_edges([0.0, 60.0], 60.0)) == 11, "many points: ten bins"
