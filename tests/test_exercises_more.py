"""The exercises of lessons 01 and 08-12: every check on its right answer, known-wrong answers with
the expected message, and the placeholder (the notebook-level tests are in test_exercises.py, which
runs them for every solution notebook)."""

from __future__ import annotations

import textwrap

import pytest

from cancer_course.exercises import ____, core, problems

LESSONS = ("01", "08", "09", "10", "11", "12")
# the interpretive problems (reading evidence, answered with letters): tests/test_exercises_interpretive.py
PROBLEMS = [p for lesson in LESSONS for p in problems(lesson) if not p.interpretive]


def _scaffold() -> dict:
    """What the solution notebooks import before the exercises."""
    import csv
    import hashlib
    import math
    import time
    from collections import defaultdict
    from dataclasses import asdict
    from pathlib import Path

    import keras
    import keras_tuner as kt
    import numpy as np
    import tensorflow as tf
    from keras import layers
    from scipy.stats import spearmanr
    from sklearn.metrics import roc_curve

    from cancer_course import inference
    from cancer_course.experiments import Variant

    return {"keras": keras, "layers": layers, "tf": tf, "np": np, "math": math, "kt": kt, "csv": csv,
            "hashlib": hashlib, "time": time, "defaultdict": defaultdict, "asdict": asdict, "Path": Path,
            "spearmanr": spearmanr, "roc_curve": roc_curve, "inference": inference, "Variant": Variant, "____": ____}


def _namespace(problem) -> dict:
    ns = _scaffold()
    for p in problems(problem.id.split(".")[0]):
        exec(textwrap.dedent(p.solution_code), ns)
        if p is problem:
            break
    return ns


def test_at_least_three_problems_per_lesson():
    for lesson in LESSONS:
        assert len(problems(lesson)) >= 3, lesson
    assert len(problems()) >= 36


@pytest.mark.parametrize("problem", PROBLEMS, ids=[p.id for p in PROBLEMS])
def test_right_answer_is_correct(problem):
    ns = _namespace(problem)
    result = problem.evaluate(*[ns[name] for name in problem.names])
    assert result.status == core.CORRECT, result.message
    assert problem.hints and problem.solution_code.strip()


@pytest.mark.parametrize("problem", PROBLEMS, ids=[p.id for p in PROBLEMS])
def test_placeholder_is_not_attempted(problem):
    assert problem.evaluate(*[____] * len(problem.names)).status == core.NOT_ATTEMPTED

    def stub(*args, **kwargs):
        return ____

    assert problem.evaluate(stub).status == core.NOT_ATTEMPTED


WRONG = {
    "01.1": [
        ('''def weights_from_counts(counts):
                total = sum(counts.values())
                return {c: total / (2 * n) for c, n in counts.items()}''', "keyed by class name"),
        ('''def weights_from_counts(counts):
                total = counts["benign"] + counts["malignant"]
                return {0: total / (2 * counts["malignant"]), 1: total / (2 * counts["benign"])}''', "swapped"),
        ('''def weights_from_counts(counts):
                return {0: 1 / counts["benign"], 1: 1 / counts["malignant"]}''', "wrong scale"),
    ],
    "01.2": [
        ('''def colour_features(images):
                pixels = images.reshape(len(images), -1, 3).astype(float)
                return np.concatenate([pixels.mean(axis=1), pixels.std(axis=1)], axis=1)''', "scale the pixels"),
        ('''def colour_features(images):
                pixels = images.reshape(len(images), -1, 3) / 255.0
                return np.concatenate([pixels.mean(axis=1), pixels.var(axis=1)], axis=1)''', "variances"),
        ('''def colour_features(images):
                pixels = images.reshape(len(images), -1, 3) / 255.0
                return np.stack([pixels.mean(axis=1), pixels.std(axis=1)], axis=1)''', "expected (5, 6)"),
    ],
    "01.3": [
        ('''def cross_split_duplicates(root):
                root = Path(root)
                groups = defaultdict(list)
                for path in sorted(root.glob("*/*/*.png")):
                    groups[path.name].append(path.relative_to(root).as_posix())
                return [set(g) for g in groups.values() if len({f.split("/")[0] for f in g}) > 1]''',
         "share a name"),
        ('''def cross_split_duplicates(root):
                root = Path(root)
                groups = defaultdict(list)
                for path in sorted(root.glob("*/*/*.png")):
                    groups[hashlib.sha256(path.read_bytes()).hexdigest()].append(path.relative_to(root).as_posix())
                return [set(g) for g in groups.values() if len(g) > 1]''', "not a leak"),
        ('''def cross_split_duplicates(root):
                root = Path(root)
                groups = defaultdict(list)
                for path in sorted(root.glob("train/*/*.png")) + sorted(root.glob("test/*/*.png")):
                    groups[hashlib.sha256(path.read_bytes()).hexdigest()].append(path.relative_to(root).as_posix())
                return [set(g) for g in groups.values() if len({f.split("/")[0] for f in g}) > 1]''', "only partly"),
    ],
    "08.1": [
        ('''remedy_configs = [Variant("augmentation", augmentation=1.0), Variant("label smoothing", label_smoothing=0.1),
                Variant("both", augmentation=1.0, label_smoothing=0.1)]''', "start with the baseline"),
        ('''remedy_configs = [Variant("baseline"), Variant("augmentation", augmentation=1.0, dropout=0.6),
                Variant("label smoothing", label_smoothing=0.1), Variant("both", augmentation=1.0, label_smoothing=0.1)]''',
         "also changes {'dropout': 0.6}"),
        ('''remedy_configs = [Variant("baseline"), Variant("augmentation", augmentation=1.0),
                Variant("both", augmentation=1.0, label_smoothing=0.1)]''', "label_smoothing=0.1 *alone*"),
    ],
    "08.2": [
        ('''def recall_at_specificity(y_true, p, specificity=0.9):
                y_true, p = np.asarray(y_true), np.asarray(p)
                return float(np.mean(p[y_true == 1] > p[y_true == 0].max()))''', "above *every* benign score"),
        ('''def recall_at_specificity(y_true, p, specificity=0.9):
                y_true, p = np.asarray(y_true), np.asarray(p)
                threshold = np.quantile(p, specificity)
                return float(np.mean(p[y_true == 1] > threshold))''', "expected 0.4"),
    ],
    "08.3": [
        ('''def focal_loss(y_true, p, gamma=2.0):
                y, p = np.asarray(y_true, float), np.clip(np.asarray(p, float), 1e-7, 1 - 1e-7)
                p_t = y * p + (1 - y) * (1 - p)
                return float(np.mean(-np.log(p_t)))''', "plain cross-entropy"),
        ('''def focal_loss(y_true, p, gamma=2.0):
                y, p = np.asarray(y_true, float), np.clip(np.asarray(p, float), 1e-7, 1 - 1e-7)
                p_t = y * p + (1 - y) * (1 - p)
                return float(np.mean(-((1 - p) ** gamma) * np.log(p_t)))''', "probability of the *true* class"),
        ('''def focal_loss(y_true, p, gamma=2.0):
                y, p = np.asarray(y_true, float), np.clip(np.asarray(p, float), 1e-7, 1 - 1e-7)
                p_t = y * p + (1 - y) * (1 - p)
                return float(np.sum(-((1 - p_t) ** gamma) * np.log(p_t)))''', "*sum*"),
    ],
    "08.4": [
        ('''def balanced_batches(benign, malignant, batch_size, steps, seed=0):
                return benign.concatenate(malignant).shuffle(200, seed=seed).batch(batch_size).take(steps)''',
         "only 7 batches"),
        ('''def balanced_batches(benign, malignant, batch_size, steps, seed=0):
                ds = tf.data.Dataset.sample_from_datasets([benign.repeat(), malignant.repeat()], weights=[0.9, 0.1],
                                                          seed=seed)
                return ds.batch(batch_size).take(steps)''', "draw each class with probability 1/2"),
        ('''def balanced_batches(benign, malignant, batch_size, steps, seed=0):
                ds = tf.data.Dataset.sample_from_datasets([benign.repeat(), malignant.repeat()], weights=[0.5, 0.5],
                                                          seed=seed)
                return ds.batch(batch_size)''', ".take(steps)"),
    ],
    "09.1": [
        ('''def search_space(hp):
                return {"learning_rate": hp.Float("learning_rate", 1e-4, 3e-3),
                        "dropout": hp.Float("dropout", 0.2, 0.6, step=0.1), "l2": hp.Choice("l2", [0.0, 1e-5, 1e-4]),
                        "augmentation": hp.Float("augmentation", 0.0, 1.5, step=0.5)}''', "sampling='log'"),
        ('''def search_space(hp):
                return {"learning_rate": hp.Float("learning_rate", 1e-4, 3e-3, sampling="log"),
                        "dropout": hp.Float("dropout", 0.2, 0.6, step=0.1), "l2": hp.Choice("l2", [0.0, 1e-5, 1e-4])}''',
         "no hyperparameter named 'augmentation'"),
    ],
    "09.2": [
        ('''def split_for(step):
                return {"fit the weights": "train", "score a trial": "test"}.get(step, "validation")''',
         "makes the test score optimistic"),
        ('''def split_for(step):
                return "train" if step == "fit the weights" else "validation"''', "Report on the test split"),
        ('''def split_for(step):
                return {"fit the weights": "train", "early stopping": "train",
                        "report the final model": "test"}.get(step, "validation")''', "every setting looks good"),
    ],
    "09.3": [
        ('objective = kt.Objective("auc", direction="max")', "measured on the training split"),
        ('objective = kt.Objective("val_auc", direction="min")', "*lowest* AUC"),
        ('objective = "val_auc"', "cannot tell whether a higher AUC"),
    ],
    "09.4": [
        ('''def fresh_directory(results_root):
                folder = Path(results_root) / "tuning" / time.strftime("run-%Y%m%d-%H%M%S")
                folder.mkdir(parents=True, exist_ok=True)
                return folder''', "same folder"),
        ('''def fresh_directory(results_root):
                import shutil
                folder = Path(results_root) / "tuning" / "search"
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir(parents=True)
                return folder''', "same folder"),
        ('''def fresh_directory(results_root):
                return Path(results_root) / "tuning" / "run"''', "does not exist"),
    ],
    "10.1": [
        ('''def confusion_rates(y_true, p, threshold=0.5):
                y, pred = np.asarray(y_true), np.asarray(p) > threshold
                tp, fn = np.sum(pred & (y == 1)), np.sum(~pred & (y == 1))
                tn, fp = np.sum(~pred & (y == 0)), np.sum(pred & (y == 0))
                return {"sensitivity": tp / (tp + fn), "specificity": tn / (tn + fp), "ppv": tp / (tp + fp),
                        "npv": tn / (tn + fn)}''', "p >= threshold"),
        ('''def confusion_rates(y_true, p, threshold=0.5):
                y, pred = np.asarray(y_true), np.asarray(p) >= threshold
                tp, fn = np.sum(pred & (y == 1)), np.sum(~pred & (y == 1))
                tn, fp = np.sum(~pred & (y == 0)), np.sum(pred & (y == 0))
                return {"sensitivity": tn / (tn + fp), "specificity": tp / (tp + fn), "ppv": tp / (tp + fp),
                        "npv": tn / (tn + fn)}''', "swapped"),
        ('''def confusion_rates(y_true, p, threshold=0.5):
                y, pred = np.asarray(y_true), np.asarray(p) >= threshold
                tp, fn = np.sum(pred & (y == 1)), np.sum(~pred & (y == 1))
                tn, fp = np.sum(~pred & (y == 0)), np.sum(pred & (y == 0))
                return {"sensitivity": tp / (tp + fn), "specificity": tn / (tn + fp), "ppv": tp / (tp + fp),
                        "npv": tn / (tn + fp)}''', "npv is"),
    ],
    "10.2": [
        ('''def threshold_for_sensitivity(y_true, p, target=0.95):
                return float(np.min(np.asarray(p)[np.asarray(y_true) == 1]))''', "take the *highest* threshold"),
        ('''def threshold_for_sensitivity(y_true, p, target=0.95):
                return float(np.quantile(np.asarray(p)[np.asarray(y_true) == 1], target))''', "lower it"),
    ],
    "10.3": [
        ('''def youden_threshold(y_true, p):
                fpr, tpr, thresholds = roc_curve(y_true, p)
                return float(thresholds[np.argmax(fpr - tpr)])''', "not fpr - tpr"),
        ('''def youden_threshold(y_true, p):
                return 0.5''', "Maximise tpr - fpr"),
    ],
    "10.4": [
        ('''def ece(y_true, p, n_bins=10):
                y, p = np.asarray(y_true, float), np.asarray(p, float)
                idx = np.minimum((p * n_bins).astype(int), n_bins - 1)
                gaps = [abs(y[idx == b].mean() - p[idx == b].mean()) for b in range(n_bins) if (idx == b).any()]
                return float(np.mean(gaps))''', "plain average of the bins' gaps"),
        ('''def ece(y_true, p, n_bins=10):
                return float(np.mean(np.abs(np.asarray(y_true) - np.asarray(p))))''', "not over bins"),
    ],
    "11.1": [
        ('''def last_feature_map(model):
                return [l for l in model.layers if isinstance(l, keras.layers.Conv2D)][-1].name''',
         "1-channel attention"),
        ('''def last_feature_map(model):
                return model.layers[-1].name''', "not a feature map"),
        ('''def last_feature_map(model):
                return [l for l in model.layers if len(l.output.shape) == 4 and l.output.shape[-1] > 1][-1]''',
         "return its name"),
    ],
    "11.2": [
        ('''def grad_cam_map(model, image, layer_name):
                tap = keras.Model(model.input, [model.get_layer(layer_name).output, model.output])
                with tf.GradientTape() as tape:
                    features, score = tap(image[None], training=False)
                grads = tape.gradient(score, features)
                cam = tf.reduce_sum(features * tf.reduce_mean(grads, axis=(1, 2), keepdims=True), axis=-1)[0]
                return (cam / tf.reduce_max(cam)).numpy()''', "negative values"),
        ('''def grad_cam_map(model, image, layer_name):
                tap = keras.Model(model.input, [model.get_layer(layer_name).output, model.output])
                with tf.GradientTape() as tape:
                    features, score = tap(image[None], training=False)
                grads = tape.gradient(score, features)
                return tf.nn.relu(tf.reduce_sum(features * tf.reduce_mean(grads, axis=(1, 2), keepdims=True),
                                                axis=-1))[0].numpy()''', "maximum is"),
        ('''def grad_cam_map(model, image, layer_name):
                tap = keras.Model(model.input, [model.get_layer(layer_name).output, model.output])
                with tf.GradientTape() as tape:
                    features, score = tap(image[None], training=False)
                grads = tape.gradient(score, features)
                cam = tf.nn.relu(tf.reduce_sum(features * grads, axis=-1))[0]
                return (cam / tf.reduce_max(cam)).numpy()''', "one weight"),
    ],
    "11.3": [
        ('''def randomized_copy(model, seed=0):
                rng = np.random.default_rng(seed)
                for w in model.trainable_weights:
                    w.assign(rng.normal(0, 0.05, size=tuple(w.shape)).astype("float32"))
                return model''', "changed the weights of the model it was given"),
        ('''def randomized_copy(model, seed=0):
                return keras.models.clone_model(model)''', "different weights"),
    ],
    "11.4": [
        ('''def map_similarity(a, b):
                return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])''', "Correlate *ranks*"),
        ('''def map_similarity(a, b):
                return spearmanr(a, b).statistic''', "flatten them"),
    ],
    "12.1": [
        ('''def save_and_reload(model, path):
                model.save(path)
                return model''', "returned the model it was given"),
        ('''def save_and_reload(model, path):
                model.save(path)
                return keras.models.load_model(path, safe_mode=False)''', "safe_mode was off"),
    ],
    "12.2": [
        ('''def predict_folder(model, folder, csv_path, threshold=0.5):
                paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
                results = inference.predict_images(model, paths)
                with open(csv_path, "w", newline="") as f:
                    writer = csv.DictWriter(f, fieldnames=["path", "label", "probability_malignant", "error"])
                    writer.writeheader()
                    writer.writerows(asdict(r) for r in results)''', "pass the threshold on"),
        ('''def predict_folder(model, folder, csv_path, threshold=0.5):
                paths = sorted(Path(folder).iterdir())
                results = inference.predict_images(model, paths, threshold=threshold)
                with open(csv_path, "w", newline="") as f:
                    writer = csv.DictWriter(f, fieldnames=["path", "label", "probability_malignant", "error"])
                    writer.writeheader()
                    writer.writerows(asdict(r) for r in results)''', "notes.txt"),
        ('''def predict_folder(model, folder, csv_path, threshold=0.5):
                paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
                probs = model.predict(np.stack([inference.read_image(p, 8) for p in paths]), verbose=0)''',
         "one bad file must not stop the others"),
    ],
    "12.3": [
        ('''def write_card(ev):
                return "# Model card: " + ev["model"]["name"] + "\\n\\nAUC " + f"{ev['auc']:.3f}"''',
         "not for clinical use"),
        ('''def write_card(ev):
                chosen, conf, data = ev["thresholds"]["chosen"], ev["confusion_matrix_chosen"], ev["dataset"]
                low, high = ev["auc_ci"]
                return "\\n".join([f"# Model card: {ev['model']['name']}", "Not for clinical use.",
                    f"{data['n']} images. AUC {ev['auc']:.3f} ({low:.3f}-{high:.3f}); threshold {chosen['threshold']:.3f} "
                    f"chosen on {chosen['chosen_on']}: sensitivity {conf['sensitivity']:.3f}, "
                    f"specificity {conf['specificity']:.3f}."])''', "optimistic"),
        ('''def write_card(ev):
                return "# Model card: course_model_0\\nNot for clinical use. AUC 0.900"''', "does not show the AUC"),
    ],
}
WRONG_CASES = [(pid, i) for pid, cases in WRONG.items() for i in range(len(cases))]


def test_every_problem_has_a_known_wrong_answer():
    assert {p.id for p in PROBLEMS} <= set(WRONG)


@pytest.mark.parametrize("pid, index", WRONG_CASES, ids=[f"{p}-{i}" for p, i in WRONG_CASES])
def test_wrong_answer_says_what_is_wrong(pid, index):
    problem = next(p for p in PROBLEMS if p.id == pid)
    code, fragment = WRONG[pid][index]
    ns = _namespace(problem)
    exec(textwrap.dedent(code).replace("\n            ", "\n    ") if code.startswith("def") else textwrap.dedent(code),
         ns)
    result = problem.evaluate(*[ns[name] for name in problem.names])
    assert result.status == core.INCORRECT, result.line()
    assert fragment in result.message, result.message

