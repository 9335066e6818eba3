"""The judge's frames (grader.judge_protocol): values round-trip; sizes are checked first."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from grader import judge_protocol as protocol


def read(frame: bytes, limit: int = 10**6):
    return protocol.read_frame(io.BytesIO(frame).read, limit)


def test_values_arrays_and_bytes_round_trip():
    value = {
        "x": np.arange(6, dtype=np.float32).reshape(2, 3),
        "data": b"\x00\xff",
        "plain": [1, 2.5, None, "s", True, (np.int64(3),)],
    }
    got = read(protocol.pack(value))
    assert got["x"].dtype == np.float32 and np.array_equal(got["x"], value["x"])
    assert got["data"] == b"\x00\xff" and got["plain"] == [1, 2.5, None, "s", True, [3]]
    assert read(b"") is EOFError  # the other side closed


def frame(body: bytes, total: int | None = None, json_size: int | None = None) -> bytes:
    size = len(body) if json_size is None else json_size
    return protocol.HEADER.pack(protocol.MAGIC, len(body) if total is None else total, size) + body


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (frame(b"", total=10**12, json_size=10), "over the limit"),  # refused from the header
        (protocol.HEADER.pack(b"EVIL", 2, 2) + b"{}", "over the limit"),
        (frame(b"[" * 100_000 + b"]" * 100_000), "RecursionError"),
        (frame(json.dumps({"body": 1, "blobs": [["bytes", -5]]}).encode()), "do not add up"),
        (frame(json.dumps({"body": {"$blob": 3}, "blobs": []}).encode()), "IndexError"),
        (frame(b"not json"), "malformed"),
        (b"CJ", "short header"),
    ],
)
def test_malformed_or_oversized_frames_are_refused(raw, words):
    with pytest.raises(protocol.FrameError, match=words):
        read(raw)


def test_an_array_header_that_declares_more_than_it_holds_is_refused():
    """A .npy header for a million floats over 72 bytes of data: refused before np.load."""
    npy = io.BytesIO()
    np.save(npy, np.zeros(10**6, np.float32), allow_pickle=False)
    blob = npy.getvalue()[:128] + b"\0" * 72
    body = json.dumps({"body": {"$blob": 0}, "blobs": [["npy", len(blob)]]}).encode()
    with pytest.raises(protocol.FrameError, match="does not match its data"):
        read(frame(body, total=len(body) + len(blob)) + blob)
    with pytest.raises(protocol.FrameError, match="object arrays"):
        protocol.pack(np.array([object()], dtype=object))


def test_a_reply_over_its_limit_is_not_written():
    stream = io.BytesIO()
    with pytest.raises(protocol.FrameError, match="over the limit"):
        protocol.write_frame(stream, b"x" * 1000, limit=100)
    assert stream.getvalue() == b""
