"""The cluster's walls without a cluster: the course's certificates, the refused addresses, and
a worker's answer read as plain data (tests/test_distributed.py runs the real cluster)."""

from __future__ import annotations

import ssl
import stat
from dataclasses import asdict

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from grader.cli import main
from grader.cluster import ROLES, ClusterRefused, Connection, cert_files, make_certs
from grader.grade_result import GradeResult
from grader.task_data import RemoteError, result_from_data


def test_cluster_certs_are_private_and_signed_by_the_course(tmp_path):
    course = tmp_path / "course"
    assert (
        main(
            [
                "--course",
                str(course),
                "cluster-certs",
                "--hosts",
                "127.0.0.1",
                "grader1.example.edu",
            ]
        )
        == 0
    )
    folder = course / "cluster"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = sorted(p.name for p in folder.iterdir())
    assert files == sorted(
        ["ca.pem", "ca-key.pem", *[f"{r}{s}.pem" for r in ROLES for s in ("", "-key")]]
    )
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o600}
    ca = x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes())
    for role in ROLES:
        cert_path, key_path = cert_files(folder, role)
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        cert.verify_directly_issued_by(ca)
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH} <= set(usage)
        ssl.create_default_context().load_cert_chain(cert_path, key_path)  # key matches
    sans = x509.load_pem_x509_certificate(cert_files(folder, "worker")[0].read_bytes())
    names = sans.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "grader1.example.edu" in names.get_values_for_type(x509.DNSName)
    # A second run would cut every worker off: refused unless --force.
    before = (folder / "ca.pem").read_bytes()
    with pytest.raises(SystemExit, match="--force"):
        main(["--course", str(course), "cluster-certs"])
    assert (folder / "ca.pem").read_bytes() == before
    main(["--course", str(course), "cluster-certs", "--force"])
    assert (folder / "ca.pem").read_bytes() != before


@pytest.mark.parametrize(
    ("address", "insecure", "refusal"),
    [
        ("tcp://127.0.0.1:8786", False, "plain tcp://"),
        ("127.0.0.1:8786", False, "plain tcp://"),
        ("tcp://scheduler.invalid:8786", True, "127.0.0.1 only"),
        ("tcp://10.1.2.3:8786", True, "127.0.0.1 only"),
        ("ws://127.0.0.1:8786", True, "only tls://"),
        ("tls://127.0.0.1:8786", False, "cluster-certs"),  # no certificates in the course
    ],
)
def test_addresses_refused_before_anything_is_sent(tmp_path, address, insecure, refusal):
    with pytest.raises(ClusterRefused, match=refusal):
        Connection(address, tmp_path / "cluster", insecure).check()
    argv = ["--course", str(tmp_path / "course"), "autograde", "01-kernels", "--scheduler", address]
    with pytest.raises(SystemExit, match=refusal):
        main(argv + ["--insecure-localhost"] * insecure)


def test_plain_tcp_on_loopback_only_when_asked(tmp_path):
    Connection("tcp://127.0.0.1:8786", None, insecure_local=True).check()
    make_certs(tmp_path / "cluster")
    Connection("tls://127.0.0.1:8786", tmp_path / "cluster").check()


def _result() -> GradeResult:
    return GradeResult(
        "ada",
        "01-kernels",
        "graded",
        seconds=3.5,
        flags=["code: eval"],
        kernel_peaks={"memory": 2**30},
        sandbox_uid=61001,
        sha256="ab",
        grader_version="cd",
        settings="ef",
        worker="host",
        scores={"p1": 2.0, "p2": None},
        needs_manual={"p1": False},
        comments={"c1": None},
        timestamp="2025-03-01T10:00:00",
        late_penalty=0.0,
        notebook=b"{}",
        log="log",
        workdir="/tmp/x",
    )


def test_a_workers_answer_is_read_as_typed_data():
    good = result_from_data({"result": asdict(_result())})
    assert good == _result()
    as_msgpack = asdict(_result())  # msgpack gives lists back, 2 may stand for 2.0
    as_msgpack["flags"] = ("code: eval",)
    as_msgpack["scores"]["p1"] = 2
    assert isinstance(result_from_data({"result": as_msgpack}), GradeResult)
    error = result_from_data({"error": "SandboxMissing", "message": "host refuses to grade"})
    assert isinstance(error, RemoteError) and "host refuses" in str(error)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["result"].update(status=object()),
        lambda d: d["result"]["scores"].update(p1="10"),
        lambda d: d["result"].update(notebook="text, not bytes"),
        lambda d: d["result"].update(extra=1),
        lambda d: d["result"].update(flags=[1]),
        lambda d: d["result"].update(reused=1),
        lambda d: d.update(error="x"),
        lambda d: d["result"].pop("student"),
    ],
)
def test_a_malformed_answer_is_not_a_result(change):
    data = {"result": asdict(_result())}
    change(data)
    assert isinstance(result_from_data(data), RemoteError)
    assert isinstance(result_from_data(["not", "a", "dict"]), RemoteError)
