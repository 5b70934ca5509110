"""Exercises for lesson 05: the full model.

q1 the stem · q2 the dense head · q3 a smaller head's parameters, by hand ·
q4 a model from ``build_model``'s knobs · q5 what the seed's two published epochs show, and what
they cannot (interpretive).
"""

from __future__ import annotations

import numpy as np

from ._choice import Choice, Option, format_table
from ._keras import build, counts, expect_shape, randomise, same_function, shape
from ._numbers import expect_count
from .core import Incorrect, Problem, register

LESSON = "lesson 05 (notebooks/05_the_full_model.ipynb)"


def _dense(n_in, n_out):
    return n_in * n_out + n_out


def head_params(c_in: int, units, bn: bool = True, output_units: int = 2) -> int:
    total, n = 0, c_in
    for u in units:
        total += _dense(n, u) + (4 * u if bn else 0)
        n = u
    return total + _dense(n, output_units)


def _stem_reference(x, filters):
    from keras import layers

    x = layers.Conv2D(filters, 7, strides=2, padding="same")(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    return layers.MaxPooling2D(3, strides=2, padding="same")(x)


def _head_reference(x, units, rates):
    from keras import layers

    x = layers.GlobalAveragePooling2D()(x)
    for u, rate in zip(units, rates, strict=True):
        x = layers.Dropout(rate)(layers.ReLU()(layers.BatchNormalization()(layers.Dense(u)(x))))
    return layers.Dense(2, activation="softmax")(x)


class Stem(Problem):
    title = "the stem"
    names = ("stem",)
    lesson = LESSON + ", section 2"
    hints = (
        "The stem shrinks the image by 4 in each direction before the expensive blocks: a strided convolution, "
        "then a strided max-pool.",
        "Conv2D(filters, 7, strides=2, padding='same') -> BatchNormalization -> ReLU -> "
        "MaxPooling2D(3, strides=2, padding='same').",
        "Fill in the blanks: x = layers.Conv2D(____, ____, strides=____, padding=____)(x); "
        "x = layers.____()(x); x = layers.____()(x); return layers.MaxPooling2D(____, strides=____, padding=____)(x)",
    )
    solution_code = '''
    def stem(x, filters=64, name="stem"):
        x = layers.Conv2D(filters, 7, strides=2, padding="same", name=f"{name}_conv")(x)
        x = layers.BatchNormalization(name=f"{name}_bn")(x)
        x = layers.ReLU(name=f"{name}_relu")(x)
        return layers.MaxPooling2D(3, strides=2, padding="same", name=f"{name}_pool")(x)
    '''

    def _check(self, stem):
        from .. import blocks

        model, call = build(stem, (64, 64, 3), "stem", filters=64)
        got = tuple(model.output.shape)
        if got[1:3] == (32, 32):
            raise Incorrect(f"{call} returned {shape(got)}: the stem shrinks 64 px to 16, by 2 twice - a stride-2 "
                            "convolution *and* a stride-2 max-pool (3x3, padding='same').")
        expect_shape(model, (None, 16, 16, 64), call,
                     "Conv 7x7 stride 2 (64 -> 32 px), max-pool 3x3 stride 2 (32 -> 16 px), 64 channels; "
                     "padding='same' on both.")
        expected = blocks.conv_params(3, 64, 7) + 4 * 64
        got_params = model.count_params()
        if got_params == blocks.conv_params(3, 64, 3) + 4 * 64:
            raise Incorrect(f"{call} has {got_params:,} parameters, those of a 3x3 convolution: the stem uses a "
                            "large 7x7 kernel.")
        if got_params == blocks.conv_params(3, 64, 7):
            raise Incorrect(f"{call} has no BatchNormalization after the convolution (4*64 parameters missing).")
        if got_params != expected:
            raise Incorrect(f"{call} has {got_params:,} parameters but it should have {expected:,}: a 7x7 "
                            "convolution 3 -> 64 with bias (7*7*3*64 + 64) and a BN (4*64).")
        randomise(model, seed=9)
        out = np.asarray(model(np.random.default_rng(0).normal(size=(1, 64, 64, 3)).astype("float32")))
        if out.min() < 0:
            raise Incorrect(f"{call} outputs negative values: a ReLU follows the BN.")
        small, call = build(stem, (32, 32, 3), "stem", filters=16)
        expect_shape(small, (None, 8, 8, 16), call, "use the `filters` argument for the convolution.")
        randomise(small, seed=10)
        if not same_function(small, _stem_reference, (32, 32, 3), filters=16):
            raise Incorrect(f"{call}: with your own weights copied into a reference stem, the outputs differ: the "
                            "order is Conv2D 7x7/2 -> BatchNormalization -> ReLU -> MaxPooling2D(3, strides=2, "
                            "padding='same') - a 3x3 pool window, not 2x2.")
        return "224 px in, 56 px out in the reference model: 4 times smaller in each direction."


class Head(Problem):
    title = "the dense head"
    names = ("head",)
    lesson = LESSON + ", section 2"
    hints = (
        "Global average pooling turns the (H, W, C) map into one vector of C numbers; then, for each (units, rate): "
        "Dense -> BN -> ReLU -> Dropout; and finally Dense(2, softmax).",
        "x = layers.GlobalAveragePooling2D()(x), then a loop over zip(units, rates); the last layer is "
        "layers.Dense(2, activation='softmax').",
        "Fill in the blanks: x = layers.GlobalAveragePooling2D()(x); for u, r in zip(____, ____): x = "
        "layers.Dropout(____)(layers.____()(layers.____()(layers.Dense(____)(x)))); then "
        "return layers.Dense(____, activation=____)(x)",
    )
    solution_code = '''
    def head(x, units=(1024, 512, 256), rates=(0.5, 0.4, 0.3), name="head"):
        x = layers.GlobalAveragePooling2D(name=f"{name}_gap")(x)
        for i, (u, rate) in enumerate(zip(units, rates), start=1):
            x = layers.Dense(u, name=f"{name}_dense{i}")(x)
            x = layers.BatchNormalization(name=f"{name}_bn{i}")(x)
            x = layers.ReLU(name=f"{name}_relu{i}")(x)
            x = layers.Dropout(rate, name=f"{name}_dropout{i}")(x)
        return layers.Dense(2, activation="softmax", name=f"{name}_output")(x)
    '''

    def _check(self, head):
        units, rates = (32, 16, 8), (0.5, 0.4, 0.3)
        model, call = build(head, (4, 4, 64), "head", units=units, rates=rates)
        got = tuple(model.output.shape)
        if len(got) != 2:
            raise Incorrect(f"{call} returned {shape(got)}: start with layers.GlobalAveragePooling2D() so the "
                            "(H, W, C) feature map becomes one vector per image.")
        expect_shape(model, (None, 2), call, "the output is Dense(2, softmax): p(benign), p(malignant).")
        expected = head_params(64, units)
        got_params = model.count_params()
        if got_params == head_params(64, units, bn=False):
            raise Incorrect(f"{call} has no BatchNormalization: each hidden Dense is followed by BN, then ReLU.")
        if got_params != expected:
            raise Incorrect(f"{call} has {got_params:,} parameters but it should have {expected:,}: Dense 64 -> 32 "
                            "-> 16 -> 8, each with BN (4 per unit), then Dense 8 -> 2. Use the `units` argument.")
        dropouts = [round(float(layer.rate), 3) for layer in model.layers if type(layer).__name__ == "Dropout"]
        if dropouts != list(rates):
            raise Incorrect(f"{call} has dropout rates {dropouts}; expected {list(rates)}: one Dropout after each "
                            "hidden layer's ReLU, with the matching rate from `rates`.")
        for layer in model.layers:
            if type(layer).__name__ == "Dropout":
                before = layer._inbound_nodes[0].input_tensors[0]._keras_history[0]
                if type(before).__name__ not in ("ReLU", "Activation"):
                    raise Incorrect(f"{call}: a Dropout follows a {type(before).__name__} layer; each hidden layer "
                                    "is Dense -> BatchNormalization -> ReLU -> Dropout, with Dropout last.")
        x = np.random.default_rng(0).normal(size=(3, 4, 4, 64)).astype("float32")
        p = np.asarray(model(x, training=False))
        if not np.allclose(p.sum(axis=1), 1, atol=1e-5) or p.min() < 0:
            raise Incorrect(f"{call}: the two outputs of each image should be probabilities summing to 1: "
                            "use activation='softmax' on the last Dense.")
        randomise(model, seed=13, scale=0.3)
        if not same_function(model, _head_reference, (4, 4, 64), units=units, rates=rates):
            raise Incorrect(f"{call}: with your own weights copied into a reference head, the outputs differ: each "
                            "hidden layer is Dense -> BatchNormalization -> ReLU -> Dropout, in that order, after a "
                            "global *average* pool.")
        return "GAP, three Dense -> BN -> ReLU -> Dropout layers, a 2-way softmax."


SMALL_HEAD = (256, 64)  # a smaller head on the reference's 512 features, with one sigmoid output


class CountHead(Problem):
    title = "a smaller head's parameters, by hand"
    names = ("small_head_params",)
    lesson = LESSON + ", sections 3 and 4"
    hints = (
        "Global average pooling has no parameters: the head starts from a vector of 512 numbers. List the layers "
        "with weights: Dense layers and their BatchNorms; Dropout and ReLU have none.",
        "Dense n_in -> n_out: n_in*n_out + n_out. BN: 4 per channel (2 trainable, 2 moving statistics). The "
        "sigmoid output is one unit.",
        "Three Dense layers 512 -> 256 -> 64 -> 1 and two BNs (256 and 64 channels): add their counts.",
    )
    solution_code = '''
    small_head_params = ((512 * 256 + 256) + 4 * 256
                         + (256 * 64 + 64) + 4 * 64
                         + (64 * 1 + 1))
    '''

    def _check(self, small_head_params):
        units = SMALL_HEAD
        expected = head_params(512, units, output_units=1)
        expect_count(small_head_params, expected, "small_head_params", {
            head_params(512, units, bn=False, output_units=1): "you left out the two BNs (4 per channel: 256 + 64).",
            expected - _dense(64, 1): "add the output layer, Dense 64 -> 1 (65).",
            expected - 2 * (256 + 64): "BN has 4 numbers per channel (gamma, beta, moving mean and variance), not 2.",
            head_params(512, units): "that is a 2-way softmax output; this head ends in one sigmoid unit.",
            expected - (256 + 64 + 1): "add the biases: one per unit of each Dense layer.",
            head_params(256, units, output_units=1): "the reference's stage 4 ends with 512 channels, so the head "
                                                     "reads 512 numbers (the laptop profile's model reads 256).",
        }, "Three Dense layers 512 -> 256 -> 64 -> 1 with biases and two BNs.")
        reference = head_params(512, (1024, 512, 256))
        return (f"{expected:,} parameters, {reference / expected:.1f} times fewer than the reference head's "
                f"{reference:,}.")


class BuildWithKnobs(Problem):
    title = "a model from build_model's knobs"
    names = ("my_model",)
    lesson = LESSON + ", sections 5 and 6"
    hints = (
        "Everything is an argument of cancer_course.model.build_model: input_shape, width, blocks_per_stage, "
        "head_units and output.",
        "input_shape is (height, width, channels); width multiplies every filter count (0.5 halves them); "
        "blocks_per_stage counts the residual blocks of stages 1, 2 and 4; head_units lists the head's Dense "
        "layers; output='sigmoid' gives one probability per image.",
        "Fill in the blanks: my_model = build_model(input_shape=____, width=____, blocks_per_stage=____, "
        "head_units=____, output=____); leave every other argument at its default.",
    )
    solution_code = '''
    my_model = build_model(input_shape=(64, 64, 3), width=0.5, blocks_per_stage=(1, 1, 1),
                           head_units=(128, 64, 32), output="sigmoid")
    '''

    def _check(self, my_model):
        import keras

        from ..model import build_model, parameter_table

        if not isinstance(my_model, keras.Model):
            raise Incorrect(f"`my_model` should be a keras.Model (what build_model returns), not "
                            f"{type(my_model).__name__}.")
        if tuple(my_model.input_shape) != (None, 64, 64, 3):
            raise Incorrect(f"`my_model` takes inputs of shape {shape(my_model.input_shape)}; "
                            "it should take 64x64 colour images: input_shape=(64, 64, 3).")
        if tuple(my_model.output_shape) != (None, 1):
            raise Incorrect(f"`my_model` outputs shape {shape(my_model.output_shape)}; a sigmoid output is one unit "
                            "per image, (None, 1): output='sigmoid'.")
        p = np.asarray(my_model(np.random.default_rng(0).uniform(size=(2, 64, 64, 3)).astype("float32")))
        if p.min() < 0 or p.max() > 1:
            raise Incorrect("`my_model`'s output is not a probability in [0, 1]: output='sigmoid'.")
        reference = build_model(input_shape=(64, 64, 3), width=0.5, blocks_per_stage=(1, 1, 1),
                                head_units=(128, 64, 32), output="sigmoid")
        want = {row["name"]: row["params"] for row in parameter_table(reference, level="stage")}
        have = {row["name"]: row["params"] for row in parameter_table(my_model, level="stage")}
        knobs = {"stem": "width", "stage1": "width or blocks_per_stage", "stage2": "width or blocks_per_stage",
                 "stage3": "width", "stage4": "width or blocks_per_stage", "head": "head_units"}
        for part, n in want.items():
            if have.get(part) != n:
                raise Incorrect(f"`my_model`'s {part} has {have.get(part, 0):,} parameters; with the requested knobs "
                                f"it would have {n:,}: check {knobs.get(part, 'the arguments')}.")
        if counts(my_model) != counts(reference):
            raise Incorrect(f"`my_model` has {my_model.count_params():,} parameters; expected "
                            f"{reference.count_params():,}.")
        rates = [[round(float(layer.rate), 3) for layer in m.layers if type(layer).__name__ == "Dropout"]
                 for m in (my_model, reference)]
        if rates[0] != rates[1]:
            raise Incorrect(f"`my_model`'s dropout rates are {rates[0]}; build_model's defaults give {rates[1]}: "
                            "pass only the five knobs the exercise asks for.")
        regularised = [sum(getattr(layer, "kernel_regularizer", None) is not None for layer in m.layers)
                       for m in (my_model, reference)]
        if regularised[0] != regularised[1]:
            raise Incorrect("`my_model` has L2 weight decay on its kernels; the exercise keeps l2 at its default "
                            "(0): pass only the five knobs it asks for.")
        n = reference.count_params()
        return f"{n:,} parameters: the same architecture, {2_563_793 / n:.0f} times smaller than the reference."

def _epoch_options() -> dict:
    from ..plots import MANUAL_FIELDS, REFERENCE_EPOCHS

    e1, e2 = (dict(zip(MANUAL_FIELDS, row, strict=True)) for row in REFERENCE_EPOCHS)
    loss_rose = e2["val_loss"] > e1["val_loss"]
    return {
        "A": Option("the validation loss rose from epoch 1 to epoch 2", loss_rose,
                    f"it {'rose' if loss_rose else 'fell'}: {e1['val_loss']} -> {e2['val_loss']} - "
                    + ("the usual sign of memorisation." if loss_rose else "the opposite of the usual sign of "
                       "memorisation.")),
        "B": Option("the validation AUC rose from epoch 1 to epoch 2", e2["val_auc"] > e1["val_auc"],
                    f"{e1['val_auc']} -> {e2['val_auc']}: the model ranks validation images better after epoch 2."),
        "C": Option("the gap between training and validation accuracy at epoch 2 proves that the model overfits",
                    False,
                    f"a gap ({e2['train_acc']}% against {e2['val_acc']}%) also comes from a different class balance or "
                    "mix of images in validation, BatchNorm statistics, and Keras' training metrics themselves "
                    "(weighted by class_weight, on augmented batches, dropout on); memorisation would show as a "
                    "validation loss that rises, and it fell."),
        "D": Option("validation accuracy below 50% at epoch 1 means the model ranked validation images worse than "
                    "chance", e1["val_auc"] < 0.5,
                    f"ranking is what the AUC measures, and it was {e1['val_auc']} (barely above chance, not below); "
                    "accuracy at the threshold 0.5 also depends on where the outputs sit relative to 0.5."),
        "E": Option("two epochs cannot show where the validation loss would stop falling", True,
                    "a curve of two points has no turning point; whether (and when) the validation loss turns up "
                    "needs more epochs - or an experiment that tests the explanations."),
    }


class SeedEpochs(Choice):
    title = "what the seed's two published epochs show"
    names = ("supported",)
    lesson = LESSON + ": the section on the seed's published curves; lesson 07 examines them further"
    question = ("The original system published two epochs (cancer_course.plots.REFERENCE_EPOCHS; accuracy in "
                "percent). Which statements follow from these numbers?")
    options = _epoch_options()
    hints = (
        "Read each statement against the table, number by number; for the others ask: what would the curves look "
        "like if it were true?",
        "Overfitting is a statement about the *validation loss* turning up while training improves. Accuracy "
        "depends on a threshold, the AUC does not.",
        "Two statements are read straight off the table (one of the two loss/AUC statements is false), one is "
        "about what two points can show, and two claim more than the numbers do.",
    )
    solution_code = '''
    supported = {"B", "E"}
    '''

    def evidence(self) -> str:
        from ..plots import MANUAL_FIELDS, REFERENCE_EPOCHS

        return format_table(MANUAL_FIELDS, REFERENCE_EPOCHS)


q1 = Stem()
q2 = Head()
q3 = CountHead()
q4 = BuildWithKnobs()
q5 = SeedEpochs()
PROBLEMS = register(globals(), "05")
