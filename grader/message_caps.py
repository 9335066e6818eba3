"""What the grader decodes of a kernel's messages: no frame over the caps, whatever it says.

A student's kernel can publish anything on its channels (a display of 25 million empty
objects is 100 MB of JSON and ~10 GB once decoded into Python and nbformat objects). The
grader's kernel client decodes each message through its `jupyter_client.Session`;
`cap_messages(session)` makes that session refuse, before `json.loads`, any frame over
`MAX_FRAME_BYTES` or with more than `MAX_STRUCTURE` JSON objects and arrays, and hand on a
small stand-in of the same type instead ("dropped unread"), so that nbclient goes on with the
next message and the grader's own requests keep their answers.

The socket's own cap (`zmq.MAXMSGSIZE`, `SOCKET_CAP_BYTES`, set by `grader.hidden` on the
client's context) is the last wall, far above this one: libzmq closes a connection that sends
a larger frame, and an IOPub subscription does not come back, so the rest of that notebook is
graded without its outputs (each cell then waits `iopub_timeout`).
"""

from __future__ import annotations

from typing import Any

MAX_FRAME_BYTES = 16 * 2**20
MAX_STRUCTURE = 100_000  # "{" and "[" bytes: 16 MiB of "{}" would be ~4 million dicts
SOCKET_CAP_BYTES = 256 * 2**20
NOTE = "(a message larger than the grader reads was dropped unread)"


class OversizedFrame(Exception):
    """A frame over the caps: never decoded."""


def _raw(frame: Any) -> bytes:
    return frame if isinstance(frame, bytes) else bytes(getattr(frame, "bytes", frame))


def over_caps(data: bytes) -> bool:
    return len(data) > MAX_FRAME_BYTES or data.count(b"{") + data.count(b"[") > MAX_STRUCTURE


def stand_in_content(msg_type: str) -> dict:
    """The content that replaces a dropped one: valid for its type, saying what happened."""
    if msg_type == "stream":
        return {"name": "stderr", "text": NOTE + "\n"}
    if msg_type in ("display_data", "update_display_data"):
        # No "execution_count": nbclient would write it over the cell's own.
        return {"data": {"text/plain": NOTE}, "metadata": {}, "transient": {}}
    if msg_type == "error":
        return {"ename": "MessageDropped", "evalue": NOTE, "traceback": [NOTE]}
    if msg_type == "execute_reply":
        return {
            "status": "error",
            "ename": "MessageDropped",
            "evalue": NOTE,
            "traceback": [],
            "execution_count": None,
            "user_expressions": {},
            "payload": [],
        }
    return {}


def cap_messages(session: Any) -> None:
    """Make `session` (a `jupyter_client.Session`) decode no frame over the caps."""
    unpack, deserialize = session.unpack, session.deserialize

    def guarded_unpack(frame: Any) -> Any:
        data = _raw(frame)
        if over_caps(data):
            raise OversizedFrame(len(data))
        return unpack(data)

    def capped_deserialize(msg_list: list, content: bool = True, copy: bool = True) -> dict:
        try:
            return deserialize(msg_list, content=content, copy=copy)
        except OversizedFrame:
            pass
        try:  # the signature was checked by `deserialize` before any frame was decoded
            header, parent = guarded_unpack(msg_list[1]), guarded_unpack(msg_list[2])
        except OversizedFrame:  # no parent to answer: a message nobody waits for
            header, parent = {"msg_id": "", "msg_type": "dropped"}, {}
        msg_type = str(header.get("msg_type", ""))
        if msg_type == "execute_result":  # its count is unknown: shown as a display instead
            header = {**header, "msg_type": "display_data"}
            msg_type = "display_data"
        return {
            "header": header,
            "msg_id": header.get("msg_id", ""),
            "msg_type": msg_type,
            "parent_header": parent,
            "metadata": {},
            "content": stand_in_content(msg_type),
            "buffers": [],
        }

    session.unpack = guarded_unpack
    session.deserialize = capped_deserialize
