"""Exercises for lesson 13: transfer learning and an ablation.

q1 freeze a backbone and put a new head on it · q2 unfreeze the top
of a backbone, BatchNorm kept frozen · q3 read a learning curve: when does pretraining help
(interpretive) · q4 read an ablation: which block earns its place (interpretive).
"""

from __future__ import annotations

import numpy as np

from ._choice import Choice, Option, format_table
from .core import Incorrect, Problem, register

LESSON = "lesson 13 (transfer learning and ablation; cancer_course/transfer.py)"


def _tiny_backbone(features: int = 6, seed: int = 0):
    """A small stand-in backbone: conv -> BN -> ReLU -> conv -> BN -> ReLU -> global pool, named "backbone"."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(8, 8, 3))
    x = inputs
    for i, filters in enumerate((4, features), 1):
        x = layers.Conv2D(filters, 3, padding="same", name=f"conv{i}")(x)
        x = layers.BatchNormalization(name=f"bn{i}")(x)
        x = layers.ReLU(name=f"relu{i}")(x)
    outputs = layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, outputs, name="backbone")


def _all_layers(model) -> list:
    """Every layer, looking inside nested models (a head written as a Sequential)."""
    found = []
    for layer in model.layers:
        found += _all_layers(layer) if hasattr(layer, "layers") else [layer]
    return found


def _moving_means(backbone) -> list[np.ndarray]:
    return [np.array(layer.moving_mean) for layer in backbone.layers if hasattr(layer, "moving_mean")]


class NewHead(Problem):
    title = "a frozen backbone with a new head"
    names = ("new_head",)
    reimplements = ("cancer_course.transfer.with_new_head",)
    lesson = LESSON + ": section 2, 'The recipe, step by step'"
    hints = (
        "Two things happen to the backbone before the head goes on: it stops training, and it is called on a new "
        "Input (in inference mode, as the Keras guide writes it).",
        "backbone.trainable = False; then a keras.Input of the backbone's input shape, backbone(inputs, "
        "training=False), a Dropout of the given rate and a Dense of 2 units with a softmax named 'head_output'.",
        "Last hint. Fill the blanks: backbone.trainable = ____; inputs = keras.Input(shape=backbone.input_shape[1:]); "
        "x = backbone(inputs, training=____); x = layers.Dropout(____)(x); outputs = layers.Dense(____, "
        "activation=____, name='head_output')(x); return keras.Model(inputs, outputs)",
    )
    solution_code = '''
    def new_head(backbone, dropout=0.2):
        backbone.trainable = False
        inputs = keras.Input(shape=backbone.input_shape[1:])
        x = backbone(inputs, training=False)
        x = layers.Dropout(dropout)(x)
        outputs = layers.Dense(2, activation="softmax", name="head_output")(x)
        return keras.Model(inputs, outputs)
    '''

    def _check(self, new_head):
        import keras

        backbone = _tiny_backbone(features=6)
        model = new_head(backbone, dropout=0.35)
        if not isinstance(model, keras.Model):
            raise Incorrect(f"new_head returned {type(model).__name__}; return the keras.Model that ends in the new head.")
        if model.output_shape != (None, 2):
            raise Incorrect(f"the model's output has shape {model.output_shape}; the new head ends in Dense(2) with a "
                            "softmax: one probability per class.")
        x = np.random.default_rng(0).random((4, 8, 8, 3)).astype("float32")
        out = np.asarray(model(x, training=False))
        if not np.allclose(out.sum(axis=1), 1.0, atol=1e-4) or (out < 0).any():
            raise Incorrect("the two outputs of an image are not probabilities that sum to 1: give the Dense layer "
                            "activation='softmax'.")
        training_ids = {id(v) for v in model.trainable_weights}
        leaking = [layer.name for layer in backbone.layers if any(id(w) in training_ids for w in layer.weights)]
        if leaking:
            raise Incorrect(f"the backbone's layers {leaking} would train: freeze the whole backbone "
                            "(backbone.trainable = False) so that only the new head trains at first.")
        try:
            model.get_layer("head_output")
        except ValueError:
            raise Incorrect("there is no layer named 'head_output': name the new Dense layer so (transfer.train_head "
                            "and the course's tools look it up by that name).") from None
        trainable = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
        if trainable != 6 * 2 + 2:
            raise Incorrect(f"{trainable} parameters would train; with the backbone frozen only the new Dense layer "
                            f"does: 6 features x 2 classes + 2 biases = 14.")
        dropouts = [layer for layer in _all_layers(model) if isinstance(layer, keras.layers.Dropout)]
        rates = [layer.rate for layer in dropouts if tuple(layer.output.shape[1:]) == tuple(backbone.output_shape[1:])]
        if not rates:
            where = " (yours drops pixels of the image, before the backbone)" if dropouts else ""
            raise Incorrect(f"there is no Dropout layer between the backbone and the Dense layer{where}: apply "
                            "Dropout to the backbone's features.")
        if not any(abs(rate - 0.35) < 1e-9 for rate in rates):
            raise Incorrect(f"new_head(backbone, dropout=0.35) gave Dropout rate(s) {rates}: pass the `dropout` "
                            "argument on instead of a fixed rate.")
        # Frozen means frozen: a training step must change neither the weights nor BatchNorm's averages.
        before = _moving_means(backbone) + [np.array(w) for w in backbone.weights]
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="categorical_crossentropy")
        model.fit(x * 3.0 + 1.0, np.eye(2, dtype="float32")[[0, 1, 0, 1]], epochs=1, verbose=0)
        after = _moving_means(backbone) + [np.array(w) for w in backbone.weights]
        if any(not np.allclose(a, b) for a, b in zip(before, after)):
            raise Incorrect("a training step changed the backbone (its weights or BatchNorm averages): freeze it with "
                            "backbone.trainable = False before building the new head.")
        return "Only the head trains now; the backbone, BatchNorm included, stays as it was pretrained."


class UnfreezeTop(Problem):
    title = "unfreeze the top of a backbone"
    names = ("unfreeze_top_layers",)
    reimplements = ("cancer_course.transfer.unfreeze_top",)
    lesson = LESSON + ": section 2, 'The recipe, step by step' (fine-tuning)"
    hints = (
        "Unfreezing starts with the whole backbone trainable again; then everything below the top is frozen once "
        "more, and one kind of layer is never unfrozen.",
        "backbone.trainable = True; list the layers that have weights (layer.weights non-empty); the last n of them "
        "train unless they are BatchNormalization; every other one gets trainable = False. Return the names of the "
        "layers that now train.",
        "Last hint. Fill the blanks: backbone.trainable = ____; weighted = [l for l in backbone.layers if ____]; for "
        "i, layer in enumerate(weighted): layer.trainable = i >= len(weighted) - ____ and not isinstance(layer, ____); "
        "return [layer.name for layer in weighted if ____]",
    )
    solution_code = '''
    def unfreeze_top_layers(backbone, n):
        backbone.trainable = True
        weighted = [layer for layer in backbone.layers if layer.weights]
        for i, layer in enumerate(weighted):
            top = i >= len(weighted) - n
            layer.trainable = top and not isinstance(layer, keras.layers.BatchNormalization)
        return [layer.name for layer in weighted if layer.trainable]
    '''

    def _check(self, unfreeze_top_layers):
        from keras import layers

        for n in (0, 1, 3, 4):
            backbone = _tiny_backbone()
            backbone.trainable = False
            opened = unfreeze_top_layers(backbone, n)
            weighted = [layer for layer in backbone.layers if layer.weights]
            want = {layer.name: i >= len(weighted) - n and not isinstance(layer, layers.BatchNormalization)
                    for i, layer in enumerate(weighted)}
            got = {layer.name: bool(layer.trainable) for layer in weighted}
            if n and not backbone.trainable:
                raise Incorrect(f"after unfreeze_top_layers(backbone, {n}) backbone.trainable is False, so nothing "
                                "can train: set backbone.trainable = True first, then freeze the lower layers again.")
            weightless = sorted(set(opened or ()) - set(got))
            if weightless:
                raise Incorrect(f"with n={n} the layers {weightless}, which have no weights, were counted among the top "
                                f"{n}: count only layers that have weights (layer.weights is not empty).")
            if got == want:
                if opened is None or sorted(opened) != sorted(name for name, on in got.items() if on):
                    raise Incorrect(f"with n={n} the right layers train, but unfreeze_top_layers returned {opened!r}: "
                                    "return the names of the layers that now train, e.g. to print them.")
                continue
            bn = [name for name, on in got.items() if on and name.startswith("bn")]
            if bn:
                raise Incorrect(f"with n={n} BatchNorm layer(s) {bn} became trainable: keep BatchNormalization frozen "
                                "when fine-tuning (a few small batches would move statistics learned on a large "
                                "dataset).")
            extra = [name for name, on in got.items() if on and not want[name]]
            missing = [name for name, on in want.items() if on and not got[name]]
            if extra:
                raise Incorrect(f"with n={n} these layers train but are not among the top {n} layers with weights: "
                                f"{extra}. Count only layers that have weights (conv, BatchNorm, dense), from the top; "
                                "everything below stays frozen.")
            raise Incorrect(f"with n={n} these top layers stay frozen: {missing}. The last {n} layers that have weights "
                            "(BatchNorm counted, but left frozen) should train.")
        return None


# ---------------------------------------------------------------- q3: a learning curve
CURVE = {  # n: (scratch per seed, pretrained per seed, DeLong p per seed on the same test cases)
    50: ((0.71, 0.64, 0.77), (0.86, 0.84, 0.88), (0.001, 0.001, 0.004)),
    150: ((0.86, 0.83, 0.88), (0.90, 0.89, 0.90), (0.03, 0.01, 0.30)),
    400: ((0.93, 0.94, 0.92), (0.93, 0.93, 0.94), (0.90, 0.60, 0.40)),
}


def _paired(n: int) -> tuple[float, float]:
    scratch, pre, _ = CURVE[n]
    diff = np.asarray(pre) - np.asarray(scratch)
    return float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(len(diff)))


class LearningCurve(Choice):
    title = "when does pretraining help"
    scripted = True
    names = ("follows",)
    lesson = LESSON + ": section 5, 'Does pretraining help? A learning curve'"
    question = ("A course model was trained from scratch and from a pretrained backbone on 50, 150 and 400 labelled "
                "tiles, 3 seeds each, the same full-network steps, scored on the same 400 test tiles. The backbone "
                "was pretrained on other patients' labelled synthetic tiles (the same task). Which statements "
                "follow?")
    hints = (
        "At each size, look at the paired differences (pretrained - scratch, seed by seed) and at the p-values on "
        "the same cases, not at whether two ranges overlap.",
        "A difference counts when it is larger than about twice its standard error over seeds and the same-case "
        "test agrees. 'No difference shown' is not 'no difference'. And ask what the source data was.",
        "Last hint. Three statements follow: one about each of the two smaller sizes, one about how the gap changes "
        "with size.",
    )
    solution_code = '''
    follows = {"A", "D", "G"}
    '''

    @property
    def options(self) -> dict[str, Option]:
        d50, se50 = _paired(50)
        d150, se150 = _paired(150)
        d400, se400 = _paired(400)
        return {
            "A": Option("with 50 labelled tiles the pretrained model is better, beyond seed noise and on the same cases",
                        True, f"the paired difference is {d50:+.3f} AUC, {d50 / se50:.0f} standard errors, and p < 0.01 "
                        "for every seed."),
            "B": Option("with 400 labelled tiles pretraining makes the model worse", False,
                        f"the mean difference is {d400:+.3f} ± {se400:.3f} and no seed's p is below 0.4: no difference "
                        "is shown either way."),
            "C": Option("with 400 labelled tiles the two ways are equally good", False,
                        "no difference *shown* is not no difference: the seeds alone leave room for a gap of about "
                        f"{2 * se400 + abs(d400):.2f} AUC either way, before the test set's own uncertainty. Say "
                        "'not distinguishable here'."),
            "D": Option("from 50 to 400 labelled tiles, at this budget, the advantage of pretraining shrinks as the "
                        "labelled set grows", True,
                        f"the paired mean differences are {d50:+.3f}, {d150:+.3f} and {d400:+.3f} at 50, 150 and 400 "
                        "tiles."),
            "E": Option("ImageNet pretraining would help as much on real histology", False,
                        "the backbone here was pretrained on synthetic tiles that share their anatomy with the target; "
                        "ImageNet photographs are much further from histology. The measurement is about this source "
                        "and this target only."),
            "F": Option("at 150 tiles the ranges over seeds overlap, so the test set cannot tell the two apart", False,
                        f"overlapping ranges are not the test: paired by seed the difference is {d150:+.3f} ± "
                        f"{se150:.3f} ({d150 / se150:.1f} standard errors), and 2 of 3 seeds are significant on the "
                        "same cases."),
            "G": Option("with 150 labelled tiles the pretrained model is also better, beyond seed noise and "
                        "significant on the same cases for most seeds", True,
                        f"{d150:+.3f} ± {se150:.3f} paired by seed ({d150 / se150:.1f} standard errors), and 2 of 3 "
                        "seeds significant in its favour: the course's rule is met, if by less than at 50 tiles."),
        }

    def evidence(self) -> str:
        rows = []
        for n, (scratch, pre, p) in CURVE.items():
            d, se = _paired(n)
            rows.append([n, ", ".join(f"{v:.2f}" for v in scratch), ", ".join(f"{v:.2f}" for v in pre),
                         f"{d:+.3f} ± {se:.3f}", ", ".join(f"{v:.3f}" for v in p)])
        return format_table(["labelled tiles", "scratch AUC (seeds 0-2)", "pretrained AUC (seeds 0-2)",
                             "paired mean diff ± SE", "DeLong p per seed"], rows)


# ---------------------------------------------------------------- q4: an ablation
ABLATION = {  # variant: (parameters, seconds per run, test AUC per seed, DeLong p against plain per seed)
    "plain residual": (244_306, 14, (0.901, 0.889, 0.910), None),
    "+ squeeze-excitation": (255_696, 17, (0.916, 0.905, 0.924), (0.04, 0.10, 0.02)),
    "+ multi-scale": (256_114, 16, (0.893, 0.910, 0.912), (0.60, 0.20, 0.90)),
    "+ CBAM": (261_077, 19, (0.900, 0.893, 0.911), (0.90, 0.70, 0.95)),
    "reference (all three)": (282_091, 24, (0.917, 0.909, 0.928), (0.03, 0.04, 0.02)),
}


def _versus_plain(name: str) -> tuple[float, float]:
    diff = np.asarray(ABLATION[name][2]) - np.asarray(ABLATION["plain residual"][2])
    return float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(len(diff)))


class Ablation(Choice):
    title = "which block earns its place"
    scripted = True
    names = ("follows",)
    lesson = LESSON + ": section 6, 'Does each block earn its place? An ablation'"
    question = ("The plain residual network and each custom block added alone were trained at a matched budget "
                "(same images, same steps, 3 seeds), scored on the same test tiles. Which statements follow?")
    hints = (
        "For each row, compare its paired difference from the plain network with its standard error, and check "
        "the same-case p-values.",
        "A block 'earns its place' here only if its gain is larger than the seed noise. A gain not shown at this "
        "budget is not a gain disproved, and the rows add one block at a time, never two.",
        "Last hint. Two statements follow: one about squeeze-and-excitation, one that says what the evidence does and "
        "does not support for the other two blocks.",
    )
    solution_code = '''
    follows = {"A", "D"}
    '''

    @property
    def options(self) -> dict[str, Option]:
        se_d, se_se = _versus_plain("+ squeeze-excitation")
        ms_d, ms_se = _versus_plain("+ multi-scale")
        cb_d, cb_se = _versus_plain("+ CBAM")
        ref_d, _ = _versus_plain("reference (all three)")
        return {
            "A": Option("at this budget, squeeze-and-excitation's gain over the plain network is larger than the seed "
                        "noise", True, f"{se_d:+.3f} AUC, {se_d / se_se:.0f} standard errors paired by seed, and "
                        "significant on the same cases for 2 of 3 seeds."),
            "B": Option("CBAM does nothing for tumour detection", False,
                        f"its difference here is {cb_d:+.3f} ± {cb_se:.3f}: not shown at this budget and size. A "
                        "longer run, more data or another task could show a gain; 'not shown' is all that follows."),
            "C": Option("the multi-scale block hurts", False,
                        f"{ms_d:+.3f} ± {ms_se:.3f} AUC: within the seed noise, in either direction."),
            "D": Option("at this budget the evidence shows a gain for squeeze-and-excitation beyond seed noise, and "
                        "does not show that the multi-scale block or CBAM add anything", True,
                        "only the SE row (and the reference, which contains SE) moves beyond the noise."),
            "E": Option("the reference's gain over the plain network is the sum of the three blocks' gains", False,
                        f"the sum of the rows is {se_d + ms_d + cb_d:+.3f}, the reference {ref_d:+.3f}; and the table "
                        "never adds two blocks together, so it cannot say how they interact."),
            "F": Option("with ten times more data, a block that shows no gain here would still show none", False,
                        "nothing here was measured with more data: the ablation answers for this budget and this "
                        "dataset only."),
        }

    def evidence(self) -> str:
        rows = []
        for name, (params, seconds, aucs, p) in ABLATION.items():
            versus = "-" if p is None else "{:+.3f} ± {:.3f}".format(*_versus_plain(name))
            rows.append([name, f"{params:,}", seconds, ", ".join(f"{v:.3f}" for v in aucs), versus,
                         "-" if p is None else ", ".join(f"{v:.2f}" for v in p)])
        return format_table(["variant", "parameters", "s per run", "test AUC (seeds 0-2)", "vs plain, paired ± SE",
                             "DeLong p vs plain"], rows)


q1 = NewHead()
q2 = UnfreezeTop()
q3 = LearningCurve()
q4 = Ablation()
PROBLEMS = register(globals(), "13")
