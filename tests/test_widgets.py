"""The interactive explorers: their pure functions on known inputs, and each widget renders its
default state on creation and re-renders when a control is moved programmatically."""

import shutil

import keras
import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import roc_curve

from cancer_course import explain, pipeline
from cancer_course import widgets as w

SIZE = 16


def png_of(explorer) -> str:
    """The PNG (base64) an explorer shows; fails if it shows anything else."""
    (output,) = explorer.output.outputs
    assert output["output_type"] == "display_data", output
    return output["data"]["image/png"]


# ============================================================================= threshold explorer
# Eight images by hand. At threshold 0.5 the calls are         0    0    0    1    1    1     0    1
Y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
P = np.array([0.1, 0.4, 0.35, 0.8, 0.9, 0.65, 0.3, 0.7])


def test_threshold_view_against_a_hand_computed_matrix():
    view = w.threshold_view(Y, P, 0.5)
    c = view["confusion"]
    assert c["matrix"] == [[3, 1], [1, 3]]  # [[TN, FP], [FN, TP]]
    assert (c["tn"], c["fp"], c["fn"], c["tp"]) == (3, 1, 1, 3)
    assert c["sensitivity"] == pytest.approx(0.75) and c["specificity"] == pytest.approx(0.75)
    assert view["point"] == pytest.approx({"fpr": 0.25, "tpr": 0.75})
    # At 0.75 only 0.8 and 0.9 are called malignant: TN 3, FP 1 (0.8), FN 3, TP 1 (0.9).
    high = w.threshold_view(Y, P, 0.75)["confusion"]
    assert high["matrix"] == [[3, 1], [3, 1]]
    assert high["sensitivity"] == pytest.approx(0.25) and high["specificity"] == pytest.approx(0.75)
    # Threshold 0 calls everything malignant: the ROC corner (1, 1).
    assert w.threshold_view(Y, P, 0.0)["point"] == pytest.approx({"fpr": 1.0, "tpr": 1.0})


@pytest.mark.parametrize("threshold", [0.0, 0.2, 0.33, 0.5, 0.68, 0.85, 1.0])
def test_threshold_point_lies_on_the_roc_curve(threshold):
    view = w.threshold_view(Y, P, threshold)
    fpr, tpr, _ = roc_curve(Y, P, drop_intermediate=False)
    vertices = set(zip(fpr.round(12), tpr.round(12)))
    assert (round(view["point"]["fpr"], 12), round(view["point"]["tpr"], 12)) in vertices
    assert view["roc"]["auc"] == pytest.approx(11 / 16)  # 11 of the 16 (malignant, benign) pairs ordered right


def test_threshold_view_rejects_bad_input():
    with pytest.raises(ValueError, match="between 0 and 1"):
        w.threshold_view(Y, P, 1.5)
    with pytest.raises(ValueError, match="one class"):
        w.threshold_view(np.zeros(4), [0.1, 0.2, 0.3, 0.4], 0.5)


def test_threshold_figure_has_scores_matrix_and_roc_point():
    fig = w.threshold_figure(w.threshold_view(Y, P, 0.5))
    hist, matrix, roc = fig.axes
    assert [line.get_xdata()[0] for line in hist.lines] == [0.5]  # the threshold line
    texts = sorted(t.get_text().split("\n")[0] for t in matrix.texts)
    assert texts == ["FN 1", "FP 1", "TN 3", "TP 3"]
    (point,) = roc.collections
    assert point.get_offsets().tolist() == [[0.25, 0.75]]


def test_threshold_explorer_renders_and_follows_the_slider():
    explorer = w.threshold_explorer(Y, P)
    assert explorer.renders == 1 and explorer.error is None
    assert explorer.result["confusion"]["matrix"] == [[3, 1], [1, 3]]
    assert "0.750" in explorer.info.value
    before = png_of(explorer)
    explorer.controls["threshold"].value = 0.75
    assert explorer.renders == 2
    assert explorer.result["confusion"]["matrix"] == [[3, 1], [3, 1]]
    assert png_of(explorer) != before
    assert "0.250" in explorer.info.value


# ============================================================================= augmentation explorer
def tile(size=SIZE, seed=0):
    """An RGB uint8 tile with structure (so that rotating or flipping it changes it)."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 80, (size, size, 3), dtype=np.uint8)
    image[2:7, 1:12] = 230
    return image


def test_default_augmentation_is_the_pipelines():
    ours = w.augmentation_layers_for(seed=0)
    reference = pipeline.augmentation_layers(1.0, seed=0)
    assert [type(a) for a in ours.layers] == [type(b) for b in reference.layers]
    for a, b in zip(ours.layers, reference.layers):
        assert a.get_config() == b.get_config()
    twice = w.augmentation_layers_for(strength=2.0, seed=0)
    assert [a.get_config() for a in twice.layers] == [b.get_config() for b in pipeline.augmentation_layers(2.0, seed=0).layers]


def test_augmentation_knobs_add_and_remove_layers():
    only_rotation = w.augmentation_layers_for(rotation=45, shift=0, shear=0, zoom=0, flip=False)
    assert [layer.name for layer in only_rotation.layers] == ["rotation"]
    assert only_rotation.layers[0].get_config()["factor"] == pytest.approx((-0.125, 0.125))
    assert w.augmentation_layers_for(strength=0).layers == []
    with pytest.raises(ValueError, match="zoom must be >= 0"):
        w.augmentation_layers_for(zoom=-0.1)


def test_augmentation_preview_shapes_and_determinism():
    image = tile()
    draws = w.augmentation_preview(image, n=6, seed=3)
    assert draws.shape == (6, SIZE, SIZE, 3) and draws.dtype == np.float32
    assert 0.0 <= draws.min() and draws.max() <= 1.0
    np.testing.assert_array_equal(draws, w.augmentation_preview(image / 255.0, n=6, seed=3))  # uint8 = float
    assert not np.allclose(draws, w.augmentation_preview(image, n=6, seed=4))  # another draw
    off = w.augmentation_preview(image, n=2, strength=0)
    np.testing.assert_allclose(off, np.repeat(image[None] / 255.0, 2, axis=0), atol=1e-6)
    # A flip and nothing else: every draw is the tile or its mirror image.
    flips = w.augmentation_preview(image, n=8, seed=0, rotation=0, shift=0, shear=0, zoom=0, flip=True)
    x = image / 255.0
    for d in flips:
        assert np.allclose(d, x, atol=1e-6) or np.allclose(d, x[:, ::-1], atol=1e-6)
    with pytest.raises(ValueError, match="RGB image"):
        w.augmentation_preview(np.zeros((4, 4)))


def test_augmentation_figure_shows_the_original_and_every_draw():
    draws = w.augmentation_preview(tile(), n=5)
    fig = w.augmentation_figure(tile(), draws, columns=3)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(fig.axes) == 6 and len(shown) == 6
    assert [ax.get_title() for ax in shown] == ["original"] + [f"draw {i}" for i in range(1, 6)]


def test_augmentation_explorer_renders_and_follows_the_sliders():
    explorer = w.augmentation_explorer(tile(), n=4)
    assert explorer.error is None and explorer.renders == 1
    assert explorer.result.shape == (4, SIZE, SIZE, 3)
    assert set(explorer.controls) == {"rotation", "shift", "shear", "zoom", "flip", "strength", "draw"}
    before = png_of(explorer)
    explorer.controls["rotation"].value = 60.0
    assert explorer.renders == 2 and png_of(explorer) != before
    assert "+-60.0 degrees" in explorer.info.value
    explorer.controls["strength"].value = 0.0
    np.testing.assert_allclose(explorer.result, np.repeat(tile()[None] / 255.0, 4, axis=0), atol=1e-6)
    assert "none" in explorer.info.value
    with pytest.raises(ValueError, match="Unknown augmentation parameter"):
        w.augmentation_explorer(tile(), brightness=0.2)


# ============================================================================= dataset browser
@pytest.fixture
def small_dataset(tmp_path):
    """train/validation/test with 3 + 2 tiles each; one train tile leaked into test; one greyscale."""
    root = tmp_path / "data"
    for s, split in enumerate(("train", "validation", "test")):
        for label, cls in enumerate(("benign", "malignant")):
            folder = root / split / cls
            folder.mkdir(parents=True)
            for i in range(3 - label):
                Image.fromarray(tile(SIZE, seed=100 * s + 10 * label + i)).save(folder / f"{cls}_{i}.png")
    Image.fromarray(tile(24, seed=7)[:, :, 0]).save(root / "validation" / "benign" / "grey.png")  # mode L, 24 px
    shutil.copy(root / "train" / "malignant" / "malignant_1.png", root / "test" / "malignant" / "leaked.png")
    return root


def test_dataset_entry_facts(small_dataset):
    index = w.dataset_index(small_dataset)
    assert index.audited and set(index.files) == {"train", "validation", "test"}
    entry = w.dataset_entry(index, "validation", "benign", 3)  # sorted: benign_0, benign_1, benign_2, grey
    assert entry["relative"] == "validation/benign/grey.png"
    assert (entry["label"], entry["class"], entry["count"]) == (0, "benign", 4)
    assert (entry["format"], entry["mode"], entry["size"]) == ("PNG", "L", (24, 24))
    assert entry["image"].shape == (24, 24, 3) and entry["image"].dtype == np.uint8  # shown as RGB
    assert entry["duplicate_status"] == "no exact or near duplicate found" and entry["error"] is None

    leaked = w.dataset_entry(index, "test", "malignant", 0)
    assert leaked["relative"] == "test/malignant/leaked.png" and leaked["label"] == 1
    assert "exact duplicate (across splits) of train/malignant/malignant_1.png" in leaked["duplicate_status"]
    original = w.dataset_entry(index, "train", "malignant", 1)
    assert "test/malignant/leaked.png" in original["duplicate_status"]

    unaudited = w.dataset_entry(w.dataset_index(small_dataset, report=False), "test", "malignant", 0)
    assert unaudited["duplicate_status"] == "not audited"
    with pytest.raises(ValueError, match="out of range"):
        w.dataset_entry(index, "train", "benign", 3)
    with pytest.raises(ValueError, match="no 'holdout' split"):
        w.dataset_entry(index, "holdout", "benign", 0)


def test_dataset_figure_flags_duplicates(small_dataset):
    index = w.dataset_index(small_dataset)
    fig = w.dataset_figure(w.dataset_entry(index, "test", "malignant", 0))
    assert "[duplicate]" in fig.axes[0].get_title() and fig.axes[0].images


def test_dataset_browser_renders_and_follows_the_controls(small_dataset):
    browser = w.dataset_browser(small_dataset)
    assert browser.error is None and browser.renders == 1
    assert browser.result["relative"] == "train/benign/benign_0.png"
    assert browser.controls["index"].max == 2
    before = png_of(browser)
    browser.controls["index"].value = 2
    assert browser.result["relative"] == "train/benign/benign_2.png" and png_of(browser) != before
    browser.controls["class"].value = "malignant"  # two images: the slider shrinks and the index is clamped
    assert browser.controls["index"].max == 1 and browser.controls["index"].value == 1
    assert browser.result["relative"] == "train/malignant/malignant_1.png"
    assert "across splits" in browser.info.value
    browser.controls["split"].value = "validation"
    assert browser.result["relative"] == "validation/malignant/malignant_1.png"
    assert browser.renders == 4  # one render per change, never two


def test_dataset_browser_shows_errors_instead_of_raising(small_dataset):
    browser = w.dataset_browser(small_dataset, report=False)
    (small_dataset / "train" / "benign" / "benign_1.png").unlink()
    browser.controls["index"].value = 1
    assert isinstance(browser.error, FileNotFoundError)
    (output,) = browser.output.outputs
    assert output["output_type"] == "stream" and "no longer exists" in output["text"]
    browser.controls["index"].value = 0  # and it recovers
    assert browser.error is None and browser.result["relative"] == "train/benign/benign_0.png"


# ============================================================================= Grad-CAM viewer
def tiny_model(sign=1.0):
    """Conv -> GAP -> softmax; every channel counts for malignant (or benign when sign < 0)."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inputs)
    head = keras.layers.Dense(2, activation="softmax", name="head_output")
    model = keras.Model(inputs, head(keras.layers.GlobalAveragePooling2D()(x)), name="tiny_positive" if sign > 0 else "tiny_negative")
    head.set_weights([sign * np.stack([-np.ones(4), np.ones(4)], axis=1), np.zeros(2)])
    return model


def bright_square_images(n=3):
    rng = np.random.default_rng(0)
    batch = rng.uniform(0, 0.3, (n, SIZE, SIZE, 3)).astype("float32")
    for i in range(n):
        batch[i, 2 * i:2 * i + 6, 3:9] = 0.95
    return batch


@pytest.fixture(scope="module")
def model():
    return tiny_model()


def test_grad_cam_view(model):
    image = bright_square_images(1)[0]
    view = w.grad_cam_view(model, image, threshold=0.5)
    p = float(model.predict(image[None], verbose=0)[0, 1])
    assert view["p_malignant"] == pytest.approx(p, abs=1e-6)
    assert view["prediction"] == ("Malignant" if p >= 0.5 else "Benign")
    assert view["layer"] == "conv"
    np.testing.assert_allclose(view["heatmap"], explain.grad_cam(model, image, "conv"), atol=1e-6)
    np.testing.assert_allclose(view["overlay"], explain.overlay(image, view["heatmap"], alpha=0.4), atol=1e-6)
    assert view["heatmap"].shape == (SIZE, SIZE) and view["overlay"].shape == (SIZE, SIZE, 3)
    assert w.grad_cam_view(model, image, threshold=0.0)["prediction"] == "Malignant"
    assert w.grad_cam_view(model, image, threshold=1.0)["prediction"] == "Benign"
    assert len(w.grad_cam_figure(view).axes) == 3


def test_grad_cam_viewer_renders_and_follows_the_controls(model):
    images = bright_square_images(3)
    viewer = w.grad_cam_viewer({"positive": model, "negative": tiny_model(-1.0)}, images, labels=[0, 1, 1])
    assert viewer.error is None and viewer.renders == 1
    assert set(viewer.controls) == {"model", "image", "explain", "alpha"}
    assert "true label" in viewer.info.value and "benign" in viewer.info.value
    before, first = png_of(viewer), viewer.result
    viewer.controls["image"].value = 2
    assert png_of(viewer) != before and not np.allclose(viewer.result["heatmap"], first["heatmap"])
    heat = viewer.result["heatmap"]
    viewer.controls["alpha"].value = 0.9  # same map (cached), stronger overlay
    np.testing.assert_array_equal(viewer.result["heatmap"], heat)
    np.testing.assert_allclose(viewer.result["overlay"], explain.overlay(images[2], heat, alpha=0.9), atol=1e-6)
    viewer.controls["model"].value = "negative"
    assert viewer.result["p_malignant"] < 0.5 and viewer.error is None


def test_grad_cam_viewer_reads_files(model, tmp_path):
    paths = []
    for i, image in enumerate(bright_square_images(2)):
        paths.append(tmp_path / f"tile_{i}.png")
        Image.fromarray((image * 255).astype(np.uint8)).save(paths[-1])
    viewer = w.grad_cam_viewer(model, paths)
    assert viewer.error is None and "tile_0.png" in viewer.info.value
    assert viewer.controls["image"].max == 1 and "model" not in viewer.controls
    with pytest.raises(ValueError, match="2 images but 3 labels"):
        w.grad_cam_viewer(model, paths, labels=[0, 1, 1])
