"""Training: class weights, loss and metrics, resumable fit, the recipe as one function (lesson 07).

The recipe is the reference system's: Adam at 1e-3 with learning-rate decay, a loss that matches
the output (binary cross-entropy for a 1-unit sigmoid, categorical cross-entropy for a 2-way
softmax), class weights from the class balance, early stopping that restores the best weights,
the best model checkpointed as ``.keras``, a CSV log with the learning rate of every epoch.

Saving is atomic (write a temporary file, then rename), so interrupting training never leaves a
broken model behind, and ``resume=True`` continues from the last finished epoch; the schedule,
checkpoints and the stop on a non-finite loss are in :mod:`cancer_course.callbacks` (re-exported
here).

Past one CPU: ``--mixed-precision`` (:func:`precision`, :func:`float32_output`) and ``--jit``
(XLA, :func:`compile_model`) for a GPU; ``--strategy mirrored`` for the GPUs of one machine and
``--strategy multiworker`` for several machines (:mod:`cancer_course.distribute`).
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import keras
import numpy as np

from . import distribute, labels, pipeline
from .callbacks import (  # noqa: F401  (re-exported: lesson 07 calls training.make_callbacks)
    AtomicCheckpoint,
    StopOnNonFiniteLoss,
    _atomic_save,
    exponential_decay,
    last_path,
    make_callbacks,
    non_finite,
    read_state,
    state_path,
)
from .errors import TrainingError
from .model import from_profile

# ---------------------------------------------------------------- class balance
# One definition, in the TensorFlow-free `labels` module; the name stays here for the lessons.
balanced_class_weights = labels.balanced_class_weights


# ---------------------------------------------------------------- loss and metrics
def output_kind(model: keras.Model) -> str:
    """``"sigmoid"`` for a 1-unit output, ``"softmax"`` for a 2-unit output."""
    units = model.output_shape[-1]
    if units == 1:
        return "sigmoid"
    if units == 2:
        return "softmax"
    raise ValueError(f"{model.name} has {units} outputs; the course's models have 1 (sigmoid) or 2 (softmax)")


def loss_for(output: str, label_smoothing: float = 0.0, focal: bool = False, focal_gamma: float = 2.0):
    """The loss that matches the output layer (optionally Keras' own focal cross-entropy)."""
    if output == "sigmoid":
        if focal:
            return keras.losses.BinaryFocalCrossentropy(gamma=focal_gamma, label_smoothing=label_smoothing)
        return keras.losses.BinaryCrossentropy(label_smoothing=label_smoothing)
    if output == "softmax":
        if focal:
            return keras.losses.CategoricalFocalCrossentropy(gamma=focal_gamma, label_smoothing=label_smoothing)
        return keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing)
    raise ValueError(f"output must be 'sigmoid' or 'softmax', got {output!r}")


def metrics_for(output: str) -> list:
    """Accuracy, AUC, precision and recall of the *malignant* class, for either output.

    For the 2-way softmax, precision and recall look at column 1 (malignant), and the AUC is the
    mean of the two per-column AUCs - which for two complementary columns equals the malignant AUC.
    """
    if output == "sigmoid":
        return [keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc"),
                keras.metrics.Precision(name="precision"), keras.metrics.Recall(name="recall")]
    return [keras.metrics.CategoricalAccuracy(name="accuracy"),
            keras.metrics.AUC(name="auc", multi_label=True, num_labels=2),
            keras.metrics.Precision(name="precision", class_id=1),
            keras.metrics.Recall(name="recall", class_id=1)]


def compile_model(model: keras.Model, learning_rate: float = 1e-3, label_smoothing: float = 0.0,
                  focal: bool = False, run_eagerly: bool = False,
                  jit_compile: bool | str = "auto") -> keras.Model:
    """Adam at ``learning_rate`` with the loss and metrics that match the model's output.

    ``run_eagerly=profile.run_eagerly`` is what the lessons pass: the ``smoke`` profile skips
    graph tracing, which costs more than its whole training run. ``jit_compile=True`` compiles
    each training step with XLA (``--jit``), which needs the graph, so it overrides eager mode; ``"auto"`` is Keras' choice (XLA on a GPU when every
    layer supports it). A model built under mixed precision (:func:`precision`) gets its Adam
    wrapped in ``LossScaleOptimizer``, which scales the loss so small float16 gradients do not
    underflow to 0 (saved with the model, so a resumed run keeps it).
    """
    kind = output_kind(model)
    run_eagerly = bool(run_eagerly) and jit_compile is not True
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    if is_mixed(model):
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    model.compile(optimizer=optimizer, loss=loss_for(kind, label_smoothing, focal), metrics=metrics_for(kind),
                  run_eagerly=run_eagerly, jit_compile=jit_compile)
    return model


# ---------------------------------------------------------------- mixed precision
MIXED_POLICY = "mixed_float16"


@contextlib.contextmanager
def precision(mixed: bool):
    """Inside, models are built with Keras' ``mixed_float16`` policy (when ``mixed``); the old policy comes back after.

    Mixed precision computes in float16 (Tensor Cores on a GPU: about twice the speed, half the
    activation memory) and keeps the weights in float32. Pair it with :func:`float32_output`.
    """
    previous = keras.config.dtype_policy()
    if mixed:
        keras.config.set_dtype_policy(MIXED_POLICY)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def is_mixed(model: keras.Model) -> bool:
    return any(layer.dtype_policy.name == MIXED_POLICY for layer in model.layers)


def float32_output(model: keras.Model) -> keras.Model:
    """The model with its output layer (``head_output``) computing in float32, the rest as it was built.

    A float16 softmax or sigmoid rounds probabilities near 0 and 1 and its cross-entropy can
    overflow; Keras' rule for mixed precision is a float32 output layer. The model is rebuilt
    (``clone_model``) with that one layer's dtype set to float32 and keeps its weights; a model
    whose output already computes in float32 is returned as it is.
    """
    head = model.layers[-1]
    if head.compute_dtype == "float32":
        return model

    def clone(layer):
        config = layer.get_config()
        if layer is head:
            config["dtype"] = "float32"
        return layer.__class__.from_config(config)

    rebuilt = keras.models.clone_model(model, clone_function=clone)
    rebuilt.set_weights(model.get_weights())
    return rebuilt


# ---------------------------------------------------------------- fit
def set_seed(seed: int | None) -> None:
    """Seed Python, NumPy and TensorFlow, and ask TensorFlow for deterministic ops."""
    if seed is None:
        return
    import tensorflow as tf

    keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()


def fit(model: keras.Model, train_ds, val_ds, *, epochs: int, save_path, log_path,
        class_weight: dict | None = None, resume: bool = False, verbose: int | str = "auto",
        callbacks_extra: list | None = None, resume_from=None, jit_compile: bool | None = None,
        **callback_options):
    """Train with the course's callbacks; with ``resume=True`` continue from the last finished epoch.

    Returns ``(model, history)``; ``model`` carries the best weights (early stopping restores
    them; with ``early_stopping=False`` it carries the last epoch's) and the best model is also on
    disk at ``save_path`` (``None``: no checkpoint, no resume). ``callback_options`` go to
    :func:`make_callbacks`. ``resume_from`` (default ``save_path``) is the run to continue, for
    a worker that writes elsewhere than the chief it follows; ``jit_compile`` sets XLA on the
    resumed model (a new model takes it from :func:`compile_model`).
    """
    if save_path is None and resume:
        raise ValueError("resume=True needs the save_path of the run to continue; it was None.")
    save_path = Path(save_path) if save_path is not None else None
    initial_epoch, best = 0, None
    learning_rate = callback_options.pop("learning_rate", None)
    if learning_rate is None and not resume:
        learning_rate = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    if resume:
        source = Path(resume_from) if resume_from is not None else save_path
        state = read_state(source)
        last = last_path(source)
        if state is None or not last.exists():
            raise FileNotFoundError(f"Nothing to resume: {state_path(source)} or {last} is missing. "
                                    "Train once without --resume first.")
        from .model import load_model

        model = load_model(last)
        if jit_compile is not None:
            model.jit_compile = jit_compile
        initial_epoch, best = int(state["epoch"]), state.get("best")
        learning_rate = learning_rate or state.get("learning_rate", 1e-3)
        if initial_epoch >= epochs:
            print(f"Already trained {initial_epoch} of {epochs} epochs; nothing to resume.")
            return model, None
        print(f"Resuming from epoch {initial_epoch} of {epochs} ({last})")
    callbacks = make_callbacks(save_path, log_path, append=resume, best=best, learning_rate=learning_rate,
                               **callback_options)
    callbacks += list(callbacks_extra or [])
    history = model.fit(train_ds, validation_data=val_ds, epochs=epochs, initial_epoch=initial_epoch,
                        class_weight=class_weight, callbacks=callbacks, verbose=verbose,
                        shuffle=False)  # tf.data pipelines shuffle themselves
    guard = next((c for c in callbacks if isinstance(c, StopOnNonFiniteLoss)), None)
    if guard is not None and guard.where is not None:
        raise TrainingError(_non_finite_message(guard.where, save_path, learning_rate))
    return model, history


def _non_finite_message(where: tuple, save_path: Path | None, learning_rate: float | None) -> str:
    epoch, batch, value = where
    at = f"epoch {epoch + 1}" + (f", batch {batch + 1}" if batch is not None else " (validation)")
    state = read_state(save_path) if save_path is not None else None
    if state:
        kept = (f"The last good model is kept: {save_path} (the best epoch) and {last_path(save_path)} "
                f"(epoch {state['epoch']}); --resume continues from there.")
    else:
        kept = "No epoch had finished, so no model was saved."
    lower = f" (e.g. {learning_rate / 10:g} instead of {learning_rate:g})" if learning_rate else ""
    return (f"Training stopped at {at}: the loss became {value} instead of a finite number, so the weights are no "
            f"longer usable. {kept} Try a lower learning rate{lower} (--learning-rate), and check the data for "
            "broken images or wrong labels (cancer-course audit ROOT).")


# ---------------------------------------------------------------- the recipe as one function (lesson 07)
def train_reference(splits, profile, seed=0, *, save_path, log_path, epochs=None, augment=None,
                    shuffle_labels=False, verbose="auto"):
    """Lesson 07's recipe on ``splits`` (``pipeline.load_splits``): returns ``(model, history)`` as ``fit`` does.

    The profile's model, seeded; lesson 06's pipeline at the profile's image size and batch, with
    augmentation on the training split only; balanced class weights; Adam with the loss and
    metrics that match the output; learning-rate decay, early stopping on validation AUC and the
    best epoch checkpointed at ``save_path``, for ``epochs`` at most (default: the profile's).
    ``augment`` is the augmentation layer (default ``pipeline.fast_augmentation(1.0, seed=seed)``);
    pass your own to use it again afterwards: its random state moves on with every batch.
    ``shuffle_labels=True`` trains on the training labels in a random order (lesson 11).
    """
    size, batch = profile.image_size, profile.batch_size
    if augment is None:
        augment = pipeline.fast_augmentation(1.0, seed=seed)
    train_paths, train_labels = splits.files("train")
    if shuffle_labels:
        train_labels = list(np.random.default_rng(seed).permutation(train_labels))
    train_ds = pipeline.from_files(train_paths, train_labels, size, batch, shuffle=True, augment=augment, seed=seed)
    val_ds = pipeline.from_files(*splits.files("validation"), size, batch)
    class_weight = balanced_class_weights(train_labels)
    set_seed(seed)
    model = compile_model(from_profile(profile, seed=seed), run_eagerly=profile.run_eagerly)
    return fit(model, train_ds, val_ds, epochs=profile.epochs if epochs is None else epochs,
               class_weight=class_weight, save_path=save_path, log_path=log_path, verbose=verbose)



# ---------------------------------------------------------------- devices and training length
def distribution_strategy(name: str | None):
    """``None`` -> the default (one device); ``"mirrored"`` -> MirroredStrategy over every GPU;
    ``"multiworker"`` -> MultiWorkerMirroredStrategy over the machines ``TF_CONFIG`` names
    (:mod:`cancer_course.distribute`; create it before any other TensorFlow work).

    With no GPU, MirroredStrategy mirrors over the logical CPU devices instead (that is how the
    test suite checks it without a GPU).
    """
    import tensorflow as tf

    if not name or name == "default":
        return tf.distribute.get_strategy()
    if name == "multiworker":
        distribute.read_tf_config()  # a clear error before TensorFlow's own
        return distribute.strategy()
    if name != "mirrored":
        raise ValueError(f"Unknown strategy {name!r}: use one of {', '.join(distribute.STRATEGIES)}")
    gpus = tf.config.list_logical_devices("GPU")
    devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
    return tf.distribute.MirroredStrategy(devices=devices)


class StepCounter(keras.callbacks.Callback):
    """Counts the training steps of every epoch: ``steps[e]`` (a run's global batch shows in it)."""

    def __init__(self):
        super().__init__()
        self.steps: list[int] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.steps.append(0)

    def on_train_batch_end(self, batch, logs=None):
        self.steps[-1] += 1


def training_length(n_train: int, batch_size: int, profile=None, epochs: int | None = None,
                    patience: int = 10) -> tuple[int, int, str]:
    """``(epochs, patience, why)`` for a run: training length follows the data.

    A profile's epochs are sized for its embedded dataset (``laptop``: 20 epochs of 1,600 images
    at batch 32, 1,000 optimiser steps). A smaller folder gets proportionally more epochs, so that it
    still gets about that many steps (390 images: 77 epochs), and the early-stopping patience grows
    by the same factor; a few hundred steps are too few for the network and its BatchNorm statistics
    to settle. ``epochs`` (``--epochs``) is an upper bound the learner sets, used as given. Without a
    profile: the reference's 100 epochs.
    """
    per_epoch = max(1, math.ceil(n_train / batch_size))
    if epochs:
        return int(epochs), int(patience), (f"{epochs} epoch{'s' if epochs != 1 else ''} at most (--epochs), "
                                            f"{per_epoch} steps each")
    if profile is None:
        return 100, int(patience), f"100 epochs at most (the reference's), {per_epoch} steps each"
    budget = profile.epochs * math.ceil(profile.n_train / profile.batch_size)
    chosen = max(profile.epochs, math.ceil(budget / per_epoch))
    scaled = max(int(patience), round(patience * chosen / profile.epochs))
    why = f"{chosen} epochs at most, {per_epoch} steps each"
    if chosen > profile.epochs:
        why += (f": about {budget:,} steps, the '{profile.name}' profile's budget ({profile.epochs} epochs of its "
                f"{profile.n_train:,} embedded images); a smaller dataset gets more epochs, early-stopping patience "
                f"{scaled} epochs. --epochs N sets an upper bound yourself")
    return chosen, scaled, why


def learning_warning(y_true, p_malignant, threshold: float = 0.5) -> str | None:
    """Plain words when validation predictions collapsed to one class or rank no better than chance.

    None when the model separates the classes at least a little (validation AUC 0.6 or more, and
    both classes predicted at ``threshold``).
    """
    import numpy as np

    from .diagnosis import auc

    y, p = np.asarray(y_true), np.asarray(p_malignant, dtype=float)
    if y.size == 0:
        return None
    called = p >= threshold
    both = 0 < y.sum() < y.size
    value = auc(y, p) if both else float("nan")
    if called.all() or not called.any():
        what = (f"calls every one of the {y.size} validation images {'malignant' if called.all() else 'benign'}"
                + (f" (validation AUC {value:.2f})" if both else ""))
    elif both and value < 0.6:
        what = f"ranks the validation images barely better than chance (validation AUC {value:.2f})"
    else:
        return None
    return (f"warning: the model {what}: it has not learned to tell the classes apart. Try more steps (--epochs N), "
            "a pretrained start (--init MODEL.keras, lesson 13), or check the data first (cancer-course audit ROOT).")
