"""compare_aucs: two models on the same cases - DeLong's test against a direct computation, the
paired bootstrap, and the cluster bootstrap when cases come in patients."""

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

from cancer_course.evaluation import compare_aucs


def delong_by_definition(y, pa, pb):
    """DeLong et al. (1988) written out from the kernel psi over every (malignant, benign) pair."""
    out = []
    for p in (pa, pb):
        pos, neg = p[y == 1][:, None], p[y == 0][None, :]
        psi = (pos > neg) + 0.5 * (pos == neg)
        out.append((psi.mean(), psi.mean(axis=1), psi.mean(axis=0)))
    (auc_a, v10_a, v01_a), (auc_b, v10_b, v01_b) = out
    s10, s01 = np.cov(np.vstack([v10_a, v10_b])), np.cov(np.vstack([v01_a, v01_b]))
    var = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / v10_a.size + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / v01_a.size
    z = (auc_a - auc_b) / np.sqrt(var)
    return auc_a, auc_b, 2 * norm.sf(abs(z))


def two_models(n=300, seed=0, gap=0.6):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(int)
    shared = rng.normal(size=n)  # what both models see: their errors are correlated
    a = 1 / (1 + np.exp(-(1.6 * y + shared + 0.5 * rng.normal(size=n))))
    b = 1 / (1 + np.exp(-((1.6 - gap) * y + shared + 0.5 * rng.normal(size=n))))
    return y, np.round(a, 2), np.round(b, 2)  # rounding makes ties, which DeLong must count as 1/2


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_delong_matches_the_definition(seed):
    y, a, b = two_models(seed=seed)
    result = compare_aucs(y, a, b, n_boot=200)
    auc_a, auc_b, p = delong_by_definition(y, a, b)
    assert result["auc_a"] == pytest.approx(roc_auc_score(y, a)) == pytest.approx(auc_a)
    assert result["auc_b"] == pytest.approx(auc_b)
    assert result["difference"] == pytest.approx(auc_a - auc_b)
    assert result["p_value"] == pytest.approx(p, rel=1e-9)


def test_a_clearly_better_model_and_its_paired_interval():
    y, a, b = two_models(n=400, gap=0.9)
    result = compare_aucs(y, a, b, n_boot=1000)
    assert result["difference"] > 0 and result["p_value"] < 0.01
    assert 0 < result["ci_low"] < result["difference"] < result["ci_high"]
    assert result["method"].startswith("paired") and result["n_groups"] is None
    # The same comparison the other way round mirrors it.
    swapped = compare_aucs(y, b, a, n_boot=1000)
    assert swapped["difference"] == pytest.approx(-result["difference"])
    assert swapped["p_value"] == pytest.approx(result["p_value"])


def test_pairing_gives_a_narrower_interval_than_two_separate_ones():
    """The point of pairing: correlated errors cancel in the difference."""
    y, a, b = two_models(n=300, gap=0.3)
    paired = compare_aucs(y, a, b, n_boot=1000)
    rng = np.random.default_rng(1)
    unpaired = []
    for _ in range(1000):  # A and B resampled independently: what overlapping intervals assume
        i, j = rng.integers(0, y.size, y.size), rng.integers(0, y.size, y.size)
        if y[i].min() != y[i].max() and y[j].min() != y[j].max():
            unpaired.append(roc_auc_score(y[i], a[i]) - roc_auc_score(y[j], b[j]))
    width = paired["ci_high"] - paired["ci_low"]
    assert width < 0.8 * (np.percentile(unpaired, 97.5) - np.percentile(unpaired, 2.5))


def test_identical_models_do_not_differ():
    y, a, _ = two_models()
    result = compare_aucs(y, a, a, n_boot=200)
    assert result["difference"] == 0 and result["p_value"] == 1.0
    assert result["ci_low"] == result["ci_high"] == 0
    grouped = compare_aucs(y, a, a, groups=np.arange(y.size) // 5, n_boot=200)
    assert grouped["p_value"] == 1.0 and grouped["ci_low"] == grouped["ci_high"] == 0


def test_cluster_bootstrap_is_wider_when_tiles_cluster_by_patient():
    """40 patients of 15 tiles each; each patient's tiles share one label and one offset that both
    models see differently: tiles of one patient are not independent cases."""
    rng = np.random.default_rng(3)
    patients = np.repeat(np.arange(40), 15)
    label = (rng.random(40) < 0.5).astype(int)[patients]
    offset_a, offset_b = rng.normal(size=40)[patients], rng.normal(size=40)[patients]
    a = 1 / (1 + np.exp(-(1.5 * label + 1.2 * offset_a + 0.3 * rng.normal(size=600))))
    b = 1 / (1 + np.exp(-(1.5 * label + 1.2 * offset_b + 0.3 * rng.normal(size=600))))
    tiles = compare_aucs(label, a, b, n_boot=1000)
    clustered = compare_aucs(label, a, b, groups=patients, n_boot=1000)
    assert clustered["n_groups"] == 40 and clustered["method"] == "paired cluster bootstrap over groups"
    assert clustered["difference"] == pytest.approx(tiles["difference"])
    assert (clustered["ci_high"] - clustered["ci_low"]) > 1.5 * (tiles["ci_high"] - tiles["ci_low"])
    assert clustered["p_value"] > tiles["p_value"]
    again = compare_aucs(label, a, b, groups=patients, n_boot=1000)
    assert again == clustered  # same seed, same answer


def test_bad_input_is_named():
    y, a, b = two_models(n=50)
    with pytest.raises(ValueError, match="Found 50 labels but 49 probabilities"):
        compare_aucs(y, a, b[:49])
    with pytest.raises(ValueError, match="one group id per case"):
        compare_aucs(y, a, b, groups=np.zeros(10))
    with pytest.raises(ValueError, match="single group"):
        compare_aucs(y, a, b, groups=np.zeros(50))
    with pytest.raises(ValueError, match="undefined"):
        compare_aucs(np.zeros(50), a, b)
