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
    for split in ("train", "validation"):
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


def test_two_modality_copy_balances_and_appearance(tmp_path):
    from PIL import Image

    src = tmp_path / "src"
    _write_source(src)
    mix = {"train": {"tissue": (0.5, 0.8), "grey": (0.5, 0.4)}, "validation": {"tissue": (0.2, 0.9), "grey": (0.8, 0.5)}}
    out = synth.two_modality_copy(src, 16, mix=mix, dest=tmp_path / "out")
    files = sorted(p for p in out.rglob("*.png"))
    groups = synth.read_modalities(out, files)
    manifest = synth.read_manifest(out)
    for split, per in mix.items():
        for modality, (share, fraction) in per.items():
            picked = [f for f, g in zip(files, groups) if g == modality and f.parts[-3] == split]
            malignant = sum(f.parts[-2] == "malignant" for f in picked)
            assert malignant == manifest["counts"][split][modality]["malignant"]
            assert malignant / len(picked) == pytest.approx(fraction, abs=0.05)
            total = sum(1 for f in files if f.parts[-3] == split)
            assert len(picked) / total == pytest.approx(share, abs=0.05)
    for f, g in zip(files, groups):
        image = np.asarray(Image.open(f).convert("RGB")).astype(int)
        grey = np.all(image[..., 0] == image[..., 1]) and np.all(image[..., 1] == image[..., 2])
        assert grey == (g == "grey")
    sources = {(f.parts[-3], f.stem.split("-", 1)[1]) for f in files}
    assert len(sources) == len(files)  # no source tile used twice
    assert synth.two_modality_copy(src, 16, mix=mix, dest=tmp_path / "out") == out  # reused
    with pytest.raises(ValueError, match="every split"):
        synth.two_modality_copy(src, 16, mix={"train": mix["train"]}, dest=tmp_path / "other")


def test_second_modality_inverts_and_greys():
    tile = np.zeros((8, 8, 3), np.uint8)
    tile[..., 0] = 255  # pure red: grey level 1/3 -> inverted 2/3
    out = synth.second_modality(tile)
    assert out.shape == tile.shape and out.dtype == np.uint8
    assert np.all(out == out[..., :1]) and out[4, 4, 0] == round(255 * 2 / 3)


# ---------------------------------------------------------------- the verdict
def _result(acc, majority=0.7, gain=0.4, auc_low=0.6, train_auc=0.7, val_auc_high=0.75, n_val=300):
    ci = lambda v, lo, hi: {"value": v, "low": lo, "high": hi}  # noqa: E731
    return {"n_val": n_val, "majority": majority, "accuracy": ci(acc, acc, acc),
            "below_majority": ci(acc - majority, acc - majority - 0.03, acc - majority + 0.03),
            "val_auc": ci(0.65, auc_low, val_auc_high), "train_auc": train_auc,
            "prior_gain": ci(gain, gain - 0.05, gain + 0.05), "threshold_gain": ci(0.0, -0.05, 0.05),
            "batchnorm_gain": ci(gain, gain - 0.05, gain + 0.05),
            "called_malignant_after_prior": 1.0, "called_malignant_after_batchnorm": 0.7,
            "modality_only_auc": ci(0.65, 0.6, 0.7), "auc_over_modality": ci(0.0, -0.04, 0.03)}


def test_verdict_is_computed_from_the_numbers():
    lines = diagnosis.verdict([_result(0.3), _result(0.35)])
    text = "\n".join(lines)
    assert "reproduced in 2 of 2 runs" in text
    assert "(a) memorisation" in text and "in 0 of the 2 run(s)" in text
    assert "(c) BatchNorm" in text and "up to the majority rate or above in all 2" in text
    assert "cannot tell the" in text
    memorised = "\n".join(diagnosis.verdict([_result(0.3, train_auc=0.95), _result(0.3)]))
    assert "in 1 of the 2 run(s) with the symptom (weak evidence)" in memorised
    none = "\n".join(diagnosis.verdict([_result(0.75)]))
    assert "reproduced in 0 of 1" in none and "no explanation is tested" in none
    assert "Too few" in "\n".join(diagnosis.verdict([_result(0.3, n_val=40)]))
