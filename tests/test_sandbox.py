"""The grading sandbox, on a real IPython kernel started as nbgrader starts it.

Each test runs the same probe inside the sandbox and, where it proves the probe can fail,
outside it: what the plain kernel can do and the sandboxed one cannot.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from jupyter_client.manager import KernelManager

from helpers import grading, sandbox

needs_isolation = pytest.mark.skipif(
    not sandbox.full_isolation(),
    reason="the sandbox needs root and unshare: " + repr(sandbox.availability()),
)

PROBE = """
import json, os, resource, socket
from pathlib import Path

def attempt(action):
    try:
        action()
        return "done"
    except BaseException as error:
        return type(error).__name__

found = {
    "uid": os.getuid(),
    "cwd": os.getcwd(),
    "secret": os.environ.get("GRADER_SECRET"),
    "read hidden tests": attempt(lambda: Path(SOLUTIONS).read_text()),
    "read course": attempt(lambda: Path(COURSE_FILE).read_text()),
    "write course": attempt(lambda: Path(COURSE_FILE).with_name("fake.json").write_text("{}")),
    "socket": attempt(lambda: socket.create_connection(("127.0.0.1", PORT), timeout=3).close()),
    "helpers": attempt(lambda: __import__("helpers.conv")),
    "memory limit": resource.getrlimit(resource.RLIMIT_AS)[0],
    "repository": sorted(os.listdir(REPO)),
}
print(json.dumps(found))
"""


@pytest.fixture
def listening_port():
    """A server socket on the loopback, which a kernel with network can reach."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server.getsockname()[1]
    server.close()


@pytest.fixture
def course(tmp_path):
    folder = tmp_path / "course"
    folder.mkdir()
    (folder / "gradebook.json").write_text('{"secret": true}')
    return folder


def _run(code: str, slot: sandbox.Slot | None, tmp_path: Path) -> str:
    """Execute `code` in a kernel (sandboxed with `slot`, else plain) and return what it printed."""
    saved = dict(os.environ)
    spec_dir = sandbox.install_kernel(tmp_path / "kernels")
    try:
        os.environ["GRADER_SECRET"] = "s3cret"
        if slot is None:
            manager = KernelManager(kernel_name="python3")
        else:
            os.environ.update({**slot.env(), "JUPYTER_PATH": str(spec_dir)})
            manager = KernelManager(
                kernel_name=sandbox.KERNEL_NAME, transport="ipc", ip=str(slot.runtime / "kernel")
            )
        manager.start_kernel()
        client = manager.client()
        client.start_channels()
        printed = []
        try:
            client.wait_for_ready(timeout=60)
            client.execute_interactive(
                code, timeout=60,
                output_hook=lambda m: printed.append(m["content"].get("text", "")),
            )  # fmt: skip
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
        return "".join(printed)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _probe(course: Path, port: int) -> str:
    setup = (
        f"SOLUTIONS = {str(grading.SOLUTIONS_DIR / '01-kernels' / grading.NOTEBOOK)!r}\n"
        f"COURSE_FILE = {str(course / 'gradebook.json')!r}\n"
        f"PORT = {port}\nREPO = {str(grading.REPO_ROOT)!r}\n"
    )
    return setup + PROBE


def test_check_command_lists_every_layer():
    out = subprocess.run(
        [sys.executable, "-m", "helpers.sandbox", "check"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    for layer in ("user", "network", "files", "processes", "limits", "environment", "cgroups"):
        assert layer in out.stdout


def test_limits_travel_through_the_environment():
    limits = sandbox.Limits(memory_bytes=3 * 2**30, processes=99, file_bytes=2**20)
    assert sandbox.Limits.from_env(limits.as_env()) == limits
    assert "3 GiB" in limits.describe()


def test_kernel_spec_starts_the_launcher_with_this_python(tmp_path):
    spec = json.loads(
        (sandbox.install_kernel(tmp_path) / "kernels" / sandbox.KERNEL_NAME / "kernel.json")
        .read_text()
    )  # fmt: skip
    assert spec["argv"][:4] == [sys.executable, "-m", "helpers.sandbox", "kernel"]
    assert "{connection_file}" in spec["argv"]


@needs_isolation
def test_plain_kernel_reaches_everything(tmp_path, course, listening_port):
    """What nbgrader leaves open: the same probe without the sandbox gets everything."""
    found = json.loads(_run(_probe(course, listening_port), None, tmp_path))
    assert found["uid"] == os.getuid()
    assert found["secret"] == "s3cret"
    for action in ("read hidden tests", "read course", "write course", "socket"):
        assert found[action] == "done", (action, found)
    assert "solutions" in found["repository"]


@needs_isolation
def test_sandboxed_kernel_sees_only_what_it_needs(tmp_path, course, listening_port):
    limits = sandbox.Limits(memory_bytes=5 * 2**30)
    hidden = sandbox.default_hidden(course)
    with sandbox.Slot(hidden, limits, isolate=True) as slot:
        found = json.loads(_run(_probe(course, listening_port), slot, tmp_path))
        cgroups = list(slot.cgroups)
    assert found["uid"] == slot.uid >= sandbox.BASE_UID
    assert found["cwd"] == str(slot.home)
    assert found["secret"] is None
    blocked = {"FileNotFoundError", "PermissionError"}  # hidden by a tmpfs, or out of reach
    assert found["read hidden tests"] == "FileNotFoundError"  # the repository is covered
    assert found["read course"] in blocked
    assert found["write course"] in blocked
    assert found["socket"] in {"OSError", "ConnectionRefusedError"}, found
    assert found["helpers"] == "done"  # the course's helpers stay importable
    assert found["memory limit"] == limits.memory_bytes
    assert "solutions" not in found["repository"] and "helpers" in found["repository"]
    assert not (course / "fake.json").exists()
    assert not slot.scratch.exists()
    for folder in cgroups:
        assert not folder.exists()  # removed, with whatever still ran in it
    assert sandbox.live_processes(slot.uid) == []


def test_without_root_only_limits_and_a_clean_environment_apply(tmp_path, course):
    """Slot(isolate=False): the kernel runs as the grader, but with limits and no secrets."""
    limits = sandbox.Limits(memory_bytes=7 * 2**30)
    code = (
        "import os, resource\n"
        "print(os.environ.get('GRADER_SECRET'), resource.getrlimit(resource.RLIMIT_AS)[0], "
        "os.getcwd())\n"
    )
    with sandbox.Slot(sandbox.default_hidden(course), limits, isolate=False) as slot:
        printed = _run(code, slot, tmp_path).split()
        home = str(slot.home)
    assert printed == ["None", str(limits.memory_bytes), home]
    assert resource.getrlimit(resource.RLIMIT_AS)[0] != limits.memory_bytes  # only the kernel


@needs_isolation
def test_two_slots_never_share_a_uid(tmp_path):
    """Each claims a free uid under a machine-wide lock, so two grading runs never collide."""
    first = sandbox.Slot([], sandbox.Limits(), isolate=True)
    second = sandbox.Slot([], sandbox.Limits(), isolate=True)
    with first, second:
        assert first.uid != second.uid
        held = first.uid
    with sandbox.Slot([], sandbox.Limits(), isolate=True) as again:
        assert again.uid == held  # released on exit
