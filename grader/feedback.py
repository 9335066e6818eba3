"""`course-grade feedback`: one HTML page per student, hidden tests removed, safe to open.

nbgrader's GenerateFeedback runs the course's preprocessors (`FEEDBACK_PREPROCESSORS`): hidden
tests go, and `SanitizeFeedback` leaves nothing a student could turn into script (outputs as
plain text or checked images, the student's markdown escaped, outputs capped). Every page is
then checked (`page_problems`): a page with a hidden-test or solution marker, a script the
template does not put there, an event handler attribute or a `javascript:` URL is deleted.
Before the check, `grader.feedback_decisions.annotate` adds the late policy's outcome and the
student's regrade requests and decisions above the notebook.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import stat
from html.parser import HTMLParser
from pathlib import Path

import nbformat

from grader.course import find_secrets, make_course
from grader.course_folder import CourseFolder
from grader.paths import NOTEBOOK
from grader.pipelines import FEEDBACK_PREPROCESSORS
from grader.warm_start import nbgrader

MAX_PAGE_BYTES = 4_000_000  # SanitizeFeedback keeps 2 MB of outputs a notebook
PAGE_MODE = 0o644  # pages are for the students; the course folder around them stays 0700
FORBIDDEN_TAGS = {"iframe", "frame", "frameset", "object", "embed", "applet", "base", "form"}
IMAGE_DATA = re.compile(r"data:image/(png|jpeg);base64,[a-z0-9+/=]*")


def feedback_args(chapter: str) -> list[str]:
    """`nbgrader generate_feedback`; the course's nbgrader_config.py sets the preprocessors
    (`FEEDBACK_PREPROCESSORS`) and sanitized HTML."""
    return ["generate_feedback", chapter, "--force"]


class FeedbackPages(list):
    """The pages written (a list of paths); `removed` names what was not a page and went."""

    def __init__(self, pages=(), removed=()):
        super().__init__(pages)
        self.removed: list[str] = list(removed)


class FeedbackError(RuntimeError):
    """Pages deleted as unsafe (`problems`: page -> what was wrong), or nbgrader failed.

    `pages` holds the pages that were kept, checked and safe, with what else was `removed`.
    """

    def __init__(self, problems: dict[Path, list[str]], failure: str = "", pages=None):
        self.problems, self.failure = problems, failure
        self.pages = pages if pages is not None else FeedbackPages()
        lines = [f"{page}: {', '.join(found)}; it was deleted" for page, found in problems.items()]
        super().__init__("\n".join([*lines, failure]).strip())


def feedback(course: Path, chapter: str) -> FeedbackPages:
    """Write feedback/<student>/<chapter>/exercises.html; check every page, delete unsafe ones.

    All pages are checked even when nbgrader fails for some student or a page is unsafe; then
    one error names every deleted page (and nbgrader's failure).
    """
    from grader.feedback_decisions import annotate  # not at the top: nbgrader's config imports us

    course = make_course(course)
    failure = ""
    try:
        nbgrader(feedback_args(chapter), course)
    except RuntimeError as error:  # every page is still checked; the failure is reported
        failure = str(error)[-5000:]
    annotate(course, chapter)  # the late policy's outcome and regrade decisions; checked below
    pages, problems = check_pages(CourseFolder(course).feedback_root(), chapter)
    if problems or failure:
        raise FeedbackError(problems, failure, pages)
    return pages


def check_pages(root: Path, chapter: str) -> tuple[FeedbackPages, dict[Path, list[str]]]:
    """Keep only safe HTML pages in `root/<student>/<chapter>/`; remove anything else.

    Returns the pages kept (with what else was removed) and the deleted pages' problems.
    """
    removed, candidates = [], []
    for entry in sorted(root.iterdir()) if root.is_dir() else []:
        if entry.is_symlink() or not entry.is_dir():
            removed.append(_remove(entry, root))
            continue
        folder = entry / chapter
        if not os.path.lexists(folder):
            continue
        if folder.is_symlink() or not folder.is_dir():
            removed.append(_remove(folder, root))
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix == ".html" and stat.S_ISREG(path.lstat().st_mode):
                candidates.append(path)
            else:
                removed.append(_remove(path, root))
    allowed = template_scripts()
    pages, problems = [], {}
    for page in candidates:
        text = page.read_text(errors="replace")
        found = find_secrets(text) + page_problems(text, allowed)
        if len(text.encode(errors="replace")) > MAX_PAGE_BYTES:
            found.append(f"over {MAX_PAGE_BYTES:,} bytes")
        if found:
            page.unlink()
            problems[page] = found
        else:
            os.chmod(page, PAGE_MODE)
            pages.append(page)
    return FeedbackPages(pages, removed), problems


def _remove(path: Path, root: Path) -> str:
    mode = path.lstat().st_mode
    if stat.S_ISDIR(mode):
        shutil.rmtree(path)
        kind = "folder"
    else:
        path.unlink()
        kind = "symlink" if stat.S_ISLNK(mode) else "file" if stat.S_ISREG(mode) else "special"
    return f"{path.relative_to(root)} ({kind}, not a feedback page)"


class _Page(HTMLParser):
    """Every start tag of a page, and the scripts with their text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.scripts: list[tuple[tuple, str]] = []
        self._script: list | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))
        if tag == "script":
            self._script = [tuple(sorted((k, v or "") for k, v in attrs)), ""]

    def handle_data(self, data):
        if self._script is not None:
            self._script[1] += data

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script[0], self._script[1].strip()))
            self._script = None


def page_problems(text: str, allowed_scripts: set | frozenset = frozenset()) -> list[str]:
    """What makes a page unsafe to open: scripts not in `allowed_scripts`, handlers, bad URLs."""
    page = _Page()
    page.feed(text)
    page.close()
    found = []
    if page._script is not None:
        page.scripts.append((page._script[0], page._script[1].strip()))
    extra = [script for script in page.scripts if script not in allowed_scripts]
    if extra:
        found.append(f"{len(extra)} script(s) not from the template")
    for tag, attrs in page.tags:
        if tag in FORBIDDEN_TAGS:
            found.append(f"<{tag}> tag")
        if tag == "meta" and any(name == "http-equiv" for name, _ in attrs):
            found.append("<meta http-equiv> tag")
        for name, value in attrs:
            plain = re.sub(r"[\x00-\x20]", "", value or "").lower()
            if name.startswith("on"):
                found.append(f"{name}= attribute on <{tag}>")
            elif name == "srcdoc" or "javascript:" in plain or "vbscript:" in plain:
                found.append(f"script URL in {name}= of <{tag}>")
            elif plain.startswith("data:") and not (
                tag == "img" and name == "src" and IMAGE_DATA.fullmatch(plain)
            ):
                found.append(f"data URL in {name}= of <{tag}>")
    return sorted(set(found))


@functools.cache
def template_scripts() -> frozenset:
    """The scripts the feedback template itself puts in a page (MathJax), from a clean page."""
    page = _Page()
    page.feed(render_page(nbformat.v4.new_notebook()))
    return frozenset(page.scripts)


def render_page(
    nb: nbformat.NotebookNode, resources: dict | None = None, preprocessors: list | None = None
) -> str:
    """A feedback page as `nbgrader generate_feedback` writes it, without the gradebook.

    The exporter is configured by nbgrader's GenerateFeedback itself (template, paths, no
    default preprocessors) and runs `preprocessors` (default: `FEEDBACK_PREPROCESSORS` but
    GetGrades); `resources` may give `nbgrader` scores (what GetGrades would put there).
    """
    from nbconvert.exporters import HTMLExporter
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    config = Config()
    config.HTMLExporter.sanitize_html = True
    converter = GenerateFeedback(coursedir=CourseDirectory(), config=config)
    exporter = HTMLExporter(parent=converter, config=converter.config)
    for name in FEEDBACK_PREPROCESSORS[1:] if preprocessors is None else preprocessors:
        exporter.register_preprocessor(name)
    given = dict(resources or {})
    given["nbgrader"] = {
        "notebook": Path(NOTEBOOK).stem,
        "score": 0.0,
        "max_score": 0.0,
        "late_penalty": 0.0,
        **given.get("nbgrader", {}),
    }
    body, _ = exporter.from_notebook_node(nb, resources=given)
    return body
