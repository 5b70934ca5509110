"""Exercises for lesson 03: the inception-style multi-scale block.

q1 the multi-scale block · q2 branches of different widths · q3 the laptop profile's stage-3 block,
by hand · q4 two stacked 3x3 convolutions against one 5x5 · q5 the stride and receptive field after
the stem and one multi-scale block (interpretive).
"""

from __future__ import annotations

import numpy as np

from ._keras import build, expect_params, expect_shape, randomise, run, same_function
from ._numbers import as_int, expect_count
from .core import Incorrect, Problem, register

LESSON = "lesson 03 (notebooks/03_multiscale_inception_block.ipynb)"
BRANCH_VIEW = {1: 0, 2: 1, 3: 2, 4: 1}  # how far (in pixels) each branch sees around a position
BRANCH_NAME = {1: "1x1", 2: "1x1 -> 3x3", 3: "1x1 -> 3x3 -> 3x3", 4: "3x3 max-pool -> 1x1"}


def _conv(c_in, c_out, k):
    return k * k * c_in * c_out + c_out


def widths_params(c_in: int, widths) -> int:
    """Parameters of a multi-scale block whose four branches have the given widths."""
    f1, f2, f3, f4 = widths
    return (_conv(c_in, f1, 1) + 4 * f1
            + _conv(c_in, f2, 1) + _conv(f2, f2, 3) + 8 * f2
            + _conv(c_in, f3, 1) + 2 * _conv(f3, f3, 3) + 12 * f3
            + _conv(c_in, f4, 1) + 4 * f4)


def _reach(model, channels: slice, size: int = 11, seed: int = 0) -> int:
    """How far from a changed pixel the given output channels change (Chebyshev distance)."""
    rng = np.random.default_rng(seed)
    c_in = model.input.shape[-1]
    x = rng.normal(size=(1, size, size, c_in)).astype("float32")
    bumped = x.copy()
    centre = size // 2
    bumped[0, centre, centre, :] += 4.0
    diff = np.abs(run(model, bumped) - run(model, x))[0][..., channels].max(axis=-1)
    ys, xs = np.nonzero(diff > 1e-5)
    if len(ys) == 0:
        return -1
    return int(max(np.abs(ys - centre).max(), np.abs(xs - centre).max()))


def _check_branches(model, widths, call):
    start = 0
    for k, width in enumerate(widths, start=1):
        reach = _reach(model, slice(start, start + width))
        if reach != BRANCH_VIEW[k]:
            seen = "nothing" if reach < 0 else f"a {2 * reach + 1}x{2 * reach + 1} window"
            want = 2 * BRANCH_VIEW[k] + 1
            raise Incorrect(
                f"{call}: output channels {start}-{start + width - 1} should be branch {k} ({BRANCH_NAME[k]}), "
                f"which sees a {want}x{want} window around each position, but they see {seen}. Check that "
                f"branch {k} has the right layers and width, and concatenate the branches in the order b1, b2, b3, b4.")
        start += width


def _check_pool_and_relu(model, widths, call):
    """Branch 4 pools with the *maximum*; every branch ends with a ReLU."""
    c_in, size = model.input.shape[-1], 11
    flat = np.full((1, size, size, c_in), 0.5, "float32")
    dip = flat.copy()
    dip[0, size // 2, size // 2, :] = -4.0  # a darker pixel leaves every 3x3 maximum unchanged
    start = sum(widths[:3])
    if np.abs(run(model, dip) - run(model, flat))[0][..., start:].max() > 1e-5:
        raise Incorrect(f"{call}: branch 4 changes when one pixel of the input gets darker, so it does not start "
                        "with the maximum of each 3x3 window of the input: branch 4 is MaxPooling2D(3, strides=1, "
                        "padding='same') on x, then the 1x1 conv_bn - not an average pool, and not the pool after "
                        "the convolution.")
    x = np.random.default_rng(1).normal(size=(2, size, size, c_in)).astype("float32")
    out, start = run(model, x), 0
    for k, width in enumerate(widths, start=1):
        if out[..., start:start + width].min() < 0:
            raise Incorrect(f"{call}: branch {k} outputs negative numbers: every convolution is followed by BN "
                            "and a ReLU, the branch's last one too.")
        start += width


def _widths_reference(x, widths):
    from keras import layers

    from ..blocks import _conv_bn

    f1, f2, f3, f4 = widths
    b1 = _conv_bn(x, f1, 1, "r_b1")
    b2 = _conv_bn(_conv_bn(x, f2, 1, "r_b2a"), f2, 3, "r_b2b")
    b3 = _conv_bn(_conv_bn(_conv_bn(x, f3, 1, "r_b3a"), f3, 3, "r_b3b"), f3, 3, "r_b3c")
    b4 = _conv_bn(layers.MaxPooling2D(3, strides=1, padding="same")(x), f4, 1, "r_b4")
    return layers.Concatenate()([b1, b2, b3, b4])


class MultiscaleBlock(Problem):
    title = "the multi-scale block"
    names = ("multiscale_block",)
    reimplements = ("cancer_course.blocks.multiscale_block",)
    lesson = LESSON + ", section 2"
    hints = (
        "Four branches read the same input x: b1 1x1; b2 1x1 -> 3x3; b3 1x1 -> 3x3 -> 3x3; b4 3x3 max-pool "
        "(stride 1) -> 1x1. Each convolution has `branch_filters` filters, BN and ReLU.",
        "Keep height and width everywhere: padding='same' and stride 1, also on the max-pool "
        "(layers.MaxPooling2D(3, strides=1, padding='same')). Then layers.Concatenate(axis=-1)([b1, b2, b3, b4]).",
        "Fill in the blanks: b1 = conv_bn(x, f, ____, ...); b2 = conv_bn(conv_bn(x, f, 1, ...), f, ____, ...); "
        "b3 = three conv_bn in a row (kernel sizes ____, ____, ____); b4 = conv_bn(layers.____(3, strides=____, "
        "padding='same')(x), f, 1, ...); then layers.Concatenate(axis=-1)([____, ____, ____, ____]).",
    )
    solution_code = '''
    def multiscale_block(x, branch_filters=64, name="multiscale"):
        f = branch_filters
        b1 = conv_bn(x, f, 1, f"{name}_b1_1x1")
        b2 = conv_bn(conv_bn(x, f, 1, f"{name}_b2_1x1"), f, 3, f"{name}_b2_3x3")
        b3 = conv_bn(x, f, 1, f"{name}_b3_1x1")
        b3 = conv_bn(conv_bn(b3, f, 3, f"{name}_b3_3x3a"), f, 3, f"{name}_b3_3x3b")
        b4 = layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_b4_pool")(x)
        b4 = conv_bn(b4, f, 1, f"{name}_b4_1x1")
        return layers.Concatenate(axis=-1, name=f"{name}_concat")([b1, b2, b3, b4])
    '''

    def _check(self, multiscale_block):
        from .. import blocks

        model, call = build(multiscale_block, (11, 11, 32), "multiscale_block", branch_filters=16)
        got = tuple(model.output.shape)
        if got[1:3] != (11, 11):
            raise Incorrect(f"{call} changed the height and width to {got[1:3]}: every branch must keep them "
                            "(padding='same', stride 1, also on the max-pool) so that they can be concatenated.")
        expect_shape(model, (None, 11, 11, 64), call,
                     "four branches of branch_filters = 16 channels each, concatenated along the channels: 4 x 16.")
        expect_params(model, sum(blocks.multiscale_params(32, 16)), call,
                      "four 1x1 convs from the input (32*16 + 16 each), three 3x3 convs 16 -> 16 (9*16*16 + 16 each) "
                      "and seven BNs (4*16 each). The max-pool and the concatenation have none.")
        randomise(model, seed=4)
        _check_branches(model, (16, 16, 16, 16), call)
        _check_pool_and_relu(model, (16, 16, 16, 16), call)
        if not same_function(model, blocks.multiscale_block, (11, 11, 32), branch_filters=16):
            raise Incorrect(f"{call}: with your own weights copied into a reference block, the outputs differ: "
                            "every convolution is conv -> BN -> ReLU (conv_bn, the first 1x1 of branches 2 and 3 "
                            "too), and the max-pool comes before branch 4's convolution.")
        return "Four receptive fields (1, 3, 5 and a pooled 3), side by side."


class BranchWidths(Problem):
    title = "a multi-scale block with branches of different widths"
    names = ("multiscale_block_widths",)
    reimplements = ("cancer_course.blocks.multiscale_block",)
    lesson = LESSON + ", section 1"
    hints = (
        "The same four branches as in q1, but branch k has widths[k - 1] filters in *every* one of its convolutions.",
        "Unpack first: f1, f2, f3, f4 = widths. The output has f1 + f2 + f3 + f4 channels.",
        "Fill in the blanks: b3 = conv_bn(conv_bn(conv_bn(x, ____, 1, ...), ____, 3, ...), ____, 3, ...); the same "
        "for the other branches with their own width (f1 for b1, ...); concatenate b1, b2, b3, b4 in that order.",
    )
    solution_code = '''
    def multiscale_block_widths(x, widths=(64, 64, 64, 64), name="msw"):
        f1, f2, f3, f4 = widths
        b1 = conv_bn(x, f1, 1, f"{name}_b1_1x1")
        b2 = conv_bn(conv_bn(x, f2, 1, f"{name}_b2_1x1"), f2, 3, f"{name}_b2_3x3")
        b3 = conv_bn(x, f3, 1, f"{name}_b3_1x1")
        b3 = conv_bn(conv_bn(b3, f3, 3, f"{name}_b3_3x3a"), f3, 3, f"{name}_b3_3x3b")
        b4 = layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_b4_pool")(x)
        b4 = conv_bn(b4, f4, 1, f"{name}_b4_1x1")
        return layers.Concatenate(axis=-1, name=f"{name}_concat")([b1, b2, b3, b4])
    '''

    def _check(self, multiscale_block_widths):
        widths = (8, 12, 4, 6)
        model, call = build(multiscale_block_widths, (11, 11, 16), "multiscale_block_widths", widths=widths)
        expect_shape(model, (None, 11, 11, sum(widths)), call,
                     f"the branches' widths add up: {' + '.join(map(str, widths))} = {sum(widths)} channels, at the "
                     "input's height and width.")
        expected = widths_params(16, widths)
        got = model.count_params()
        if got != expected:
            for order in ((12, 8, 4, 6), (8, 12, 6, 4), (8, 4, 12, 6), (6, 4, 12, 8)):
                if got == widths_params(16, order):
                    raise Incorrect(f"{call} has {got:,} parameters, as if the widths were {order}: branch k must "
                                    "use widths[k - 1] (b1 the first, b4 the last), in all of its convolutions.")
            raise Incorrect(f"{call} has {got:,} parameters but it should have {expected:,}: branch k uses "
                            "widths[k - 1] filters in every convolution of that branch (b3 has three).")
        randomise(model, seed=5)
        _check_branches(model, widths, call)
        _check_pool_and_relu(model, widths, call)
        if not same_function(model, _widths_reference, (11, 11, 16), widths=widths):
            raise Incorrect(f"{call}: with your own weights copied into a reference block, the outputs differ: "
                            "every convolution is conv -> BN -> ReLU (conv_bn), the max-pool comes before branch "
                            "4's convolution, and the branches are concatenated in the order b1, b2, b3, b4.")
        return f"widths {widths} give {sum(widths)} channels and {expected:,} parameters from 16 input channels."


class LaptopStage3(Problem):
    title = "the laptop profile's stage-3 block, by hand"
    names = ("ms_out_channels", "ms_params")
    lesson = LESSON + ", section 3"
    hints = (
        "In the laptop profile every filter count is halved (width 0.5): the block reads 128 * 0.5 = 64 channels "
        "and each branch has 64 * 0.5 = 32 filters.",
        "Four 1x1 convolutions read the input (64 -> 32), three 3x3 convolutions work at 32 -> 32, and there are "
        "seven BNs of 32 channels (4 numbers each).",
        "ms_out_channels: four branches of 32 filters each. ms_params: four 1x1 convolutions 64 -> 32 and three "
        "3x3 convolutions 32 -> 32 (weights plus biases each), plus seven BNs of 32 channels.",
    )
    solution_code = '''
    ms_out_channels = 4 * 32
    ms_params = 4 * (64 * 32 + 32) + 3 * (9 * 32 * 32 + 32) + 7 * 4 * 32
    '''

    def _check(self, ms_out_channels, ms_params):
        channels = as_int(ms_out_channels, "ms_out_channels")
        if channels != 128:
            raise Incorrect(f"`ms_out_channels` = {channels}: four branches of 32 filters, concatenated, "
                            "give 4 x 32 = 128 channels." + (" (256 is the reference model's, at width 1.0.)"
                                                             if channels == 256 else ""))
        expected = widths_params(64, (32,) * 4)
        expect_count(ms_params, expected, "ms_params", {
            widths_params(128, (64,) * 4): "that is the reference model's block (128 -> 4 x 64); in the laptop "
                                           "profile both the input and the branches are half as wide.",
            expected - 7 * 4 * 32: "you left out the seven BNs (4 * 32 each).",
            expected - 7 * 2 * 32: "BN has 4 numbers per channel (2 trainable, 2 moving statistics), not 2.",
            expected - 7 * 32: "you left out the convolutions' biases (32 per convolution, seven convolutions).",
            4 * _conv(64, 32, 1) + 2 * _conv(32, 32, 3) + 6 * 4 * 32: "branch 3 has *two* 3x3 convolutions "
                                                                      "(and so one more BN).",
        }, "Four 1x1 convs 64 -> 32, three 3x3 convs 32 -> 32, seven BNs of 32 channels.")
        return f"{expected:,} parameters, 128 channels."


class StackedVersus5x5(Problem):
    title = "two stacked 3x3 convolutions against one 5x5"
    names = ("two_3x3_params", "one_5x5_params")
    lesson = LESSON + ", section 1"
    hints = (
        "Both see a 5x5 window. Count the weights of two 3x3 convolutions 64 -> 64 -> 64 and of one 5x5 "
        "convolution 64 -> 64, biases included (no BN here).",
        "A k x k convolution from c_in to c_out channels has k*k*c_in*c_out weights plus c_out biases.",
        "Fill in the blanks: two_3x3_params = ____ * (3*3*64*64 + ____); one_5x5_params = ____*____*64*64 + ____",
    )
    solution_code = '''
    two_3x3_params = 2 * (3 * 3 * 64 * 64 + 64)
    one_5x5_params = 5 * 5 * 64 * 64 + 64
    '''

    def _check(self, two_3x3_params, one_5x5_params):
        two, one = 2 * _conv(64, 64, 3), _conv(64, 64, 5)
        expect_count(two_3x3_params, two, "two_3x3_params",
                     {_conv(64, 64, 3): "that is one 3x3 convolution; there are two.",
                      2 * 9 * 64 * 64: "add the biases: 64 per convolution.",
                      one: "that is the 5x5 convolution's count: are the two values swapped?",
                      2 * 9 * 64 * 64 + 64: "each of the two convolutions has its own 64 biases."},
                     "Each 3x3 convolution 64 -> 64 has 3*3*64*64 weights and 64 biases.")
        expect_count(one_5x5_params, one, "one_5x5_params", {25 * 64 * 64: "add the 64 biases.",
                                                            _conv(64, 64, 3): "a 5x5 kernel has 5*5 weights per "
                                                                              "channel pair, not 3*3."},
                     "A 5x5 convolution 64 -> 64 has 5*5*64*64 weights and 64 biases.")
        return f"the same 5x5 view for {two / one:.0%} of the weights, with an extra non-linearity in between."


# Exercise 5: the stem, then one multi-scale block (q1's). (kernel, stride) along the widest path.
RF_STEM = ((7, 2), (3, 2))  # Conv2D 7x7 stride 2, MaxPooling2D 3x3 stride 2
RF_BRANCHES = {"1x1": ((1, 1),), "1x1 -> 3x3": ((1, 1), (3, 1)), "1x1 -> 3x3 -> 3x3": ((1, 1), (3, 1), (3, 1)),
               "3x3 pool -> 1x1": ((3, 1), (1, 1))}


def walk(windows, jump: int = 1, field: int = 1) -> tuple[int, int]:
    """(jump, receptive field) after windows of (kernel, stride): r += (k - 1) * j, then j *= s."""
    for k, s in windows:
        field, jump = field + (k - 1) * jump, jump * s
    return jump, field


def stack_rf() -> tuple[int, int]:
    jump, field = walk(RF_STEM)
    return jump, max(walk(branch, jump, field)[1] for branch in RF_BRANCHES.values())


class ReceptiveField(Problem):
    title = "stride and receptive field after the stem and one multi-scale block"
    names = ("stack_jump", "stack_field")
    lesson = LESSON + ": the section on stride and receptive field (cancer_course.model.receptive_fields)"
    interpretive = True
    hints = (
        "Walk from the input, layer by layer, keeping two numbers: how many input pixels one step on the current "
        "map moves (the jump) and how many input pixels one value sees (the field).",
        "A k x k window with stride s turns (jump j, field r) into (j * s, r + (k - 1) * j). Branches that are "
        "concatenated see as far as the widest of them.",
        "After the stem: jump 4, field 11. In the block every 3x3 adds (3 - 1) * 4 = 8; find the branch with the "
        "most 3x3 windows.",
    )
    solution_code = '''
    stack_jump = 2 * 2                      # two stride-2 windows
    stack_field = 1 + 6 * 1 + 2 * 2 + 2 * 4 + 2 * 4   # 7x7, 3x3 pool, then two 3x3 convs at jump 4
    '''

    def _check(self, stack_jump, stack_field):
        jump, field = stack_rf()
        stem_jump, stem_field = walk(RF_STEM)
        expect_count(stack_jump, jump, "stack_jump", {
            2: "both windows of the stem have stride 2: 2 * 2.",
            8: "the block's max-pool has stride 1 (it keeps the size); only the stem's two windows stride.",
        }, "Multiply the strides along the path: the block keeps the size (stride 1).")
        no_jump = walk(tuple((k, 1) for k, _ in RF_STEM) + RF_BRANCHES["1x1 -> 3x3 -> 3x3"])[1]
        in_block_no_jump = walk(RF_BRANCHES["1x1 -> 3x3 -> 3x3"], 1, stem_field)[1]
        expect_count(stack_field, field, "stack_field", {
            walk(RF_BRANCHES["1x1 -> 3x3"], stem_jump, stem_field)[1]:
                "that is the field of a branch with one 3x3 window; the concatenation also holds the branch with "
                "two 3x3 convolutions, which sees further.",
            no_jump: "each window must be scaled by the jump before it: after a stride-2 layer, one step on the map "
                     "is 2 input pixels, after two of them 4.",
            in_block_no_jump: f"after the stem one step on the map is {stem_jump} input pixels, so each 3x3 in the "
                              f"block adds (3 - 1) * {stem_jump}, not 2.",
            stem_field: "that is the stem's field alone; add the block's widest branch.",
        }, "r grows by (k - 1) * j at every window; take the widest branch.")
        return (f"jump {jump} (one value per {jump}x{jump} input pixels), field {field}x{field} input pixels - more "
                "than the jump: neighbouring values see overlapping squares.")


q1 = MultiscaleBlock()
q2 = BranchWidths()
q3 = LaptopStage3()
q4 = StackedVersus5x5()
q5 = ReceptiveField()
PROBLEMS = register(globals(), "03")
