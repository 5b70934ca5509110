"""Lesson 02's checks' shared parts: the SE block's weights, the residual block with one known mistake
switched on, and the biases of exercise 5's block (which BatchNorm cancels)."""

from __future__ import annotations

import numpy as np

from ._choice import Option
from .core import Incorrect


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _dense_weights(model, c: int, r: int):
    """The SE block's (W1, b1, W2, b2), found by their shapes (C, C/r), (C/r,), (C/r, C), (C,)."""
    by_shape = {}
    for w in model.weights:
        by_shape.setdefault(tuple(w.shape), np.asarray(w.numpy()))
    try:
        return by_shape[(c, r)], by_shape[(r,)], by_shape[(r, c)], by_shape[(c,)]
    except KeyError:
        raise Incorrect(
            f"the SE block's weights should be two Dense layers, kernels {(c, r)} and {(r, c)} with biases; "
            f"yours has weights of shapes {[tuple(w.shape) for w in model.weights]}."
        ) from None


def _conv_bn(x, filters, kernel_size, relu=True):
    from keras import layers

    x = layers.BatchNormalization()(layers.Conv2D(filters, kernel_size, padding="same")(x))
    return layers.ReLU()(x) if relu else x


def _block_variant(x, filters, ratio=16, *, relu_a=True, relu_b=True, relu_before_se=False, relu_proj=False,
                   se_after_add=False):
    """The residual SE block with one known mistake switched on (what the check names)."""
    from keras import layers

    from .. import blocks

    b = max(1, filters // 4)
    y = _conv_bn(_conv_bn(x, b, 1, relu=relu_a), b, 3, relu=relu_b)
    y = _conv_bn(y, filters, 1, relu=relu_before_se)
    s = x if x.shape[-1] == filters else _conv_bn(x, filters, 1, relu=relu_proj)
    if se_after_add:
        return layers.ReLU()(blocks.squeeze_excitation(layers.Add()([y, s]), ratio))
    return layers.ReLU()(layers.Add()([blocks.squeeze_excitation(y, ratio), s]))


def _variant(**mistake):
    return lambda x, filters, ratio: _block_variant(x, filters, ratio, **mistake)


_BLOCK_MISTAKES = {
    "there is a ReLU before SE: the main path's last conv_bn has relu=False, so SE sees the BN's output.":
        _variant(relu_before_se=True),
    "the 3x3 conv_bn has no ReLU: only the main path's last conv_bn has relu=False.": _variant(relu_b=False),
    "the first 1x1 conv_bn has no ReLU: only the main path's last conv_bn has relu=False.": _variant(relu_a=False),
    "the projection has a ReLU: the shortcut is conv 1x1 -> BN without ReLU (relu=False); the block's one ReLU "
    "comes after the addition.": _variant(relu_proj=True),
    "SE comes after the addition: SE rescales the main path only, before the shortcut is added.":
        _variant(se_after_add=True),
}


BN_BLOCK = (64, 128, 16)  # input channels, filters, SE ratio of exercise 5's block


def _bias_layers() -> dict:
    c_in, f, ratio = BN_BLOCK
    b, r = f // 4, max(1, f // ratio)
    return {  # letter: (layer, its bias count, what follows it, cancelled by a following BN)
        "A": (f"1x1a conv {c_in} -> {b}", b, "BatchNorm, ReLU", True),
        "B": (f"3x3 conv {b} -> {b}", b, "BatchNorm, ReLU", True),
        "C": (f"1x1b conv {b} -> {f}", f, "BatchNorm", True),
        "D": (f"SE Dense {f} -> {r}", r, "ReLU", False),
        "E": (f"SE gates Dense {r} -> {f}", f, "sigmoid", False),
        "F": (f"projection conv {c_in} -> {f}", f, "BatchNorm", True),
        "G": ("the beta (shift) of every BatchNorm", 2 * b + 2 * f, "-", False),
    }


def redundant_bias_count() -> int:
    return sum(n for _, n, _, cancelled in _bias_layers().values() if cancelled)


def _bias_options() -> dict:
    options = {}
    for key, (layer, n, after, cancelled) in _bias_layers().items():
        if key == "G":
            why = ("beta is the shift BatchNorm adds *after* normalising: it is what replaces the cancelled biases, "
                   "so it stays.")
        elif cancelled:
            why = (f"the {layer} feeds a BatchNorm, which subtracts the batch mean of every channel, and a bias adds the same number to every "
                   f"value of its channel, so it is subtracted away; the BN's beta does its job ({n} parameters).")
        else:
            why = (f"the {layer}'s output goes to a {after} without BatchNorm in between, so the bias shifts where the "
                   f"{after} acts - it matters.")
        options[key] = Option(layer, cancelled, why)
    return options
