"""Lesson 13's checks: known-wrong answers each must reject (with a message that names the mistake)
and right alternatives each must accept."""

from __future__ import annotations

import textwrap

import keras
import pytest
from keras import layers

from cancer_course.exercises import core, problems

P = {p.id: p for p in problems("13")}

HEAD = '''
def new_head(backbone, dropout=0.2):
    {freeze}
    inputs = keras.Input(shape=backbone.input_shape[1:])
    x = backbone(inputs, training=False)
    {dropout}
    outputs = layers.Dense({units}, activation="{activation}", name="head_output")(x)
    return keras.Model(inputs, outputs)
'''


def _head(freeze="backbone.trainable = False", dropout="x = layers.Dropout(dropout)(x)", units=2, activation="softmax"):
    return HEAD.format(freeze=freeze, dropout=dropout, units=units, activation=activation)


UNFREEZE = '''
def unfreeze_top_layers(backbone, n):
    backbone.trainable = {open}
    weighted = [layer for layer in backbone.layers if {weighted}]
    for i, layer in enumerate(weighted):
        top = {top}
        layer.trainable = top {bn}
    return [layer.name for layer in weighted if layer.trainable]
'''


def _unfreeze(open="True", weighted="layer.weights", top="i >= len(weighted) - n",
              bn="and not isinstance(layer, keras.layers.BatchNormalization)"):
    return UNFREEZE.format(open=open, weighted=weighted, top=top, bn=bn)


WRONG = {
    "13.1": [
        (_head(freeze="pass"), "would train"),
        (_head(dropout="pass"), "no Dropout"),
        (_head(dropout="x = layers.Dropout(0.2)(x)"), "pass the `dropout` argument"),
        (_head(units=1, activation="sigmoid"), "Dense(2)"),
        (_head(activation="relu"), "softmax"),
        ('''
def new_head(backbone, dropout=0.2):
    backbone.trainable = False
    return backbone
''', "shape"),
        ('''
def new_head(backbone, dropout=0.2):
    for layer in backbone.layers:
        if not isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    inputs = keras.Input(shape=backbone.input_shape[1:])
    x = layers.Dropout(dropout)(backbone(inputs, training=False))
    return keras.Model(inputs, layers.Dense(2, activation="softmax", name="head_output")(x))
''', "would train"),
        (_head().replace('name="head_output"', 'name="classifier"'), "no layer named 'head_output'"),
        ('''
def new_head(backbone, dropout=0.2):
    backbone.trainable = False
    inputs = keras.Input(shape=backbone.input_shape[1:])
    x = backbone(layers.Dropout(dropout)(inputs), training=False)
    return keras.Model(inputs, layers.Dense(2, activation="softmax", name="head_output")(x))
''', "drops pixels of the image"),
    ],
    "13.2": [
        (_unfreeze(bn=""), "BatchNorm layer(s)"),
        (_unfreeze(open="False"), "backbone.trainable is False"),
        (_unfreeze(top="i < n"), "not among the top"),
        (_unfreeze(top="i > len(weighted) - n"), "stay frozen"),
        (_unfreeze(weighted="True"), "which have no weights"),
        ('''
def unfreeze_top_layers(backbone, n):
    backbone.trainable = True
''', "BatchNorm layer(s)"),
        ('''
def unfreeze_top_layers(backbone, n):
    backbone.trainable = True
    for layer in backbone.layers[-n:]:
        layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)
    for layer in backbone.layers[:-n]:
        layer.trainable = False
    return [layer.name for layer in backbone.layers if layer.trainable]
''', "n="),
        (_unfreeze().replace("    return [layer.name for layer in weighted if layer.trainable]\n", ""), "returned None"),
    ],
}

RIGHT = {
    "13.2": '''
def unfreeze_top_layers(backbone, n):
    backbone.trainable = True
    weighted = [layer for layer in backbone.layers if len(layer.weights) > 0]
    keep = set(layer.name for layer in weighted[len(weighted) - n:]) if n > 0 else set()
    for layer in weighted:
        layer.trainable = layer.name in keep and "BatchNormalization" not in type(layer).__name__
    return sorted(name for name in keep if backbone.get_layer(name).trainable)
''',
}
RIGHT["13.1"] = '''
def new_head(backbone, dropout=0.2):
    for layer in backbone.layers:  # freezing every layer freezes the backbone too
        layer.trainable = False
    inputs = keras.Input(backbone.input_shape[1:])
    x = layers.Dropout(dropout)(backbone(inputs, training=False))
    return keras.Model(inputs, layers.Dense(2, activation="softmax", name="head_output")(x))
'''

CASES = [(pid, i) for pid, cases in WRONG.items() for i in range(len(cases))]


def _answer(pid: str, code: str):
    ns = {"keras": keras, "layers": layers}
    exec(textwrap.dedent(code), ns)
    return ns[P[pid].names[0]]


def test_at_least_five_wrong_answers_per_question():
    writing = [pid for pid, p in P.items() if not p.interpretive]
    assert sorted(writing) == sorted(WRONG) and all(len(WRONG[pid]) >= 5 for pid in writing)


@pytest.mark.parametrize("pid, index", CASES, ids=[f"{p}-{i}" for p, i in CASES])
def test_wrong_answer_is_rejected_with_its_mistake_named(pid, index):
    code, fragment = WRONG[pid][index]
    result = P[pid].evaluate(_answer(pid, code))
    assert result.status == core.INCORRECT, result.line()
    assert fragment in result.message, result.message


@pytest.mark.parametrize("pid", sorted(RIGHT))
def test_right_alternative_is_accepted(pid):
    result = P[pid].evaluate(_answer(pid, RIGHT[pid]))
    assert result.status == core.CORRECT, result.line()


def test_a_package_call_is_refused():
    from cancer_course import transfer

    result = P["13.1"].evaluate(lambda backbone, dropout=0.2: transfer.with_new_head(backbone, dropout))
    assert result.status == core.INCORRECT and "package's own function" in result.message
