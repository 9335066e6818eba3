"""A grading task's answer as plain data: what a Dask worker sends, what the instructor reads.

A worker runs `grade_as_data` (`grader.grade_task.grade_submission`, its result as dicts,
lists, strings, numbers and bytes; a failure as two strings, never raised). The instructor's
process reads it as msgpack only (`grader.cluster.Connection.client`) and `result_from_data`
checks every field against the result's own annotations before it becomes a `GradeResult`:
an object, a wrong type or an unknown field is a `RemoteError`, never a result.
"""

from __future__ import annotations

from dataclasses import asdict, fields

from grader.grade_result import GradeResult
from grader.grade_task import Chapter, Settings, Submission, grade_submission


class RemoteError(RuntimeError):
    """A task's failure as the worker reported it, in words (never an unpickled exception)."""


def grade_as_data(
    chapter: Chapter, submission: Submission, version: str, settings: Settings
) -> dict:
    """`grade_submission` for a Dask worker: plain data out, a failure in words, never raised.

    What a worker sends back is read by the instructor's process as msgpack data only
    (`grader.cluster.Connection.client`), and turned back into a result by `result_from_data`.
    """
    try:
        return {"result": asdict(grade_submission(chapter, submission, version, settings))}
    except Exception as error:
        return {"error": type(error).__name__, "message": str(error)[:4000]}


_RESULT_TYPES = {f.name: f.type for f in fields(GradeResult)}


def result_from_data(data: object) -> GradeResult | RemoteError:
    """A worker's answer, checked field by field against the result's types, as objects."""
    if not isinstance(data, dict):
        return RemoteError(f"the worker's answer is not a result ({type(data).__name__})")
    if set(data) == {"error", "message"}:
        name, message = data["error"], data["message"]
        if isinstance(name, str) and isinstance(message, str):
            return RemoteError(f"{name[:80]}: {message[:4000]}")
    result = data.get("result") if set(data) == {"result"} else None
    if not isinstance(result, dict):
        return RemoteError("the worker's answer is not a result")
    try:
        return GradeResult(**_checked(result, _RESULT_TYPES))
    except (TypeError, ValueError) as error:
        return RemoteError(f"the worker's answer is malformed: {error}")


def _checked(values: dict, types: dict[str, str]) -> dict:
    """`values` if every key is a field and every value matches its annotation's plain type."""
    for key, value in values.items():
        if key not in types:
            raise ValueError(f"unexpected field {key!r}")
        if not _is(value, types[key].replace(" ", "")):
            raise TypeError(f"{key}: {type(value).__name__} where {types[key]} belongs")
    return values


def _is(value: object, annotation: str) -> bool:
    """Whether `value` fits a plain annotation such as `dict[str,float|None]` (no objects)."""
    options = _split(annotation, "|")
    if len(options) > 1:
        return any(_is(value, option) for option in options)
    plain = {"str": str, "bytes": bytes, "bool": bool, "None": type(None)}
    if annotation in plain:
        return type(value) is plain[annotation]
    if annotation in {"int", "float"}:  # msgpack keeps 2.0 a float, and 2 may stand for 2.0
        kinds = (int,) if annotation == "int" else (int, float)
        return type(value) in kinds
    if annotation.startswith("list[") and isinstance(value, list | tuple):
        return all(_is(item, annotation[5:-1]) for item in value)
    if annotation.startswith("dict[") and type(value) is dict:
        key, item = _split(annotation[5:-1], ",")
        return all(_is(k, key) and _is(v, item) for k, v in value.items())
    return False


def _split(text: str, sep: str) -> list[str]:
    """`text` split at `sep` outside brackets."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]
