"""The grading sandbox, on real IPython kernels started as nbgrader starts them, in real bwrap.

Each attack is first shown to work in a plain kernel, then to fail in the sandbox: what the
plain kernel can do and the sandboxed one cannot.
"""

from __future__ import annotations

import json
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
from jupyter_client.manager import KernelManager

from grader import sandbox
from grader.paths import NOTEBOOK, REPO_ROOT, SOLUTIONS_DIR

needs_isolation = pytest.mark.skipif(
    not sandbox.full_isolation(),
    reason="the sandbox's walls need root and a working bwrap (Debian package bubblewrap): "
    + repr(sandbox.availability()),
)
needs_bwrap = pytest.mark.skipif(
    sandbox.availability()["files"] is not None,
    reason=f"bwrap cannot build the walls here: {sandbox.availability()['files']}",
)
ISOLATE = sandbox.full_isolation()  # a uid of its own too (root); else the walls without it

PROBE = """
import json, os, resource, socket, subprocess
from pathlib import Path

def attempt(action):
    try:
        action()
        return "done"
    except BaseException as error:
        return type(error).__name__

def cmdlines():
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            yield Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\\0", b" ").decode()
        except OSError:
            pass

found = {
    "uid": os.getuid(),
    "cwd": os.getcwd(),
    "secret": os.environ.get("GRADER_SECRET"),
    "read hidden tests": attempt(lambda: Path(SOLUTIONS).read_text()),
    "read course": attempt(lambda: Path(COURSE_FILE).read_text()),
    "write course": attempt(lambda: Path(COURSE_FILE).with_name("fake.json").write_text("{}")),
    "socket": attempt(lambda: socket.create_connection(("127.0.0.1", PORT), timeout=3).close()),
    "host processes": any("pytest" in line for line in cmdlines()),
    "processes": sum(name.isdigit() for name in os.listdir("/proc")),
    "host /tmp marker": Path(MARKER).exists(),
    "host SysV segment": any(line.split()[1:2] == [str(SHMID)]
                             for line in open("/proc/sysvipc/shm").readlines()[1:]),
    "new user namespace": subprocess.run(["unshare", "-U", "true"], capture_output=True).returncode,
    "capabilities": [line.split()[1] for line in open("/proc/self/status")
                     if line.startswith("CapEff")][0],
    "helpers": attempt(lambda: __import__("helpers.conv")),
    "grader": attempt(lambda: __import__("grader.sandbox")),
    "memory limit": resource.getrlimit(resource.RLIMIT_AS)[0],
    "repository": sorted(os.listdir(REPO)),
    "grader home": sorted(os.listdir(HOME)) if os.path.isdir(HOME) else [],
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


@pytest.fixture
def host_traces():
    """A file in the host's /tmp and a SysV shared memory segment, as a previous kernel's."""
    marker = Path("/tmp") / f"course-sandbox-test-{uuid.uuid4().hex}"
    marker.write_text("left by another kernel")
    made = subprocess.run(["ipcmk", "-M", "4096"], capture_output=True, text=True, check=True)
    shmid = int(re.search(r"\d+", made.stdout).group())
    yield marker, shmid
    marker.unlink()
    subprocess.run(["ipcrm", "-m", str(shmid)], check=True)


def _run(code: str, slot: sandbox.Slot | None, tmp_path: Path, output=None) -> str:
    """Execute `code` in a kernel (sandboxed with `slot`, else plain) and return what it printed.

    `output`: an open file the kernel process is started with as its stdout and stderr, as
    nbgrader's log is when the grader runs it."""
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
        manager.start_kernel(**({"stdout": output, "stderr": output} if output else {}))
        client = manager.client()
        client.start_channels()
        printed = []
        try:
            client.wait_for_ready(timeout=60)
            reply = client.execute_interactive(
                code,
                timeout=120,
                output_hook=lambda m: printed.append(m["content"].get("text", "")),
            )
            assert reply["content"]["status"] == "ok", reply["content"]
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
        return "".join(printed)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _probe(course: Path, port: int, traces: tuple[Path, int]) -> str:
    setup = (
        f"SOLUTIONS = {str(SOLUTIONS_DIR / '01-kernels' / NOTEBOOK)!r}\n"
        f"COURSE_FILE = {str(course / 'gradebook.json')!r}\n"
        f"PORT = {port}\nREPO = {str(REPO_ROOT)!r}\nHOME = {str(Path.home())!r}\n"
        f"MARKER = {str(traces[0])!r}\nSHMID = {traces[1]}\n"
    )
    return setup + PROBE


def _ways_into(folder: Path) -> set[str]:
    """The entries of `folder` on the way to what the sandbox binds in."""
    return {p.relative_to(folder).parts[0] for p in sandbox._course_paths() if folder in p.parents}


def test_check_command_lists_every_layer():
    out = subprocess.run(
        [sys.executable, "-m", "grader.sandbox", "check"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    assert out.returncode == 0, out.stderr
    # Each wall's line says what availability() finds on this machine: yes, or no and why.
    for layer, missing in sandbox.availability().items():
        said = "yes" if missing is None else f"no: {re.escape(missing)}"
        assert re.search(rf"^  {layer} +{said}$", out.stdout, re.M), (layer, out.stdout)


def test_limits_travel_through_the_environment():
    limits = sandbox.Limits(memory_bytes=3 * 2**30, processes=99, file_bytes=2**20)
    assert sandbox.Limits.from_env(limits.as_env()) == limits
    assert "3 GiB" in limits.describe()


def test_kernel_spec_starts_the_launcher_with_this_python(tmp_path):
    spec = json.loads(
        (
            sandbox.install_kernel(tmp_path) / "kernels" / sandbox.KERNEL_NAME / "kernel.json"
        ).read_text()
    )
    assert spec["argv"][:4] == [sys.executable, "-m", "grader.sandbox", "kernel"]
    assert "{connection_file}" in spec["argv"]
    assert spec["env"] == {"PYTHONPATH": str(REPO_ROOT)}  # the launcher's, not the kernel's


@needs_bwrap
def test_plain_kernel_reaches_everything(tmp_path, course, listening_port, host_traces):
    """What nbgrader leaves open: the same probe without the sandbox gets everything."""
    found = json.loads(_run(_probe(course, listening_port, host_traces), None, tmp_path))
    assert found["uid"] == os.getuid()
    assert found["secret"] == "s3cret"
    for action in ("read hidden tests", "read course", "write course", "socket", "grader"):
        assert found[action] == "done", (action, found)
    assert found["host processes"] and found["host /tmp marker"] and found["host SysV segment"]
    assert found["new user namespace"] == 0
    assert "solutions" in found["repository"] and "grader" in found["repository"]


@needs_bwrap
def test_sandboxed_kernel_sees_only_what_it_needs(tmp_path, course, listening_port, host_traces):
    limits = sandbox.Limits(memory_bytes=5 * 2**30)
    with sandbox.Slot(sandbox.default_hidden(course), limits, isolate=ISOLATE) as slot:
        found = json.loads(_run(_probe(course, listening_port, host_traces), slot, tmp_path))
        cgroups = list(slot.cgroups)
    assert found["uid"] == (slot.uid if ISOLATE else os.getuid())
    assert not ISOLATE or slot.uid >= sandbox.BASE_UID
    assert found["capabilities"] == "0000000000000000"
    assert found["cwd"] == str(slot.home)
    assert found["secret"] is None
    assert found["read hidden tests"] == "FileNotFoundError"  # not in the kernel's tree
    assert found["read course"] == "FileNotFoundError"
    assert found["write course"] in {"FileNotFoundError", "OSError"}  # read-only root
    assert found["socket"] in {"OSError", "ConnectionRefusedError"}, found
    assert not found["host processes"] and found["processes"] <= 3  # bwrap's init and the kernel
    assert not found["host /tmp marker"] and not found["host SysV segment"]
    assert found["new user namespace"] != 0
    assert found["helpers"] == "done"  # the course's helpers stay importable
    assert found["grader"] == "ModuleNotFoundError"  # the instructor's package does not
    assert found["memory limit"] == limits.memory_bytes
    # Of the repository only helpers/ (and .venv/, where the venv lies in it); of the grader's
    # home only the way to the Python install, where it lies there (pyenv).
    assert found["repository"] == sorted(_ways_into(REPO_ROOT))
    assert set(found["grader home"]) <= _ways_into(Path.home())
    assert not (course / "fake.json").exists()
    assert not slot.scratch.exists()
    for folder in cgroups:
        assert not folder.exists()  # removed, with whatever still ran in it
    assert not ISOLATE or sandbox.live_processes(slot.uid) == []


@needs_bwrap
def test_kernels_one_after_the_other_share_no_tmp(tmp_path):
    """A kernel's /tmp and /dev/shm die with it: nothing is left for the next student's."""
    leave = (
        "import json, os\nfrom pathlib import Path\n"
        "print(json.dumps([sorted(os.listdir('/tmp')), sorted(os.listdir('/dev/shm'))]))\n"
        "Path('/tmp/left-behind').write_text('x'); Path('/dev/shm/left-behind').write_text('x')\n"
    )
    seen = []
    for _ in range(2):
        with sandbox.Slot([], sandbox.Limits(), isolate=ISOLATE) as slot:
            tmp, shm = json.loads(_run(leave, slot, tmp_path))
            seen.append((tmp, shm, slot.scratch.name))
    for tmp, shm, scratch in seen:
        assert "left-behind" not in tmp and shm == []
        assert [name for name in tmp if not name.startswith("tmp")] == [scratch]  # its own slot
    assert not Path("/tmp/left-behind").exists() and not Path("/dev/shm/left-behind").exists()


@needs_bwrap
def test_scratch_under_a_private_folder_and_the_course_stack(tmp_path, monkeypatch, request):
    """Under a 0700 folder (mktemp -d, /root) the kernel still starts and imports TensorFlow."""
    private = Path(tempfile.mkdtemp(prefix="private-"))  # as `mktemp -d`: mode 0700, short
    assert private.stat().st_mode & 0o777 == 0o700  # (ipc socket paths must stay < 108 bytes)
    request.addfinalizer(lambda: private.rmdir())
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    code = (
        "import os\nos.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\n"
        "import numpy, tensorflow, keras, matplotlib.pyplot as plt, helpers.conv\n"
        "plt.plot([1, 2]); plt.savefig('plot.png')\n"
        "print('imported', os.getcwd(), sorted(os.listdir('.')))\n"
    )
    with sandbox.Slot([], sandbox.Limits(), isolate=ISOLATE) as slot:
        assert private in slot.scratch.parents
        (font_list,) = (slot.home / sandbox.MPL_FOLDER).glob("fontlist-*.json")
        seeded = font_list.stat().st_mtime_ns
        printed = _run(code, slot, tmp_path)
        home = str(slot.home)
        # Matplotlib read the grader's font list instead of scanning the fonts and writing one.
        assert font_list.stat().st_mtime_ns == seeded
    assert f"imported {home}" in printed and "plot.png" in printed and ".matplotlib" in printed


def test_without_own_uid_limits_and_a_clean_environment_apply(tmp_path, course):
    """Slot(isolate=False): the kernel runs as the grader, but with limits and no secrets."""
    limits = sandbox.Limits(memory_bytes=7 * 2**30)
    code = (
        "import os, resource\nfrom pathlib import Path\n"
        "print(os.environ.get('GRADER_SECRET'), resource.getrlimit(resource.RLIMIT_AS)[0], "
        f"os.getcwd(), Path({str(course)!r}).exists())\n"
    )
    with sandbox.Slot(sandbox.default_hidden(course), limits, isolate=False) as slot:
        printed = _run(code, slot, tmp_path).split()
        home = str(slot.home)
    walls = sandbox.availability()["files"] is None  # bwrap works here: the course is out of sight
    assert printed == ["None", str(limits.memory_bytes), home, str(not walls)]
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


@needs_bwrap
def test_the_kernel_writes_nothing_into_the_graders_output(tmp_path):
    """The kernel starts with stdin, stdout and stderr on /dev/null, not on nbgrader's log: a
    forged line ("database is locked") written to the process's own streams or descriptor 2
    reaches the cell's output at most, never a file of the grader's."""
    code = (
        "import os, sys\n"
        "for stream in (sys.__stdout__, sys.__stderr__):\n"
        "    stream.write('[NbGraderApp | ERROR] database is locked\\n')\n"
        "    stream.flush()\n"
        "os.write(2, b'database is locked\\n')\n"
    )
    log = tmp_path / "nbgrader.log"
    with open(log, "w") as output, sandbox.Slot([], sandbox.Limits(), isolate=ISOLATE) as slot:
        printed = _run(code, slot, tmp_path, output=output)
    assert "database is locked" in printed  # ipykernel's own capture: the cell's output
    assert "database is locked" not in log.read_text()


@pytest.mark.skipif(os.geteuid() != 0, reason="making a folder under /usr needs root")
@needs_bwrap
def test_a_course_kept_under_usr_stays_out_of_the_kernels_tree(tmp_path):
    """/usr is bound whole, except the branch that leads to a hidden path (a checkout or course
    folder in /usr/local/...), which is walked around: the rest of /usr stays usable."""
    hidden = Path("/usr/local/share") / f"course-sandbox-test-{uuid.uuid4().hex}"
    (hidden / "solutions").mkdir(parents=True)
    (hidden / "solutions" / "exercises.ipynb").write_text("hidden tests")
    try:
        code = (
            "import os\n"
            f"print(os.path.exists({str(hidden)!r}), os.path.exists('/usr/bin/env'),\n"
            "      os.path.isdir('/usr/local/share'))\n"
        )
        with sandbox.Slot([hidden], sandbox.Limits(), isolate=ISOLATE) as slot:
            printed = _run(code, slot, tmp_path)
        assert printed.split() == ["False", "True", "True"]
        args = sandbox._usr_args([hidden])
        assert ["--ro-bind", "/usr", "/usr"] != args[:3] and str(hidden) not in args
    finally:
        import shutil

        shutil.rmtree(hidden)
