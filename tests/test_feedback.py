"""Feedback pages are safe to open, small, free of hidden tests, and every one is checked.

Crafted notebooks go through the course's feedback preprocessors and nbgrader's own feedback
exporter (`render_page`), and once through real `nbgrader generate_feedback`.
"""

from __future__ import annotations

import base64
import os
import re
import stat
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from grader.cli import main
from grader.course import bin_dir, find_secrets, gradebook, make_course
from grader.feedback import (
    FeedbackError,
    check_pages,
    feedback,
    page_problems,
    render_page,
    template_scripts,
)
from grader.paths import NOTEBOOK

CHAPTER = "01-kernels"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4).decode()


@pytest.fixture(autouse=True)
def _path(monkeypatch):
    """nbgrader's Gradebook runs `alembic` by name: the environment's bin/ goes on PATH."""
    monkeypatch.setenv("PATH", f"{bin_dir()}{os.pathsep}{os.environ['PATH']}")


class _Tags(HTMLParser):
    """The attributes of every tag of a page, and the text of its scripts."""

    def __init__(self):
        super().__init__()
        self.attrs, self.scripts, self._in_script = [], [], False

    def handle_starttag(self, tag, attrs):
        self.attrs += attrs
        self._in_script = tag == "script"

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)

    def handle_endtag(self, tag):
        self._in_script = False


def _meta(cell, **nbgrader):
    cell.metadata["nbgrader"] = {"schema_version": 3, "locked": False, **nbgrader}
    return cell


def _out(kind="display_data", **data):
    return nbformat.v4.new_output(kind, data=data)


def _attack() -> nbformat.NotebookNode:
    """A notebook whose markdown, outputs and metadata each try to put script into the page."""
    written = _meta(
        nbformat.v4.new_markdown_cell(
            "My answer <script>alert(1)</script> <img src=x onerror=alert(2)>\n"
            "[click](javascript:alert(3)) $\\href{javascript:alert(4)}{x}$ </pre><b>bold</b>"
        ),
        solution=True,
        grade=True,
        grade_id="written",
        points=1,
        score=0,
    )
    added = _meta(nbformat.v4.new_markdown_cell("<svg onload=alert(5)>"), locked=True)
    raw = nbformat.v4.new_raw_cell("<script>alert(6)</script>")
    raw.metadata["raw_mimetype"] = "text/html"
    answer = _meta(nbformat.v4.new_code_cell("x = 1"), solution=True, grade_id='a" onclick="x')
    answer.metadata.update(tags=['" onmouseover="alert(7)'], alt='" onerror="alert(8)')
    image = _out(**{"image/png": PNG, "text/plain": "<Figure>"})
    image.metadata = {"image/png": {"width": "1 onerror=alert(9)", "height": 40}}
    answer.outputs = [
        _out(**{"text/html": "<script>alert(10)</script>", "text/plain": "<b>plain</b>"}),
        _out(**{"image/svg+xml": "<svg onload=alert(11)><script>alert(11)</script></svg>"}),
        _out(**{"application/javascript": "alert(12)", "text/markdown": "<script>alert(13)"}),
        _out(**{"image/png": '" onerror="alert(9)'}),
        image,
        nbformat.v4.new_output("stream", name='stdout" onclick="x', text="<script>x</script>"),
    ]
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"<script>alert(13)</script>": {}}
    nb.cells = [written, added, raw, answer]
    return nb


def test_nothing_the_student_writes_becomes_script():
    page = render_page(_attack())
    assert page_problems(page, template_scripts()) == []
    assert re.findall(r"<script\b", page) == re.findall(r"<script\b", render_page(_clean()))
    tags = _Tags()
    tags.feed(page)
    assert tags.scripts == [script for script in tags.scripts if "alert" not in script]
    assert not [name for name, _ in tags.attrs if name.startswith("on")]
    assert not [value for _, value in tags.attrs if "alert" in (value or "")]
    assert "My answer &lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown, as text
    assert "&lt;/pre&gt;&lt;b&gt;bold&lt;/b&gt;" in page
    assert "&lt;b&gt;plain&lt;/b&gt;" in page  # the text/plain of the html output stays
    assert f"data:image/png;base64,{PNG}" in page and 'height="40"' in page
    assert "not shown here" in page  # what was dropped is named


def test_the_check_sees_what_plain_nbgrader_feedback_lets_through():
    plain = [
        "grader.preprocessors.HideHiddenTests",
        "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    ]
    nb = _attack()
    del nb.metadata["widgets"]  # malformed widget state would stop nbconvert before the page
    found = " ".join(page_problems(render_page(nb, preprocessors=plain), template_scripts()))
    assert "script(s) not from the template" in found
    assert "onerror= attribute" in found


def _clean() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), nbformat.v4.new_code_cell("1")]
    return nb


def test_locked_instructions_stay_markdown():
    cell = _meta(nbformat.v4.new_markdown_cell("## Part 1\n\nUse **numpy**."), locked=True)
    cell.metadata.nbgrader["grade_id"] = "intro"
    nb = nbformat.v4.new_notebook(cells=[cell])
    page = render_page(nb)
    assert "<strong>numpy</strong>" in page and "Part 1" in page


def test_outputs_are_capped_per_cell_and_per_notebook():
    big = "A" * 99_000
    floods = [nbformat.v4.new_code_cell(f"flood({i})") for i in range(15)]
    for cell in floods:
        cell.outputs = [_out(**{"image/png": big, "text/html": big}) for _ in range(20)]
    chatty = nbformat.v4.new_code_cell("for i in range(30): print(i)")
    chatty.outputs = [nbformat.v4.new_output("stream", text=f"line {i}\n") for i in range(30)]
    nb = nbformat.v4.new_notebook(cells=[chatty, *floods])  # 300 outputs of 99 kB (29 MB)
    page = render_page(nb)
    assert len(page.encode()) < 2_400_000
    assert page.count("<pre>line ") == 20  # 20 outputs a cell
    assert "10 outputs (" in page  # the chatty cell's last ten
    assert "18 outputs (" in page and "20 outputs (" in page  # 200 kB a cell, then 2 MB in all
    assert page.count('class="output_png') <= 2_000_000 // 99_000


def test_hidden_tests_and_their_traceback_stay_out():
    test = nbformat.v4.new_code_cell(
        "check(x)\n### BEGIN HIDDEN TESTS\n# CANARY hidden x\nsecret()\n### END HIDDEN TESTS\n"
    )
    _meta(test, grade=True, grade_id="test_x", points=1, locked=True)
    test.outputs = [
        nbformat.v4.new_output(
            "error", ename="CheckFailed", evalue="wrong\nHint: h", traceback=["secret() # CANARY"]
        )
    ]
    page = render_page(nbformat.v4.new_notebook(cells=[test]))
    assert find_secrets(page) == [] and "secret()" not in page
    assert "CheckFailed: wrong\nHint: h" in page


def _page(root: Path, student: str, text: str) -> Path:
    page = root / student / CHAPTER / "exercises.html"
    page.parent.mkdir(parents=True)
    page.write_text(text)
    return page


def test_every_page_is_checked_and_every_bad_one_deleted(tmp_path):
    root, clean = tmp_path / "feedback", render_page(_clean())
    bad = {
        "a": clean.replace("</body>", "<p>CANARY</p></body>", 1),
        "c": clean.replace("</body>", "<script>alert(1)</script></body>", 1),
        "d": clean.replace("</body>", "<img src=x onerror=alert(1)></body>", 1),
        "e": clean.replace("</body>", '<a href=" jav&#x61;script:alert(1)">x</a></body>', 1),
        "f": clean.replace("</body>", '<iframe src="data:text/html,x"></iframe></body>', 1),
    }
    pages = {student: _page(root, student, text) for student, text in bad.items()}
    good = _page(root, "b", clean)
    (good.parent / "notes.txt").write_text("copied by nbgrader")
    (good.parent / "exercises_files").mkdir()
    os.symlink(good, root / "b" / CHAPTER / "copy.html")
    os.symlink(root / "b", root / "g")
    os.mkfifo(root / "b" / CHAPTER / "pipe")

    kept, problems = check_pages(root, CHAPTER)

    assert kept == [good] and stat.S_IMODE(good.stat().st_mode) == 0o644
    assert set(problems) == set(pages.values())
    assert not any(page.exists() for page in pages.values())
    assert problems[pages["a"]] == ["CANARY"]
    assert "1 script(s) not from the template" in problems[pages["c"]]
    assert "onerror= attribute on <img>" in problems[pages["d"]]
    assert "script URL in href= of <a>" in problems[pages["e"]]
    assert "<iframe> tag" in problems[pages["f"]]
    assert sorted(p.name for p in (root / "b" / CHAPTER).iterdir()) == ["exercises.html"]
    assert not os.path.lexists(root / "g")
    assert len(kept.removed) == 5 and any("notes.txt (file" in r for r in kept.removed)
    message = str(FeedbackError(problems))
    assert all(str(page) in message for page in pages.values())


def _feedback_course(tmp_path: Path) -> Path:
    """A gradebook for one chapter with two students and their autograded notebooks."""
    course = make_course(tmp_path / "course")
    with gradebook(course) as gb:
        gb.add_assignment(CHAPTER)
        gb.add_notebook("exercises", CHAPTER)
        gb.add_grade_cell("written", "exercises", CHAPTER, max_score=1, cell_type="markdown")
        gb.add_solution_cell("written", "exercises", CHAPTER)
        gb.add_solution_cell('a" onclick="x', "exercises", CHAPTER)
        for student in ("alice", "carol", "dave"):
            gb.add_student(student)
            gb.add_submission(CHAPTER, student)
    for student, nb in (("alice", _attack()), ("carol", _attack()), ("dave", _attack())):
        if student == "carol":  # the student's own answer and output name the markers
            nb.cells[0].source = "I found ### BEGIN HIDDEN TESTS in the grader"
            nb.cells[3].outputs.append(nbformat.v4.new_output("stream", text="CANARY 42\n"))
        if student == "dave":  # a marker in the instructor's own cell: a real leak
            nb.cells.append(
                _meta(
                    nbformat.v4.new_markdown_cell("# CANARY in the release"),
                    locked=True,
                    grade_id="intro",
                )
            )
        folder = course / "autograded" / student / CHAPTER
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / NOTEBOOK)
        (folder / "notes.txt").write_text("a file of the submission")
    return course


def test_generate_feedback_with_nbgrader(tmp_path, capsys):
    """Carol printed and wrote the grader's markers: her page is made without them. Dave's
    page holds a marker from the instructor's own cell: only his page is refused, with a line
    that says so; `course-grade feedback` gives everyone else their page and exits 1."""
    course = _feedback_course(tmp_path)
    with pytest.raises(FeedbackError) as error:
        feedback(course, CHAPTER)
    carol = course / "feedback" / "carol" / CHAPTER / "exercises.html"
    alice = course / "feedback" / "alice" / CHAPTER / "exercises.html"
    dave = course / "feedback" / "dave" / CHAPTER / "exercises.html"
    assert list(error.value.problems) == [dave] and str(dave) in str(error.value)
    assert error.value.problems[dave] == ["CANARY"]
    assert not dave.exists() and error.value.pages == [alice, carol]
    mine = carol.read_text()
    assert find_secrets(mine) == [] and "I found ### [text like the grader" in mine
    assert main(["--course", str(course), "feedback", CHAPTER]) == 1
    said = capsys.readouterr().out
    assert "no feedback page for dave: CANARY (the page was deleted" in said
    assert "2 feedback pages in" in said and alice.exists() and carol.exists()
    assert any(r.startswith("alice/") and "notes.txt" in r for r in error.value.pages.removed)
    page = alice.read_text()
    assert page_problems(page, template_scripts()) == [] and find_secrets(page) == []
    assert "My answer &lt;script&gt;" in page and "Score: 0.0 / 1.0" in page
    assert sorted(p.name for p in alice.parent.iterdir()) == ["exercises.html"]
    assert stat.S_IMODE(alice.stat().st_mode) == 0o644
