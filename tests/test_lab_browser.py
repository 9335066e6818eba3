"""The student's JupyterLab as a student meets it: `make lab`'s settings, in headless Chromium.

JupyterLab starts as `make lab` starts it (JUPYTER_CONFIG_PATH=lab/student), on 127.0.0.1 with a
token, in a temporary copy of chapters/ (the repository's notebooks are never touched), with
`helpers` importable through PYTHONPATH. Selenium (tests/browser.py) then does what a student
does: opens a lesson, opens chapter 01's exercises, runs all cells from the Run menu, types a
wrong answer for one part and a right one for another into the editor and runs them. Each of
the two visits happens once (the `lesson` and `exercises` fixtures) and records what the page
shows; each test checks one thing. Screenshots go to _build/artifacts/ (or
$COURSE_ARTIFACTS_DIR): lab-lesson-terms.png and lab-lesson.png (the first cell's glossary terms,
the first admonition), lab-menus.png, lab-exercise-run-all.png, lab-exercise-wrong.png and
lab-exercise-right.png.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import browser
import numpy as np
import pytest
from conftest import CHAPTERS_DIR, REPO_ROOT
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from helpers import checks

pytestmark = pytest.mark.slow

LESSON = "chapters/01-kernels/kernels.ipynb"
EXERCISES = "chapters/01-kernels/exercises.ipynb"
STUB_MESSAGE = "Write your answer here, then run the test cell below"
# (answer cell's grade_id, what the student types). The editor indents after the `def` line.
WRONG = ("hand_output", "hand_output = np.array([[1, 2], [6, 1]])")  # the top-left is -1
RIGHT = (
    "kernel_bank",
    "def kernel_bank(kernels):\n"
    "return np.stack(kernels, axis=-1)[:, :, np.newaxis, :].astype(np.float32)",
)
# What a traceback leaves in an output: its header, its frames and the checks' own file.
FRAMES = ("Traceback", "File ", "helpers/checks.py", "Cell In[", "---->")
INSTRUCTOR_WORDS = ("Nbgrader", "Formgrader", "Create Assignment", "Course List", "Courses")
ADMONITIONS = "note|warning|tip|hint|important|caution|attention|danger|error|seealso|admonition"
STUDENT_CONFIG = REPO_ROOT / "lab" / "student"
TOKEN = "course-lab-browser-test"
# The notebook panel on show (a hidden one stays in the page when another tab is active).
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"

CELLS_SCRIPT = f"""
const panel = document.querySelector('{PANEL}');
if (!panel) return null;
return Array.from(panel.querySelectorAll('.jp-Notebook .jp-Cell')).map(cell => ({{
  prompt: (cell.querySelector('.jp-InputPrompt') || {{textContent: ''}}).textContent.trim(),
  editor: Array.from(cell.querySelectorAll('.cm-line')).map(line => line.textContent).join('\\n'),
  outputs: Array.from(cell.querySelectorAll('.jp-OutputArea-output')).map(output => ({{
    mime: output.getAttribute('data-mime-type') || '', text: output.textContent}})),
}}));
"""
LESSON_SCRIPT = f"""
const panel = document.querySelector('{PANEL}');
const myst = panel.querySelectorAll('.jp-MarkdownCell .myst');
const rendered = Array.from(
  panel.querySelectorAll('.jp-MarkdownCell .myst, .jp-MarkdownCell .jp-RenderedMarkdown'));
return {{
  myst: myst.length,
  admonitions: Array.from(panel.querySelectorAll('.jp-MarkdownCell aside.myst-admonition'))
    .map(aside => ({{
      title: (aside.querySelector('.myst-admonition-header') || {{textContent: ''}})
        .textContent.trim(),
      body: (aside.querySelector('.myst-admonition-body') || {{textContent: ''}})
        .textContent.trim().slice(0, 300)}})),
  terms: Array.from(panel.querySelectorAll('.jp-MarkdownCell .myst a.hover-link'))
    .map(link => link.textContent.trim()),
  raw: rendered.map(node => node.textContent)
    .map(text => [text, text.search(/\\{{term\\}}|```\\{{|:::\\{{/)]).filter(([, at]) => at >= 0)
    .map(([text, at]) => text.slice(Math.max(at - 40, 0), at + 80)),
}};
"""
KERNEL_READY = f"""
const panel = document.querySelector('{PANEL}');
if (!panel) return null;
const name = panel.querySelector('.jp-Toolbar-kernelName');
const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator');
const status = indicator ? indicator.getAttribute('data-status') : null;
return name && !/No Kernel/.test(name.textContent) && status === 'idle' ? name.textContent : null;
"""
CHROME_SCRIPT = """
const config = JSON.parse(document.getElementById('jupyter-config-data').textContent);
return {
  menus: Array.from(document.querySelectorAll('.lm-MenuBar-item')).map(item => item.textContent),
  sidebar: Array.from(document.querySelectorAll('.jp-SideBar .lm-TabBar-tab'))
    .map(tab => [tab.title, tab.textContent, tab.getAttribute('data-id') || ''].join(' | ')),
  toolbar: Array.from(document.querySelectorAll('.jp-NotebookPanel-toolbar .jp-Toolbar-item'))
    .map(item => item.textContent.trim()).filter(text => text),
  disabled: config.disabledExtensions || [],
};
"""


# ---------------------------------------------------------------------------------------------
# The notebooks' own text: what the browser should show
# ---------------------------------------------------------------------------------------------


def notebook_cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def cell_index(cells: list[dict], grade_id: str) -> int:
    for i, cell in enumerate(cells):
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id:
            return i
    raise AssertionError(f"{EXERCISES} has no cell with grade_id {grade_id!r}")


def source(cell: dict) -> str:
    return "".join(cell["source"])


def pass_message(test_source: str) -> str:
    """The string a test cell prints when its visible checks pass."""
    for node in ast.walk(ast.parse(test_source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
            if node.args and isinstance(node.args[0], ast.Constant):
                return node.args[0].value
    raise AssertionError(f"the test cell prints no message:\n{test_source}")


def failure_message(test_source: str, answer: str) -> str:
    """What the kernel shows for `answer` under this test cell: the check's message and hint."""
    namespace = {"np": np, "checks": checks}
    exec(answer, namespace)
    try:
        exec(test_source, namespace)
    except checks.CheckFailed as error:
        return f"{type(error).__name__}: {error}"
    raise AssertionError(f"{answer!r} passes the visible test: choose a wrong answer it catches")


def lesson_markup(cells: list[dict]) -> tuple[set[str], list[str]]:
    """A lesson's glossary terms ({term} roles) and its admonitions' titles ({note}: "note")."""
    text = "\n".join(source(c) for c in cells if c["cell_type"] == "markdown")
    terms = {
        re.sub(r"\s*<.*>$", "", term).strip() for term in re.findall(r"\{term\}`([^`]+)`", text)
    }
    directives = re.findall(rf"^(?:```+|:::+)\{{({ADMONITIONS})\}}[ \t]*(.*)$", text, re.M)
    return terms, [(title.strip() or kind).lower() for kind, title in directives]


# ---------------------------------------------------------------------------------------------
# JupyterLab started as `make lab` starts it, and the browser
# ---------------------------------------------------------------------------------------------


@dataclass
class Lab:
    base: str
    token: str
    root: Path
    log: Path

    def url(self, path: str) -> str:
        # `reset` starts from an empty workspace: only the notebook asked for is open.
        return f"{self.base}/lab/tree/{path}?reset&token={self.token}"

    def api(self, path: str, method: str = "GET") -> object:
        request = urllib.request.Request(
            f"{self.base}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def kernel_paths(root: Path, spare: Path, env: dict[str, str]) -> str:
    """JUPYTER_PATH giving every kernel the copied notebooks name (this Python), when missing.

    The notebooks name the course's kernel; a machine where `make setup` has not installed it
    gets a stand-in in a temporary folder, so the test does not depend on the kernel's name.
    """
    listed = subprocess.run(
        [str(Path(sys.executable).with_name("jupyter")), "kernelspec", "list", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    installed = json.loads(listed.stdout)["kernelspecs"]
    for notebook in root.rglob("*.ipynb"):
        spec = json.loads(notebook.read_text()).get("metadata", {}).get("kernelspec", {})
        name = spec.get("name")
        if name and name not in installed:
            folder = spare / "kernels" / name
            folder.mkdir(parents=True, exist_ok=True)
            argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
            kernel = {"argv": argv, "display_name": spec.get("display_name", name)}
            (folder / "kernel.json").write_text(json.dumps({**kernel, "language": "python"}))
    paths = [str(spare), os.environ.get("JUPYTER_PATH", "")]
    return os.pathsep.join(p for p in paths if p)


def stop(server: subprocess.Popen, lab: Lab | None) -> None:
    """Shut the kernels down, then the server and everything in its process group."""
    if lab is not None and server.poll() is None:
        try:
            for kernel in lab.api("/api/kernels"):
                lab.api(f"/api/kernels/{kernel['id']}", method="DELETE")
        except (OSError, urllib.error.URLError, ValueError):
            pass
    for sig, patience in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            break
        try:
            server.wait(timeout=patience)
            break
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Lab:
    """JupyterLab with `make lab`'s settings, headless, on a free port of 127.0.0.1."""
    browser.chromium_or_skip()  # before starting anything
    work = tmp_path_factory.mktemp("student-lab")
    root, home = work / "root", work / "home"
    shutil.copytree(CHAPTERS_DIR, root / "chapters")
    shutil.copy(REPO_ROOT / "glossary.md", root / "glossary.md")  # the lessons link to it
    home.mkdir()
    port = browser.free_port()
    env = {
        **os.environ,
        "JUPYTER_CONFIG_PATH": str(STUDENT_CONFIG),  # what `make lab` sets
        "HOME": str(home),  # no settings or workspaces of whoever runs the tests
        "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    env["JUPYTER_PATH"] = kernel_paths(root, work / "jupyter", env)
    command = [
        str(Path(sys.executable).with_name("jupyter")),
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={TOKEN}",
        f"--ServerApp.root_dir={root}",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = work / "lab.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            command,
            env=env,
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    lab = Lab(f"http://127.0.0.1:{port}", TOKEN, root, log)
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited with {server.returncode}:\n{lab.log_tail()}")
            try:
                lab.api("/api/status")
                break
            except (OSError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"JupyterLab did not answer /api/status in 120 s:\n{lab.log_tail()}"
                    )
                time.sleep(0.5)
        yield lab
    finally:
        stop(server, lab)


@pytest.fixture(scope="module")
def driver(lab) -> WebDriver:
    with browser.chromium() as chromium:
        yield chromium


def cells_shown(driver: WebDriver) -> list[dict]:
    return driver.execute_script(CELLS_SCRIPT) or []


def open_notebook(driver: WebDriver, lab: Lab, relative: str, kernel: bool) -> list[dict]:
    """Open a notebook, wait until all its cells are there (and its kernel is idle); its cells."""
    cells = notebook_cells(lab.root / relative)
    expected = len(cells)
    driver.get(lab.url(relative))
    WebDriverWait(driver, 90).until(
        lambda d: len(cells_shown(d)) == expected,
        f"{relative}: Lab did not show its {expected} cells in 90 s (log:\n{lab.log_tail()})",
    )
    if kernel:
        WebDriverWait(driver, 120).until(
            lambda d: d.execute_script(KERNEL_READY),
            f"{relative}: the kernel did not start in 120 s (log:\n{lab.log_tail()})",
        )
    return cells


def scroll_to(driver: WebDriver, index: int) -> None:
    cell = driver.find_elements(By.CSS_SELECTOR, f"{PANEL} .jp-Notebook .jp-Cell")[index]
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", cell)
    time.sleep(0.5)  # let the notebook paint the cells that came into view


def wait_until_run(driver: WebDriver, index: int, before: str, timeout: float = 120) -> dict:
    """Wait until cell `index` shows an execution count other than `before`, and return it."""

    def finished(d: WebDriver) -> dict | None:
        cell = cells_shown(d)[index]
        done = re.fullmatch(r"\[\d+\]:", cell["prompt"]) and cell["prompt"] != before
        return cell if done and d.execute_script(KERNEL_READY) else None

    return WebDriverWait(driver, timeout, poll_frequency=0.5).until(
        finished, f"cell {index} did not finish running in {timeout:.0f} s"
    )


def run_all(driver: WebDriver) -> None:
    """Run → Run All Cells, through the menu bar as a student does."""
    driver.find_element(
        By.XPATH, "//div[contains(@class, 'lm-MenuBar-itemLabel') and text()='Run']"
    ).click()
    item = "li.lm-Menu-item[data-command='runmenu:run-all']"
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, item))
    driver.find_element(By.CSS_SELECTOR, item).click()


def answer(driver: WebDriver, answer_index: int, test_index: int, text: str) -> tuple[dict, dict]:
    """Type `text` into an answer cell's editor, run it, then run its test cell."""
    cells = driver.find_elements(By.CSS_SELECTOR, f"{PANEL} .jp-Notebook .jp-Cell")
    editor = cells[answer_index].find_element(By.CSS_SELECTOR, ".cm-content")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", editor)
    editor.click()
    keys = ActionChains(driver)
    keys.key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).send_keys(text)
    keys.perform()
    shown = cells_shown(driver)
    before = shown[answer_index]["prompt"], shown[test_index]["prompt"]
    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()
    answered = wait_until_run(driver, answer_index, before[0])
    test_cell = cells[test_index].find_element(By.CSS_SELECTOR, ".jp-InputPrompt")
    test_cell.click()  # select the test cell (command mode), as a student clicking beside it
    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()
    tested = wait_until_run(driver, test_index, before[1])
    return answered, tested


# ---------------------------------------------------------------------------------------------
# The two visits: a lesson, then the exercises
# ---------------------------------------------------------------------------------------------


@dataclass
class LessonVisit:
    cells: list[dict]  # the notebook Lab opened
    seen: dict
    screenshots: dict[str, Path]


@dataclass
class ExerciseVisit:
    cells: list[dict]  # the notebook Lab opened
    kernel: str
    chrome: dict  # menus, sidebar tabs, toolbar and the page's disabled extensions
    after_run_all: list[dict]
    stub_index: int
    wrong: tuple[dict, dict]  # (answer cell, test cell) as shown after running them
    right: tuple[dict, dict]
    wrong_expected: str
    right_expected: str
    screenshots: dict[str, Path] = field(default_factory=dict)


@pytest.fixture(scope="module")
def lesson(driver, lab) -> LessonVisit:
    """Open the lesson and record how its MyST markup is rendered."""
    cells = open_notebook(driver, lab, LESSON, kernel=False)
    expected_markdown = sum(c["cell_type"] == "markdown" for c in cells)
    # Lab renders Markdown cells as they come near the view: wait for all (the test says if not).
    browser.poll_until(
        lambda: driver.execute_script(LESSON_SCRIPT)["myst"] >= expected_markdown, timeout=60
    )
    seen = {**driver.execute_script(LESSON_SCRIPT), "markdown cells": expected_markdown}
    screenshots = {"lesson terms": browser.screenshot(driver, "lab-lesson-terms.png")}
    admonitions = driver.find_elements(By.CSS_SELECTOR, f"{PANEL} aside.myst-admonition")
    if admonitions:
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", admonitions[0])
        time.sleep(0.5)
    screenshots["lesson"] = browser.screenshot(driver, "lab-lesson.png")
    return LessonVisit(cells, seen, screenshots)


@pytest.fixture(scope="module")
def exercises(driver, lab) -> ExerciseVisit:
    """Open the exercises, run all, answer one part wrongly and one rightly; record each step."""
    cells = notebook_cells(lab.root / EXERCISES)
    stub = next(
        i
        for i, c in enumerate(cells)
        if c["cell_type"] == "code" and "raise NotImplementedError" in source(c)
    )
    wrong_index, wrong_test = cell_index(cells, WRONG[0]), cell_index(cells, f"test_{WRONG[0]}")
    right_index, right_test = cell_index(cells, RIGHT[0]), cell_index(cells, f"test_{RIGHT[0]}")
    screenshots = {}

    assert open_notebook(driver, lab, EXERCISES, kernel=True) == cells
    kernel = driver.execute_script(KERNEL_READY)
    chrome = driver.execute_script(CHROME_SCRIPT)
    screenshots["menus"] = browser.screenshot(driver, "lab-menus.png")

    run_all(driver)
    wait_until_run(driver, stub, "", timeout=180)
    after_run_all = cells_shown(driver)
    scroll_to(driver, stub)
    screenshots["run all"] = browser.screenshot(driver, "lab-exercise-run-all.png")

    wrong = answer(driver, wrong_index, wrong_test, WRONG[1])
    scroll_to(driver, wrong_test)
    screenshots["wrong"] = browser.screenshot(driver, "lab-exercise-wrong.png")
    right = answer(driver, right_index, right_test, RIGHT[1])
    scroll_to(driver, right_test)
    screenshots["right"] = browser.screenshot(driver, "lab-exercise-right.png")
    return ExerciseVisit(
        cells,
        kernel,
        chrome,
        after_run_all,
        stub,
        wrong,
        right,
        failure_message(source(cells[wrong_test]), WRONG[1]),
        pass_message(source(cells[right_test])),
        screenshots,
    )


def output_text(cell: dict) -> str:
    return "\n".join(output["text"] for output in cell["outputs"])


# ---------------------------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------------------------


def test_the_lesson_renders_admonitions_and_glossary_terms_as_html(lesson):
    terms, kinds = lesson_markup(lesson.cells)
    assert terms and kinds, f"{LESSON} lost its {{term}} roles or its admonitions"
    seen = lesson.seen
    assert not seen["raw"], f"MyST markup shown raw in Lab: {seen['raw']}"
    assert seen["myst"] == seen["markdown cells"], (
        f"jupyterlab-myst rendered {seen['myst']} of the {seen['markdown cells']} Markdown cells"
    )
    titles = [aside["title"].lower() for aside in seen["admonitions"]]
    assert sorted(titles) == sorted(kinds), f"admonitions {kinds} rendered as {titles}"
    assert all(aside["body"] for aside in seen["admonitions"]), "an admonition has no text"
    missing = terms - set(seen["terms"])
    assert not missing, f"glossary terms not rendered as links: {sorted(missing)}"


def test_run_all_stops_at_the_first_unanswered_part_saying_what_to_do(exercises):
    cells, stub = exercises.after_run_all, exercises.stub_index
    text = output_text(cells[stub])
    assert STUB_MESSAGE in text, f"the first unanswered part shows {text[-500:]!r}"
    assert cells[stub]["outputs"][-1]["mime"] == "application/vnd.jupyter.stderr"
    code = {i for i, c in enumerate(exercises.cells) if c["cell_type"] == "code"}
    for i in sorted(code):
        prompt, outputs = cells[i]["prompt"], cells[i]["outputs"]
        if i < stub:
            assert re.fullmatch(r"\[\d+\]:", prompt), f"cell {i} did not run: {prompt}"
            assert not outputs, f"cell {i} (set-up) shows {output_text(cells[i])[:500]!r}"
        elif i > stub:
            assert prompt == "[ ]:", f"Run All went on past the unanswered part: cell {i} {prompt}"


def test_a_wrong_answer_shows_the_message_and_hint_without_traceback_frames(exercises):
    answered, tested = exercises.wrong
    assert answered["editor"] == WRONG[1], f"the editor holds {answered['editor']!r}"
    assert not answered["outputs"], f"the answer cell shows {output_text(answered)!r}"
    text = output_text(tested).strip()
    assert text == exercises.wrong_expected, (
        f"expected only the check's message and hint:\n{exercises.wrong_expected}\ngot:\n{text}"
    )
    assert "Hint: " in text
    for frame in FRAMES:
        assert frame not in text, f"the failure shows {frame!r}:\n{text}"


def test_a_right_answer_shows_the_honest_pass_message(exercises):
    answered, tested = exercises.right
    assert "np.stack" in answered["editor"], f"the editor holds {answered['editor']!r}"
    assert not answered["outputs"], f"the answer cell shows {output_text(answered)!r}"
    message = exercises.right_expected
    assert re.fullmatch(r"Part \d+: .+ checked when your work is graded\.", message, re.S), message
    assert "passed" not in message.lower()
    shown = output_text(tested).strip()
    mimes = [output["mime"] for output in tested["outputs"]]
    assert mimes == ["application/vnd.jupyter.stdout"], f"the test cell shows {shown!r}"
    assert shown == message, f"expected the pass message:\n{message}\ngot:\n{shown}"


def test_no_instructor_menu_or_sidebar_and_validate_stays(exercises):
    chrome = exercises.chrome
    assert {"File", "Edit", "Run", "Kernel"} <= set(chrome["menus"]), chrome["menus"]
    for word in INSTRUCTOR_WORDS:
        assert word not in chrome["menus"], f"the menu bar has {word!r}: {chrome['menus']}"
        for tab in chrome["sidebar"]:
            assert word not in tab, f"a sidebar offers the instructor's {tab!r}"
    assert "Validate" in chrome["toolbar"], f"no Validate button: {chrome['toolbar']}"
    student = json.loads((STUDENT_CONFIG / "labconfig" / "page_config.json").read_text())
    wanted = {name for name, off in student["disabledExtensions"].items() if off}
    assert wanted <= set(chrome["disabled"]), "Lab did not start with lab/student's settings"
    assert exercises.kernel, "the notebook has no kernel"


def test_screenshots_are_saved(lesson, exercises):
    shots = {**lesson.screenshots, **exercises.screenshots}
    assert len(shots) == 6, sorted(shots)
    for name, path in shots.items():
        assert path.parent == browser.ARTIFACTS, path
        head = path.read_bytes()[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{name}: {path} is not a PNG"
        width, height = int.from_bytes(head[16:20]), int.from_bytes(head[20:24])
        assert width >= 1000 and height >= 700, f"{path.name}: {width}x{height}"
        assert path.stat().st_size > 20_000, f"{path.name} looks blank"
