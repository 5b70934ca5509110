"""The experiment helper of lesson 08: subsampling, oversampling, metrics, one tiny run."""

import numpy as np
import pytest

from cancer_course import experiments
from cancer_course.config import PROFILES


def test_recall_at_specificity_on_known_scores():
    y = np.array([0] * 10 + [1] * 4)
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.85, 0.92, 0.97, 0.99])
    # 90% specificity: 9 of 10 negatives must be at or below the threshold (0.9)
    assert experiments.recall_at_specificity(y, p, 0.9) == pytest.approx(0.75)
    assert experiments.recall_at_specificity(y, p, 1.0) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="both classes"):
        experiments.recall_at_specificity(np.zeros(3), np.ones(3))


def test_subsample_makes_the_requested_imbalance():
    paths = [f"img{i}.png" for i in range(100)]
    labels = [i % 2 for i in range(100)]
    p, y = experiments.subsample(paths, labels, 40, malignant_fraction=0.25, seed=1)
    assert len(p) == 40 and sum(y) == 10
    assert all(labels[paths.index(q)] == lab for q, lab in zip(p, y))
    assert experiments.subsample(paths, labels, 40, 0.25, seed=1) == (p, y)
    with pytest.raises(ValueError, match="Cannot take 72 malignant"):
        experiments.subsample(paths, labels, 80, malignant_fraction=0.9)


@pytest.fixture(scope="module")
def tiles(tmp_path_factory):
    from cancer_course.pipeline import load_splits
    from cancer_course.synth import generate_dataset

    root = generate_dataset(tmp_path_factory.mktemp("t"), image_size=32, n_train=48, n_validation=16, n_test=8,
                            malignant_fraction=0.25, seed=0)
    return load_splits(root, image_size=32, verbose=False)


def test_oversampling_balances_the_batches(tiles):
    paths, labels = tiles.files("train")
    assert sum(labels) / len(labels) == pytest.approx(0.25, abs=0.05)
    ds = experiments.oversampled(paths, labels, 32, 16, seed=0)
    seen = np.concatenate([y.numpy().argmax(1) for _, y in ds])
    assert len(seen) == len(labels)  # an epoch is as long as the original split
    assert 0.35 < seen.mean() < 0.65


def test_noise_verdict_on_constructed_seeds():
    # means 0.80 vs 0.70, SDs 0.01: the difference is ~12 standard errors
    clear = experiments.noise_verdict([0.80, 0.81, 0.79], [0.70, 0.71, 0.69])
    assert clear["difference"] == pytest.approx(0.10)
    assert clear["se"] == pytest.approx(np.sqrt(2 * 0.01**2 / 3))
    assert clear["verdict"] == "larger than seed noise"
    # the same means with SDs of 0.1: 1.2 standard errors - weak
    weak = experiments.noise_verdict([0.70, 0.80, 0.90], [0.60, 0.70, 0.80])
    assert weak["ratio"] == pytest.approx(0.1 / np.sqrt(2 * 0.01 / 3))
    assert weak["verdict"] == "weak: more seeds needed"
    noise = experiments.noise_verdict([0.70, 0.82, 0.90], [0.72, 0.80, 0.88])
    assert noise["verdict"] == "not distinguishable from seed noise"
    # a drop is judged by its size too
    assert experiments.noise_verdict([0.70, 0.71, 0.69], [0.80, 0.81, 0.79])["verdict"] == "larger than seed noise"
    assert experiments.noise_verdict([0.9], [0.5])["verdict"] == "one seed: no estimate of the noise"


def test_a_paired_comparison_cancels_a_lucky_seed():
    # seed 0 lifts both rows by 0.15; the remedy adds 0.05 +- 0.005 on every seed
    base, remedy = [0.90, 0.75, 0.76], [0.955, 0.80, 0.805]
    paired = experiments.noise_verdict(remedy, base, paired=True)
    assert paired["se"] == pytest.approx(np.std([0.055, 0.05, 0.045], ddof=1) / np.sqrt(3))
    assert paired["verdict"] == "larger than seed noise"
    assert experiments.noise_verdict(remedy, base)["verdict"] == "not distinguishable from seed noise"
    # the same gains in a scrambled order are no longer consistent
    assert experiments.noise_verdict([0.80, 0.955, 0.805], base, paired=True)["verdict"] != "larger than seed noise"
    with pytest.raises(ValueError, match="one value per seed"):
        experiments.noise_verdict([0.8, 0.9], base, paired=True)
    rows = _rows({"baseline": base, "remedy": remedy})
    assert experiments.compare_to_baseline(rows)[0]["verdict"] == "larger than seed noise"
    assert experiments.compare_to_baseline(rows, paired=False)[0]["verdict"] == "not distinguishable from seed noise"
    with pytest.raises(ValueError, match="same seeds"):
        experiments.compare_to_baseline(rows + [{"config": "remedy", "seed": 7, "val_auc": 0.8}])


def _rows(values: dict, metric="val_auc"):
    return [{"config": name, "seed": s, metric: v} for name, vs in values.items() for s, v in enumerate(vs)]


def test_seed_summary_table_and_comparison():
    rows = _rows({"baseline": [0.70, 0.71, 0.69], "augmentation": [0.80, 0.81, 0.79], "dropout": [0.72, 0.66, 0.70]})
    summary = experiments.seed_summary(rows, "val_auc")
    assert list(summary) == ["baseline", "augmentation", "dropout"]
    assert summary["augmentation"]["mean"] == pytest.approx(0.80)
    assert summary["augmentation"]["sd"] == pytest.approx(0.01)
    assert summary["dropout"]["n"] == 3
    table = experiments.results_table(rows, columns=("val_auc",))
    assert table.loc["augmentation", "val_auc"] == "0.800 ± 0.010"
    assert table.loc["baseline", "seeds"] == 3
    verdicts = {v["config"]: v["verdict"] for v in experiments.compare_to_baseline(rows, "val_auc", paired=False)}
    assert verdicts == {"augmentation": "larger than seed noise", "dropout": "not distinguishable from seed noise"}
    with pytest.raises(ValueError, match="No rows named 'base'"):
        experiments.compare_to_baseline(rows, baseline="base")
    one_seed = experiments.results_table(_rows({"baseline": [0.7]}), columns=("val_auc",))
    assert one_seed.loc["baseline", "val_auc"] == "0.700"


def test_inference_scores_differ_from_the_keras_training_metric():
    """A model that is right on every image in inference mode; in training mode dropout spoils it."""
    import keras

    keras.utils.set_random_seed(0)
    x = np.concatenate([np.full((16, 4, 4, 3), 0.2), np.full((16, 4, 4, 3), 0.8)]).astype("float32")
    y = np.array([0] * 16 + [1] * 16)
    inputs = keras.Input((4, 4, 3))
    h = keras.layers.GlobalAveragePooling2D()(inputs)
    h = keras.layers.Dropout(0.9, seed=1)(h)
    out = keras.layers.Dense(2, activation="softmax")(h)
    model = keras.Model(inputs, out)
    model.layers[-1].set_weights([np.array([[-10.0, 10.0]] * 3), np.array([15.0, -15.0])])  # malignant if mean > 0.5
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, np.eye(2)[y], batch_size=8, epochs=1, class_weight={0: 1.0, 1: 3.0}, verbose=0)
    fair = experiments.inference_scores(model, x, y)
    assert fair["accuracy"] == 1.0 and fair["auc"] == 1.0 and fair["balanced_accuracy"] == 1.0
    assert history.history["accuracy"][0] < 0.9  # dropout on: the raw Keras number is not the model's accuracy


def test_scores_read_the_operating_point_and_calibration():
    y = np.array([0, 0, 0, 1])
    p = np.array([0.1, 0.6, 0.2, 0.9])
    s = experiments.scores(y, p, "val_")
    assert s["val_auc"] == 1.0 and s["val_sensitivity"] == 1.0 and s["val_specificity"] == pytest.approx(2 / 3)
    assert s["val_mean_p"] == pytest.approx(0.45) and s["val_prevalence"] == 0.25
    assert s["val_balanced_accuracy"] == pytest.approx((1 + 2 / 3) / 2)
    assert 0 < s["val_ece"] < 1


def test_only_the_early_stopping_row_stops_early(tiles, monkeypatch):
    import keras

    from cancer_course import training

    made = []
    original = training.make_callbacks

    def spy(*args, **kwargs):
        callbacks = original(*args, **kwargs)
        made.append([type(c) for c in callbacks])
        return callbacks

    monkeypatch.setattr(training, "make_callbacks", spy)
    for config in (experiments.REMEDIES[0], experiments.Variant("es", early_stopping=True)):
        experiments.run_config(config, tiles.files("train"), tiles.files("validation"), PROFILES["smoke"], epochs=1)
    baseline, stopping = made
    assert keras.callbacks.EarlyStopping not in baseline
    assert keras.callbacks.EarlyStopping in stopping
    es = [c for c in experiments.REMEDIES if c.early_stopping]
    assert [c.name for c in es] == ["early stopping + plateau"]


def test_a_smaller_head_is_a_row():
    smaller = next(c for c in experiments.REMEDIES if c.name == "smaller head")
    model = experiments._build(smaller, PROFILES["smoke"], seed=0)
    dense = [layer.name for layer in model.layers if layer.name.startswith("head_dense")]
    assert dense == ["head_dense1"] and model.get_layer("head_dense1").units == smaller.head_units[0]


def test_run_experiments_returns_a_tidy_table(tiles):
    configs = [experiments.Variant("baseline"), experiments.Variant("weights", imbalance="class_weights", l2=1e-4)]
    lines = []
    rows = experiments.run_experiments(configs, tiles.files("train"), tiles.files("validation"), PROFILES["smoke"],
                                       epochs=1, seeds=(0, 1), echo=lines.append)
    assert [(r["config"], r["seed"]) for r in rows] == [("baseline", 0), ("baseline", 1), ("weights", 0),
                                                        ("weights", 1)]
    table = experiments.results_table(rows)
    assert list(table.index) == ["baseline", "weights"] and list(table["seeds"]) == [2, 2]
    assert {"val_auc", "train_auc", "auc_gap", "keras_train_accuracy"} <= set(table.columns)
    assert all(0.0 <= r["val_auc"] <= 1.0 and r["epochs_run"] == 1 for r in rows)
    assert all(r["train_prevalence"] == pytest.approx(np.mean(tiles.files("train")[1])) for r in rows)
    assert rows[2]["knobs"] == {"l2": 1e-4, "imbalance": "class_weights"}
    assert lines[0] == "[1/2] baseline ..."
    assert experiments.plot_comparison(rows) is not None
    with pytest.raises(ValueError, match="imbalance must be one of"):
        experiments.run_config(experiments.Variant("x", imbalance="smote"), tiles.files("train"),
                               tiles.files("validation"), PROFILES["smoke"], epochs=1)


def test_a_reused_model_repeats_a_fresh_run(tiles):
    """Seeds after the first restart the compiled model; that must give what a fresh model gives."""
    config = experiments.Variant("dropout", dropout=0.5)
    args = (config, tiles.files("train"), tiles.files("validation"), PROFILES["smoke"])
    reused = experiments.run_config(*args, epochs=2, seeds=(0, 1))[1]
    fresh = experiments.run_config(*args, epochs=2, seeds=(1,))[0]
    for key in ("train_auc", "val_auc", "val_mean_p", "keras_train_accuracy"):
        assert reused[key] == pytest.approx(fresh[key], abs=1e-5), key
