"""The judge's plain-Python rules (grader.judge_rules, grader.judge_shapes), without the jail.

Every model the course builds passes, with the parameter count Keras gives; each thing Keras
never writes, or the course does not teach, is refused with a sentence for the student.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

import keras
import pytest

from grader import judge_rules
from grader.judge_rules import Refused, RuleLimits
from helpers import augment, models


def keras_bytes(model) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        model.save(f"{folder}/model.keras")
        return Path(f"{folder}/model.keras").read_bytes()


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def zipped(content: dict[str, bytes], method=zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in content.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def with_config(data: bytes, change) -> bytes:
    content = members(data)
    config = json.loads(content["config.json"])
    changed = change(config)
    content["config.json"] = json.dumps(changed if isinstance(changed, dict) else config).encode()
    return zipped(content)


def course_models():
    inputs = keras.Input((28, 28, 1))
    trunk = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(4, 3),
            keras.layers.ReLU(),
            keras.layers.MaxPooling2D(2),
        ]
    )
    nested = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(trunk(inputs))))
    members_ = [models.mnist_cnn(), models.reference_cnn()]
    return {
        "mnist_cnn": models.mnist_cnn(),
        "reference_cnn": models.reference_cnn(),
        "two_output_cnn": models.two_output_cnn(),
        "average_ensemble": models.average_ensemble(members_),
        "augmentation_cnn": augment.augmentation_cnn(),
        "nested trunk": nested,
    }


@pytest.fixture(scope="module")
def saved():
    return {name: (model, keras_bytes(model)) for name, model in course_models().items()}


def test_the_course_models_pass_with_the_parameter_count_keras_gives(saved):
    for name, (model, data) in saved.items():
        archive = judge_rules.check_archive(data)
        assert archive.params == model.count_params(), name
        assert archive.layers >= len(model.layers), name


def test_a_compiled_model_keeps_its_compile_config_only_when_asked():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(
        optimizer=keras.optimizers.Adam(0.05),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy", keras.metrics.SparseCategoricalAccuracy()],
    )
    data = keras_bytes(model)
    assert "compile_config" not in judge_rules.check_archive(data).config
    assert judge_rules.check_archive(data, compile=True).config["compile_config"]


def refusal(data: bytes, words: str, **limits) -> Refused:
    with pytest.raises(Refused) as caught:
        judge_rules.check_archive(data, RuleLimits(**limits))
    assert words in caught.value.message, caught.value.message
    assert caught.value.message.startswith("the model could not be loaded: ")
    return caught.value


def small() -> bytes:
    return keras_bytes(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]))


def test_archives_other_than_kerass_three_members_are_refused():
    content = members(small())
    refusal(b"not a zip", "not a Keras model file")
    refusal(zipped({k: v for k, v in content.items() if k != "metadata.json"}), "not a Keras")
    refusal(zipped({**content, "assets/x": b"1"}), "holds assets?x, which Keras never writes")
    twice = io.BytesIO(zipped(content))
    with zipfile.ZipFile(twice, "a") as archive, pytest.warns(UserWarning):
        archive.writestr("config.json", b"{}")  # a second member of the same name
    refusal(twice.getvalue(), "a repeated name")
    refusal(small(), "larger than 0 MiB", archive_bytes=1000)
    refusal(small(), "model.weights.h5 is larger", weights_bytes=100)


def test_a_deflated_member_that_inflates_is_refused_from_its_header():
    content = members(small())
    content["metadata.json"] = b"{" + b" " * 4000 + b"}"
    refusal(zipped(content, zipfile.ZIP_DEFLATED), "metadata.json is larger")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            lambda c: c["config"]["layers"][1].update(module="os", class_name="system"),
            "a part the course does not accept (system)",
        ),
        (
            lambda c: c["config"]["layers"][1].update(class_name="Lambda"),
            "a layer the course does not accept (Lambda)",
        ),
        (lambda c: c["config"]["layers"][1].update(class_name="TFSMLayer"), "(TFSMLayer)"),
        (
            lambda c: c["config"]["layers"][1].update(registered_name="evil>Dense"),
            "a part the course does not accept (evil>Dense)",
        ),
        (
            lambda c: c["config"]["layers"][1]["config"].update(
                activation={"module": "keras.utils", "class_name": "function", "config": "get_file"}
            ),
            "a part the course does not accept (function)",
        ),
        (
            lambda c: c["config"]["layers"][1]["config"].update(activation="exec"),
            "an activation the course does not accept (exec)",
        ),
        (
            lambda c: c["config"]["layers"][1]["config"].update(kernel_initializer="orthogonal"),
            "kernel_initializer is given by name",
        ),
        (
            lambda c: c["config"]["layers"][1]["config"].update(dtype="object"),
            "a dtype the course does not accept",
        ),
        (
            lambda c: c["config"]["layers"][1]["config"].update(
                bias={"class_name": "__lambda__", "config": {}}
            ),
            "(__lambda__)",
        ),
        (lambda c: c["config"]["layers"][1].pop("module"), "does not accept (Dense)"),
        (
            lambda c: c["config"]["layers"][1]["config"].update(units=2**70),
            "its configuration is malformed",
        ),
        (lambda c: {"class_name": "Model", "config": {}}, "not a Sequential or Functional"),
        (
            lambda c: c["config"]["layers"][1]["build_config"].update(input_shape=[None, 5]),
            "sizes do not fit together",
        ),
    ],
)
def test_configs_outside_the_allow_list_are_refused(change, words):
    refusal(with_config(small(), change), words)


def test_json_is_sized_before_it_is_parsed():
    content = members(small())
    for raw, words in [
        (b"[" * 100 + b"]" * 100, "nested deeper"),
        (b"[" + b"[]," * 30_000 + b"[]]", "larger than the grader accepts"),
        (b'{"a": NaN}', "malformed"),
        (b'{"a": 1e999}', "malformed"),
        (b"\xff\xfe", "not text"),
    ]:
        refusal(zipped({**content, "config.json": raw}), words)


def test_layer_and_parameter_caps():
    deep = keras.Sequential([keras.Input((4,))] + [keras.layers.Dense(4) for _ in range(64)])
    refusal(keras_bytes(deep), "66 layers; the grader accepts at most 64")
    refusal(small(), "10 parameters; the grader accepts at most 9", params=9)
    image = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(64, 3)])
    refusal(keras_bytes(image), "a layer's output holds 43,264 values", values_per_output=40_000)


def test_an_unbuilt_model_is_planned_for_the_shape_it_is_built_with():
    config = judge_rules.read_archive(keras_bytes(keras.Sequential([keras.layers.Dense(3)]))).config
    assert judge_rules.plan(config).params == 0  # nothing allocated before a build
    assert judge_rules.plan(config, input_shape=[None, 5]).params == 18
    with pytest.raises(Refused, match="parameters"):
        judge_rules.plan(config, input_shape=[None, 8000], limits=RuleLimits(params=10_000))


@pytest.mark.parametrize("body", ["n" * 1_000_000, "\\\\" * 500_000], ids=["long", "escapes"])
def test_reading_a_config_at_the_cap_costs_the_grader_little_memory(body):
    """A 1 MB configuration (the cap) of one long string, plain or all escapes, is sized up
    with a few MB: the old string pattern kept 117 MB for it (about 120 bytes a character)."""
    import tracemalloc

    raw = json.dumps({"name": "x"}).replace('"x"', f'"{body}"').encode()
    assert len(raw) <= RuleLimits().config_bytes + 100
    tracemalloc.start()
    try:
        parsed = judge_rules.parse_json(raw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, f"{peak / 2**20:.0f} MB to read a {len(raw) / 2**20:.1f} MB config"
    assert len(parsed["name"]) == len(body.replace("\\\\", "\\"))
