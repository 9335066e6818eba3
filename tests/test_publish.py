"""`course-grade publish DIR`: the student repository holds no solution, hidden test or grader.

The canaries: `grader.course.SECRET_MARKERS` in no file (bytes, every file); no solution region
and no hidden-test region of `solutions/*/exercises.ipynb` as a block of lines in any file; and
no line of those regions that the instructor's public sources (chapters/, helpers/, the book's
.md pages) do not also hold. Lessons teach with some of the solutions' lines (`return out`, a
convolution loop) and hidden tests re-check visible ones, so a line shared with those sources
proves nothing and is left to the block check; every other line is a canary.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from course import colab
from grader.cli import main
from grader.course import SECRET_MARKERS
from grader.paths import REPO_ROOT, SOLUTIONS_DIR
from grader.publish import MARKER, PublishError, publish

URL = "https://github.com/cnn-course/cnn-course-students"
FORBIDDEN = {
    "grader",
    "coursebuild",
    "solutions",
    "tests",
    "wrong_answers",
    "mutants",
    "docs",
    "nbgrader_config.py",
    ".github",
    ".ci",
}
WANTED = [
    "Makefile",
    "README.md",
    "pyproject.toml",
    "_config.yml",
    "_toc.yml",
    "intro.md",
    "setup.md",
    "glossary.md",
    "requirements.txt",
    "uv.lock",
    "helpers/precheck.py",
    "course/__main__.py",
    "course/env.py",
    "course/colab.py",
    "_ext/course_book.py",
    "lab/student/labconfig/page_config.json",
    "chapters/01-kernels/exercises.ipynb",
    "chapters/01-kernels/kernels.ipynb",
]


def _regions(begin: str, end: str) -> list[list[str]]:
    """Each region of the solution notebooks between `### begin` and `### end`, as lines."""
    found = []
    for path in sorted(SOLUTIONS_DIR.glob("*/exercises.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            region = None
            for line in "".join(cell["source"]).splitlines():
                if line.strip().startswith(f"### {begin}"):
                    region = []
                elif line.strip().startswith(f"### {end}") and region is not None:
                    found.append(region)
                    region = None
                elif region is not None and line.strip():
                    region.append(line.strip())
    return found


def _lines(path: Path) -> list[str]:
    """A file's lines, stripped; a notebook's are its cells' sources (its JSON escapes quotes)."""
    text = path.read_text(errors="replace")
    if path.suffix == ".ipynb":
        text = "\n".join("".join(cell["source"]) for cell in json.loads(text)["cells"])
    return [line.strip() for line in text.splitlines() if line.strip()]


def _texts(root: Path, skip=("models_data",)) -> dict[Path, list[str]]:
    return {
        path: _lines(path)
        for path in sorted(root.rglob("*"))
        if path.is_file() and not set(path.relative_to(root).parts) & {*skip, ".git"}
    }


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("students") / "repo"
    assert publish(target, URL) == target.resolve()
    return target


def test_no_marker_in_any_file(published):
    for path in published.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not [m for m in SECRET_MARKERS if m.encode() in data], path


def test_no_solution_and_no_hidden_test_reached_the_tree(published):
    solutions = _regions("BEGIN SOLUTION", "END SOLUTION")
    hidden = _regions("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
    assert len(solutions) > 40 and len(hidden) > 40, (len(solutions), len(hidden))
    texts = _texts(published)
    for region in solutions + hidden:
        if len(region) < 2:
            continue
        block = "\n".join(region)
        for path, lines in texts.items():
            assert block not in "\n".join(lines), (path, region[:3])
    public = set()
    for source in [*REPO_ROOT.glob("chapters/*/*.ipynb"), *REPO_ROOT.glob("*.md")]:
        public |= set(_lines(source))
    for path in (REPO_ROOT / "helpers").rglob("*.py"):
        public |= set(_lines(path))
    canaries = {line for region in solutions + hidden for line in region} - public
    assert len(canaries) > 500, len(canaries)  # the check below is not an empty one
    everything = {line for lines in texts.values() for line in lines}
    assert not canaries & everything, sorted(canaries & everything)[:10]


def test_the_tree_is_the_student_one(published):
    names = {part for path in published.rglob("*") for part in path.relative_to(published).parts}
    assert not names & FORBIDDEN, names & FORBIDDEN
    for wanted in WANTED:
        assert (published / wanted).is_file(), wanted
    lessons = {p.relative_to(REPO_ROOT) for p in REPO_ROOT.glob("chapters/*/*.ipynb")}
    assert {p.relative_to(published) for p in published.glob("chapters/*/*.ipynb")} == lessons
    pyproject = (published / "pyproject.toml").read_text()
    assert 'packages = ["helpers", "helpers.detection"]' in pyproject
    assert "grader" not in pyproject and "course-grade" not in pyproject
    readme = (published / "README.md").read_text()
    assert "make check NB=" in readme and "instructor's" not in readme.lower()
    makefile = (published / "Makefile").read_text()
    for target in ("setup:", "book:", "lab:", "check:", "test:"):
        assert f"\n{target}" in makefile, target


def test_the_buttons_point_at_the_public_repository_only_there(published):
    config = yaml.safe_load((published / "_config.yml").read_text())
    assert config["repository"]["url"] == URL
    assert config["html"]["use_repository_button"] and config["html"]["use_issues_button"]
    assert config["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert config["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    instructor = yaml.safe_load((REPO_ROOT / "_config.yml").read_text())
    assert instructor["repository"]["url"] == ""
    assert not instructor["html"]["use_repository_button"]
    assert not instructor["launch_buttons"]["binderhub_url"]


def test_binder_gets_the_environment_and_the_courses_kernel(published):
    """repo2docker reads binder/ (not requirements.txt, which it would install with its
    dependencies): postBuild installs the lock with --no-deps, then helpers and the kernel."""
    post_build = published / "binder" / "postBuild"
    assert os.access(post_build, os.X_OK), "postBuild must be executable"
    text = post_build.read_text()
    assert "pip install --quiet --no-deps -r requirements.txt" in text
    assert "pip install --quiet --no-deps -e ." in text and "--name cnn-course" in text
    assert (published / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    assert not (published / "binder" / "requirements.txt").exists()


def _setup_cell(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return next(
        "".join(c["source"]) for c in cells if "ModuleNotFoundError" in "".join(c["source"])
    )


def test_each_published_notebook_installs_the_course_when_it_runs_in_colab(published):
    """The setup cell: in Colab it clones the public repository and installs what Colab lacks;
    in any other Python without `helpers` it still asks for the course's kernel."""
    for path in sorted((published / "chapters").glob("*/*.ipynb")):
        setup = _setup_cell(path)
        compile(setup, str(path), "exec")
        assert '"google.colab" in sys.modules' in setup, path
        assert repr(URL) in setup and "colab.install_missing()" in setup, path
        assert "Change Kernel > " in setup, path
        instructor = (REPO_ROOT / path.relative_to(published)).read_text()
        assert "google.colab" not in instructor, f"{path.name}: the instructor's copy changed"


def test_the_colab_cell_runs_from_a_clone_of_the_published_repository(published, tmp_path):
    """The first cell as Colab runs it (google.colab imported, the repository cloned, its
    `course.colab` asked what is missing), here with a local clone and this environment, which
    lacks nothing: it installs nothing and imports the clone's helpers."""
    repository = tmp_path / "public"
    shutil.copytree(published, repository)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repository)]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "published"]):
        subprocess.run(git + command, check=True, capture_output=True)
    content = tmp_path / "content"
    cell = _setup_cell(published / "chapters" / "01-kernels" / "kernels.ipynb")
    cell = cell.replace(repr(URL), repr(str(repository))).replace("/content", str(content))
    # Colab has no `helpers`: this environment's editable install of it is switched off.
    program = (
        "import sys, types\nsys.modules['google.colab'] = types.ModuleType('google.colab')\n"
        "sys.meta_path = [f for f in sys.meta_path if '__editable__' not in f.__module__]\n"
        f"{cell}\nimport helpers\nprint('helpers from', helpers.__file__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"helpers from {content}/course/helpers" in result.stdout, result.stdout
    assert "Installing" not in result.stdout, result.stdout


# What a Colab runtime comes with, of the packages the course's lessons need (its own versions).
COLAB = {
    "tensorflow",
    "keras",
    "tf-keras",
    "tensorflow-hub",
    "numpy",
    "scipy",
    "matplotlib",
    "pandas",
    "scikit-image",
    "pillow",
    "nbformat",
    "nbclient",
    "scikit-learn",
    "joblib",
}


def test_colab_gets_only_what_it_lacks_and_never_a_second_tensorflow(published):
    text = (published / "requirements.txt").read_text()
    linux = lambda marker: not marker or ("x86_64" in marker and "linux" in marker)  # noqa: E731
    wanted = colab.missing(text, COLAB, holds=linux)
    assert {w.split("==")[0] for w in wanted} == {"mlxtend", "mtcnn", "lz4"}, wanted
    # A Python with tensorflow-cpu alone (as tested by hand in a fresh venv): the rest, but no
    # `tensorflow` for tf-keras, and every pin at the lock's version.
    wanted = dict(w.split("==") for w in colab.missing(text, {"tensorflow-cpu"}, holds=linux))
    assert not {"tensorflow", "tensorflow-cpu"} & wanted.keys(), wanted
    assert {"keras", "tensorflow-hub", "tf-keras", "mlxtend", "mtcnn"} <= wanted.keys()
    pins, _ = colab.read_lock(text, holds=linux)
    assert all(pins[name] == version for name, version in wanted.items())


def test_it_refuses_a_foreign_folder_and_the_instructors_repository(tmp_path, capsys):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("mine")
    with pytest.raises(PublishError, match="not empty and is not a previous publish"):
        publish(foreign)
    assert [p.name for p in foreign.iterdir()] == ["thesis.tex"]
    for inside in (REPO_ROOT, REPO_ROOT / "_build" / "students", REPO_ROOT.parent):
        with pytest.raises(PublishError, match="instructor's repository"):
            publish(inside)
    with pytest.raises(SystemExit, match="not published: .*not empty"):
        main(["publish", str(foreign)])
    with pytest.raises(PublishError, match="--url"):
        publish(tmp_path / "new", "javascript:alert(1)")
    assert not (tmp_path / "new").exists()


def test_a_republish_replaces_the_files_and_keeps_git(tmp_path):
    target = tmp_path / "repo"
    publish(target)
    (target / ".git").mkdir()
    (target / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (target / "stale.txt").write_text("from an older course")
    publish(target, URL)
    assert (target / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"
    assert not (target / "stale.txt").exists() and (target / MARKER).is_file()
    assert yaml.safe_load((target / "_config.yml").read_text())["repository"]["url"] == URL


@pytest.mark.slow
def test_make_book_and_make_check_work_in_the_published_tree(published):
    """The student Makefile, run in the published tree with the course's environment.

    Cheaper than a student's first run, on purpose (CI's time): `VENV=` the environment the
    tests run in, so nothing is created or installed (the Makefile then takes `helpers` from
    the published tree through PYTHONPATH), and `make book EXECUTE=off`, so Jupyter Book
    builds every page, with -W, without running the lessons (the repository's own book test
    runs them). `make check` runs the blank chapter-01 notebook for real.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    venv = str(Path(sys.executable).parent.parent)
    book = subprocess.run(
        ["make", "book", f"VENV={venv}", "EXECUTE=off"],
        cwd=published,
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert book.returncode == 0, (book.stdout + book.stderr)[-4000:]
    html = published / "_build" / "html"
    for page in ("index.html", "setup.html", "chapters/01-kernels/kernels.html"):
        assert (html / page).is_file(), page
    assert URL in (html / "chapters" / "01-kernels" / "kernels.html").read_text()

    check = subprocess.run(
        ["make", "check", f"VENV={venv}", "NB=chapters/01-kernels/exercises.ipynb"],
        cwd=published,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    output = check.stdout + check.stderr
    assert check.returncode == 1, output
    assert output.splitlines()[0].split() == ["Part", "Points", "Answer", "Visible", "checks"]
    assert "0 of 5 parts answered" in output and "make:" not in output, output
    assert not (published / ".venv").exists()  # the course's environment was used, not made
