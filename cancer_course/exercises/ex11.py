"""Exercises for lesson 11: explainability and shortcut learning.

q1 find the last feature-map layer · q2 Grad-CAM by hand · q3 a randomised copy for the sanity check
· q4 how similar are two maps (Spearman) · q5 what the explanations and the occlusion test show
about a shortcut (interpretive).
"""

from __future__ import annotations

import numbers

import numpy as np

from ._choice import Choice, Option, format_table
from ._ex11_models import _attention_model, _gradcam_case, _plain_model, _raw_cam, _saliency_model
from ._keras import randomise
from .core import Incorrect, Problem, register

LESSON = "lesson 11 (explainability and shortcut learning; cancer_course/explain/)"


class LastConvLayer(Problem):
    title = "find the last feature-map layer"
    names = ("last_feature_map",)
    reimplements = ("cancer_course.explain.last_conv_layer_name",)
    known_errors = ((r"has no attribute 'output_shape'", "Keras 3 layers have no output_shape (a Keras 2 habit): "
                     "read layer.output.shape."),)
    lesson = LESSON + ": section 1, 'last_conv_layer_name'"
    hints = (
        "Grad-CAM explains a feature map: a layer whose output is 4-D, (batch, height, width, channels). Walk the "
        "model's layers from the end and stop at the first such layer.",
        "len(layer.output.shape) == 4 marks a feature map. Skip 1-channel maps (attention gates, not features) and "
        "the InputLayer. Return the layer's *name*.",
        "Fill the blanks: for layer in reversed(model.layers): if len(layer.output.shape) == ____ and "
        "layer.output.shape[-1] > ____ and not isinstance(layer, ____): return ____",
    )
    solution_code = '''
    def last_feature_map(model):
        maps = [layer.name for layer in model.layers
                if len(layer.output.shape) == 4 and layer.output.shape[-1] > 1
                and not isinstance(layer, keras.layers.InputLayer)]
        return maps[-1]
    '''

    def _check(self, last_feature_map):
        import keras

        for build, want in ((_plain_model, "conv_b"), (_attention_model, "attended"), (_saliency_model, "features")):
            model = build()
            got = last_feature_map(model)
            if isinstance(got, keras.layers.Layer):
                raise Incorrect(f"last_feature_map returned the layer {got.name!r} itself; return its name "
                                "(layer.name), which is what grad_cam(..., layer_name=...) takes.")
            if got == want:
                continue
            names = [layer.name for layer in model.layers]
            if got not in names:
                raise Incorrect(f"last_feature_map returned {got!r}, which is not a layer of the model "
                                f"({', '.join(names)}).")
            layer = model.get_layer(got)
            shape = tuple(layer.output.shape)
            if len(shape) != 4:
                raise Incorrect(f"on a model with layers {', '.join(names)} you chose {got!r}, whose output has shape "
                                f"{shape}: not a feature map. Grad-CAM needs a 4-D output (batch, height, width, "
                                "channels), the last one before pooling.")
            if shape[-1] == 1:
                raise Incorrect(f"on a model with layers {', '.join(names)} you chose {got!r}, a 1-channel attention "
                                "(or saliency) map: it weighs the features but is not one of them. Skip maps with a "
                                "single channel.")
            if isinstance(layer, keras.layers.InputLayer):
                raise Incorrect("you chose the input layer: the image itself is not a learned feature map.")
            raise Incorrect(f"on a model with layers {', '.join(names)} you chose {got!r}, but {want!r} comes later and "
                            "also outputs a feature map (BN, ReLU and attention act on the features too): take the "
                            "*last* 4-D layer with more than one channel.")
        return "the last feature map before pooling, whatever kind of layer made it."


class GradCam(Problem):
    title = "Grad-CAM by hand"
    names = ("grad_cam_map",)
    reimplements = ("cancer_course.explain.grad_cam",)
    known_errors = ((r"No such layer", "look the layer up by the name the check passes you: "
                     "model.get_layer(layer_name)."),)
    lesson = LESSON + ": section 1, 'Grad-CAM, step by step'"
    hints = (
        "Four steps: a model that returns the layer's activations and the score; a GradientTape for the gradient of "
        "the score with respect to the activations; one weight per channel (the mean gradient over positions); the "
        "weighted sum of the channels, ReLU, scaled so the maximum is 1.",
        "A keras.Model from model.input to two outputs, the layer's output and model.output, gives both in one "
        "call; run it on image[None] inside tf.GradientTape() and ask the tape for the gradient of the score with "
        "respect to the features. Average that gradient over height and width: one weight per channel.",
        "Fill the blanks: weights = tf.reduce_mean(grads, axis=____, keepdims=True); cam = ____(tf.reduce_sum("
        "features * weights, axis=____))[0]; return (cam / ____).numpy()",
    )
    solution_code = '''
    def grad_cam_map(model, image, layer_name):
        tap = keras.Model(model.input, [model.get_layer(layer_name).output, model.output])
        with tf.GradientTape() as tape:
            features, score = tap(image[None], training=False)
            tape.watch(features)
        grads = tape.gradient(score, features)
        weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)  # one weight per channel
        cam = tf.nn.relu(tf.reduce_sum(features * weights, axis=-1))[0]
        return (cam / tf.reduce_max(cam)).numpy()
    '''

    def _check(self, grad_cam_map):
        model, image, want = _gradcam_case()
        got = grad_cam_map(model, image.copy(), "features")
        if got is None:
            raise Incorrect("grad_cam_map returned None: did you forget the `return` line?")
        got = np.asarray(got, dtype=np.float64)
        if got.shape == (1, *want.shape):
            raise Incorrect(f"the map has shape {got.shape}: return the map of the one image, shape {want.shape} "
                            "(take [0] of the batch).")
        if got.shape != want.shape:
            raise Incorrect(f"for a 12x12 image and the layer 'features' (output 6x6x6) the map has shape {got.shape}; "
                            f"expected {want.shape}: one value per position of that layer, summed over its channels.")
        if np.allclose(got, want, atol=1e-4):
            return _check_other_layer(grad_cam_map, model, image)
        if got.min() < -1e-6:
            raise Incorrect(f"the map has negative values (down to {got.min():.3f}): keep only the positive evidence "
                            "for the class, tf.nn.relu, before scaling.")
        if abs(got.max() - 1) > 1e-4:
            raise Incorrect(f"the map's maximum is {got.max():.4g}: divide by the maximum so the map lies in [0, 1].")
        raw = _raw_cam(model, image)
        if np.allclose(got, np.abs(raw) / np.abs(raw).max(), atol=1e-4):
            raise Incorrect("you took the absolute value of the weighted sum: negative evidence (against the class) "
                            "then shows up as heat. Keep only the positive part, tf.nn.relu, then divide by the "
                            "maximum.")
        alt = np.maximum(_raw_cam(model, image, average=False), 0)
        if alt.max() > 0 and np.allclose(got, alt / alt.max(), atol=1e-4):
            raise Incorrect("you multiplied the activations by the gradient position by position. Grad-CAM gives each "
                            "*channel* one weight, the mean of its gradient over all positions: "
                            "tf.reduce_mean(grads, axis=(1, 2), keepdims=True).")
        raise Incorrect("the map differs from Grad-CAM's on a known model and image. Check each step: gradient of the "
                        "model's output with respect to the layer's activations, channel weights = mean gradient over "
                        "height and width, weighted sum over channels, ReLU, divide by the maximum.")


def _check_other_layer(grad_cam_map, model, image) -> str:
    """The same model and image, explained at the earlier layer 'early' (12x12): is `layer_name` used?"""
    from ..explain import grad_cam

    want = grad_cam(model, image, "early", resize=False)
    if want.max() > 0:
        got = np.asarray(grad_cam_map(model, image.copy(), "early"), dtype=np.float64)
        if got.shape != want.shape or not np.allclose(got, want, atol=1e-4):
            raise Incorrect(f"with layer_name='early' (output 12x12x4) your map has shape {got.shape} and differs "
                            "from Grad-CAM's there: look the layer up by the name you are given, "
                            "model.get_layer(layer_name), not a fixed one.")
    return "the malignant score's evidence, channel by channel, at the layer's resolution."


def _trainable_snapshot(model) -> list[np.ndarray]:
    return [np.array(w.numpy()) for w in model.trainable_weights]


class RandomisedCopy(Problem):
    title = "a randomised copy for the sanity check"
    names = ("randomized_copy",)
    reimplements = ("cancer_course.explain.randomized_clone",)
    lesson = LESSON + ": section 4, 'randomized_clone'"
    hints = (
        "The sanity check compares the trained model's map with the map of the same architecture with random "
        "weights. The trained model must stay as it is: work on a copy.",
        "keras.models.clone_model(model) copies the architecture (with new weights). Then give every trainable "
        "weight random values from np.random.default_rng(seed), so the same seed gives the same copy.",
        "Fill the blanks: clone = keras.models.____(model); rng = np.random.default_rng(____); for w in "
        "clone.____: w.assign(rng.normal(0, 0.05, size=tuple(w.shape)).astype('float32')); return ____",
    )
    solution_code = '''
    import keras
    import numpy as np

    def randomized_copy(model, seed=0):
        clone = keras.models.clone_model(model)
        rng = np.random.default_rng(seed)
        for weight in clone.trainable_weights:
            weight.assign(rng.normal(0, 0.05, size=tuple(weight.shape)).astype("float32"))
        return clone
    '''

    def _check(self, randomized_copy):
        import keras

        model = _attention_model()
        randomise(model, 3, scale=0.4)
        before = _trainable_snapshot(model)
        x = np.random.default_rng(4).uniform(size=(2, 16, 16, 3)).astype("float32")
        p_before = np.asarray(model(x, training=False))
        copy = randomized_copy(model, seed=0)
        after = _trainable_snapshot(model)
        if any(not np.array_equal(a, b) for a, b in zip(before, after)):
            raise Incorrect("randomized_copy changed the weights of the model it was given: the sanity check needs "
                            "the trained model intact. Randomise a clone (keras.models.clone_model).")
        if copy is model:
            raise Incorrect("randomized_copy returned the model it was given: return a copy.")
        if not isinstance(copy, keras.Model):
            raise Incorrect(f"randomized_copy returned {type(copy).__name__}, not a keras.Model.")
        def named(m):
            return [layer.name for layer in m.layers if not isinstance(layer, keras.layers.InputLayer)]

        if named(copy) != named(model):
            raise Incorrect("the copy's layers differ from the model's: keep the architecture (and the layer names, "
                            "which Grad-CAM looks up), change only the weights.")
        weights = _trainable_snapshot(copy)
        if len(weights) != len(before):
            raise Incorrect("the copy has a different number of weights.")
        same = [w.path for w, a, b in zip(copy.trainable_weights, weights, before) if np.array_equal(a, b)]
        if same:
            raise Incorrect(f"{len(same)} weight(s) of the copy still equal the trained model's (e.g. {same[0]}): "
                            "randomise every trainable weight.")
        if np.allclose(np.asarray(copy(x, training=False)), p_before, atol=1e-6):
            raise Incorrect("the copy predicts exactly what the model predicts: its weights are not random.")
        again = _trainable_snapshot(randomized_copy(model, seed=0))
        if any(not np.array_equal(a, b) for a, b in zip(weights, again)):
            raise Incorrect("two copies made with seed=0 have different weights: draw them from "
                            "np.random.default_rng(seed) so the sanity check can be repeated exactly.")
        other = _trainable_snapshot(randomized_copy(model, seed=1))
        if all(np.array_equal(a, b) for a, b in zip(weights, other)):
            raise Incorrect("seed=0 and seed=1 give the same weights: use the seed.")
        return "same architecture, random weights, the trained model untouched."


class MapSimilarity(Problem):
    title = "how similar are two maps"
    names = ("map_similarity",)
    reimplements = ("cancer_course.explain.map_similarity",)
    lesson = LESSON + ": section 4, 'map_similarity'"
    hints = (
        "Compare where two maps put their heat, not how bright they are: rank the values and correlate the ranks "
        "(Spearman). The maps are 2-D; flatten them first.",
        "scipy.stats.spearmanr correlates the ranks of two 1-D arrays: 1 means the same ranking, 0 unrelated.",
        "Fill the blanks: return float(spearmanr(np.____(a), np.____(b)).____)",
    )
    solution_code = '''
    import numpy as np
    from scipy.stats import spearmanr

    def map_similarity(a, b):
        return float(spearmanr(np.ravel(a), np.ravel(b)).statistic)
    '''

    def _check(self, map_similarity):
        from scipy.stats import spearmanr

        from ..explain import map_similarity as reference

        rng = np.random.default_rng(5)
        a = rng.uniform(size=(6, 6))
        cases = [(a, a ** 4, 1.0), (a, 1 - a, -1.0), (a, rng.uniform(size=(6, 6)), None),
                 (a, a + 0.1 * rng.normal(size=(6, 6)), None)]
        got = []
        for x, y, _ in cases:
            value = map_similarity(x.copy(), y.copy())
            if isinstance(value, dict):
                value = value.get("spearman", value)
            if np.ndim(value) != 0 or not isinstance(float(np.asarray(value)), numbers.Real):
                raise Incorrect(f"map_similarity returned {type(value).__name__} of shape {np.shape(value)}: return "
                                "one number. (scipy's spearmanr on 2-D maps correlates their *columns*: flatten them "
                                "with np.ravel first.)")
            got.append(float(value))
        want = [reference(x, y)["spearman"] for x, y, _ in cases]
        if np.allclose(got, want, atol=1e-6):
            return "1 = same ranking of positions; near 0 = unrelated maps."
        if np.allclose(got, [float(spearmanr(np.ravel(x), np.ravel(y)).pvalue) for x, y, _ in cases], atol=1e-6):
            raise Incorrect("yours is the p-value of the test (near 0 for maps that agree); return the correlation "
                            "itself, spearmanr(...).statistic.")
        if np.allclose(got, [1 - w for w in want], atol=1e-6):
            raise Incorrect("yours is 1 - the rank correlation (a distance, 0 for maps that agree): return the "
                            "correlation itself, 1 for maps that rank every position the same way.")
        if np.allclose(got, [reference(x, y)["pearson"] for x, y, _ in cases], atol=1e-6):
            raise Incorrect(f"a map and the same map raised to the 4th power rank every position the same way, so "
                            f"they should score 1.0; yours gives {got[0]:.3f}, the Pearson correlation of the values. "
                            "Correlate *ranks* (Spearman), not values (Pearson).")
        if abs(got[0] - 1) > 1e-6:
            raise Incorrect(f"a map and the same map raised to the 4th power rank every position the same way, so "
                            f"they should score 1.0; yours gives {got[0]:.3f}. Correlate *ranks* (Spearman).")
        i = next(i for i, (g, w) in enumerate(zip(got, want, strict=True)) if abs(g - w) > 1e-6)
        raise Incorrect(f"yours gives {got[i]:.3f} for two 6x6 maps; their Spearman rank correlation is {want[i]:.3f}.")

# Exercise 5: what the lesson's tools measured on two models (scripted numbers): model A trained on clean
# tiles, model B on tiles where a small square mark came with most malignant ones.
SHORTCUT_MEASURES = {
    "mark square's share of the tile's area": {"A": 0.06, "B": 0.06},
    "heat share of Grad-CAM in the mark's square": {"A": 0.07, "B": 0.31},
    "mean drop of p(malignant) when the square is covered": {"A": 0.01, "B": 0.38},
    "similarity to the randomised model's maps (pass below 0.5)": {"A": 0.12, "B": 0.15},
    "test AUC, tiles with the mark": {"A": 0.86, "B": 0.97},
    "test AUC, tiles without the mark": {"A": 0.85, "B": 0.71},
}


def _shortcut_options() -> dict:
    m = SHORTCUT_MEASURES
    area = m["mark square's share of the tile's area"]["B"]
    heat = m["heat share of Grad-CAM in the mark's square"]
    drop = m["mean drop of p(malignant) when the square is covered"]
    sim = m["similarity to the randomised model's maps (pass below 0.5)"]
    marked, clean = m["test AUC, tiles with the mark"], m["test AUC, tiles without the mark"]
    return {
        "A": Option("model B relies on the mark", drop["B"] > 10 * max(drop["A"], 0.01),
                    f"covering the square lowers B's p(malignant) by {drop['B']} on average, A's by {drop['A']}; and "
                    f"B's AUC falls from {marked['B']} to {clean['B']} without the mark."),
        "B": Option("both models passed the randomisation check, so their maps show what each model uses", False,
                    f"both passed ({sim['A']}, {sim['B']}), but passing is necessary, not sufficient: it shows the "
                    "maps depend on the trained weights, not that they show what the decision depends on."),
        "C": Option(f"B's Grad-CAM puts about {heat['B'] / area:.0f} times the square's area share of its heat in "
                    "the square", True,
                    f"heat share {heat['B']} against an area share of {area}: {heat['B'] / area:.1f} times."),
        "D": Option(f"B's test AUC on marked tiles ({marked['B']}) is what to expect where tiles carry no mark",
                    False, f"on tiles without the mark B scores {clean['B']}: the mark did part of the work."),
        "E": Option("the heat share alone would have proved that B uses the mark", False,
                    "a heat share says where the map is bright, not what the output depends on; the occlusion "
                    "test changes the input and measures the effect - that is the evidence."),
        "F": Option("model A ignores the mark", None,
                    f"A's output barely moves when the square is covered ({drop['A']}) and its AUC is the same with "
                    f"and without the mark ({marked['A']}, {clean['A']}): no sign that A uses it - but 'no effect "
                    "measured' is weaker than 'ignores', so leaving it out is defensible too"),
    }


class ShortcutEvidence(Choice):
    title = "what the explanations and the occlusion test show"
    scripted = True
    names = ("follows",)
    lesson = LESSON + ": the sections on the sanity checks, heat share and the occlusion test"
    question = ("Two models of the same architecture: A trained on clean tiles, B on tiles where a small square "
                "mark came with most malignant ones. The lesson's tools measured the following. Which statements "
                "follow?")
    options = _shortcut_options()
    hints = (
        "Sort the measurements into two kinds: those that look at a map, and those that change the input and "
        "watch the output. Which kind can show reliance?",
        "The randomisation check can only fail a map method; passing it does not make a map an explanation. "
        "Compare heat share with the square's share of the area, and AUC with and without the mark.",
        "Two statements follow from the occlusion test and the area ratio; three overreach (a passed check, a "
        "heat share alone, an AUC on marked tiles); one is weaker evidence, so it is accepted either way.",
    )
    solution_code = '''
    follows = {"A", "C"}   # F may be added: no effect was measured, which is weaker than "ignores"
    '''

    def evidence(self) -> str:
        return format_table(["measurement", "model A", "model B"],
                            [[k, v["A"], v["B"]] for k, v in SHORTCUT_MEASURES.items()])


q1 = LastConvLayer()
q2 = GradCam()
q3 = RandomisedCopy()
q4 = MapSimilarity()
q5 = ShortcutEvidence()
PROBLEMS = register(globals(), "11")
