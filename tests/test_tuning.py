"""keras-tuner search space, fresh result folders, and a one-trial search on tiny data."""

import keras_tuner as kt
import pytest

from cancer_course import tuning
from cancer_course.config import PROFILES


def test_width_choices_never_exceed_the_preset():
    assert tuning.width_choices(PROFILES["laptop"]) == [0.25, 0.5]
    assert tuning.width_choices(PROFILES["full"]) == [0.5, 1.0]


def test_every_search_gets_a_fresh_folder(tmp_path):
    a, b = tuning.fresh_directory(tmp_path), tuning.fresh_directory(tmp_path)
    assert a != b and a.parent == b.parent == tmp_path / "tuning"
    assert list(a.iterdir()) == [] and list(b.iterdir()) == []


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    from cancer_course.pipeline import load_splits
    from cancer_course.synth import generate_dataset

    root = generate_dataset(tmp_path_factory.mktemp("t"), image_size=32, n_train=32, n_validation=16, n_test=8)
    return load_splits(root, image_size=32, verbose=False)


def test_search_space_and_a_one_trial_search(splits, tmp_path):
    hypermodel = tuning.CourseHyperModel(PROFILES["smoke"], splits.files("train"), splits.files("validation"))
    hp = kt.HyperParameters()
    model = hypermodel.build(hp)
    assert set(hp.values) == {"learning_rate", "dropout", "l2", "width", "augmentation"}
    assert model.output_shape == (None, 2)
    tuner = tuning.make_tuner(hypermodel, tmp_path, max_trials=1)
    assert str(tmp_path / "tuning") in tuner.project_dir
    tuner.search(epochs=1)
    table = tuning.trials_table(tuner)
    assert len(table) == 1 and 0.0 <= table["val_auc"].iloc[0] <= 1.0
    best = tuner.get_best_hyperparameters(1)[0]
    assert best.values == table.drop(columns=["val_auc", "status"]).iloc[0].to_dict()
