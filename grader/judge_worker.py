"""The judge's process: loads a student's Keras model in a jail and answers with plain data.

`grader.judge` starts this module (`python -m grader.judge_worker`) inside bubblewrap with no
network, no view of the course, a tmpfs scratch and rlimits, as a uid of its own. It reads
requests on stdin and writes replies on stdout, one frame each (`write_frame`, `read_frame`):
a header with the sizes, JSON, then binary blobs (arrays as .npy, read with allow_pickle=False;
bytes as they are). Every frame's size is checked before it is read, in both directions.

Loading a model here runs the same plain-Python rules as the grader (`grader.judge_rules`), then
checks the HDF5 weights (`check_weights`: links, dtypes, declared sizes against stored bytes),
rewrites the archive from the checked members and only then calls Keras, with `safe_mode=True`
and two more walls (`install_guards`): Keras resolves no class outside the allow-list and no
function at all, and `Lambda` cannot be built. Keras's global settings are checked after each
request; a request that changed them ends the process after its reply.

The frames are `grader.judge_protocol`'s.
"""

from __future__ import annotations

import io
import json
import math
import os
import sys
import zipfile
from typing import Any, BinaryIO

from grader import judge_rules, judge_tasks
from grader.judge_protocol import (
    MAX_REPLY_BYTES,
    MAX_REQUEST_BYTES,
    FrameError,
    read_frame,
    write_frame,
)
from grader.judge_rules import Failure

SCRATCH = os.path.join(os.environ.get("COURSE_JUDGE_SCRATCH", "/tmp"), "judge")


# --- Inside the judge ---


def install_guards() -> None:
    """Walls inside Keras: only allow-listed classes resolve, no function does, no Lambda."""
    import keras
    from keras.src.saving import serialization_lib

    original = serialization_lib._retrieve_class_or_fn

    def retrieve(name, registered_name, module, obj_type, full_config, custom_objects=None):
        if obj_type != "class" or name not in judge_rules.ALLOWED.get(module, ()):
            raise Failure("refused", f"the judge resolves no {obj_type} {module}.{name}")
        return original(name, registered_name, module, obj_type, full_config, custom_objects)

    def no_lambda(*args, **kwargs):
        raise Failure("refused", "the judge never builds a Lambda layer")

    serialization_lib._retrieve_class_or_fn = retrieve
    keras.layers.Lambda.__init__ = no_lambda
    keras.layers.Lambda.from_config = classmethod(no_lambda)


def check_weights(data: bytes, limits: judge_rules.RuleLimits) -> None:
    """Refuse HDF5 weights Keras never writes: links other than hard ones, non-numeric, chunked,
    filtered, external or virtual datasets, or datasets declaring more than they store."""
    import h5py

    def refuse(detail: str) -> Failure:
        return Failure("weights", detail)

    try:
        handle = h5py.File(io.BytesIO(data), "r")
    except Exception as error:
        raise refuse(f"not HDF5: {error}") from None
    total, count = 0, 0
    with handle:
        groups = [handle]
        while groups:
            group = groups.pop()
            for name in group:
                count += 1
                if count > 20_000:
                    raise refuse("too many objects")
                if not isinstance(group.get(name, getlink=True), h5py.HardLink):
                    raise refuse(f"a link that is not a hard link: {name}")
                item = group[name]
                _check_attributes(item, name, refuse)
                if isinstance(item, h5py.Group):
                    groups.append(item)
                    continue
                if not isinstance(item, h5py.Dataset):
                    raise refuse(f"an object that is not a group or a dataset: {name}")
                if (
                    item.dtype.kind not in "biuf"
                    or item.chunks
                    or item.compression
                    or (item.external or item.is_virtual)
                ):
                    raise refuse(f"a dataset Keras never writes: {name} {item.dtype}")
                declared = math.prod(item.shape) * item.dtype.itemsize
                if declared > item.id.get_storage_size():
                    raise refuse(f"{name} declares {declared} bytes, stores fewer")
                total += declared
                if total > limits.weights_bytes:
                    raise refuse(f"over {limits.weights_bytes} bytes of weights")


def _check_attributes(item: Any, name: str, refuse) -> None:
    import h5py

    if len(item.attrs) > 8:
        raise refuse(f"{len(item.attrs)} attributes on {name}")
    for key in item.attrs:
        attribute = item.attrs.get_id(key)
        text = h5py.check_string_dtype(attribute.dtype) is not None
        if math.prod(attribute.shape or ()) > 64 or attribute.dtype.kind == "O" and not text:
            raise refuse(f"an attribute Keras never writes on {name}")


def load_checked(archive: judge_rules.Archive, compile: bool) -> Any:
    """Keras's model from checked members, rewritten as a fresh archive in the scratch."""
    import keras

    os.makedirs(SCRATCH, exist_ok=True)
    path = os.path.join(SCRATCH, "model.keras")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as fresh:
        fresh.writestr("config.json", json.dumps(archive.config))
        fresh.writestr("metadata.json", json.dumps({"keras_version": keras.__version__}))
        fresh.writestr("model.weights.h5", archive.weights)
    try:
        model = keras.saving.load_model(path, compile=compile, safe_mode=True)
    except Failure:
        raise
    except Exception as error:
        raise Failure("load", f"{type(error).__name__}: {error}") from None
    finally:
        os.unlink(path)
    for layer in model._flatten_layers(include_self=False):
        if type(layer).__name__ not in judge_rules.LAYERS | {"Sequential", "Functional"}:
            raise Failure("refused", f"a {type(layer).__name__} layer after loading")
    return model


def load(data: Any, compile: bool, limits: judge_rules.RuleLimits) -> tuple[Any, dict]:
    """A checked model from `.keras` bytes, and the config it was built from."""
    if not isinstance(data, bytes):
        raise Failure("inputs", "a model should come as the bytes of a .keras file")
    try:
        archive = judge_rules.check_archive(data, limits, compile)
    except judge_rules.Refused as error:
        raise Failure("refused", f"{error.message} ({error.detail})") from None
    check_weights(archive.weights, limits)
    return load_checked(archive, compile), archive.config


def _settings() -> tuple:
    import keras

    config = keras.config
    return (
        config.floatx(),
        config.epsilon(),
        config.image_data_format(),
        config.dtype_policy().name,
        config.is_interactive_logging_enabled(),
        config.is_traceback_filtering_enabled(),
        judge_rules.__name__,
    )


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Answer requests until stdin closes; a request that changed Keras's settings ends it."""
    install_guards()
    state = judge_tasks.State(load=load)
    before = _settings()
    write_frame(stdout, {"ok": True, "value": {"ready": True, "pid": os.getpid()}}, 4096)

    def read_exact(n: int) -> bytes:
        chunks, left = [], n
        while left:
            chunk = stdin.read(left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    while True:
        request = read_frame(read_exact, MAX_REQUEST_BYTES)
        if request is EOFError:
            return
        try:
            reply = {"ok": True, "value": state.answer(request)}
        except Failure as error:
            reply = {"ok": False, "code": error.code, "detail": error.detail}
        except Exception as error:  # the course's own code failed on this input
            reply = {"ok": False, "code": "failed", "detail": f"{type(error).__name__}: {error}"}
        tainted = _settings() != before
        reply["restart"] = tainted
        try:
            write_frame(stdout, reply, MAX_REPLY_BYTES)
        except FrameError as error:
            write_frame(stdout, {"ok": False, "code": "too_large", "detail": str(error)}, 4096)
        if tainted:
            return


def main() -> None:
    # The protocol keeps the original stdin and stdout; anything a library prints goes to stderr.
    stdin = os.fdopen(os.dup(0), "rb", buffering=0)
    stdout = os.fdopen(os.dup(1), "wb")
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)
    sys.stdin = open(os.devnull)
    serve(stdin, stdout)


if __name__ == "__main__":
    main()
