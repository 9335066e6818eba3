"""The published book as a reader meets it: headless Chromium opens every page of the built book.

The slow tests share one browser visit of the whole book (the `reader` fixture in conftest.py,
made by tests/book_reader.py with Selenium and Debian's Chromium): every page of the table of
contents is loaded from a local HTTP server, with every other host unreachable, then each test
checks one thing a reader would notice: the page loads, its images and formulas (MathJax, the
book's own copy) render, it requests nothing from another site, a cell's printed output is one
box, no error, no solution. A screenshot of every whole page (book-NN-name.png, NN its place in
the table of contents; a long page goes on in book-NN-name-2.png, ...) and of the landing page
are saved under _build/artifacts/ (or $COURSE_ARTIFACTS_DIR) with a short report,
book-reader.txt. tests/test_book_results.py checks what the pages show. The quick tests check
the book's own settings (_config.yml). A second visit (tests/book_phone.py) reads every page
on a 400-pixel phone screen, taps the menu and the contents open, and toggles the sidebar at
1280 px (phone-*.png, laptop-*.png).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
import struct
from pathlib import Path

import browser
import pytest
import yaml
from book_phone import read_on_a_phone, toggle_on_a_laptop
from book_reader import (
    CSS_EXTERNAL,
    MATHJAX_EXTENSION,
    RAW_TEX,
    SEARCH_WORD,
    SECRETS,
    external_resources,
    page_shot_name,
    shown,
    without_fragment,
)
from conftest import REPO_ROOT, toc_files

# ---------------------------------------------------------------------------------------------
# Quick checks of the book's settings and pages (no build, no browser)
# ---------------------------------------------------------------------------------------------


def book_config() -> dict:
    return yaml.safe_load((REPO_ROOT / "_config.yml").read_text())


def test_config_offers_download_and_the_execution_cache():
    config = book_config()
    assert config["html"]["use_download_button"]
    assert config["only_build_toc_files"] is True
    execute = config["execute"]
    assert execute["execute_notebooks"] == "cache" and not execute["allow_errors"]
    assert execute["exclude_patterns"] == ["*exercises.ipynb"]


def test_config_has_no_button_that_leads_nowhere():
    """Repository and launch buttons only with a real repository URL, set once in _config.yml.

    Binder, Colab and JupyterHub all open the page's notebook from that repository, so without
    it they must be off too; a placeholder (example.edu, example.org) is never a URL.
    """
    config = book_config()
    url = config.get("repository", {}).get("url") or ""
    html, launch = config["html"], config["launch_buttons"]
    buttons = ("use_repository_button", "use_issues_button", "use_edit_page_button")
    launchers = {
        key: launch.get(key) or ""
        for key in ("binderhub_url", "colab_url", "jupyterhub_url", "deepnote_url")
    }
    if not url:
        assert not [name for name in buttons if html.get(name)], "buttons to no repository"
        assert not any(launchers.values()), f"launch buttons without a repository: {launchers}"
    for key, value in {"repository.url": url, **launchers}.items():
        if value:
            assert value.startswith("https://"), f"{key}: {value!r}"
            assert not re.search(r"\bexample\.(com|org|edu|net)\b", value), f"{key}: {value!r}"
    # Thebe loads its code from a CDN; analytics and comment widgets call other sites.
    assert launch.get("thebe") is False
    assert not any((html.get("analytics") or {}).values()), "analytics call another site"
    assert not any((html.get("comments") or {}).values()), "comment widgets call another site"
    for page in ("intro.md", "setup.md", "glossary.md"):
        text = (REPO_ROOT / page).read_text()
        assert url or "github.com/cnn-course" not in text, f"{page} names a repository"
        assert "hub.example" not in text, f"{page} names a placeholder hub"


def pinned(path: Path) -> dict[str, str]:
    """name -> version of every `name==version` line of a requirements file."""
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r"([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        if match:
            pins[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return pins


def test_config_ships_mathjax_with_the_book():
    """MathJax comes from the pinned sphinx-mathjax-offline into _static/, never from a CDN."""
    sphinx = book_config()["sphinx"]
    assert MATHJAX_EXTENSION in (sphinx.get("extra_extensions") or [])
    path = sphinx["config"]["mathjax_path"]
    assert "//" not in path, f"mathjax_path {path!r} is another site: use the book's own copy"
    spec = importlib.util.find_spec(MATHJAX_EXTENSION)
    assert spec and spec.origin, f"{MATHJAX_EXTENSION} is not installed: make setup"
    assert (Path(spec.origin).parent / "static" / path).is_file(), f"the package has no {path}"
    version = importlib.metadata.version(MATHJAX_EXTENSION)
    pins = pinned(REPO_ROOT / "requirements.txt")
    assert pins.get(MATHJAX_EXTENSION) == version, (
        f"requirements.txt: {MATHJAX_EXTENSION}=={version}"
    )


def test_config_has_a_favicon_and_the_books_own_extension():
    """A favicon (else every page logs a 404 for /favicon.ico), and _ext/course_book.py, which
    makes the downloads the executed notebooks and the console free of errors."""
    config = book_config()
    favicon = REPO_ROOT / config["html"]["favicon"]
    assert favicon.is_file() and favicon.parent.name == "_static", favicon
    extensions = config["sphinx"]["local_extensions"]
    assert extensions == {"course_book": "_ext"}
    assert (REPO_ROOT / "_ext" / "course_book.py").is_file()


def test_config_merges_each_cells_output_streams():
    """nb_merge_streams: one box for a cell's stdout, however many pieces the kernel sent."""
    assert book_config()["sphinx"]["config"]["nb_merge_streams"] is True


def test_landing_page_links_every_lesson_in_the_table_of_contents():
    intro = (REPO_ROOT / "intro.md").read_text()
    for name in toc_files():
        if name.startswith("chapters/") and not name.endswith("/exercises"):
            assert f"]({name}.ipynb)" in intro, (
                f"intro.md: link the chapter table's row to the lesson, as []({name}.ipynb)"
            )
    for topic in ("Who it is for", "What to install", "lesson + exercises"):
        assert topic in intro, f"intro.md lost its part on {topic!r}"


def test_setup_page_covers_install_lab_gpu_offline_and_data():
    setup = (REPO_ROOT / "setup.md").read_text()
    for needed in (
        "make book",
        "make test",
        "make lab",
        "make check NB=",
        'tf.config.list_physical_devices("GPU")',
        "COURSE_OFFLINE=1",
        "COURSE_FAST=1",
        "## Which data each chapter uses",
    ):
        assert needed in setup, f"setup.md does not mention {needed}"


def glossary_entries() -> list[list[str]]:
    """The glossary's entries, each as its list of terms (English and Korean names)."""
    text = (REPO_ROOT / "glossary.md").read_text()
    block = re.search(r"```\{glossary\}\n(.*?)\n```", text, re.S)
    assert block, "glossary.md has no {glossary} directive"
    entries, terms = [], []
    for line in block.group(1).splitlines():
        if not line.strip() or line.startswith(":"):
            continue
        if line[0].isspace():
            if terms:
                entries.append(terms)
                terms = []
        else:
            terms.append(line.strip())
    return entries


@pytest.mark.parametrize(
    ("english", "korean"),
    [
        ("convolution", "합성곱"),
        ("kernel", "커널"),
        ("filter", "필터"),
        ("padding", "패딩"),
        ("stride", "스트라이드"),
        ("pooling", "풀링"),
        ("feature map", "특성 맵"),
        ("receptive field", "수용 영역"),
        ("data augmentation", "데이터 증강"),
    ],
)
def test_glossary_gives_each_term_in_english_and_korean(english, korean):
    entries = {terms[0]: terms for terms in glossary_entries()}
    assert english in entries, f"the glossary has no entry {english!r}"
    assert korean in entries[english], f"{english!r}: the Korean term {korean!r} is missing"


def test_glossary_terms_are_unique():
    terms = [term.lower() for entry in glossary_entries() for term in entry]
    assert len(terms) > 40
    assert len(terms) == len(set(terms)), "a term is defined twice"


def test_publishing_workflow_builds_the_full_book_and_deploys_it_to_pages():
    workflow = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "book.yml").read_text())
    triggers = workflow[True]  # YAML reads the key `on` as True
    assert triggers["push"]["branches"] == ["main"]
    steps = workflow["jobs"]["build"]["steps"]
    assert any(step.get("run") == "make book FAST=0" for step in steps)
    upload = next(s for s in steps if "upload-pages-artifact" in s.get("uses", ""))
    assert upload["with"]["path"] == "_build/html"
    assert any("deploy-pages" in s.get("uses", "") for s in workflow["jobs"]["deploy"]["steps"])
    assert workflow["permissions"]["pages"] == "write"


# ---------------------------------------------------------------------------------------------
# The reader's visit (slow: needs the built book and Chromium)
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_every_page_of_the_table_of_contents_loads(reader):
    assert reader.pages, "the table of contents is empty"
    for page in reader.pages:
        assert not page.problem, f"{page.name}: the browser could not load it: {page.problem}"
        seen = page.seen
        assert seen["status"] == 200, f"{page.name}: HTTP {seen['status']}"
        assert without_fragment(seen["url"]) == page.url, f"{page.name}: ended on {seen['url']}"
        assert seen["heading"], f"{page.name}: no title heading on the page"
        assert seen["heading"] in seen["title"], f"{page.name}: <title> {seen['title']!r}"
        assert not seen["failed_resources"], f"{page.name}: did not load {seen['failed_resources']}"
    assert reader.seconds < 90, f"the visit took {reader.seconds:.0f} s"


@pytest.mark.slow
def test_every_image_has_loaded(reader):
    for page in shown(reader):
        for image in page.seen["images"]:
            assert image["width"] > 0, f"{page.name}: image did not load: {image['src']}"
            assert image["src"].startswith(reader.base), f"{page.name}: external {image['src']}"


@pytest.mark.slow
def test_every_figure_has_alt_text(reader):
    """A figure's alt text says what it shows; myst-nb's default, the file's path, says nothing.

    Set it in the figure cell's metadata: {"mystnb": {"image": {"alt": "What the figure shows"}}}.
    """
    missing = []
    for page in shown(reader):
        for image in page.seen["images"]:
            alt = (image["alt"] or "").strip()
            if not alt or "_images/" in alt or re.search(r"\.(png|jpe?g|svg|gif)$", alt):
                missing.append(f"{page.name}: {image['src'].rsplit('/', 1)[-1]}")
    assert not missing, f"{len(missing)} figures without alt text:\n" + "\n".join(missing)


@pytest.mark.slow
def test_search_finds_padding(reader):
    assert reader.search_summary, "the search page never finished searching"
    assert reader.search_results, f"searching {SEARCH_WORD!r}: {reader.search_summary}"
    found = {without_fragment(url) for url in reader.search_results}
    expected = {
        p.url for p in reader.pages if p.name in ("glossary", "chapters/02-padding/padding")
    }
    assert expected <= found, f"search {SEARCH_WORD!r} missed {sorted(expected - found)}"


@pytest.mark.slow
def test_next_and_previous_links_follow_the_table_of_contents(reader):
    pages = shown(reader)
    assert len(pages) == len(reader.pages)
    for i, page in enumerate(pages):
        expected_next = pages[i + 1].url if i + 1 < len(pages) else None
        expected_previous = pages[i - 1].url if i > 0 else None
        assert without_fragment(page.seen["next"]) == expected_next, f"{page.name}: next"
        assert without_fragment(page.seen["previous"]) == expected_previous, f"{page.name}: prev"
    assert len(reader.clicks) == 2
    for selector, expected, reached in reader.clicks:
        assert reached == expected, f"clicking {selector} led to {reached}, not {expected}"


@pytest.mark.slow
def test_no_page_shows_an_error_or_a_traceback(reader):
    for page in shown(reader):
        seen = page.seen
        assert not seen["error_outputs"], f"{page.name}: error output {seen['error_outputs']}"
        for stream in seen["stderr"]:
            assert not re.search(r"Error|Exception|Traceback", stream), f"{page.name}: {stream}"
        # Lessons may print a caught exception on purpose ("ValueError: ..."); a bare word
        # "Error", a traceback or a 404 page are what a reader must never meet.
        text = seen["text"]
        for pattern in (r"\bError\b", r"Traceback", r"\b404\b.*[Nn]ot [Ff]ound"):
            match = re.search(pattern, text)
            assert not match, (
                f"{page.name} shows {text[max(match.start() - 80, 0) : match.end() + 80]!r}"
            )


@pytest.mark.slow
def test_no_page_shows_a_path_of_the_build_machine(reader):
    """Printed paths show the home folder as ~ (config.shown_path); the repository never shows."""
    home = str(Path.home())
    machine = [str(REPO_ROOT)] + ([home + "/"] if len(home) > 1 else [])
    for page in shown(reader):
        for where in machine:
            at = page.seen["text"].find(where)
            assert at < 0, f"{page.name} shows {page.seen['text'][max(at - 60, 0) : at + 80]!r}"


@pytest.mark.slow
def test_no_internal_link_is_broken(reader):
    assert not reader.link_problems, "broken links:\n" + "\n".join(reader.link_problems[:30])


@pytest.mark.slow
def test_no_page_contains_solution_code_or_hidden_tests(reader):
    for page in shown(reader):
        for secret in SECRETS:
            assert secret not in page.seen["html"], f"{page.name} shows {secret!r}"
    assert not reader.leaks, "\n".join(reader.leaks)


@pytest.mark.slow
def test_every_formula_is_typeset_by_the_books_own_mathjax(reader):
    pages = shown(reader)
    assert any(page.seen["formulas"] for page in pages), (
        "no page has a formula, so this test checks nothing (chapter 01 had one)"
    )
    for page in pages:
        seen = page.seen
        assert seen["typeset"] == seen["formulas"], (
            f"{page.name}: MathJax typeset {seen['typeset']} of its {seen['formulas']} formulas"
        )
        assert not seen["math_errors"], f"{page.name}: TeX errors {seen['math_errors']}"
        match = RAW_TEX.search(seen["prose"])
        assert not match, (
            f"{page.name} shows raw TeX: "
            f"{seen['prose'][max(match.start() - 60, 0) : match.end() + 60]!r}"
        )


@pytest.mark.slow
def test_no_page_requests_anything_outside_the_book(reader):
    """Every request a page makes (scripts, styles, fonts, images) goes to the book's server."""
    for page in shown(reader):
        outside = [
            url
            for url in page.seen["resources"]
            if not url.startswith(reader.base) and not url.startswith(("data:", "blob:"))
        ]
        assert not outside, f"{page.name} requests other sites: {outside}"


@pytest.mark.slow
def test_no_page_of_the_built_book_refers_to_a_resource_on_another_site(built_book):
    """The HTML itself: no script, style, font, image or frame from another site, on any page.

    The browser test above sees what the toc pages request; this one reads every HTML page of
    the build (search, index, ...) and every style sheet. Plain links (<a>) may go anywhere.
    """
    found = []
    for path in sorted(built_book.rglob("*.html")):
        for kind, url in external_resources(path.read_text(errors="replace")):
            found.append(f"{path.relative_to(built_book)}: {kind}={url}")
    for path in sorted(built_book.rglob("*.css")):
        for match in CSS_EXTERNAL.finditer(path.read_text(errors="replace")):
            found.append(f"{path.relative_to(built_book)}: {match[0]}")
    assert not found, "resources from other sites:\n" + "\n".join(found[:30])
    assert (built_book / "_static" / "mathjax" / "tex-chtml.js").is_file(), "no MathJax copy"


@pytest.mark.slow
def test_each_cell_shows_its_printed_output_in_one_box(reader):
    """nb_merge_streams at work: an epoch's lines are never split over two output boxes."""
    for page in shown(reader):
        assert not page.seen["split_streams"], (
            f"{page.name}: a cell's stdout or stderr in several boxes: {page.seen['split_streams']}"
        )


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


@pytest.mark.slow
def test_a_screenshot_of_the_landing_page_and_of_every_page_is_saved(reader):
    assert set(reader.screenshots) == {"landing", *(page.name for page in reader.pages)}
    for index, page in enumerate(reader.pages):
        expected = page_shot_name(index, page.name)
        shots = reader.screenshots[page.name]
        assert shots and shots[0].name == expected, f"{page.name}: not {expected}"
    for shots in reader.screenshots.values():
        for part, path in enumerate(shots):
            assert path.is_file(), f"{path} was not saved"
            width, height = png_size(path)
            assert width >= 800, f"{path.name}: {width}x{height}"
            if part == 0:  # a later part may be the last few pixels of the page
                assert height >= 600, f"{path.name}: {width}x{height}"
                assert path.stat().st_size > 20_000, f"{path.name} looks blank"


@pytest.mark.slow
def test_no_page_logs_an_error_in_the_browsers_console(reader):
    """No uncaught exception (sphinx-thebe's THEBE_JS_URL declared twice, the theme's empty
    colour mode) and no failed request (a missing favicon) on any page."""
    errors = [
        f"{page.name}: {message}" for page in shown(reader) for message in page.seen["console"]
    ]
    assert not errors, "console errors:\n" + "\n".join(errors[:20])


@pytest.mark.slow
def test_every_page_has_the_books_favicon(reader):
    for page in shown(reader):
        icon = page.seen["favicon"] or ""
        assert icon.startswith(reader.base) and icon.endswith("favicon.svg"), (page.name, icon)


@pytest.mark.slow
def test_a_notebook_pages_download_is_the_executed_notebook_with_a_line_on_running_it(
    reader, built_book
):
    """The page's .ipynb is the notebook as the build ran it, outputs and all; the page and the
    notebook's first cell say what it is and how to run it; "print" says what it does."""
    lessons = [page for page in shown(reader) if page.name.startswith("chapters/")]
    assert lessons
    for page in lessons:
        downloads = {item["text"]: item for item in page.seen["downloads"]}
        assert ".pdf" not in downloads and "print" in downloads, downloads
        assert downloads["print"]["script"] == "window.print()"
        notebook = downloads[".ipynb"]["href"]
        assert notebook.startswith(reader.base) and notebook.endswith(f"{page.name}.ipynb")
        served = built_book / notebook.removeprefix(reader.base)  # the visit's server is gone
        assert served.is_file(), (page.name, notebook)
        cells = json.loads(served.read_text())["cells"]
        note = page.seen["run_note"]
        assert note.startswith("The download button (.ipynb) gives"), (page.name, note)
        assert "course's environment" in note and "Set up the course" in note, note
        assert cells[0]["cell_type"] == "markdown" and note[:60] in "".join(cells[0]["source"])
        code = [cell for cell in cells if cell["cell_type"] == "code"]
        with_outputs = [cell for cell in code if cell.get("outputs")]
        if page.name.endswith("/exercises"):
            assert "blank exercises" in note and not with_outputs, page.name
            continue
        assert len(with_outputs) >= len(code) // 2, f"{page.name}: {len(with_outputs)}/{len(code)}"
        images = [o for c in with_outputs for o in c["outputs"] if "image/png" in o.get("data", {})]
        assert images, f"{page.name}: the downloaded notebook has no figure"


# ---------------------------------------------------------------------------------------------
# The book on a phone (400 px) and the sidebar's toggle on a laptop (1280 px)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def phone(chromium_here, built_book):
    """Every page at 400 px, the menu and contents tapped open; the toggle at 1280 px."""
    with browser.serve(built_book) as base, browser.chromium() as driver:
        visit = read_on_a_phone(driver, base, toc_files())
        lesson = next(name for name in toc_files() if name.startswith("chapters/"))
        return visit, toggle_on_a_laptop(driver, base, lesson)


@pytest.mark.slow
def test_on_a_phone_the_menu_and_the_contents_open(phone):
    visit, _ = phone
    before, menu, contents = visit.taps["before"], visit.taps["menu"], visit.taps["contents"]
    assert not before["menu"] and not before["contents"], f"open before a tap: {before}"
    assert menu["tapped"] and menu["menu"] and menu["menu_links"] >= 5, menu
    assert contents["tapped"] and contents["contents"] and contents["contents_links"] >= 3, contents
    for shot in visit.shots:
        assert shot.is_file() and png_size(shot)[0] == 400, shot


@pytest.mark.slow
def test_on_a_laptop_the_sidebar_toggle_hides_and_shows_the_menu(phone):
    _, (loaded, first, second, console) = phone
    assert loaded["menu"], "the chapters' menu is not shown at 1280 px"
    assert first["tapped"] and not first["menu"], f"one click did not hide it: {first}"
    assert second["tapped"] and second["menu"], f"a second click did not bring it back: {second}"
    assert not console["console"], console


@pytest.mark.slow
def test_on_a_phone_nothing_scrolls_sideways_but_lines_too_long_for_it(phone):
    """The page is as wide as the screen; a code block or output may scroll in its own box
    where a line is longer than the box holds, a table where even its narrowest layout (each
    cell wrapped at every word) is wider, and a displayed formula."""
    visit, _ = phone
    problems = []
    for name, seen in visit.pages.items():
        if seen["page_width"] > seen["screen"] + 1:
            problems.append(f"{name}: the page is {seen['page_width']} px wide on a 400 px screen")
        problems += [f"{name}: {what} sticks out of the screen" for what in seen["cut"]]
        for box in seen["scrollers"]:
            if box["formula"] or box["table_must"]:
                continue
            if box["tag"] == "pre" and box["longest"] > box["fits"]:
                continue
            problems.append(f"{name}: a {box['tag']}.{box['cls']} scrolls: {box['text']!r}")
    assert not problems, "\n".join(problems[:30])
    errors = [f"{name}: {m}" for name, messages in visit.console.items() for m in messages]
    assert not errors, "console errors on the phone:\n" + "\n".join(errors[:20])
