"""The judge's protocol: one frame per request or reply, sized before it is read.

A frame is a header (magic, payload bytes, JSON bytes), JSON, then binary blobs: NumPy arrays as
.npy (read back with allow_pickle=False after their header is checked against their size) and
bytes as they are, referenced from the JSON as {"$blob": index}. Both sides check a frame's
sizes against a limit before reading its body. Shared by the grader (`grader.judge`) and the
worker in the jail (`grader.judge_worker`); plain Python and NumPy.
"""

from __future__ import annotations

import io
import json
import math
import struct
from typing import Any, BinaryIO

import numpy as np

HEADER = struct.Struct(">4sQI")  # magic, payload bytes, JSON bytes
MAGIC = b"CJ01"
MAX_JSON_BYTES = 4 * 2**20
MAX_REQUEST_BYTES = 256 * 2**20  # a model (64 MiB) or a training set of the course's size
MAX_REPLY_BYTES = 64 * 2**20


class FrameError(ValueError):
    """A frame that breaks the protocol or its limits."""


def _flatten(value: Any, blobs: list[bytes], kinds: list) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise FrameError("object arrays are not sent")
        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        blobs.append(buffer.getvalue())
        kinds.append("npy")
        return {"$blob": len(blobs) - 1}
    if isinstance(value, bytes | bytearray):
        blobs.append(bytes(value))
        kinds.append("bytes")
        return {"$blob": len(blobs) - 1}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _flatten(v, blobs, kinds) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_flatten(v, blobs, kinds) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise FrameError(f"cannot send a {type(value).__name__}")


def pack(value: Any) -> bytes:
    """One frame holding `value` (JSON data, NumPy arrays and bytes at any depth)."""
    blobs: list[bytes] = []
    kinds: list[str] = []
    body = _flatten(value, blobs, kinds)
    text = json.dumps(
        {"body": body, "blobs": [[k, len(b)] for k, b in zip(kinds, blobs, strict=True)]}
    )
    raw = text.encode()
    return HEADER.pack(MAGIC, len(raw) + sum(map(len, blobs)), len(raw)) + raw + b"".join(blobs)


def _array(blob: bytes) -> np.ndarray:
    stream = io.BytesIO(blob)
    version = np.lib.format.read_magic(stream)
    reader = {
        (1, 0): np.lib.format.read_array_header_1_0,
        (2, 0): np.lib.format.read_array_header_2_0,
    }.get(version)
    if reader is None:
        raise FrameError(f"npy version {version}")
    shape, _, dtype = reader(stream)
    if dtype.hasobject or math.prod(shape) * dtype.itemsize != len(blob) - stream.tell():
        raise FrameError("an array whose header does not match its data")
    stream.seek(0)
    return np.load(stream, allow_pickle=False)


def _restore(value: Any, blobs: list) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$blob"}:
            return blobs[int(value["$blob"])]
        return {k: _restore(v, blobs) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v, blobs) for v in value]
    return value


def read_frame(read_exact, limit: int) -> Any:
    """The value of one frame; `read_exact(n)` returns n bytes (b"" at the end of the stream).

    The sizes in the header are checked against `limit` before anything else is read; anything
    malformed is a FrameError (the other side broke the protocol)."""
    header = read_exact(HEADER.size)
    if not header:
        return EOFError
    if len(header) != HEADER.size:
        raise FrameError("a short header")
    magic, total, json_size = HEADER.unpack(header)
    if magic != MAGIC or total > limit or json_size > min(total, MAX_JSON_BYTES):
        raise FrameError(f"a frame of {total} bytes (JSON {json_size}) over the limit {limit}")
    try:
        message = json.loads(read_exact(json_size))
        specs = [(str(kind), int(size)) for kind, size in message["blobs"]]
        if any(size < 0 for _, size in specs) or sum(s for _, s in specs) != total - json_size:
            raise FrameError("blob sizes do not add up")
        blobs = []
        for kind, size in specs:
            data = read_exact(size)
            if len(data) != size:
                raise FrameError("a short blob")
            blobs.append(_array(data) if kind == "npy" else data)
        return _restore(message["body"], blobs)
    except FrameError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, RecursionError) as error:
        raise FrameError(f"a malformed frame: {type(error).__name__}: {error}"[:500]) from None


def write_frame(stream: BinaryIO, value: Any, limit: int) -> None:
    frame = pack(value)
    if len(frame) - HEADER.size > limit:
        raise FrameError(f"a reply of {len(frame)} bytes over the limit {limit}")
    stream.write(frame)
    stream.flush()
