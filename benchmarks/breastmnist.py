"""BreastMNIST (MedMNIST v2, breast ultrasound): the course's model, trained and scored on the test split.

    python benchmarks/breastmnist.py --dataset-path ../shared/data/breastmnist
    python benchmarks/breastmnist.py --dataset-path data/breastmnist.npz --seeds 0 1 2 --json results/breastmnist.json

``--dataset-path`` is the ``.npz`` file or the folder that holds it (``BreastMNIST.npz`` or
``breastmnist.npz``; a learner gets it with ``cancer_course.datasets.fetch_breastmnist``).

Recipe (one place: ``RECIPE`` below):

- data: :func:`cancer_course.adapters.from_medmnist_npz` writes the ``.npz`` into the course layout in a
  temporary folder (label 0 = malignant); :func:`cancer_course.pipeline.load_splits` reads it; every
  28x28 greyscale image is copied to R, G and B, **upsampled to 64x64** (bilinear, the course's
  decoder) and scaled to [0, 1]. Train 546, validation 78, test 156 images;
- model: :func:`cancer_course.model.build_model` at 64x64x3, width 0.5, blocks (1, 1, 1), head
  256/128/64 with light dropout 0.2/0.1/0.1, no L2, 2-way softmax (282,091 parameters);
- training: Adam 1e-3 with a linear warm-up and a cosine decay over 160 epochs, batch 16 (35 steps
  an epoch: BatchNormalization's moving averages need the steps), balanced class weights, the
  course's reference augmentation at half strength (flip, rotation +-10 degrees, shift/zoom/shear
  +-10%) as the five layers of ``pipeline.augmentation_layers``; the model ends with the **mean of its
  weights over the last 40 epochs** (a rule fixed before training: no selection on the 78 validation
  images);
- ensemble: **3 models per seed** (seeds ``seed``, ``seed + 1000``, ``seed + 2000``; ``--members``), each
  trained as above; p(malignant) is the mean of their p (fixed before training, like the averaging);
- score: p(malignant) is the mean over each image and its left-right mirror; test AUC with a
  stratified bootstrap 95% interval (2,000 resamples), and again without the test images that have an
  exact or near copy in the training split (``AuditReport.seen_in``: 58 of 156). Reference (test
  set): MedMNIST v2 ResNet-18 (28) AUC 0.901, Google AutoML Vision 0.919.

Recipes tried (3 seeds each unless said; the 2-core CPU shared with other jobs). The recipe is the one
with the best mean *validation* AUC; the test figures of the others are reported, not used to choose:
(a) 64 px, dropout 0.5/0.4/0.3, L2 1e-4, batch 32, 60 epochs, seed 0: learned too slowly (validation AUC
about 0.75 after 35 epochs; stopped); (b) 96 px, stopped after 2 epochs (15 s an epoch); (c) 80 epochs,
best validation epoch kept: test 0.910, 0.910, 0.865 (mean 0.895); (d) (c) with the last 20 epochs
averaged and the mirror: validation 0.880, 0.890, 0.909 (mean 0.893), test 0.898, 0.907, 0.868 (mean
0.891); (e) **the recipe**: 160 epochs, last 40 averaged, mirror: validation 0.910, 0.956, 0.906 (mean
0.924), test 0.896, 0.911, 0.907 (mean **0.905**), without copies 0.914, 0.916, 0.918 (2026-12-03);
(f) 240 epochs, last 60 averaged, mirror: validation 0.905, 0.919, 0.922 (mean 0.915), test 0.901,
0.915, 0.928 (mean 0.915), without copies 0.897, 0.917, 0.930; (g) **the recipe since 2026-12-04**: (e)
three times per seed, p averaged (chosen before training as the change most likely to help when the 78
validation images cannot tell variants of one run apart): validation 0.932, 0.946, 0.929, test
**0.915** (0.857-0.962), **0.935** (0.885-0.973), **0.911** (0.858-0.958), mean **0.921**; without the 58
copied test images 0.931, 0.951, 0.926 (mean 0.936); 13 min of training per seed (Intel Xeon, 2 cores,
quiet). Its members alone scored 0.876-0.926 (mean 0.902); member 1 of each seed is recipe (e) with the
same seed, yet scored 0.876, 0.913, 0.887 against (e)'s 0.896, 0.911, 0.907 the day before on another
machine: a rerun moves a single model's test AUC by up to 0.02, so the mean's margin over 0.92 is
within that noise. Training AUC (augmented) still rose to
0.95-0.96 at 160 epochs: the model was underfitting at 80. 156 test images give intervals about 0.1
wide: report the seeds, not the best one.

Research and education only: not for clinical use.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _recipes  # noqa: E402

RECIPE = {
    "image_size": 64,
    "width": 0.5,
    "blocks_per_stage": (1, 1, 1),
    "head_units": (256, 128, 64),
    "dropout_rates": (0.2, 0.1, 0.1),
    "l2": 0.0,
    "output": "softmax",
    "epochs": 160,
    "batch_size": 16,
    "learning_rate": 1e-3,
    "augmentation_strength": 0.5,
    "class_weights": "balanced",
    "average_last": 40,  # the model ends with the mean weights of the last 40 epochs (0: best validation AUC)
    "tta": "hflip",  # p(malignant) is the mean over each image and its left-right mirror ("none": off)
    "members": 3,  # p(malignant) is the mean over 3 models trained with seeds seed, seed+1000, seed+2000
}
PREPROCESSING = ("28x28 greyscale PNG -> RGB (grey copied to 3 channels) -> resized to {size}x{size} (bilinear, "
                 "antialiased; cancer_course.data.decode_image) -> scaled to [0, 1]")


def find_npz(path: Path) -> Path:
    if path.is_file():
        return path
    for name in ("BreastMNIST.npz", "breastmnist.npz"):
        if (path / name).is_file():
            return path / name
    raise SystemExit(f"No BreastMNIST.npz in {path}: give the .npz file or its folder "
                     "(fetch it with cancer_course.datasets.fetch_breastmnist).")


def member_seeds(seed: int, members: int) -> list[int]:
    """The seeds of one seed's ensemble members: ``seed`` itself, then ``seed + 1000``, ``seed + 2000``, ...

    Member 0 is the single model a one-member recipe trains; no two seeds of a run share a member.
    """
    return [seed + 1000 * m for m in range(members)]


def train_member(arrays: dict, seed: int, recipe: dict, verbose: bool = True) -> dict:
    """One model of the recipe trained with ``seed``: its p(malignant) on validation and test, and its log."""
    import keras

    from cancer_course import pipeline
    from cancer_course.model import build_model, count_parameters
    from cancer_course.training import balanced_class_weights, compile_model, set_seed

    size = recipe["image_size"]
    keras.backend.clear_session()
    set_seed(seed)
    model = build_model((size, size, 3), width=recipe["width"], blocks_per_stage=recipe["blocks_per_stage"],
                        head_units=recipe["head_units"], dropout_rates=recipe["dropout_rates"], l2=recipe["l2"],
                        output=recipe["output"], seed=seed, name="cancer_cnn_breastmnist")
    compile_model(model, learning_rate=recipe["learning_rate"])
    augment = pipeline.augmentation_layers(recipe["augmentation_strength"], seed=seed)
    (xtr, ytr), (xva, yva), (xte, _) = arrays["train"], arrays["validation"], arrays["test"]
    train_ds = _recipes.array_dataset(xtr, ytr, recipe["batch_size"], batch_augment=augment, shuffle=True,
                                      seed=seed, output=recipe["output"])
    val_ds = _recipes.array_dataset(xva, yva, 256, output=recipe["output"])
    budget = _recipes.TimeBudget(None, recipe["learning_rate"], epochs=recipe["epochs"], schedule="epoch",
                                 verbose=verbose, average_last=recipe["average_last"])
    weights = balanced_class_weights(ytr.tolist()) if recipe["class_weights"] == "balanced" else None
    t0 = time.perf_counter()
    model.fit(train_ds, validation_data=val_ds, epochs=recipe["epochs"], class_weight=weights,
              callbacks=[budget], verbose=0, shuffle=False)
    train_s = time.perf_counter() - t0
    tta = recipe["tta"]
    member = {"seed": seed, "best_epoch": budget.best_epoch, "epochs_run": len(budget.history),
              "averaged_epochs": budget.averaged_epochs, "train_s": round(train_s, 1),
              "p_validation": _recipes.predict_arrays(model, xva, tta=tta),
              "p_test": _recipes.predict_arrays(model, xte, tta=tta),
              "parameters": count_parameters(model)["total"], "history": budget.history}
    if tta != "none":  # for comparison only
        member["p_test_no_tta"] = _recipes.predict_arrays(model, xte)
    if recipe["average_last"] and budget.best_weights is not None:  # for comparison only
        model.set_weights(budget.best_weights)
        member["p_test_best_epoch"] = _recipes.predict_arrays(model, xte, tta=tta)
    return member


def run(npz: Path, seed: int, recipe: dict, verbose: bool = True) -> dict:
    """Train the recipe's ensemble for ``seed`` and score it: p(malignant) is the mean over its members."""
    import numpy as np

    from cancer_course.adapters import from_medmnist_npz
    from cancer_course.audit import audit
    from cancer_course.pipeline import load_splits

    size = recipe["image_size"]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        root = from_medmnist_npz(npz, Path(tmp) / "breastmnist", malignant_label=0)
        splits = load_splits(root, image_size=size, verbose=False)
        arrays = {s: _recipes.load_arrays(splits.file_lists[s], size, dtype="float32")
                  for s in ("train", "validation", "test")}
        report = audit(root, workers=2)  # exact and near copies of training images in the test split
        copied = {str(root / rel) for rel in report.seen_in("test", "train")}
        test_copied = np.array([str(p) in copied for p, _ in splits.file_lists["test"]])
        prep_s = time.perf_counter() - t0
    counts = {s: {"benign": int((y == 0).sum()), "malignant": int((y == 1).sum())} for s, (_, y) in arrays.items()}
    members = []
    for k, member_seed in enumerate(member_seeds(seed, recipe["members"])):
        if verbose and recipe["members"] > 1:
            print(f"-- seed {seed}, member {k + 1} of {recipe['members']} (seed {member_seed})", flush=True)
        members.append(train_member(arrays, member_seed, recipe, verbose=verbose))
    yva, yte = arrays["validation"][1], arrays["test"][1]

    def mean_of(key):
        return np.mean([m[key] for m in members], axis=0)

    p_test = mean_of("p_test")
    val = _recipes.auc_report(yva, mean_of("p_validation"), seed=seed)
    test = _recipes.auc_report(yte, p_test, seed=seed)
    keep = ~test_copied
    without_copies = _recipes.auc_report(yte[keep], p_test[keep], seed=seed)
    variants = {}  # for comparison only: the recipe above was fixed before these were looked at
    if "p_test_best_epoch" in members[0]:
        variants["best validation epoch"] = _recipes.auc_report(yte, mean_of("p_test_best_epoch"), seed=seed)["auc"]
    if "p_test_no_tta" in members[0]:
        variants["no test-time flip"] = _recipes.auc_report(yte, mean_of("p_test_no_tta"), seed=seed)["auc"]
    if len(members) > 1:
        for k, m in enumerate(members):
            variants[f"member {k + 1} alone"] = _recipes.auc_report(yte, m["p_test"], seed=seed)["auc"]
    return {"seed": seed, "members": [{k: v for k, v in m.items() if not k.startswith("p_")} for m in members],
            "member_validation_auc": [_recipes.auc_report(yva, m["p_validation"], seed=seed)["auc"] for m in members],
            "prepare_s": round(prep_s, 1), "train_s": round(sum(m["train_s"] for m in members), 1),
            "validation": val, "test": test,
            "test_without_copies_of_train": {**without_copies, "removed": int(test_copied.sum())},
            "variants_test_auc": variants, "parameters": members[0]["parameters"], "counts": counts}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset-path", type=Path, default=Path("../shared/data/breastmnist"),
                        help="BreastMNIST .npz, or the folder that holds it")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=None, help=f"override the recipe's {RECIPE['epochs']}")
    parser.add_argument("--image-size", type=int, default=None, help=f"override the recipe's {RECIPE['image_size']}")
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--augmentation", type=float, default=None, help="augmentation strength (0 = off)")
    parser.add_argument("--width", type=float, default=None)
    parser.add_argument("--dropout", type=float, nargs=3, default=None, metavar="RATE")
    parser.add_argument("--l2", type=float, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--average-last", type=int, default=None,
                        help=f"average the weights of the last N epochs (0: keep the best validation epoch; "
                             f"recipe: {RECIPE['average_last']})")
    parser.add_argument("--tta", choices=("none", "hflip"), default=None, help=f"recipe: {RECIPE['tta']}")
    parser.add_argument("--members", type=int, default=None,
                        help=f"models per seed, their p(malignant) averaged (recipe: {RECIPE['members']})")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    recipe = dict(RECIPE)
    for key, value in (("epochs", args.epochs), ("image_size", args.image_size),
                       ("learning_rate", args.learning_rate), ("augmentation_strength", args.augmentation),
                       ("width", args.width), ("dropout_rates", tuple(args.dropout) if args.dropout else None),
                       ("l2", args.l2), ("batch_size", args.batch_size), ("average_last", args.average_last),
                       ("tta", args.tta), ("members", args.members)):
        if value is not None:
            recipe[key] = value
    npz = find_npz(args.dataset_path)
    from cancer_course._tf import quiet_import

    quiet_import()
    command = _recipes.command_line("breastmnist.py", argv)
    machine = _recipes.print_machine(command)
    preprocessing = PREPROCESSING.format(size=recipe["image_size"])
    print(f"recipe  : {json.dumps(recipe)}\npreprocessing: {preprocessing}", flush=True)
    rows = [run(npz, s, recipe, verbose=not args.quiet) for s in args.seeds]
    print(f"\n{'seed':>4} {'train s':>8} {'val AUC':>8} {'test AUC (95% CI)':>24} {'test acc':>8} "
          f"{'without copies (n removed)':>27}  other variants (comparison only)")
    for r in rows:
        t, d = r["test"], r["test_without_copies_of_train"]
        others = ", ".join(f"{k} {v:.4f}" for k, v in r["variants_test_auc"].items())
        print(f"{r['seed']:>4} {r['train_s']:>8.1f} {r['validation']['auc']:>8.4f} "
              f"{t['auc']:>8.4f} ({t['auc_ci95'][0]:.3f}-{t['auc_ci95'][1]:.3f}) {t['accuracy']:>8.4f} "
              f"{d['auc']:>19.4f} ({d['removed']:>3})  {others}")
    mean = sum(r["test"]["auc"] for r in rows) / len(rows)
    print(f"mean test AUC over {len(rows)} seed(s): {mean:.4f}")
    print("reference (MedMNIST v2, test): ResNet-18 (28) AUC 0.901; Google AutoML Vision AUC 0.919. "
          "Research and education only.")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        result = {"command": command.strip(), "machine": machine, "dataset": str(npz), "recipe": recipe,
                  "preprocessing": preprocessing, "runs": rows, "mean_test_auc": round(mean, 4),
                  "mean_test_auc_without_copies": round(
                      sum(r["test_without_copies_of_train"]["auc"] for r in rows) / len(rows), 4),
                  "reference": {"resnet18_28_auc": 0.901, "automl_vision_auc": 0.919}}
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
