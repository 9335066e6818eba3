"""The instructor's grading round on chapter 01, with real nbgrader and real kernels.

Once per module (`graded_round`) one made-up class goes through every step: `release` (the
student version and the LMS zip); `collect` from an LMS-style folder of
<student>_<time>_exercises.ipynb files (with a duplicate, a late upload, a missing student
and a stray file); `autograde` with `--jobs 2` in the sandbox; one more student (`slow`) put
straight into submitted/<student>/<chapter>/, as collecting a tree leaves it, and graded alone
under a notebook time limit; `feedback`; `export`. The tests read that course folder.

The class holds honest students (right, blank, wrong, partial, late; a right answer that
warns and a wrong one in every part are graded by test_grading.py, in the same sandbox),
attackers (a tampered and a deleted test cell, patched checking tools, IPython hooks, an
always-equal object, a leak, a spy on files, secrets and the network, an edited structure)
and faulty ones (an endless sleep, a kernel that kills itself, a memory hog, an output flood,
a fork loop where the sandbox can contain it, a truncated notebook, a slow notebook).
Collecting a tree is tested in test_collect.py; each step's unit tests are in the module named
for it (test_rebuild.py, test_scan.py, test_hidden.py, test_preprocessors.py, ...).
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest
import yaml

from grader import message_caps, sandbox
from grader.autograde import autograde as autograde_class
from grader.collect import collect as collect_submissions
from grader.collect import parse_time
from grader.course import find_secrets, gradebook
from grader.export import export as export_scores
from grader.feedback import feedback as write_feedback
from grader.notebooks import fill_answers, grade_id, solution_answers
from grader.paths import CHAPTERS_DIR, NOTEBOOK, REPO_ROOT, SOLUTIONS_DIR, wrong_answers_file
from grader.release import release as release_chapters
from grader.selftest import submit

CHAPTER = "01-kernels"
PARTS = {
    "test_hand_output": 1.0,
    "test_kernel_bank": 2.0,
    "test_conv2d_valid": 3.0,
    "test_edge_kernel": 2.0,
    "test_apply_kernels": 2.0,
}
FULL = dict(PARTS)
ZERO = dict.fromkeys(PARTS, 0.0)
CELL_TIMEOUT = 45  # seconds; the sleeping answer must be stopped by it
PART_TIMEOUT = 20  # seconds for the grader's tests of one part; `slowcall` must be stopped
LEAKED = "LEAKED-INPUTS:"  # what `raiser` puts in front of the inputs it was called with
DUE = "2025-03-02T00:00:00Z"


def _but(**changes: float) -> dict[str, float]:
    return {**FULL, **changes}


# What every student of the made-up class must score, part by part.
EXPECTED = {
    "ref": FULL,
    "blank": ZERO,
    "wrong": _but(test_hand_output=0.0),  # hand output transposed
    "partial": {**ZERO, "test_hand_output": 1.0, "test_kernel_bank": 2.0},
    "late": FULL,
    "tamper": _but(test_hand_output=0.0),  # wrong answer, test rewritten to pass, points 10
    "deleted": _but(test_hand_output=0.0),  # wrong answer, its test cell deleted
    "patch": ZERO,  # patched checks.check_close: the grader's own checks decide
    "hooks": ZERO,  # IPython hooks and patched checks on a blank notebook gain nothing
    "hooksref": FULL,  # the same hooks next to right answers cost nothing
    "leak": FULL,  # right answers that try to print the hidden tests: nothing to print
    "structure": _but(test_hand_output=0.0),  # edited setup cell, own cells, duplicated answer
    "alleq": ZERO,  # always-equal object and a redefined np.allclose gain nothing
    "sleep": _but(test_hand_output=0.0),  # time.sleep(10**6): stopped, the rest graded
    "killer": ZERO,  # os._exit(0) kills the kernel: nothing can be graded
    "corrupt": ZERO,  # truncated JSON
    "absent": ZERO,  # on the roster, never submitted
    "spy": FULL,  # right answers, after trying to read, write and connect (sandbox stops it)
    "hog": _but(test_hand_output=0.0),  # fills memory: MemoryError at the limit, rest graded
    "flood": FULL,  # right answers after one 40 MB line and 200,000 printed lines
    "replay": ZERO,  # right answers, each reply to the grader sent twice: flagged, nothing counts
    # Issue 26's attacks on the grader's side of the protocol.
    "inject": ZERO,  # wrong answers, `checks` slipped into the grader's namespace: flagged
    "raiser": _but(test_conv2d_valid=0.0),  # raises with the hidden inputs in its message
    "fitted": _but(test_conv2d_valid=0.0),  # right on the visible example only
    "bigmsg": FULL,  # right answers after a 100 MB message of empty objects
    "slowcall": _but(test_conv2d_valid=0.0),  # sleeps on every call: stopped by the part limit
    "logforge": FULL,  # right answers that write "database is locked" where the log was
}
# A fork loop is only safe to grade where the sandbox caps the kernel's memory and processes
# as a whole (cgroups): each forked copy of a TensorFlow kernel dirties ~300 MB.
FORK_SAFE = sandbox.full_isolation() and sandbox.availability()["cgroups"] is None
FORKER = ["forker"] if FORK_SAFE else []
ROSTER = sorted([*EXPECTED, *FORKER])
# Graded after the class, alone, under a notebook time limit; not on the LMS roster.
SLOW_LIMIT = 12  # seconds per notebook: its first sleep alone passes it
EXPECTED_AFTER = {"slow": ZERO}
SPY_REPORT = "sandbox report:"


def _student_nb() -> nbformat.NotebookNode:
    return nbformat.read(CHAPTERS_DIR / CHAPTER / NOTEBOOK, as_version=4)


def _entry(name_start: str) -> dict[str, str]:
    """The answers of one entry of solutions/01-kernels/wrong_answers.yml, on the reference."""
    entries = yaml.safe_load(wrong_answers_file(CHAPTER).read_text())
    entry = next(e for e in entries if e["name"].startswith(name_start))
    return {**_reference(), **entry["answers"]}


def _reference() -> dict[str, str]:
    source = nbformat.read(SOLUTIONS_DIR / CHAPTER / NOTEBOOK, as_version=4)
    return solution_answers(source)


def _answers(name: str) -> dict[str, str] | None:
    """Answer cells of each made-up student (None: the untouched notebook)."""
    ref = _reference()
    wrong = _entry("hand output written column by column")
    return {
        "ref": ref,
        "late": ref,
        "blank": None,
        "wrong": wrong,
        "tamper": wrong,
        "deleted": wrong,
        "partial": {k: ref[k] for k in ("hand_output", "kernel_bank")},
        "patch": {
            "hand_output": "checks.check_close = lambda *args, **kwargs: None\n"
            "hand_output = np.zeros((2, 2))\n"
        },
        "alleq": {
            "hand_output": "class _Anything:\n"
            "    shape = (2, 2)\n\n"
            "    def __eq__(self, other):\n"
            "        return True\n\n"
            "    def __getitem__(self, index):\n"
            "        return self\n\n\n"
            "np.allclose = lambda *args, **kwargs: True\n"
            "hand_output = _Anything()\n"
        },
        "hooks": {"hand_output": HOOKS + "hand_output = np.zeros((2, 2))\n"},
        # In kernel_bank's cell: hand_output's cell may use no library (sys.modules counts).
        "hooksref": {**ref, "kernel_bank": HOOKS + ref["kernel_bank"]},
        "leak": {**ref, "hand_output": LEAK + ref["hand_output"]},
        "structure": wrong,
        "sleep": {**ref, "hand_output": "import time\n\ntime.sleep(10**6)\n"},
        "killer": {**ref, "hand_output": "import os\n\nos._exit(0)\n"},
        "corrupt": ref,
        "spy": {**ref, "hand_output": SPY + ref["hand_output"]},
        "forker": {**ref, "hand_output": "import os\n\nwhile True:\n    os.fork()\n"},
        "hog": {
            **ref,
            "hand_output": "hoard = []\nwhile True:\n    hoard.append(np.ones(2**26))\n"
            + ref["hand_output"],
        },
        "replay": {**ref, "hand_output": REPLAY + ref["hand_output"]},
        "inject": {**wrong, "hand_output": INJECT + wrong["hand_output"]},
        "raiser": {
            **ref,
            "conv2d_valid": _visible_only(
                ref, f"raise ValueError({LEAKED!r} + repr(np.asarray(image).tolist()))"
            ),
        },
        "fitted": {**ref, "conv2d_valid": _visible_only(ref, "return np.zeros((2, 2))")},
        "bigmsg": {**ref, "kernel_bank": BIG_MESSAGE + ref["kernel_bank"]},
        "slowcall": {**ref, "conv2d_valid": _calls_first(ref, "import time\ntime.sleep(12)\n")},
        "logforge": {**ref, "hand_output": LOG_FORGE + ref["hand_output"]},
        "flood": {
            **ref,
            "hand_output": 'print("x" * 40 * 2**20)\n'
            # A line 2.5 times the grader's frame cap, then 13 times the course's output cap in
            # lines. With 100 MB and a million lines, a loaded CI machine ran past CELL_TIMEOUT
            # (7,000 lines printed in 45 s) and the right answer scored zero.
            "for i in range(2 * 10**5):\n    print(i)\n" + ref["hand_output"],
        },
        "slow": {
            **ref,
            "hand_output": "import time\n\ntime.sleep(25)\n" + ref["hand_output"],
            "kernel_bank": "time.sleep(25)\n" + ref["kernel_bank"],
        },
    }[name]


# What a curious submission tries: the course folder (hidden tests, gradebook), the repository's
# solutions, the grader's secrets, a fake results file and the network. COURSE is filled in.
SPY = f"""import json, os, socket
from pathlib import Path

def attempt(action):
    try:
        action()
        return "done"
    except Exception as error:
        return type(error).__name__

course = Path("COURSE")
report = {{
    "read hidden tests": attempt(lambda: (course / "source/{CHAPTER}/exercises.ipynb").read_text()),
    "read solutions": attempt(lambda: Path("{SOLUTIONS_DIR}").iterdir().__next__()),
    "read gradebook": attempt(lambda: (course / "gradebook.db").read_bytes()),
    "write results": attempt(lambda: (course / "fake-results.json").write_text("{{}}")),
    "secret": attempt(lambda: os.environ["GRADER_SECRET"]),
    "socket": attempt(lambda: socket.create_connection(("127.0.0.1", 9), timeout=3)),
}}
print("{SPY_REPORT}", json.dumps(report))
"""


def _visible_only(ref: dict[str, str], otherwise: str) -> str:
    """conv2d_valid right on the visible example (3x3 image) only, `otherwise` on any other."""
    body = ref["conv2d_valid"].replace("def conv2d_valid(", "def _right(", 1)
    return (
        body
        + "\n\ndef conv2d_valid(image, kernel):\n"
        + "    if np.shape(image) == (3, 3):\n        return _right(image, kernel)\n"
        + f"    {otherwise}\n"
    )


def _calls_first(ref: dict[str, str], code: str) -> str:
    """conv2d_valid that runs `code` on every call, then answers right."""
    body = ref["conv2d_valid"].replace("def conv2d_valid(", "def _right(", 1)
    indented = "".join(f"    {line}\n" for line in code.splitlines())
    return (
        body
        + "\n\ndef conv2d_valid(image, kernel):\n"
        + indented
        + "    return _right(image, kernel)\n"
    )


# A reply to the grader naming `checks`, bound to a kernel object whose methods do nothing: with
# the grader's namespace open to the kernel, wrong answers in every part would score 10/10.
INJECT = """import json

_dumps = json.dumps


class _Nothing:
    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def _forged(value, *args, **kwargs):
    inner = value.get("value") if isinstance(value, dict) else None
    if isinstance(inner, dict) and inner.get("t") == "dict" and "items" in inner:
        probe = get_ipython().user_ns["__course_probe__"]
        inner["items"].append([probe.encode("checks"), probe._handle(_Nothing())])
    return _dumps(value, *args, **kwargs)


json.dumps = _forged
"""
# 75 MB of empty JSON objects in one message, before every answer (decoded, about 2 GB).
# In kernel_bank's cell, which may use libraries (conv2d_valid's may use NumPy only), once:
# 100 MB on every call would outrun the part's time limit.
BIG_MESSAGE = """import time
from IPython.display import publish_display_data

publish_display_data({"application/json": {"x": [{}] * 25_000_000}})
time.sleep(1)
"""
# Lines the grader's log would once have believed (it retried "database is locked" twice).
LOG_FORGE = """import os
import sys

for _stream in (sys.__stdout__, sys.__stderr__):
    _stream.write("[AutogradeApp | ERROR] database is locked\\n")
    _stream.flush()
os.write(2, b"sqlite3.OperationalError: database is locked\\n")
"""


# Code in an answer cell that sends the kernel's every reply to the grader twice (a student who
# found the reply type and tries to put answers of their own next to the real ones).
REPLAY = """import IPython

_display = IPython.get_ipython().display_pub
_publish = _display.publish


def _twice(data, *args, **kwargs):
    _publish(data, *args, **kwargs)
    if "text/x-course-probe" in data:
        _publish(data, *args, **kwargs)


_display.publish = _twice
"""


# Code in an answer cell that makes every later test cell "pass" in the kernel: it swallows
# every error (AST transformer, custom exception handler, post_run_cell hook, showtraceback),
# drops the lines of the visible checks (input transformer) and patches the checking tools
# (through an alias, `__code__` and sys.modules) and numpy's comparisons.
HOOKS = """import ast
import sys

import helpers.checks as _c

_ip = get_ipython()


class _Swallow(ast.NodeTransformer):
    def visit_Module(self, node):
        handler = ast.ExceptHandler(type=None, name=None, body=[ast.Pass()])
        body = node.body or [ast.Pass()]
        node.body = [ast.Try(body=body, handlers=[handler], orelse=[], finalbody=[])]
        return ast.fix_missing_locations(node)


def _clear(result):
    result.error_in_exec = None
    result.error_before_exec = None


_ip.ast_transformers.append(_Swallow())
_ip.input_transformers_post.append(
    lambda lines: [line for line in lines if not line.lstrip().startswith("checks.")]
)
_ip.events.register("post_run_cell", _clear)
_ip.set_custom_exc((BaseException,), lambda *args, **kwargs: None)
_ip.showtraceback = lambda *args, **kwargs: None
for _name in ("check_close", "check_equal", "check_true", "check_shape"):
    setattr(_c, _name, lambda *args, **kwargs: None)
sys.modules["helpers.checks"].as_numbers.__code__ = (lambda *args, **kwargs: None).__code__
np.allclose = lambda *args, **kwargs: True
np.array_equal = lambda *args, **kwargs: True
np.isclose = lambda a, b, **kwargs: np.ones(np.broadcast(a, b).shape, dtype=bool)
"""
# Code that prints every cell the kernel is given and every string it can find with "CANARY".
LEAK = """import gc

get_ipython().events.register("pre_run_cell", lambda info: print("CELL:", info.raw_cell))
print([o for o in gc.get_objects() if isinstance(o, str) and "CANARY" in o][:5])
"""


def _submission(name: str, course: Path | None = None) -> nbformat.NotebookNode:
    student = _student_nb()
    answers = _answers(name)
    if answers is not None:  # a student never sees the canary comments of the solutions
        answers = {k: re.sub(r"^.*CANARY.*\n", "", v, flags=re.M) for k, v in answers.items()}
        answers = {k: v.replace("COURSE", str(course)) for k, v in answers.items()}
    nb = student if answers is None else fill_answers(student, answers)
    if name == "tamper":
        for cell in nb.cells:
            if grade_id(cell) == "test_hand_output":
                cell.source = 'print("Part 1 passed.")'
                cell.metadata.nbgrader["points"] = 10
    if name == "deleted":
        nb.cells = [c for c in nb.cells if grade_id(c) != "test_hand_output"]
    if name == "structure":  # setup cell unlocked and rewritten, own cells, a second answer cell
        setup = next(c for c in nb.cells if c.cell_type == "code")
        setup.metadata.pop("nbgrader", None)
        setup.source += "\nchecks.check_close = lambda *args, **kwargs: None\n"
        extra = nbformat.v4.new_code_cell("checks.check_shape = lambda *args, **kwargs: None")
        answer = next(c for c in nb.cells if grade_id(c) == "hand_output")
        twin = nbformat.from_dict(answer)
        twin.source, twin.id = "hand_output = np.array([[-1, 2], [6, 1]])", "twin"
        nb.cells.insert(nb.cells.index(setup) + 1, extra)
        nb.cells.append(twin)
    return nb


def _write_lms_folder(folder: Path, course: Path) -> None:
    """Submissions as an LMS exports them: <student>_<UTC time>_exercises.ipynb, one folder."""
    folder.mkdir(parents=True)
    for name in ROSTER:
        if name == "absent":
            continue
        stamp = "20250305T100000Z" if name == "late" else "20250301T100000Z"
        path = folder / f"{name}_{stamp}_exercises.ipynb"
        nbformat.write(_submission(name, course), path)
        if name == "corrupt":
            path.write_text(path.read_text()[:700])  # truncated JSON
    # An older blank upload by `ref`: a duplicate, which collect must report and ignore.
    nbformat.write(_student_nb(), folder / "ref_20250228T090000Z_exercises.ipynb")
    (folder / "notes.txt").write_text("not a submission")


@pytest.fixture(scope="module")
def graded_round(sandbox_here, tmp_path_factory):
    """Release, collect, autograde (2 jobs), feedback and export one made-up class."""
    base = tmp_path_factory.mktemp("instructor")
    course = base / "course"
    zip_path = release_chapters(course, [CHAPTER])
    lms = base / "lms"
    _write_lms_folder(lms, course)
    report = collect_submissions(course, CHAPTER, lms, roster=ROSTER, due=parse_time(DUE))
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("GRADER_SECRET", "s3cret")  # what a spy would like to read
    results = autograde_class(
        course, CHAPTER, jobs=2, cell_timeout=CELL_TIMEOUT, part_timeout=PART_TIMEOUT
    )
    submit(course, CHAPTER, "slow", _submission("slow", course))
    results += autograde_class(
        course,
        CHAPTER,
        ["slow"],
        cell_timeout=CELL_TIMEOUT,
        notebook_timeout=SLOW_LIMIT,
        part_timeout=PART_TIMEOUT,
    )
    monkeypatch.undo()
    pages = write_feedback(course, CHAPTER)
    scores_csv, summary_csv = export_scores(course, [CHAPTER])
    return {
        "course": course,
        "zip": zip_path,
        "report": report,
        "results": {r.student: r for r in results},
        "pages": pages,
        "scores_csv": scores_csv,
        "summary_csv": summary_csv,
    }


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def _auto_scores(course: Path) -> dict[tuple[str, str], tuple[float | None, float | None]]:
    """(student, part) -> (auto score, manual score), straight from the gradebook."""
    with gradebook(course) as gb:
        table = {}
        for submission in gb.assignment_submissions(CHAPTER):
            notebook = gb.find_submission_notebook("exercises", CHAPTER, submission.student.id)
            for grade in notebook.grades:
                table[submission.student.id, grade.name] = (grade.auto_score, grade.manual_score)
        return table


@pytest.mark.slow
def test_release_zip_holds_the_student_version_only(graded_round):
    course = graded_round["course"]
    assert REPO_ROOT not in course.resolve().parents
    with zipfile.ZipFile(graded_round["zip"]) as archive:
        assert archive.namelist() == [f"{CHAPTER}/{NOTEBOOK}"]
        text = archive.read(f"{CHAPTER}/{NOTEBOOK}").decode()
    assert find_secrets(text) == []
    assert "YOUR CODE HERE" in text
    source = (course / "source" / CHAPTER / NOTEBOOK).read_text()
    assert "CANARY solution" in source  # the check can fire
    # nbgrader's source holds no hidden test: what it puts back into a submission is visible.
    assert "CANARY hidden" not in source and "BEGIN HIDDEN TESTS" not in source
    assert "CANARY hidden" in (course / "hidden" / CHAPTER / NOTEBOOK).read_text()
    assert oct(course.stat().st_mode & 0o777) == "0o700"
    assert oct((course / "gradebook.db").stat().st_mode & 0o777) == "0o600"


@pytest.mark.slow
def test_collect_reports_missing_duplicate_late_and_stray_files(graded_round):
    report, course = graded_round["report"], graded_round["course"]
    assert report.missing == ["absent"]
    assert list(report.duplicates) == ["ref"]
    assert report.duplicates["ref"][-1] == "ref_20250301T100000Z_exercises.ipynb"
    assert set(report.late) == {"late"} and report.late["late"] == 3 * 86400 + 10 * 3600
    assert report.unmatched == ["notes.txt"]
    assert set(report.collected) == set(ROSTER) - {"absent"}
    for student in report.collected:
        assert (course / "submitted" / student / CHAPTER / "timestamp.txt").exists()


@pytest.mark.slow
def test_exported_scores_match_every_expectation(graded_round):
    rows = {row["student"]: row for row in _csv(graded_round["scores_csv"])}
    assert set(rows) == set(EXPECTED) | set(EXPECTED_AFTER) | set(FORKER)
    wrong = []
    for student, parts in {**EXPECTED, **EXPECTED_AFTER}.items():
        row = rows[student]
        for part, points in parts.items():
            if float(row[part]) != points:
                wrong.append(f"{student} {part}: {row[part]} (expected {points})")
        if float(row["score"]) != sum(parts.values()) or float(row["max_score"]) != 10:
            wrong.append(f"{student} total {row['score']}/{row['max_score']}")
    assert not wrong, "\n".join(wrong)
    assert rows["absent"]["status"] == "missing"
    assert rows["corrupt"]["status"] == "corrupt"
    assert float(rows["late"]["seconds_late"]) == pytest.approx(3 * 86400 + 10 * 3600)
    assert float(rows["ref"]["seconds_late"]) == 0


@pytest.mark.slow
def test_class_summary_per_part(graded_round):
    summary = {row["part"]: row for row in _csv(graded_round["summary_csv"])}
    assert set(summary) == set(PARTS) | {"total"}
    everyone = {**EXPECTED, **EXPECTED_AFTER}
    rows = {row["student"]: row for row in _csv(graded_round["scores_csv"])}
    everyone.update({s: {p: float(rows[s][p]) for p in PARTS} for s in FORKER})
    for part, points in PARTS.items():
        values = [everyone[s][part] for s in everyone]
        assert float(summary[part]["max_score"]) == points
        assert float(summary[part]["mean"]) == pytest.approx(sum(values) / len(values), abs=1e-3)
        assert int(summary[part]["full"]) == sum(v == points for v in values)
        assert int(summary[part]["zero"]) == sum(v == 0 for v in values)


@pytest.mark.slow
def test_parallel_grading_kept_the_gradebook_whole(graded_round):
    course = graded_round["course"]
    with sqlite3.connect(course / "gradebook.db") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    table = _auto_scores(course)
    submitted = (set(ROSTER) - {"absent"}) | set(EXPECTED_AFTER)
    assert {student for student, _ in table} == submitted
    assert all((s, p) in table for s in submitted for p in PARTS)


@pytest.mark.slow
def test_cell_timeout_stops_an_endless_answer_and_grades_the_rest(graded_round):
    course = graded_round["course"]
    graded = nbformat.read(course / "autograded" / "sleep" / CHAPTER / NOTEBOOK, 4)
    cell = next(c for c in graded.cells if grade_id(c) == "hand_output")
    assert "CellTimeoutError" in [o.get("ename") for o in cell.outputs if o.output_type == "error"]
    result = graded_round["results"]["sleep"]
    assert result.status == "graded"
    assert result.seconds < 4 * CELL_TIMEOUT + 120


@pytest.mark.slow
def test_faults_are_reported_by_student_and_file(graded_round):
    results, course = graded_round["results"], graded_round["course"]
    corrupt = results["corrupt"]
    assert corrupt.status == "corrupt"
    assert "corrupt:" in corrupt.message and "exercises.ipynb" in corrupt.message
    assert (course / "submitted" / "corrupt" / CHAPTER / "exercises.ipynb.corrupt").exists()
    killer = results["killer"]
    assert killer.status == "error" and killer.message.startswith("killer:")
    faulty = {"corrupt", "killer", "forker", "slow"}  # the last two: see their own tests
    others = {s: r.status for s, r in results.items() if s not in faulty}
    assert set(others.values()) == {"graded"}, others


@pytest.mark.slow
def test_attacks_gain_nothing_or_are_flagged(graded_round):
    flags = {s: "\n".join(r.flags) for s, r in graded_round["results"].items()}
    assert "points changed to 10" in flags["tamper"] and "test code edited" in flags["tamper"]
    assert "test_hand_output: deleted" in flags["deleted"]
    assert "replaces checks.check_close" in flags["patch"]  # gains nothing, still flagged
    assert "reaches into the IPython shell" in flags["hooks"]
    assert "structure hand_output: answer cell appears 2 times" in flags["structure"]
    assert "code cells of the student's own dropped" in flags["structure"]
    assert "defines __eq__" in flags["alleq"] and "replaces np.allclose" in flags["alleq"]
    assert "calls os._exit()" in flags["killer"]
    for clean in ("ref", "blank", "wrong", "partial"):
        assert flags[clean] == "", (clean, flags[clean])
    rows = {row["student"]: row for row in _csv(graded_round["scores_csv"])}
    assert "replaces checks.check_close" in rows["patch"]["flags"]


@pytest.mark.slow
def test_feedback_shows_hints_but_no_hidden_test(graded_round):
    pages = {page.parts[-3]: page for page in graded_round["pages"]}
    assert set(ROSTER) - {"absent", "corrupt", "killer", "forker"} <= set(pages)
    course = graded_round["course"]
    # The hidden tests never reached a kernel: not even the graded notebooks hold them.
    for student in ("wrong", "leak", "hooks"):
        autograded = (course / "autograded" / student / CHAPTER / NOTEBOOK).read_text()
        assert "CANARY" not in autograded and "default_rng(101)" not in autograded, student
    for page in pages.values():
        assert find_secrets(page.read_text()) == [], page
    wrong = pages["wrong"].read_text()
    assert "slide the window one pixel right, then down" in wrong  # the hidden test's hint
    assert "Part 2: three 2x2 kernels give a float32 bank" in wrong  # a visible test passed


@pytest.mark.slow
def test_regrading_serially_in_another_order_keeps_scores_and_manual_grades(graded_round):
    """The parallel grades equal a serial regrade in reverse order; a manual grade survives."""
    course = graded_round["course"]
    before = _auto_scores(course)
    with gradebook(course) as gb:
        grade = gb.find_grade("test_hand_output", "exercises", CHAPTER, "wrong")
        grade.manual_score = 0.5
        gb.db.commit()
    students = ["wrong", "ref"]  # the manual grade's student, and full marks
    results = autograde_class(
        course, CHAPTER, students, jobs=1, cell_timeout=CELL_TIMEOUT, regrade=True
    )  # unchanged submissions: without regrade=True their logged results would be kept
    assert [r.student for r in results] == students and {r.status for r in results} == {"graded"}
    assert not any(r.reused for r in results)
    after = _auto_scores(course)
    assert {k: v[0] for k, v in after.items()} == {k: v[0] for k, v in before.items()}
    assert after["wrong", "test_hand_output"][1] == 0.5


def _outputs(course: Path, student: str, cell_id: str) -> list[dict]:
    graded = nbformat.read(course / "autograded" / student / CHAPTER / NOTEBOOK, 4)
    return next(c for c in graded.cells if grade_id(c) == cell_id).outputs


@pytest.mark.slow
@pytest.mark.skipif(not sandbox.full_isolation(), reason="the sandbox needs root and unshare")
def test_sandbox_stops_reading_writing_secrets_and_network(graded_round):
    """The spy's report, printed from inside the grader: everything it tried failed."""
    course = graded_round["course"]
    text = "".join(o.get("text", "") for o in _outputs(course, "spy", "hand_output"))
    report = json.loads(text.split(SPY_REPORT, 1)[1])
    assert set(report) == {
        "read hidden tests",
        "read solutions",
        "read gradebook",
        "write results",
        "secret",
        "socket",
    }
    assert all(outcome != "done" for outcome in report.values()), report
    assert not (course / "fake-results.json").exists()
    assert "imports socket" in "\n".join(graded_round["results"]["spy"].flags)


@pytest.mark.slow
def test_memory_hog_stops_at_the_limit_and_the_rest_is_graded(graded_round):
    course, result = graded_round["course"], graded_round["results"]["hog"]
    errors = [o["ename"] for o in _outputs(course, "hog", "hand_output") if "ename" in o]
    assert errors == ["MemoryError"]
    assert result.status == "graded"
    if result.kernel_peaks.get("memory"):  # measured by the sandbox's cgroup
        assert result.kernel_peaks["memory"] <= sandbox.Limits().memory_bytes


@pytest.mark.slow
def test_output_flood_leaves_a_small_notebook(graded_round):
    course = graded_round["course"]
    path = course / "autograded" / "flood" / CHAPTER / NOTEBOOK
    assert path.stat().st_size < 1_000_000
    text = "".join(o.get("text", "") for o in _outputs(course, "flood", "hand_output"))
    # The 40 MB line is over the grader's message cap: a stand-in says it was dropped unread;
    # of the 200,000 lines nbgrader kept the last ones, and the course's cap holds them small.
    assert message_caps.NOTE in text and len(text) < 101_000
    page = next(p for p in graded_round["pages"] if p.parts[-3] == "flood")
    assert page.stat().st_size < 2_000_000


@pytest.mark.slow
def test_notebook_time_limit_stops_a_slow_notebook(graded_round):
    result = graded_round["results"]["slow"]
    assert result.status == "time limit" and result.message.startswith("slow:")
    assert result.seconds < SLOW_LIMIT + 30
    assert "scored zero" in "\n".join(result.flags)


@pytest.mark.slow
def test_gradebook_records_what_happened(graded_round):
    """Faults and flags reach the gradebook: the notebook is flagged, the first answer says why."""
    course = graded_round["course"]
    expected = {
        "slow": "time limit",
        "killer": "status error",
        "corrupt": "status corrupt",
        "patch": "replaces checks.check_close",
        "hog": None,
        "ref": None,
        "replay": "forged replies to the grader",
    }
    with gradebook(course) as gb:
        for student, words in expected.items():
            notebook = gb.find_submission_notebook("exercises", CHAPTER, student)
            comment = gb.find_comment("hand_output", "exercises", CHAPTER, student).auto_comment
            if words is None:
                assert not notebook.flagged and comment is None, (student, comment)
            else:
                assert notebook.flagged and words in (comment or ""), (student, comment)


@pytest.mark.slow
@pytest.mark.skipif(not FORK_SAFE, reason="needs the sandbox with memory and pids cgroups")
def test_fork_loop_is_contained_and_leaves_nothing_behind(graded_round):
    """`while True: os.fork()` meets the pids and memory caps; its part scores zero."""
    result = graded_round["results"]["forker"]
    rows = {row["student"]: row for row in _csv(graded_round["scores_csv"])}
    assert float(rows["forker"]["test_hand_output"]) == 0
    # Either the kernel survives the failed fork (the rest is graded) or the cgroup's OOM killer
    # ends it (status error, everything zero); it never gains.
    rest = [float(rows["forker"][p]) == points for p, points in PARTS.items()][1:]
    assert list(PARTS)[0] == "test_hand_output"
    survived = result.status == "graded" and all(rest)
    killed = result.status == "error" and not any(rest)
    assert survived or killed, (result, rows["forker"])
    assert result.seconds < 4 * CELL_TIMEOUT + 120
    assert result.kernel_peaks["pids"] <= sandbox.Limits().processes
    assert result.kernel_peaks["memory"] <= sandbox.Limits().memory_bytes
    assert sandbox.live_processes(result.sandbox_uid) == []


@pytest.mark.slow
def test_a_kernel_cannot_write_the_graders_namespace(graded_round):
    """`inject` adds `checks` to its reply: refused whole, every part zero, flagged."""
    result = graded_round["results"]["inject"]
    assert result.status == "graded"
    assert "forged replies to the grader" in "\n".join(result.flags)


def _page(graded_round, student: str) -> str:
    return next(p for p in graded_round["pages"] if p.parts[-3] == student).read_text()


@pytest.mark.slow
def test_hidden_failures_tell_what_was_checked_never_the_inputs_or_values(graded_round):
    course = graded_round["course"]
    raiser = _page(graded_round, "raiser")
    # The marker is in the student's own code, shown on the page; the inputs must not be.
    assert LEAKED + "[" not in raiser and "your code raised ValueError" in raiser
    # The instructor's copy keeps the kernel's text.
    graded = nbformat.read(course / "autograded" / "raiser" / CHAPTER / NOTEBOOK, 4)
    assert LEAKED in json.dumps(graded.metadata.get("course_grader_details", {}))
    fitted = _page(graded_round, "fitted")
    assert "do not flip the kernel" in fitted  # the hidden test's literal hint
    # None of the first hidden case's expected values (rounded as check_close prints them).
    rng = np.random.default_rng(202)
    image, kernel = rng.normal(size=(5, 7)), rng.normal(size=(2, 3))
    expected = [
        [float(np.sum(image[i : i + 2, j : j + 3] * kernel)) for j in range(5)] for i in range(4)
    ]
    shown = [f"{v:.4f}" for row in expected for v in row if abs(v) > 0.01]
    assert not [v for v in shown if v in fitted], "hidden expected values in the feedback"


@pytest.mark.slow
def test_limits_bound_what_a_kernel_costs_the_grader(graded_round):
    results = graded_round["results"]
    # 100 MB of empty objects never reached the grader's decoder (grader.message_caps).
    assert 0 < results["bigmsg"].grader_peak < 2 * 2**30, results["bigmsg"].grader_peak
    assert max(r.grader_peak for r in results.values()) < 2 * 2**30
    # Sleeping 12 s per call: the part stops at its limit, the kernel answers the next parts.
    slow = results["slowcall"]
    assert slow.status == "graded" and slow.seconds < CELL_TIMEOUT + 4 * PART_TIMEOUT + 60
    # A forged "database is locked" in the grader's log decides nothing: graded once.
    forge = results["logforge"]
    assert forge.status == "graded" and forge.attempts == 1
    log = graded_round["course"] / "logs" / CHAPTER / "logforge.log"
    assert not log.exists() or "database is locked" not in log.read_text()
