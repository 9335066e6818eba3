"""The data that crosses between the grader and a student's kernel: plain values only.

`grader.remote` (grader side) and `grader.kernel_side` (kernel side) speak one format; these
tests run both ends in this process, without a kernel. The graded round in test_round.py
runs them against real kernels.
"""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest

from grader import kernel_side, remote


def _through_kernel(value):
    """Send `value` to the kernel side and back, as a request and a reply would."""
    probe = kernel_side.CourseProbe({})
    sent = json.loads(json.dumps(remote.encode(value)))
    back = json.loads(json.dumps(probe.encode(probe.decode(sent))))
    return remote.decode(back)


@pytest.mark.parametrize(
    "value",
    [0, -3, 2**70, 1.5, float("inf"), True, None, "", "ü", b"\x00\xff", [1, [2.5]], (1, "a")],
)
def test_plain_values_keep_their_type_and_value(value):
    got = _through_kernel(value)
    assert type(got) is type(value) and got == value


def test_arrays_keep_dtype_shape_and_values():
    for array in (np.arange(6, dtype=np.int8).reshape(2, 3), np.zeros((0, 4)), np.array(True)):
        got = _through_kernel(array)
        assert isinstance(got, np.ndarray) and got.dtype == array.dtype
        assert np.array_equal(got, array)
    scalar = _through_kernel(np.float32(0.25))
    assert type(scalar) is np.float32 and scalar == 0.25


def test_object_arrays_and_dicts_of_bytes():
    result = {"names": np.array([b"Person", b"Dog"], dtype=object), "scores": np.ones(2)}
    got = _through_kernel(result)
    assert list(got["names"]) == [b"Person", b"Dog"] and got["names"].dtype == object


def test_a_tensor_comes_back_as_a_tensor_value_not_an_array():
    probe = kernel_side.CourseProbe({})
    reply = {"t": "tensor", "npy": probe._npy(np.eye(2, dtype=np.float32)), "dtype": "float32"}
    got = remote.decode(reply)
    assert not isinstance(got, np.ndarray) and got.shape == (2, 2)
    assert np.array_equal(got.numpy(), np.eye(2)) and np.asarray(got).dtype == np.float32


def test_an_object_stays_in_the_kernel_as_a_handle():
    probe = kernel_side.CourseProbe({})
    reply = probe.encode(lambda x: x)
    assert reply["t"] == "handle" and reply["callable"]
    assert isinstance(remote.decode(reply, link=object()), remote.Remote)


def test_pickled_arrays_and_malformed_replies_are_refused():
    buffer = io.BytesIO()
    np.save(buffer, np.array([object()], dtype=object), allow_pickle=True)
    pickled = {"t": "ndarray", "npy": base64.b64encode(buffer.getvalue()).decode()}
    for bad in (pickled, {"t": "eval", "v": "1"}, ["t"], {"t": "int", "v": "x"}):
        with pytest.raises(remote.StudentCodeError):
            remote.decode(bad)


def test_a_reply_must_answer_this_request_once():
    """Anything else is a forged reply: graded as a failure and flagged (ForgedReply)."""
    good = json.dumps({"ok": True, "value": {"t": "none"}, "token": "abc"})
    link = remote.KernelLink(None, timeout=10)
    assert link._parse(good, "abc", None)["ok"]
    with pytest.raises(remote.ForgedReply, match="another request"):
        link._parse(good, "xyz", None)
    with pytest.raises(remote.ForgedReply, match="two answers"):
        link._parse(good, "abc", {"ok": True})


def test_replies_over_the_limits_are_refused_before_they_are_decoded():
    link = remote.KernelLink(None, timeout=10)
    empties = json.dumps({"token": "t", "ok": True, "value": [{}] * (remote.MAX_STRUCTURE + 1)})
    assert len(empties) < remote.MAX_REPLY_BYTES  # small in bytes, huge once decoded
    with pytest.raises(remote.StudentCodeError, match="nested values"):
        link._parse(empties, "t", None)
    with pytest.raises(remote.StudentCodeError, match="larger than the grader accepts"):
        link._parse("x" * (remote.MAX_REPLY_BYTES + 1), "t", None)
    link.begin_part(None)
    chunk = json.dumps({"token": "t", "ok": True, "value": "y" * (remote.MAX_REPLY_BYTES - 100)})
    with pytest.raises(remote.StudentCodeError, match="add up to more than"):
        for _ in range(remote.MAX_PART_BYTES // remote.MAX_REPLY_BYTES + 1):
            link._parse(chunk, "t", None)
    link.begin_part(None)  # a new part starts with a new budget
    assert link._parse(chunk, "t", None)["ok"]


def test_an_array_header_that_declares_more_than_its_data_is_refused():
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(4), allow_pickle=False)
    raw = buffer.getvalue().replace(b"(4,)", b"(4000000000,)".ljust(4), 1)
    header_declares_more = {"t": "ndarray", "npy": base64.b64encode(raw).decode()}
    with pytest.raises(remote.StudentCodeError, match="could not be read as data"):
        remote.decode(header_declares_more)


def test_numpy_scalars_reach_the_kernel_as_numpy_scalars():
    """A hidden test may pass np.float64(0.5) (a float subclass whose repr is np.float64(0.5))."""
    for value in (np.float64(0.5), np.float32(0.25), np.int64(7), np.bool_(True)):
        got = _through_kernel(value)
        assert type(got) is type(value) and got == value


def test_an_exception_name_is_shown_only_when_it_is_pythons_own():
    assert remote.error_name("ValueError") == "ValueError"
    assert remote.error_name("Leak_x_is_21") == "an exception"  # a class of the student's
    assert remote.error_name(None) == "an exception"


class _Replies:
    """A KernelLink whose kernel answers `describe` with a fixed reply."""

    def __init__(self, items):
        self.items = items

    def request(self, op, raw=False, **fields):
        return {"t": "dict", "items": self.items}


def test_a_description_naming_what_was_not_asked_is_forged():
    probe = kernel_side.CourseProbe({"answer": 42})
    asked = [[probe.encode("answer"), probe.encode(42)]]
    link = _Replies(asked)
    assert remote.KernelLink.describe(link, ["answer"]) == {"answer": 42}
    injected = [*asked, [probe.encode("checks"), probe.encode("anything")]]
    with pytest.raises(remote.ForgedReply, match="did not ask for"):
        remote.KernelLink.describe(_Replies(injected), ["answer"])


def test_a_tensor_value_indexes_like_a_tensor():
    value = remote.TensorValue(np.arange(6).reshape(2, 3))
    assert isinstance(value[1], remote.TensorValue) and list(value[1].numpy()) == [3, 4, 5]
    assert len(value) == 2


def test_a_missing_attribute_of_a_remote_object_is_an_attribute_error():
    assert issubclass(remote.MissingAttribute, AttributeError)
    assert issubclass(remote.MissingAttribute, remote.StudentCodeError)


class _InProcessLink:
    """A KernelLink whose 'kernel' is a CourseProbe in this process (JSON both ways)."""

    def __init__(self, namespace):
        self.probe = kernel_side.CourseProbe(namespace)

    def request(self, op, raw=False, **fields):
        message = {"op": op}
        for key, value in fields.items():
            message[key] = remote.encode(value) if key in ("args", "kwargs") else value
        value = json.loads(json.dumps(self.probe._answer(json.loads(json.dumps(message)))))
        return value if raw else remote.decode(value, self)

    def remote(self, name):
        return remote.decode(self.probe._handle(self.probe.namespace[name]), self)


def _scale_in_place(boxes, size=1.0):
    boxes *= size
    return boxes


def _scale_copy(boxes, size=1.0):
    return np.array(boxes, dtype=float) * size


def _first_row_zeroed(arrays):
    arrays[1][0] = 0
    return len(arrays)


def test_a_call_that_changes_an_input_array_in_place_fails_with_where():
    link = _InProcessLink({"f": _scale_in_place, "g": _scale_copy, "h": _first_row_zeroed})
    boxes = np.array([[0.1, 0.2, 0.5, 0.6]])
    with pytest.raises(remote.StudentCodeError, match=r"\(argument 1\) in place"):
        link.remote("f")(boxes, size=2.0)
    assert np.array_equal(boxes, [[0.1, 0.2, 0.5, 0.6]])  # the grader's own copy never changes
    assert np.allclose(link.remote("g")(boxes, size=2.0), [[0.2, 0.4, 1.0, 1.2]])
    with pytest.raises(remote.StudentCodeError, match=r"item \[1\] of argument 1"):
        link.remote("h")([np.ones(2), np.ones(2)])
    with pytest.raises(remote.StudentCodeError, match="argument boxes="):
        link.remote("f")(boxes=np.ones((2, 2)), size=3.0)


def test_writing_the_same_values_back_or_returning_the_input_is_not_a_change():
    def same(image):
        image[:] = image.copy()
        return image

    link = _InProcessLink({"same": same})
    image = np.arange(6, dtype=np.uint8).reshape(2, 3)
    assert np.array_equal(link.remote("same")(image), image)
    digests = kernel_side.array_digests
    assert digests([image.T], {}, np) != digests([image], {}, np)  # shape and order count


def test_a_kernel_without_numpy_reports_no_arrays():
    assert kernel_side.array_digests([1, [2]], {"k": "v"}, None) == {}
