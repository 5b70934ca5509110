"""The reference model of lesson 05: exact size, knobs, parameter table, saving, seeding."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from cancer_course import blocks
from cancer_course.config import PROFILES
from cancer_course.model import (
    ABLATION_VARIANTS,
    MEASURED_COUNTS,
    REFERENCE_COUNTS,
    build_model,
    count_parameters,
    from_profile,
    parameter_table,
    plot_architecture,
    reference_model,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def reference():
    return reference_model()


def test_reference_totals_are_exactly_the_published_ones(reference):
    assert REFERENCE_COUNTS == {"total": 2_563_793, "trainable": 2_551_185, "non_trainable": 12_608}
    assert count_parameters(reference) == REFERENCE_COUNTS
    assert reference.count_params() == 2_563_793
    assert reference.input_shape == (None, 224, 224, 3)
    assert reference.output_shape == (None, 2)


def test_reference_total_from_the_hand_formulas():
    """The whole model added up block by block, the way lesson 05 does it."""
    conv, dense = blocks.conv_params, blocks.dense_params

    def res(c_in, f):
        return sum(blocks.residual_se_params(c_in, f, 16))

    stem = conv(3, 64, 7) + 4 * 64
    stage1 = 3 * res(64, 64)
    stage2 = res(64, 128) + 3 * res(128, 128)
    stage3 = sum(blocks.multiscale_params(128, 64))
    stage4 = res(256, 512) + 2 * res(512, 512) + blocks.cbam_params(512, 8, 7)
    head = (
        dense(512, 1024) + 4 * 1024 + dense(1024, 512) + 4 * 512 + dense(512, 256) + 4 * 256 + dense(256, 2)
    )
    assert stem + stage1 + stage2 + stage3 + stage4 + head == 2_563_793
    # Non-trainable: the moving mean and variance of every BN channel.
    bn_channels = 64 + 3 * (16 + 16 + 64) + (32 + 32 + 128 + 128) + 3 * (32 + 32 + 128)
    bn_channels += 7 * 64 + (128 + 128 + 512 + 512) + 2 * (128 + 128 + 512) + 1024 + 512 + 256
    assert 2 * bn_channels == 12_608


def test_reference_has_no_lambda_layers_and_predictable_names(reference):
    assert not [layer for layer in reference.layers if isinstance(layer, keras.layers.Lambda)]
    names = {layer.name for layer in reference.layers}
    expected = {
        "stem_conv",
        "stage1_block3_out",
        "stage2_block4_out",
        "stage2_block1_proj_conv",
        "stage3_multiscale_concat",
        "stage4_block1_proj_conv",
        "stage4_cbam_spatial_map",
        "head_output",
    }
    assert expected <= names
    assert reference.get_layer("stage4_cbam_spatial_map").output.shape == (None, 7, 7, 1)
    assert reference.get_layer("stage3_multiscale_concat").output.shape == (None, 14, 14, 256)


def test_sigmoid_variant_counts():
    model = reference_model(output="sigmoid")
    assert model.output_shape == (None, 1)
    assert count_parameters(model) == MEASURED_COUNTS["reference_sigmoid"]
    # One output unit instead of two: 256 weights + 1 bias fewer.
    assert REFERENCE_COUNTS["total"] - model.count_params() == 257


@pytest.mark.parametrize("name", ["smoke", "laptop"])
def test_profile_presets_match_documented_counts(name):
    model = from_profile(name)
    size = PROFILES[name].image_size
    assert model.input_shape == (None, size, size, 3)
    assert count_parameters(model) == MEASURED_COUNTS[name]


def test_full_profile_is_the_reference():
    assert MEASURED_COUNTS["full"] == REFERENCE_COUNTS
    full = PROFILES["full"]
    assert (full.image_size, full.width, tuple(full.blocks_per_stage), tuple(full.head_units)) == (
        224,
        1.0,
        (3, 4, 3),
        (1024, 512, 256),
    )


def test_32_pixel_reference_builds_with_the_same_parameters():
    model = build_model(input_shape=(32, 32, 3))
    assert count_parameters(model) == REFERENCE_COUNTS
    assert model.get_layer("stage4_cbam_out").output.shape == (None, 1, 1, 512)
    out = model.predict(np.zeros((1, 32, 32, 3), "float32"), verbose=0)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_odd_input_size_builds():
    assert build_model(input_shape=(45, 37, 1), width=0.25, blocks_per_stage=(1, 1, 1)).output_shape == (
        None,
        2,
    )


def test_bad_arguments_say_what_to_do():
    with pytest.raises(ValueError, match="at least 32"):
        build_model(input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match="softmax"):
        build_model(input_shape=(32, 32, 3), output="linear")
    with pytest.raises(ValueError, match="one dropout rate"):
        build_model(input_shape=(32, 32, 3), head_units=(8,), dropout_rates=(0.5, 0.5))


def test_l2_adds_regularization_losses():
    model = build_model(input_shape=(32, 32, 3), width=0.25, blocks_per_stage=(1, 1, 1), l2=1e-4)
    assert len(model.losses) > 0


@pytest.mark.parametrize("level", ["block", "stage"])
def test_parameter_table_rows_sum_to_total(reference, level):
    table = parameter_table(reference, level=level)
    assert table.total == sum(row["params"] for row in table) == 2_563_793
    assert sum(row["non_trainable"] for row in table) == 12_608
    text = str(table)
    assert "2,563,793" in text and "head" in text


def test_parameter_table_shows_where_the_parameters_are(reference):
    stages = {row["name"]: row for row in parameter_table(reference, level="stage")}
    assert list(stages) == ["stem", "stage1", "stage2", "stage3", "stage4", "head"]
    assert stages["stage4"]["output_shape"] == (None, 7, 7, 512)
    assert stages["head"]["params"] > 0.4 * 2_563_793  # the dense head holds a large share
    rows = {row["name"]: row for row in parameter_table(reference)}
    assert rows["stage1_block1"]["params"] == sum(blocks.residual_se_params(64, 64))
    assert rows["stage3_multiscale"]["output_shape"] == (None, 14, 14, 256)
    assert rows["stage1_pool"]["params"] == 0


def test_same_seed_same_initial_weights():
    kwargs = dict(input_shape=(32, 32, 3), width=0.25, blocks_per_stage=(1, 1, 1), head_units=(16, 8, 4))
    a = build_model(seed=7, **kwargs).get_weights()
    b = build_model(seed=7, **kwargs).get_weights()
    c = build_model(seed=8, **kwargs).get_weights()
    assert len(a) == len(b)
    for wa, wb in zip(a, b):
        np.testing.assert_array_equal(wa, wb)
    assert any(not np.array_equal(wa, wc) for wa, wc in zip(a, c))


def test_plot_architecture_draws_or_says_what_to_install(tmp_path, capsys):
    model = from_profile("smoke")
    result = plot_architecture(model, tmp_path / "model.png")
    if result is None:
        assert "pip install pydot" in capsys.readouterr().out
    else:
        assert result.is_file() and result.stat().st_size > 0


def test_saved_model_reloads_in_a_fresh_process_with_identical_predictions(tmp_path):
    model = from_profile("smoke", seed=0)
    x = np.random.default_rng(1).uniform(size=(4, 32, 32, 3)).astype("float32")
    expected = model.predict(x, verbose=0)
    model.save(tmp_path / "smoke.keras")
    np.save(tmp_path / "x.npy", x)
    script = textwrap.dedent(
        """
        import sys
        import numpy as np
        import keras
        import cancer_course.blocks  # registers the package's custom layer
        model = keras.models.load_model(sys.argv[1] + "/smoke.keras", safe_mode=True)
        np.save(sys.argv[1] + "/y.npy", model.predict(np.load(sys.argv[1] + "/x.npy"), verbose=0))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), expected)


def test_from_profile_accepts_a_profile_a_name_or_none(monkeypatch):
    monkeypatch.setenv("CANCER_COURSE_PROFILE", "smoke")
    assert from_profile(None).name == "cancer_cnn_smoke"  # None: the active profile
    assert from_profile(PROFILES["smoke"], head_units=(8, 4, 2)).get_layer("head_dense1").units == 8
    with pytest.raises(ValueError, match="Unknown profile"):
        from_profile("tiny")


# ============================================================================= receptive fields
def test_receptive_fields_of_a_small_model_by_hand():
    import keras
    from keras import layers

    from cancer_course.model import receptive_fields

    x = inputs = keras.Input((32, 32, 3))
    x = layers.Conv2D(4, 3, padding="same", name="stem_conv")(x)  # r 1 + 2*1 = 3, j 1
    x = layers.MaxPooling2D(2, name="stem_pool")(x)  # r 3 + 1*1 = 4, j 2
    a = layers.Conv2D(4, 3, padding="same", name="stage1_a")(x)  # r 4 + 2*2 = 8
    b = layers.Conv2D(4, 3, dilation_rate=2, padding="same", name="stage1_b")(x)  # k_eff 5: r 4 + 4*2 = 12
    x = layers.Add(name="stage1_add")([a, b])  # the wider branch: 12, j 2
    x = layers.Conv2D(4, 3, strides=2, padding="same", name="stage2_conv")(x)  # r 12 + 2*2 = 16, j 4
    gate = layers.Dense(4, activation="sigmoid", name="stage2_gate")(layers.GlobalAveragePooling2D(
        keepdims=True, name="stage2_squeeze")(x))
    x = layers.Multiply(name="stage2_scale")([x, gate])  # a global gate: the field stays 16
    outputs = layers.Dense(1, name="head_out")(layers.GlobalAveragePooling2D(name="head_gap")(x))
    rows = receptive_fields(keras.Model(inputs, outputs))
    assert [(r["stage"], r["layer"], r["jump"], r["receptive_field"], r["output_size"], r["global_gates"])
            for r in rows] == [("stem", "stem_pool", 2, 4, 16, False), ("stage1", "stage1_add", 2, 12, 16, False),
                               ("stage2", "stage2_scale", 4, 16, 8, True)]


def test_receptive_fields_of_the_reference_model_by_hand():
    """stem: conv 7/2 -> r 7, j 2; pool 3/2 -> r 7 + 2*2 = 11, j 4. Each bottleneck block adds one
    3x3 conv (2 * jump); each MaxPool 2 adds 1 * jump and doubles it. stage1: 11 + 3*8 = 35,
    pool 39 (j 8); stage2: 39 + 4*16 = 103, pool 111 (j 16); stage3: the deepest branch has two
    3x3 convs, 111 + 64 = 175, pool 191 (j 32); stage4: 3 blocks, 191 + 3*64 = 383, then CBAM's
    7x7 spatial conv, 383 + 6*32 = 575 - wider than the 224-px image, at a stride of 32."""
    from cancer_course.model import receptive_fields, reference_model

    rows = receptive_fields(reference_model())
    assert [(r["stage"], r["jump"], r["receptive_field"]) for r in rows] == [
        ("stem", 4, 11), ("stage1", 8, 39), ("stage2", 16, 111), ("stage3", 32, 191), ("stage4", 32, 575)]
    assert [r["output_size"] for r in rows] == [56, 28, 14, 7, 7]
    assert [r["global_gates"] for r in rows] == [False, True, True, True, True]


# ---- the ablation switches (lesson 13) ------------------------------------------------------
def test_switches_on_are_the_reference_exactly():
    on = build_model(input_shape=(32, 32, 3), squeeze_excitation=True, multiscale=True, attention=True)
    assert count_parameters(on) == REFERENCE_COUNTS
    assert ABLATION_VARIANTS["reference (all three)"] == dict(squeeze_excitation=True, multiscale=True,
                                                              attention=True)


def _names(model) -> set[str]:
    return {layer.name for layer in model.layers}


def test_each_switch_removes_its_part_and_exactly_its_parameters():
    kwargs = dict(input_shape=(32, 32, 3), width=0.25, blocks_per_stage=(1, 1, 1), head_units=(16, 8, 4),
                  dropout_rates=(0.5, 0.4, 0.3))
    ref = build_model(**kwargs)
    ref_total = count_parameters(ref)["total"]
    f1, f2, f3, f4 = 16, 32, 16, 128  # stage filters at width 0.25: 64, 128, 64 (branches), 512

    no_se = build_model(squeeze_excitation=False, **kwargs)
    assert not any(name.endswith("_se_gates") for name in _names(no_se))
    assert "stage4_cbam_out" in _names(no_se) and "stage3_multiscale_concat" in _names(no_se)
    se_total = blocks.se_params(f1) + blocks.se_params(f2) + blocks.se_params(f4)
    assert ref_total - count_parameters(no_se)["total"] == se_total

    no_cbam = build_model(attention=False, **kwargs)
    assert not any("cbam" in name for name in _names(no_cbam))
    assert ref_total - count_parameters(no_cbam)["total"] == blocks.cbam_params(f4)

    no_ms = build_model(multiscale=False, **kwargs)
    assert not any("multiscale" in name for name in _names(no_ms))
    assert no_ms.get_layer("stage3_block1_out").output.shape[-1] == 4 * f3  # stage 4 sees the same width
    swapped = sum(blocks.residual_se_params(f2, 4 * f3)) - sum(blocks.multiscale_params(f2, f3))
    assert count_parameters(no_ms)["total"] - ref_total == swapped


def test_every_ablation_variant_builds_and_predicts():
    counts = {}
    for label, switches in ABLATION_VARIANTS.items():
        model = build_model(input_shape=(32, 32, 3), width=0.25, blocks_per_stage=(1, 1, 1),
                            head_units=(16, 8, 4), seed=0, **switches)
        out = model.predict(np.zeros((2, 32, 32, 3), "float32"), verbose=0)
        assert out.shape == (2, 2), label
        counts[label] = count_parameters(model)["total"]
    assert counts["plain residual"] == min(counts.values())
    assert len(set(counts.values())) == len(counts)  # five different networks
