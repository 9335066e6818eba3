"""Feedback pages are safe to open, small, free of hidden tests, and every one is checked.

Crafted notebooks go through the course's feedback preprocessors and nbgrader's own feedback
exporter (`render_page`), and once through real `nbgrader generate_feedback`.
"""

from __future__ import annotations

import base64
import csv
import getpass
import json
import os
import re
import stat
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
import yaml

from grader import regrade
from grader.cli import main
from grader.course import bin_dir, find_secrets, gradebook, make_course
from grader.export import export
from grader.feedback import (
    FeedbackError,
    check_pages,
    feedback,
    page_problems,
    render_page,
    template_scripts,
)
from grader.feedback_decisions import insert, late_panel, regrade_panel
from grader.late_policy import POLICY_NAME, Policy, columns, decide, record_extensions
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


# --- the late policy's outcome and the regrade decisions on the page --------------------

HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)"> CANARY & "quotes"'
POLICY = """\
due:
  01-kernels: 2026-02-26T23:59:00+01:00
penalty:
  per_day: 0.25
  cap: 0.5
slip_days: 1
"""


def _graded_course(tmp_path: Path) -> Path:
    """One student, `erin`, 10 points in two parts, submitted 2 d 10 h 1 min after the due
    date and 1 d 10 h 1 min after her extension: 2 late days, 1 slip day, 25% off."""
    course = make_course(tmp_path / "course")
    with gradebook(course) as gb:
        gb.add_assignment(CHAPTER)
        gb.add_notebook("exercises", CHAPTER)
        for name, points in (("test_a", 4.0), ("test_b", 6.0)):
            gb.add_grade_cell(name, "exercises", CHAPTER, max_score=points, cell_type="code")
            gb.add_solution_cell(name + "_answer", "exercises", CHAPTER)
        gb.add_student("erin", first_name="Erin", last_name=HOSTILE)
        gb.add_submission(CHAPTER, "erin", timestamp=datetime(2026, 3, 1, 9, 0))
        for grade in gb.find_submission_notebook("exercises", CHAPTER, "erin").grades:
            grade.auto_score = 3.0 if grade.name == "test_a" else 5.0
        gb.db.commit()
    cells = []
    for name, points in (("test_a", 4), ("test_b", 6)):
        answer = _meta(nbformat.v4.new_code_cell("x = 1"), solution=True, grade_id=name + "_answer")
        test = _meta(
            nbformat.v4.new_code_cell("assert x == 1"),
            grade=True,
            grade_id=name,
            points=points,
            locked=True,
        )
        cells += [answer, test]
    folder = course / "autograded" / "erin" / CHAPTER
    folder.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=cells), folder / NOTEBOOK)
    return course


def _requests() -> list[dict]:
    """Two open requests of erin's: #1 for test_a (a hostile reason), #2 for every part."""
    when = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
    log = [
        regrade.new_request(
            [],
            CHAPTER,
            "erin",
            "test_a",
            HOSTILE,
            {"test_a": 3.0},
            {"test_a": 4.0},
            "ta-<b>x</b>",
            when,
        )
    ]
    log.append(
        regrade.new_request(
            log,
            CHAPTER,
            "erin",
            None,
            "second look",
            {"test_a": 3.0, "test_b": 5.0},
            {"test_a": 4.0, "test_b": 5.0},
            "ta",
            when,
        )
    )
    return log


def test_the_panels_escape_what_a_student_wrote_and_pass_the_page_check():
    policy = Policy.from_dict(yaml.safe_load(POLICY))
    submitted = {("erin", CHAPTER): datetime(2026, 3, 1, 9, 0, tzinfo=UTC)}
    extensions = {("erin", CHAPTER): datetime(2026, 2, 27, 22, 59, tzinfo=UTC)}
    decision = decide(policy, extensions, submitted)["erin", CHAPTER]
    outcome = {
        "decision": decision,
        "due": policy.due[CHAPTER],
        "slip_budget": 1,
        "slip_spent_term": 1,
        "score": 8.0,
        "max_score": 10.0,
        **columns(decision, 8.0),
    }
    decided = regrade.decide(_requests(), 1, True, f"right; {HOSTILE}", "prof", datetime.now(UTC))
    block = late_panel(outcome) + regrade_panel(decided)
    page = insert(render_page(_clean()), block)
    assert page_problems(page, template_scripts()) == [] and find_secrets(page) == []
    assert "alert" not in "".join(v or "" for _, v in _attrs(page))
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(2)&quot;&gt;"
        in page
    )
    assert "[text like the grader&#x27;s markers, removed] &amp; &quot;quotes&quot;" in page
    assert "ta-&lt;b&gt;x&lt;/b&gt;" in page
    assert (
        page.index('id="late-policy"')
        < page.index('id="regrade-requests"')
        < page.index("(Score: ")  # above the notebook's own panel
    )


def _attrs(page: str) -> list[tuple[str, str | None]]:
    tags = _Tags()
    tags.feed(page)
    return tags.attrs


def test_generate_feedback_shows_the_late_policy_and_the_regrade_decisions(tmp_path):
    """Real `nbgrader generate_feedback` through `course-grade feedback`: each item is on the
    page, the adjusted score is export's, and the student's words stay text."""
    course = _graded_course(tmp_path)
    (course / POLICY_NAME).write_text(POLICY)
    record_extensions(
        course,
        [
            {
                "student": "erin",
                "chapter": CHAPTER,
                "until": "2026-02-27T23:59:00+01:00",
                "reason": "medical",
            }
        ],
    )
    (course / regrade.REQUESTS_NAME).write_text(json.dumps({"requests": _requests()}))
    when = datetime(2026, 3, 6, 8, 0, tzinfo=UTC)
    regrade.decide_request(course, 1, True, f"right; {HOSTILE}", when)  # test_a: 3 -> 4
    assert main(["--course", str(course), "feedback", CHAPTER]) == 0
    page = (course / "feedback" / "erin" / CHAPTER / "exercises.html").read_text()
    assert page_problems(page, template_scripts()) == [] and find_secrets(page) == []
    late = page[page.index('id="late-policy"') : page.index('id="regrade-requests"')]
    with export(course, [CHAPTER], tmp_path / "out")[0].open(newline="") as handle:
        [row] = list(csv.DictReader(handle))
    assert (row["late_days"], row["slip_days_used"], row["late_penalty"]) == ("2", "1", "0.25")
    for shown in (
        "Due date</th><td>2026-02-26 23:59:00+01:00",
        "until 2026-02-27 23:59:00+01:00: your deadline",  # the extension, its new due date
        "Submitted</th><td>2026-03-01 09:00:00+00:00",
        "122460 s after the deadline (34 h 01 min): 2 late days",  # seconds late
        "1 on this chapter; 1 of the term's 1 spent so far",  # slip days
        "25% of the score",
        "Score before the penalty</th><td>9 / 10",  # 4 (the accepted regrade) + 5
        f"Score after the penalty</th><td><b>{float(row['adjusted_score']):g} / 10",
    ):
        assert shown in late, shown
    assert float(row["adjusted_score"]) == 6.75 and "medical" not in page
    assert "Score: 9.0 / 10.0" in page  # nbgrader's own header: the gradebook's, unadjusted
    requests = page[page.index('id="regrade-requests"') :]
    assert "Request #1, part test_a: asked by ta-&lt;b&gt;x&lt;/b&gt; at 2026-03-05" in requests
    assert "Reason: &lt;script&gt;alert(1)&lt;/script&gt;" in requests
    assert "<td><code>test_a</code></td><td>3</td><td>4</td>" in requests  # old, new
    who = getpass.getuser()
    assert f"<b>Accepted</b> by {who} at 2026-03-06 08:00:00+00:00: right; &lt;script&gt;" in (
        requests
    )
    assert "Request #2, part all" in requests and "<b>Open</b>: not decided yet" in requests
    assert HOSTILE not in page and "Erin" not in page
