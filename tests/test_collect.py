"""`collect` trusts no name: symlinks, special files and bad student ids are refused and reported.

Crafted LMS folders and `<student>/<chapter>/` trees are collected into real course folders,
with real `nbgrader zip_collect` and a real gradebook; good students next to the attacks are
still collected.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import nbformat
import pytest

from grader.collect import TREE_TIME, collect, copy_regular, parse_time, valid_student_id
from grader.course import bin_dir, gradebook
from grader.paths import NOTEBOOK

CHAPTER = "01-kernels"
SECRET = "root-only secret 7f3a"
BAD_IDS = ["*", "..", "=cmd|' -C calc'!A0", "bob smith", "zoë", 'say"hi', "a..b", "-x", "x=1"]
TREE_BAD_IDS = [bad for bad in BAD_IDS if bad != ".."] + [".hidden", "a\nb"]  # ".." is no folder


@pytest.fixture(autouse=True)
def _path(monkeypatch):
    """nbgrader's Gradebook runs `alembic` by name: the environment's bin/ goes on PATH."""
    monkeypatch.setenv("PATH", f"{bin_dir()}{os.pathsep}{os.environ['PATH']}")


def _notebook(path: Path, marker: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(f"answer = {marker!r}"))
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _secret(tmp_path: Path) -> Path:
    secret = tmp_path / "root-only.txt"
    secret.write_text(SECRET)
    os.chmod(secret, 0o600)
    return secret


def _everything(course: Path) -> list[Path]:
    return [p for p in course.rglob("*") if not p.name.startswith("gradebook.db")]


def _assert_private_and_clean(course: Path) -> None:
    """No symlink or special file in the course; copied files 0600; the secret nowhere."""
    for path in _everything(course):
        mode = path.lstat().st_mode
        assert stat.S_ISREG(mode) or stat.S_ISDIR(mode), path
        if stat.S_ISREG(mode):
            assert SECRET.encode() not in path.read_bytes(), path
            if "submitted" in path.parts or "downloaded" in path.parts:
                assert stat.S_IMODE(mode) == 0o600, path


def _refused(report, text: str) -> bool:
    return any(entry.startswith(text) for entry in report.refused)


@pytest.mark.parametrize("text", BAD_IDS + ["", ".", "a/b", "a\nb", "x" * 65, "ab\n"])
def test_bad_student_ids_are_invalid(text):
    assert not valid_student_id(text)


@pytest.mark.parametrize("text", ["alice", "a.b", "s_123", "A-1", "x" * 64, "0"])
def test_good_student_ids_are_valid(text):
    assert valid_student_id(text)


def test_lms_folder_refuses_symlinks_fifos_and_bad_ids(tmp_path):
    lms, course = tmp_path / "lms", tmp_path / "course"
    alice = _notebook(lms / "alice_20250301T100000Z_exercises.ipynb", "alice's work")
    _notebook(lms / "carol_exercises.ipynb", "carol's work")
    _notebook(lms / "ref_20250228T090000Z_exercises.ipynb", "old")  # a duplicate, older
    _notebook(lms / "ref_20250303T100000Z_exercises.ipynb", "late and newest")
    os.symlink(alice, lms / "mallory_20250302T100000Z_exercises.ipynb")  # a classmate's copy
    os.symlink(_secret(tmp_path), lms / "notes.txt")
    os.mkfifo(lms / "eve_exercises.ipynb")
    for bad in BAD_IDS:
        _notebook(lms / f"{bad}_exercises.ipynb", "attack")
    (lms / "stray.txt").write_text("not a submission")
    roster = ["alice", "carol", "ref", "dave", "*", "../etc"]

    report = collect(course, CHAPTER, lms, roster, due=parse_time("2025-03-02T00:00:00Z"))

    assert report.collected == ["alice", "carol", "ref"]
    assert report.missing == ["dave"]
    assert report.duplicates["ref"][-1] == "ref_20250303T100000Z_exercises.ipynb"
    assert report.late == {"ref": 34 * 3600}
    assert report.unmatched == ["stray.txt"]
    assert _refused(report, "mallory_20250302T100000Z_exercises.ipynb: a symlink")
    assert _refused(report, "notes.txt: a symlink")
    assert _refused(report, "eve_exercises.ipynb: a fifo")
    for bad in BAD_IDS:
        shown = bad if bad.isascii() else ascii(f"{bad}_exercises.ipynb")
        assert any(shown in entry and "not a valid student id" in entry for entry in report.refused)
    assert _refused(report, "roster *: not a valid student id")
    assert _refused(report, "roster ../etc: not a valid student id")
    text = report.format()
    assert "refused   mallory_20250302T100000Z_exercises.ipynb: a symlink" in text
    assert "zo\\xeb" in text  # non-ASCII names are shown escaped

    submitted = course / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == ["alice", "carol", "ref"]
    assert "late and newest" in (submitted / "ref" / CHAPTER / NOTEBOOK).read_text()
    assert sorted(p.name for p in (submitted / "alice" / CHAPTER).iterdir()) == [
        NOTEBOOK,
        "timestamp.txt",
    ]
    _assert_private_and_clean(course)
    with gradebook(course) as gb:
        assert sorted(s.id for s in gb.students) == ["alice", "carol", "dave", "ref"]


def _tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    alice = _notebook(tree / "alice" / CHAPTER / NOTEBOOK, "alice's work")
    # Alice's own timestamp.txt claims a month early; her notebook's file time is 10 h late.
    (alice.parent / "timestamp.txt").write_text("2025-02-01 10:00:00.000000 UTC")
    late = parse_time("20250301T100000Z").timestamp()
    os.utime(alice, (late, late))
    (alice.parent / "notes.txt").write_text("my notes")
    (alice.parent / "data").mkdir()
    bob = _notebook(tree / "bob" / CHAPTER / NOTEBOOK, "bob's work")
    os.symlink(_secret(tmp_path), bob.parent / "notes.txt")
    os.symlink(_secret(tmp_path), bob.parent / "timestamp.txt")
    (tree / "mallory" / CHAPTER).mkdir(parents=True)
    os.symlink(alice, tree / "mallory" / CHAPTER / NOTEBOOK)  # a classmate's notebook
    os.symlink(tree / "alice", tree / "trudy")  # a symlinked student folder
    (tree / "oscar").mkdir()
    os.symlink(alice.parent, tree / "oscar" / CHAPTER)  # a symlinked chapter folder
    (tree / "eve" / CHAPTER).mkdir(parents=True)
    os.mkfifo(tree / "eve" / CHAPTER / NOTEBOOK)
    bad_stamp = _notebook(tree / "walt" / CHAPTER / NOTEBOOK, "walt's work")
    (bad_stamp.parent / "timestamp.txt").write_text("not a time\n" * 10)
    early = parse_time("20250228T120000Z").timestamp()
    for notebook in (bad_stamp, tree / "bob" / CHAPTER / NOTEBOOK):
        os.utime(notebook, (early, early))
    for bad in TREE_BAD_IDS:
        _notebook(tree / bad / CHAPTER / NOTEBOOK, "attack")
    (tree / "README.txt").write_text("instructions")
    return tree


def test_tree_refuses_symlinks_fifos_and_bad_ids(tmp_path):
    course = tmp_path / "course"
    report = collect(
        course, CHAPTER, _tree(tmp_path), ["alice", "bob"], due=parse_time("20250301T000000Z")
    )

    assert report.collected == ["alice", "bob", "walt"]
    assert report.late == {"alice": 10 * 3600}
    assert _refused(report, "bob/01-kernels/notes.txt: a symlink")
    assert _refused(report, "bob/01-kernels/timestamp.txt: a symlink")
    assert _refused(report, "mallory/01-kernels/exercises.ipynb: a symlink")
    assert _refused(report, "mallory/01-kernels: no regular exercises.ipynb")
    assert _refused(report, "trudy: a symlink")
    assert _refused(report, "oscar/01-kernels: a symlink")
    assert _refused(report, "eve/01-kernels/exercises.ipynb: a fifo")
    for student in ("alice", "walt"):  # never read: not the time, not even refused
        assert f"{student}/01-kernels/timestamp.txt: {TREE_TIME}" in report.ignored
    for bad in TREE_BAD_IDS:
        shown = bad if bad.isascii() and bad.isprintable() else ascii(bad)
        assert _refused(report, f"{shown}: not a valid student id"), bad
    assert "alice/01-kernels/notes.txt: a file, not collected" in report.ignored
    assert "alice/01-kernels/data: a folder, not collected" in report.ignored
    assert "README.txt: not a student folder" in report.ignored
    assert "refused   trudy: a symlink" in report.format()

    submitted = course / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == ["alice", "bob", "walt"]
    for student, when in (
        ("alice", "2025-03-01 10:00:00"),
        ("bob", "2025-02-28 12:00:00"),
        ("walt", "2025-02-28 12:00:00"),
    ):
        folder = submitted / student / CHAPTER
        assert sorted(p.name for p in folder.iterdir()) == [NOTEBOOK, "timestamp.txt"]
        assert (folder / "timestamp.txt").read_text() == f"{when}.000000 UTC"
    assert "bob's work" in (submitted / "bob" / CHAPTER / NOTEBOOK).read_text()
    _assert_private_and_clean(course)
    with gradebook(course) as gb:
        assert sorted(s.id for s in gb.students) == ["alice", "bob", "walt"]


def test_recollecting_a_tree_replaces_the_old_copy(tmp_path):
    course, tree = tmp_path / "course", tmp_path / "tree"
    _notebook(tree / "alice" / CHAPTER / NOTEBOOK, "first")
    collect(course, CHAPTER, tree)
    _notebook(tree / "alice" / CHAPTER / NOTEBOOK, "second")
    report = collect(course, CHAPTER, tree)
    assert report.collected == ["alice"] and report.refused == []
    assert "second" in (course / "submitted" / "alice" / CHAPTER / NOTEBOOK).read_text()


def test_copy_never_reads_through_a_symlink_or_a_fifo(tmp_path):
    secret = _secret(tmp_path)
    os.symlink(secret, tmp_path / "link")
    os.mkfifo(tmp_path / "pipe")
    for source in (tmp_path / "link", tmp_path / "pipe"):
        with pytest.raises(OSError):
            copy_regular(source, tmp_path / "copy")  # a fifo must not block either
        assert not (tmp_path / "copy").exists()
    copy_regular(secret, tmp_path / "copy")
    assert stat.S_IMODE((tmp_path / "copy").stat().st_mode) == 0o600
