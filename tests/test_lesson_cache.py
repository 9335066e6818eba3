"""`make book` runs the lessons a few at a time into Jupyter Book's cache
(coursebuild/lesson_cache.py): what it caches is what myst-nb finds, a failed lesson is left
for the build to show, and an unchanged lesson is not run twice. Real kernels, tiny notebooks;
tests/test_book.py builds the real book."""

from __future__ import annotations

import nbformat
from jupyter_cache import get_cache

from coursebuild import lesson_cache
from grader.paths import lesson_notebooks

KERNEL = {"display_name": "CNN course", "language": "python", "name": "cnn-course"}


def notebook(path, *sources):
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": KERNEL})
    nb.cells = [nbformat.v4.new_markdown_cell("# A page")]
    nb.cells += [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(nb, path)
    return path


def test_two_at_a_time_into_the_cache_myst_nb_reads(tmp_path, capsys):
    good = notebook(tmp_path / "good.ipynb", "import os\nprint(6 * 7, os.getcwd())")
    bad = notebook(tmp_path / "bad.ipynb", "print('before')", "1 / 0")
    cache_path = tmp_path / "_build" / ".jupyter_cache"

    assert lesson_cache.fill(2, [good, bad], cache_path) == 1
    said = capsys.readouterr().out
    assert "Running 2 lessons, 2 at a time" in said
    assert "good.ipynb: ran in" in said and "bad.ipynb: failed, " in said
    assert "ZeroDivisionError" in said

    # myst-nb's own lookup (myst_nb/core/execute/cache.py): match, then merge the outputs in.
    cache = get_cache(str(cache_path))
    _, merged = cache.merge_match_into_notebook(nbformat.read(good, nbformat.NO_CONVERT))
    text = merged.cells[1].outputs[0]["text"]
    assert text.startswith("42 ") and text.strip().endswith(str(tmp_path))  # its own folder
    assert lesson_cache.stale(cache, [good, bad]) == [bad]  # the build runs it and shows why

    assert lesson_cache.fill(2, [good], cache_path) == 0
    assert "nothing to run" in capsys.readouterr().out

    notebook(good, "print(6 * 7)")  # changed code: run again
    assert lesson_cache.stale(cache, [good]) == [good]


def test_the_book_settings_and_lessons():
    assert lesson_cache.settings() == {"timeout": 3600, "allow_errors": False}
    names = [p.parent.name for p in lesson_notebooks()]
    assert len(names) == 9 and len(set(names)) == 9 and "exercises.ipynb" not in names
    assert set(lesson_cache.SECONDS) <= set(names), "a renamed lesson lost its place in line"
