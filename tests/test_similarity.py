"""`course-grade similarity` on a made-up class of chapter 04 where who copied is known.

tests/similarity_class.py writes 40 students' answers: 34 independent (several styles, wrong
answers, parts left blank) and six copies disguised by renaming, reordering, other comments and
whitespace, helper functions, a copy of a copy and every disguise at once. The measure: every
copying pair found (and each of its copied parts), no independent pair reported. The numbers
are printed (pytest -s) and quoted in docs/instructors.md.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import re

import numpy as np
import pytest
from similarity_class import CELLS, CHAPTER, PART, STARTERS, make_class, write_class

from grader.cli import main
from grader.course import bin_dir, db_url, make_course
from grader.similarity import analyse
from grader.similarity_prints import normalize
from grader.similarity_report import CSV_COLUMNS, DISCLAIMER

SEED = 0  # the class the docs quote


@pytest.fixture(scope="module")
def made():
    return make_class(SEED)


@pytest.fixture(scope="module")
def course(made, tmp_path_factory):
    root = tmp_path_factory.mktemp("similarity") / "course"
    root.mkdir()
    write_class(root, made)
    return root


@pytest.fixture(scope="module")
def analysis(course):
    return analyse(course, CHAPTER)


def test_every_copy_found_and_no_independent_pair(made, analysis):
    copied = made.copy_pairs
    copying = {(a, b) for a, b, _ in copied}
    rows = {(p.a, p.b, p.part) for p in analysis.pairs}
    reported = {(p.a, p.b) for p in analysis.pairs}
    found, false = copying & reported, reported - copying
    print(
        f"\nseed {SEED}: {analysis.students} submissions; copying pairs found "
        f"{len(found)}/{len(copying)} ({len(found) / len(copying):.0%}), false pairs "
        f"{len(false)}; copied parts found {len(rows & copied)}/{len(copied)}, rows of "
        f"parts not copied {len(rows - copied)}"
    )
    for students, cells, how in made.groups:
        print(f"  {'+'.join(sorted(students))} ({how}): {len(cells)} parts")
    assert analysis.skipped == []
    assert analysis.students == 40
    assert sorted(copying - reported) == []
    assert sorted(false) == []
    assert sorted(copied - rows) == []  # each copied part too, the short ones included
    assert [students for students, _ in analysis.clusters()] == [
        sorted(students) for students, _, _ in made.groups if len(students) >= 3
    ]


def test_alike_independent_answers_are_scored_but_not_reported(made, course):
    """Short tasks make independent answers alike: the score alone would pair them."""
    everything = analyse(course, CHAPTER, min_evidence=0)
    copying = {(a, b) for a, b, _ in made.copy_pairs}
    alike = {(p.a, p.b) for p in everything.pairs} - copying
    print(f"\nindependent pairs scoring >= {everything.threshold} somewhere: {len(alike)}")
    assert len(alike) >= 10  # the made-up class is hard: without the evidence they'd be pairs


def test_a_higher_threshold_reports_less(analysis, course):
    strict = analyse(course, CHAPTER, threshold=0.95)
    assert {(p.a, p.b, p.part) for p in strict.pairs} < {(p.a, p.b, p.part) for p in analysis.pairs}


def test_normalized_names_and_layout_go_library_names_stay():
    one = "def f(image):\n    x = np.asarray(image)  # floats\n    return tf.nn.max_pool2d(x, 2)\n"
    renamed = "def f(pic):\n\n    y=np.asarray( pic )\n    return tf.nn.max_pool2d(y, 2)\n"
    other = "def f(image):\n    x = np.asarray(image)\n    return tf.nn.avg_pool2d(x, 2)\n"
    assert normalize(one)[0] == normalize(renamed)[0]
    assert normalize(one)[0] != normalize(other)[0]
    assert "max_pool2d" in normalize(one)[0] and "floats" not in normalize(one)[0]
    text, where = normalize("x = 'a long string'\n")
    assert len(text) == len(where) and "long" not in text
    assert normalize("def (:\n  x")[0]  # code that does not parse: every name becomes V


def test_csv_report_and_nothing_else_written(course, analysis, capsys):
    before = _files(course)
    assert main(["--course", str(course), "similarity", CHAPTER]) == 0
    printed = capsys.readouterr().out
    assert DISCLAIMER in printed
    folder = course / "similarity" / CHAPTER
    assert set(_files(course)) - set(before) == {
        f"similarity/{CHAPTER}/report.html",
        f"similarity/{CHAPTER}/pairs.csv",
    }
    assert {k: v for k, v in _files(course).items() if not k.startswith("similarity/")} == before
    with open(folder / "pairs.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert (
        list(rows[0])
        == CSV_COLUMNS
        == ["student_a", "student_b", "part", "score", "pair_evidence_bits"]
    )
    assert [(r["student_a"], r["student_b"], r["part"], float(r["score"])) for r in rows] == [
        (p.a, p.b, p.part, p.score) for p in analysis.pairs
    ]
    assert all(0 < float(r["score"]) <= 1 and r["part"] in PART.values() for r in rows)
    page = (folder / "report.html").read_text()
    assert DISCLAIMER in page and "Clusters of three or more" in page
    assert page.count("<mark>") > 50
    for pair in analysis.pairs:
        assert f"id='{pair.a}-{pair.b}'" in page
    # self-contained: no script, nothing fetched
    assert not re.search(r"<script|<link|<img|<iframe|src=|url\(|@import", page)
    assert os.stat(folder / "report.html").st_mode & 0o077 == 0


def test_student_code_is_escaped_in_the_report(made, tmp_path):
    answers = {cell: STARTERS[cell] for cell in CELLS}
    evil = made.answers["c1"]["max_pool_same"] + '\nx = "</pre><script>alert(1)</script>"\n'
    answers["max_pool_same"] = evil
    both = type(made)({"s01": answers, "s02": answers}, [], {})
    write_class(tmp_path, both)
    out = tmp_path / "out"
    main(
        ["--course", str(tmp_path), "similarity", CHAPTER, "--out", str(out), "--min-evidence", "0"]
    )
    page = (out / "report.html").read_text()
    assert "s01 and s02" in page and "<script" not in page
    assert "&lt;/pre&gt;&lt;script&gt;" in page


@pytest.mark.slow
def test_gradebook_untouched(made, tmp_path, monkeypatch):
    """A real nbgrader gradebook with the chapter and its students: not a byte changes."""
    from nbgrader.api import Gradebook

    monkeypatch.setenv("PATH", f"{bin_dir()}{os.pathsep}{os.environ['PATH']}")
    course = make_course(tmp_path / "course")
    write_class(course, made)
    with Gradebook(db_url(course)) as gb:
        gb.add_assignment(CHAPTER)
        for student in made.answers:
            gb.add_student(student)
    before = _files(course)
    assert "gradebook.db" in before
    assert main(["--course", str(course), "similarity", CHAPTER]) == 0
    after = {k: v for k, v in _files(course).items() if not k.startswith("similarity/")}
    assert after == before


def test_the_made_up_answers_are_right_or_wrong_as_stated(made):
    """Every answer against TensorFlow: the right ones match it, the wrong ones do not."""
    import tensorflow as tf

    rng = np.random.default_rng(SEED)
    images = [rng.normal(size=(7, 9)), rng.normal(size=(6, 6)), rng.normal(size=(5, 8))]
    kernels = rng.normal(size=(3, 3, 1, 2)).astype("float32")
    nhwc = [image[None, ..., None].astype("float32") for image in images]

    def same(x, op, window, stride):
        return op(x[None, ..., None], window, stride, "SAME").numpy()[0, ..., 0]

    expected = {
        "max_pool_valid": lambda f, x: (
            f(x, 3, 2),
            tf.nn.max_pool2d(x[None, ..., None], 3, 2, "VALID").numpy()[0, ..., 0],
        ),
        "max_pool_same": lambda f, x: (f(x, 3, 2), same(x, tf.nn.max_pool2d, 3, 2)),
        "avg_pool_same": lambda f, x: (f(x, 3, 2), same(x, tf.nn.avg_pool2d, 3, 2)),
        "min_pool": lambda f, x: (f(x, 2, 2, "SAME"), -tf.nn.max_pool2d(-x, 2, 2, "SAME").numpy()),
        "conv_relu_pool": lambda f, x: (
            f(x, kernels, 1),
            tf.nn.max_pool2d(tf.nn.relu(tf.nn.conv2d(x, kernels, 1, "SAME")), 2, 2, "SAME"),
        ),
    }
    checked, unlike = 0, []
    for student, answers in made.answers.items():
        for cell, code in answers.items():
            if code.strip() == STARTERS[cell].strip():
                continue
            space = {"np": np, "tf": tf, "math": math}  # the chapter's set-up cell imports
            exec(compile(code, f"{student}:{cell}", "exec"), space)  # noqa: S102
            inputs = nhwc if cell in {"min_pool", "conv_relu_pool"} else images
            right = []
            for x in inputs:
                try:
                    got, want = expected[cell](space[cell], x)
                    right.append(
                        np.shape(got) == np.shape(want) and np.allclose(got, want, atol=1e-5)
                    )
                except Exception:  # noqa: BLE001 (a wrong answer may fail any way it likes)
                    right.append(False)
            wrong = cell in made.wrong.get(student, set())
            if all(right) == wrong:
                unlike.append((student, cell, "written wrong" if wrong else "written right"))
            checked += 1
    assert unlike == []
    assert checked > 150


def _files(course) -> dict[str, str]:
    return {
        str(p.relative_to(course)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(course.rglob("*"))
        if p.is_file()
    }
