"""Evaluation: every metric against scikit-learn, thresholds, calibration, the gallery,
evaluate() and the `evaluate` command end to end, and each learner-facing error."""

import json
import shutil

import keras
import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    roc_auc_score,
    roc_curve,
)

from cancer_course import evaluation as ev
from cancer_course.cli import main
from cancer_course.errors import DataError

SIZE = 32


# ----------------------------------------------------------------------------- helpers
def scores(n=300, seed=1, ties=True):
    """Labels and informative, imperfect scores; some tied values when `ties`."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.clip(0.35 * y + rng.uniform(0, 0.65, n), 0, 1)
    if ties:
        p[:30] = 0.5
    return y, p


def write_split(root, split, counts, size=SIZE, seed=0):
    """`counts` = (benign, malignant) PNGs: dark benign tiles, bright malignant ones."""
    rng = np.random.default_rng(seed)
    for label, (cls, n) in enumerate(zip(("benign", "malignant"), counts)):
        folder = root / split / cls
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            base = 60 + 120 * label
            pixels = np.clip(rng.normal(base, 30, (size, size, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(folder / f"{cls}_{i:03d}.png")


def make_root(root, test=(6, 6), size=SIZE):
    for split, counts in (("train", (2, 2)), ("validation", (4, 4)), ("test", test)):
        write_split(root, split, counts, size=size, seed=len(split))
    return root


def tiny_model(size=SIZE, output="softmax"):
    """A hand-made course-shaped model: mean brightness -> p(malignant)."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    units, act = (2, "softmax") if output == "softmax" else (1, "sigmoid")
    return keras.Model(inputs, keras.layers.Dense(units, activation=act, name="head_output")(x), name="tiny")


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return make_root(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def model():
    return tiny_model()


# ----------------------------------------------------------------------------- metrics
def test_confusion_matches_sklearn():
    y, p = scores()
    for t in (0.3, 0.5, 0.7):
        conf = ev.confusion_at(y, p, t)
        expected = confusion_matrix(y, (p >= t).astype(int), labels=[0, 1]).tolist()
        assert conf["matrix"] == expected
        tn, fp, fn, tp = np.ravel(expected)
        assert conf["sensitivity"] == pytest.approx(tp / (tp + fn))
        assert conf["specificity"] == pytest.approx(tn / (tn + fp))
        assert conf["rates"][1][1] == pytest.approx(conf["sensitivity"])
        assert conf["labels"] == ["Benign", "Malignant"]


def test_curves_and_areas_match_sklearn():
    y, p = scores()
    roc = ev.roc_data(y, p)
    fpr, tpr, _ = roc_curve(y, p)
    assert roc["auc"] == pytest.approx(roc_auc_score(y, p))
    assert np.allclose(roc["fpr"], fpr) and np.allclose(roc["tpr"], tpr)
    assert roc["thresholds"][0] is None  # sklearn's +inf, made JSON-safe
    pr = ev.precision_recall_data(y, p)
    assert pr["average_precision"] == pytest.approx(average_precision_score(y, p))
    assert pr["prevalence"] == pytest.approx(y.mean())
    json.dumps(roc, allow_nan=False)
    json.dumps(pr, allow_nan=False)


def test_classification_report_uses_class_names():
    y, p = scores()
    report = ev.classification_report(y, p)
    assert {"Benign", "Malignant", "accuracy"} <= set(report)
    assert report["Malignant"]["recall"] == pytest.approx(ev.confusion_at(y, p)["sensitivity"])
    assert "Malignant" in ev.classification_report(y, p, as_text=True)


def test_vectorised_auc_equals_sklearn_with_ties():
    y, p = scores(ties=True)
    p = np.round(p, 1)  # many ties
    assert ev._auc_rows(p[None], y[None])[0] == pytest.approx(roc_auc_score(y, p))


def test_bootstrap_contains_point_and_is_seeded():
    y, p = scores()
    a = ev.bootstrap_intervals(y, p, n_boot=500, seed=3)
    for name in ("auc", "sensitivity", "specificity"):
        low, high = a[name]
        assert low <= a["point"][name] <= high
        assert 0 <= low < high <= 1
    assert a["point"]["auc"] == pytest.approx(roc_auc_score(y, p))
    assert ev.bootstrap_intervals(y, p, n_boot=500, seed=3) == a
    assert ev.bootstrap_intervals(y, p, n_boot=500, seed=4)["auc"] != a["auc"]
    narrow = ev.bootstrap_intervals(y, p, n_boot=500, seed=3, level=0.5)
    assert narrow["auc"][0] > a["auc"][0] and narrow["auc"][1] < a["auc"][1]


# ----------------------------------------------------------------------------- thresholds
KNOWN_Y = [0, 0, 0, 0, 1, 1, 1, 1]
KNOWN_P = [0.1, 0.2, 0.3, 0.6, 0.4, 0.7, 0.8, 0.9]


def test_youden_on_a_known_example():
    # t=0.7: sens 3/4, spec 4/4; t=0.4: sens 4/4, spec 3/4; both J=0.75 -> the higher threshold.
    result = ev.youden_threshold(KNOWN_Y, KNOWN_P)
    assert result["threshold"] == 0.7
    assert result["j"] == pytest.approx(0.75)
    assert (result["sensitivity"], result["specificity"]) == (0.75, 1.0)


def test_youden_agrees_with_brute_force():
    y, p = scores()
    fpr, tpr, thresholds = roc_curve(y, p, drop_intermediate=False)
    assert ev.youden_threshold(y, p)["j"] == pytest.approx(np.max(tpr - fpr))


def test_threshold_for_target_sensitivity():
    result = ev.threshold_for_sensitivity(KNOWN_Y, KNOWN_P, 0.95)
    assert result["threshold"] == 0.4 and result["sensitivity"] == 1.0 and result["specificity"] == 0.75
    assert ev.threshold_for_sensitivity(KNOWN_Y, KNOWN_P, 0.75)["threshold"] == 0.7
    y, p = scores()
    for target in (0.8, 0.9, 0.95):
        chosen = ev.threshold_for_sensitivity(y, p, target)
        t = chosen["threshold"]
        reached = ev.confusion_at(y, p, t)["sensitivity"]
        assert reached >= target and reached == pytest.approx(chosen["sensitivity"])
        higher = np.unique(p[p > t])
        if higher.size:  # the next threshold up no longer reaches the target: t is the highest
            assert ev.confusion_at(y, p, higher[0])["sensitivity"] < target


# ----------------------------------------------------------------------------- calibration
def test_ece_calibrated_versus_overconfident():
    # Calibrated by construction: 1 in 4 malignant at p=0.25, 3 in 4 at p=0.75.
    y = [1, 0, 0, 0, 1, 1, 1, 0]
    p = [0.25] * 4 + [0.75] * 4
    assert ev.expected_calibration_error(y, p) == pytest.approx(0.0)
    # Overconfident: says 0.99 or 0.01, but each group is half malignant.
    y = [1, 0] * 10
    p = [0.99] * 10 + [0.01] * 10
    assert ev.expected_calibration_error(y, p) == pytest.approx(0.49)
    # Labels drawn from the probabilities themselves: close to calibrated.
    rng = np.random.default_rng(0)
    p = rng.uniform(size=20000)
    y = (rng.uniform(size=p.size) < p).astype(int)
    assert ev.expected_calibration_error(y, p) < 0.02
    assert ev.expected_calibration_error(y, np.clip(p * 3 - 1, 0, 1)) > 0.1


def test_reliability_bins_are_equal_width_and_last_is_closed():
    data = ev.reliability_data([0, 1, 1, 0], [0.0, 1.0, 0.95, 0.1], n_bins=10)
    assert data["edges"][0] == 0 and data["edges"][-1] == 1 and len(data["edges"]) == 11
    assert data["count"] == [1, 1, 0, 0, 0, 0, 0, 0, 0, 2]
    assert data["observed"][9] == 1.0 and data["predicted"][2] is None


def test_brier_equals_sklearn():
    y, p = scores()
    assert ev.brier_score(y, p) == pytest.approx(brier_score_loss(y, p))


# ----------------------------------------------------------------------------- gallery
def test_gallery_puts_false_negatives_first():
    y = [0, 1, 0, 1, 1, 0]
    p = [0.9, 0.2, 0.6, 0.05, 0.8, 0.1]
    paths = [f"img{i}.png" for i in range(6)]
    errors = ev.worst_errors(y, p, paths, threshold=0.5, k=None)
    assert [e["kind"] for e in errors] == ["false negative"] * 2 + ["false positive"] * 2
    assert [e["path"] for e in errors] == ["img3.png", "img1.png", "img0.png", "img2.png"]
    assert errors[0]["true"] == "Malignant" and errors[0]["predicted"] == "Benign"
    assert len(ev.worst_errors(y, p, paths, k=3)) == 3


def test_input_checks():
    with pytest.raises(ValueError, match="3 labels but 2 probabilities"):
        ev.confusion_at([0, 1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="between 0 and 1"):
        ev.brier_score([0, 1], [0.1, 1.2])
    with pytest.raises(ValueError, match="0 benign and 3 malignant"):
        ev.roc_data([1, 1, 1], [0.2, 0.3, 0.9])


# ----------------------------------------------------------------------------- predictions
def test_predict_split_from_folder_and_dataset(model, data_root):
    y, p, paths = ev.predict_split(model, data_root, "test")
    assert y.tolist() == [0] * 6 + [1] * 6
    assert p.shape == (12,) and ((p >= 0) & (p <= 1)).all()
    assert paths[0].endswith("benign_000.png") and "malignant" in paths[-1]

    from cancer_course.pipeline import from_files

    ds = from_files(paths, y, SIZE, batch_size=5)
    y2, p2, names = ev.predict_split(model, ds)
    assert y2.tolist() == y.tolist() and np.allclose(p2, p, atol=1e-5)
    assert names[0] == "dataset[0]"


def test_sigmoid_model_gives_the_same_kind_of_output(data_root):
    y, p, _ = ev.predict_split(tiny_model(output="sigmoid"), data_root, "validation")
    assert y.tolist() == [0] * 4 + [1] * 4 and p.shape == (8,)


def test_evaluate_writes_every_figure_and_the_json(model, data_root, tmp_path):
    result = ev.evaluate(model, data_root, "test", tmp_path / "out", n_boot=200, threshold="sensitivity",
                         target_sensitivity=0.9, threshold_split="validation")
    for key in ("confusion_matrix", "confusion_matrix_chosen", "roc", "precision_recall", "reliability",
                "error_gallery", "predictions"):
        path = tmp_path / "out" / result["figures"][key].split("/")[-1]
        assert path.is_file() and path.stat().st_size > 0, key
    saved = json.loads((tmp_path / "out" / "evaluation.json").read_text())
    assert saved["auc"] == pytest.approx(result["auc"])
    assert saved["dataset"]["class_counts"] == {"Benign": 6, "Malignant": 6}
    assert saved["thresholds"]["chosen"]["method"] == "sensitivity"
    assert saved["thresholds"]["chosen_on"] == "validation"
    assert len(saved["calibration"]["reliability"]["count"]) == 10
    assert "clinical" in saved["disclaimer"]
    text = ev.headline(result)
    assert "AUC" in text and "95% CI" in text and "ECE" in text and "Brier" in text


# ----------------------------------------------------------------------------- clear errors
def test_one_class_split_names_split_and_counts(model, tmp_path):
    root = make_root(tmp_path / "data", test=(5, 0))
    with pytest.raises(ValueError, match=r"'test' split of .* has 5 benign and 0 malignant.*AUC.*undefined"):
        ev.evaluate(model, root, "test", tmp_path / "out")


def test_a_split_without_its_other_class_folder_is_explained_too(model, tmp_path):
    root = make_root(tmp_path / "data", test=(3, 0))
    (root / "test" / "malignant").rmdir()
    with pytest.raises(ValueError, match=r"'test' split of .* has 3 benign and 0 malignant.*AUC.*undefined"):
        ev.predict_split(model, root, "test")


def test_only_the_split_read_is_scanned(model, tmp_path):
    root = make_root(tmp_path / "data", test=(2, 2))
    shutil.rmtree(root / "train")  # a folder without training images can still be evaluated
    (root / "validation" / "benign" / "broken.png").write_bytes(b"not a png")
    y, _, paths = ev.predict_split(model, root, "test")
    assert y.tolist() == [0, 0, 1, 1] and all("/test/" in path for path in paths)
    with pytest.raises(DataError, match="broken.png: cannot be decoded"):
        ev.predict_split(model, root, "validation")


def test_images_of_another_size_are_resized_as_training_does(model, tmp_path):
    from cancer_course.images import read_rgb, resize_and_scale

    root = make_root(tmp_path / "data", size=40)
    y, p, paths = ev.predict_split(model, root, "test")  # one policy in every command: resize, never refuse
    assert p.shape == (12,)
    np.testing.assert_array_equal(ev.predict_split(model, root, "test", resize=True)[1], p)
    resized = np.stack([resize_and_scale(read_rgb(path), 32).numpy() for path in paths])
    np.testing.assert_allclose(ev._probabilities(model, resized), p, atol=1e-6)


def test_not_a_course_model(tmp_path, data_root):
    with pytest.raises(ValueError, match="is not a course model"):
        ev.predict_split(keras.Sequential([keras.Input((10,)), keras.layers.Dense(3)]), data_root)
    fake = tmp_path / "notes.keras"
    fake.write_text("not a model")
    with pytest.raises(ValueError, match="not a Keras 3 .keras model file"):
        ev.check_course_model(fake)


def test_missing_split_folder(model, data_root):
    with pytest.raises(FileNotFoundError, match="No split folder .*holdout"):
        ev.predict_split(model, data_root, "holdout")


# ----------------------------------------------------------------------------- command line
@pytest.fixture(scope="module")
def saved_smoke_model(tmp_path_factory):
    from cancer_course.model import from_profile

    path = tmp_path_factory.mktemp("model") / "smoke.keras"
    from_profile("smoke", seed=0).save(path)
    return path


def test_cli_end_to_end(saved_smoke_model, data_root, tmp_path, capsys):
    out, js, card = tmp_path / "figs", tmp_path / "metrics.json", tmp_path / "card.md"
    code = main(["evaluate", "--model", str(saved_smoke_model), "--dataset-path", str(data_root),
                 "--out", str(out), "--json", str(js), "--threshold", "0.4", "--n-boot", "100",
                 "--model-card", str(card)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "AUC" in printed and "95% CI" in printed and "at threshold 0.4 (fixed" in printed
    assert "ECE" in printed and "Brier" in printed and "not for clinical use" in printed
    assert json.loads(js.read_text())["thresholds"]["chosen"]["threshold"] == 0.4
    assert (out / "roc.png").is_file() and (out / "error_gallery.png").is_file()
    assert "not for clinical use" in card.read_text().lower()


def test_cli_errors_are_messages_not_tracebacks(tmp_path, data_root, saved_smoke_model, capsys):
    fake = tmp_path / "model.keras"
    fake.write_text("hello")
    assert main(["evaluate", "--model", str(fake), "--dataset-path", str(data_root)]) == 2
    assert "not a Keras 3 .keras model file" in capsys.readouterr().err
    one_class = make_root(tmp_path / "one", test=(0, 4))
    assert main(["evaluate", "--model", str(saved_smoke_model), "--dataset-path", str(one_class),
                 "--out", str(tmp_path / "o")]) == 2
    assert "0 benign and 4 malignant" in capsys.readouterr().err
    assert main(["evaluate", "--model", str(saved_smoke_model), "--dataset-path", str(data_root),
                 "--threshold", "often", "--out", str(tmp_path / "o")]) == 2
    assert "'youden' or 'sensitivity'" in capsys.readouterr().err


def test_ppv_and_npv_at_a_stated_prevalence_by_hand():
    from cancer_course.evaluation import ppv_npv_at

    # 10,000 people, 1% ill: 100 ill, 90 found (sensitivity 0.9); 9,900 well, 990 false alarms (spec 0.9).
    at = ppv_npv_at(0.9, 0.9, 0.01)
    assert at["ppv"] == pytest.approx(90 / (90 + 990)) and at["npv"] == pytest.approx(8910 / (8910 + 10))
    assert ppv_npv_at(0.9, 0.9, 0.5)["ppv"] == pytest.approx(0.9)
    assert ppv_npv_at(None, 0.9, 0.1) == {"prevalence": 0.1, "ppv": None, "npv": None}
    with pytest.raises(ValueError, match="prevalence must be between 0 and 1"):
        ppv_npv_at(0.9, 0.9, 1.5)


def test_cli_chooses_the_threshold_on_validation_and_reports_ppv_at_a_prevalence(saved_smoke_model, data_root,
                                                                                tmp_path, capsys):
    js = tmp_path / "m.json"
    assert main(["evaluate", "--model", str(saved_smoke_model), "--dataset-path", str(data_root), "--out",
                 str(tmp_path / "o"), "--json", str(js), "--n-boot", "50", "--prevalence", "0.01"]) == 0
    printed = capsys.readouterr().out
    saved = json.loads(js.read_text())
    assert saved["thresholds"]["chosen"]["chosen_on"] == "validation" and saved["thresholds"]["chosen"]["honest"]
    assert "(youden, chosen on validation)" in printed
    assert "at prevalence 0.01 (stated (--prevalence))" in printed
    sens, spec = saved["confusion_matrix"]["sensitivity"], saved["confusion_matrix"]["specificity"]
    from cancer_course.evaluation import ppv_npv_at

    assert saved["at_prevalence"]["0.5"] == ppv_npv_at(sens, spec, 0.01)


def test_a_threshold_chosen_on_the_reported_split_is_not_shown_as_a_result(saved_smoke_model, data_root, tmp_path,
                                                                           capsys):
    js = tmp_path / "m.json"  # evaluating validation itself: there is no other split to choose on
    assert main(["evaluate", "--model", str(saved_smoke_model), "--dataset-path", str(data_root), "--split",
                 "validation", "--out", str(tmp_path / "o"), "--json", str(js), "--n-boot", "50"]) == 0
    printed = capsys.readouterr().out
    assert "no result at a chosen threshold" in printed and "chosen on the validation split itself" in printed
    assert "at the chosen threshold" not in printed
    assert json.loads(js.read_text())["thresholds"]["chosen"]["honest"] is False


def test_threshold_is_a_result_reads_old_results_too():
    from cancer_course.evaluation import threshold_is_a_result

    def result(split, **chosen):
        return {"dataset": {"split": split}, "thresholds": {"chosen": chosen}}

    assert threshold_is_a_result(result("test", method="youden", chosen_on="validation", honest=True))
    assert not threshold_is_a_result(result("test", method="youden", chosen_on="test", honest=False))
    # results written before the "honest" key: judged from where the threshold was chosen
    assert not threshold_is_a_result(result("test", method="youden", chosen_on="test"))
    assert threshold_is_a_result(result("test", method="youden", chosen_on="validation"))
    assert threshold_is_a_result(result("test", method="fixed", chosen_on="test"))
