"""Quality per time: the `laptop` profile trained on the embedded dataset, then its test AUC.

    python benchmarks/laptop_quality.py                  # seed 0
    python benchmarks/laptop_quality.py --seeds 0 1 2 --json results/laptop_quality.json

Runs exactly what ``cancer-course train --profile laptop --seed S`` runs (same function), then
scores the best model on the embedded test split, which training never sees. Reports the
training wall-clock time, the process CPU time, and the test AUC. Target: at most 5 minutes of
training on a 2-core CPU and a test AUC of at least 0.95.
Research and education only: not for clinical use.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cancer_course._tf import quiet_import  # noqa: E402
from cancer_course.environment import machine_description  # noqa: E402


def train_args(seed: int, results: Path) -> SimpleNamespace:
    """The arguments ``cancer-course train --profile laptop --seed SEED`` parses to."""
    from cancer_course.cli import build_parser

    return build_parser().parse_args(["train", "--profile", "laptop", "--seed", str(seed),
                                      "--results-dir", str(results), "--save-path", str(results / "model.keras")])


def run(seed: int) -> dict:
    from sklearn.metrics import roc_auc_score

    from cancer_course import pipeline
    from cancer_course.commands.train import train_command
    from cancer_course.inference import load_course_model, probability_malignant
    from cancer_course.pipeline import load_splits
    from cancer_course.synth import ensure_dataset

    root = ensure_dataset("laptop")
    with tempfile.TemporaryDirectory() as tmp:
        args = train_args(seed, Path(tmp))
        cpu0, wall0 = time.process_time(), time.perf_counter()
        summary = train_command(args)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        model = load_course_model(summary["model"])
        size = model.input_shape[1]
        paths, labels = load_splits(root, image_size=size, verbose=False).files("test")
        p = probability_malignant(model, pipeline.from_files(paths, labels, size, 64))
    return {"seed": seed, "epochs_run": summary["epochs_run"], "train_wall_s": round(wall, 1),
            "train_cpu_s": round(cpu, 1), "test_auc": round(float(roc_auc_score(labels, p)), 4),
            "test_images": len(labels)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    quiet_import()
    rows = [run(s) for s in args.seeds]
    result = {"command": "python benchmarks/laptop_quality.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "machine": machine_description(), "runs": rows}
    m = result["machine"]
    print(f"command : {result['command'].strip()}\nmachine : {m['cpu']}, {m['cores']} cores, GPU: {m['gpu']}, "
          f"TensorFlow {m['tensorflow']}")
    print(f"{'seed':>4} {'epochs':>6} {'train wall s':>12} {'train CPU s':>11} {'test AUC':>8}")
    for r in rows:
        print(f"{r['seed']:>4} {r['epochs_run']:>6} {r['train_wall_s']:>12.1f} {r['train_cpu_s']:>11.1f} "
              f"{r['test_auc']:>8.4f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
