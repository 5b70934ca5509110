"""Matched-budget studies (lesson 13): runs at the same steps, scored on the same test cases, and
conclusions that say only what the paired comparisons support."""

from __future__ import annotations

import numpy as np
import pytest

from cancer_course import matched
from cancer_course.config import PROFILES
from cancer_course.model import from_profile
from cancer_course.pipeline import load_splits
from cancer_course.synth import dataset_root

RNG = np.random.default_rng(0)
Y = np.array([0] * 60 + [1] * 60)


def _p(quality: float, seed: int) -> np.ndarray:
    """Scores that separate the classes by `quality` (0: none), with seed-dependent noise."""
    noise = np.random.default_rng(seed).normal(0, 1, Y.size)
    return 1 / (1 + np.exp(-(quality * (2 * Y - 1) + noise)))


def _rows(name: str, quality: float, seeds, offset: int = 0) -> list[dict]:
    from cancer_course.diagnosis import auc

    return [{"config": name, "arm": name, "seed": s, "n_train": 100, "test_auc": auc(Y, _p(quality, s + offset)),
             "p_test": _p(quality, s + offset)} for s in seeds]


def test_a_clear_difference_is_called_and_names_the_better_arm():
    rows = _rows("good", 2.5, (0, 1, 2)) + _rows("poor", 0.3, (0, 1, 2), offset=10)
    out = matched.compare(rows, "poor", "good", Y)
    assert out["difference"] < 0 and out["verdict"] == "larger than seed noise"
    assert out["seeds_significant"] == 3 and [c["seed"] for c in out["per_seed"]] == [0, 1, 2]  # each its own seed
    assert out["conclusion"].startswith("poor vs good: good is better")


def test_no_difference_is_not_called_equal():
    rows = _rows("a", 1.0, (0, 1, 2)) + _rows("b", 1.0, (0, 1, 2), offset=5)
    out = matched.compare(rows, "a", "b", Y)
    assert "no difference shown" in out["conclusion"] and "better" not in out["conclusion"]


def test_one_seed_says_it_cannot_separate_luck_from_method():
    rows = _rows("a", 2.5, (0,)) + _rows("b", 0.0, (0,), offset=3)
    out = matched.compare(rows, "a", "b", Y)
    assert "one seed" in out["conclusion"] and "better" not in out["conclusion"]


def test_unpaired_or_missing_rows_are_refused():
    rows = _rows("a", 1.0, (0, 1)) + _rows("b", 1.0, (0, 2))
    with pytest.raises(ValueError, match="same seeds"):
        matched.compare(rows, "a", "b", Y)
    with pytest.raises(ValueError, match="No rows named 'c'"):
        matched.compare(rows, "a", "c", Y)


def test_learning_curve_plot_has_a_title_and_labelled_axes():
    rows = [dict(r, n_train=n) for n in (50, 150) for r in _rows("scratch", 1.0, (0, 1))]
    fig = matched.plot_learning_curve(rows, arms=("scratch",))
    ax = fig.axes[0]
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel() == "test AUC"


def test_a_study_trains_each_seed_at_the_same_steps_with_one_compiled_model():
    profile = PROFILES["smoke"]
    splits = load_splits(dataset_root("smoke"), image_size=profile.image_size)
    study = matched.Study(profile, splits.files("test"), steps=2, echo=lambda line: None)
    arm = matched.Arm("scratch", lambda seed, files: from_profile(profile, seed=seed))
    rows = study.run(arm, splits.files("train"), seeds=(0, 1), config="scratch, n=64")
    assert [r["seed"] for r in rows] == [0, 1] and len(study._compiled) == 1
    assert all(r["steps"] == 2 and r["n_train"] == 64 and r["p_test"].shape == (32,) for r in rows)
    assert rows[0]["params"] == 57_448 and 0.0 <= rows[0]["test_auc"] <= 1.0
    assert not np.allclose(rows[0]["p_test"], rows[1]["p_test"])  # another seed, another run
    with pytest.raises(ValueError, match="at least 1"):
        matched.Study(profile, splits.files("test"), steps=0)


def test_seeds_that_disagree_in_direction_are_named():
    a = _rows("a", 2.5, (0,)) + _rows("a", 0.2, (1, 2), offset=20)
    b = _rows("b", 0.2, (0,), offset=30) + _rows("b", 2.5, (1, 2), offset=40)
    out = matched.compare(a + b, "a", "b", Y)
    assert out["seeds_significant"] == 3
    assert "opposite directions (1 for a, 2 for b)" in out["conclusion"]


def test_groups_make_the_per_seed_test_a_cluster_bootstrap():
    rows = _rows("good", 2.5, (0, 1)) + _rows("poor", 0.3, (0, 1), offset=10)
    patients = np.repeat(np.arange(24), 5)  # 24 patients of 5 cases each
    out = matched.compare(rows, "good", "poor", Y, groups=patients)
    assert all(c["n_groups"] == 24 and "cluster" in c["method"] for c in out["per_seed"])
