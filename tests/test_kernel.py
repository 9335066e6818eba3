"""Every notebook names the course's kernel ("CNN course"), and says how to switch from another."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import nbformat
import pytest
from conftest import REPO_ROOT

KERNEL = "cnn-course"
NOTEBOOKS = sorted(REPO_ROOT.glob("solutions/*/*.ipynb")) + sorted(
    REPO_ROOT.glob("chapters/*/*.ipynb")
)


def _setup_cell(path) -> str:
    nb = nbformat.read(path, as_version=4)
    return next(cell.source for cell in nb.cells if cell.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_the_notebook_names_the_course_kernel(path):
    spec = nbformat.read(path, as_version=4).metadata.get("kernelspec", {})
    assert spec.get("name") == KERNEL, f"{path}: kernelspec {spec}"
    assert spec.get("display_name") == "CNN course"


def test_make_setup_installs_the_kernel_for_this_environment():
    spec_file = REPO_ROOT / ".venv" / "share" / "jupyter" / "kernels" / KERNEL / "kernel.json"
    assert spec_file.is_file(), "run `make setup`: it installs the CNN course kernel"
    spec = json.loads(spec_file.read_text())
    assert spec["display_name"] == "CNN course"
    assert spec["argv"][0] == str(REPO_ROOT / ".venv" / "bin" / "python")
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "setup: $(STAMP) $(KERNEL)" in makefile and "-m course setup" in makefile
    setup = (REPO_ROOT / "course" / "env.py").read_text()  # what `make setup` runs
    assert 'KERNEL_NAME, KERNEL_DISPLAY = "cnn-course", "CNN course"' in setup
    assert re.search(r'"--name",\s*KERNEL_NAME,\s*"--display-name",\s*KERNEL_DISPLAY', setup)


@pytest.mark.parametrize("path", NOTEBOOKS[:1] + NOTEBOOKS[-1:], ids=lambda p: p.parent.name)
def test_another_python_is_told_in_one_sentence_how_to_switch(path, tmp_path):
    # -S: no site-packages, so neither the course's helpers nor NumPy: a Python without the course.
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", _setup_cell(path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ModuleNotFoundError: This notebook needs the course's kernel:"), last
    assert "Change Kernel > CNN course" in last and "make setup" in last
    assert "No module named" not in result.stderr


def test_the_setup_cell_imports_the_course_when_the_kernel_is_right(tmp_path):
    source = _setup_cell(NOTEBOOKS[0]).split("\nconfig.quiet_logs()")[0]
    result = subprocess.run(
        [sys.executable, "-c", source + "\nprint(config.__name__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "helpers.config"
