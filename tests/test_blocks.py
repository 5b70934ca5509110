"""The building blocks of lessons 02-04: shapes, what they compute, and their parameter counts."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from cancer_course import blocks


# The formulas the lessons derive by hand, written out again here independently of the package.
def hand_conv(c_in, c_out, k):
    return k * k * c_in * c_out + c_out


def hand_se(c, r):
    return c * (c // r) + c // r + (c // r) * c + c


def hand_residual(c_in, f, r):
    b = f // 4
    convs = hand_conv(c_in, b, 1) + hand_conv(b, b, 3) + hand_conv(b, f, 1)
    bn = 4 * b + 4 * b + 4 * f
    proj = hand_conv(c_in, f, 1) + 4 * f if c_in != f else 0
    return convs + bn + hand_se(f, r) + proj


def hand_multiscale(c_in, f):
    return 4 * hand_conv(c_in, f, 1) + 3 * hand_conv(f, f, 3) + 7 * 4 * f


def hand_cbam(c, r, k):
    return c * (c // r) + c // r + (c // r) * c + c + k * k * 2 + 1


def _model(builder, shape, **kwargs):
    inputs = keras.Input(shape)
    return keras.Model(inputs, builder(inputs, **kwargs))


def _batch(shape, n=2, seed=0):
    return np.random.default_rng(seed).normal(size=(n, *shape)).astype("float32")


# --- squeeze-and-excitation -----------------------------------------------------------------
def test_se_shapes_gates_and_scaling():
    model = _model(blocks.squeeze_excitation, (8, 8, 32), ratio=8, name="se")
    assert model.output.shape == (None, 8, 8, 32)
    x = _batch((8, 8, 32))
    out, gates = blocks.tap(model, "se_scale", "se_gates")(x)
    out, gates = np.asarray(out), np.asarray(gates)
    assert gates.shape == (2, 1, 1, 32)  # one gate per channel
    assert np.all(gates > 0) and np.all(gates < 1)
    np.testing.assert_allclose(out, x * gates, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("channels,ratio", [(64, 16), (128, 16), (512, 16), (16, 16), (32, 8)])
def test_se_params(channels, ratio):
    model = _model(blocks.squeeze_excitation, (4, 4, channels), ratio=ratio, name="se")
    assert model.count_params() == hand_se(channels, ratio) == blocks.se_params(channels, ratio)


def test_se_never_has_zero_units():
    # 8 channels with ratio 16 would give 0 hidden units; the block keeps one.
    model = _model(blocks.squeeze_excitation, (4, 4, 8), ratio=16, name="se")
    assert model.get_layer("se_reduce").units == 1
    assert model.count_params() == blocks.se_params(8, 16) == 8 + 1 + 8 + 8


# --- residual SE bottleneck block -------------------------------------------------------------
@pytest.mark.parametrize("c_in,filters", [(64, 64), (64, 128), (256, 512), (16, 32)])
def test_residual_block_shape_and_params(c_in, filters):
    model = _model(blocks.residual_se_block, (8, 8, c_in), filters=filters, name="blk")
    assert model.output.shape == (None, 8, 8, filters)
    trainable, non_trainable = blocks.residual_se_params(c_in, filters, 16)
    assert model.count_params() == hand_residual(c_in, filters, 16) == trainable + non_trainable
    assert sum(int(np.prod(w.shape)) for w in model.non_trainable_weights) == non_trainable
    names = {layer.name for layer in model.layers}
    assert ("blk_proj_conv" in names) == (c_in != filters)
    assert {"blk_1x1a_conv", "blk_3x3_conv", "blk_1x1b_conv", "blk_se_gates", "blk_add", "blk_out"} <= names
    assert model.get_layer("blk_3x3_conv").filters == filters // 4


def test_residual_block_output_is_relu_of_sum():
    model = _model(blocks.residual_se_block, (6, 6, 16), filters=16, name="blk")
    x = _batch((6, 6, 16))
    se_out, out = (np.asarray(t) for t in blocks.tap(model, "blk_se_scale", "blk_out")(x))
    np.testing.assert_allclose(out, np.maximum(se_out + x, 0), rtol=1e-5, atol=1e-5)


# --- multi-scale block ------------------------------------------------------------------------
def test_multiscale_branches_and_params():
    model = _model(blocks.multiscale_block, (8, 8, 128), branch_filters=64, name="ms")
    assert model.output.shape == (None, 8, 8, 256)
    for b in range(1, 5):
        assert model.get_layer(f"ms_b{b}_out").output.shape == (None, 8, 8, 64)
    assert model.count_params() == hand_multiscale(128, 64) == sum(blocks.multiscale_params(128, 64))
    # The published block: 128 -> 256 at 64 per branch.
    assert hand_multiscale(128, 64) == 4 * (128 * 64 + 64) + 3 * (9 * 64 * 64 + 64) + 7 * 256


def test_multiscale_concatenates_branches_in_order():
    model = _model(blocks.multiscale_block, (8, 8, 12), branch_filters=4, name="ms")
    outs = [
        np.asarray(t)
        for t in blocks.tap(model, "ms_concat", *[f"ms_b{b}_out" for b in range(1, 5)])(_batch((8, 8, 12)))
    ]
    np.testing.assert_array_equal(outs[0], np.concatenate(outs[1:], axis=-1))


# --- CBAM ---------------------------------------------------------------------------------------
def test_cbam_shapes_maps_and_params():
    model = _model(blocks.cbam, (7, 7, 64), ratio=8, kernel_size=7, name="cbam")
    assert model.output.shape == (None, 7, 7, 64)
    assert model.get_layer("cbam_spatial_map").output.shape == (None, 7, 7, 1)
    assert model.get_layer("cbam_channel_gates").output.shape == (None, 1, 1, 64)
    assert model.count_params() == hand_cbam(64, 8, 7) == blocks.cbam_params(64, 8, 7)
    assert hand_cbam(512, 8, 7) == 66_112 + 99


def test_cbam_computes_channel_then_spatial_attention():
    model = _model(blocks.cbam, (6, 6, 16), ratio=8, name="cbam")
    x = _batch((6, 6, 16))
    gates, scaled, spatial, out = (
        np.asarray(t)
        for t in blocks.tap(
            model, "cbam_channel_gates", "cbam_channel_scale", "cbam_spatial_map", "cbam_out"
        )(x)
    )
    assert np.all((gates > 0) & (gates < 1)) and np.all((spatial > 0) & (spatial < 1))
    np.testing.assert_allclose(scaled, x * gates, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(out, scaled * spatial, rtol=1e-6, atol=1e-6)
    # The MLP is shared: one hidden Dense layer, used twice (avg and max descriptors).
    assert sum(isinstance(layer, keras.layers.Dense) for layer in model.layers) == 2


def test_channel_pool_matches_numpy_and_round_trips_config():
    x = _batch((5, 5, 3))
    np.testing.assert_allclose(blocks.ChannelPool("mean")(x), x.mean(-1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(blocks.ChannelPool("max")(x), x.max(-1, keepdims=True), rtol=1e-6)
    layer = blocks.ChannelPool.from_config(blocks.ChannelPool("max", name="p").get_config())
    assert layer.mode == "max" and layer.name == "p"
    with pytest.raises(ValueError, match="mean' or 'max"):
        blocks.ChannelPool("median")


def test_blocks_have_no_lambda_layers():
    inputs = keras.Input((8, 8, 16))
    x = blocks.residual_se_block(inputs, 32, name="a")
    x = blocks.multiscale_block(x, 8, name="b")
    x = blocks.cbam(x, name="c")
    model = keras.Model(inputs, x)
    assert not [layer for layer in model.layers if isinstance(layer, keras.layers.Lambda)]


def test_tap_names_a_missing_layer():
    model = _model(blocks.squeeze_excitation, (4, 4, 16), name="se")
    with pytest.raises(ValueError, match="No layer named 'se_gate'"):
        blocks.tap(model, "se_gate")
