"""The checker's own mutation tests for lessons 07-12 (as learntools tests its checkers).

For every question of lessons 07-12 that is not interpretive: answers learners really write that are
wrong (each must be refused, with a message that names the mistake) and right answers written another
way than ``solution_code`` (each must be accepted). The cases of issue 20 are here by name: 08.2's
interpolated quantile, ``>=`` and ``int()``; 08.4's per-class batches; 10.4's ``np.digitize`` that
drops p = 1.0; 12.1's in-memory clone; 12.2's case-sensitive filter; 12.3's validation figures; and
10.1's specificity computed as the false-positive rate, which must not be called a swap of
sensitivity and PPV. Research and education only.
"""

from __future__ import annotations

import importlib
import re
import textwrap

import pytest

from cancer_course.exercises import ____, core, problems

LESSONS = ("07", "08", "09", "10", "11", "12")
CHECKED = [p for lesson in LESSONS for p in problems(lesson) if not p.interpretive]
# what the solution notebooks have imported before the exercises: name -> "module" or "module:attribute"
IMPORTS = {"keras": "keras", "layers": "keras:layers", "tf": "tensorflow", "np": "numpy", "math": "math",
           "kt": "keras_tuner", "csv": "csv", "time": "time", "Path": "pathlib:Path", "asdict": "dataclasses:asdict",
           "spearmanr": "scipy.stats:spearmanr", "roc_curve": "sklearn.metrics:roc_curve",
           "inference": "cancer_course.inference", "Variant": "cancer_course.experiments:Variant"}


def _answers(problem, code: str) -> tuple:
    """The answer(s) ``code`` defines, in a namespace holding the lesson's earlier right answers."""
    lesson = problems(problem.id.split(".")[0])
    sources = [textwrap.dedent(p.solution_code) for p in lesson[:lesson.index(problem)]] + [textwrap.dedent(code)]
    ns = {"____": ____}
    for name, target in IMPORTS.items():  # only what the code uses: a test imports no more than it needs
        if any(re.search(rf"\b{name}\b", source) for source in sources):
            module, _, attr = target.partition(":")
            value = importlib.import_module(module)
            ns[name] = getattr(value, attr) if attr else value
    for source in sources:
        exec(source, ns)
    return tuple(ns[name] for name in problem.names)


# ---------------------------------------------------------------- known-wrong answers: (code, what the message says)
WRONG = {
    "07.1": [
        ("""
         def class_shares(class_weight):
             return {c: 1 / (2 * w) for c, w in class_weight.items()}
         """, "you divided by 2"),
        ("""
         def class_shares(class_weight):
             return [1 / (len(class_weight) * w) for w in class_weight.values()]
         """, "return a dict"),
        ("""
         def class_shares(class_weight):
             return {str(c): 1 / (len(class_weight) * w) for c, w in class_weight.items()}
         """, "keyed like the weights"),
        ("""
         def class_shares(class_weight):
             return {c: 1.0 / w for c, w in class_weight.items()}
         """, "divides by the number of classes too"),
        ("""
         def class_shares(class_weight):
             return {c: w / sum(class_weight.values()) for c, w in class_weight.items()}
         """, "*rarer* class"),
        ("""
         def class_shares(class_weight):
             return {c: f"{1 / (len(class_weight) * w):.0%}" for c, w in class_weight.items()}
         """, "the shares should be numbers"),
    ],
    "07.2": [
        ("""
         def lr_schedule(epoch, lr=None):
             return 1e-3
         """, "at every epoch"),
        ("""
         def lr_schedule(epoch, lr):
             return lr * 0.9
         """, "at epoch 0"),
        ("""
         def lr_schedule(epoch, lr=None):
             return 1e-2 * 0.9 ** epoch
         """, "at epoch 0"),
        ("""
         def lr_schedule(epoch, lr=None):
             return (lr or 1e-3) * 0.9 ** epoch
         """, "the decay compounds"),
        ("""
         def lr_schedule(epoch, lr=None):
             return 1e-3 * 0.8 ** epoch
         """, "expected 0.001, 0.0009, 0.00081"),
        ("""
         def lr_schedule(epoch, lr=None):
             return 1e-3 * math.exp(-0.1 * epoch)
         """, "expected 0.001, 0.0009, 0.00081"),
    ],
    "07.3": [
        ("""
         def make_callbacks(patience=3):
             return [keras.callbacks.EarlyStopping(monitor="val_auc", mode="max", patience=3, restore_best_weights=True),
                     keras.callbacks.LearningRateScheduler(lr_schedule)]
         """, "pass patience=patience"),
        ("""
         def make_callbacks(patience=3):
             return [keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True),
                     keras.callbacks.LearningRateScheduler(lr_schedule)]
         """, "monitors 'val_loss'"),
        ("""
         def make_callbacks(patience=3):
             return [keras.callbacks.EarlyStopping(monitor="auc", mode="max", patience=patience,
                                                   restore_best_weights=True),
                     keras.callbacks.LearningRateScheduler(lr_schedule)]
         """, "the *training* AUC"),
        ("""
         def make_callbacks(patience=3):
             return [keras.callbacks.EarlyStopping(monitor="val_auc", mode="min", patience=patience,
                                                   restore_best_weights=True),
                     keras.callbacks.LearningRateScheduler(lr_schedule)]
         """, "mode='max'"),
        ("""
         def make_callbacks(patience=3):
             return [keras.callbacks.EarlyStopping(monitor="val_auc", mode="max", patience=patience,
                                                   restore_best_weights=False),
                     keras.callbacks.LearningRateScheduler(lr_schedule)]
         """, "restore_best_weights=True"),
        ("""
         def make_callbacks(patience=3):
             return [keras.callbacks.EarlyStopping(monitor="val_auc", mode="max", patience=patience,
                                                   restore_best_weights=True),
                     keras.callbacks.LearningRateScheduler(lambda epoch, lr: 1e-3)]
         """, "learning rate never changed"),
        ("""
         def make_callbacks(patience=3):
             return keras.callbacks.EarlyStopping(monitor="val_auc", mode="max", patience=patience)
         """, "wants a list of callbacks"),
    ],
    "08.1": [
        ("""
         remedy_configs = [Variant("baseline"), Variant("remedy", augmentation=1.0), Variant("remedy", label_smoothing=0.1),
                           Variant("both", augmentation=1.0, label_smoothing=0.1)]
         """, "share a name"),
        ("""
         remedy_configs = [Variant("baseline"), Variant("baseline again"), Variant("augmentation", augmentation=1.0),
                           Variant("label smoothing", label_smoothing=0.1),
                           Variant("both", augmentation=1.0, label_smoothing=0.1)]
         """, "exactly four"),
        ("""
         remedy_configs = [Variant("baseline"), Variant("augmentation", augmentation=0.5),
                           Variant("label smoothing", label_smoothing=0.1),
                           Variant("both", augmentation=0.5, label_smoothing=0.1)]
         """, "sets {'augmentation': 0.5}"),
        ("""
         remedy_configs = {"baseline": Variant("baseline"), "augmentation": Variant("augmentation", augmentation=1.0)}
         """, "should be a list of experiments.Variant"),
        ("""
         remedy_configs = ["baseline", "augmentation", "label smoothing", "both"]
         """, "is not an experiments.Variant"),
        ("""
         remedy_configs = [Variant("baseline"), Variant("augmentation", augmentation=1.0),
                           Variant("label smoothing", label_smoothing=0.1)]
         """, "combines both remedies"),
    ],
    "08.2": [
        ("""
         def recall_at_specificity(y_true, p, specificity=0.9):
             y_true, p = np.asarray(y_true), np.asarray(p)
             threshold = np.quantile(p[y_true == 0], specificity)
             return float(np.mean(p[y_true == 1] > threshold))
         """, "np.quantile interpolates"),
        ("""
         def recall_at_specificity(y_true, p, specificity=0.9):
             y_true, p = np.asarray(y_true), np.asarray(p)
             negatives = np.sort(p[y_true == 0])
             threshold = negatives[int(np.ceil(specificity * len(negatives))) - 1]
             return float(np.mean(p[y_true == 1] >= threshold))
         """, "use >, not >="),
        ("""
         def recall_at_specificity(y_true, p, specificity=0.9):
             y_true, p = np.asarray(y_true), np.asarray(p)
             negatives = np.sort(p[y_true == 0])
             threshold = negatives[int(specificity * len(negatives)) - 1]
             return float(np.mean(p[y_true == 1] > threshold))
         """, "int() rounds down"),
        ("""
         def recall_at_specificity(y_true, p, specificity=0.9):
             y_true, p = np.asarray(y_true), np.asarray(p)
             negatives = np.sort(p[y_true == 0])
             threshold = negatives[min(int(specificity * len(negatives)), len(negatives) - 1)]
             return float(np.mean(p[y_true == 1] > threshold))
         """, "one place too high"),
        ("""
         def recall_at_specificity(y_true, p, specificity=0.9):
             y_true, p = np.asarray(y_true), np.asarray(p)
             negatives = np.sort(p[y_true == 0])
             threshold = negatives[math.ceil(0.9 * len(negatives)) - 1]
             return float(np.mean(p[y_true == 1] > threshold))
         """, "use the argument, not 0.9"),
        ("""
         def recall_at_specificity(y_true, p, specificity=0.9):
             y_true, p = np.asarray(y_true), np.asarray(p)
             n = int(np.sum(y_true == 0))
             negatives = np.sort(p[:n])
             threshold = negatives[int(np.ceil(specificity * n)) - 1]
             return float(np.mean(p[n:] > threshold))
         """, "by their label"),
        ("""
         def recall_at_specificity(y_true, p, specificity=0.9):
             y_true, p = np.asarray(y_true), np.asarray(p)
             return float(np.mean(p[y_true == 1] > np.percentile(p, 100 * specificity)))
         """, "mixes the malignant ones in"),
    ],
    "08.3": [
        ("""
         def focal_loss(y_true, p, gamma=2.0):
             y, p = np.asarray(y_true, float), np.clip(np.asarray(p, float), 1e-7, 1 - 1e-7)
             p_t = y * p + (1 - y) * (1 - p)
             return float(np.mean(-((1 - p_t) ** 2) * np.log(p_t)))
         """, "use the `gamma` argument"),
        ("""
         def focal_loss(y_true, p, gamma=2.0):
             y, p = np.asarray(y_true, float), np.clip(np.asarray(p, float), 1e-7, 1 - 1e-7)
             p_t = y * p + (1 - y) * (1 - p)
             return float(np.mean(((1 - p_t) ** gamma) * np.log(p_t)))
         """, "the negative of the loss"),
        ("""
         def focal_loss(y_true, p, gamma=2.0):
             y, p = np.asarray(y_true, float), np.clip(np.asarray(p, float), 1e-7, 1 - 1e-7)
             p_t = y * p + (1 - y) * (1 - p)
             return -((1 - p_t) ** gamma) * np.log(p_t)
         """, "return one number"),
        ("""
         def focal_loss(y_true, p, gamma=2.0):
             y, p = np.asarray(y_true, float), np.clip(np.asarray(p, float), 1e-7, 1 - 1e-7)
             p_t = y * p + (1 - y) * (1 - p)
             return float(np.mean(-(p_t ** gamma) * np.log(p_t)))
         """, "BinaryFocalCrossentropy gives"),
        ("""
         def focal_loss(y_true, p, gamma=2.0):
             y, p = np.asarray(y_true, float), np.clip(np.asarray(p, float), 1e-7, 1 - 1e-7)
             p_t = y * p + (1 - y) * (1 - p)
             return float(np.mean(-((1 - p_t) ** gamma) * np.log10(p_t)))
         """, "BinaryFocalCrossentropy gives"),
    ],
    "08.4": [
        ("""
         def balanced_batches(benign, malignant, batch_size, steps, seed=0):
             per_class = [benign.batch(batch_size).repeat(), malignant.batch(batch_size).repeat()]
             ds = tf.data.Dataset.sample_from_datasets(per_class, weights=[0.5, 0.5], seed=seed)
             return ds.take(steps)
         """, "holds one class only"),
        ("""
         def balanced_batches(benign, malignant, batch_size, steps, seed=0):
             per_class = [benign.repeat(), malignant.repeat()]
             return tf.data.Dataset.sample_from_datasets(per_class, weights=[0.5, 0.5], seed=seed).batch(16).take(steps)
         """, "using the argument"),
        ("""
         def balanced_batches(benign, malignant, batch_size, steps, seed=0):
             per_class = [benign.repeat(), malignant.repeat()]
             return tf.data.Dataset.sample_from_datasets(per_class, weights=[0.5, 0.5], seed=seed).batch(batch_size).take(25)
         """, "end the epoch with .take(steps)"),
        ("""
         def balanced_batches(benign, malignant, batch_size, steps, seed=0):
             per_class = [benign.repeat(), malignant.repeat()]
             ds = tf.data.Dataset.sample_from_datasets(per_class, weights=[0.5, 0.5], seed=seed)
             return ds.batch(batch_size).take(steps).repeat()
         """, "never ends"),
        ("""
         def balanced_batches(benign, malignant, batch_size, steps, seed=0):
             ds = tf.data.Dataset.sample_from_datasets([benign.repeat(), malignant], weights=[0.5, 0.5], seed=seed)
             return ds.batch(batch_size).take(steps)
         """, "never runs out"),
        ("""
         def balanced_batches(benign, malignant, batch_size, steps, seed=0):
             ds = tf.data.Dataset.sample_from_datasets([benign.repeat(), malignant.repeat()], weights=[0.1, 0.9],
                                                       seed=seed)
             return ds.batch(batch_size).take(steps)
         """, "the weights should be [0.5, 0.5]"),
        ("""
         def balanced_batches(benign, malignant, batch_size, steps, seed=0):
             per_class = [benign.shuffle(1000).repeat(), malignant.shuffle(1000).repeat()]
             return tf.data.Dataset.sample_from_datasets(per_class, weights=[0.5, 0.5]).batch(batch_size).take(steps)
         """, "two calls with seed=0 gave different batches"),
    ],
    "09.1": [
        ("""
         def search_space(hp):
             return {"learning_rate": hp.Choice("learning_rate", [1e-4, 3e-4, 1e-3, 3e-3]),
                     "dropout": hp.Float("dropout", 0.2, 0.6, step=0.1), "l2": hp.Choice("l2", [0.0, 1e-5, 1e-4]),
                     "augmentation": hp.Float("augmentation", 0.0, 1.5, step=0.5)}
         """, "make it a continuous range"),
        ("""
         def search_space(hp):
             return {"learning_rate": hp.Float("learning_rate", 1e-5, 1e-2, sampling="log"),
                     "dropout": hp.Float("dropout", 0.2, 0.6, step=0.1), "l2": hp.Choice("l2", [0.0, 1e-5, 1e-4]),
                     "augmentation": hp.Float("augmentation", 0.0, 1.5, step=0.5)}
         """, "the lesson's range is 1e-4"),
        ("""
         def search_space(hp):
             return {"learning_rate": hp.Float("learning_rate", 1e-4, 3e-3, sampling="log"),
                     "dropout": hp.Float("dropout", 0.2, 0.6), "l2": hp.Choice("l2", [0.0, 1e-5, 1e-4]),
                     "augmentation": hp.Float("augmentation", 0.0, 1.5, step=0.5)}
         """, "dropout should be hp.Float('dropout', 0.2, 0.6, step=0.1)"),
        ("""
         def search_space(hp):
             return {"learning_rate": hp.Float("learning_rate", 1e-4, 3e-3, sampling="log"),
                     "dropout": hp.Float("dropout", 0.2, 0.6, step=0.1), "l2": hp.Float("l2", 0.0, 1e-4),
                     "augmentation": hp.Float("augmentation", 0.0, 1.5, step=0.5)}
         """, "l2 should be hp.Choice"),
        ("""
         def search_space(hp):
             return {"learning_rate": hp.Float("learning_rate", 1e-4, 3e-3, sampling="log"),
                     "dropout": hp.Float("dropout", 0.2, 0.6, step=0.1), "l2": hp.Choice("l2", [0.0, 1e-5, 1e-4]),
                     "augmentation": hp.Float("augmentation", 0.0, 1.5, step=0.5), "batch_size": hp.Choice("batch_size", [16, 32])}
         """, "extra hyperparameters ['batch_size']"),
        ("""
         def search_space(hp):
             return [hp.Float("learning_rate", 1e-4, 3e-3, sampling="log"), hp.Float("dropout", 0.2, 0.6, step=0.1),
                     hp.Choice("l2", [0.0, 1e-5, 1e-4]), hp.Float("augmentation", 0.0, 1.5, step=0.5)]
         """, "return a dict of the four values"),
    ],
    "09.2": [
        ("""
         def split_for(step):
             return {"fit the weights": "train", "report the final model": "test"}.get(step, "val")
         """, "answer 'train', 'validation' or 'test'"),
        ("""
         def split_for(step):
             return {"fit the weights": "train", "choose the threshold": "test",
                     "report the final model": "test"}.get(step, "validation")
         """, "makes the test score optimistic"),
        ("""
         def split_for(step):
             return "test" if step == "report the final model" else "validation"
         """, "expected 'train'"),
        ("""
         def split_for(step):
             return {"fit the weights": "Train", "report the final model": "Test"}.get(step, "Validation")
         """, "answer 'train', 'validation' or 'test'"),
        ("""
         def split_for(step):
             if step == "fit the weights" or step == "score a trial":
                 return "train"
             return "test" if step == "report the final model" else "validation"
         """, "every setting looks good"),
        ("""
         def split_for(step):
             if step == "fit the weights":
                 return "train"
             if step == "report the final model":
                 return "test"
         """, "returned None"),
    ],
    "09.3": [
        ('objective = kt.Objective("val_loss", direction="min")', "is a validation metric, but"),
        ('objective = kt.Objective("val_accuracy", direction="max")', "does not depend on a threshold"),
        ('objective = kt.Objective("loss", direction="min")', "measured on the training split"),
        ('objective = {"name": "val_auc", "direction": "max"}', "should be a keras_tuner.Objective"),
        ('objective = kt.Objective("val_AUC", direction="max")', "use the validation AUC, 'val_auc'"),
    ],
    "09.4": [
        ("""
         def fresh_directory(results_root):
             folder = Path(results_root) / time.strftime("run-%Y%m%d-%H%M%S")
             folder.mkdir(parents=True)
             return folder
         """, "under results_root / 'tuning'"),
        ("""
         def fresh_directory(results_root):
             (Path(results_root) / "tuning" / time.strftime("run-%Y%m%d-%H%M%S")).mkdir(parents=True, exist_ok=True)
         """, "returned None"),
        ("""
         def fresh_directory(results_root):
             return Path(results_root) / "tuning" / time.strftime("run-%Y%m%d-%H%M%S")
         """, "which does not exist"),
        ("""
         def fresh_directory(results_root):
             folder = Path(results_root) / "tuning" / "latest"
             folder.mkdir(parents=True, exist_ok=True)
             return folder
         """, "got the same folder"),
        ("""
         def fresh_directory(results_root):
             import uuid
             folder = Path(results_root) / "tuning" / uuid.uuid4().hex
             folder.mkdir(parents=True)
             (folder / "started.txt").write_text(time.ctime())
             return folder
         """, "is not empty"),
        ("""
         def fresh_directory(results_root):
             import shutil
             import uuid
             shutil.rmtree(Path(results_root) / "tuning", ignore_errors=True)
             folder = Path(results_root) / "tuning" / uuid.uuid4().hex
             folder.mkdir(parents=True)
             return folder
         """, "deleted an earlier search's results"),
    ],
    "10.1": [
        ("""
         def confusion_rates(y_true, p, threshold=0.5):
             y, pred = np.asarray(y_true), np.asarray(p) >= threshold
             tp, fn = np.sum(pred & (y == 1)), np.sum(~pred & (y == 1))
             tn, fp = np.sum(~pred & (y == 0)), np.sum(pred & (y == 0))
             return {"sensitivity": tp / (tp + fn), "specificity": fp / (tn + fp), "ppv": tp / (tp + fp),
                     "npv": tn / (tn + fn)}
         """, "your specificity is FP / (FP + TN), the false-positive rate"),
        ("""
         def confusion_rates(y_true, p, threshold=0.5):
             y, pred = np.asarray(y_true), np.asarray(p) >= 0.5
             tp, fn = np.sum(pred & (y == 1)), np.sum(~pred & (y == 1))
             tn, fp = np.sum(~pred & (y == 0)), np.sum(pred & (y == 0))
             return {"sensitivity": tp / (tp + fn), "specificity": tn / (tn + fp), "ppv": tp / (tp + fp),
                     "npv": tn / (tn + fn)}
         """, "whatever the threshold"),
        ("""
         def confusion_rates(y_true, p, threshold=0.5):
             y, pred = np.asarray(y_true), np.asarray(p) >= threshold
             tp, fn = np.sum(pred & (y == 1)), np.sum(~pred & (y == 1))
             tn, fp = np.sum(~pred & (y == 0)), np.sum(pred & (y == 0))
             return {"sensitivity": tp / (tp + fp), "specificity": tn / (tn + fp), "ppv": tp / (tp + fn),
                     "npv": tn / (tn + fn)}
         """, "sensitivity and PPV are swapped"),
        ("""
         def confusion_rates(y_true, p, threshold=0.5):
             y, p = np.asarray(y_true), np.asarray(p)
             tp, fn = np.sum((p > threshold) & (y == 1)), np.sum((p <= threshold) & (y == 1))
             tn, fp = np.sum((p <= threshold) & (y == 0)), np.sum((p > threshold) & (y == 0))
             return {"sensitivity": tp / (tp + fn), "specificity": tn / (tn + fp), "ppv": tp / (tp + fp),
                     "npv": tn / (tn + fn)}
         """, "not p > threshold"),
        ("""
         def confusion_rates(y_true, p, threshold=0.5):
             y, pred = np.asarray(y_true), np.asarray(p) >= threshold
             tp, fn = np.sum(pred & (y == 1)), np.sum(~pred & (y == 1))
             tn, fp = np.sum(~pred & (y == 0)), np.sum(pred & (y == 0))
             return {"sensitivity": tp / (tp + fn), "specificity": tn / (tn + fp), "ppv": tp / (tp + fp),
                     "npv": fn / (tn + fn)}
         """, "your npv is FN / (FN + TN), 1 - NPV"),
        ("""
         def confusion_rates(y_true, p, threshold=0.5):
             y, pred = np.asarray(y_true), np.asarray(p) >= threshold
             tp, fn = np.sum(pred & (y == 1)), np.sum(~pred & (y == 1))
             tn, fp = np.sum(~pred & (y == 0)), np.sum(pred & (y == 0))
             return tp / (tp + fn), tn / (tn + fp), tp / (tp + fp), tn / (tn + fn)
         """, "return a dict"),
    ],
    "10.2": [
        ("""
         def threshold_for_sensitivity(y_true, p, target=0.95):
             malignant = np.sort(np.asarray(p)[np.asarray(y_true) == 1])[::-1]
             return float(malignant[int(target * len(malignant)) - 1])
         """, "lower it"),
        ("""
         def threshold_for_sensitivity(y_true, p, target=0.95):
             malignant = np.sort(np.asarray(p)[np.asarray(y_true) == 1])[::-1]
             return float(malignant[int(np.ceil(0.95 * len(malignant))) - 1])
         """, "use the `target` argument"),
        ("""
         def threshold_for_sensitivity(y_true, p, target=0.95):
             malignant = np.sort(np.asarray(p)[np.asarray(y_true) == 1])[::-1]
             return float(malignant[min(int(np.ceil(target * len(malignant))), len(malignant) - 1)])
         """, "take the *highest* threshold"),
        ("""
         def threshold_for_sensitivity(y_true, p, target=0.95):
             scores = np.sort(np.asarray(p))[::-1]
             return float(scores[int(np.ceil(target * len(scores))) - 1])
         """, "from the malignant scores only"),
        ("""
         def threshold_for_sensitivity(y_true, p, target=0.95):
             malignant = np.asarray(p)[np.asarray(y_true) == 1]
             return float(np.quantile(malignant, 1 - target))
         """, "take the *highest* threshold"),
        ("""
         def threshold_for_sensitivity(y_true, p, target=0.95):
             return {"threshold": 0.5}
         """, "should be a number"),
    ],
    "10.3": [
        ("""
         def youden_threshold(y_true, p):
             fpr, tpr, thresholds = roc_curve(y_true, p)
             return float(np.max(tpr - fpr))
         """, "J = sensitivity + specificity - 1"),
        ("""
         def youden_threshold(y_true, p):
             fpr, tpr, thresholds = roc_curve(y_true, p)
             return float(thresholds[0])
         """, "no better than chance"),
        ("""
         def youden_threshold(y_true, p):
             fpr, tpr, thresholds = roc_curve(y_true, p)
             return float(thresholds[min(np.argmax(tpr - fpr) + 1, len(thresholds) - 1)])
         """, "Maximise tpr - fpr"),
        ("""
         def youden_threshold(y_true, p):
             fpr, tpr, thresholds = roc_curve(y_true, p)
             return float(thresholds[np.argmax(tpr + fpr)])
         """, "every image is called malignant"),
        ("""
         def youden_threshold(y_true, p):
             return float(np.median(p))
         """, "Maximise tpr - fpr"),
        ("""
         def youden_threshold(y_true, p):
             fpr, tpr, thresholds = roc_curve(y_true, p)
             return thresholds[np.argmax(tpr - fpr)], np.max(tpr - fpr)
         """, "should be a number"),
    ],
    "10.4": [
        ("""
         def ece(y_true, p, n_bins=10):
             y, p = np.asarray(y_true, float), np.asarray(p, float)
             idx = np.digitize(p, np.linspace(0, 1, n_bins + 1)) - 1
             return float(sum((idx == b).mean() * abs(y[idx == b].mean() - p[idx == b].mean())
                              for b in range(n_bins) if (idx == b).any()))
         """, "p = 1.0 are left out"),
        ("""
         def ece(y_true, p, n_bins=10):
             y, p = np.asarray(y_true, float), np.asarray(p, float)
             idx = np.digitize(p, np.linspace(0, 1, n_bins + 1)[1:-1], right=True)
             return float(sum((idx == b).mean() * abs(y[idx == b].mean() - p[idx == b].mean())
                              for b in range(n_bins) if (idx == b).any()))
         """, "goes in the bin above it"),
        ("""
         def ece(y_true, p, n_bins=10):
             y, p = np.asarray(y_true, float), np.asarray(p, float)
             idx = np.minimum((p * 10).astype(int), 9)
             return float(sum((idx == b).mean() * abs(y[idx == b].mean() - p[idx == b].mean())
                              for b in range(10) if (idx == b).any()))
         """, "use the argument"),
        ("""
         def ece(y_true, p, n_bins=10):
             y, p = np.asarray(y_true, float), np.asarray(p, float)
             idx = np.minimum((p * n_bins).astype(int), n_bins - 1)
             return float(max(abs(y[idx == b].mean() - p[idx == b].mean()) for b in range(n_bins) if (idx == b).any()))
         """, "maximum calibration error"),
        ("""
         def ece(y_true, p, n_bins=10):
             y, p = np.asarray(y_true, float), np.asarray(p, float)
             idx = np.minimum((p * n_bins).astype(int), n_bins - 1)
             return float(sum((idx == b).mean() * abs(y[idx == b].mean() - p[idx == b].mean()) for b in range(n_bins)))
         """, "skip the empty bins"),
        ("""
         def ece(y_true, p, n_bins=10):
             y, p = np.asarray(y_true, float), np.asarray(p, float)
             idx = np.minimum((p * n_bins).astype(int), n_bins - 1)
             return float(sum((idx == b).mean() * (y[idx == b].mean() - p[idx == b].mean())
                              for b in range(n_bins) if (idx == b).any()))
         """, "cancel out"),
    ],
    "11.1": [
        ("""
         def last_feature_map(model):
             return [layer.name for layer in model.layers if len(layer.output.shape) == 4][-1]
         """, "1-channel attention (or saliency) map"),
        ("""
         def last_feature_map(model):
             return [layer.name for layer in model.layers if len(layer.output.shape) == 4][0]
         """, "the input layer"),
        ("""
         def last_feature_map(model):
             return model.layers[-2].name
         """, "not a feature map"),
        ("""
         def last_feature_map(model):
             return "conv_b"
         """, "which is not a layer of the model"),
        ("""
         def last_feature_map(model):
             return next(layer for layer in reversed(model.layers) if len(layer.output.shape) == 4
                         and layer.output.shape[-1] > 1)
         """, "return its name"),
        ("""
         def last_feature_map(model):
             return [layer.name for layer in model.layers
                     if len(layer.output.shape) == 4 and layer.output.shape[-1] > 1
                     and not isinstance(layer, keras.layers.InputLayer)][0]
         """, "take the *last* 4-D layer"),
        ("""
         def last_feature_map(model):
             return [layer.name for layer in model.layers if len(layer.output_shape) == 4][-1]
         """, "Keras 3 layers have no output_shape"),
    ],
    "11.2": [
        ("""
         def grad_cam_map(model, image, layer_name):
             tap = keras.Model(model.input, [model.get_layer(layer_name).output, model.output])
             with tf.GradientTape() as tape:
                 features, score = tap(image[None], training=False)
             grads = tape.gradient(score, features)
             cam = tf.abs(tf.reduce_sum(features * tf.reduce_mean(grads, axis=(1, 2), keepdims=True), axis=-1))[0]
             return (cam / tf.reduce_max(cam)).numpy()
         """, "absolute value"),
        ("""
         def grad_cam_map(model, image, layer_name):
             tap = keras.Model(model.input, [model.get_layer(layer_name).output, model.output])
             with tf.GradientTape() as tape:
                 features, score = tap(image[None], training=False)
             grads = tape.gradient(score, features)
             cam = tf.nn.relu(tf.reduce_sum(features * tf.reduce_mean(grads, axis=(1, 2), keepdims=True), axis=-1))
             return (cam / tf.reduce_max(cam)).numpy()
         """, "take [0] of the batch"),
        ("""
         def grad_cam_map(model, image, layer_name):
             tap = keras.Model(model.input, [model.get_layer(layer_name).output, model.output])
             with tf.GradientTape() as tape:
                 features, score = tap(image[None], training=False)
             grads = tape.gradient(score, features)
             cam = tf.nn.relu(tf.reduce_sum(features * tf.reduce_mean(grads, axis=(1, 2), keepdims=True), axis=-1))
             cam = tf.image.resize(cam[..., None], image.shape[:2])[0, ..., 0]
             return (cam / tf.reduce_max(cam)).numpy()
         """, "one value per position of that layer"),
        ("""
         def grad_cam_map(model, image, layer_name):
             tap = keras.Model(model.input, [model.get_layer(layer_name).output, model.output])
             with tf.GradientTape() as tape:
                 features, score = tap(image[None], training=False)
             grads = tape.gradient(score, features)
             cam = tf.nn.relu(tf.reduce_sum(features * tf.reduce_mean(grads, axis=(1, 2), keepdims=True), axis=-1))[0]
             return (cam / tf.reduce_sum(cam)).numpy()
         """, "divide by the maximum"),
        ("""
         def grad_cam_map(model, image, layer_name):
             tap = keras.Model(model.input, [model.get_layer(layer_name).output, model.output])
             with tf.GradientTape() as tape:
                 features, score = tap(image[None], training=False)
             grads = tape.gradient(score, features)
             cam = tf.nn.relu(tf.reduce_mean(grads, axis=-1))[0]
             return (cam / tf.reduce_max(cam)).numpy()
         """, "differs from Grad-CAM's"),
        ("""
         def grad_cam_map(model, image, layer_name):
             tap = keras.Model(model.input, [model.get_layer("features").output, model.output])
             with tf.GradientTape() as tape:
                 features, score = tap(image[None], training=False)
             grads = tape.gradient(score, features)
             cam = tf.nn.relu(tf.reduce_sum(features * tf.reduce_mean(grads, axis=(1, 2), keepdims=True), axis=-1))[0]
             return (cam / tf.reduce_max(cam)).numpy()
         """, "not a fixed one"),
        ("""
         def grad_cam_map(model, image, layer_name):
             tap = keras.Model(model.input, [model.get_layer("conv").output, model.output])
             with tf.GradientTape() as tape:
                 features, score = tap(image[None], training=False)
             return tape.gradient(score, features)[0, ..., 0].numpy()
         """, "model.get_layer(layer_name)"),
    ],
    "11.3": [
        ("""
         def randomized_copy(model, seed=0):
             clone = keras.models.clone_model(model)
             rng = np.random.default_rng(0)
             for weight in clone.trainable_weights:
                 weight.assign(rng.normal(0, 0.05, size=tuple(weight.shape)).astype("float32"))
             return clone
         """, "use the seed"),
        ("""
         def randomized_copy(model, seed=0):
             clone = keras.models.clone_model(model)
             for weight in clone.trainable_weights:
                 weight.assign(np.random.normal(0, 0.05, size=tuple(weight.shape)).astype("float32"))
             return clone
         """, "draw them from np.random.default_rng(seed)"),
        ("""
         def randomized_copy(model, seed=0):
             clone = keras.models.clone_model(model)
             clone.set_weights(model.get_weights())
             rng = np.random.default_rng(seed)
             for weight in clone.trainable_weights:
                 if "kernel" in weight.path:
                     weight.assign(rng.normal(0, 0.05, size=tuple(weight.shape)).astype("float32"))
             return clone
         """, "randomise every trainable weight"),
        ("""
         def randomized_copy(model, seed=0):
             return model
         """, "returned the model it was given"),
        ("""
         def randomized_copy(model, seed=0):
             rng = np.random.default_rng(seed)
             return [rng.normal(0, 0.05, size=tuple(w.shape)) for w in model.trainable_weights]
         """, "not a keras.Model"),
    ],
    "11.4": [
        ("""
         def map_similarity(a, b):
             return spearmanr(np.ravel(a), np.ravel(b))
         """, "return one number"),
        ("""
         def map_similarity(a, b):
             return float(spearmanr(np.ravel(a), np.ravel(b)).pvalue)
         """, "the p-value of the test"),
        ("""
         def map_similarity(a, b):
             from scipy.stats import kendalltau
             return float(kendalltau(np.ravel(a), np.ravel(b)).statistic)
         """, "Spearman rank correlation is"),
        ("""
         def map_similarity(a, b):
             return 1 - float(spearmanr(np.ravel(a), np.ravel(b)).statistic)
         """, "1 - the rank correlation (a distance"),
        ("""
         def map_similarity(a, b):
             a, b = np.ravel(a), np.ravel(b)
             return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
         """, "Correlate *ranks*"),
    ],
    "12.1": [
        ("""
         def save_and_reload(model, path):
             model.save(path)
             clone = keras.models.clone_model(model)
             clone.set_weights(model.get_weights())
             return clone
         """, "was not loaded from the file"),
        ("""
         def save_and_reload(model, path):
             model.save(path)
             return keras.models.clone_model(model)
         """, "predicts differently"),
        ("""
         def save_and_reload(model, path):
             model.save(path)
             keras.models.load_model(path, safe_mode=True)
         """, "returned None"),
        ("""
         def save_and_reload(model, path):
             other = str(path).replace(".keras", "_copy.keras")
             model.save(other)
             return keras.models.load_model(other, safe_mode=True)
         """, "wrote no file there"),
        ("""
         def save_and_reload(model, path):
             keras.saving.save_model(model, path)
             return keras.saving.load_model(path, safe_mode=False)
         """, "safe_mode was off"),
    ],
    "12.2": [
        ("""
         def predict_folder(model, folder, csv_path, threshold=0.5):
             paths = sorted(p for p in Path(folder).iterdir() if p.suffix in (".png", ".jpg", ".jpeg"))
             results = inference.predict_images(model, paths, threshold=threshold)
             with open(csv_path, "w", newline="") as f:
                 writer = csv.DictWriter(f, fieldnames=["path", "label", "probability_malignant", "error"])
                 writer.writeheader()
                 writer.writerows(asdict(r) for r in results)
         """, "extension is in upper case"),
        ("""
         def predict_folder(model, folder, csv_path, threshold=0.5):
             paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
             results = inference.predict_images(model, paths, threshold=threshold)
             with open(csv_path, "w", newline="") as f:
                 writer = csv.DictWriter(f, fieldnames=["path", "label", "probability_malignant", "error"])
                 writer.writeheader()
                 writer.writerows(asdict(r) for r in results if not r.error)
         """, "a broken file still gets a row"),
        ("""
         def predict_folder(model, folder, csv_path, threshold=0.5):
             paths = sorted((p for p in Path(folder).iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg")),
                            reverse=True)
             results = inference.predict_images(model, paths, threshold=threshold)
             with open(csv_path, "w", newline="") as f:
                 writer = csv.DictWriter(f, fieldnames=["path", "label", "probability_malignant", "error"])
                 writer.writeheader()
                 writer.writerows(asdict(r) for r in results)
         """, "sort the files by name"),
        ("""
         def predict_folder(model, folder, csv_path, threshold=0.5):
             paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
             results = inference.predict_images(model, paths, threshold=threshold)
             with open(csv_path, "w", newline="") as f:
                 writer = csv.DictWriter(f, fieldnames=["path", "label", "probability_malignant"], extrasaction="ignore")
                 writer.writeheader()
                 writer.writerows(asdict(r) for r in results)
         """, "it needs ['error', 'label', 'path', 'probability_malignant']"),
        ("""
         def predict_folder(model, folder, csv_path, threshold=0.5):
             paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() == ".png")
             results = inference.predict_images(model, paths, threshold=threshold)
             with open(csv_path, "w", newline="") as f:
                 writer = csv.DictWriter(f, fieldnames=["path", "label", "probability_malignant", "error"])
                 writer.writeheader()
                 writer.writerows(asdict(r) for r in results)
         """, "(b_bright.jpg missing)"),
        ("""
         def predict_folder(model, folder, csv_path, threshold=0.5):
             paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
             images = np.stack([inference.read_image(p, 8) for p in paths])
             probabilities = model.predict(images, verbose=0)[:, 0]
             with open(csv_path, "w", newline="") as f:
                 csv.writer(f).writerows(zip(paths, probabilities))
         """, "one bad file must not stop the others"),
        ("""
         def predict_folder(model, folder, csv_path, threshold=0.5):
             paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
             results = inference.predict_images(model, paths, threshold=threshold)
             with open(csv_path, "w", newline="") as f:
                 writer = csv.DictWriter(f, fieldnames=["path", "label", "probability", "error"])
                 writer.writeheader()
                 writer.writerows(asdict(r) for r in results)
         """, "your code raised ValueError"),
    ],
    "12.3": [
        ("""
         def write_card(ev):
             chosen, data = ev["thresholds"]["chosen"], ev["dataset"]
             low, high = ev["auc_ci"]
             lines = [f"# Model card: {ev['model']['name']}", "Research and education only - not for clinical use.",
                      f"{data['n']} {data['split']} images. AUC {ev['auc']:.3f} (95% CI {low:.3f}-{high:.3f})",
                      f"threshold {chosen['threshold']:.3f} chosen on {chosen['chosen_on']}: "
                      f"sensitivity {chosen['sensitivity']:.3f}, specificity {chosen['specificity']:.3f}"]
             if chosen["chosen_on"] == data["split"]:
                 lines.append("These figures are optimistic.")
             return "\\n".join(lines)
         """, "shows the sensitivity of the validation split"),
        ("""
         def write_card(ev):
             chosen, conf, data = ev["thresholds"]["chosen"], ev["confusion_matrix_chosen"], ev["dataset"]
             low, high = ev["auc_ci"]
             return "\\n".join([f"# Model card: {ev['model']['name']}", "Not for clinical use.",
                                f"{data['n']} images. AUC {ev['auc']:.3f} (95% CI {low:.3f}-{high:.3f})",
                                f"threshold {chosen['threshold']:.3f} chosen on {chosen['chosen_on']}: sensitivity "
                                f"{conf['sensitivity']:.3f}, specificity {conf['specificity']:.3f}",
                                "These figures may be optimistic."])
         """, "calls the figures optimistic although"),
        ("""
         def write_card(ev):
             chosen, conf, data = ev["thresholds"]["chosen"], ev["confusion_matrix_chosen"], ev["dataset"]
             low, high = ev["auc_ci"]
             lines = [f"# Model card: {ev['model']['name']}", "Not for clinical use.",
                      f"AUC {ev['auc']:.3f} (95% CI {low:.3f}-{high:.3f})",
                      f"threshold {chosen['threshold']:.3f} chosen on {chosen['chosen_on']}: sensitivity "
                      f"{conf['sensitivity']:.3f}, specificity {conf['specificity']:.3f}"]
             if chosen["chosen_on"] == data["split"]:
                 lines.append("These figures are optimistic.")
             return "\\n".join(lines)
         """, "how many images were evaluated"),
        ("""
         def write_card(ev):
             chosen, conf, data = ev["thresholds"]["chosen"], ev["confusion_matrix_chosen"], ev["dataset"]
             low, high = ev["auc_ci"]
             lines = [f"# Model card: {ev['model']['name']}", "Not for clinical use.",
                      f"{data['n']} images. AUC {ev['auc']:.3f} (95% CI {low:.3f}-{high:.3f})",
                      f"threshold {chosen['threshold']:.3f}: sensitivity {conf['sensitivity']:.3f}, "
                      f"specificity {conf['specificity']:.3f}"]
             if chosen["chosen_on"] == data["split"]:
                 lines.append("These figures are optimistic.")
             return "\\n".join(lines)
         """, "on which split the threshold was chosen"),
        ("""
         def write_card(ev):
             chosen, conf, data = ev["thresholds"]["chosen"], ev["confusion_matrix_chosen"], ev["dataset"]
             low, high = ev["auc_ci"]
             lines = [f"# Model card: {ev['model']['name']}", "Not for clinical use.",
                      f"{data['n']} images. AUC {ev['auc']:.2f} (95% CI {low:.2f}-{high:.2f})",
                      f"threshold {chosen['threshold']:.2f} chosen on {chosen['chosen_on']}: sensitivity "
                      f"{conf['sensitivity']:.2f}, specificity {conf['specificity']:.2f}"]
             if chosen["chosen_on"] == data["split"]:
                 lines.append("These figures are optimistic.")
             return "\\n".join(lines)
         """, "(3 decimals"),
        ("""
         def write_card(ev):
             conf = ev["confusion_matrix_chosen"]
             return (f"Model card\\nNot for clinical use. AUC {ev['auc']:.3f}, sensitivity {conf['sensitivity']:.3f}")
         """, "start with the title"),
    ],
}

# ---------------------------------------------------------------- right answers written another way
RIGHT = {
    "07.1": ["""
        def class_shares(class_weight):
            inverse = {c: 1 / w for c, w in class_weight.items()}
            total = sum(inverse.values())
            return {c: v / total for c, v in inverse.items()}
        """],
    "07.2": ["""
        def lr_schedule(epoch, lr):
            return 1e-3 if epoch == 0 else lr * 0.9
        """, """
        def lr_schedule(epoch, lr=None):
            return 1e-3 * math.pow(0.9, epoch)
        """],
    "07.3": ["""
        def make_callbacks(patience=3):
            schedule = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 1e-3 * 0.9 ** epoch)
            stop = keras.callbacks.EarlyStopping("val_auc", patience=patience, restore_best_weights=True)
            return [schedule, stop]
        """],
    "08.1": ["""
        remedy_configs = (Variant("baseline"), Variant("both", augmentation=1.0, label_smoothing=0.1),
                          Variant("smoothing only", label_smoothing=0.1), Variant("augmentation only", augmentation=1.0))
        """],
    "08.2": ["""
        def recall_at_specificity(y_true, p, specificity=0.9):
            y_true, p = np.asarray(y_true), np.asarray(p)
            threshold = np.quantile(p[y_true == 0], specificity, method="inverted_cdf")
            return float(np.mean(p[y_true == 1] > threshold))
        """, """
        def recall_at_specificity(y_true, p, specificity=0.9):
            benign = sorted(s for s, label in zip(p, y_true) if label == 0)
            threshold = np.nextafter(benign[math.ceil(specificity * len(benign)) - 1], np.inf)
            malignant = [s for s, label in zip(p, y_true) if label == 1]
            return sum(s >= threshold for s in malignant) / len(malignant)
        """],
    "08.3": ["""
        def focal_loss(y_true, p, gamma=2.0):
            y = np.asarray(y_true, dtype=float)
            p = np.clip(np.asarray(p, dtype=float), 1e-7, 1 - 1e-7)
            p_t = np.where(y == 1, p, 1 - p)
            return float(-np.sum((1 - p_t) ** gamma * np.log(p_t)) / len(p_t))
        """],
    "08.4": ["""
        def balanced_batches(benign, malignant, batch_size, steps, seed=0):
            classes = [benign.shuffle(100, seed=seed).repeat(), malignant.shuffle(100, seed=seed).repeat()]
            alternate = tf.data.Dataset.range(2).repeat()
            return tf.data.Dataset.choose_from_datasets(classes, alternate).batch(batch_size).take(steps)
        """, """
        def balanced_batches(benign, malignant, batch_size, steps, seed=0):
            mixed = tf.data.Dataset.sample_from_datasets([benign.repeat(), malignant.repeat()], seed=seed,
                                                         stop_on_empty_dataset=True)
            return mixed.batch(batch_size, drop_remainder=True).take(steps)
        """],
    "09.1": ["""
        def search_space(hp):
            values = {"augmentation": hp.Float("augmentation", min_value=0.0, max_value=1.5, step=0.5),
                      "l2": hp.Choice("l2", values=[0.0, 1e-5, 1e-4])}
            values["dropout"] = hp.Float("dropout", min_value=0.2, max_value=0.6, step=0.1)
            values["learning_rate"] = hp.Float("learning_rate", min_value=1e-4, max_value=3e-3, sampling="log")
            return values
        """],
    "09.2": ["""
        def split_for(step):
            return "train" if "fit" in step else "test" if step.startswith("report") else "validation"
        """],
    "09.3": ['objective = kt.Objective(name="val_auc", direction="max")'],
    "09.4": ["""
        def fresh_directory(results_root):
            import uuid
            folder = Path(results_root) / "tuning" / f"run-{uuid.uuid4().hex[:12]}"
            folder.mkdir(parents=True)
            return str(folder)
        """, """
        def fresh_directory(results_root):
            base = Path(results_root) / "tuning"
            base.mkdir(parents=True, exist_ok=True)
            n = 1
            while (base / f"search-{n:03d}").exists():
                n += 1
            (base / f"search-{n:03d}").mkdir()
            return base / f"search-{n:03d}"
        """],
    "10.1": ["""
        def confusion_rates(y_true, p, threshold=0.5):
            from sklearn.metrics import confusion_matrix
            tn, fp, fn, tp = confusion_matrix(y_true, np.asarray(p) >= threshold, labels=[0, 1]).ravel()
            return {"npv": tn / (tn + fn), "ppv": tp / (tp + fp), "specificity": tn / (tn + fp),
                    "sensitivity": tp / (tp + fn)}
        """],
    "10.2": ["""
        def threshold_for_sensitivity(y_true, p, target=0.95):
            y, p = np.asarray(y_true), np.asarray(p)
            for t in sorted(set(p.tolist()), reverse=True):
                if np.mean(p[y == 1] >= t) >= target - 1e-12:
                    return t
        """],
    "10.3": ["""
        def youden_threshold(y_true, p):
            y, p = np.asarray(y_true), np.asarray(p)
            def j(t):
                return np.mean(p[y == 1] >= t) + np.mean(p[y == 0] < t) - 1
            return max(sorted(set(p.tolist()), reverse=True), key=j)
        """],
    "10.4": ["""
        def ece(y_true, p, n_bins=10):
            y, p = np.asarray(y_true, dtype=float), np.asarray(p, dtype=float)
            idx = np.digitize(p, np.linspace(0, 1, n_bins + 1)[1:-1])
            counts = np.bincount(idx, minlength=n_bins)
            gap = np.abs(np.bincount(idx, y, n_bins) - np.bincount(idx, p, n_bins))
            return float(gap.sum() / counts.sum())
        """, """
        def ece(y_true, p, n_bins=10):
            pairs = list(zip(p, y_true))
            bins = [[] for _ in range(n_bins)]
            for score, label in pairs:
                bins[min(int(score * n_bins), n_bins - 1)].append((score, label))
            return sum(len(b) / len(pairs) * abs(np.mean([s for s, _ in b]) - np.mean([t for _, t in b]))
                       for b in bins if b)
        """],
    "11.1": ["""
        def last_feature_map(model):
            for layer in model.layers[:0:-1]:
                if layer.output.ndim == 4 and layer.output.shape[-1] > 1:
                    return layer.name
        """],
    "11.2": ["""
        def grad_cam_map(model, image, layer_name):
            tap = keras.Model(model.input, [model.get_layer(layer_name).output, model.output])
            x = tf.convert_to_tensor(image[None])
            with tf.GradientTape() as tape:
                features, score = tap(x, training=False)
            grads = tape.gradient(score, features).numpy()[0]
            cam = np.maximum((features.numpy()[0] * grads.sum(axis=(0, 1))).sum(axis=-1), 0)
            return cam / cam.max()
        """],
    "11.3": ["""
        def randomized_copy(model, seed=0):
            copy = keras.models.clone_model(model)
            rng = np.random.default_rng(seed)
            for variable in copy.trainable_variables:
                variable.assign(rng.uniform(-0.1, 0.1, size=tuple(variable.shape)).astype("float32"))
            return copy
        """],
    "11.4": ["""
        def map_similarity(a, b):
            from scipy.stats import rankdata
            return float(np.corrcoef(rankdata(np.ravel(a)), rankdata(np.ravel(b)))[0, 1])
        """],
    "12.1": ["""
        def save_and_reload(model, path):
            keras.saving.save_model(model, path)
            return keras.saving.load_model(path, compile=False)
        """, """
        def save_and_reload(model, path):
            model.save(path)
            return keras.models.load_model(path)  # safe_mode is True by default
        """],
    "12.2": ["""
        def predict_folder(model, folder, csv_path, threshold=0.5):
            images = [p for p in sorted(Path(folder).glob("*")) if p.suffix.lower() in {".png", ".jpg", ".jpeg"}]
            with open(csv_path, "w", newline="", encoding="utf-8") as f:
                out = csv.writer(f)
                out.writerow(["path", "label", "probability_malignant", "error"])
                for r in inference.predict_images(model, images, threshold=threshold):
                    out.writerow([r.path, r.label or "", "" if r.probability_malignant is None
                                  else r.probability_malignant, r.error or ""])
            return csv_path
        """],
    "12.3": ["""
        def write_card(ev):
            chosen, conf = ev["thresholds"]["chosen"], ev["confusion_matrix_chosen"]
            split = ev["dataset"]["split"]
            rows = [("AUC (95% CI)", f"{ev['auc']:.3f} ({ev['auc_ci'][0]:.3f} to {ev['auc_ci'][1]:.3f})"),
                    ("images", f"{ev['dataset']['n']} ({split})"),
                    ("threshold", f"{chosen['threshold']:.3f}, chosen on {chosen['chosen_on']}"),
                    ("sensitivity / specificity", f"{conf['sensitivity']:.3f} / {conf['specificity']:.3f}")]
            warning = ["", "Warning: threshold chosen on the evaluated split; optimistic."] \\
                if chosen["chosen_on"] == split else []
            return "\\n".join([f"# Model card: {ev['model']['name']}", "", "Not for clinical use.", "",
                               "| measure | value |", "|---|---|"] + [f"| {a} | {b} |" for a, b in rows] + warning)
        """],
}
WRONG_CASES = [(pid, i) for pid, cases in WRONG.items() for i in range(len(cases))]
RIGHT_CASES = [(pid, i) for pid, cases in RIGHT.items() for i in range(len(cases))]


def _problem(pid: str):
    return next(p for p in CHECKED if p.id == pid)


def test_every_question_has_five_wrong_answers_and_a_right_alternative():
    ids = {p.id for p in CHECKED}
    assert ids == set(WRONG) == set(RIGHT), (ids ^ set(WRONG), ids ^ set(RIGHT))
    assert all(len(WRONG[pid]) >= 5 for pid in ids), {pid: len(WRONG[pid]) for pid in ids}
    for pid in ids:
        solution = textwrap.dedent(_problem(pid).solution_code).strip()
        assert all(textwrap.dedent(code).strip() != solution for code in RIGHT[pid]), pid


@pytest.mark.filterwarnings("ignore:Mean of empty slice", "ignore:invalid value encountered")  # the answers' own
@pytest.mark.parametrize("pid, index", WRONG_CASES, ids=[f"{p}-{i}" for p, i in WRONG_CASES])
def test_a_known_wrong_answer_is_refused_naming_the_mistake(pid, index):
    problem = _problem(pid)
    code, fragment = WRONG[pid][index]
    result = problem.evaluate(*_answers(problem, code))
    assert result.status == core.INCORRECT, result.line()
    assert fragment in result.message, result.message
    assert "\x1b[" not in result.message and "cancer_course/exercises" not in result.message, result.message


@pytest.mark.parametrize("pid, index", RIGHT_CASES, ids=[f"{p}-{i}" for p, i in RIGHT_CASES])
def test_a_right_answer_written_another_way_is_accepted(pid, index):
    problem = _problem(pid)
    result = problem.evaluate(*_answers(problem, RIGHT[pid][index]))
    assert result.status == core.CORRECT, result.line()


# ---------------------------------------------------------------- hints: from a nudge to blanks, never the solution
EVERY = [p for lesson in LESSONS for p in problems(lesson)]


@pytest.mark.parametrize("problem", EVERY, ids=[p.id for p in EVERY])
def test_hints_stop_short_of_the_solution_and_the_last_has_blanks(problem):
    def flat(text):
        return re.sub(r"\s|['\"]", "", text)

    solution = {flat(line) for line in textwrap.dedent(problem.solution_code).splitlines()}
    solution = {line for line in solution if len(line) >= 12 and not line.startswith(("def", "import", "from", "#"))}
    assert len(problem.hints) >= 3, "a nudge, a closer look, a skeleton"
    for number, hint in enumerate(problem.hints, 1):
        shown = sorted(line for line in solution if line in flat(hint))
        assert len(shown) <= 1, f"hint {number} shows the solution's lines {shown}"
    if "def " in problem.solution_code:
        assert "____" in problem.hints[-1], "the last hint is a skeleton with blanks"


# ---------------------------------------------------------------- the messages the issue found misleading
def test_a_specificity_computed_as_the_fpr_is_not_called_a_swap_of_sensitivity_and_ppv():
    problem = _problem("10.1")
    result = problem.evaluate(*_answers(problem, WRONG["10.1"][0][0]))
    assert "false-positive rate" in result.message and "swapped" not in result.message, result.message


def test_an_error_of_the_answer_itself_is_not_blamed_on_the_broken_file():
    problem = _problem("12.2")
    result = problem.evaluate(*_answers(problem, WRONG["12.2"][-1][0]))
    assert "broken" not in result.message and "probability" in result.message, result.message


def test_a_case_sensitive_filter_is_not_blamed_on_a_broken_file():
    problem = _problem("12.2")
    result = problem.evaluate(*_answers(problem, WRONG["12.2"][0][0]))
    assert "broken file" not in result.message and "f_scanner.PNG" in result.message, result.message


def test_an_epoch_that_never_ends_is_refused_in_bounded_time():
    """An endless dataset whose cardinality tf.data cannot tell (a filter) is refused after twice the batches."""
    problem = _problem("08.4")
    result = problem.evaluate(*_answers(problem, """
        def balanced_batches(benign, malignant, batch_size, steps, seed=0):
            ds = tf.data.Dataset.sample_from_datasets([benign.repeat(), malignant.repeat()], seed=seed)
            return ds.batch(batch_size).filter(lambda x, y: True)
        """))
    assert result.status == core.INCORRECT and "end the epoch with .take(steps)" in result.message, result.line()
