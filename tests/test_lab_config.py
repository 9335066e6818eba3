"""`make lab` is the student's JupyterLab: nbgrader's instructor tools are off, validation stays."""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import REPO_ROOT

INSTRUCTOR_PLUGINS = [
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:course-list",
    "@jupyter/nbgrader:menu",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture(scope="module")
def student_lab(tmp_path_factory):
    """JupyterLab started with the settings `make lab` uses, on 127.0.0.1."""
    port, token = _free_port(), "course-test"
    home = tmp_path_factory.mktemp("lab-home")
    env = {**os.environ, "JUPYTER_CONFIG_PATH": str(REPO_ROOT / "lab" / "student")}
    env.update(HOME=str(home), JUPYTER_CONFIG_DIR=str(home / ".jupyter"))
    command = [
        str(Path(sys.executable).with_name("jupyter")),
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        "--allow-root",
        f"--ServerApp.root_dir={REPO_ROOT}",
    ]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited: {server.stderr.read().decode()[-2000:]}")
            try:
                if _status(f"{base}/api/status?token={token}") == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        yield base, token
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_make_lab_starts_lab_with_the_student_settings(monkeypatch):
    out = subprocess.run(["make", "-n", "lab"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert "-m course lab" in out.stdout and "--instructor" not in out.stdout, out.stdout
    import course.__main__ as course_main

    started = []
    monkeypatch.setattr(course_main, "_ready", lambda: None)
    monkeypatch.setattr(course_main.env, "run", lambda cmd, env, echo: started.append(env) or 0)
    for instructor in (False, True):
        course_main.lab(argparse.Namespace(instructor=instructor, rest=[]))
    student, instructor = started
    assert student["JUPYTER_CONFIG_PATH"] == str(REPO_ROOT / "lab" / "student")
    assert instructor.get("JUPYTER_CONFIG_PATH") != student["JUPYTER_CONFIG_PATH"]


def test_instructor_pages_are_gone_and_validation_stays(student_lab):
    base, token = student_lab
    assert _status(f"{base}/formgrader?token={token}") == 404
    assert _status(f"{base}/courses?token={token}") == 404
    # The validate handler answers (a POST without a notebook is a server-side error, not 404).
    request = urllib.request.Request(f"{base}/assignments/validate?token={token}", method="POST")
    assert _status(request) != 404


def test_instructor_plugins_are_disabled_in_the_page(student_lab):
    base, token = student_lab
    with urllib.request.urlopen(f"{base}/lab?token={token}", timeout=30) as response:
        page = response.read().decode()
    config = json.loads(re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', page, re.S)[1])
    disabled = set(config["disabledExtensions"])
    assert set(INSTRUCTOR_PLUGINS) <= disabled
    assert "@jupyter/nbgrader:validate-assignment" not in disabled
