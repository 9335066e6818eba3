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
import builtins
import io
import json
import re
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from jupyter_core.utils import run_sync

from grader import kernel_side, message_caps

KERNEL_CODE = Path(kernel_side.__file__).read_text()
# What the kernel may send. A message frame over MAX_MESSAGE_BYTES is dropped unread by the
# client's session (`grader.message_caps`, set up by `grader.hidden`); one
# reply is refused unread over MAX_REPLY_BYTES or MAX_STRUCTURE JSON objects and arrays (64 MiB
# of "{}" costs Python ~2 GB once decoded); a part's replies together stop at MAX_PART_BYTES.
MAX_MESSAGE_BYTES = message_caps.MAX_FRAME_BYTES
MAX_REPLY_BYTES = 16 * 2**20
MAX_STRUCTURE = message_caps.MAX_STRUCTURE
MAX_PART_BYTES = 64 * 2**20
BUILTIN_ERRORS = {
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
}


class StudentCodeError(Exception):
    """The student's code raised, or sent back something the grader does not accept.

    `str(error)` is a sentence for the student that holds nothing the kernel wrote; `detail`
    is the kernel's own text (an exception's message), shown only where the inputs are the
    student's own (visible tests) and kept for the instructor otherwise.
    """

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


class MissingAttribute(StudentCodeError, AttributeError):
    """The kernel's object has no such attribute (so `hasattr` on a Remote works)."""


class ForgedReply(StudentCodeError):
    """A reply the grader's own code in the kernel never sends: a second answer to one request,
    an answer to another request, or names the grader did not ask for. Flagged for review."""


class NoReply(StudentCodeError):
    """The kernel went idle without an answer: the grader's code in the kernel was changed, or
    the answer was over the size the grader decodes (`MAX_MESSAGE_BYTES`) and was dropped."""


class PartTimeLimit(StudentCodeError):
    """A part's tests ran past their time limit; the kernel was interrupted and still answers."""


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
    if isinstance(value, np.ndarray | np.generic):  # before float: np.float64 is a float
        if isinstance(value, np.generic) and not value.dtype.hasobject:
            return {"t": "npscalar", "npy": _npy(np.asarray(value))}
        array = np.asarray(value)
        if array.dtype.hasobject:
            items = [encode(v) for v in array.ravel().tolist()]
            return {"t": "objarray", "shape": list(array.shape), "items": items}
        return {"t": "ndarray", "npy": _npy(array)}
    if isinstance(value, float):
        return {"t": "float", "v": repr(float(value))}
    if isinstance(value, str):
        return {"t": "str", "v": str(value)}
    if isinstance(value, bytes):
        return {"t": "bytes", "v": base64.b64encode(value).decode("ascii")}
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
        detail = f"{type(error).__name__}: {error}"[:500]
        raise StudentCodeError("the answer could not be read as data", detail) from None


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
        array = load_npy(base64.b64decode(item["npy"]))
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
        if link is None:
            raise ValueError("a model needs the grader's judge")
        return link.model(base64.b64decode(item["v"]))
    if kind == "handle" and link is not None:
        return Remote(link, item)
    raise ValueError(f"unknown kind {kind!r}")


def load_npy(raw: bytes) -> np.ndarray:
    """A `.npy` from the kernel, without pickles, refused when its header declares more data
    than the bytes hold (NumPy would allocate the declared size first)."""
    from numpy.lib import format as npy

    stream = io.BytesIO(raw)
    version = npy.read_magic(stream)
    if version == (1, 0):
        shape, _, dtype = npy.read_array_header_1_0(stream)
    else:
        shape, _, dtype = npy.read_array_header_2_0(stream)
    declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if dtype.hasobject or declared > len(raw) - stream.tell():
        raise ValueError("an array whose header does not match its data")
    stream.seek(0)
    return np.load(stream, allow_pickle=False)


class KernelLink:
    """Requests to the kernel of a running nbclient `NotebookClient` (nbgrader's Execute).

    `begin_part(seconds)` starts a part's budget: its requests share one deadline and at most
    `MAX_PART_BYTES` of replies. `judge` interprets the models the kernel sends back
    (`grader.judge`): they are never loaded in this process.
    """

    def __init__(self, client, timeout: float, judge=None) -> None:
        self.client, self.timeout = client, float(timeout)
        self.judge = judge
        self.ready = False
        self.dead = False
        self.begin_part(None)

    def begin_part(self, seconds: float | None) -> None:
        """A new part: its deadline (None: only the per-request limit) and byte budget."""
        self.deadline = None if seconds is None else time.monotonic() + float(seconds)
        self.part_bytes = 0

    def model(self, data: bytes):
        """A student's `.keras` bytes, interpreted by the judge (a stand-in with plain data)."""
        if self.judge is None:
            raise StudentCodeError("this grader cannot interpret models (no judge)")
        return self.judge.model(data)

    def start(self) -> None:
        """Send the kernel-side code (`grader.kernel_side`) into the kernel."""
        self._roundtrip(KERNEL_CODE, expect_reply=False)
        self.ready = True

    def describe(self, names: list[str]) -> dict[str, Any]:
        """What the kernel holds under each name: data, a Remote, or absent (left out).

        Only the names asked for are accepted: a reply that names anything else (the grader's
        own `checks`, say) is forged, and refused whole.
        """
        found = self.request("describe", names=names, raw=True)
        if not isinstance(found, dict) or not isinstance(found.get("items"), list):
            raise StudentCodeError("the kernel sent a malformed description of the answers")
        result = {}
        for pair in found["items"]:
            key, item = pair if isinstance(pair, list) and len(pair) == 2 else (None, None)
            name = decode(key) if isinstance(key, dict) else None
            if not isinstance(name, str) or name not in names:
                raise ForgedReply("the kernel answered for names the grader did not ask for")
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
            kind = error_name(reply.get("type"))
            error = MissingAttribute if op == "getattr" and kind == "AttributeError" else None
            detail = str(reply.get("message", ""))[:2000]
            raise (error or StudentCodeError)(f"your code raised {kind}", detail)
        return reply["value"] if raw else decode(reply.get("value"), self)

    def _roundtrip(self, code: str, token: str | None = None, expect_reply: bool = True) -> dict:
        try:
            return run_sync(self._async_roundtrip)(code, token, expect_reply)
        except KernelUnavailable:
            self.dead = True
            raise

    def _limit(self) -> tuple[float, bool]:
        """Seconds this request may take, and whether the part's deadline is what limits it."""
        if self.deadline is None:
            return self.timeout, False
        left = max(0.0, self.deadline - time.monotonic())
        return (left, True) if left < self.timeout else (self.timeout, False)

    async def _async_roundtrip(self, code: str, token: str | None, expect_reply: bool) -> dict:
        kc = self.client.kc
        limit, by_part = self._limit()
        if by_part and limit <= 0:
            raise PartTimeLimit("the part's tests ran out of time")
        msg_id = kc.execute(code, silent=False, store_history=False, allow_stdin=False)
        deadline = time.monotonic() + limit
        reply: dict | None = None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                await self._interrupt()
                if by_part and await self._idle_after_interrupt(kc, msg_id):
                    raise PartTimeLimit(f"the part's tests ran past their {limit:.0f} s limit")
                raise KernelUnavailable(f"no answer within the {limit:g} s limit")
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
            raise NoReply(
                "the kernel sent no answer the grader could read (over "
                f"{MAX_MESSAGE_BYTES // 2**20} MiB, or the grader's code in the kernel changed)"
            )
        return reply or {}

    async def _idle_after_interrupt(self, kc, msg_id: str, grace: float = 10.0) -> bool:
        """After an interrupt: whether the kernel finished the request within `grace` s."""
        deadline = time.monotonic() + grace
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                msg = await kc.get_iopub_msg(timeout=min(remaining, 1.0))
            except Exception:
                continue
            same = msg.get("parent_header", {}).get("msg_id") == msg_id
            if same and msg["msg_type"] == "status":
                if msg["content"].get("execution_state") == "idle":
                    return True
        return False

    def _parse(self, text: Any, token: str | None, before: dict | None) -> dict | None:
        if before is not None:  # exactly one answer per request
            raise ForgedReply("the kernel sent two answers to one request")
        if not isinstance(text, str) or len(text) > MAX_REPLY_BYTES:
            raise StudentCodeError(
                f"the answer is larger than the grader accepts ({MAX_REPLY_BYTES // 2**20} MiB)"
            )
        self.part_bytes += len(text)
        if self.part_bytes > MAX_PART_BYTES:
            raise StudentCodeError(
                f"the answers of this part add up to more than {MAX_PART_BYTES // 2**20} MiB"
            )
        if text.count("{") + text.count("[") > MAX_STRUCTURE:
            raise StudentCodeError("the answer holds more nested values than the grader reads")
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


def error_name(kind: Any) -> str:
    """An exception's name as the kernel gave it, shown only when it is one of Python's own (a
    class of the student's could carry anything in its name, the hidden inputs included)."""
    name = str(kind) if isinstance(kind, str) else ""
    return name if name in BUILTIN_ERRORS and re.fullmatch(r"\w+", name) else "an exception"
