"""The building blocks of the reference model (lessons 02-04).

Every block is a plain function that takes a Keras tensor and returns a Keras tensor
(Functional API), made only of Keras layers. Each layer's name starts with the block's
``name`` prefix, so a lesson or a test can reach inside a built model, for example::

    gates = model.get_layer("stage1_block1_se_gates").output      # SE gates, (1, 1, C)
    spatial = model.get_layer("stage4_cbam_spatial_map").output    # CBAM map, (H, W, 1)
    branch = model.get_layer("stage3_multiscale_b2_out").output    # one inception branch

and :func:`tap` builds a sub-model that returns any of those tensors.

| block | defined in lesson | parameters (with biases; BN counts 4 per channel, 2 trainable) |
|---|---|---|
| :func:`squeeze_excitation` | 02 | :func:`se_params` |
| :func:`residual_se_block` | 02 | :func:`residual_se_params` |
| :func:`multiscale_block` | 03 | :func:`multiscale_params` |
| :func:`cbam` | 04 | :func:`cbam_params` |

No ``Lambda`` layers: the one operation Keras has no layer for (mean and max over the
channel axis, for CBAM's spatial attention) is the small registered layer :class:`ChannelPool`,
so a saved ``.keras`` file reloads with ``safe_mode=True``.
"""

from __future__ import annotations

import keras
from keras import layers, ops

__all__ = [
    "ChannelPool",
    "squeeze_excitation",
    "residual_se_block",
    "multiscale_block",
    "cbam",
    "tap",
    "conv_params",
    "dense_params",
    "bn_params",
    "se_params",
    "residual_se_params",
    "multiscale_params",
    "cbam_params",
]


# ---------------------------------------------------------------------------------------------
# A custom layer for the one op Keras has no layer for
# ---------------------------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package="cancer_course")
class ChannelPool(layers.Layer):
    """Mean or max over the channel axis, keeping it: (N, H, W, C) -> (N, H, W, 1).

    CBAM's spatial attention looks at two such maps. Written as a layer (not a ``Lambda``)
    so that saved models reload with ``keras.models.load_model(path, safe_mode=True)``.
    """

    def __init__(self, mode: str = "mean", **kwargs):
        super().__init__(**kwargs)
        if mode not in ("mean", "max"):
            raise ValueError(f"ChannelPool mode must be 'mean' or 'max', got {mode!r}.")
        self.mode = mode

    def call(self, inputs):
        if self.mode == "mean":
            return ops.mean(inputs, axis=-1, keepdims=True)
        return ops.max(inputs, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 1)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
def _channels(x) -> int:
    channels = x.shape[-1]
    if channels is None:
        raise ValueError("The blocks need a known number of channels (the last axis of the input).")
    return int(channels)


def _reduced(channels: int, ratio: int) -> int:
    """Width of an attention bottleneck: channels // ratio, but never less than one unit."""
    if ratio < 1:
        raise ValueError(f"ratio must be a positive integer, got {ratio}.")
    return max(1, channels // ratio)


def _conv_bn(x, filters, kernel_size, name, *, strides=1, relu=True, kernel_regularizer=None):
    """Conv (with bias) -> BatchNorm -> optional ReLU; layers named {name}_conv/_bn/_relu."""
    x = layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="same",
        kernel_regularizer=kernel_regularizer,
        name=f"{name}_conv",
    )(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    if relu:
        x = layers.ReLU(name=f"{name}_relu")(x)
    return x


def tap(model: keras.Model, *layer_names: str) -> keras.Model:
    """A sub-model from ``model``'s inputs to the outputs of the named layers.

    ``tap(model, "stage1_block1_se_gates")`` returns the SE gates for any input batch;
    several names give a model with several outputs (a list).
    """
    if not layer_names:
        raise ValueError("Name at least one layer, e.g. tap(model, 'se_gates').")
    outputs = []
    for layer_name in layer_names:
        try:
            outputs.append(model.get_layer(layer_name).output)
        except ValueError:
            close = [n.name for n in model.layers if layer_name.split("_")[-1] in n.name][:8]
            raise ValueError(
                f"No layer named {layer_name!r} in model {model.name!r}. Layers with a similar name: {close}"
            ) from None
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, outputs[0] if len(outputs) == 1 else outputs, name=f"{model.name}_tap")


# ---------------------------------------------------------------------------------------------
# Lesson 02: squeeze-and-excitation and the residual bottleneck block
# ---------------------------------------------------------------------------------------------
def squeeze_excitation(x, ratio: int = 16, name: str = "se", kernel_regularizer=None):
    """Squeeze-and-excitation: rescale each channel by a learned gate in (0, 1).

    squeeze (global average pool, one number per channel) -> Dense(C // ratio, ReLU) ->
    Dense(C, sigmoid) = the gates, layer ``{name}_gates`` with shape (1, 1, C) -> multiply
    the input by its gates (layer ``{name}_scale``).
    """
    channels = _channels(x)
    s = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_squeeze")(x)
    s = layers.Dense(
        _reduced(channels, ratio),
        activation="relu",
        kernel_regularizer=kernel_regularizer,
        name=f"{name}_reduce",
    )(s)
    gates = layers.Dense(
        channels,
        activation="sigmoid",
        kernel_regularizer=kernel_regularizer,
        name=f"{name}_gates",
    )(s)
    return layers.Multiply(name=f"{name}_scale")([x, gates])


def residual_se_block(x, filters: int, ratio: int = 16, name: str = "block", kernel_regularizer=None,
                      se: bool = True):
    """Residual bottleneck block with squeeze-and-excitation.

    1x1 conv (filters // 4) -> BN -> ReLU -> 3x3 conv (filters // 4) -> BN -> ReLU ->
    1x1 conv (filters) -> BN -> SE -> + shortcut -> ReLU (layer ``{name}_out``).
    The shortcut is the input itself, or a 1x1 conv + BN projection (``{name}_proj``) when
    the number of channels changes. ``se=False`` leaves SE out: a plain bottleneck block (the
    ablation of lesson 13).
    """
    in_channels = _channels(x)
    bottleneck = max(1, filters // 4)
    reg = kernel_regularizer
    y = _conv_bn(x, bottleneck, 1, f"{name}_1x1a", kernel_regularizer=reg)
    y = _conv_bn(y, bottleneck, 3, f"{name}_3x3", kernel_regularizer=reg)
    y = _conv_bn(y, filters, 1, f"{name}_1x1b", relu=False, kernel_regularizer=reg)
    if se:
        y = squeeze_excitation(y, ratio=ratio, name=f"{name}_se", kernel_regularizer=reg)
    if in_channels != filters:
        shortcut = _conv_bn(x, filters, 1, f"{name}_proj", relu=False, kernel_regularizer=reg)
    else:
        shortcut = x
    y = layers.Add(name=f"{name}_add")([y, shortcut])
    return layers.ReLU(name=f"{name}_out")(y)


# ---------------------------------------------------------------------------------------------
# Lesson 03: the inception-style multi-scale block
# ---------------------------------------------------------------------------------------------
def multiscale_block(x, branch_filters: int = 64, name: str = "multiscale", kernel_regularizer=None):
    """Four parallel branches that see the input at different scales, concatenated.

    b1: 1x1; b2: 1x1 -> 3x3; b3: 1x1 -> 3x3 -> 3x3 (a 5x5 view); b4: 3x3/1 max-pool -> 1x1.
    Every conv is followed by BN + ReLU and has ``branch_filters`` filters. The branch outputs
    are the layers ``{name}_b1_out`` ... ``{name}_b4_out``; the result (4 * branch_filters
    channels, same height and width) is ``{name}_concat``.
    """
    f, reg = branch_filters, kernel_regularizer
    b1 = _conv_bn(x, f, 1, f"{name}_b1_1x1", relu=False, kernel_regularizer=reg)
    b1 = layers.ReLU(name=f"{name}_b1_out")(b1)

    b2 = _conv_bn(x, f, 1, f"{name}_b2_1x1", kernel_regularizer=reg)
    b2 = _conv_bn(b2, f, 3, f"{name}_b2_3x3", relu=False, kernel_regularizer=reg)
    b2 = layers.ReLU(name=f"{name}_b2_out")(b2)

    b3 = _conv_bn(x, f, 1, f"{name}_b3_1x1", kernel_regularizer=reg)
    b3 = _conv_bn(b3, f, 3, f"{name}_b3_3x3a", kernel_regularizer=reg)
    b3 = _conv_bn(b3, f, 3, f"{name}_b3_3x3b", relu=False, kernel_regularizer=reg)
    b3 = layers.ReLU(name=f"{name}_b3_out")(b3)

    b4 = layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_b4_pool")(x)
    b4 = _conv_bn(b4, f, 1, f"{name}_b4_1x1", relu=False, kernel_regularizer=reg)
    b4 = layers.ReLU(name=f"{name}_b4_out")(b4)

    return layers.Concatenate(axis=-1, name=f"{name}_concat")([b1, b2, b3, b4])


# ---------------------------------------------------------------------------------------------
# Lesson 04: CBAM (convolutional block attention module)
# ---------------------------------------------------------------------------------------------
def cbam(x, ratio: int = 8, kernel_size: int = 7, name: str = "cbam", kernel_regularizer=None):
    """Channel attention, then spatial attention.

    Channel: average- and max-pooled descriptors (1, 1, C) go through one shared MLP
    (Dense C // ratio, ReLU -> Dense C); their sum through a sigmoid gives the channel gates
    (layer ``{name}_channel_gates``), which rescale the channels (``{name}_channel_scale``).

    Spatial: the channel-mean and channel-max maps (H, W, 2) go through a
    ``kernel_size`` x ``kernel_size`` conv with one filter and a sigmoid: the spatial map
    (layer ``{name}_spatial_map``, shape (H, W, 1)), which rescales every position
    (``{name}_out``).
    """
    channels = _channels(x)
    reg = kernel_regularizer
    # Channel attention: the same two Dense layers are applied to both descriptors.
    mlp_hidden = layers.Dense(
        _reduced(channels, ratio), activation="relu", kernel_regularizer=reg, name=f"{name}_mlp_hidden"
    )
    mlp_out = layers.Dense(channels, kernel_regularizer=reg, name=f"{name}_mlp_out")
    avg = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_avg_pool")(x)
    mx = layers.GlobalMaxPooling2D(keepdims=True, name=f"{name}_max_pool")(x)
    logits = layers.Add(name=f"{name}_channel_logits")([mlp_out(mlp_hidden(avg)), mlp_out(mlp_hidden(mx))])
    channel_gates = layers.Activation("sigmoid", name=f"{name}_channel_gates")(logits)
    x = layers.Multiply(name=f"{name}_channel_scale")([x, channel_gates])

    # Spatial attention.
    mean_map = ChannelPool("mean", name=f"{name}_channel_mean")(x)
    max_map = ChannelPool("max", name=f"{name}_channel_max")(x)
    maps = layers.Concatenate(axis=-1, name=f"{name}_mean_max")([mean_map, max_map])
    logits = layers.Conv2D(
        1, kernel_size, padding="same", kernel_regularizer=reg, name=f"{name}_spatial_conv"
    )(maps)
    spatial_map = layers.Activation("sigmoid", name=f"{name}_spatial_map")(logits)
    return layers.Multiply(name=f"{name}_out")([x, spatial_map])


# ---------------------------------------------------------------------------------------------
# Parameter counts by hand (the formulas the lessons derive)
# ---------------------------------------------------------------------------------------------
def conv_params(c_in: int, c_out: int, k: int) -> int:
    """A k x k conv with bias: one k*k*c_in kernel plus one bias per output channel."""
    return k * k * c_in * c_out + c_out


def dense_params(n_in: int, n_out: int) -> int:
    """A Dense layer with bias."""
    return n_in * n_out + n_out


def bn_params(c: int) -> tuple[int, int]:
    """BatchNorm: (trainable gamma + beta, non-trainable moving mean + variance) = (2c, 2c)."""
    return 2 * c, 2 * c


def se_params(c: int, ratio: int = 16) -> int:
    """SE on c channels: c*(c//r) + c//r + (c//r)*c + c (all trainable)."""
    r = _reduced(c, ratio)
    return dense_params(c, r) + dense_params(r, c)


def residual_se_params(c_in: int, filters: int, ratio: int = 16) -> tuple[int, int]:
    """Residual SE bottleneck block: (trainable, non-trainable)."""
    b = max(1, filters // 4)
    trainable = conv_params(c_in, b, 1) + conv_params(b, b, 3) + conv_params(b, filters, 1)
    trainable += bn_params(b)[0] * 2 + bn_params(filters)[0] + se_params(filters, ratio)
    non_trainable = bn_params(b)[1] * 2 + bn_params(filters)[1]
    if c_in != filters:
        trainable += conv_params(c_in, filters, 1) + bn_params(filters)[0]
        non_trainable += bn_params(filters)[1]
    return trainable, non_trainable


def multiscale_params(c_in: int, branch_filters: int = 64) -> tuple[int, int]:
    """Inception-style block: (trainable, non-trainable). Seven convs, seven BNs."""
    f = branch_filters
    convs = 4 * conv_params(c_in, f, 1) + 3 * conv_params(f, f, 3)
    return convs + 7 * bn_params(f)[0], 7 * bn_params(f)[1]


def cbam_params(c: int, ratio: int = 8, kernel_size: int = 7) -> int:
    """CBAM: shared MLP (counted once) plus one kernel_size^2 conv from 2 maps to 1 (all trainable)."""
    r = _reduced(c, ratio)
    return dense_params(c, r) + dense_params(r, c) + conv_params(2, 1, kernel_size)
