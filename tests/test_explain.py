"""Explanations: Grad-CAM, overlays, CBAM's spatial map and the randomised-weights sanity check."""

import keras
import numpy as np
import pytest

from cancer_course import explain

SIZE = 16


def tiny_model(seed=0):
    """Conv -> Conv -> GAP -> Dense softmax, seeded; every conv2 channel counts for malignant.

    (An untrained head may find no positive evidence at all, and Grad-CAM of that is a flat 0.)
    """
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((SIZE, SIZE, 3), name="image")
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    head = keras.layers.Dense(2, activation="softmax", name="head_output")
    model = keras.Model(inputs, head(x), name="tiny")
    head.set_weights([np.stack([-np.ones(8), np.ones(8)], axis=1), np.zeros(2)])
    return model


def images(n=3, size=SIZE, seed=0):
    """Images with structure: a bright square on a noisy background, in a different place each."""
    rng = np.random.default_rng(seed)
    batch = rng.uniform(0, 0.3, (n, size, size, 3)).astype("float32")
    for i in range(n):
        r, c = rng.integers(0, size // 2, 2)
        batch[i, r:r + size // 3, c:c + size // 3] = 0.9
    return batch


@pytest.fixture(scope="module")
def model():
    return tiny_model()


@pytest.fixture(scope="module")
def course_model():
    from cancer_course.model import from_profile

    return from_profile("smoke", seed=0, input_shape=(64, 64, 3))


# ----------------------------------------------------------------------------- Grad-CAM
def test_last_conv_layer_is_found(model, course_model):
    assert explain.last_conv_layer_name(model) == "conv2"
    assert explain.last_conv_layer_name(course_model) == "stage4_cbam_out"
    dense_only = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="no convolutional feature map"):
        explain.last_conv_layer_name(dense_only)


def test_grad_cam_shape_and_range(model):
    x = images()
    cam = explain.grad_cam(model, x[0])
    assert cam.shape == (SIZE, SIZE) and cam.dtype == np.float32
    assert cam.min() >= 0 and cam.max() <= 1
    assert cam.max() == pytest.approx(1.0)  # scaled so the peak is 1
    batch = explain.grad_cam(model, x)
    assert batch.shape == (3, SIZE, SIZE)
    assert np.allclose(batch[0], cam, atol=1e-5)
    assert explain.grad_cam(model, x, layer_name="conv1", resize=False).shape == (3, SIZE, SIZE)


def test_grad_cam_on_the_course_model(course_model):
    x = images(2, size=64)
    cam = explain.grad_cam(course_model, x)  # stage 4 is 2x2 here, resized to the image
    assert cam.shape == (2, 64, 64) and 0 <= cam.min() and cam.max() <= 1
    fine = explain.grad_cam(course_model, x, layer_name="stage3_multiscale_concat", resize=False)
    assert fine.shape == (2, 4, 4)


def test_grad_cam_errors(model):
    with pytest.raises(ValueError, match=r"No layer named 'conv9'.*conv2"):
        explain.grad_cam(model, images(), layer_name="conv9")
    with pytest.raises(ValueError, match=r"model takes \(16, 16, 3\)"):
        explain.grad_cam(model, np.zeros((20, 20, 3)))


def test_overlay_blends_in_range(model):
    x = images(1)[0]
    cam = explain.grad_cam(model, x)
    blended = explain.overlay(x, cam, alpha=0.5)
    assert blended.shape == (SIZE, SIZE, 3) and blended.min() >= 0 and blended.max() <= 1
    assert np.allclose(explain.overlay(x, cam, alpha=0.0), x)
    assert explain.overlay(x, np.ones((2, 2, 1)), alpha=1.0).shape == (SIZE, SIZE, 3)  # small maps are resized


# ----------------------------------------------------------------------------- CBAM
def test_cbam_spatial_map(course_model):
    assert explain.cbam_layer_names(course_model) == ["stage4_cbam_spatial_map"]
    x = images(2, size=64)
    one = explain.cbam_spatial_map(course_model, x[0])
    assert one.shape == (2, 2, 1)
    assert ((one > 0) & (one < 1)).all()  # a sigmoid gate
    assert explain.cbam_spatial_map(course_model, x).shape == (2, 2, 2, 1)
    assert explain.resize_map(one, 64).shape == (64, 64)


def test_cbam_missing_is_explained(model):
    with pytest.raises(ValueError, match="no CBAM spatial attention layer"):
        explain.cbam_spatial_map(model, images(1)[0])


# ----------------------------------------------------------------------------- sanity check
def test_map_similarity():
    a = np.arange(16.0).reshape(4, 4)
    assert explain.map_similarity(a, a) == {"spearman": pytest.approx(1.0), "pearson": pytest.approx(1.0)}
    assert explain.map_similarity(a, -a)["spearman"] == pytest.approx(-1.0)
    assert explain.map_similarity(a, np.zeros_like(a)) == {"spearman": 0.0, "pearson": 0.0}


def test_randomized_clone_leaves_the_original_alone(model):
    before = [w.copy() for w in model.get_weights()]
    a = explain.randomized_clone(model, seed=1)
    b = explain.randomized_clone(model, seed=1)
    assert all(np.array_equal(w, v) for w, v in zip(before, model.get_weights()))
    assert all(np.array_equal(w, v) for w, v in zip(a.get_weights(), b.get_weights()))
    assert not np.array_equal(a.get_layer("conv2").get_weights()[0], before[2])
    only_head = explain.randomized_clone(model, ["head_output"], seed=1)
    assert np.array_equal(only_head.get_layer("conv1").get_weights()[0], before[0])
    with pytest.raises(ValueError, match="No layers named"):
        explain.randomized_clone(model, ["nope"])


def test_grad_cam_changes_when_weights_are_randomised(model):
    x = images()
    real = explain.grad_cam(model, x)
    assert all(np.ptp(m) > 0 for m in real)  # the real maps have structure
    full = explain.sanity_check(model, x, mode="full", seed=0)
    assert [s["randomized"] for s in full["steps"]] == ["all"]
    assert full["spearman"] < 0.9 and full["steps"][0]["max_abs_difference"] > 0.1
    assert np.allclose(full["maps"]["real"], real)
    cascade = explain.sanity_check(model, x, mode="cascading", seed=0)
    assert [s["randomized"] for s in cascade["steps"]] == ["head", "conv2", "conv1"]  # grouped by name prefix
    assert all(-1 <= s["spearman"] <= 1 for s in cascade["steps"])
    assert cascade["spearman"] < 0.9
    with pytest.raises(ValueError, match="cascading"):
        explain.sanity_check(model, x, mode="some")


def test_cascading_on_the_course_model_goes_block_by_block_from_the_head(course_model):
    result = explain.sanity_check(course_model, images(1, size=64), layer_name="stage3_multiscale_concat",
                                  mode="cascading")
    blocks = [s["randomized"] for s in result["steps"]]
    assert blocks == ["head", "stage4_cbam", "stage4_block1", "stage3_multiscale", "stage2_block1",
                      "stage1_block1", "stem"]
    assert result["maps"]["stem"].shape == (1, 64, 64)


def test_plot_explanations(model):
    x = images(1)[0]
    fig = explain.plot_explanations(x, {"Grad-CAM": explain.grad_cam(model, x)}, title="t")
    assert len(fig.axes) == 2


# ----------------------------------------------------------------------------- flat maps, data randomisation, occlusion
def test_a_flat_map_fails_the_sanity_check(model):
    """A constant map 'changes' completely when compared with a structured one, but shows nothing."""
    x = images()
    real = explain.grad_cam(model, x)
    flat = np.zeros_like(real)
    assert explain.map_similarity(real[0], flat[0])["spearman"] == 0.0  # the old convention: looks like a pass
    verdict = explain.checks._verdict(real, flat, 0.0, 0.5, "randomised model")
    assert verdict["passed"] is False and "flat" in verdict["reason"]
    assert explain.checks._verdict(flat, real, 0.0, 0.5, "randomised model")["passed"] is False
    assert explain.checks._verdict(real, real, 1.0, 0.5, "randomised model")["passed"] is False
    ok = explain.checks._verdict(real, real[::-1], 0.1, 0.5, "randomised model")
    assert ok["passed"] and "necessary, not sufficient" in ok["reason"]


def test_sanity_check_reports_flat_maps_and_a_verdict(model):
    result = explain.sanity_check(model, images(), mode="full", seed=0)
    assert result["real_flat"] == 0 and "flat_maps" in result["steps"][0]
    assert set(result["verdict"]) == {"passed", "reason"}
    assert result["verdict"]["passed"] == (result["steps"][0]["flat_maps"] == 0 and result["spearman"] < 0.5)


def test_compare_maps_of_two_models(model):
    x = images()
    same = explain.compare_maps(model, model, x)
    assert same["spearman"] == pytest.approx(1.0) and not same["verdict"]["passed"]
    other = explain.compare_maps(model, explain.randomized_clone(model, seed=3), x, what="shuffled-label model")
    assert other["spearman"] < 1.0 and other["maps"]["real"].shape == other["maps"]["other"].shape
    assert "shuffled-label model" in other["verdict"]["reason"]  # every reason but "the real maps are flat" names it


def test_occlusion_drop_moves_a_model_that_reads_one_corner():
    """A hand-made model whose p(malignant) is the brightness of the top-left 4x4 corner."""
    inputs = keras.Input((16, 16, 3))
    corner = keras.layers.Cropping2D(((0, 12), (0, 12)))(inputs)
    score = keras.layers.GlobalAveragePooling2D()(corner)
    mean = keras.layers.Dense(1, kernel_initializer="ones", bias_initializer="zeros", trainable=False)(score)
    p = keras.layers.Activation("sigmoid")(keras.layers.Rescaling(4.0, offset=-6.0)(mean))
    reader = keras.Model(inputs, p)
    x = np.full((2, 16, 16, 3), 0.2, dtype="float32")
    x[:, :4, :4, :] = 1.0  # a bright mark in the corner
    at_mark = explain.occlusion_drop(reader, x, 0, 0, 4)
    elsewhere = explain.occlusion_drop(reader, x, 12, 12, 4)
    assert (at_mark > 0.3).all() and np.allclose(elsewhere, 0, atol=1e-6)
    with pytest.raises(ValueError, match="does not fit"):
        explain.occlusion_drop(reader, x, 14, 14, 4)
