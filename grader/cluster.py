"""The grading cluster's walls: mutual TLS with certificates the course makes, and the address.

A Dask scheduler runs whatever a client sends it (task graphs are unpickled), and a client
unpickles what the scheduler and workers send back: whoever can talk to the cluster can change
the grading function or run code on the instructor's machine. So the cluster speaks only TLS,
and every end must show a certificate signed by the course's own authority (`ca.pem`), which
`course-grade cluster-certs` makes once, into `<course>/cluster/`:

    ca.pem, ca-key.pem            the course's authority (its key never leaves the instructor)
    scheduler.pem, -key.pem       for `dask scheduler --protocol tls ...`
    worker.pem, worker-key.pem    for each `dask worker tls://...` (copied to grading machines)
    client.pem, client-key.pem    for `course-grade autograde --scheduler tls://...`

Keys are ECDSA P-256, files 0600 in a 0700 folder. Each certificate may act as both ends of a
TLS connection (Dask's processes listen and connect). Hostnames are not checked by Dask (its
contexts trust the course's authority only, `check_hostname` off); `--hosts` puts the names in
the scheduler's and workers' certificates for the reader. A stranger without a certificate of
the course, or with one they signed themselves, cannot complete the handshake, so cannot send a
task, read a result or pose as a worker. Plain `tcp://` is refused unless `insecure_local`
asks for it on the loopback address (a single-user machine, for trying things out).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

CERTS_DIR = "cluster"  # inside the course folder
ROLES = ("scheduler", "worker", "client")
DAYS = 400  # a course term and then some; `cluster-certs --force` makes new ones
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
CONNECT_TIMEOUT = "120s"  # Dask's 30 s default: a busy scheduler's TLS handshake can take longer


class ClusterRefused(ValueError):
    """The cluster address or its certificates do not meet the walls: nothing is sent."""


def cert_files(folder: Path, role: str) -> tuple[Path, Path]:
    """A role's certificate and key in `folder`."""
    return Path(folder) / f"{role}.pem", Path(folder) / f"{role}-key.pem"


def make_certs(folder: Path, hosts: list[str] | None = None, force: bool = False) -> list[Path]:
    """The course's authority and a certificate per role, written into `folder` (0700, 0600)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder = Path(folder)
    if (folder / "ca.pem").exists() and not force:
        raise ClusterRefused(
            f"{folder} already holds the course's certificates; --force makes new ones (then "
            "copy the new worker files to every grading machine and restart the cluster)"
        )
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.chmod(0o700)
    now = datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=DAYS)
    name = lambda cn: x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])  # noqa: E731
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = name("course-grade cluster authority")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(x509, cert_sign=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    written = [
        _write(folder / "ca.pem", ca.public_bytes(serialization.Encoding.PEM)),
        _write(folder / "ca-key.pem", _pem_key(ca_key, serialization)),
    ]
    names = []
    for host in hosts or []:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    for role in ROLES:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(f"course-grade {role}"))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(x509, cert_sign=False), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                False,
            )
        )
        if names and role != "client":
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert, key_file = cert_files(folder, role)
        pem = builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
        written += [_write(cert, pem), _write(key_file, _pem_key(key, serialization))]
    return written


def _usage(x509, cert_sign: bool):
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _pem_key(key, serialization) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes) -> Path:
    """A file only its owner can read, created so (never readable for a moment)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return path


def security(folder: Path, role: str = "client"):
    """Dask's `Security` for `role`: TLS required, the course's authority the only one trusted."""
    from distributed.security import Security

    folder = Path(folder)
    cert, key = cert_files(folder, role)
    missing = [p.name for p in (folder / "ca.pem", cert, key) if not p.is_file()]
    if missing:
        raise ClusterRefused(
            f"no course certificates for the cluster in {folder} (missing {', '.join(missing)}):"
            " make them with `course-grade cluster-certs`"
        )
    return Security(
        tls_ca_file=str(folder / "ca.pem"),
        tls_client_cert=str(cert),
        tls_client_key=str(key),
        tls_scheduler_cert=str(cert),
        tls_scheduler_key=str(key),
        tls_worker_cert=str(cert),
        tls_worker_key=str(key),
        require_encryption=True,
    )


@dataclass(frozen=True)
class Connection:
    """Where the cluster is and how to prove the course's identity to it."""

    address: str
    certs: Path | None  # the folder of cert_files; None only with insecure_local
    insecure_local: bool = False

    def check(self) -> None:
        """Refuse a plain address (unless local and asked for) and TLS without certificates."""
        parts = urlsplit(self.address if "://" in self.address else "tcp://" + self.address)
        if parts.scheme == "tls":
            if self.certs is None:
                raise ClusterRefused("a tls:// scheduler needs the course's certificates")
            security(self.certs)  # raises if a file is missing
            return
        if parts.scheme != "tcp":
            raise ClusterRefused(f"{self.address}: only tls:// (or tcp:// on 127.0.0.1) is used")
        if not self.insecure_local:
            raise ClusterRefused(
                f"{self.address}: plain tcp:// is neither encrypted nor authenticated (anyone "
                "who reaches it can replace the grading function or send results that run code "
                "here): use tls:// with the course's certificates (`course-grade cluster-certs`)"
            )
        if parts.hostname not in LOOPBACK:
            raise ClusterRefused(
                f"{self.address}: --insecure-localhost is for a scheduler on 127.0.0.1 only"
            )

    def client(self, **kwargs):
        """A Dask client that only reads plain data from the cluster (msgpack, never pickle).

        Dask still unpickles an erred task's exception as the scheduler sends it: mutual TLS
        is what keeps strangers from sending any (see the module's docstring).
        """
        from distributed import Client

        self.check()
        secure = {} if self.address.startswith("tcp") else {"security": security(self.certs)}
        kwargs.setdefault("timeout", CONNECT_TIMEOUT)
        return Client(self.address, deserializers=["msgpack"], **secure, **kwargs)


def connection(scheduler: str | Connection, course: Path) -> Connection:
    """A bare address gets the course's certificates."""
    if isinstance(scheduler, Connection):
        return scheduler
    return Connection(scheduler, Path(course) / CERTS_DIR)
