"""Predict every image of a split: ``(y_true, p_malignant, paths)``, the first step of lesson 10.

A dataset folder is read as training reads it: :func:`cancer_course.data.scan_folder` checks the
split's folders and opens every image (so a corrupt file is named here, not deep inside
TensorFlow), then the files stream through :func:`cancer_course.inference.iter_probabilities`,
the builder that training, validation and ``cancer-course predict`` use
(:func:`cancer_course.pipeline.from_files`), one batch in memory at a time. Images of another size
are resized to the model's input (:data:`cancer_course.images.SIZE_POLICY`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..data import check_layout, scan_folder
from ..errors import DataError
from ..labels import p_malignant as _p_malignant
from .inputs import _require_both_classes


def check_course_model(model_or_path):
    """A loaded course model, from a ``keras.Model`` or a ``.keras`` path; ValueError if it is not one."""
    if isinstance(model_or_path, str | Path):
        from ..inference import load_course_model

        return load_course_model(model_or_path)
    shape = getattr(model_or_path, "input_shape", None)
    out = getattr(model_or_path, "output_shape", None)
    if shape is None or out is None or len(shape) != 4 or shape[-1] != 3 or out[-1] not in (1, 2):
        raise ValueError(
            f"{getattr(model_or_path, 'name', type(model_or_path).__name__)} is not a course model: it takes "
            f"{shape} and returns {out}, but course models take (None, H, W, 3) images and return "
            "1 (sigmoid) or 2 (softmax) outputs."
        )
    return model_or_path


def predict_split(model, dataset_or_root, split: str = "test", batch_size: int = 32,
                  resize: bool = False) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Predict every image of a split: ``(y_true, p_malignant, paths)``.

    ``dataset_or_root`` is a dataset folder (``ROOT/<split>/{benign,malignant}/*``) or a batched
    ``tf.data.Dataset`` of ``(images, labels)`` (then ``split`` is ignored and the paths are
    ``dataset[i]``). ``model`` is a Keras model or a ``.keras`` path. A folder's images of another
    size are resized to the model's input, as training does (``resize`` is ignored, kept for old
    callers: every command has this one policy, :data:`cancer_course.images.SIZE_POLICY`). They
    are streamed as ``cancer-course predict`` streams them (one batch in memory at a time).
    """
    model = check_course_model(model)
    if not isinstance(dataset_or_root, str | Path):
        return _predict_dataset(model, dataset_or_root)
    return _predict_split(model, Path(dataset_or_root), split, batch_size)[:3]


def _split_files(root: Path, split: str) -> tuple[list[str], np.ndarray]:
    """The image paths and 0/1 labels of ``ROOT/<split>``, from the scan training uses.

    :func:`cancer_course.data.scan_folder` checks this split's folders and opens every image once
    (the other splits are not read): a problem raises :class:`cancer_course.errors.DataError`
    naming every file. A split with one class fails that scan (an empty or missing class folder);
    it is explained as what it means here: the AUC, sensitivity or specificity are undefined.
    """
    split_dir = root / split
    if not split_dir.is_dir():
        found = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        raise FileNotFoundError(
            f"No split folder {split_dir}. A dataset folder holds train/, validation/ and test/, each with "
            f"benign/ and malignant/ (found: {found or 'nothing'}); check --dataset-path and --split."
        )
    try:
        scan = scan_folder(root, splits=(split,))
    except DataError:
        labels = [label for _, label in check_layout(root, splits=(split,)).files[split]]
        if len(set(labels)) == 1:  # one class: say what that means for evaluation
            _require_both_classes(np.asarray(labels), where=f"The {split!r} split of {root}")
        raise
    files = scan.files[split]
    return [str(path) for path, _ in files], np.asarray([label for _, label in files], dtype=int)


def _predict_split(model, root: Path, split: str, batch_size: int):
    """``(y_true, p_malignant, paths, seconds)`` for the images of ``ROOT/<split>``."""
    paths, labels = _split_files(root, split)
    p, seconds = _predict_files(model, paths, batch_size)
    return labels, p, paths, seconds


def _predict_files(model, paths: Sequence[str], batch_size: int) -> tuple[np.ndarray, float]:
    """p(malignant) for every file, in order, and the seconds it took.

    The same streaming path as ``cancer-course predict`` (:func:`cancer_course.inference.iter_probabilities`):
    files decoded by the training decoder in parallel through ``tf.data``, one batch in memory at a
    time. A file that cannot be decoded raises ValueError naming it.
    """
    import time

    from ..inference import iter_probabilities, why_unreadable

    p = np.full(len(paths), np.nan)
    start = time.perf_counter()
    for indices, probs in iter_probabilities(model, paths, batch_size):
        p[indices] = probs
    seconds = time.perf_counter() - start
    missing = np.flatnonzero(np.isnan(p))
    if missing.size:
        first = why_unreadable(paths[missing[0]]) or f"{paths[missing[0]]} could not be decoded"
        raise ValueError(f"{missing.size} image(s) could not be read, e.g. {first}: remove or replace them "
                         "(`cancer-course audit` lists them all).")
    return p, seconds


def _predict_dataset(model, dataset) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Predictions over a ``tf.data.Dataset`` of batched ``(images, labels)``."""
    want = tuple(int(v) for v in model.input_shape[1:3])
    ys, ps = [], []
    for batch, labels in dataset:
        got = tuple(int(v) for v in batch.shape[1:3])
        if got != want:
            raise ValueError(
                f"The dataset's batch are {got[1]}x{got[0]} pixels but the model takes {want[1]}x{want[0]}: "
                f"build the dataset with image_size={want[0]} (pipeline.from_files(..., image_size={want[0]}))."
            )
        ps.append(_probabilities(model, batch))
        ys.append(_labels_from_batch(labels))
    if not ys:
        raise ValueError("The dataset is empty: nothing to evaluate.")
    y, p = np.concatenate(ys), np.concatenate(ps)
    return y, p, [f"dataset[{i}]" for i in range(len(y))]


def _probabilities(model, images) -> np.ndarray:
    """p(malignant) for a batch, from a 2-way softmax (column 1) or a 1-unit sigmoid (:func:`labels.p_malignant`)."""
    return _p_malignant(model.predict(images, verbose=0))


def _labels_from_batch(y) -> np.ndarray:
    """0/1 labels from a batch of labels: one-hot pairs, a column, or plain integers."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[-1] == 2:
        return y.argmax(axis=-1).astype(int)
    return y.reshape(-1).round().astype(int)
