"""The only grader code that runs in a student's kernel: it calls the student's names.

`grader.remote` sends this file's source into the kernel once the notebook has run, then one
request per call the hidden tests make. Nothing here decides a verdict and nothing here is
secret: a request holds the name to call and the inputs; the reply holds what the student's
code returned, as plain data (JSON, `.npy` bytes, a `.keras` file), which the grader reads with
`allow_pickle=False` and `safe_mode=True`. Objects that are not data (a callback, a function
returned by a function) stay in the kernel and are named by a number ("handle").

Whatever the student's code does to this code (patching it, hooking IPython) can only change
what comes back for the student's own answers, and those are checked in the grader's process.
"""

import base64
import hashlib
import io
import json
import sys
import tempfile
import traceback

MIME = "text/x-course-probe"


def array_digests(args, kwargs, np):
    """A digest of every NumPy array among a call's arguments (top level or in a list, tuple or
    dict argument), keyed by where it is in words ("argument 1", "item [0] of argument boxes="):
    the grader compares them with the arrays it sent, to see whether the student's code changed
    an input in place. The grader uses this code too. Without NumPy (`np` None) there is none."""
    found = {}
    if np is None:
        return found

    def visit(where, value, nested):
        if isinstance(value, np.ndarray) and not value.dtype.hasobject:
            head = f"{value.dtype.str}{tuple(value.shape)}".encode()
            found[where] = hashlib.sha256(head + np.ascontiguousarray(value).tobytes()).hexdigest()
        elif not nested and isinstance(value, list | tuple | dict):
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                visit(f"item [{key!r}] of {where}", item, True)

    for index, value in enumerate(args):
        visit(f"argument {index + 1}", value, False)
    for name, value in kwargs.items():
        visit(f"argument {name}=", value, False)
    return found


class CourseProbe:
    """Kernel-side end of the grader's requests (bound as `__course_probe__`)."""

    def __init__(self, namespace):
        self.namespace = namespace
        self.objects = {}

    # --- values to data -----------------------------------------------------------------

    def _npy(self, array):
        buffer = io.BytesIO()
        sys.modules["numpy"].save(buffer, array, allow_pickle=False)
        return base64.b64encode(buffer.getvalue()).decode("ascii")

    def _handle(self, value):
        number = len(self.objects) + 1
        self.objects[number] = value
        kind = type(value)
        return {
            "t": "handle",
            "id": number,
            "type": f"{kind.__module__}.{kind.__qualname__}",
            "mro": [f"{k.__module__}.{k.__qualname__}" for k in kind.__mro__],
            "callable": callable(value),
        }

    def encode(self, value, depth=0):
        np = sys.modules.get("numpy")
        if depth > 32:
            raise ValueError("a value nested more than 32 levels deep")
        if value is None:
            return {"t": "none"}
        if isinstance(value, bool):
            return {"t": "bool", "v": value}
        if isinstance(value, int):
            return {"t": "int", "v": str(int(value))}
        if np is not None and isinstance(value, np.ndarray | np.generic):  # np.float64: a float
            kind = "ndarray" if isinstance(value, np.ndarray) else "npscalar"
            array = np.asarray(value)
            if array.dtype.hasobject:
                items = [self.encode(v, depth + 1) for v in array.ravel().tolist()]
                return {"t": "objarray", "shape": list(array.shape), "items": items}
            return {"t": kind, "npy": self._npy(array)}
        if isinstance(value, float):
            return {"t": "float", "v": repr(float(value))}
        if isinstance(value, str):
            return {"t": "str", "v": str(value)}
        if isinstance(value, bytes | bytearray):
            return {"t": "bytes", "v": base64.b64encode(bytes(value)).decode("ascii")}
        module = type(value).__module__ or ""
        if module.startswith(("tensorflow", "keras")) and hasattr(value, "numpy"):
            try:
                array = np.asarray(value.numpy())
            except Exception:  # a symbolic tensor: no values
                return self._handle(value)
            return {"t": "tensor", "npy": self._npy(array), "dtype": str(array.dtype)}
        keras = sys.modules.get("keras")
        if keras is not None and isinstance(value, keras.Model):
            with tempfile.TemporaryDirectory() as folder:
                path = f"{folder}/model.keras"
                value.save(path)
                with open(path, "rb") as handle:
                    data = handle.read()
            return {"t": "keras", "v": base64.b64encode(data).decode("ascii")}
        if isinstance(value, list | tuple):
            items = [self.encode(v, depth + 1) for v in value]
            return {"t": type(value).__name__, "items": items}
        if isinstance(value, dict):
            pairs = [
                [self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in value.items()
            ]
            return {"t": "dict", "items": pairs}
        return self._handle(value)

    # --- data to values -----------------------------------------------------------------

    def decode(self, item):
        np = sys.modules.get("numpy")
        kind = item["t"]
        if kind == "none":
            return None
        if kind in ("bool", "str"):
            return item["v"]
        if kind == "int":
            return int(item["v"])
        if kind == "float":
            return float(item["v"])
        if kind == "bytes":
            return base64.b64decode(item["v"])
        if kind in ("ndarray", "npscalar", "tensor"):
            array = np.load(io.BytesIO(base64.b64decode(item["npy"])), allow_pickle=False)
            if kind == "tensor" and "tensorflow" in sys.modules:
                return sys.modules["tensorflow"].constant(array)
            return array[()] if kind == "npscalar" else array
        if kind == "objarray":
            values = [self.decode(v) for v in item["items"]]
            array = np.empty(len(values), dtype=object)
            array[:] = values
            return array.reshape(item["shape"])
        if kind in ("list", "tuple"):
            values = [self.decode(v) for v in item["items"]]
            return values if kind == "list" else tuple(values)
        if kind == "dict":
            return {self.decode(k): self.decode(v) for k, v in item["items"]}
        if kind == "ref":
            return self.objects[item["id"]]
        if kind == "keras":
            import keras

            with tempfile.TemporaryDirectory() as folder:
                path = f"{folder}/model.keras"
                with open(path, "wb") as handle:
                    handle.write(base64.b64decode(item["v"]))
                return keras.models.load_model(path)
        raise ValueError(f"unknown kind {kind!r}")

    # --- requests -----------------------------------------------------------------------

    def _target(self, request):
        if "id" in request:
            return self.objects[request["id"]]
        return self.namespace[request["name"]]

    def _answer(self, request):
        op = request["op"]
        if op == "describe":
            found = {}
            for name in request["names"]:
                if name not in self.namespace:
                    found[name] = {"t": "missing"}
                else:
                    value = self.namespace[name]
                    found[name] = self._handle(value) if callable(value) else self.encode(value)
            return {"t": "dict", "items": [[self.encode(k), v] for k, v in found.items()]}
        if op == "call":
            args = self.decode(request["args"])
            kwargs = self.decode(request["kwargs"])
            value = self.encode(self._target(request)(*args, **kwargs))
            digests = array_digests(args, kwargs, sys.modules.get("numpy"))
            return {"t": "called", "value": value, "digests": digests}
        if op == "getattr":
            return self.encode(getattr(self._target(request), request["attr"]))
        if op == "run":
            scope = dict(self.namespace)
            scope.update(self.decode(request["inputs"]))
            exec(compile(request["code"], "<grader driver>", "exec"), scope)
            return self.encode(scope.get("result"))
        raise ValueError(f"unknown request {op!r}")

    def serve(self, text):
        request = json.loads(text)
        try:
            reply = {"ok": True, "value": self._answer(request)}
        except BaseException as error:  # the student's code raised: report it as data
            reply = {
                "ok": False,
                "type": type(error).__name__,
                "message": str(error)[:2000],
                "where": "".join(traceback.format_exception_only(type(error), error))[-2000:],
            }
        reply["token"] = request["token"]
        from IPython.display import publish_display_data

        publish_display_data({MIME: json.dumps(reply)})


__course_probe__ = CourseProbe(globals())
