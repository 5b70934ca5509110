"""Exercises for lesson 02: residual blocks and squeeze-and-excitation.

q1 the SE block · q2 the projection shortcut · q3 the residual bottleneck block · q4 counting a
block's parameters by hand · q5 which biases BatchNorm cancels, and how many (interpretive).
"""

from __future__ import annotations

import numpy as np

from ._choice import Choice, format_table
from ._ex02_blocks import (
    _BLOCK_MISTAKES,
    BN_BLOCK,
    _bias_layers,
    _bias_options,
    _conv_bn,
    _dense_weights,
    _sigmoid,
    redundant_bias_count,
)
from ._keras import (
    CHANNEL_ERRORS,
    build,
    close,
    counts,
    expect_params,
    expect_shape,
    first_match,
    randomise,
    run,
    same_function,
    shape,
)
from ._numbers import expect_count
from .core import Incorrect, Problem, register

LESSON = "lesson 02 (notebooks/02_residual_blocks_and_squeeze_excitation.ipynb)"


class SqueezeExcitation(Problem):
    title = "the squeeze-and-excitation block"
    names = ("squeeze_excitation",)
    reimplements = ("cancer_course.blocks.squeeze_excitation",)
    lesson = LESSON + ", section 1"
    hints = (
        "Three steps: squeeze (one number per channel), excite (two Dense layers, C -> C // ratio -> C), "
        "scale (multiply the input by the gates).",
        "Squeeze with layers.GlobalAveragePooling2D(keepdims=True) so the result is (1, 1, C) and broadcasts "
        "against the input. The first Dense has max(1, C // ratio) units and ReLU, the second C units and sigmoid.",
        "Fill in the blanks: channels = x.shape[-1]; s = layers.GlobalAveragePooling2D(keepdims=____)(x); "
        "s = layers.Dense(max(1, ____ // ____), activation=____)(s); gates = layers.Dense(____, activation=____)(s); "
        "return layers.Multiply()([____, ____])",
    )
    known_errors = CHANNEL_ERRORS
    solution_code = '''
    def squeeze_excitation(x, ratio=16, name="se"):
        channels = x.shape[-1]
        s = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_squeeze")(x)
        s = layers.Dense(max(1, channels // ratio), activation="relu", name=f"{name}_reduce")(s)
        gates = layers.Dense(channels, activation="sigmoid", name=f"{name}_gates")(s)
        return layers.Multiply(name=f"{name}_scale")([x, gates])
    '''

    def _check(self, squeeze_excitation):
        from .. import blocks

        model, call = build(squeeze_excitation, (8, 8, 64), "squeeze_excitation", ratio=16)
        if tuple(model.output.shape) != (None, 8, 8, 64):
            raise Incorrect(
                f"your SE block returned shape {shape(model.output.shape)} but the input was (None, 8, 8, 64): "
                "the gates must have one value per input channel, and the block returns the input times its gates."
            )
        expect_params(model, blocks.se_params(64, 16), call,
                      "two Dense layers with biases, 64 -> 64 // 16 = 4 (ReLU) -> 64 (sigmoid): "
                      "64*4 + 4 + 4*64 + 64 = 580. Pooling and multiplying have no parameters.")
        _dense_weights(model, 64, 4)
        randomise(model, seed=1, scale=0.1)  # moderate logits: a saturated sigmoid would hide mistakes
        for w in model.weights:
            if tuple(w.shape) == (4,):  # the hidden layer's biases: keep its ReLUs active
                w.assign(np.abs(np.asarray(w.numpy())) + 0.5)
        w1, b1, w2, b2 = _dense_weights(model, 64, 4)
        rng = np.random.default_rng(0)
        x = rng.normal(rng.uniform(-1, 2, size=64), 1.0, size=(2, 8, 8, 64)).astype("float32")
        out = run(model, x)
        ratio = out / x
        gates = ratio[:, :1, :1, :]
        if not np.allclose(ratio, gates, rtol=1e-3, atol=1e-4):
            raise Incorrect(f"{call}: the output is not the input times one gate per channel (the same gate at every "
                            "position): multiply x by gates of shape (1, 1, C), e.g. layers.Multiply()([x, gates]).")
        if gates.min() <= 0 or gates.max() >= 1:
            raise Incorrect(f"{call}: the gates should lie in (0, 1) but range from {gates.min():.3f} to "
                            f"{gates.max():.3f}: use a sigmoid on the second Dense layer.")

        def excite(descriptor):
            return _sigmoid(np.maximum(descriptor @ w1 + b1, 0) @ w2 + b2)

        expected = excite(x.mean(axis=(1, 2)))
        if np.allclose(gates[:, 0, 0, :], expected, atol=1e-4):
            pass
        elif np.allclose(gates[:, 0, 0, :], excite(x.max(axis=(1, 2))), atol=1e-4):
            raise Incorrect("your gates are computed from the maximum of each channel: SE squeezes with the "
                            "*average* (GlobalAveragePooling2D). Max-pooling is CBAM's second descriptor (lesson 04).")
        else:
            raise Incorrect("your gates differ from sigmoid(Dense(ReLU(Dense(average of each channel)))): check "
                            "that the squeeze is an average over positions and that the first Dense uses ReLU, "
                            "the second sigmoid.")
        small, call = build(squeeze_excitation, (4, 4, 32), "squeeze_excitation", ratio=8)
        expect_shape(small, (None, 4, 4, 32), call, "the output has the input's shape.")
        expect_params(small, blocks.se_params(32, 8), call,
                      "the hidden layer must have channels // ratio units: use the `ratio` argument, "
                      "and read the channels from the input (x.shape[-1]).")
        randomise(small, seed=11, scale=0.3)
        if not same_function(small, blocks.squeeze_excitation, (4, 4, 32), seed=1, ratio=8):
            raise Incorrect(f"{call}: with your own weights copied into a reference SE block, the outputs differ: "
                            "check the average squeeze, ReLU on the first Dense and sigmoid on the second, and that "
                            "the gates multiply the input.")
        tiny, call = build(squeeze_excitation, (4, 4, 8), "squeeze_excitation", ratio=16)
        expect_params(tiny, blocks.se_params(8, 16), call,
                      "with fewer channels than the ratio (8 // 16 = 0) the hidden layer still needs one unit: "
                      "max(1, channels // ratio).")
        return "One gate per channel, in (0, 1), computed from the channel averages."


class ProjectionShortcut(Problem):
    title = "the shortcut: identity or 1x1 projection"
    names = ("shortcut",)
    lesson = LESSON + ", section 2"
    hints = (
        "Two cases. If the input already has `filters` channels, the shortcut is the input itself. Otherwise it "
        "must change the number of channels without looking at neighbours.",
        "The projection is a 1x1 convolution with `filters` filters followed by BatchNormalization, and no ReLU "
        "(the ReLU comes after the addition).",
        "Fill in the blanks: if x.shape[____] == ____: return ____; otherwise return conv_bn(x, ____, ____, "
        "f'{name}_proj', relu=____).",
    )
    solution_code = '''
    def shortcut(x, filters, name="block"):
        if x.shape[-1] == filters:
            return x
        return conv_bn(x, filters, 1, f"{name}_proj", relu=False)
    '''

    def _check(self, shortcut):
        import keras

        from .. import blocks

        inputs = keras.Input(shape=(8, 8, 64))
        same = shortcut(inputs, 64, name="same")
        if same is None:
            raise Incorrect("shortcut(x, 64) on a 64-channel input returned None: did you forget `return`?")
        if same is not inputs:
            model = keras.Model(inputs, same)
            x = np.random.default_rng(0).normal(size=(2, 8, 8, 64)).astype("float32")
            n = model.count_params()
            if n == 0 and close(run(model, x), x):
                pass  # layers.Identity()(x) or the like: the input, unchanged
            elif n == 0:
                raise Incorrect(
                    f"shortcut(x, 64) on a 64-channel input has no parameters but changes the input (shape "
                    f"{shape(same.shape)}): when the channels already match, the shortcut is the input itself "
                    "(return x, or layers.Identity()(x)).")
            else:
                raise Incorrect(
                    f"shortcut(x, 64) on a 64-channel input added {n:,} parameters and returned shape "
                    f"{shape(same.shape)}: when the channels already match, the shortcut is the input itself "
                    "(return x): an identity shortcut has no layers with weights.")
        model, call = build(shortcut, (8, 8, 64), "shortcut", filters=128, name="proj")
        expect_shape(model, (None, 8, 8, 128), call,
                     "a projection shortcut changes the channels to `filters` and keeps height and width "
                     "(a 1x1 convolution, stride 1).")
        expected = blocks.conv_params(64, 128, 1) + 4 * 128
        got = model.count_params()
        if got == blocks.conv_params(64, 128, 1):
            raise Incorrect(f"{call} has {got:,} parameters, those of the 1x1 convolution alone: the projection is "
                            "a 1x1 convolution *followed by BatchNormalization* (4 more numbers per channel).")
        if got == blocks.conv_params(64, 128, 3) + 4 * 128:
            raise Incorrect(f"{call} has {got:,} parameters, those of a 3x3 convolution: the projection only "
                            "changes the number of channels, so it uses a 1x1 kernel.")
        expect_params(model, expected, call, "1x1 conv 64 -> 128 with bias (64*128 + 128) plus BN (4*128).")
        _, frozen = counts(model)
        if frozen != 2 * 128:
            raise Incorrect(f"{call} has {frozen} non-trainable parameters; BN's moving mean and variance give "
                            "2*128 = 256.")
        randomise(model, seed=2)
        out = run(model, np.random.default_rng(0).normal(size=(2, 8, 8, 64)).astype("float32"))
        if out.min() >= 0:
            raise Incorrect(f"{call} never outputs a negative number: leave out the ReLU on the shortcut "
                            "(relu=False); the block applies its ReLU after the addition.")
        for c_in, filters in ((32, 48), (64, 32)):
            try:
                model, call = build(shortcut, (6, 6, c_in), "shortcut", filters=filters, name="other")
            except Incorrect as exc:
                if "returned its input unchanged" not in str(exc):
                    raise
                raise Incorrect(f"shortcut(x, {filters}) on a {c_in}-channel input returned the input itself: "
                                "whenever the input's channels differ from `filters` - more or fewer - the "
                                "shortcut projects to `filters` channels (compare with ==).") from None
            expect_shape(model, (None, 6, 6, filters), call,
                         "whenever the input's channels differ from `filters` - more or fewer - the shortcut "
                         "projects to `filters` channels.")
            expect_params(model, blocks.conv_params(c_in, filters, 1) + 4 * filters, call,
                          f"a 1x1 conv {c_in} -> {filters} with bias and a BN ({4 * filters}).")
            randomise(model, seed=5)
            if not same_function(model, lambda x, f=filters: _conv_bn(x, f, 1, relu=False), (6, 6, c_in)):
                raise Incorrect(f"{call}: with your own weights in a reference 1x1 conv -> BN projection, the "
                                "outputs differ: the projection is the convolution, then BatchNormalization, "
                                "and no ReLU.")
        return "Identity when the channels match; a 1x1 conv + BN projection when they change."


class ResidualSEBlock(Problem):
    title = "the residual bottleneck block with SE"
    names = ("residual_se_block",)
    reimplements = ("cancer_course.blocks.residual_se_block",)
    lesson = LESSON + ", section 2"
    hints = (
        "Main path: 1x1 conv to filters // 4, 3x3 conv at filters // 4, 1x1 conv back to `filters`, each with BN "
        "(ReLU after the first two only), then SE. Add the shortcut, then a final ReLU.",
        "Use conv_bn(...) for each convolution (relu=False on the last one), squeeze_excitation(y, ratio, ...) "
        "for SE, and shortcut(x, filters, name) for the other path; layers.Add()([y, s]) adds them.",
        "Fill in the blanks: b = max(1, filters // ____); y = conv_bn(x, ____, 1, ...); y = conv_bn(y, ____, "
        "____, ...); y = conv_bn(y, ____, 1, ..., relu=____); y = squeeze_excitation(y, ratio=____, ...); "
        "y = layers.Add()([____, shortcut(x, ____, name)]); return layers.ReLU()(____)",
    )
    known_errors = CHANNEL_ERRORS
    solution_code = '''
    def residual_se_block(x, filters, ratio=16, name="block"):
        bottleneck = max(1, filters // 4)
        y = conv_bn(x, bottleneck, 1, f"{name}_1x1a")
        y = conv_bn(y, bottleneck, 3, f"{name}_3x3")
        y = conv_bn(y, filters, 1, f"{name}_1x1b", relu=False)
        y = squeeze_excitation(y, ratio=ratio, name=f"{name}_se")
        y = layers.Add(name=f"{name}_add")([y, shortcut(x, filters, name)])
        return layers.ReLU(name=f"{name}_out")(y)
    '''

    def _check(self, residual_se_block):
        from .. import blocks

        model, call = build(residual_se_block, (8, 8, 64), "residual_se_block", filters=64)
        expect_shape(model, (None, 8, 8, 64), call, "a block keeps height and width and outputs `filters` channels.")
        trainable, frozen = blocks.residual_se_params(64, 64, 16)
        expect_params(model, trainable + frozen, call,
                      "1x1 conv 64 -> 16, 3x3 conv 16 -> 16, 1x1 conv 16 -> 64 (all with bias), three BNs "
                      "(4 per channel) and SE on 64 channels (ratio 16); no projection when the channels match. "
                      "The bottleneck has filters // 4 channels.")
        if counts(model)[1] != frozen:
            raise Incorrect(f"{call} has {counts(model)[1]} non-trainable parameters, expected {frozen} = "
                            "2 x (16 + 16 + 64): one BN after each of the three convolutions.")
        # Behaviour: with the last BN of the main path silenced, the block must pass its input through.
        randomise(model, seed=3)
        last_bn = [layer for layer in model.layers
                   if type(layer).__name__ == "BatchNormalization" and layer.weights[0].shape[0] == 64]
        x = np.random.default_rng(0).normal(size=(2, 8, 8, 64)).astype("float32")
        out = run(model, x)
        if out.min() < 0:
            raise Incorrect(f"{call} outputs negative numbers: the block ends with a ReLU after the addition.")
        if len(last_bn) == 1:
            gamma, beta = last_bn[0].weights[0], last_bn[0].weights[1]
            gamma.assign(np.zeros(gamma.shape, "float32"))
            beta.assign(np.zeros(beta.shape, "float32"))
            out = run(model, x)
            if not np.allclose(out, np.maximum(x, 0), atol=1e-4):
                raise Incorrect(
                    f"{call}: when the main path outputs zeros (its last BN set to gamma = beta = 0), a residual "
                    "block must return ReLU(x). Yours does not: add the input (the shortcut) to the main path "
                    "*before* the final ReLU, and apply SE before the addition.")
        try:
            model, call = build(residual_se_block, (8, 8, 64), "residual_se_block", filters=128)
        except ValueError as exc:
            raise Incorrect(
                f"residual_se_block(x, filters=128) on a 64-channel input failed ({type(exc).__name__}: "
                f"{' '.join(str(exc).split())[:160]}). The two paths of the addition must have the same number of "
                "channels: when they differ, the shortcut is a 1x1 conv + BN projection.") from None
        expect_shape(model, (None, 8, 8, 128), call, "64 -> 128 channels, same height and width.")
        expect_params(model, sum(blocks.residual_se_params(64, 128, 16)), call,
                      "when the channels change (64 -> 128) the shortcut adds a 1x1 conv (64*128 + 128) and a BN "
                      "(4*128); the main path works at 128 // 4 = 32 channels.")
        # Other widths and ratios, and the learner's own weights in the reference block.
        for c_in, filters, ratio in ((32, 48, 4), (64, 64, 16)):
            model, call = build(residual_se_block, (6, 6, c_in), "residual_se_block", filters=filters, ratio=ratio)
            expect_shape(model, (None, 6, 6, filters), call, "a block outputs `filters` channels.")
            got, want = model.count_params(), sum(blocks.residual_se_params(c_in, filters, ratio))
            if got != want and got == sum(blocks.residual_se_params(c_in, filters, 16)):
                raise Incorrect(f"{call} has {got:,} parameters, as if the SE ratio were 16: pass `ratio` on, "
                                "squeeze_excitation(y, ratio=ratio, ...).")
            expect_params(model, want, call, f"the bottleneck has {filters} // 4 = {filters // 4} channels and SE "
                                             f"reduces {filters} channels by the ratio {ratio}.")
            randomise(model, seed=12)
            kwargs = {"filters": filters, "ratio": ratio}
            if not same_function(model, blocks.residual_se_block, (6, 6, c_in), **kwargs):
                mistake = first_match(model, _BLOCK_MISTAKES, (6, 6, c_in), **kwargs)
                raise Incorrect(f"{call}: with your own weights copied into the reference block, the outputs differ"
                                + (f": {mistake}" if mistake else
                                   ". Check the order: conv_bn 1x1 (ReLU), conv_bn 3x3 (ReLU), conv_bn 1x1 (no ReLU), "
                                   "SE, add the shortcut, then one ReLU."))
        return "It passes its input through when the main path is silent, and projects when the width changes."


class CountBlockParams(Problem):
    title = "parameters of a 128 -> 256 residual SE block, by hand"
    names = ("block_params", "block_non_trainable")
    lesson = LESSON + ", 'Counting the block's parameters by hand'"
    hints = (
        "List every layer with weights: three convolutions, three BNs, SE's two Dense layers, and the projection "
        "(conv + BN) because the channels change from 128 to 256. The bottleneck is 256 // 4 = 64.",
        "Conv k x k, c_in -> c_out: k*k*c_in*c_out + c_out. BN: 4 per channel, of which 2 (moving mean and "
        "variance) are non-trainable. SE on C channels with ratio 16: C*(C/16) + C/16 + (C/16)*C + C.",
        "Fill in the blanks: non-trainable = 2 x (____ + ____ + ____ + ____), one term per BN (the projection's "
        "counts). Total = the convolutions (1x1 128 -> ____, 3x3 ____ -> ____, 1x1 ____ -> 256, the projection "
        "1x1 ____ -> ____, each with biases) + 4 x (the BNs' channels) + SE (8,464).",
    )
    solution_code = '''
    block_params = (
        (128 * 64 + 64) + (9 * 64 * 64 + 64) + (64 * 256 + 256)  # three convolutions
        + 4 * (64 + 64 + 256)                                    # three BNs
        + (256 * 16 + 16 + 16 * 256 + 256)                       # SE, ratio 16
        + (128 * 256 + 256) + 4 * 256                            # projection: 1x1 conv + BN
    )
    block_non_trainable = 2 * (64 + 64 + 256 + 256)              # BN moving mean and variance
    '''

    def _check(self, block_params, block_non_trainable):
        from .. import blocks

        trainable, frozen = blocks.residual_se_params(128, 256, 16)
        total = trainable + frozen
        no_proj_total = total - blocks.conv_params(128, 256, 1) - 4 * 256
        mistakes = {
            no_proj_total: "that is the block without its projection shortcut: the channels change from 128 to "
                           "256, so the shortcut is a 1x1 conv (128*256 + 256) plus a BN (4*256).",
            trainable: "that is the trainable part only: BN also stores a moving mean and variance "
                       "(2 more numbers per channel), which count as parameters.",
            total - blocks.se_params(256, 16): "you left out the squeeze-and-excitation block "
                                               "(256*16 + 16 + 16*256 + 256 = 8,464).",
            total - 4 * (64 + 64 + 256 + 256): "you left out the BatchNormalization layers (4 per channel).",
            total - (64 + 64 + 256 + 256): "you left out the convolutions' biases (one per output channel).",
        }
        expect_count(block_params, total, "block_params", mistakes,
                     "Count each layer: three convolutions, three BNs, SE, and the projection conv + BN.")
        expect_count(block_non_trainable, frozen, "block_non_trainable",
                     {2 * (64 + 64 + 256): "you forgot the projection's BN (2*256 more).",
                      4 * (64 + 64 + 256 + 256): "each BN channel has 2 non-trainable numbers (moving mean and "
                                                 "variance), not 4: gamma and beta are trained."},
                     "Only BN has non-trainable parameters: 2 per channel, in four BNs (64, 64, 256, 256).")
        return f"{total:,} parameters, {frozen:,} of them non-trainable (Keras agrees)."


class RedundantBiases(Choice):
    title = "which biases do nothing"
    names = ("redundant", "redundant_biases")
    lesson = LESSON + ": the sections on the bottleneck block and on counting its parameters"
    question = (f"A residual SE block reads {BN_BLOCK[0]} channels and has {BN_BLOCK[1]} filters (SE ratio "
                f"{BN_BLOCK[2]}), built as in exercise 3; every convolution and Dense layer has a bias. Whose biases "
                "have no effect at all on what the block computes? And how many bias parameters is that?")
    options = _bias_options()
    hints = (
        "Follow each layer's output to the next layer that transforms it. Which layer in this block removes "
        "a constant added to a whole channel?",
        "BatchNorm computes (x - mean) / std per channel, and (x + b) - mean(x + b) = x - mean(x): a bias directly "
        "before BatchNorm disappears. A bias before ReLU or sigmoid does not.",
        "Four convolutions feed a BatchNorm (one is on the shortcut path); count their output channels. The "
        "bottleneck is filters // 4.",
    )
    solution_code = '''
    redundant = {"A", "B", "C", "F"}
    redundant_biases = 32 + 32 + 128 + 128
    '''

    def _check(self, redundant, redundant_biases):
        picked = super()._check(redundant)
        layers = _bias_layers()
        want = redundant_bias_count()
        se = layers["D"][1] + layers["E"][1]
        expect_count(redundant_biases, want, "redundant_biases", {
            want - layers["F"][1]: "the projection on the shortcut path is a convolution followed by BatchNorm "
                                   "too.",
            want + se: "SE's two Dense layers have no BatchNorm after them: their biases count.",
            want + layers["G"][1]: "BatchNorm's betas are not redundant: they are the shift that survives.",
            want - layers["C"][1] - layers["F"][1] + layers["A"][1] * 2: "the last 1x1 convolution and the "
                                                                          "projection have `filters` outputs.",
        }, "Add the output channels of the four convolutions that feed a BatchNorm.")
        return f"{picked} {want} of the block's biases do nothing; use_bias=False would drop them."

    def evidence(self) -> str:
        rows = [[k, layer, n] for k, (layer, n, _, _) in _bias_layers().items()]
        return format_table(["", "layer with a bias", "biases"], rows)


q1 = SqueezeExcitation()
q2 = ProjectionShortcut()
q3 = ResidualSEBlock()
q4 = CountBlockParams()
q5 = RedundantBiases()
PROBLEMS = register(globals(), "02")
