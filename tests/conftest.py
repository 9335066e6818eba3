"""Shared test set-up: offline fast mode, the staged book, and notebook timings in the summary."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

# Tests never touch the network and always use the small settings.
os.environ["COURSE_OFFLINE"] = "1"
os.environ["COURSE_FAST"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from coursebuild.lesson_cache import longest_first  # noqa: E402
from grader import paths  # noqa: E402  (the repository's paths, defined once)
from grader.paths import CHAPTERS_DIR, REPO_ROOT, SOLUTIONS_DIR  # noqa: E402, F401

FILES = Path(__file__).parent / "files"  # small fixture notebooks (files/README.md)

BOOK_FILES = ("_config.yml", "_toc.yml", "intro.md", "setup.md", "glossary.md")
BOOK_DIRS = ("_static", "_ext")  # the book's own CSS (code and table widths), its extension
# Notebooks run two at a time: the machine has two cores, and most of a run is start-up.
WORKERS = int(os.environ.get("COURSE_TEST_WORKERS", "2"))

# A developer may test some chapters only: COURSE_TEST_ONLY=01-kernels,02-padding. CI never sets it.
ONLY = {name for name in os.environ.get("COURSE_TEST_ONLY", "").split(",") if name}

NOTEBOOK_TIMES: dict[str, float] = {}


def selected(paths: list[Path]) -> list[Path]:
    return [p for p in paths if not ONLY or p.parent.name in ONLY]


def lesson_notebooks() -> list[Path]:
    """Every lesson notebook: the book's pages, not the graded exercises."""
    return selected(paths.lesson_notebooks())


def graded_chapters() -> list[str]:
    return [name for name in paths.graded_chapters() if not ONLY or name in ONLY]


@dataclass
class Execution:
    """The outcome of running one notebook with papermill."""

    source: Path
    output: Path
    returncode: int
    log: str
    seconds: float


def execute_notebook(source: Path, output: Path, timeout: int = 600) -> Execution:
    """Run a notebook with papermill in fast mode, as `make book` would, and time it.

    Fast mode comes from COURSE_FAST=1 (set above), which each lesson's parameters cell reads,
    as in `make book`: no `-p`, so papermill injects no parameters cell into the page.
    """
    output.parent.mkdir(parents=True, exist_ok=True)
    command = [
        str(Path(sys.executable).parent / "papermill"),
        str(source),
        str(output),
        "--cwd",
        str(source.parent),
        "--execution-timeout",
        str(timeout),
        "--no-progress-bar",
    ]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    name = source.relative_to(REPO_ROOT) if source.is_relative_to(REPO_ROOT) else source.name
    NOTEBOOK_TIMES[f"{source.parent.name}/{name}" if name == source.name else str(name)] = seconds
    return Execution(source, output, result.returncode, result.stdout + result.stderr, seconds)


def execute_all(pairs: list[tuple[Path, Path]]) -> dict[Path, Execution]:
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        runs = list(pool.map(lambda pair: execute_notebook(*pair), pairs))
    return {run.source: run for run in runs}


@pytest.fixture(scope="session")
def staged_book(tmp_path_factory) -> tuple[Path, dict[Path, Execution]]:
    """A copy of the book's sources whose lessons papermill has executed in fast mode.

    The notebook tests check each execution; the book test builds this copy, so that every
    lesson runs once per test session.
    """
    stage = tmp_path_factory.mktemp("book")
    for name in BOOK_FILES:
        shutil.copy(REPO_ROOT / name, stage / name)
    for name in BOOK_DIRS:
        shutil.copytree(REPO_ROOT / name, stage / name)
    shutil.copytree(CHAPTERS_DIR, stage / "chapters")
    lessons = longest_first(lesson_notebooks())
    return stage, execute_all([(p, stage / p.relative_to(REPO_ROOT)) for p in lessons])


def toc_files() -> list[str]:
    """Every page named in _toc.yml, without its extension."""
    toc = yaml.safe_load((REPO_ROOT / "_toc.yml").read_text())
    found = [toc["root"]]

    def walk(entries):
        for entry in entries:
            if "file" in entry:
                found.append(entry["file"])
            walk(entry.get("sections", []))
            walk(entry.get("chapters", []))

    walk(toc.get("parts", []))
    walk(toc.get("chapters", []))
    return found


@pytest.fixture(scope="session")
def built_book(staged_book, tmp_path_factory) -> Path:
    """Build the staged book (lessons already executed by papermill) with -W."""
    stage, runs = staged_book
    failed = [str(run.source) for run in runs.values() if run.returncode != 0]
    assert not failed, f"lessons failed to execute, so the book cannot build: {failed}"
    config = yaml.safe_load((stage / "_config.yml").read_text())
    # The lessons in the stage already hold their outputs: show them instead of re-running.
    config["execute"]["execute_notebooks"] = "off"
    (stage / "_config.yml").write_text(yaml.safe_dump(config, allow_unicode=True))
    out = tmp_path_factory.mktemp("book-out")
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "jupyter-book"),
            "build",
            str(stage),
            "--path-output",
            str(out),
            "-W",
            "--keep-going",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"book build failed:\n{(result.stdout + result.stderr)[-5000:]}"
    return out / "_build" / "html"


@pytest.fixture(scope="session")
def sandbox_here() -> None:
    """Skip where bwrap cannot build the grading sandbox's walls, which `autograde` then refuses
    to grade in (fail with COURSE_REQUIRE_SANDBOX=1, which .ci/run sets once it installed it)."""
    from grader.grade_task import missing_walls

    reasons: dict[str, list[str]] = {}
    for wall, why in missing_walls().items():
        reasons.setdefault(why, []).append(wall)
    if reasons:
        lacks = "; ".join(f"{', '.join(walls)}: {why}" for why, walls in reasons.items())
        message = f"the grading sandbox lacks walls here ({lacks})"
        if os.environ.get("COURSE_REQUIRE_SANDBOX") == "1":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def chromium_here() -> None:
    """Without Chromium, skip (fail with COURSE_REQUIRE_BROWSER=1) before building the book."""
    import browser

    browser.chromium_or_skip()


@pytest.fixture(scope="session")
def reader(chromium_here, built_book):
    """Open the built book in headless Chromium once, and record what a reader sees
    (`book_reader.Reading`), for tests/test_browser.py and tests/test_book_results.py."""
    import browser
    from book_reader import read_the_book

    with browser.serve(built_book) as base, browser.chromium() as driver:
        return read_the_book(driver, base, toc_files())


# `make test` runs the tests in several processes (pytest-xdist). A group runs in one process,
# so a fixture computes once: the book's tests share the staged book, one chapter's grading
# tests share its graded class, and any other module's tests share its module fixtures. The
# slow groups go first (GROUP_SECONDS) so that none starts last; a quick one
# goes right behind the book, whose process holds it until the book is done.
# xdist's own `xdist_group` mark sets `item._nodeid`, which pytest 9 no longer reads; so each
# process writes the groups it collected to GROUPS_FILE and `GroupScheduling` reads them.
BOOK_FIXTURES = {"staged_book", "built_book", "reader"}
# Seconds each group held its process in a clean `make test` at 27f0379 (1,098 s of pytest on 2
# busy cores); the groups that test less since then at what they should take now.
GROUP_SECONDS = {
    "book": 560,
    "tests/test_round.py": 290,
    "tests/test_distributed.py": 220,
    "tests/test_postgres.py": 160,
    "grading-05-mnist-cnn": 90,
    "grading-07-callbacks": 85,
    "tests/test_lab_browser.py": 55,
    "tests/test_train.py": 45,
    "grading-": 35,
    "tests/test_output_walls.py": 40,
    "tests/test_judge.py": 30,
    "tests/test_regrade.py": 25,
    "tests/test_publish.py": 23,
    "tests/test_students.py": 23,
    "tests/test_precheck.py": 19,
    "tests/test_mutants.py": 10,
}
GROUPS_FILE = "COURSE_TEST_GROUPS"  # the environment variable naming the file


def group_of(item: pytest.Item) -> str:
    if BOOK_FIXTURES & set(item.fixturenames):
        return "book"
    if "graded_classes" in item.fixturenames:
        return f"grading-{item.callspec.params['chapter']}"
    return item.nodeid.split("::")[0]


def _seconds(group: str) -> int:
    return next((s for name, s in GROUP_SECONDS.items() if group.startswith(name)), 0)


def pytest_configure(config) -> None:
    if getattr(config.option, "dist", "no") == "loadgroup" and not hasattr(config, "workerinput"):
        # set before the processes start, which inherit it
        folder = Path(tempfile.mkdtemp(prefix="course-test-groups-"))
        os.environ[GROUPS_FILE] = str(folder / "groups.json")


def pytest_unconfigure(config) -> None:
    if not hasattr(config, "workerinput") and os.environ.get(GROUPS_FILE):
        shutil.rmtree(Path(os.environ.pop(GROUPS_FILE)).parent, ignore_errors=True)


def pytest_collection_modifyitems(config, items) -> None:
    groups = {item: group_of(item) for item in items}
    order = sorted(dict.fromkeys(groups.values()), key=lambda group: -_seconds(group))
    processes = getattr(config, "workerinput", {}).get("workercount", 1)
    if processes > 1 and len(order) > processes:
        order.insert(processes, order.pop())  # the book's process takes this one next
    rank = {group: index for index, group in enumerate(order)}
    items.sort(key=lambda item: rank[groups[item]])
    if hasattr(config, "workerinput") and os.environ.get(GROUPS_FILE):
        path = Path(os.environ[GROUPS_FILE])
        mine = path.with_suffix(f".{config.workerinput['workerid']}")
        mine.write_text(json.dumps({item.nodeid: group for item, group in groups.items()}))
        mine.replace(path)  # each process collects the same tests: any one file will do


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if not os.environ.get(GROUPS_FILE):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        """Each group of tests to one process, the groups in the order collected."""

        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:  # read once every process has collected
                self.groups = json.loads(Path(os.environ[GROUPS_FILE]).read_text())
            return self.groups.get(nodeid, nodeid)

    return GroupScheduling(config, log)


def pytest_sessionfinish(session) -> None:
    if hasattr(session.config, "workeroutput"):  # an xdist worker: the times go to the summary
        session.config.workeroutput["notebook_times"] = dict(NOTEBOOK_TIMES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    NOTEBOOK_TIMES.update(getattr(node, "workeroutput", {}).get("notebook_times", {}))


def pytest_terminal_summary(terminalreporter) -> None:
    if not NOTEBOOK_TIMES:
        return
    terminalreporter.section("notebook execution times (fast mode)")
    for name, seconds in sorted(NOTEBOOK_TIMES.items(), key=lambda item: -item[1]):
        terminalreporter.write_line(f"{seconds:7.1f} s  {name}")
    total = sum(NOTEBOOK_TIMES.values())
    terminalreporter.write_line(f"{total:7.1f} s  in all ({len(NOTEBOOK_TIMES)} notebooks)")
