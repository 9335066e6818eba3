"""grader.code_rules: a task's rule about the code ("NumPy only"), checked from the source."""

from __future__ import annotations

import pytest

from grader import code_rules
from grader.failure_text import hidden_failure
from helpers.checks import CheckFailed

NUMPY_ONLY = (
    "def conv(image, kernel):\n"
    "    out = np.zeros((2, 2))\n"
    "    for i in range(2):\n"
    "        out[i] = np.sum(image[i] * kernel)\n"
    "    return out\n"
)
# Ways a student hands the work to TensorFlow (or reaches it without naming it).
CHEATS = {
    "direct": "def conv(image, kernel):\n    return tf.nn.conv2d(image, kernel, 1, 'VALID')\n",
    "alias": "_t = tf\n\ndef conv(image, kernel):\n    return _t.nn.conv2d(image, kernel)\n",
    "import inside": "def conv(image, kernel):\n    import tensorflow\n    return tensorflow.nn\n",
    "from import": "from keras import ops\n\ndef conv(image, kernel):\n    return ops.conv()\n",
    "scipy": "def conv(image, kernel):\n    from scipy.signal import correlate2d\n    return 1\n",
    "dunder import": "def conv(image, kernel):\n    return __import__('tensorflow').nn\n",
    "sys.modules": "import sys\n\ndef conv(image, kernel):\n    return sys.modules['tf']\n",
    "getattr": "def conv(image, kernel):\n    return getattr(globals()['t' + 'f'], 'nn')\n",
    "eval": "def conv(image, kernel):\n    return eval('t' + 'f.nn')\n",
}


def test_a_numpy_answer_keeps_its_points():
    assert code_rules.uses({"conv": NUMPY_ONLY}, "conv", code_rules.FRAMEWORKS) == []
    code_rules.check_not_used({"conv": NUMPY_ONLY}, "conv", code_rules.FRAMEWORKS, rule="NumPy")


@pytest.mark.parametrize("name", CHEATS)
def test_every_way_to_reach_a_framework_is_found(name):
    answers = {"conv": CHEATS[name]}
    assert code_rules.uses(answers, "conv", code_rules.FRAMEWORKS), name
    with pytest.raises(CheckFailed, match="uses NumPy only"):
        code_rules.check_not_used(
            answers, "conv", code_rules.FRAMEWORKS, rule="conv uses NumPy only"
        )


def test_a_helper_in_another_answer_cell_is_held_to_the_same_rule():
    answers = {
        "conv": "def conv(image, kernel):\n    return _helper(image, kernel)\n",
        "later": "def _helper(image, kernel):\n    return tf.nn.conv2d(image, kernel, 1, 'SAME')\n",
    }
    assert code_rules.uses(answers, "conv", code_rules.FRAMEWORKS) == ["tf"]
    # The later part may use TensorFlow (its task allows it): only `conv` is held to the rule.
    answers["later"] = "def apply(image):\n    return tf.nn.relu(image)\n"
    assert code_rules.uses(answers, "conv", code_rules.FRAMEWORKS) == []


# A name another answer cell binds to TensorFlow (that part may use it), read by the NumPy part.
THROUGH_ANOTHER_CELL = {
    "assignment": "correlate = tf.nn.conv2d\n",
    "lambda": "correlate = lambda x, k: tf.nn.conv2d(x, k, 1, 'VALID')\n",
    "import as": "from tensorflow.nn import conv2d as correlate\n",
    "module alias": "import tensorflow as numeric\ncorrelate = numeric.nn.conv2d\n",
    "global in a function": "def setup():\n    global correlate\n    correlate = tf.nn.conv2d\n",
    "rebinding the answer's own name": "correlate = tf.nn.conv2d\n",
}


@pytest.mark.parametrize("name", THROUGH_ANOTHER_CELL)
def test_a_name_another_answer_cell_binds_is_held_to_the_same_rule(name):
    own = "def conv(image, kernel):\n    return correlate(image, kernel)\n"
    if name == "rebinding the answer's own name":  # its own harmless binding runs first
        own = "correlate = None\n\n\n" + own
    answers = {"conv": own, "later": THROUGH_ANOTHER_CELL[name]}
    assert code_rules.uses(answers, "conv", code_rules.FRAMEWORKS), name


# A framework function stashed in shared state by another answer cell, and where it is read.
STASHED = {
    "builtins attribute": ("import builtins\nbuiltins.correlate = tf.nn.conv2d\n", "correlate"),
    "globals() item": ("globals()['correlate'] = tf.nn.conv2d\n", "correlate"),
    "attribute of numpy": ("np.correlate_2d = tf.nn.conv2d\n", "np.correlate_2d"),
    "setattr on numpy": ("setattr(np, 'correlate_2d', tf.nn.conv2d)\n", "np.correlate_2d"),
    # The name computed when the cell runs: no string in the source says which.
    "setattr, computed name": (
        "setattr(np, 'corr' + 'elate_2d', tf.nn.conv2d)\n",
        "np.correlate_2d",
    ),
    "globals(), computed key": ("globals()['corr' + 'elate'] = tf.nn.conv2d\n", "correlate"),
    "a module's __dict__, computed key": (
        "name = 'correlate_2d'\nnp.__dict__[name] = tf.nn.conv2d\n",
        "np.correlate_2d",
    ),
}


@pytest.mark.parametrize("name", STASHED)
def test_a_value_another_answer_cell_stashes_is_held_to_the_same_rule(name):
    stash, call = STASHED[name]
    own = f"def conv(image, kernel):\n    return {call}(image, kernel)\n"
    assert "tf" in code_rules.uses({"conv": own, "later": stash}, "conv", code_rules.FRAMEWORKS)


def test_an_array_element_store_in_another_cell_leads_nowhere():
    """`out[i] = ...` stores into an array, not a namespace: a right answer keeps its points."""
    answers = {
        "conv": NUMPY_ONLY,
        "later": "maps = np.zeros((3, 4))\nfor i in range(3):\n    maps[i] = tf.nn.relu(i)\n",
    }
    assert code_rules.uses(answers, "conv", code_rules.FRAMEWORKS) == []


def test_an_attribute_the_answer_never_reads_leads_nowhere():
    answers = {
        "conv": "def conv(image, kernel):\n    return np.sum(image * kernel, axis=0)\n",
        "later": "base = keras.Sequential()\nbase.trainable = False\n\n\n"
        "class Keep:\n    def __init__(self):\n        self.sum = tf.reduce_sum\n",
    }
    assert code_rules.uses(answers, "conv", code_rules.FRAMEWORKS) == []


def test_local_names_lead_nowhere_else():
    """A right answer keeps its points when its local variables share a name with what
    another answer cell binds with TensorFlow, in the answer or in a helper it calls."""
    answers = {
        "conv": (
            "def conv(image, kernel):\n    out = np.zeros(2)\n    return _sum(out)\n\n\n"
            "def _sum(x):\n    total = np.sum(x)\n    return total\n\n\n"
            "print(conv(np.ones(2), 1))\n"
        ),
        "later": "out = total = tf.nn.relu(1.0)\n\n\ndef conv_tf(x):\n    return tf.nn.relu(x)\n",
    }
    assert code_rules.uses(answers, "conv", code_rules.FRAMEWORKS) == []
    answers["later"] += "_sum = tf.reduce_sum\n"  # now a name the answer reads is rebound
    assert code_rules.uses(answers, "conv", code_rules.FRAMEWORKS) == ["tf"]


def test_an_unreadable_answer_is_left_to_the_other_checks():
    assert code_rules.uses({"conv": "def conv(:\n"}, "conv", code_rules.FRAMEWORKS) == []


def test_the_feedback_states_the_rule_as_the_task_words_it():
    code = (
        "code_rules.check_not_used(answer_code, 'conv', code_rules.FRAMEWORKS,\n"
        "                          rule='conv2d_valid uses NumPy only: no TensorFlow')\n"
    )
    filename = "<hidden tests of test_conv, part 1>"
    namespace = {"code_rules": code_rules, "answer_code": {"conv": CHEATS["direct"]}}
    with pytest.raises(CheckFailed) as caught:
        exec(compile(code, filename, "exec"), namespace)
    assert hidden_failure(code, filename, caught.value) == (
        "A hidden test failed: Conv2d_valid uses NumPy only: no TensorFlow."
    )


CALLBACK = "keras.callbacks.Callback"
SUBCLASSES = {
    "dotted": "class Stop(keras.callbacks.Callback):\n    pass\n",
    "through tf": "class Stop(tf.keras.callbacks.Callback):\n    pass\n",
    "imported as": "from keras.callbacks import Callback as Base\nclass Stop(Base):\n    pass\n",
    "module imported": "from keras import callbacks\nclass Stop(callbacks.Callback):\n    pass\n",
    "a base of its own": "class Base(keras.callbacks.Callback): ...\nclass Stop(Base): ...\n",
}
NOT_SUBCLASSES = {
    "no base": "class Stop:\n    pass\n",
    "another base": "class Stop(keras.layers.Layer):\n    pass\n",
    "a look-alike": "class Callback:\n    pass\n\n\nclass Stop(Callback):\n    pass\n",
    "itself": "class Stop(Stop):\n    pass\n",
    "a function": "def Stop():\n    return keras.callbacks.Callback()\n",
    "unreadable": "class Stop(:\n",
}


@pytest.mark.parametrize("name", SUBCLASSES)
def test_a_subclass_is_read_from_the_source_however_its_base_is_written(name):
    assert code_rules.subclasses({"stop": SUBCLASSES[name]}, "stop", "Stop", CALLBACK)


@pytest.mark.parametrize("name", NOT_SUBCLASSES)
def test_a_class_on_another_base_is_no_subclass(name):
    assert not code_rules.subclasses({"stop": NOT_SUBCLASSES[name]}, "stop", "Stop", CALLBACK)


def test_a_base_class_may_come_from_another_answer_cell():
    answers = {
        "base": "class Base(keras.callbacks.Callback):\n    pass\n",
        "stop": "class Stop(Base):\n    pass\n",
    }
    assert code_rules.subclasses(answers, "stop", "Stop", CALLBACK)
    assert not code_rules.subclasses(answers, "base", "Stop", CALLBACK)  # defined elsewhere
