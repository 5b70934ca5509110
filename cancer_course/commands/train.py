"""``cancer-course train``: its arguments, and the run they describe (the reference train.py).

The learner's pieces live in :mod:`cancer_course.training` (callbacks, ``fit``, class weights,
training length), :mod:`cancer_course.pipeline` and :mod:`cancer_course.model`; this module only
parses the command line and calls them in order: check the arguments, scan the data, build the
pipelines, build or resume the model, fit, write the summary and plots.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

from .. import defaults, distribute
from ..config import PROFILES, results_dir
from ..errors import CourseError
from . import arguments as check


def _new_model(args, profile, image_size: int):
    """The model a fresh run starts from: the profile's, or the reference model."""
    from ..model import build_model, from_profile  # TensorFlow: only once the command runs

    if profile:
        model = from_profile(profile, output=args.output, seed=args.seed, input_shape=(image_size, image_size, 3))
    else:
        model = build_model(input_shape=(image_size, image_size, 3), output=args.output, seed=args.seed)
    if getattr(args, "init", None):  # --init: start from another course model's weights (lesson 13)
        from ..transfer import load_matching_weights  # TensorFlow, as above

        print(load_matching_weights(model, args.init).summary())
    return model


def train_command(args) -> dict:
    """``cancer-course train``: the reference train.py, on Keras 3. Returns a summary dict.

    ``--strategy multiworker`` runs the same command on every worker (:mod:`cancer_course.distribute`):
    the chief writes the model, checkpoints, log, plots and ``logs/run.json``; the others write
    to a temporary folder that is deleted at the end, and resume from the chief's checkpoint.
    """
    # Imported here, not at the top, so that `cancer-course --help` and `train --help` answer at
    # once: pipeline and training import TensorFlow (tests/test_import_graph.py's AVOID_TENSORFLOW
    # lists them), diagnosis and plots bring NumPy and matplotlib.
    from .. import pipeline, plots
    from ..diagnosis import predict_probabilities
    from ..training import (
        StepCounter,
        balanced_class_weights,
        compile_model,
        distribution_strategy,
        fit,
        float32_output,
        learning_warning,
        precision,
        set_seed,
        training_length,
    )

    multiworker = args.strategy == "multiworker"
    if multiworker and not args.dataset_path:
        raise ValueError("--strategy multiworker needs --dataset-path: the same dataset folder on every worker "
                         "(a shared filesystem, or a copy at the same path; `cancer-course synth DIR` makes one)")
    # MultiWorkerMirroredStrategy must exist before any other TensorFlow work (the datasets below)
    strategy = distribution_strategy(args.strategy) if multiworker else None
    cluster = distribute.read_tf_config() if multiworker else None
    chief = distribute.is_chief(cluster) if multiworker else True
    workers = distribute.n_workers(cluster) if multiworker else 1

    if getattr(args, "init", None):
        if args.resume:
            raise ValueError("--init starts a new run from another model's weights and --resume continues this run "
                             "from its own checkpoint: use one of them.")
        if not Path(args.init).expanduser().is_file():
            raise FileNotFoundError(f"--init {args.init}: no such file. Pass a .keras model that `cancer-course train` "
                                    "saved.")
    profile = PROFILES[args.profile] if args.profile else None
    image_size = args.image_size or (profile.image_size if profile else 224)
    if args.dataset_path:
        root = Path(args.dataset_path)
    else:
        from ..synth import ensure_dataset  # NumPy and Pillow, as above

        root = ensure_dataset(args.profile or "laptop", progress=chief)
        print(f"Training on the embedded dataset in {root}")
    splits = pipeline.load_splits(root, image_size=image_size, verbose=chief)  # the scan; it builds no dataset
    results = Path(args.results_dir) if args.results_dir else results_dir()
    save_path = Path(args.save_path) if args.save_path else results / "models" / "best_model.keras"
    log_path = results / "logs" / "training_log.csv"
    target = distribute.WriteTarget(chief, task=f"worker{cluster['task']['index']}" if multiworker else "worker")
    set_seed(args.seed)

    strategy = strategy or distribution_strategy(args.strategy)
    replicas = strategy.num_replicas_in_sync
    batch_size = args.batch_size * replicas
    if replicas > 1:
        where = f" on {workers} workers" if multiworker else ""
        name = "MultiWorkerMirroredStrategy" if multiworker else type(strategy).__name__
        print(f"{name}: {replicas} replicas, global batch {batch_size} "
              f"({args.batch_size} per replica{where})")
    # every worker must shuffle the same way, so that their shares of each batch never overlap
    shuffle_seed = 0 if multiworker and args.seed is None else args.seed
    augment = pipeline.fast_augmentation(args.augmentation, seed=shuffle_seed)
    train_ds = pipeline.from_files(*splits.files("train"), image_size, batch_size, output=args.output,
                                   shuffle=True, augment=augment, seed=shuffle_seed)
    val_ds = pipeline.from_files(*splits.files("validation"), image_size, batch_size, output=args.output)
    if multiworker:
        train_ds, val_ds = distribute.shard_by_data(train_ds), distribute.shard_by_data(val_ds)
    weights = balanced_class_weights(splits.files("train")[1])
    print(f"Class weights: {weights}")
    epochs, patience, why = training_length(len(splits.files("train")[0]), batch_size, profile, args.epochs,
                                            args.patience)
    print(f"Training length: {why}")

    steps = StepCounter()
    try:
        keras_fixes = distribute.keras_multiworker_fixes() if multiworker else contextlib.nullcontext()
        with precision(args.mixed_precision), strategy.scope(), keras_fixes:
            model = None if args.resume else _new_model(args, profile, image_size)
            if model is not None:
                if args.mixed_precision:
                    model = float32_output(model)
                compile_model(model, learning_rate=args.learning_rate, jit_compile=True if args.jit else "auto",
                              run_eagerly=bool(profile and profile.run_eagerly) and not multiworker)  # collectives need the graph
            start = time.perf_counter()
            model, history = fit(model, train_ds, val_ds, epochs=epochs, save_path=target.path(save_path),
                                 log_path=target.path(log_path), class_weight=weights, resume=args.resume,
                                 resume_from=save_path, jit_compile=True if args.jit else None,
                                 learning_rate=args.learning_rate, patience=patience, verbose=2,
                                 callbacks_extra=[steps])
        seconds = time.perf_counter() - start
        jit = bool(model.jit_compile)
        if args.jit and not jit:
            print("note: --jit asked for XLA but Keras turned it off (with --seed TensorFlow runs deterministic "
                  "ops, which XLA does not support): drop --seed to use XLA")
        summary = {"model": str(save_path), "log": str(log_path), "plots": {},
                   "epochs_run": len(history.epoch) if history else 0, "train_seconds": round(seconds, 1),
                   "image_size": image_size, "replicas": replicas, "strategy": args.strategy or "default",
                   "workers": workers, "chief": chief, "per_replica_batch": args.batch_size,
                   "global_batch": batch_size, "steps_per_epoch": steps.steps[0] if steps.steps else None,
                   "train_images": len(splits.files("train")[0]), "mixed_precision": bool(args.mixed_precision),
                   "jit_compile": jit, "init": str(args.init) if getattr(args, "init", None) else None}
        if chief:
            # (not under multiworker: a prediction on the chief alone would wait for the other workers)
            warning = None if multiworker else learning_warning(*predict_probabilities(model, val_ds))
            summary["warning"] = warning
            if warning:
                print(warning)
            figures = plots.visualize_from_history(log_path, results / "plots")
            summary["plots"] = {k: str(v) for k, v in figures.items()}
        run_json = target.path(results / "logs" / "run.json")
        run_json.parent.mkdir(parents=True, exist_ok=True)
        run_json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    finally:
        target.cleanup()
    if chief:
        print(f"Best model: {save_path}\nTraining log: {log_path}\nPlots: {results / 'plots'}\n"
              f"Trained {summary['epochs_run']} epoch(s) in {seconds:.0f} s. Research and education only.")
    else:
        print(f"Worker done: trained {summary['epochs_run']} epoch(s) in {seconds:.0f} s; the chief wrote the model.")
    return summary


def run(args) -> int:
    try:
        train_command(args)
    except (FileNotFoundError, ValueError) as exc:
        raise CourseError(str(exc)) from exc
    return 0


def register_cli(sub) -> None:
    p = sub.add_parser("train", help="train the model (the reference train.py); embedded dataset by default",
                       description="Train the course model on ROOT/{train,validation}/{benign,malignant}/ images "
                       f"(default: the embedded dataset). Image sizes: {defaults.SIZE_POLICY}.")
    p.add_argument("--epochs", type=check.whole(1, 100_000), default=None,
                   help="maximum epochs (default 100, or the profile's)")
    p.add_argument("--batch-size", type=check.batch_size, default=32)
    p.add_argument("--learning-rate", type=check.number(0.0, 1.0, low_open=True), default=0.001,
                   help="Adam's initial learning rate, above 0 and at most 1 (default 0.001)")
    p.add_argument("--dataset-path", help="ROOT/{train,validation}/{benign,malignant} (default: the embedded dataset)")
    p.add_argument("--save-path", help="where the best model goes (default results/models/best_model.keras)")
    p.add_argument("--image-size", type=check.whole(8, 4096), default=None,
                   help="pixels per side (default 224, or the profile's)")
    p.add_argument("--profile", choices=list(PROFILES), default=None,
                   help="take image size, model size, epochs and embedded data from a profile")
    p.add_argument("--seed", type=check.seed, default=None, help="make the run repeatable on this machine")
    p.add_argument("--resume", action="store_true", help="continue from the last finished epoch")
    p.add_argument("--init", metavar="MODEL.keras",
                   help="start from another course model's weights: layers matched by name and shape, the others "
                        "initialised fresh; prints which were loaded (lesson 13)")
    p.add_argument("--output", choices=["softmax", "sigmoid"], default="softmax",
                   help="2-way softmax (the original code) or 1-unit sigmoid (the original description)")
    p.add_argument("--augmentation", type=check.number(0.0, 5.0), default=1.0,
                   help="augmentation strength (0 = off, 1 = reference, at most 5)")
    p.add_argument("--patience", type=check.whole(1, 100_000), default=10, help="early-stopping patience in epochs")
    p.add_argument("--strategy", choices=list(distribute.STRATEGIES), default="default",
                   help="mirrored: tf.distribute.MirroredStrategy over every visible GPU; multiworker: "
                   "MultiWorkerMirroredStrategy over the machines in TF_CONFIG (run the same command on each)")
    p.add_argument("--mixed-precision", action="store_true",
                   help="mixed_float16: float16 maths, float32 weights and output layer (for a GPU with Tensor Cores)")
    p.add_argument("--jit", action="store_true", help="compile each training step with XLA (jit_compile=True)")
    p.add_argument("--results-dir", help="where logs/ and plots/ go (default results/)")
    p.set_defaults(func=run)
