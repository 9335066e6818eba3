"""A reader's visit of the built book in headless Chromium, for the browser tests.

`read_the_book` loads every page of the table of contents from a local HTTP server (every
other host unreachable), collects in one pass what the tests check (PAGE_SCRIPT: images and
their sizes, formulas, requests, outputs and their cells' tags, errors, the download menu; and
the console's errors), takes a screenshot of every page under _build/artifacts/, searches,
clicks next and previous, and follows every internal link. The tests that read the result are
tests/test_browser.py (the pages work) and tests/test_book_results.py (what they show is real
and readable); the `reader` fixture in conftest.py makes one visit for both.

Over 300 lines because PAGE_SCRIPT, the JavaScript that measures a page, is kept beside the
Python that reads its answer: one place to change when a test needs one more measurement.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import browser
from browser import ARTIFACTS
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

LANDING_SHOT = "book-landing.png"
REPORT = "book-reader.txt"
SEARCH_WORD = "padding"
# Words a reader must never see: a solution or a hidden test leaking into the book.
SECRETS = ("CANARY", "BEGIN SOLUTION", "BEGIN HIDDEN TESTS")
# The extension that copies MathJax into the book (PyPI's sphinx-mathjax-offline).
MATHJAX_EXTENSION = "sphinx-mathjax-offline"
# TeX a reader should never see as text: MathJax did not typeset it.
RAW_TEX = re.compile(r"\\[()\[\]]|\$\$|\\(?:begin|frac|cdot|sum)\b")
# A style sheet that pulls something from another site (a web font, an @import).
CSS_EXTERNAL = re.compile(r"(?:url\(\s*['\"]?|@import\s+['\"])(?:https?:)?//[^'\")\s]+")
# Attributes a browser loads by itself (an <a href> loads nothing until clicked).
LOADED = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "track": ("src",),
    "image": ("href",),
}
# <link rel=...> kinds that name a page and load nothing.
LINK_RELS_NOT_LOADED = {
    "canonical",
    "alternate",
    "author",
    "help",
    "license",
    "next",
    "prev",
    "search",
    "index",
    "top",
    "up",
    "first",
    "last",
}
# Internal files whose text is checked for secrets (images and fonts are skipped).
TEXT_SUFFIXES = (".html", ".ipynb", ".md", ".txt", ".js", ".json", "")

# Collects, in one pass, what the tests need to know about the page the browser shows.
PAGE_SCRIPT = """
const done = arguments[arguments.length - 1];
const images = Array.from(document.images);
images.forEach(img => { img.loading = "eager"; });
const loaded = images.map(img => img.complete ? Promise.resolve() : new Promise(resolve => {
  img.addEventListener("load", resolve, {once: true});
  img.addEventListener("error", resolve, {once: true});
}));
// MathJax (the book's own copy) typesets once it has started; a page without it goes on.
const mathjax = window.MathJax && window.MathJax.startup && window.MathJax.startup.promise;
const typeset = mathjax ? mathjax.catch(() => null) : Promise.resolve();
const patience = new Promise(resolve => setTimeout(resolve, 10000));
Promise.race([Promise.all([...loaded, typeset]), patience]).then(() => {
 try {
  const all = selector => Array.from(document.querySelectorAll(selector));
  // The words a reader reads: the page without its code, scripts and typeset formulas.
  const prose = document.body ? document.body.cloneNode(true) : null;
  if (prose) {
    prose.querySelectorAll("pre, code, script, style, mjx-container")
      .forEach(node => node.remove());
  }
  const link = selector => {
    const a = document.querySelector(selector);
    return a ? a.href : null;
  };
  const navigation = performance.getEntriesByType("navigation")[0];
  done({
    url: location.href,
    status: navigation ? navigation.responseStatus : null,
    title: document.title,
    heading: (document.querySelector("main h1, article h1, h1") || {textContent: ""})
      .textContent.replace(/[#¶]/g, "").trim(),
    text: document.body ? document.body.innerText : "",
    html: document.documentElement.outerHTML,
    images: images.map(img => ({src: img.currentSrc || img.src, width: img.naturalWidth,
                                alt: img.getAttribute("alt"),
                                // the width the page asks for (a 2x PNG: half its pixels),
                                // the width it is shown at, and its column's
                                width_attribute: img.getAttribute("width") || img.style.width,
                                shown_width: img.getBoundingClientRect().width,
                                column_width: (img.closest("article") || document.body)
                                  .getBoundingClientRect().width,
                                output: !!img.closest(".cell_output")})),
    // Code blocks wider than their box: the reader must scroll sideways to see the end.
    overflowing_code: all("div.highlight pre")
      .filter(pre => pre.scrollWidth > pre.clientWidth + 1)
      .map(pre => pre.innerText.split("\\n").reduce((a, b) => b.length > a.length ? b : a, "")),
    // Tables wider than their scrollable box: the reader misses the right-hand columns.
    overflowing_tables: all("article table")
      .filter(table => table.scrollWidth > table.parentElement.clientWidth + 1)
      .map(table => (table.querySelector("th, td") || table).innerText.slice(0, 60)),
    body_font_px: parseFloat(getComputedStyle(
      document.querySelector("article p") || document.body).fontSize),
    // Each code cell's printed output, with the cell's tags (myst-nb: class tag_NAME).
    outputs: all(".cell_output").map(out => {
      const cell = out.closest(".cell");
      const tags = cell ? Array.from(cell.classList).filter(c => c.startsWith("tag_"))
        .map(c => c.slice(4)) : [];
      return {text: out.innerText, tags: tags};
    }),
    // The download menu's entries (text, link or script) and the line that says how to run
    // a notebook page (_ext/course_book.py); the page's icon.
    downloads: all(".dropdown-download-buttons .dropdown-item").map(item => ({
      text: item.innerText.trim(), href: item.href || null,
      script: item.getAttribute("onclick")})),
    run_note: (document.querySelector(".course-download-note") || {innerText: ""}).innerText,
    favicon: (document.querySelector("link[rel~='icon']") || {}).href || null,
    previous: link(".prev-next-area a.left-prev"),
    next: link(".prev-next-area a.right-next"),
    error_outputs: all(".output.traceback, .output.error, .system-message, .problematic")
      .map(node => node.innerText.slice(0, 300)),
    stderr: all(".output.stderr").map(node => node.innerText.slice(0, 300)),
    failed_resources: performance.getEntriesByType("resource")
      .filter(entry => entry.responseStatus >= 400).map(entry => entry.name),
    resources: performance.getEntriesByType("resource").map(entry => entry.name),
    prose: prose ? prose.textContent : "",
    // Sphinx marks each formula .math; MathJax puts its output, mjx-container, inside.
    formulas: all(".math").length,
    typeset: all(".math").filter(node => node.querySelector("mjx-container")).length,
    math_errors: all("mjx-merror").map(node => node.textContent.slice(0, 200)),
    // A cell's outputs: more than one box of the same stream means a log split in pieces.
    split_streams: all(".cell_output").filter(cell => {
      const boxes = Array.from(cell.querySelectorAll(":scope > .output"));
      const stdout = boxes.filter(box => box.matches(".stream")).length;
      const stderr = boxes.filter(box => box.matches(".stderr")).length;
      return stdout > 1 || stderr > 1;
    }).map(cell => cell.innerText.slice(0, 200)),
  });
 } catch (error) {  // a failure of this script, reported instead of a timeout
  done({script_error: String(error) + " " + error.stack});
 }
});
"""

SEARCH_SUMMARY = """
const summary = document.querySelector("#search-results .search-summary");
const text = summary ? summary.textContent : "";
return /found|did not match/i.test(text) ? text : null;
"""


@dataclass
class Page:
    """What the browser saw on one page of the table of contents."""

    name: str  # the toc entry, e.g. chapters/01-kernels/kernels
    url: str
    seen: dict = field(default_factory=dict)
    problem: str = ""  # set when the browser could not load the page at all


@dataclass
class Reading:
    """One reader's visit of the whole book."""

    base: str
    pages: list[Page]
    search_summary: str | None
    search_results: list[str]
    clicks: list[tuple[str, str, str]]  # (link clicked, expected URL, URL reached)
    screenshots: dict[str, list[Path]]  # "landing", and each toc page by name: its parts
    link_problems: list[str]
    leaks: list[str]
    seconds: float  # the visit, without the screenshots
    shot_seconds: float = 0.0


class LinkParser(HTMLParser):
    """Collect the ids of a page and the URLs it refers to (links, images, scripts, styles)."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.refs: list[tuple[str, str]] = []  # (tag.attribute, url)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value for name, value in attrs if value is not None}
        for name in ("id", "name") if tag == "a" else ("id",):
            if name in values:
                self.ids.add(values[name])
        for attribute in ("href", "src"):
            if attribute in values and not (tag == "link" and values.get("rel") == "canonical"):
                self.refs.append((f"{tag}.{attribute}", values[attribute]))


class ResourceParser(HTMLParser):
    """Collect what a page makes the browser fetch from another site: (tag.attribute, url)."""

    def __init__(self) -> None:
        super().__init__()
        self.external: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "link" and set(values.get("rel", "").lower().split()) & LINK_RELS_NOT_LOADED:
            return
        for attribute in LOADED.get(tag, ()):
            for url in re.split(r",\s*", values.get(attribute, "")):
                url = url.strip().split(" ")[0]
                if re.match(r"(?:[a-z][a-z0-9+.-]*:)?//", url, re.I):
                    self.external.append((f"{tag}.{attribute}", url))


def external_resources(html: str) -> list[tuple[str, str]]:
    parser = ResourceParser()
    parser.feed(html)
    return parser.external


def parse_links(html: str) -> LinkParser:
    parser = LinkParser()
    parser.feed(html)
    return parser


def fetch(url: str, timeout: float = 10) -> tuple[int, bytes]:
    """GET a URL; return the HTTP status and body (the status of an error, never an exception)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


def page_url(base: str, name: str) -> str:
    return urllib.parse.urljoin(base, f"{name}.html")


def without_fragment(url: str | None) -> str | None:
    return None if url is None else urllib.parse.urldefrag(url).url


def check_links(base: str, page_urls: list[str]) -> tuple[list[str], list[str]]:
    """Follow every internal link, image, script and style of the pages over HTTP.

    Returns (broken links, leaked secrets): a target that does not answer 200, a #fragment
    that names no id in its page, and any internal text file that shows a solution.
    """
    host = urllib.parse.urlsplit(base).netloc
    bodies: dict[str, tuple[int, bytes]] = {}
    ids: dict[str, set[str]] = {}
    problems: list[str] = []

    def get(url: str) -> tuple[int, bytes]:
        if url not in bodies:
            bodies[url] = fetch(url)
        return bodies[url]

    for source in page_urls:
        status, body = get(source)
        if status != 200:
            problems.append(f"{source}: HTTP {status}")
            continue
        parsed = parse_links(body.decode("utf-8", "replace"))
        ids[source] = parsed.ids
        for kind, ref in parsed.refs:
            target = urllib.parse.urljoin(source, ref)
            parts = urllib.parse.urlsplit(target)
            if parts.scheme not in ("http", "https") or parts.netloc != host:
                continue  # an external link, mailto: or javascript:, not the book's own
            address = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
            status, body = get(address)
            if status != 200:
                problems.append(f"{source}: {kind}={ref!r} answers HTTP {status}")
                continue
            fragment = urllib.parse.unquote(parts.fragment)
            if fragment and address.endswith(".html"):
                if address not in ids:
                    ids[address] = parse_links(body.decode("utf-8", "replace")).ids
                if fragment not in ids[address]:
                    problems.append(f"{source}: {kind}={ref!r} names no id #{fragment}")
    leaks = [
        f"{url} contains {secret!r}"
        for url, (status, body) in sorted(bodies.items())
        if status == 200 and Path(urllib.parse.urlsplit(url).path).suffix in TEXT_SUFFIXES
        for secret in SECRETS
        if secret.encode() in body
    ]
    return sorted(set(problems)), leaks


def page_shot_name(index: int, name: str) -> str:
    """book-03-01-kernels-kernels.png: the page's place in the table of contents and its name."""
    slug = name.removeprefix("chapters/").replace("/", "-")
    return f"book-{index:02d}-{slug}.png"


def read_page(driver: WebDriver, tries: int = 3) -> dict:
    """PAGE_SCRIPT's findings on the page the browser shows.

    Now and then, right after loading, Chromium runs the script on a document that has no
    body yet (its DOM is still being swapped in); the script then reports `script_error`, and
    it is run again a moment later, up to `tries` times.
    """
    for attempt in range(tries):
        seen = driver.execute_async_script(PAGE_SCRIPT)
        if "script_error" not in seen:
            return seen
        time.sleep(1 + attempt)
    raise WebDriverException(f"the page script failed {tries} times: {seen['script_error']}")


def console_errors(driver: WebDriver) -> list[str]:
    """The console's errors since the last call: uncaught exceptions, resources that failed."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def read_the_book(driver: WebDriver, base: str, names: list[str]) -> Reading:
    """Visit every toc page, search, click next and previous, take the screenshots."""
    start = time.perf_counter()
    pages = [Page(name, page_url(base, name)) for name in names]
    screenshots: dict[str, list[Path]] = {}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("book-*.png"):
        old.unlink()  # a page that left the book leaves no stale picture behind
    shooting = 0.0  # seconds spent on screenshots, not on what a reader waits for
    for index, page in enumerate(pages):
        step = "load"
        try:
            driver.get(page.url)
            step = "read"
            page.seen = read_page(driver)
            page.seen["console"] = console_errors(driver)
            step, shot = "screenshot", time.perf_counter()
            screenshots[page.name] = browser.screenshot_parts(
                driver, page_shot_name(index, page.name)
            )
            shooting += time.perf_counter() - shot
        except WebDriverException as error:
            page.problem = f"{step}: {error.msg or type(error).__name__}"
    # The landing page as a reader arrives: the site's root, which forwards to the first page.
    driver.get(base)
    browser.wait_for(
        driver, "return document.readyState === 'complete' && !!document.querySelector('h1')"
    )
    screenshots["landing"] = [browser.screenshot(driver, LANDING_SHOT, full_page=True)]
    # Walk forward and back with the links at the bottom of the page.
    clicks = []
    if len(pages) > 1:
        driver.get(pages[0].url)
        for selector, target in (("a.right-next", pages[1]), ("a.left-prev", pages[0])):
            driver.find_element(By.CSS_SELECTOR, f".prev-next-area {selector}").click()
            script = f"return location.href.startsWith({target.url!r})"
            browser.wait_for(driver, script, timeout=10)
            clicks.append((selector, target.url, without_fragment(driver.current_url)))
    driver.get(urllib.parse.urljoin(base, f"search.html?q={SEARCH_WORD}"))
    summary = browser.wait_for(driver, SEARCH_SUMMARY, timeout=20)
    results = driver.execute_script(
        "return Array.from(document.querySelectorAll('#search-results ul.search li a'))"
        ".map(a => a.href)"
    )
    extra = [urllib.parse.urljoin(base, name) for name in ("search.html", "genindex.html")]
    link_problems, leaks = check_links(base, [page.url for page in pages] + extra)
    reading = Reading(
        base,
        pages,
        summary,
        results,
        clicks,
        screenshots,
        link_problems,
        leaks,
        time.perf_counter() - start - shooting,
        shooting,
    )
    write_report(reading, ARTIFACTS / REPORT)
    return reading


def write_report(reading: Reading, path: Path) -> None:
    """A short account of the visit, kept next to the screenshots."""
    lines = [
        f"Visited {len(reading.pages)} pages in {reading.seconds:.1f} s ({reading.base}), "
        f"screenshots {reading.shot_seconds:.1f} s"
    ]
    for page in reading.pages:
        images = page.seen.get("images", [])
        loaded = sum(image["width"] > 0 for image in images)
        state = page.problem or (
            f"HTTP {page.seen.get('status')}, {loaded}/{len(images)} images, "
            f"{page.seen.get('typeset')}/{page.seen.get('formulas')} formulas typeset, "
            f"{len(page.seen.get('resources', []))} requests"
        )
        lines.append(f"  {page.name}: {state}")
    lines.append(f"Search {SEARCH_WORD!r}: {reading.search_summary}")
    lines += [f"  {url}" for url in reading.search_results]
    lines.append(
        f"Broken links: {len(reading.link_problems)}; leaked secrets: {len(reading.leaks)}"
    )
    lines += [
        f"Screenshot: {', '.join(shot.name for shot in shots)}"
        for shots in reading.screenshots.values()
    ]
    path.write_text("\n".join(lines) + "\n")


def shown(reading: Reading) -> list[Page]:
    return [page for page in reading.pages if not page.problem]
