"""The judge (grader.judge): a student's model read in a jail, with real Keras and real bwrap.

Each attack of issue 26 is a fixture of its own that must gain nothing and leave the grader and
the machine as they were: refused (before loading where the config shows it), no file outside
the judge's scratch, the grader's Keras settings and memory unchanged, the judge still working
for the next model. The good paths: the reference models of chapters 05 and 07 are judged and
predict exactly what Keras predicts here. One judge serves the whole module (its start-up
imports TensorFlow in the jail); the test that kills it on a time limit runs last.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import h5py
import keras
import nbformat
import numpy as np
import pytest

from grader import notebooks, sandbox
from grader.judge import Judge, JudgeError, JudgeRefused, JudgeTimeout, JudgeUnavailable
from grader.paths import REPO_ROOT, SOLUTIONS_DIR
from grader.remote import StudentCodeError
from helpers import model_facts

pytestmark = pytest.mark.skipif(
    sandbox.availability()["files"] is not None,
    reason=f"the judge's jail needs bwrap: {sandbox.availability()['files']}",
)


def keras_bytes(model) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        model.save(f"{folder}/model.keras")
        return Path(f"{folder}/model.keras").read_bytes()


def rezip(data: bytes, config=None, extra: dict | None = None, weights: bytes | None = None):
    """The archive `data` with its config (a function of it), weights or members changed."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    if config is not None:
        changed = config(json.loads(members["config.json"]))
        members["config.json"] = (
            changed if isinstance(changed, bytes) else json.dumps(changed).encode()
        )
    if weights is not None:
        members["model.weights.h5"] = weights
    members.update(extra or {})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def small_dense():
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="probe")])


def lambda_layer(module: str, function: str, arguments: dict) -> dict:
    return {
        "module": "keras.layers",
        "class_name": "Lambda",
        "registered_name": None,
        "config": {
            "name": "payload",
            "function": {
                "module": module,
                "class_name": "function",
                "config": function,
                "registered_name": "function",
            },
            "arguments": arguments,
        },
    }


def with_layer(layer: dict):
    def change(config):
        config["config"]["layers"].insert(1, layer)
        return config

    return change


def keras_settings() -> tuple:
    config = keras.config
    return (
        config.floatx(),
        config.epsilon(),
        config.image_data_format(),
        config.max_epochs(),
        config.dtype_policy().name,
        config.is_traceback_filtering_enabled(),
    )


def peak_rss() -> int:
    text = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", text).group(1)) * 1024


def owned_by(uid: int, roots: list[Path]) -> list[str]:
    """What `uid` owns in `roots` and one level below (where a process could have written)."""
    found = []
    for root in roots:
        for path in [root, *root.iterdir()]:
            try:
                inside = list(path.iterdir()) if path.is_dir() and not path.is_symlink() else []
            except OSError:
                inside = []
            for item in [path, *inside]:
                try:
                    if item.lstat().st_uid == uid:
                        found.append(str(item))
                except OSError:
                    pass
    return found


@pytest.fixture(scope="module")
def judge():
    """One judge for the module; at the end, nothing of it remains and Keras here is unchanged."""
    before = keras_settings()
    with Judge() as shared:
        shared.start()
        yield shared
        uid = shared._uid
    assert keras_settings() == before
    if uid is not None:
        for _ in range(50):  # the worker dies with bwrap (die-with-parent): a moment later
            if not sandbox.live_processes(uid):
                break
            time.sleep(0.1)
        assert sandbox.live_processes(uid) == []
        assert owned_by(uid, [Path(tempfile.gettempdir()), Path("/dev/shm"), REPO_ROOT]) == []


def refused(judge: Judge, data: bytes, words: str, compile: bool = False) -> JudgeRefused:
    """The judge refuses `data` with a sentence holding `words`, before asking its worker."""
    started = judge.generation
    rss = peak_rss()
    with pytest.raises(JudgeRefused) as caught:
        judge.model(data, compile=compile)
    assert words in str(caught.value), str(caught.value)
    assert str(caught.value).startswith("the model could not be loaded")
    assert judge.generation == started  # no worker was started or replaced for it
    assert peak_rss() - rss < 64 * 2**20 + 2 * len(data)  # the grader's memory: bounded
    return caught.value


# --- Attacks ---


def test_judge_errors_score_zero_like_student_errors():
    assert issubclass(JudgeRefused, StudentCodeError) and issubclass(JudgeTimeout, JudgeError)


def test_a_lambda_that_writes_a_file_is_refused_before_loading(judge, tmp_path):
    target = tmp_path / "written-by-the-model.png"
    payload = lambda_layer("keras.utils", "save_img", {"path": str(target), "x": [[[0.0]]]})
    data = rezip(keras_bytes(small_dense()), config=with_layer(payload))
    refused(judge, data, "a layer the course does not accept (Lambda)")
    assert not target.exists() and list(tmp_path.iterdir()) == []


LAMBDA_PROBE = """
import json, sys, keras
from keras.src.saving import serialization_lib
from grader import judge_rules, judge_worker
data = open(sys.argv[1], "rb").read()
archive = judge_rules.read_archive(data)  # the members only: the allow-list is NOT applied
kept = (serialization_lib._retrieve_class_or_fn, keras.layers.Lambda.__init__,
        keras.layers.Lambda.__dict__["from_config"])
found = {}
for mode in ("guarded", "plain"):
    if mode == "guarded":
        judge_worker.install_guards()
    else:  # Keras as it is, to show that the payload is live
        serialization_lib._retrieve_class_or_fn = kept[0]
        keras.layers.Lambda.__init__, keras.layers.Lambda.from_config = kept[1:]
    try:
        judge_worker.load_checked(archive, compile=False)
        outcome = "loaded"
    except Exception as error:
        outcome = type(error).__name__ + ": " + str(error)
    found[mode] = {"outcome": outcome, "max_epochs": str(keras.config.max_epochs())}
print(json.dumps(found))
"""


def test_the_judge_never_builds_a_lambda_layer_even_past_the_rules(tmp_path):
    """Keras 3.15.1 with safe_mode=True calls a Lambda's Keras function while it loads (here
    `keras.config.set_max_epochs`, which changes a global setting); the worker's guards stop it
    even when the plain-Python rules are skipped. Fails the day the judge loads a Lambda."""
    payload = lambda_layer("keras.config", "set_max_epochs", {})
    path = tmp_path / "payload.keras"
    path.write_bytes(rezip(keras_bytes(small_dense()), config=with_layer(payload)))
    run = subprocess.run(
        [sys.executable, "-c", LAMBDA_PROBE, str(path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "HOME": str(tmp_path), "COURSE_JUDGE_SCRATCH": str(tmp_path)},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    found = json.loads(run.stdout.strip().splitlines()[-1])
    assert found["guarded"]["max_epochs"] == "None"
    assert found["guarded"]["outcome"] == (
        "Failure: the judge resolves no class keras.layers.Lambda"
    )
    # Keras itself builds the Lambda and calls its function: the check after loading that
    # names the Lambda comes too late, the global setting has changed.
    assert found["plain"]["outcome"] == "Failure: a Lambda layer after loading"
    assert found["plain"]["max_epochs"] != "None"


def test_an_archive_with_a_fourth_member_is_refused(judge):
    data = rezip(keras_bytes(small_dense()), extra={"assets/../../escape.txt": b"x" * 1000})
    error = refused(judge, data, "which Keras never writes")
    assert "escape" in str(error) and "/" not in str(error).split("holds")[1]


def test_declared_sizes_are_refused_from_the_config(judge):
    def huge(config):
        config["config"]["layers"][1]["config"]["units"] = 10**9
        return config

    refused(judge, rezip(keras_bytes(small_dense()), config=huge), "larger than the grader")

    def wide(config):  # 8000 x 8000 weights, consistent everywhere: 64 million parameters
        input_layer, dense = config["config"]["layers"]
        input_layer["config"]["batch_shape"] = dense["build_config"]["input_shape"] = [None, 8000]
        dense["config"]["units"] = 8000
        return config

    refused(judge, rezip(keras_bytes(small_dense()), config=wide), "64,008,000 parameters")

    def wide_padding(config):
        layers = config["config"]["layers"]
        layers[0]["config"]["batch_shape"] = [None, 8, 8, 1]
        for index, (kind, settings) in enumerate(
            [("ZeroPadding2D", {"padding": 10**6}), ("Flatten", {})]
        ):
            layers.insert(
                1 + index,
                {
                    "module": "keras.layers",
                    "class_name": kind,
                    "config": {"name": f"added{index}", **settings},
                },
            )
        return config

    refused(judge, rezip(keras_bytes(small_dense()), config=wide_padding), "output is larger")


def test_padded_configs_are_refused_before_parsing(judge):
    padded = rezip(
        keras_bytes(small_dense()), config=lambda c: json.dumps(c).encode() + b" " * 3 * 2**20
    )
    refused(judge, padded, "larger than the grader accepts")

    def long_name(config):
        config["config"]["layers"][1]["config"]["name"] = "n" * 500_000
        return config

    refused(judge, rezip(keras_bytes(small_dense()), config=long_name), "string longer")
    deep = b"[" * 5000 + b"]" * 5000
    refused(judge, rezip(keras_bytes(small_dense()), config=lambda c: deep), "deeper")


def test_a_zip_bomb_is_refused_from_its_header(judge):
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(keras_bytes(small_dense()))) as source:
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bomb:
            for name in source.namelist():
                content = source.read(name)
                if name == "model.weights.h5":
                    content += b"\0" * 48 * 2**20  # inflates ~1000x
                bomb.writestr(name, content)
    refused(judge, buffer.getvalue(), "larger than the grader accepts")


def test_too_many_layers_are_refused(judge):
    layers = [keras.Input((4,))] + [keras.layers.Dense(1) for _ in range(70)]
    refused(judge, keras_bytes(keras.Sequential(layers)), "layers; the grader accepts at most 64")


def hollow_weights(data: bytes) -> bytes:
    """The model's weights file, with the Dense kernel declaring 400 MB it does not store."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        original = archive.read("model.weights.h5")
    buffer = io.BytesIO(original)
    with h5py.File(buffer, "r+") as weights:
        del weights["layers/dense/vars/0"]
        weights["layers/dense/vars"].create_dataset("0", shape=(10**8, 1), dtype="float32")
    return buffer.getvalue()


def test_hdf5_datasets_declaring_more_than_they_store_are_refused_in_the_judge(judge):
    data = rezip(keras_bytes(small_dense()), weights=hollow_weights(keras_bytes(small_dense())))
    with pytest.raises(JudgeRefused) as caught:
        judge.model(data)
    assert (
        str(caught.value)
        == "the model could not be loaded: its weights file is not one Keras writes"
    )
    assert "declares 400000000 bytes" in caught.value.detail


def test_keras_error_text_never_reaches_the_sentence(judge):
    """A load that fails in Keras: the student reads a plain sentence; Keras's text, which may
    name paths of the grading machine, goes to the instructor's log only."""
    wrong = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="probe")])

    def renamed(config):  # a layer name that reads like a path on the grading machine
        config["config"]["layers"][1]["config"]["name"] = "root-ssh-id_rsa-exists"
        return config

    data = rezip(
        keras_bytes(wrong),
        config=renamed,
        weights=zipfile.ZipFile(io.BytesIO(keras_bytes(small_dense()))).read("model.weights.h5"),
    )
    with pytest.raises(JudgeError) as caught:
        judge.model(data)
    assert "root-ssh" not in str(caught.value) and "Keras" in str(caught.value)
    assert caught.value.code == "load" and caught.value.detail
    assert any("judge load" in entry for entry in judge.log)


JAIL_PROBE = """
import json, os, resource, socket, sys
def attempt(action):
    try:
        action()
        return "done"
    except BaseException as error:
        return type(error).__name__
targets = json.loads(sys.argv[1])
found = {name: attempt(lambda p=path: os.listdir(p) if os.path.isdir(p) else open(p).read())
         for name, path in targets["read"].items()}
found["write repository"] = attempt(lambda: open(targets["write"], "w").write("x"))
found["write scratch"] = attempt(lambda: open("/tmp/scratch-file", "w").write("x"))
found["socket"] = attempt(lambda: socket.create_connection(("127.0.0.1", targets["port"]), 3))
found["uid"] = os.getuid()
found["memory limit"] = resource.getrlimit(resource.RLIMIT_AS)[0]
found["cpu limit"] = resource.getrlimit(resource.RLIMIT_CPU)[0]
found["grader files"] = sorted(os.listdir(targets["grader"]))
found["root home"] = sorted(os.listdir("/root")) if os.path.isdir("/root") else []
found["environment"] = sorted(os.environ)
print(json.dumps(found))
"""


def test_the_jail_shows_nothing_of_the_course_and_has_no_network(judge, tmp_path):
    course = tmp_path / "course"
    (course / "source").mkdir(parents=True)
    (course / "gradebook.db").write_text("secret")
    kernel_scratch = Path(tempfile.mkdtemp(prefix="course-sandbox-"))
    (kernel_scratch / "home").mkdir()
    (kernel_scratch / "home" / "planted").write_text("the kernel's")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    targets = {
        "read": {
            "solutions": str(SOLUTIONS_DIR),
            "hidden tests": str(SOLUTIONS_DIR / "05-mnist-cnn"),
            "grader code": str(REPO_ROOT / "grader" / "hidden.py"),
            "course": str(course),
            "gradebook": str(course / "gradebook.db"),
            "kernel scratch": str(kernel_scratch / "home" / "planted"),
        },
        "write": str(REPO_ROOT / "helpers" / "planted.py"),
        "grader": str(REPO_ROOT / "grader"),
        "port": listener.getsockname()[1],
    }
    spec = judge.launch_spec(["-c", JAIL_PROBE, json.dumps(targets)])
    try:
        run = subprocess.run(
            [sys.executable, "-m", "grader.judge_launch", "launch", json.dumps(spec)],
            capture_output=True,
            text=True,
            timeout=120,
            env={"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO_ROOT)},
        )
    finally:
        listener.close()
        kernel_scratch_files = sorted(p.name for p in kernel_scratch.rglob("*"))
        __import__("shutil").rmtree(kernel_scratch)
    assert run.returncode == 0, run.stderr[-2000:]
    found = json.loads(run.stdout.strip().splitlines()[-1])
    for name in targets["read"]:
        assert found[name] in ("FileNotFoundError", "PermissionError"), (name, found[name])
    assert found["write repository"] in ("OSError", "PermissionError")
    assert found["write scratch"] == "done" and found["socket"] != "done"
    assert found["grader files"] == sorted(
        [
            "__init__.py",  # a docstring: the package itself
            "judge_worker.py",
            "judge_tasks.py",
            "judge_rules.py",
            "judge_shapes.py",
            "judge_protocol.py",
        ]
    )
    # The grader's home shows only the way to the Python install where that lies under it.
    shown = {
        p.relative_to(Path.home()).parts[0]
        for p in sandbox.jail_python_paths()
        if Path.home() in p.parents
    }
    assert set(found["root home"]) <= shown
    assert found["memory limit"] == judge.limits.memory_bytes
    assert found["cpu limit"] == judge.limits.cpu_seconds
    assert not any("COURSE" in key or "GRADER" in key for key in found["environment"])
    if os.geteuid() == 0:
        assert found["uid"] == judge._uid and found["uid"] >= sandbox.BASE_UID
    assert not (REPO_ROOT / "helpers" / "planted.py").exists()
    assert kernel_scratch_files == ["home", "planted"]


def test_the_judge_refuses_to_start_without_its_walls(monkeypatch):
    monkeypatch.setattr(sandbox, "availability", lambda: {"files": "no bwrap (test)"})
    with pytest.raises(JudgeUnavailable, match="no bwrap \\(test\\).*walls=False"):
        Judge()
    assert Judge(walls=False).walls is False  # explicitly without walls: allowed, nothing started


# --- The good paths ---


def solution_functions(chapter: str, *grade_ids: str) -> dict:
    """The reference answers (and set-up code) of a chapter's solution notebook, run here."""
    source = nbformat.read(SOLUTIONS_DIR / chapter / "exercises.ipynb", 4)
    answers = notebooks.solution_answers(source)
    namespace = {"keras": keras, "np": np}
    for cell in source.cells:
        if notebooks.grade_id(cell) in grade_ids and not notebooks.is_answer_cell(cell):
            exec(cell.source, namespace)
    for gid in grade_ids:
        if gid in answers:
            exec(answers[gid], namespace)
    return namespace


@pytest.fixture(scope="module")
def digits():
    from helpers import data

    loaded = data.load_mnist(verbose=False)
    return (
        data.to_model_input(loaded.x_train[:600]),
        loaded.y_train[:600],
        data.to_model_input(loaded.x_test[:300]),
    )


def same_predictions(judged, model, x) -> None:
    got, expected = judged.predict(x, verbose=0), model.predict(x, verbose=0)
    for a, b in zip(*(v if isinstance(v, list) else [v] for v in (got, expected)), strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_chapter_05_reference_models_are_judged_and_predict_as_keras(judge, digits):
    keras.utils.set_random_seed(0)
    answers = solution_functions("05-mnist-cnn", "small_cnn", "two_heads", "train")
    x_train, y_train, x_held = digits
    for model in (
        answers["build_small_cnn"](),
        answers["build_two_heads"](),
        answers["train_digits"](x_train, y_train),
    ):
        judged = judge.model(keras_bytes(model))
        same_predictions(judged, model, x_held)
        assert judged.course_facts == model_facts.describe(model)
        assert model_facts.describe(judged) == judged.course_facts
        assert judged.count_params() == model.count_params()
        assert [type(layer).__name__ for layer in judged.layers] == [
            type(layer).__name__ for layer in model.layers
        ]
        assert [getattr(layer.activation, "__name__", None) for layer in judged.layers] == [
            getattr(getattr(layer, "activation", None), "__name__", None) for layer in model.layers
        ]
        assert judged.optimizer_iterations is None  # compile=False: no optimizer loaded
    assert judged.summary_line().startswith("Conv2D(relu) MaxPooling2D Conv2D(relu)")


def test_chapter_07_tiny_model_keeps_its_optimizer_state(judge):
    namespace = solution_functions("07-callbacks", "tiny_problem")
    x, y = namespace["tiny_data"]()
    model = namespace["tiny_model"]()
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    data = keras_bytes(model)
    judged = judge.model(data, compile=True)
    assert judged.optimizer_iterations == int(model.optimizer.iterations.numpy()) == 8
    same_predictions(judged, model, x)
    plain = judge.model(data)
    assert plain.optimizer_iterations is None and plain.compiled().optimizer_iterations == 8
    untrained = judge.model(keras_bytes(namespace["tiny_model"]()), compile=True)
    assert untrained.optimizer_iterations == 0


def test_other_styles_give_the_same_blocks_in_the_judge(judge):
    from test_model_facts import STYLES

    judged = [judge.model(keras_bytes(build())) for build in STYLES]
    assert judged[0].blocks() == judged[1].blocks() == judged[2].blocks()
    assert judged[0].blocks() == model_facts.blocks(STYLES[0]())
    assert [j.class_name for j in judged] == ["Sequential", "Sequential", "Functional"]


def test_an_unbuilt_model_is_built_in_the_judge_within_the_limits(judge):
    judged = judge.model(keras_bytes(keras.Sequential([keras.layers.Dense(3)])))
    assert not judged.built
    with pytest.raises(ValueError):
        judged.count_params()
    judged.build((None, 5))
    assert judged.built and judged.count_params() == 18
    assert judged.predict(np.ones((2, 5), np.float32)).shape == (2, 3)
    with pytest.raises(JudgeRefused, match="the grader accepts"):
        judged.build((None, 10**7))


def test_the_judge_fits_a_model_and_rebuilds_callbacks(judge):
    namespace = solution_functions("07-callbacks", "tiny_problem")
    x, y = namespace["tiny_data"]()
    model = namespace["tiny_model"]()
    callbacks = [
        {
            "class": "ModelCheckpoint",
            "settings": {"filepath": "best.keras", "monitor": "val_loss", "save_best_only": True},
        },
        {
            "class": "EarlyStopping",
            "settings": {"monitor": "val_loss", "patience": 3, "restore_best_weights": True},
        },
    ]
    out = judge.run(
        "fit_with_callbacks",
        model=keras_bytes(model),
        x=x,
        y=y,
        callbacks=callbacks,
        epochs=3,
        validation_split=0.25,
        seed=0,
        predict=x[:5],
    )
    assert out["epochs"] == 3 and len(out["history"]["val_loss"]) == 3
    assert list(out["files"]) == ["best.keras"] and out["files"]["best.keras"] > 1000
    assert out["predictions"].shape == (5, 2) and out["file_predictions"]["best.keras"].shape == (
        5,
        2,
    )
    assert [c["class"] for c in out["callbacks"]] == ["ModelCheckpoint", "EarlyStopping"]
    for bad in (
        {"class": "ModelCheckpoint", "settings": {"filepath": "../../root/x.keras"}},
        {"class": "LambdaCallback", "settings": {}},
        {"class": "EarlyStopping", "settings": {"monitor": "val_loss", "patience": [1]}},
    ):
        with pytest.raises(JudgeError, match="could not use the values"):
            judge.run("fit_with_callbacks", model=keras_bytes(model), x=x, y=y, callbacks=[bad])
    fitted = judge.run(
        "fit",
        model=keras_bytes(small_dense()),
        x=x[:, :2].repeat(2, axis=1),
        y=y,
        epochs=2,
        seed=1,
        compile={
            "optimizer": "adam",
            "loss": "sparse_categorical_crossentropy",
            "metrics": ["accuracy"],
        },
    )
    assert fitted["epochs"] == 2 and set(fitted["history"]) == {"loss", "accuracy"}
    # fresh=True trains the architecture alone: the file's weights (here trained, or not) are
    # dropped and drawn again from the seed, so both files give the same history.
    compile_settings = {"optimizer": "sgd", "loss": "sparse_categorical_crossentropy"}
    data = {"x": x[:, :2].repeat(2, axis=1), "y": y, "epochs": 2, "seed": 3}
    untouched, trained = small_dense(), small_dense()
    trained.compile(**compile_settings)
    trained.fit(data["x"], data["y"], epochs=3, verbose=0)
    runs = [
        judge.run("fit", model=keras_bytes(m), compile=compile_settings, fresh=True, **data)
        for m in (untouched, trained)
    ]
    assert runs[0]["history"]["loss"] == pytest.approx(runs[1]["history"]["loss"], rel=1e-5)
    kept = judge.run("fit", model=keras_bytes(trained), compile=compile_settings, **data)
    assert kept["history"]["loss"] != pytest.approx(runs[1]["history"]["loss"], rel=1e-5)


def test_the_judge_reads_an_image_file(judge):
    from PIL import Image

    pixels = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    assert np.array_equal(judge.run("image", data=buffer.getvalue()), pixels)
    with pytest.raises(JudgeError, match="image could not be read"):
        judge.run("image", data=b"GIF89a" + b"\xff" * 100)


def test_a_request_over_its_time_is_killed_and_the_next_model_still_works(judge):
    """Runs last: it replaces the module's worker. A model loaded before is reloaded after."""
    namespace = solution_functions("07-callbacks", "tiny_problem")
    x, y = namespace["tiny_data"](n=4096)
    model = keras_bytes(namespace["tiny_model"]())
    earlier = judge.model(keras_bytes(small_dense()))
    expected = earlier.predict(np.ones((1, 4), np.float32))
    before = judge.generation
    with pytest.raises(JudgeTimeout, match="took too long"):
        judge.run("fit", model=model, x=x, y=y, epochs=200, batch_size=1, timeout=3)
    assert any("killed" in entry for entry in judge.log)
    # A new worker, started from a thread that ends at once, serves this thread.
    starter = threading.Thread(target=judge.start)
    starter.start()
    starter.join()
    time.sleep(1)  # a worker tied to the starting thread would be killed by now
    judged = judge.model(keras_bytes(small_dense()))
    assert judge.generation == before + 1
    assert judged.predict(np.ones((1, 4), np.float32)).shape == (1, 2)
    assert np.array_equal(earlier.predict(np.ones((1, 4), np.float32)), expected)
