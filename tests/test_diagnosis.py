"""The measurements of lesson 07's "Is it overfitting?" and its two-modality dataset."""

import numpy as np
import pytest

from cancer_course import diagnosis, synth


# ---------------------------------------------------------------- prior shift
def test_prior_correction_on_known_numbers():
    # p = 0.5 at a 50/50 training balance -> odds 1; at 20% malignant the odds are 1/4: p = 0.2
    assert diagnosis.prior_corrected([0.5], 0.5, 0.2)[0] == pytest.approx(0.2)
    # p = 0.8 (odds 4), training 0.5 -> target 0.75 (odds 3): odds 12, p = 12/13
    assert diagnosis.prior_corrected([0.8], 0.5, 0.75)[0] == pytest.approx(12 / 13)
    # same balance: nothing changes; the ranking never changes
    p = np.array([0.1, 0.4, 0.7, 0.95])
    assert diagnosis.prior_corrected(p, 0.3, 0.3) == pytest.approx(p)
    assert np.all(np.diff(diagnosis.prior_corrected(p, 0.5, 0.1)) > 0)
    with pytest.raises(ValueError, match="target_prevalence"):
        diagnosis.prior_corrected(p, 0.5, 1.0)


def test_prevalence_matched_threshold_and_balanced_accuracy():
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.45, 0.46, 0.47, 0.48, 0.49, 0.6])
    t = diagnosis.prevalence_matched_threshold(p, 0.3)
    assert np.mean(p >= t) == pytest.approx(0.3)
    y = np.array([0, 0, 0, 0, 0, 0, 0, 1, 1, 1])
    assert diagnosis.accuracy(y, p, t) == 1.0
    assert diagnosis.accuracy(y, p) == pytest.approx(0.8)  # at 0.5 two malignant tiles are missed
    assert diagnosis.balanced_accuracy(y, p) == pytest.approx((1 / 3 + 1) / 2)
    assert diagnosis.majority_rate(y) == pytest.approx(0.7)


def test_modality_metrics():
    y = np.array([1, 1, 1, 0, 0, 0, 0, 1])
    g = np.array(["a", "a", "a", "a", "b", "b", "b", "b"])
    # the modality alone: "a" had 75% malignant in training, "b" 25%
    assert diagnosis.modality_only_auc(g, y, g, y) == pytest.approx(0.75)
    rows = {r["group"]: r for r in diagnosis.group_metrics(y, np.where(g == "a", 0.9, 0.1), g)}
    assert rows["a"]["called_malignant"] == 1.0 and rows["a"]["accuracy"] == 0.75
    assert rows["b"]["auc"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="one per image"):
        diagnosis.group_metrics(y, y, g[:3])


def test_paired_bootstrap_keeps_pairs():
    rng = np.random.default_rng(0)
    a = rng.uniform(size=200)
    same = diagnosis.paired_bootstrap(lambda x, z: float(np.mean(x - z)), [a, a + 0.1], n_boot=200)
    assert same["low"] == pytest.approx(-0.1) and same["high"] == pytest.approx(-0.1)  # paired: no spread
    alone = diagnosis.paired_bootstrap(np.mean, [a], n_boot=200)
    assert alone["low"] < alone["value"] < alone["high"]


# ---------------------------------------------------------------- BatchNorm
def _stale_bn_model():
    """x -> BN -> Dense(1): the Dense layer says 'malignant when the normalised x > 0'."""
    import keras

    inputs = keras.Input((1,))
    x = keras.layers.BatchNormalization(name="bn")(inputs)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="out")(x)
    model = keras.Model(inputs, outputs)
    model.get_layer("out").set_weights([np.array([[10.0]]), np.array([0.0])])
    return model  # moving mean 0, variance 1: the untrained starting values


def test_recalibrate_batchnorm_restores_statistics_and_accuracy():
    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 2.0, size=(512, 1)).astype("float32")
    y = (x[:, 0] > 5.0).astype(int)
    model = _stale_bn_model()
    before = model.predict(x, verbose=0)[:, 0]
    assert diagnosis.accuracy(y, before) < 0.6  # stale averages: almost everything called malignant
    fixed = diagnosis.recalibrate_batchnorm(model, x, batch_size=64)
    bn = fixed.get_layer("bn")
    assert bn.moving_mean.numpy()[0] == pytest.approx(x.mean(), abs=0.02)
    assert bn.moving_variance.numpy()[0] == pytest.approx(x.var(), rel=0.05)
    assert diagnosis.accuracy(y, fixed.predict(x, verbose=0)[:, 0]) > 0.97
    assert model.get_layer("bn").moving_mean.numpy()[0] == 0.0  # the original is left as it was
    assert bn.momentum == model.get_layer("bn").momentum
    with pytest.raises(ValueError, match="No images"):
        diagnosis.recalibrate_batchnorm(model, x[:0])


# ---------------------------------------------------------------- the two-modality dataset
def _write_source(root, n=40, size=16):
    from PIL import Image

    rng = np.random.default_rng(0)
    for split in synth.SPLITS:
        for cls in synth.CLASSES:
            folder = root / split / cls
            folder.mkdir(parents=True)
            for i in range(n):
                Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(folder / f"{cls}{i}.png")


def test_modality_counts_follow_the_mix():
    counts = synth.modality_counts(100, 100, {"tissue": (0.5, 0.8), "grey": (0.5, 0.4)})
    # 60% malignant overall: limited by the 100 malignant tiles -> 166 tiles
    assert counts == {"tissue": {"benign": 16, "malignant": 66}, "grey": {"benign": 50, "malignant": 33}}
    with pytest.raises(ValueError, match="add up to 1"):
        synth.modality_counts(10, 10, {"tissue": (0.5, 0.5)})


def test_two_modality_copy_sets_are_disjoint_with_their_mixes(tmp_path):
    from PIL import Image

    src = tmp_path / "src"
    _write_source(src)
    out = synth.two_modality_copy(src, 16, dest=tmp_path / "out")  # the lesson's SHIFT_EXPERIMENT
    sources = {}
    for name, (source, mix) in synth.SHIFT_EXPERIMENT.items():
        paths, labels, groups = synth.modality_set(out, name)
        labels = np.array(labels)
        assert all(p.parts[-3] == name for p in paths)
        for modality, (share, fraction) in mix.items():
            pick = groups == modality
            assert labels[pick].mean() == pytest.approx(fraction, abs=0.06)
            assert pick.mean() == pytest.approx(share, abs=0.06)
        sources[name] = {(source, p.stem.split("-", 1)[1]) for p in paths}
        assert len(sources[name]) == len(paths)  # no source tile used twice within a set
        for p, g in zip(paths, groups):
            image = np.asarray(Image.open(p).convert("RGB")).astype(int)
            grey = np.all(image[..., 0] == image[..., 1]) and np.all(image[..., 1] == image[..., 2])
            assert grey == (g == "grey")
    assert not sources["matched"] & sources["shifted"] and not sources["train"] & sources["matched"]
    matched, shifted = (np.mean(synth.modality_set(out, k)[1]) for k in ("matched", "shifted"))
    assert matched > 0.6 and shifted < 0.4  # opposite majorities, as the lesson needs
    for label in (0, 1):  # a pure prior shift: each class's modality mix as in training
        share = [np.mean(synth.modality_set(out, k)[2][np.array(synth.modality_set(out, k)[1]) == label] == "grey")
                 for k in ("train", "shifted")]
        assert share[0] == pytest.approx(share[1], abs=0.08)
    assert synth.two_modality_copy(src, 16, dest=tmp_path / "out") == out  # reused
    with pytest.raises(ValueError, match="own source split"):
        synth.two_modality_copy(src, 16, sets={"a": ("train", {"tissue": (1.0, 0.5)}),
                                               "b": ("train", {"grey": (1.0, 0.5)})}, dest=tmp_path / "other")
    with pytest.raises(ValueError, match="no set 'nope'"):
        synth.modality_set(out, "nope")


def test_second_modality_inverts_and_greys():
    tile = np.zeros((8, 8, 3), np.uint8)
    tile[..., 0] = 255  # pure red: grey level 1/3 -> inverted 2/3
    out = synth.second_modality(tile)
    assert out.shape == tile.shape and out.dtype == np.uint8
    assert np.all(out == out[..., :1]) and out[4, 4, 0] == round(255 * 2 / 3)


# ---------------------------------------------------------------- one set's scores and the verdict
def test_calling_everything_the_majority_class_is_not_a_fix():
    rng = np.random.default_rng(0)
    y = (rng.uniform(size=400) < 0.3).astype(int)
    groups = np.where(rng.uniform(size=400) < 0.5, "tissue", "grey")
    p = np.clip(0.55 + 0.05 * y + rng.normal(0, 0.02, 400), 0, 1)  # ranks well, but calls nearly all malignant
    s = diagnosis.score_set(y, p, np.zeros(400), groups, y, groups, n_boot=100)
    assert diagnosis.has_symptom(s) and diagnosis.collapsed(s["model"])
    # "BN" here calls every image benign: the majority rate exactly, balanced accuracy 0.5
    assert s["batchnorm"]["deficit"]["value"] == pytest.approx(0) and not diagnosis.is_fix(s["batchnorm"])
    assert diagnosis.collapsed(s["batchnorm"])
    # the threshold matched to the 30% balance keeps the ranking: a real fix
    assert diagnosis.is_fix(s["threshold"])
    assert s["modality_only_auc"] == pytest.approx(0.5, abs=0.1)  # groups drawn independently of y
    assert s["batchnorm"]["auc"]["value"] == pytest.approx(0.5)  # all zeros: no ranking
    within = {m["group"]: m for m in s["modalities"]}
    assert within["grey"]["benign"] + within["grey"]["malignant"] == np.sum(groups == "grey")
    assert within["grey"]["auc"]["low"] > 0.5 and diagnosis.within_modality(s["modalities"]) == "tissue too"


def _ci(value, half=0.03):
    return {"value": value, "low": value - half, "high": value + half}


def _point(called, deficit, balanced=0.5):
    return {"called_malignant": called, "deficit": _ci(deficit), "balanced_accuracy": _ci(balanced)}


def _set(prevalence, called, deficit, auc=0.7, bn_called=0.5, bn_deficit=0.0, bn_auc=0.72, within=(0.5, 0.5),
         n=300):
    batchnorm = {**_point(bn_called, bn_deficit, 0.7), "auc": _ci(bn_auc, 0.01)}
    return {"n": n, "prevalence": prevalence, "majority": max(prevalence, 1 - prevalence), "auc": _ci(auc, 0.05),
            "model": _point(called, deficit), "prior": _point(called, deficit),
            "threshold": _point(prevalence, 0.0, 0.7), "batchnorm": batchnorm, "groups": [],
            "modalities": [{"group": g, "benign": 40, "malignant": 60, "auc": _ci(a, 0.08)}
                           for g, a in zip(("grey", "tissue"), within)],
            "modality_only_auc": 0.74}


def _run(called=1.0, train_auc=0.74, **shifted):
    # a model that calls `called` of every image malignant: no deficit on the 70% malignant set
    # when it calls malignant, 40 points below on the 30% malignant one
    return {"train_auc": _ci(train_auc, 0.01), "train_auc_batchnorm": _ci(train_auc, 0.01),
            "sets": {"matched": _set(0.7, called, 0.0 if called > 0.5 else -0.4),
                     "shifted": _set(0.3, called, -0.4 if called > 0.5 else 0.0, **shifted)}}


def test_memorisation_is_three_way():
    assert diagnosis.memorisation(_ci(0.95), _ci(0.72)) == "memorised"  # 0.92 - 0.75 > 0.05
    assert diagnosis.memorisation(_ci(0.73, 0.01), _ci(0.72, 0.01)) == "ruled out"  # 0.74 - 0.71 < 0.05
    assert diagnosis.memorisation(_ci(0.73), _ci(0.72)) == "undecided"  # 0.76 - 0.69 = 0.07: can't tell


def test_within_modality_rule():
    rows = lambda *aucs: [{"group": str(i), "auc": a} for i, a in enumerate(aucs)]  # noqa: E731
    assert diagnosis.within_modality(rows(_ci(0.52, 0.08), _ci(0.48, 0.08))) == "modality only"
    assert diagnosis.within_modality(rows(_ci(0.52, 0.08), _ci(0.70, 0.08))) == "tissue too"
    assert diagnosis.within_modality(rows(_ci(0.52, 0.08), None)) == "unclear"  # one class only: can't tell


def test_verdict_when_a_collapse_meets_the_shift():
    text = "\n".join(diagnosis.verdict([_run(), _run(), _run(called=0.0)]))
    assert "on 'matched' in 1 of 3, on 'shifted' in 2 of 3" in text
    assert "(ruled out) in 3, undecided in 0 of 3 runs" in text
    assert "equal within their intervals in 3 of 3 runs as trained" in text
    assert "one class in 3 of 3 runs; re-estimating the moving averages ended that in 3 of those 3" in text
    assert "minority class in 3 (for a model that calls one class this follows" in text
    assert "it showed only on sets whose majority is the other class" in text
    assert "BatchNorm re-estimated: 3 of 3" in text and "Ranked backwards" in text and "in 0 of 3 runs." in text
    assert "(the ranking comes from the modality only) in 3 of 3" in text
    assert "In most cases here the symptom is a collapse" in text and "It is not memorisation" in text
    assert "the ranking came from the modality only in most cases" in text
    assert "not what caused the original system's curves" in text


def test_verdict_final_sentence_needs_its_conditions():
    # (a) undecided in most runs: the collapse may be named, "not memorisation" may not
    undecided = "\n".join(diagnosis.verdict([_run(train_auc=0.77), _run(train_auc=0.77), _run()]))
    assert "In most cases here the symptom is a collapse" in undecided
    assert "It is not memorisation" not in undecided and "Memorisation is not ruled out" in undecided
    # the tissue ranked within a modality (d)
    tissue = "\n".join(diagnosis.verdict([_run(within=(0.7, 0.75))]))
    assert "(the tissue counts too) in 1 of 1" in tissue and "ranked the tissue in most cases" in tissue
    # below the majority rate while calling mostly the majority class: no "only on the other class" clause
    majority = _run()
    majority["sets"]["shifted"] = _set(0.3, 0.2, -0.1)
    text = "\n".join(diagnosis.verdict([majority]))
    assert "minority class in 0 (" in text and "is a collapse" in text and "showed only on sets" not in text
    # BatchNorm does not remove the deficit in most cases: no collapse story
    stuck = "\n".join(diagnosis.verdict([_run(bn_called=0.0, bn_deficit=-0.4)] * 2 + [_run()]))
    assert "BatchNorm re-estimated: 1 of 3 (weak evidence)" in stuck
    assert "did not remove the symptom in most cases" in stuck and "collapse to one class that" not in stuck


def test_verdict_on_backwards_runs_and_shifted_auc():
    backwards = _run()
    backwards["sets"]["matched"]["auc"] = _ci(0.3, 0.05)
    text = "\n".join(diagnosis.verdict([backwards, _run()]))
    assert "on some set in 1 of 2 runs; after re-estimation those AUCs are 0.72." in text
    assert "equal within their intervals in 1 of 2 runs as trained, 2 of 2 after" in text


def test_verdict_when_the_runs_disagree_or_memorise():
    memorised = "\n".join(diagnosis.verdict([_run(train_auc=0.95), _run(called=0.6)]))
    assert "by both intervals in 1, " in memorised and "undecided in 0 of 2 runs" in memorised
    assert "It is not memorisation" not in memorised
    none = "\n".join(diagnosis.verdict([{"train_auc": _ci(0.7), "train_auc_batchnorm": _ci(0.7),
                                          "sets": {"matched": _set(0.7, 0.7, 0.05)}}]))
    assert "in 0 of 1" in none and "no explanation is tested" in none
    small = "\n".join(diagnosis.verdict([{"train_auc": _ci(0.7), "sets": {"matched": _set(0.7, 1.0, 0.0, n=40)}}]))
    assert "Too few tiles" in small and "too few seeds" in small
    with pytest.raises(ValueError, match="name the one"):
        diagnosis.verdict([_run()], matched="validation")
