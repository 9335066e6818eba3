"""The grader's end of a live student kernel: call the student's names, get plain data back.

The hidden tests run in the grader's own process (`grader.hidden`). In their namespace each name
an answer cell defines is a stand-in: a value the kernel sent back as data (an array, a number,
a string, a list...), or a `Remote` for something callable or not plain data (a function, a
class, an instance), which forwards calls and attribute reads to the kernel. What comes back is
decoded here with `np.load(..., allow_pickle=False)` and Keras models with `safe_mode=True`: no
object of the student's is ever unpickled in the grader, and the expected values the tests
compute never enter the kernel. A call also checks that the student's code left the arrays it
was given unchanged (their digests, `kernel_side.array_digests`).

Over 300 lines for a reason: the grader's whole side of the protocol (encode, decode, the link
and its stand-ins) reads as one piece next to `kernel_side.py`, its other side.
"""

from __future__ import annotations

import base64
import io
import json
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from jupyter_core.utils import run_sync

from grader import kernel_side

KERNEL_CODE = Path(kernel_side.__file__).read_text()
MAX_REPLY_BYTES = 64 * 2**20  # one answer larger than this is refused, not read


class StudentCodeError(Exception):
    """The student's code raised, or sent back something the grader does not accept."""


class MissingAttribute(StudentCodeError, AttributeError):
    """The kernel's object has no such attribute (so `hasattr` on a Remote works)."""


class ForgedReply(StudentCodeError):
    """A reply the grader's own code in the kernel never sends: a second answer to one request,
    an answer to another request, or none at all (that code was changed). Flagged for review."""


class KernelUnavailable(StudentCodeError):
    """The kernel died, hung past the time limit or stopped answering."""


class TensorValue:
    """A tf.Tensor the student's code returned, as data: `.numpy()`, `.shape`, `.dtype`.

    It is not a NumPy array (`isinstance(value, np.ndarray)` is False), as the real one is not.
    """

    def __init__(self, array: np.ndarray) -> None:
        self._array = array
        self.shape, self.dtype = array.shape, array.dtype

    def numpy(self) -> np.ndarray:
        return self._array.copy()

    def __getitem__(self, index) -> TensorValue:
        return TensorValue(np.asarray(self._array[index]))

    def __len__(self) -> int:
        return len(self._array)

    def __array__(self, dtype=None, copy=None):
        return self._array if dtype is None else self._array.astype(dtype)

    def __repr__(self) -> str:
        return f"<tf.Tensor shape={self.shape} dtype={self.dtype}>"


class Remote:
    """Something in the student's kernel that is not plain data; calls go to the kernel."""

    def __init__(self, link: KernelLink, info: dict) -> None:
        self._link, self._id = link, int(info["id"])
        self.remote_type = str(info.get("type", "?"))
        self.remote_mro = [str(name) for name in info.get("mro", [])]

    def __call__(self, *args, **kwargs):
        reply = self._link.request("call", raw=True, id=self._id, args=list(args), kwargs=kwargs)
        if not isinstance(reply, dict) or reply.get("t") != "called":
            raise StudentCodeError("the kernel sent a malformed answer to a call")
        after = reply.get("digests") if isinstance(reply.get("digests"), dict) else {}
        for where, digest in kernel_side.array_digests(args, kwargs, np).items():
            if after.get(where) != digest:
                raise StudentCodeError(_changed_in_place(where))
        return decode(reply.get("value"), self._link)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return self._link.request("getattr", id=self._id, attr=name)

    def remote_isinstance(self, qualified_name: str) -> bool:
        """Whether the kernel's object is an instance of e.g. 'keras.src.callbacks...Callback'."""
        return qualified_name in self.remote_mro

    def __repr__(self) -> str:
        return f"<{self.remote_type} in the student's kernel>"


def _changed_in_place(where: str) -> str:
    return (
        f"your function changed the array it was given ({where}) in place; the task's functions "
        "must leave their inputs unchanged: work on a copy, e.g. np.array(x, dtype=float)"
    )


def encode(value: Any) -> dict:
    """A grader-side value as request data (arrays as .npy, models as .keras, Remote by id)."""
    if isinstance(value, Remote):
        return {"t": "ref", "id": value._id}
    if value is None:
        return {"t": "none"}
    if isinstance(value, bool):
        return {"t": "bool", "v": value}
    if isinstance(value, int):
        return {"t": "int", "v": str(value)}
    if isinstance(value, float):
        return {"t": "float", "v": repr(value)}
    if isinstance(value, str):
        return {"t": "str", "v": value}
    if isinstance(value, bytes):
        return {"t": "bytes", "v": base64.b64encode(value).decode("ascii")}
    if isinstance(value, np.ndarray | np.generic):
        array = np.asarray(value)
        if array.dtype.hasobject:
            items = [encode(v) for v in array.ravel().tolist()]
            return {"t": "objarray", "shape": list(array.shape), "items": items}
        kind = "ndarray" if isinstance(value, np.ndarray) else "npscalar"
        return {"t": kind, "npy": _npy(array)}
    if isinstance(value, list | tuple):
        return {"t": type(value).__name__, "items": [encode(v) for v in value]}
    if isinstance(value, dict):
        return {"t": "dict", "items": [[encode(k), encode(v)] for k, v in value.items()]}
    module = type(value).__module__ or ""
    if module.startswith(("tensorflow", "keras")):
        import keras

        if isinstance(value, keras.Model):
            with tempfile.TemporaryDirectory() as folder:
                value.save(f"{folder}/model.keras")
                data = Path(f"{folder}/model.keras").read_bytes()
            return {"t": "keras", "v": base64.b64encode(data).decode("ascii")}
        if hasattr(value, "numpy"):
            return {"t": "tensor", "npy": _npy(np.asarray(value.numpy()))}
    raise TypeError(f"the grader cannot send a {type(value).__name__} to the kernel")


def _npy(array: np.ndarray) -> str:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def decode(item: Any, link: KernelLink | None = None, depth: int = 0) -> Any:
    """A reply from the kernel as grader-side values; anything malformed is the student's fault."""
    try:
        return _decode(item, link, depth)
    except StudentCodeError:
        raise
    except Exception as error:
        raise StudentCodeError(f"the answer could not be read as data ({error})") from None


def _decode(item: Any, link: KernelLink | None, depth: int) -> Any:
    if depth > 32 or not isinstance(item, dict):
        raise ValueError("malformed reply")
    kind = item.get("t")
    if kind == "none":
        return None
    if kind == "bool":
        return bool(item["v"])
    if kind == "int":
        return int(str(item["v"])[:4000])
    if kind == "float":
        return float(str(item["v"]))
    if kind == "str":
        return str(item["v"])
    if kind == "bytes":
        return base64.b64decode(item["v"])
    if kind in ("ndarray", "npscalar", "tensor"):
        array = np.load(io.BytesIO(base64.b64decode(item["npy"])), allow_pickle=False)
        if kind == "tensor":
            return TensorValue(array)
        return array[()] if kind == "npscalar" else array
    if kind == "objarray":
        values = [_decode(v, link, depth + 1) for v in item["items"]]
        array = np.empty(len(values), dtype=object)
        array[:] = values
        return array.reshape([int(n) for n in item["shape"]])
    if kind in ("list", "tuple"):
        values = [_decode(v, link, depth + 1) for v in item["items"]]
        return values if kind == "list" else tuple(values)
    if kind == "dict":
        return {_decode(k, link, depth + 1): _decode(v, link, depth + 1) for k, v in item["items"]}
    if kind == "keras":
        return _load_model(base64.b64decode(item["v"]))
    if kind == "handle" and link is not None:
        return Remote(link, item)
    raise ValueError(f"unknown kind {kind!r}")


def _load_model(data: bytes):
    """A Keras model from the student's `.keras` bytes, loaded with safe_mode (no code runs)."""
    import keras

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        path.write_bytes(data)
        return keras.models.load_model(path, safe_mode=True, compile=True)


class KernelLink:
    """Requests to the kernel of a running nbclient `NotebookClient` (nbgrader's Execute)."""

    def __init__(self, client, timeout: float) -> None:
        self.client, self.timeout = client, float(timeout)
        self.ready = False
        self.dead = False

    def start(self) -> None:
        """Send the kernel-side code (`grader.kernel_side`) into the kernel."""
        self._roundtrip(KERNEL_CODE, expect_reply=False)
        self.ready = True

    def describe(self, names: list[str]) -> dict[str, Any]:
        """What the kernel holds under each name: data, a Remote, or absent (left out)."""
        found = self.request("describe", names=names, raw=True)
        result = {}
        for key, item in found["items"]:
            name = decode(key)
            if isinstance(item, dict) and item.get("t") != "missing":
                result[name] = decode(item, self)
        return result

    def run(self, code: str, **inputs: Any) -> Any:
        """Run driver `code` in the kernel with `inputs` bound; return its `result` as data."""
        return self.request("run", code=code, inputs=inputs)

    def request(self, op: str, raw: bool = False, **fields: Any) -> Any:
        if self.dead:
            raise KernelUnavailable("the kernel is no longer running")
        token = secrets.token_hex(8)
        message = {"op": op, "token": token}
        for key, value in fields.items():
            message[key] = encode(value) if key in ("args", "kwargs", "inputs") else value
        code = f"__course_probe__.serve({json.dumps(json.dumps(message))})"
        reply = self._roundtrip(code, token=token)
        if not reply.get("ok"):
            kind, text = str(reply.get("type", "Error")), str(reply.get("message", ""))
            error = MissingAttribute if op == "getattr" and kind == "AttributeError" else None
            raise (error or StudentCodeError)(f"your code raised {kind}: {text}"[:2000])
        return reply["value"] if raw else decode(reply.get("value"), self)

    def _roundtrip(self, code: str, token: str | None = None, expect_reply: bool = True) -> dict:
        try:
            return run_sync(self._async_roundtrip)(code, token, expect_reply)
        except KernelUnavailable:
            self.dead = True
            raise

    async def _async_roundtrip(self, code: str, token: str | None, expect_reply: bool) -> dict:
        kc = self.client.kc
        msg_id = kc.execute(code, silent=False, store_history=False, allow_stdin=False)
        deadline = time.monotonic() + self.timeout
        reply: dict | None = None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                await self._interrupt()
                raise KernelUnavailable(f"no answer within the {self.timeout:g} s limit")
            try:
                msg = await kc.get_iopub_msg(timeout=min(remaining, 1.0))
            except (TimeoutError, Exception) as error:  # queue.Empty
                if type(error).__name__ != "Empty" and not isinstance(error, TimeoutError):
                    raise
                if not await self._alive():
                    raise KernelUnavailable("the kernel died") from None
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "display_data" and kernel_side.MIME in content.get("data", {}):
                reply = self._parse(content["data"][kernel_side.MIME], token, reply)
            elif kind == "status" and content.get("execution_state") == "idle":
                break
        if expect_reply and reply is None:
            raise ForgedReply("the kernel sent no answer (was the grader's code changed?)")
        return reply or {}

    @staticmethod
    def _parse(text: Any, token: str | None, before: dict | None) -> dict | None:
        if before is not None:  # exactly one answer per request
            raise ForgedReply("the kernel sent two answers to one request")
        if not isinstance(text, str) or len(text) > MAX_REPLY_BYTES:
            raise StudentCodeError("the answer is larger than the grader accepts (64 MiB)")
        reply = json.loads(text)
        if not isinstance(reply, dict) or reply.get("token") != token:
            raise ForgedReply("the kernel sent an answer to another request")
        return reply

    async def _alive(self) -> bool:
        try:
            return bool(await self.client.km.is_alive())
        except Exception:
            return False

    async def _interrupt(self) -> None:
        try:
            await self.client.km.interrupt_kernel()
        except Exception:
            pass
