"""The real-data recipe scripts run end to end on small data the tests make (no real data needed)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

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
    assert "on 24 training patches" in save.with_suffix(".md").read_text()  # the run's own figures
