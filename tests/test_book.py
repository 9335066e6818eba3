"""The real Jupyter Book builds with warnings as errors, shows its figures, and hides solutions."""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import REPO_ROOT, lesson_notebooks, selected, toc_files


def test_every_lesson_and_exercise_is_in_the_table_of_contents():
    pages = set(toc_files())
    for notebook in selected(sorted(REPO_ROOT.glob("chapters/*/*.ipynb"))):
        page = str(notebook.relative_to(REPO_ROOT).with_suffix(""))
        assert page in pages, f"{page} is missing from _toc.yml"


def test_config_keeps_graded_notebooks_unexecuted():
    config = yaml.safe_load((REPO_ROOT / "_config.yml").read_text())
    assert "*exercises.ipynb" in config["execute"]["exclude_patterns"]
    assert config["execute"]["execute_notebooks"] == "cache"


@pytest.mark.slow
def test_book_has_a_page_for_every_toc_entry(built_book):
    for page in toc_files():
        assert (built_book / f"{page}.html").exists(), f"no HTML page for {page}"


@pytest.mark.slow
@pytest.mark.parametrize("lesson", lesson_notebooks(), ids=lambda p: p.parent.name)
def test_lesson_pages_show_their_figures(built_book, lesson):
    html = (built_book / lesson.relative_to(REPO_ROOT).with_suffix(".html")).read_text()
    images = re.findall(r'<img[^>]+src="([^"]*_images/[^"]+\.png)"', html)  # cell outputs
    assert len(images) >= 2, f"{lesson.name}: only {len(images)} figures on the page"
    for src in images:
        assert (built_book / lesson.parent.relative_to(REPO_ROOT) / src).resolve().exists(), src
    assert "Traceback" not in html and "NotImplementedError" not in html


@pytest.mark.slow
def test_book_contains_no_solution_and_no_hidden_test(built_book):
    pages = list(built_book.rglob("*.html")) + list(built_book.rglob("*.ipynb"))
    assert pages
    for page in pages:
        text = page.read_text(errors="replace")
        assert "CANARY" not in text, f"{page.name} shows a solution or a hidden test"
        assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text, page.name


@pytest.mark.slow
def test_exercise_pages_show_the_student_version(built_book):
    pages = sorted(built_book.glob("chapters/*/exercises.html"))
    assert pages, "no exercise pages in the book"
    for page in pages:
        assert "YOUR CODE HERE" in page.read_text(), page
