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
    from cancer_course.data import load_splits
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


def test_run_experiments_returns_a_tidy_table(tiles):
    configs = [experiments.Config("baseline"), experiments.Config("weights", imbalance="class_weights", l2=1e-4)]
    lines = []
    rows = experiments.run_experiments(configs, tiles.files("train"), tiles.files("validation"), PROFILES["smoke"],
                                       epochs=1, echo=lines.append)
    table = experiments.results_table(rows)
    assert list(table.index) == ["baseline", "weights"]
    assert {"val_auc", "val_pr_auc", "gap", "best_epoch", "seconds"} <= set(table.columns)
    assert all(0.0 <= r["val_auc"] <= 1.0 and r["epochs_run"] == 1 for r in rows)
    assert rows[1]["knobs"] == {"l2": 1e-4, "imbalance": "class_weights"}
    assert lines[0] == "[1/2] baseline ..."
    assert experiments.plot_gaps(rows) is not None
    with pytest.raises(ValueError, match="imbalance must be one of"):
        experiments.run_config(experiments.Config("x", imbalance="smote"), tiles.files("train"),
                               tiles.files("validation"), PROFILES["smoke"], epochs=1)
