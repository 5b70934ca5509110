"""Exercises for lesson 04: CBAM attention.

q1 channel attention (shared MLP) · q2 spatial attention · q3 CBAM, channel then spatial · q4 CBAM's
parameters by hand · q5 what CBAM's gates show and what they do not (interpretive).
"""

from __future__ import annotations

import numpy as np

from ._choice import Choice, Option, format_table
from ._keras import CHANNEL_ERRORS, build, expect_params, expect_shape, randomise, run
from ._numbers import expect_count
from .core import Incorrect, Problem, register

LESSON = "lesson 04 (notebooks/04_cbam_attention.ipynb)"


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _weights(model):
    found = {}
    for w in model.weights:
        found.setdefault(tuple(w.shape), np.asarray(w.numpy()))
    return found


def _channel_gates(x, w, c, r, descriptors=("avg", "max"), out_relu=False, sigmoid_each=False):
    w1, b1, w2, b2 = w[(c, r)], w[(r,)], w[(r, c)], w[(c,)]

    def mlp(d):
        z = np.maximum(d @ w1 + b1, 0) @ w2 + b2
        z = np.maximum(z, 0) if out_relu else z
        return _sigmoid(z) if sigmoid_each else z

    pooled = {"avg": x.mean(axis=(1, 2)), "max": x.max(axis=(1, 2))}
    total = sum(mlp(pooled[d]) for d in descriptors)
    return (total if sigmoid_each else _sigmoid(total))[:, None, None, :]


def _spatial_map(x, kernel, bias, order=("mean", "max")):
    import keras

    maps = {"mean": x.mean(axis=-1, keepdims=True), "max": x.max(axis=-1, keepdims=True)}
    stacked = np.concatenate([maps[o] for o in order], axis=-1).astype("float32")
    logits = np.asarray(keras.ops.conv(stacked, kernel, padding="same")) + bias
    return _sigmoid(logits)


def _channel_weights(model, c, r, call):
    w = _weights(model)
    if not all(s in w for s in ((c, r), (r,), (r, c), (c,))):
        raise Incorrect(f"{call}: the shared MLP should be two Dense layers with kernels {(c, r)} and {(r, c)} "
                        f"(with biases); your weights have shapes {sorted({tuple(v.shape) for v in model.weights})}.")
    return w


def _spatial_weights(model, k, call):
    w = _weights(model)
    if (k, k, 2, 1) not in w or (1,) not in w:
        raise Incorrect(f"{call}: spatial attention has one {k}x{k} convolution from the 2 maps (channel mean and "
                        f"channel max) to 1 map, kernel shape {(k, k, 2, 1)}; your weights have shapes "
                        f"{sorted({tuple(v.shape) for v in model.weights})}.")
    return w[(k, k, 2, 1)], w[(1,)]


class ChannelAttention(Problem):
    title = "CBAM's channel attention"
    names = ("channel_attention",)
    lesson = LESSON + ", section 1"
    hints = (
        "Two descriptors of shape (1, 1, C): the average and the maximum of each channel over all positions. Both go "
        "through the *same* MLP (C -> C // ratio with ReLU -> C); add the two results, then a sigmoid gives the gates.",
        "Create the two Dense layers once (hidden = layers.Dense(C // ratio, activation='relu'); out = "
        "layers.Dense(C)), then call them on both descriptors: out(hidden(avg)) and out(hidden(mx)).",
        "Fill in the blanks: avg = layers.GlobalAveragePooling2D(keepdims=True)(x); mx = layers.____(keepdims=True)(x); "
        "logits = layers.Add()([out(hidden(____)), out(hidden(____))]); gates = layers.Activation(____)(logits); "
        "return layers.Multiply()([____, ____])",
    )
    known_errors = CHANNEL_ERRORS
    solution_code = '''
    def channel_attention(x, ratio=8, name="ca"):
        channels = x.shape[-1]
        hidden = layers.Dense(max(1, channels // ratio), activation="relu", name=f"{name}_mlp_hidden")
        out = layers.Dense(channels, name=f"{name}_mlp_out")
        avg = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_avg_pool")(x)
        mx = layers.GlobalMaxPooling2D(keepdims=True, name=f"{name}_max_pool")(x)
        logits = layers.Add(name=f"{name}_logits")([out(hidden(avg)), out(hidden(mx))])
        gates = layers.Activation("sigmoid", name=f"{name}_gates")(logits)
        return layers.Multiply(name=f"{name}_scale")([x, gates])
    '''

    def _check(self, channel_attention):
        from .. import blocks

        model, call = build(channel_attention, (6, 6, 32), "channel_attention", ratio=8)
        expect_shape(model, (None, 6, 6, 32), call, "channel attention rescales the channels and keeps the shape.")
        shared = blocks.dense_params(32, 4) + blocks.dense_params(4, 32)
        got = model.count_params()
        if got == 2 * shared:
            raise Incorrect(f"{call} has {got:,} parameters, twice the shared MLP's {shared:,}: you made one MLP per "
                            "descriptor. Create the two Dense layers once and call the same layers on both.")
        if got != shared:
            raise Incorrect(f"{call} has {got:,} parameters but it should have {shared:,}: one shared MLP, "
                            "Dense 32 -> 32 // 8 = 4 (ReLU) and Dense 4 -> 32, with biases (32*4 + 4 + 4*32 + 32).")
        randomise(model, seed=6, scale=0.3)
        _compare_channel(model, 32, 4, call)
        model, call = build(channel_attention, (5, 5, 24), "channel_attention", ratio=4)
        expect_shape(model, (None, 5, 5, 24), call, "channel attention keeps the shape of its input.")
        expect_params(model, blocks.dense_params(24, 6) + blocks.dense_params(6, 24), call,
                      "the hidden layer has channels // ratio = 24 // 4 = 6 units: use the `ratio` argument and read "
                      "the channels from the input (x.shape[-1]).")
        randomise(model, seed=16, scale=0.3)
        _compare_channel(model, 24, 6, call)
        model, call = build(channel_attention, (4, 4, 8), "channel_attention", ratio=16)
        expect_params(model, blocks.dense_params(8, 1) + blocks.dense_params(1, 8), call,
                      "with fewer channels than the ratio (8 // 16 = 0) the hidden layer still needs one unit: "
                      "max(1, channels // ratio).")
        return "Average and max descriptors, one shared MLP, added, then a sigmoid."


def _compare_channel(model, c, r, call):
    """Raise Incorrect unless ``model`` is x * sigmoid(MLP(avg) + MLP(max)), naming a known mistake."""
    w = _channel_weights(model, c, r, call)
    x = np.random.default_rng(0).normal(0.5, 1.0, size=(2, *tuple(model.input.shape)[1:])).astype("float32")
    out = run(model, x)
    if np.allclose(out, x * _channel_gates(x, w, c, r), atol=1e-4):
        return
    for options, message in [
        ({"descriptors": ("avg",)}, "your gates use only the average-pooled descriptor: CBAM adds the max-pooled one "
                                    "too."),
        ({"descriptors": ("max",)}, "your gates use only the max-pooled descriptor: CBAM adds the average-pooled one "
                                    "too."),
        ({"sigmoid_each": True}, "you apply a sigmoid to each MLP output and add the two: add the two MLP outputs "
                                 "first, then one sigmoid (gates in (0, 1))."),
        ({"out_relu": True}, "the MLP's second Dense has a ReLU: only the hidden layer has one; the sigmoid after "
                             "the addition makes the gates."),
    ]:
        if np.allclose(out, x * _channel_gates(x, w, c, r, **options), atol=1e-4):
            raise Incorrect(f"{call}: {message}")
    raise Incorrect(f"{call}: the output is not x * sigmoid(MLP(avg) + MLP(max)). Check that the MLP's first "
                    "layer has ReLU and its second none, that the two MLP outputs are *added* before one sigmoid, "
                    "and that the gates multiply the input.")


class SpatialAttention(Problem):
    title = "CBAM's spatial attention"
    names = ("spatial_attention",)
    lesson = LESSON + ", section 2"
    hints = (
        "At every position, take the mean and the max over the channels: two maps of shape (H, W, 1). A "
        "kernel_size x kernel_size convolution with one filter and a sigmoid turns them into one value per position.",
        "ChannelPool('mean') and ChannelPool('max') (from cancer_course.blocks) compute the two maps; "
        "layers.Concatenate(axis=-1) stacks them; Conv2D(1, kernel_size, padding='same') then a sigmoid.",
        "Fill in the blanks: maps = layers.Concatenate(axis=-1)([ChannelPool(____)(x), ChannelPool(____)(x)]); "
        "attention = layers.Activation(____)(layers.Conv2D(____, ____, padding=____)(maps)); "
        "return layers.Multiply()([____, ____])",
    )
    known_errors = (
        (r"expected min_ndim=4, found ndim=3|expected ndim=4, found ndim=3",
         "The channel-mean and channel-max maps lost their last axis: keep it, keras.ops.mean(x, axis=-1, "
         "keepdims=True) (or ChannelPool('mean')), so that each map is (H, W, 1)."),
    )
    solution_code = '''
    def spatial_attention(x, kernel_size=7, name="sa"):
        mean_map = ChannelPool("mean", name=f"{name}_channel_mean")(x)
        max_map = ChannelPool("max", name=f"{name}_channel_max")(x)
        maps = layers.Concatenate(axis=-1, name=f"{name}_mean_max")([mean_map, max_map])
        logits = layers.Conv2D(1, kernel_size, padding="same", name=f"{name}_conv")(maps)
        attention = layers.Activation("sigmoid", name=f"{name}_map")(logits)
        return layers.Multiply(name=f"{name}_out")([x, attention])
    '''

    def _check(self, spatial_attention):
        from .. import blocks

        model, call = build(spatial_attention, (9, 9, 32), "spatial_attention", kernel_size=7)
        expect_shape(model, (None, 9, 9, 32), call, "spatial attention rescales positions and keeps the shape "
                     "(padding='same' on the convolution).")
        expected = blocks.conv_params(2, 1, 7)
        got = model.count_params()
        if got == blocks.conv_params(32, 1, 7):
            raise Incorrect(f"{call} has {got:,} parameters, a 7x7 convolution over all 32 channels: the "
                            "convolution reads only the 2 maps (channel mean and channel max): 7*7*2 + 1 = 99.")
        if got != expected:
            raise Incorrect(f"{call} has {got:,} parameters but it should have {expected}: one 7x7 convolution "
                            "from 2 maps to 1, with its bias (7*7*2 + 1). Pooling over channels has no weights.")
        randomise(model, seed=7, scale=0.3)
        _compare_spatial(model, 7, call)
        model, call = build(spatial_attention, (6, 6, 16), "spatial_attention", kernel_size=3)
        expect_shape(model, (None, 6, 6, 16), call, "spatial attention keeps the shape (padding='same').")
        expect_params(model, blocks.conv_params(2, 1, 3), call,
                      "with kernel_size=3 the convolution is 3x3 over the 2 maps (3*3*2 + 1 = 19): use the "
                      "`kernel_size` argument.")
        randomise(model, seed=17, scale=0.3)
        _compare_spatial(model, 3, call)
        return "One attention value per position, from the channel-mean and channel-max maps."


def _compare_spatial(model, k, call):
    kernel, bias = _spatial_weights(model, k, call)
    x = np.random.default_rng(0).normal(0.5, 1.0, size=(2, *tuple(model.input.shape)[1:])).astype("float32")
    out = run(model, x)
    for order in (("mean", "max"), ("max", "mean")):
        if np.allclose(out, x * _spatial_map(x, kernel, bias, order), atol=1e-4):
            return
    ratio, diff = out / x, out - x
    if np.allclose(diff, diff[..., :1], atol=1e-4) and not np.allclose(diff, 0, atol=1e-4):
        raise Incorrect(f"{call} adds the attention map to x: attention *multiplies* every channel at a position "
                        "by the map's value there (layers.Multiply()([x, attention])).")
    if not np.allclose(ratio, ratio[..., :1], atol=1e-3):
        raise Incorrect(f"{call}: at each position every channel should be multiplied by the *same* value "
                        "(a map of shape (H, W, 1)); yours multiplies channels differently.")
    if ratio.min() < -1e-6 or ratio.max() > 1 + 1e-6:
        raise Incorrect(f"{call}: the attention map should lie in (0, 1) but ranges from {ratio.min():.3f} to "
                        f"{ratio.max():.3f}: a sigmoid follows the convolution.")
    raise Incorrect(f"{call}: the output is not x * sigmoid(conv(mean and max over channels)). Check the two "
                    "maps (mean and max over the last axis), padding='same', and the sigmoid.")


class Cbam(Problem):
    title = "CBAM: channel attention, then spatial attention"
    names = ("cbam",)
    reimplements = ("cancer_course.blocks.cbam",)
    lesson = LESSON + ", section 3"
    hints = (
        "CBAM is your two functions in a row. Which comes first?",
        "First refine the channels (channel_attention), then decide where to look on the refined map "
        "(spatial_attention).",
        "Fill in the blanks: x = ____(x, ratio=____, name=...); return ____(x, kernel_size=____, name=...)",
    )
    known_errors = CHANNEL_ERRORS
    solution_code = '''
    def cbam(x, ratio=8, kernel_size=7, name="cbam"):
        x = channel_attention(x, ratio=ratio, name=f"{name}_channel")
        return spatial_attention(x, kernel_size=kernel_size, name=f"{name}_spatial")
    '''

    def _check(self, cbam):
        from .. import blocks

        model, call = build(cbam, (9, 9, 32), "cbam", ratio=8, kernel_size=7)
        expect_shape(model, (None, 9, 9, 32), call, "CBAM keeps the shape of its input.")
        expected = blocks.cbam_params(32, 8, 7)
        if model.count_params() != expected:
            raise Incorrect(f"{call} has {model.count_params():,} parameters but it should have {expected:,}: the "
                            "shared MLP (32*4 + 4 + 4*32 + 32 = 292) plus the 7x7 convolution over 2 maps (99). "
                            + _parts(cbam))
        randomise(model, seed=8, scale=0.3)
        _compare_cbam(model, 32, 4, 7, call, cbam)
        model, call = build(cbam, (6, 6, 16), "cbam", ratio=4, kernel_size=3)
        got, want = model.count_params(), blocks.cbam_params(16, 4, 3)
        if got != want:
            if got == blocks.cbam_params(16, 8, 3) or got == blocks.cbam_params(16, 8, 7):
                raise Incorrect(f"{call} has {got:,} parameters, as if the ratio were 8: pass `ratio` on to "
                                "channel_attention(x, ratio=ratio, ...).")
            if got == blocks.cbam_params(16, 4, 7):
                raise Incorrect(f"{call} has {got:,} parameters, as if kernel_size were 7: pass `kernel_size` on to "
                                "spatial_attention(x, kernel_size=kernel_size, ...).")
            raise Incorrect(f"{call} has {got:,} parameters but it should have {want:,}. " + _parts(cbam))
        randomise(model, seed=18, scale=0.3)
        _compare_cbam(model, 16, 4, 3, call, cbam)
        return "Channel attention first, then spatial attention on the refined map."


def _parts(cbam) -> str:
    """What to look at when cbam is wrong: q1 or q2 if one of them fails, else how cbam combines them."""
    namespace = getattr(cbam, "__globals__", {})
    for problem, name in ((q1, "channel_attention"), (q2, "spatial_attention")):
        part = namespace.get(name)
        if part is None or not callable(part):
            continue
        result = problem.evaluate(part)
        if not result.correct:
            return f"Your {name} does not pass q{problem.number} yet ({result.message}); fix it first."
    return ("Your channel_attention and spatial_attention pass q1 and q2, so look at how cbam combines them: "
            "call both, one after the other, and pass `ratio` and `kernel_size` on.")


def _compare_cbam(model, c, r, k, call, cbam):
    w = _channel_weights(model, c, r, call)
    kernel, bias = _spatial_weights(model, k, call)
    x = np.random.default_rng(0).normal(0.5, 1.0, size=(2, *tuple(model.input.shape)[1:])).astype("float32")
    out = run(model, x)
    for order in (("mean", "max"), ("max", "mean")):
        refined = x * _channel_gates(x, w, c, r)
        if np.allclose(out, refined * _spatial_map(refined, kernel, bias, order), atol=1e-4):
            return
        located = x * _spatial_map(x, kernel, bias, order)
        if np.allclose(out, located * _channel_gates(located, w, c, r), atol=1e-4):
            raise Incorrect(f"{call} applies spatial attention first: CBAM refines the channels first, then "
                            "computes the spatial map from the *refined* feature map.")
        if np.allclose(out, x * _channel_gates(x, w, c, r) * _spatial_map(x, kernel, bias, order), atol=1e-4):
            raise Incorrect(f"{call} computes both attentions from the input, side by side: CBAM is sequential, "
                            "the spatial map is computed from the output of channel attention.")
    raise Incorrect(f"{call}: the output is not spatial_attention(channel_attention(x)). " + _parts(cbam))


class CountCbam(Problem):
    title = "CBAM's parameters at 256 channels, by hand"
    names = ("cbam_256_params",)
    lesson = LESSON + ", section 4"
    hints = (
        "Two parts have weights: the shared MLP (counted once) and the spatial convolution.",
        "MLP: C*(C/r) + C/r + (C/r)*C + C with C = 256, r = 8. Spatial convolution: 7*7*2 weights + 1 bias.",
        "Fill in the blanks: (256 * ____ + ____) + (____ * 256 + ____) + (7 * 7 * ____ + ____).",
    )
    solution_code = '''
    cbam_256_params = (256 * 32 + 32) + (32 * 256 + 256) + (7 * 7 * 2 + 1)
    '''

    def _check(self, cbam_256_params):
        from .. import blocks

        mlp = blocks.dense_params(256, 32) + blocks.dense_params(32, 256)
        expected = mlp + 99
        expect_count(cbam_256_params, expected, "cbam_256_params", {
            2 * mlp + 99: "you counted the MLP twice: it is shared by the two descriptors, so its weights exist once.",
            mlp + blocks.conv_params(256, 1, 7): "the spatial convolution reads 2 maps (channel mean and max), "
                                                 "not 256 channels: 7*7*2 + 1 = 99.",
            mlp: "add the spatial attention's 7x7 convolution: 7*7*2 + 1 = 99.",
            mlp + 98: "the spatial convolution has a bias too: 7*7*2 + 1 = 99.",
            expected - 32 - 256 - 1: "add the biases: 32 + 256 in the MLP, 1 in the convolution.",
        }, "Shared MLP 256 -> 32 -> 256 with biases, plus one 7x7 convolution from 2 maps to 1 with its bias.")
        return f"{expected:,} parameters: {mlp:,} in the shared MLP, 99 in the spatial convolution."


# Exercise 5: CBAM's gates for two tiles, read out of a trained block (scripted numbers).
CHANNEL_GATES = {"tile 1": (0.91, 0.88, 0.95, 0.04, 0.63, 0.97), "tile 2": (0.90, 0.35, 0.93, 0.81, 0.66, 0.95)}
SPATIAL_MAP_TILE1 = ((0.97, 0.93, 0.41, 0.12), (0.95, 0.88, 0.30, 0.08), (0.52, 0.44, 0.21, 0.05),
                     (0.18, 0.11, 0.06, 0.05))


def _cbam_options() -> dict:
    g1, g2 = CHANNEL_GATES["tile 1"], CHANNEL_GATES["tile 2"]
    low = int(np.argmin(g1))
    spatial = np.asarray(SPATIAL_MAP_TILE1)
    return {
        "A": Option(f"for tile 1, channel {low} is scaled down to {g1[low]} of its value at every position", True,
                    "a channel gate is one number per channel and tile, applied to the whole map."),
        "B": Option("the channel gates are the same for every tile", g1 == g2,
                    f"channel {low}: {g1[low]} for tile 1, {g2[low]} for tile 2 - the gates are computed from each "
                    "tile's own pooled features."),
        "C": Option("the bright top-left of tile 1's spatial map shows that the model's decision rests on the "
                    "top-left", False,
                    "attention rescales features inside the network; the layers after it can still use or ignore "
                    "what it kept. Whether the decision depends on a region is tested by changing the region "
                    "(occlusion, lesson 11), not by reading a gate."),
        "D": Option("CBAM keeps height, width and channels, so it does not change the stage's output stride", True,
                    "both attentions multiply the map by gates of broadcastable shape; the 7x7 convolution has "
                    "stride 1 and 'same' padding."),
        "E": Option(f"a spatial gate of {spatial.min()} removes that position from everything later layers compute",
                    False,
                    f"it scales the features there to {spatial.min():.0%}, it does not remove them, and later 3x3 "
                    "convolutions at the neighbouring positions still mix them in."),
    }


class ReadCbamGates(Choice):
    title = "what CBAM's gates show, and what they do not"
    scripted = True
    names = ("follows",)
    lesson = LESSON + ": the sections on channel and spatial attention"
    question = ("A trained CBAM block produced these channel gates (6 channels, two tiles) and this 4x4 spatial "
                "map for tile 1. Which statements follow?")
    options = _cbam_options()
    hints = (
        "Recall the shapes: what does one channel gate multiply, and what does one value of the spatial map "
        "multiply?",
        "A gate is a multiplier inside the network, computed from this tile's features. Reading a multiplier "
        "does not tell you what the later layers did with the result.",
        "Two statements are read from the shapes and the numbers; the others confuse a gate with an "
        "explanation, a per-tile value with a constant, or a small factor with zero.",
    )
    solution_code = '''
    follows = {"A", "D"}
    '''

    def evidence(self) -> str:
        gates = format_table(["", *[f"ch {i}" for i in range(6)]], [[k, *v] for k, v in CHANNEL_GATES.items()])
        spatial = format_table(["tile 1 map", *[f"col {j}" for j in range(4)]],
                               [[f"row {i}", *r] for i, r in enumerate(SPATIAL_MAP_TILE1)])
        return gates + "\n\n" + spatial


q1 = ChannelAttention()
q2 = SpatialAttention()
q3 = Cbam()
q4 = CountCbam()
q5 = ReadCbamGates()
PROBLEMS = register(globals(), "04")
