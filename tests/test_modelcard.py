"""Model card: made from a real evaluation of a tiny model on tiny images."""

import json

import keras
import numpy as np
import pytest
from PIL import Image

from cancer_course import DISCLAIMER
from cancer_course.evaluation import evaluate
from cancer_course.modelcard import model_card, write_model_card

SIZE = 32


def write_images(root):
    rng = np.random.default_rng(0)
    for split, n in (("train", 2), ("validation", 4), ("test", 8)):
        for label, cls in enumerate(("benign", "malignant")):
            folder = root / split / cls
            folder.mkdir(parents=True)
            for i in range(n):
                pixels = np.clip(rng.normal(60 + 120 * label, 40, (SIZE, SIZE, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, activation="relu")(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x), name="tiny_card")
    base = tmp_path_factory.mktemp("card")
    result = evaluate(model, write_images(base / "data"), "test", base / "out", n_boot=100, threshold_split="test")
    return model, result


def test_card_states_intended_use_and_the_disclaimer(evaluated):
    model, result = evaluated
    card = model_card(result, model, "Sixteen noise tiles per class.")
    assert card.startswith("# Model card: tiny_card")
    assert DISCLAIMER in card
    assert "Research and education only" in card and "**Not for clinical use.**" in card
    for section in ("## Intended use", "## Model", "## Data", "## Metrics", "## Threshold", "## Calibration",
                    "## Known limits"):
        assert section in card
    assert "Sixteen noise tiles per class." in card


def test_card_reports_the_measured_metrics_with_intervals(evaluated):
    model, result = evaluated
    card = model_card(result, model)
    lo, hi = result["auc_ci"]
    assert f"| AUC (ROC) | {result['auc']:.3f} | {lo:.3f}-{hi:.3f} |" in card
    assert f"{result['calibration']['ece']:.3f}" in card and f"{result['calibration']['brier']:.3f}" in card
    assert f"{result['thresholds']['chosen']['threshold']:.3g} (youden)" in card
    assert "chosen on the split it is evaluated on" in card  # the honest warning
    assert f"Sensitivity at {result['thresholds']['chosen']['threshold']:.3g}" not in card  # and no figures at it
    assert "8 benign, 8 malignant" in card
    for limit in ("Your data, your limits", "Small model", "Shortcut risk"):  # noise images: not the embedded set
        assert limit in card


def test_card_from_the_saved_json_without_the_model(evaluated, tmp_path):
    _, result = evaluated
    loaded = json.loads(open(result["json"]).read())
    path = write_model_card(tmp_path / "cards" / "MODEL_CARD.md", loaded, title="Tiny",
                            training="Not trained.", extra_limits=["Noise images."])
    text = path.read_text()
    assert text.startswith("# Model card: Tiny") and "## Training" in text and "- Noise images." in text
    assert "Parameters: " in text and DISCLAIMER in text


def test_threshold_figures_name_the_split_they_were_measured_on(evaluated, tmp_path):
    """The Youden / target-sensitivity specificity comes from the threshold split, not the test split."""
    model, _ = evaluated
    root = tmp_path / "data"
    write_images(root)
    result = evaluate(model, root, "test", tmp_path / "out", threshold="sensitivity", threshold_split="validation",
                      n_boot=50)
    card = model_card(result, model)
    target = result["thresholds"]["target_sensitivity"]
    assert (f"On the `validation` split, Youden's J picks {result['thresholds']['youden']['threshold']:.3g}"
            in card)
    spec = "n/a" if target["specificity"] is None else f"{target['specificity']:.3f}"
    assert f"(specificity {spec} there, on that split; the metrics table gives the `test` figures)" in card
    assert "chosen on the split it is evaluated on" not in card


def test_limits_follow_the_data(evaluated):
    _, result = evaluated
    embedded = {**result, "dataset": {**result["dataset"], "manifest": {"generator": "synth-1", "parameters": {}}}}
    assert "Synthetic data" in model_card(embedded) and "Your data" not in model_card(embedded)
    card = model_card(result)  # a folder of noise images, no manifest
    assert "Synthetic data" not in card and "Your data, your limits" in card and "Shortcut risk" in card
    own = model_card(result, limits=["Only this."], extra_limits=["And this."])
    assert "- Only this." in own and "- And this." in own and "Small model" not in own
