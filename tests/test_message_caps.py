"""grader.message_caps: a kernel's message over the caps is never decoded, a small one is."""

from __future__ import annotations

import pytest
from jupyter_client.session import Session

from grader import message_caps


def _frames(session: Session, msg_type: str, content: dict) -> list[bytes]:
    msg = session.msg(msg_type, content, parent={"msg_id": "request-1"})
    return session.serialize(msg)[1:]  # without the delimiter, as feed_identities leaves it


@pytest.fixture
def session() -> Session:
    capped = Session(key=b"secret")
    message_caps.cap_messages(capped)
    return capped


def test_a_small_message_is_decoded_as_it_was(session):
    msg = session.deserialize(_frames(session, "stream", {"name": "stdout", "text": "hi\n"}))
    assert msg["content"] == {"name": "stdout", "text": "hi\n"}
    assert msg["parent_header"]["msg_id"] == "request-1"


@pytest.mark.parametrize(
    "content",
    [
        {"data": {"text/plain": "x" * (message_caps.MAX_FRAME_BYTES + 1)}},
        {"data": {"application/json": [{}] * (message_caps.MAX_STRUCTURE + 1)}},
    ],
    ids=["bytes", "structures"],
)
def test_a_message_over_a_cap_becomes_a_stand_in_of_its_type(session, content):
    msg = session.deserialize(_frames(session, "display_data", content))
    assert msg["msg_type"] == "display_data" and msg["parent_header"]["msg_id"] == "request-1"
    assert msg["content"]["data"] == {"text/plain": message_caps.NOTE}


def test_every_stand_in_is_valid_for_its_type():
    assert message_caps.stand_in_content("stream")["name"] == "stderr"
    assert message_caps.stand_in_content("error")["traceback"] == [message_caps.NOTE]
    assert message_caps.stand_in_content("execute_reply")["status"] == "error"
    assert message_caps.stand_in_content("comm_msg") == {}


def test_a_forged_signature_is_still_refused(session):
    frames = _frames(session, "stream", {"name": "stdout", "text": "x" * 2**25})
    frames[0] = b"0" * len(frames[0])
    with pytest.raises(ValueError, match="Invalid Signature"):
        session.deserialize(frames)


def test_a_header_over_the_caps_leaves_a_message_nobody_waits_for(session):
    frames = _frames(session, "stream", {"name": "stdout", "text": "x"})
    frames[1] = b'{"msg_id": "a", "msg_type": "stream", "pad": "' + b"[" * 200_000 + b'"}'
    frames[0] = session.sign(frames[1:5])
    msg = session.deserialize(frames)
    assert msg["parent_header"] == {} and msg["msg_type"] == "dropped"


def test_a_result_over_the_caps_leaves_the_cells_count_alone(session):
    """nbclient copies any "execution_count" of an output's content to the cell: a stand-in
    carries none, and an execute_result (whose count is unknown) arrives as a display."""
    big = {"data": {"text/plain": "x" * (message_caps.MAX_FRAME_BYTES + 1)}, "metadata": {}}
    msg = session.deserialize(_frames(session, "execute_result", {**big, "execution_count": 3}))
    assert msg["msg_type"] == msg["header"]["msg_type"] == "display_data"
    assert "execution_count" not in msg["content"]
    assert "execution_count" not in message_caps.stand_in_content("display_data")
