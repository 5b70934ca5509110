"""The real-data recipe scripts run end to end on small data the tests make (no real data needed)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cancer_course import synth

ROOT = Path(__file__).resolve().parents[1]


def test_pcam_recipe_saves_a_model_that_evaluate_reads_and_writes_its_card(tmp_path):
    data = synth.generate_dataset(tmp_path / "patches", image_size=48, n_train=24, n_validation=16, n_test=0)
    shutil.rmtree(data / "test")  # PCam's subset has train and validation only
    save = tmp_path / "out" / "pcam.keras"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "pcam.py"), "--dataset-path", str(data), "--save-path", str(save),
           "--minutes", "0.05", "--max-epochs", "1", "--json", str(tmp_path / "pcam.json")]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    result = json.loads((tmp_path / "pcam.json").read_text())
    assert save.is_file() and result["epochs_run"] == 1 and result["n_validation"] == 16
    assert result["n_held_out"] >= 2 and result["n_train"] + result["n_held_out"] == 24  # epoch chosen on train/'s
    assert {"auc", "auc_ci95"} <= set(result["held_out"]) and "dihedral" in result["recipe"]["tta"]
    assert result["chosen"].startswith(("best epoch", "mean weights"))  # chosen on the held-out patches
    files = result["validation_from_files"]
    assert 0.0 <= files["auc"] <= 1.0 and files["auc_ci95"][0] <= files["auc"] <= files["auc_ci95"][1]
    card = Path(files["model_card"]).read_text()
    assert Path(files["model_card"]) == save.with_suffix(".md")
    assert "not for clinical use" in card.lower() and "PatchCamelyon" in card
    assert "pixel / 255" in card and "Synthetic data" not in card  # its own preprocessing and limits
    assert json.loads(Path(files["evaluation"]).read_text())["dataset"]["n"] == 16
    save.with_suffix(".md").unlink()
    again = subprocess.run(cmd[:6] + ["--card-only"], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "model card" in again.stdout and "on the training patches" in save.with_suffix(".md").read_text()
    with_run = subprocess.run(cmd[:6] + ["--card-only", "--json", cmd[-1]], capture_output=True, text=True,
                              timeout=600, cwd=ROOT)
    assert with_run.returncode == 0, with_run.stderr[-2000:]
    assert f"on {result['n_train']} training patches" in save.with_suffix(".md").read_text()  # the run's own


def _tiny_model(seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4, 4, 3))
    x = keras.layers.Conv2D(2, 3, padding="same")(inputs)
    x = keras.layers.BatchNormalization()(x)
    outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="categorical_crossentropy",
                  metrics=[keras.metrics.AUC(name="auc")])
    return model


def _fit_with_snapshots(budget_kwargs: dict, epochs: int):
    """A tiny model fitted with ``TimeBudget(**budget_kwargs)``: (model, budget, weights after each epoch)."""
    import keras
    import numpy as np

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import _recipes

    rng = np.random.default_rng(0)
    x, y = rng.uniform(size=(16, 4, 4, 3)).astype("float32"), keras.utils.to_categorical(np.arange(16) % 2, 2)
    snapshots = []

    class Snapshot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(self.model.get_weights())

    model = _tiny_model()
    budget = _recipes.TimeBudget(**budget_kwargs)
    model.fit(x, y, validation_data=(x, y), epochs=epochs, batch_size=4, callbacks=[Snapshot(), budget], verbose=0)
    return model, budget, snapshots


def test_time_budget_ends_with_the_mean_of_the_last_epochs_weights():
    import numpy as np

    model, budget, snapshots = _fit_with_snapshots(
        {"minutes": None, "learning_rate": 1e-2, "epochs": 4, "schedule": "epoch", "verbose": False,
         "average_last": 2}, epochs=4)
    assert budget.averaged_epochs == 2
    for final, a, b in zip(model.get_weights(), snapshots[2], snapshots[3]):
        np.testing.assert_allclose(final, (a + b) / 2, rtol=1e-5, atol=1e-6)  # moving statistics too
    assert not np.allclose(snapshots[2][0], snapshots[3][0])  # the two epochs differ: the mean is a new point


def test_time_budget_keeps_the_mean_of_the_budgets_tail_beside_the_best_weights():
    import numpy as np

    model, budget, snapshots = _fit_with_snapshots(  # every epoch ends in the tail of a 10-minute budget
        {"minutes": 10.0, "learning_rate": 1e-2, "verbose": False, "average_fraction": 1.0}, epochs=3)
    assert budget.averaged_epochs == 3
    for mean, *epochs in zip(budget.averaged_weights, *snapshots):
        np.testing.assert_allclose(mean, np.mean(epochs, axis=0), rtol=1e-5, atol=1e-6)
    best = snapshots[budget.best_epoch - 1]
    for final, kept in zip(model.get_weights(), best):  # the model ends with the best epoch: the caller chooses
        np.testing.assert_allclose(final, kept)


def test_predict_arrays_averages_each_image_with_its_mirror():
    import numpy as np

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import _recipes

    model = _tiny_model(1)
    x = np.random.default_rng(1).integers(0, 256, (5, 4, 4, 3)).astype(np.uint8)
    plain, mirrored = _recipes.predict_arrays(model, x), _recipes.predict_arrays(model, x[:, :, ::-1])
    np.testing.assert_allclose(_recipes.predict_arrays(model, x, tta="hflip"), (plain + mirrored) / 2, rtol=1e-5)
    eight = _recipes.predict_arrays(model, x, tta="dihedral")
    turned = _recipes.predict_arrays(model, np.rot90(x, 1, axes=(1, 2)), tta="dihedral")
    np.testing.assert_allclose(eight, turned, rtol=1e-5)  # the mean over the 8 views ignores a quarter turn
    with pytest.raises(ValueError, match="tta must be one of"):
        _recipes.predict_arrays(model, x, tta="vflip")


def test_pcam_hold_out_keeps_identical_patches_on_one_side(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import pcam

    files = []
    for i in range(40):
        path = tmp_path / f"{i}.png"
        path.write_bytes(b"same" if i < 6 else f"patch {i}".encode())  # six byte-identical patches
        files.append((path, i % 2))
    kept, held = pcam.hold_out(files, 0.25, seed=3)
    assert sorted(kept + held) == sorted(files) and not set(kept) & set(held)
    same = {f for f in files if f[0].read_bytes() == b"same"}
    assert same <= set(kept) or same <= set(held)
    assert 6 <= len(held) <= 16 and {label for _, label in held} == {0, 1}


def test_pcam_recipe_starts_from_another_model_with_init_and_refuses_a_bad_one(tmp_path):
    data = synth.generate_dataset(tmp_path / "patches", image_size=48, n_train=24, n_validation=16, n_test=0)
    shutil.rmtree(data / "test")
    script = [sys.executable, str(ROOT / "benchmarks" / "pcam.py"), "--dataset-path", str(data),
              "--minutes", "0.05", "--max-epochs", "1", "--skip-file-check"]
    first = tmp_path / "pretrained.keras"
    run = subprocess.run(script + ["--save-path", str(first)], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    second = tmp_path / "fine-tuned" / "model.keras"
    run = subprocess.run(script + ["--save-path", str(second), "--init", str(first), "--json", str(tmp_path / "r.json")],
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    init = json.loads((tmp_path / "r.json").read_text())["init"]
    assert init["from"] == str(first) and init["loaded"] > 20 and init["new"] == [] == init["mismatched"]
    assert f"loaded {init['loaded']} of {init['loaded']} layers with weights from {first}" in run.stdout
    assert second.is_file()

    not_a_model = tmp_path / "notes.keras"
    not_a_model.write_text("my notes")
    for bad, words in ((not_a_model, "could not be read as a Keras model"), (tmp_path / "missing.keras", "no such file"),
                       (second, "the same file")):
        before = second.read_bytes()
        run = subprocess.run(script + ["--save-path", str(second), "--init", str(bad)], capture_output=True, text=True,
                             timeout=600, cwd=ROOT)
        assert run.returncode != 0 and words in run.stderr and str(bad.name) in run.stderr, run.stderr[-2000:]
        assert second.read_bytes() == before and not_a_model.read_text() == "my notes"  # nothing lost


def test_breastmnist_recipe_writes_every_seed_its_members_and_the_mean(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    arrays = {}
    for key, n in (("train", 16), ("val", 8), ("test", 8)):
        arrays[f"{key}_images"] = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        arrays[f"{key}_labels"] = (np.arange(n) % 2).astype(np.uint8).reshape(-1, 1)  # MedMNIST: (N, 1)
    arrays["test_images"][0] = arrays["train_images"][3]  # a test image copied from train
    arrays["test_labels"][0] = arrays["train_labels"][3]
    npz = tmp_path / "BreastMNIST.npz"
    np.savez_compressed(npz, **arrays)
    out = tmp_path / "result.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "breastmnist.py"), "--dataset-path", str(tmp_path),
           "--seeds", "0", "1", "--epochs", "2", "--average-last", "1", "--members", "2", "--image-size", "32",
           "--batch-size", "8", "--quiet", "--json", str(out)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    result = json.loads(out.read_text())
    assert [r["seed"] for r in result["runs"]] == [0, 1] and result["recipe"]["members"] == 2
    assert [[m["seed"] for m in r["members"]] for r in result["runs"]] == [[0, 1000], [1, 1001]]
    for r in result["runs"]:
        low, high = r["test"]["auc_ci95"]
        assert low <= r["test"]["auc"] <= high and r["test"]["n"] == 8
        assert r["test_without_copies_of_train"]["removed"] >= 1 and r["test_without_copies_of_train"]["n"] <= 7
        assert {"member 1 alone", "member 2 alone", "no test-time flip"} <= set(r["variants_test_auc"])
        assert all(m["epochs_run"] == 2 and m["averaged_epochs"] == 1 for m in r["members"])
    assert result["mean_test_auc"] == round(np.mean([r["test"]["auc"] for r in result["runs"]]), 4)
    assert "mean test AUC over 2 seed(s)" in run.stdout
