"""A throwaway PostgreSQL server for the tests: Debian's `postgresql` binaries, a private cluster.

`PostgresServer` runs initdb in a new temporary folder, starts the server with pg_ctl on
127.0.0.1 and a free port (password login only, scram-sha-256), creates one database, and stops
the server and removes the folder at the end. PostgreSQL refuses to run as root: as root the
cluster belongs to an unprivileged user (`nobody`) and every pg_ctl runs through `runuser`.
`server_or_skip` skips the test with the reason where the binaries are missing (`.ci/run`
installs them).
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

SEARCH = ("/usr/lib/postgresql/*/bin",)  # Debian's layout; else initdb on PATH
UNPRIVILEGED = "nobody"
ADMIN = "course"


def bin_dir() -> Path | None:
    """The newest PostgreSQL's bin/ with initdb and pg_ctl, or None."""
    found = sorted(
        (p for pattern in SEARCH for p in Path("/").glob(pattern.lstrip("/"))),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    for folder in reversed(found):
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """One private cluster: `url` is a postgresql:// URL of its database, password included."""

    def __init__(self, bin_path: Path, database: str = "gradebook"):
        self.bin = bin_path
        self.database = database
        self.password = "pw-" + secrets.token_hex(8)
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="course-pg-"))
        self.as_root = os.geteuid() == 0
        self.url = f"postgresql://{ADMIN}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    def _run(self, tool: str, *args: str) -> str:
        command = [str(self.bin / tool), *args]
        if self.as_root:
            command = ["runuser", "-u", UNPRIVILEGED, "--", *command]
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PGPASSWORD": self.password, "LC_ALL": "C"},
        )
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed: {result.stdout}{result.stderr}")
        return result.stdout

    def start(self) -> PostgresServer:
        data, pwfile = self.folder / "data", self.folder / "password"
        pwfile.write_text(self.password + "\n")
        if self.as_root:
            user = pwd.getpwnam(UNPRIVILEGED)
            for path in (self.folder, pwfile):
                os.chown(path, user.pw_uid, user.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(data),
            "-U",
            ADMIN,
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        )
        pwfile.unlink()
        options = f"-h 127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off -c max_connections=50"
        self._run(
            "pg_ctl",
            "-D",
            str(data),
            "-l",
            str(self.folder / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", ADMIN, self.database)
        return self

    def log(self) -> str:
        path = self.folder / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        try:
            if (self.folder / "data" / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def server_or_skip() -> PostgresServer:
    """A started server, or the test skipped with the reason where PostgreSQL is missing."""
    found = bin_dir()
    if found is None:
        pytest.skip("PostgreSQL's initdb and pg_ctl not found (Debian: apt-get install postgresql)")
    if os.geteuid() == 0 and not shutil.which("runuser"):
        pytest.skip("running as root, and no runuser to start PostgreSQL as an unprivileged user")
    server = PostgresServer(found)
    try:
        return server.start()
    except Exception:
        server.stop()
        raise
