"""`course-grade publish DIR`: the public repository that students and readers get.

It is written from an allow-list, never by removing things from a copy: the lessons and the
generated `exercises.ipynb` of every chapter, `helpers/`, the book (`_config.yml`, `_toc.yml`
and the pages it names, with its `_ext/` and `_static/`), `lab/`, the entry point `course/`
(`python -m course ...`, also the Colab cell's installer) and the lock (uv.lock and its export
requirements.txt), plus a student Makefile, README, pyproject.toml (installs `helpers` only),
.gitignore and Binder's settings (binder/) written here. Nothing of `solutions/`,
`grader/`, `coursebuild/`, `tests/` or `docs/` goes; every file written is then searched for
`grader.course.SECRET_MARKERS`, and a hit removes what was written.

The launch buttons are set in one place, `--url`: the published `_config.yml` gets that
`repository.url`, the repository and issues buttons and the Binder (and, for GitHub, Colab)
launch URLs; the instructor's `_config.yml` keeps them off. DIR must be new, empty, or a
previous publish (it holds `.course-publish`; its files are replaced, its `.git` kept), and
never inside the instructor's repository nor around it.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import yaml

from grader.course import SECRET_MARKERS
from grader.paths import CHAPTERS_DIR, REPO_ROOT

MARKER = ".course-publish"
KEEP = {".git", MARKER}  # what a republish leaves in place
# course/: `python -m course setup|book|lab|check|test` (Windows has no make) and the Colab cell's
# installer; _ext/: the book's own Sphinx extension; requirements.txt: uv.lock's export.
COPIED = ["helpers", "lab", "_static", "_ext", "course", "_toc.yml", "requirements.txt", "uv.lock"]
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
BINDER, COLAB = "https://mybinder.org", "https://colab.research.google.com"
TEMPLATES = Path(__file__).with_name("publish_files")  # the student Makefile, README, ...


class PublishError(Exception):
    """Why a publish was refused; nothing was written."""


def check_target(target: Path) -> Path:
    """The folder to publish into, refused when it is the instructor's or not ours to replace."""
    target = Path(target).expanduser().resolve()
    if target == REPO_ROOT or REPO_ROOT in target.parents:
        raise PublishError(
            f"{target} is inside the instructor's repository {REPO_ROOT}: "
            "publish into a folder outside it"
        )
    if target in REPO_ROOT.parents:
        raise PublishError(f"{target} holds the instructor's repository {REPO_ROOT}")
    if target.exists() and not target.is_dir():
        raise PublishError(f"{target} is a file, not a folder")
    if target.exists() and any(target.iterdir()) and not (target / MARKER).is_file():
        raise PublishError(
            f"{target} is not empty and is not a previous publish (it has no {MARKER}): "
            "choose a new or empty folder, or the folder of an earlier `course-grade publish`"
        )
    return target


def book_pages() -> list[str]:
    """The Markdown pages `_toc.yml` names (the notebooks come with their chapters)."""
    toc = yaml.safe_load((REPO_ROOT / "_toc.yml").read_text())
    found = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            found.append(entry.get("file"))
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return sorted(f"{page}.md" for page in found if page and (REPO_ROOT / f"{page}.md").exists())


def published_config(url: str | None) -> str:
    """The book's `_config.yml`, with `url` as the repository and its buttons on (if given)."""
    text = (REPO_ROOT / "_config.yml").read_text()
    if not url:
        return text
    if not re.fullmatch(r"https://[\w.-]+/[\w./-]+", url):
        raise PublishError(f"--url {url!r}: expected https://HOST/ORG/REPO")
    settings = {
        "url": url,
        "use_repository_button": "true",
        "use_issues_button": "true",
        "binderhub_url": BINDER,
        "colab_url": COLAB if url.startswith("https://github.com/") else "",
    }
    for key, value in settings.items():
        text, count = re.subn(rf"(?m)^(\s+{key}:)[^\n#]*", rf"\g<1> {_yaml(value)}", text)
        if count != 1:
            raise PublishError(f"_config.yml: expected one `{key}:` setting, found {count}")
    return text


def _yaml(value: str) -> str:
    return value if value == "true" else f'"{value}"'


def _clear(target: Path) -> None:
    for entry in target.iterdir():
        if entry.name in KEEP:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


# The setup cell's answer to a missing `helpers`: in the published copy, a notebook opened in
# Colab fetches the course from its repository instead of asking for the course's kernel.
SETUP_FALLBACK = re.compile(
    r"(?P<head>except ModuleNotFoundError:[^\n]*\n)(?P<raise>    raise ModuleNotFoundError\("
    r"(?:.|\n)*?\) from None)"
)
COLAB_SETUP = """    import sys

    if "google.colab" in sys.modules:  # Colab: the course's helpers, and what Colab lacks
        import subprocess

        repository = {url!r}
        subprocess.run(["git", "clone", "-q", "--depth", "1", repository, "/content/course"])
        sys.path.insert(0, "/content/course")
        from course import colab

        colab.install_missing()  # the pinned packages Colab lacks; its own TensorFlow stays
        from helpers import config
    else:
"""


def colab_ready(notebook_text: str, url: str) -> str:
    """The notebook with its setup cell able to install the course in Colab (`url`: the repo)."""
    nb = json.loads(notebook_text)
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and SETUP_FALLBACK.search(source):
            source = SETUP_FALLBACK.sub(
                lambda m: (
                    m["head"]
                    + COLAB_SETUP.format(url=url)
                    + "\n".join("    " + line for line in m["raise"].splitlines())
                ),
                source,
                count=1,
            )
            cell["source"] = source.splitlines(keepends=True)
            break
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def _chapters(target: Path, colab_url: str = "") -> None:
    """Each chapter's notebooks (the lessons and the generated exercises), nothing else."""
    for notebook in sorted(CHAPTERS_DIR.glob("*/*.ipynb")):
        destination = target / notebook.relative_to(REPO_ROOT)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(notebook, destination)
        if colab_url:
            destination.write_text(colab_ready(notebook.read_text(), colab_url))


def secrets_in(target: Path) -> list[str]:
    """Files under `target` (but .git) that hold a solution or hidden-test marker."""
    found = []
    for path in sorted(target.rglob("*")):
        if ".git" in path.relative_to(target).parts or not path.is_file():
            continue
        data = path.read_bytes()
        found += [f"{path.relative_to(target)}: {m}" for m in SECRET_MARKERS if m.encode() in data]
    return found


def publish(target: Path, url: str | None = None) -> Path:
    """Write the student repository into `target` (see the module's docstring)."""
    target = check_target(target)
    config = published_config(url)
    target.mkdir(parents=True, exist_ok=True)
    _clear(target)
    _chapters(target, url if url and url.startswith("https://github.com/") else "")
    for name in COPIED:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=IGNORED)
        else:
            shutil.copy2(source, target / name)
    for page in book_pages():
        shutil.copy2(REPO_ROOT / page, target / page)
    (target / "_config.yml").write_text(config)
    for template in sorted(TEMPLATES.iterdir()):
        name = "." + template.name[4:] if template.name.startswith("dot-") else template.name
        if template.is_dir():  # binder/: Binder's settings, which replace the top level's
            shutil.copytree(template, target / name, ignore=IGNORED)
        else:
            shutil.copy2(template, target / name)
    (target / MARKER).write_text(
        "Written by `course-grade publish` from the instructor's repository. Publishing again\n"
        "into this folder replaces every file but .git/ and this one.\n"
    )
    leaks = secrets_in(target)
    if leaks:
        _clear(target)
        raise PublishError(
            "a solution or hidden-test marker reached the student tree, which "
            f"was removed again: {'; '.join(leaks)}"
        )
    return target
