"""Grading on a real Dask cluster: `course-grade autograde CHAPTER --scheduler tls://...`.

The cluster speaks TLS only, with certificates `course-grade cluster-certs` made (mutual TLS:
every end shows one signed by the course's authority). A stranger on 127.0.0.1 (plain tcp, a
TLS client without a certificate, one with a certificate it made itself) cannot connect, so
cannot send a task or read a result; a worker that cannot build the sandbox refuses to grade.

A real `dask scheduler` and two `dask worker` processes (one thread each) on 127.0.0.1 grade a
made-up class of 4 (chapter 01's first fixtures: the reference, the blank notebook and two
wrong ones; what every fixture scores is `test_grading.py`'s concern). One worker is killed
with SIGKILL while it holds a task, after the first results arrived, and another takes its
place: every student must still score exactly what its fixture must score (the expectations
`course-grade selftest` checks on a local run), with one gradebook row per student and part.
Running the command again grades nothing; a changed grader version (the instructor's hidden
notebook edited) grades again.

The kernels run without the sandbox here (`--no-sandbox`), to keep the test short: the sandbox
on the same pure function, `grader.grade_task.grade_submission`, is covered by test_round.py's
round (which grades through it locally) and test_sandbox.py.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from grader.benchmark import make_class
from grader.cluster import CERTS_DIR, Connection, cert_files, make_certs
from grader.export import part_max
from grader.paths import NOTEBOOK
from grader.release import release
from grader.selftest import load_fixtures, scores

pytestmark = pytest.mark.slow

CHAPTER = "01-kernels"
# Four tasks on two one-thread workers: two wait when the first result comes, so a worker
# killed then holds one. Each more student is another 20 s of the suite on 2 cores.
CLASS = 4
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# A shared 2-core machine can stall a niced scheduler for over 30 s, Dask's default before it
# drops a silent connection (the client then loses every task): be patient here.
PATIENT = {
    "DASK_DISTRIBUTED__COMM__TIMEOUTS__TCP": "300s",
    "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "300s",
}
# A machine without bubblewrap: no sandbox walls (on one that has none already, nothing to hide).
HIDE_BWRAP = '{ [ ! -e /usr/bin/bwrap ] || mount --bind /dev/null /usr/bin/bwrap; } && exec "$@"'
NO_BWRAP = ["unshare", "--mount", "sh", "-c", HIDE_BWRAP, "no-bwrap"]


class Cluster:
    """A scheduler and its workers over mutual TLS, each a process group of its own."""

    def __init__(self, folder: Path, certs: Path) -> None:
        self.folder, self.certs = folder, certs
        self.address = f"tls://127.0.0.1:{_free_port()}"
        self.processes: dict[str, subprocess.Popen] = {}
        port = self.address.rsplit(":", 1)[1]
        self._start(
            "scheduler",
            [
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                port,
                "--protocol",
                "tls",
                "--no-dashboard",
                *self._tls("scheduler"),
            ],
        )

    def _tls(self, role: str) -> list[str]:
        cert, key = cert_files(self.certs, role)
        return [
            "--tls-ca-file",
            str(self.certs / "ca.pem"),
            "--tls-cert",
            str(cert),
            "--tls-key",
            str(key),
        ]

    def _start(self, name: str, args: list[str], wrap: list[str] | None = None) -> None:
        log = (self.folder / f"{name}.log").open("w")
        env = {**os.environ, "DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION": "True", **PATIENT}
        self.processes[name] = subprocess.Popen(
            [*(wrap or []), str(BIN / "dask"), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=self.folder,
            env=env,
        )

    def start_worker(self, name: str, wrap: list[str] | None = None) -> None:
        (self.folder / name).mkdir()
        self._start(
            name,
            [
                "worker",
                self.address,
                "--nthreads",
                "1",
                "--nworkers",
                "1",
                "--name",
                name,
                "--host",
                "127.0.0.1",
                "--no-dashboard",
                "--local-directory",
                str(self.folder / name),
                *self._tls("worker"),
            ],
            wrap,
        )

    def connection(self) -> Connection:
        return Connection(self.address, self.certs)

    def wait_for_workers(self, n: int) -> None:
        with self.connection().client(timeout="60s") as client:
            client.wait_for_workers(n, timeout=120)

    def kill(self, name: str) -> None:
        os.killpg(self.processes[name].pid, signal.SIGKILL)
        self.processes[name].wait()

    def close(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("certs") / CERTS_DIR
    make_certs(folder, ["127.0.0.1"])
    return folder


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, certs):
    cluster = Cluster(tmp_path_factory.mktemp("dask"), certs)
    try:
        for name in ("w1", "w2"):
            cluster.start_worker(name)
        cluster.wait_for_workers(2)
        yield cluster
    finally:
        cluster.close()


def _course_grade(course: Path, *args: str) -> subprocess.CompletedProcess:
    """`course-grade autograde` with the test cluster's certificates (`--certs`)."""
    command = [str(BIN / "course-grade"), "--course", str(course), "autograde", CHAPTER, *args]
    env = {**os.environ, **PATIENT}
    return subprocess.run(command, capture_output=True, text=True, timeout=1500, env=env)


def _log(course: Path) -> dict:
    path = course / "grading-log.json"
    return json.loads(path.read_text()).get(CHAPTER, {}) if path.exists() else {}


def _kill_a_busy_worker(cluster: Cluster, course: Path, killed: dict) -> None:
    """After the first result, SIGKILL a worker that holds a task; start another in its place."""
    deadline = time.monotonic() + 600
    with cluster.connection().client(timeout="60s") as client:
        while time.monotonic() < deadline:
            if _log(course):
                names = {a: w["name"] for a, w in client.scheduler_info()["workers"].items()}
                busy = {names[a]: keys for a, keys in client.processing().items() if keys}
                if busy:
                    name, keys = sorted(busy.items())[0]
                    cluster.kill(name)
                    killed.update(worker=name, keys=[str(k) for k in keys])
                    cluster.start_worker("w3")
                    return
            time.sleep(0.2)


def _expected(course: Path, names: list[str]) -> dict[str, dict[str, float]]:
    """What each made-up student must score: its fixture's expectation, as `selftest` checks."""
    fixtures = {fixture.student: fixture for fixture in load_fixtures(CHAPTER)}
    maxima = part_max(course, CHAPTER)
    return {
        name: {
            part: fixtures[name.split("-", 1)[1]].expected(part, top)
            for part, top in maxima.items()
        }
        for name in names
    }


def test_a_class_graded_on_dask_survives_a_killed_worker(cluster, tmp_path):
    course = tmp_path / "course"
    release(course, [CHAPTER])
    names = make_class(course, CHAPTER, CLASS)
    tls = ("--scheduler", cluster.address, "--certs", str(cluster.certs), "--no-sandbox")
    expected = _expected(course, names)
    killed: dict = {}
    killer = threading.Thread(target=_kill_a_busy_worker, args=(cluster, course, killed))
    killer.start()
    run = _course_grade(course, *tls)
    killer.join()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert f"{CLASS} graded, 0 unchanged" in run.stdout

    # A worker died holding tasks; they were graded elsewhere, and nobody was graded twice.
    assert killed.get("keys"), "no worker was killed while it held a task"
    assert any(f"-{name}-" in key for key in killed["keys"] for name in names)
    got = scores(course, CHAPTER)
    assert set(got) == set(names)
    wrong = {
        name: {p: s.score for p, s in got[name].items()}
        for name in names
        if {p: s.score for p, s in got[name].items()} != expected[name]
    }
    assert not wrong, wrong
    with sqlite3.connect(course / "gradebook.db") as db:
        submissions = db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT student_id) FROM submitted_assignment"
        ).fetchone()
        rows = db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT notebook_id || '/' || cell_id) FROM grade"
        ).fetchone()
    parts = len(expected[names[0]])
    assert submissions == (CLASS, CLASS) and rows == (CLASS * parts, CLASS * parts)
    for name in names:
        assert (course / "autograded" / name / CHAPTER / NOTEBOOK).is_file(), name
    log = _log(course)
    assert set(log) == set(names) and {e["status"] for e in log.values()} == {"graded"}

    # The same command again: every result is kept, nothing is graded.
    again = _course_grade(course, *tls)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert f"0 graded, {CLASS} unchanged" in again.stdout
    assert _log(course) == log

    # A changed grader version (the instructor's hidden tests edited) grades again.
    hidden = course / "hidden" / CHAPTER / NOTEBOOK
    nb = nbformat.read(hidden, as_version=4)
    nb.metadata["course_test"] = "a new grader version"
    nbformat.write(nb, hidden)
    some = names[:2]
    changed = _course_grade(course, *tls, *[a for name in some for a in ("--student", name)])
    assert changed.returncode == 0, changed.stdout[-3000:] + changed.stderr[-3000:]
    assert "2 graded, 0 unchanged" in changed.stdout
    after = _log(course)
    for name in names:
        new_version = after[name]["grader_version"] != log[name]["grader_version"]
        assert new_version == (name in some), name
    got = {n: {p: s.score for p, s in v.items()} for n, v in scores(course, CHAPTER).items()}
    assert got == expected


def _clients(cluster: Cluster) -> list[str]:
    """The clients the scheduler knows, asked with the course's certificate."""
    with cluster.connection().client(timeout="60s") as client:
        return sorted(client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.clients)))


def test_a_stranger_on_127_0_0_1_cannot_reach_the_cluster(cluster, tmp_path):
    from distributed import Client

    before = _clients(cluster)
    marker = tmp_path / "the stranger's task ran"
    port = int(cluster.address.rsplit(":", 1)[1])

    # Plain tcp: no TLS handshake, no connection, so no task and no result.
    with pytest.raises(OSError), Client(f"tcp://127.0.0.1:{port}", timeout="5s") as stranger:
        stranger.submit(marker.touch).result()
    # TLS with an authority and certificates the stranger made, named as the course's are.
    make_certs(tmp_path / "stranger", ["127.0.0.1"])
    with pytest.raises(OSError) as refused:
        with Connection(cluster.address, tmp_path / "stranger").client(timeout="5s") as stranger:
            stranger.submit(marker.touch).result()
    assert "TLS certificate does not match" in str(refused.value)
    # TLS without any client certificate, trusting the course's authority: the scheduler
    # requires one, so the connection ends before a single message is read.
    context = ssl.create_default_context(cafile=str(cluster.certs / "ca.pem"))
    context.check_hostname = False
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with pytest.raises((ssl.SSLError, ConnectionError)):
            with context.wrap_socket(raw) as tls:
                tls.sendall(b"\0" * 64)
                assert tls.recv(1) == b"", "the scheduler talked to a client without certificate"
                raise ConnectionError("closed")
    # The course's own client still works, and the scheduler never knew the stranger.
    assert not marker.exists()
    after = _clients(cluster)
    assert len(after) == len(before)
    log = (cluster.folder / "scheduler.log").read_text()
    assert log.count("TLS handshake failed") >= 2, log[-2000:]


def test_a_worker_without_the_sandbox_refuses_to_grade(certs, tmp_path):
    (tmp_path / "dask").mkdir()
    cluster = Cluster(tmp_path / "dask", certs)
    try:
        cluster.start_worker("bare", wrap=NO_BWRAP)
        cluster.wait_for_workers(1)
        course = tmp_path / "course"
        release(course, [CHAPTER])
        names = make_class(course, CHAPTER, 1)
        tls = ("--scheduler", cluster.address, "--certs", str(certs))
        refused = _course_grade(course, *tls)
        assert refused.returncode == 1, refused.stdout[-3000:] + refused.stderr[-3000:]
        host = socket.gethostname()
        for name in names:
            line = next(x for x in refused.stdout.splitlines() if f" {name} " in x)
            assert line.startswith("error") and f"{host} refuses to grade" in line, line
            assert "no bwrap" in line and "files" in line, line
        assert not (course / "autograded").exists() and not _log(course)
        with sqlite3.connect(course / "gradebook.db") as db:
            assert db.execute("SELECT COUNT(*) FROM grade").fetchone() == (0,)
        # The same worker grades when the instructor says so: it was the walls, nothing else.
        allowed = _course_grade(course, *tls, "--no-sandbox")
        assert allowed.returncode == 0, allowed.stdout[-3000:] + allowed.stderr[-3000:]
        assert "1 graded, 0 unchanged" in allowed.stdout
    finally:
        cluster.close()
