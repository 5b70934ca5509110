"""Can colour alone tell the embedded classes apart? It should not (test AUC <= 0.75 required).

    python benchmarks/colour_baseline.py [--image-size 96] [--train 1600] [--test 400] [--difficulty 0.4]

Generates an embedded dataset into a temporary folder, describes each tile by the mean and the
standard deviation of each RGB channel (6 numbers), fits a logistic regression on the training
tiles and prints its ROC AUC on the test tiles, with the command and the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cancer_course.synth import DEFAULT_DIFFICULTY, GENERATOR_VERSION, generate_dataset  # noqa: E402


def colour_features(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of every PNG under folder/{benign,malignant}; labels 0/1."""
    features, labels = [], []
    for label, cls in enumerate(("benign", "malignant")):
        for path in sorted((folder / cls).glob("*.png")):
            pixels = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32).reshape(-1, 3) / 255
            features.append(np.concatenate([pixels.mean(axis=0), pixels.std(axis=0)]))
            labels.append(label)
    return np.array(features), np.array(labels)


def main() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--train", type=int, default=1600)
    parser.add_argument("--test", type=int, default=400)
    parser.add_argument("--difficulty", type=float, default=DEFAULT_DIFFICULTY)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = generate_dataset(tmp, args.image_size, args.train, 0, args.test, difficulty=args.difficulty,
                                seed=args.seed)  # fmt: skip
        x_train, y_train = colour_features(root / "train")
        x_test, y_test = colour_features(root / "test")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x_train, y_train)
    auc = roc_auc_score(y_test, model.predict_proba(x_test)[:, 1])
    print(f"colour baseline ({GENERATOR_VERSION}, difficulty {args.difficulty}): logistic regression on "
          f"per-channel mean+std, test AUC = {auc:.3f} (required: <= 0.75) "
          f"[{len(y_train)} train / {len(y_test)} test tiles at {args.image_size} px, seed {args.seed}, "
          f"{time.perf_counter() - start:.0f} s]")
    print(f"command: python benchmarks/colour_baseline.py --image-size {args.image_size} --train {args.train} "
          f"--test {args.test} --difficulty {args.difficulty} --seed {args.seed}")
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}")


if __name__ == "__main__":
    main()
