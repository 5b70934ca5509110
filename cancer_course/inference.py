"""Inference: load a course model and predict images (``cancer-course predict``, lesson 12).

Every image gets a result or an error that names it; one bad file never stops the others.
Images are read by :func:`cancer_course.pipeline.from_files`, the chain validation uses, in
batches through ``tf.data`` (parallel decoding, prefetching), and results come out batch by
batch (:func:`iter_predictions`), so memory stays flat however many images there are: a slide's
tens of thousands of tiles cost what one batch costs. ``cancer-course predict`` writes each
batch's rows as soon as they exist (CSV, JSON lines or text), so a run that is stopped leaves a
valid file up to its last line.

Research and education only: a prediction here is not a diagnosis.
"""

from __future__ import annotations

import csv
import json
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import images
from .defaults import BATCH_SIZE  # images per model call (re-exported: inference.BATCH_SIZE)
from .labels import DISPLAY_NAMES as LABELS
from .labels import p_malignant

COLUMNS = ("path", "label", "probability_malignant", "error")  # the CSV header of `cancer-course predict`
PREFETCH = 2  # batches decoded ahead: a fixed number, so that memory cannot creep up over a long run


@dataclass
class Prediction:
    path: str
    label: str | None = None
    probability_malignant: float | None = None
    error: str | None = None

    @property
    def confidence(self) -> float | None:
        if self.probability_malignant is None:
            return None
        p = self.probability_malignant
        return p if self.label == "Malignant" else 1.0 - p

    def line(self) -> str:
        if self.error:
            return f"{self.path}: error: {self.error}"
        return f"{self.path}: Prediction: {self.label} (Confidence: {100 * self.confidence:.2f}%)"


def load_course_model(path):
    """Load a ``.keras`` model saved by the course, or raise ValueError saying what is wrong."""
    import keras

    from . import blocks  # noqa: F401  (registers the course's custom layer for safe_mode loading)

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Model file {path} does not exist: train one with `cancer-course train` "
                                "or pass --model PATH to a .keras file")
    if path.suffix != ".keras" or not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a Keras 3 .keras model file: pass the .keras file that "
                         "`cancer-course train` wrote (--save-path)")
    try:
        model = keras.models.load_model(path, safe_mode=True, compile=False)
    except Exception as exc:
        raise ValueError(f"{path} could not be loaded as a course model ({type(exc).__name__}: {exc})") from exc
    shape = model.input_shape
    if len(shape) != 4 or shape[-1] != 3 or model.output_shape[-1] not in (1, 2):
        raise ValueError(f"{path} is not a course model: it takes {shape} and returns {model.output_shape}, "
                         "but course models take (None, H, W, 3) images and return 1 or 2 outputs")
    return model


# ---------------------------------------------------------------- one image
def why_unreadable(path, image_size: int | None = None) -> str | None:
    """Why ``path`` is not a usable image (:func:`cancer_course.images.inspect`'s verdict, naming it), or None.

    ``image_size`` is accepted for old callers; the verdict does not depend on it.
    """
    return images.inspect(path).message


def read_image(path, image_size: int) -> np.ndarray:
    """One image file as a float32 (image_size, image_size, 3) array in [0, 1], read as training reads it.

    :func:`cancer_course.images.read_rgb` then :func:`cancer_course.images.resize_and_scale`, the
    two steps of the training decoder; a missing file raises FileNotFoundError, any other unusable
    file ValueError, both with the reason.
    """
    return images.resize_and_scale(images.read_rgb(path), image_size).numpy()


def probability_malignant(model, batch) -> np.ndarray:
    """p(malignant) for a batch of images (or a batched ``tf.data.Dataset``): column 1 of a 2-way softmax,
    or the sigmoid's one column (:func:`cancer_course.labels.p_malignant`)."""
    import tensorflow as tf

    if isinstance(batch, tf.data.Dataset):
        return p_malignant(model.predict(batch, verbose=0))
    # one model call, without predict()'s per-call set-up: what streaming many batches needs
    return p_malignant(model.predict_on_batch(batch))


# ---------------------------------------------------------------- many images, streamed
def _model_image_size(model) -> int:
    size = model.input_shape[1]
    if size is None or model.input_shape[2] != size:
        raise ValueError(f"{model.name} takes images of shape {model.input_shape}: course models take square "
                         "images of a fixed size, (None, S, S, 3)")
    return int(size)


def _decoded_batches(paths: list[str], image_size: int, batch_size: int):
    """``(images, indices)`` batches: decoded in parallel, in order, files that fail are left out.

    The chain is validation's (:func:`cancer_course.pipeline.from_files`: decode, resize, scale,
    batch), with each file's index as its label. The decoder's failures are dropped
    (``skip_unreadable``) so that one bad file never stops the stream; the indices show which files
    are missing, and :func:`why_unreadable` then says why.
    """
    # TensorFlow: imported only once images are predicted, so that `predict --help` stays light
    from .pipeline import from_files

    return from_files(paths, range(len(paths)), image_size, batch_size, output=None, cache=False,
                      prefetch=PREFETCH, skip_unreadable=True)


def iter_probabilities(model, paths, batch_size: int = BATCH_SIZE) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(indices, p_malignant)`` per batch over ``paths``; the indices of unreadable files are absent.

    Memory is one batch of images (and the list of paths), whatever the number of files.
    """
    import tensorflow as tf

    paths = [str(p) for p in paths]
    if not paths:
        return
    size, batch_size, full = _model_image_size(model), int(batch_size), False
    for batch, indices in _decoded_batches(paths, size, batch_size):
        n = int(batch.shape[0])
        if full and n < batch_size:  # the last batch, padded: a new batch shape would retrace the model (seconds)
            batch = tf.concat([batch, tf.zeros((batch_size - n, *batch.shape[1:]), batch.dtype)], axis=0)
        full = full or n == batch_size
        yield indices.numpy(), probability_malignant(model, batch)[:n]


def iter_predictions(model, paths: Iterable, threshold: float = 0.5,
                     batch_size: int = BATCH_SIZE) -> Iterator[list[Prediction]]:
    """Predict every image, a batch at a time: yields each batch's :class:`Prediction` list, in input order.

    A file the decoder cannot read gets a Prediction with an ``error`` that names it (in its
    place in the order) and the others go on. An item of ``paths`` that is already a
    ``Prediction`` (an input that named no file, from :func:`expand_inputs`) is passed through.
    """
    items = [p if isinstance(p, Prediction) else Prediction(path=str(p)) for p in paths]
    todo = [i for i, item in enumerate(items) if item.error is None]
    _model_image_size(model)  # a model of another kind is refused before any file is read
    done = 0  # items[:done] have been yielded (and let go: memory does not grow with the count)

    def up_to(stop: int) -> list[Prediction]:
        out = []
        for item in items[done:stop]:
            if item.error is None and item.label is None:  # the decoder dropped it: say why
                item.error = why_unreadable(item.path) or f"{item.path} could not be decoded"
            out.append(item)
        return out

    for indices, probs in iter_probabilities(model, [items[i].path for i in todo], batch_size):
        batch = []
        for j, prob in zip(indices, probs):
            i = todo[int(j)]
            items[i].probability_malignant = round(float(prob), 6)
            items[i].label = LABELS[int(prob >= threshold)]
            batch += up_to(i + 1)
            items[done:i + 1] = [None] * (i + 1 - done)
            done = i + 1
        yield batch
    rest = up_to(len(items))
    if rest:
        yield rest


def predict_images(model, paths, threshold: float = 0.5, batch_size: int = BATCH_SIZE) -> list[Prediction]:
    """Predict every image; unreadable ones get an error entry and do not stop the rest."""
    return [p for batch in iter_predictions(model, paths, threshold, batch_size) for p in batch]


# ---------------------------------------------------------------- what the command line names
def _images_in(folder: Path, recursive: bool) -> list[Path]:
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in candidates if images.is_image_name(p) and not p.is_dir()
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def expand_inputs(inputs: Iterable[str], recursive: bool = False) -> Iterator[str | Prediction]:
    """The image files that files, folders and glob patterns name, in order (folders and patterns sorted).

    A file is taken as given (a file that is no image gets its error when it is decoded); a
    folder gives its image files (:data:`cancer_course.images.EXTENSIONS`, hidden files skipped; with
    ``recursive`` its subfolders' too); a pattern (``*``, ``?``, ``[...]``; ``**`` with
    ``recursive``) gives the image files it matches. An argument that names nothing is
    yielded as a :class:`Prediction` with an error.
    """
    import glob

    for arg in map(str, inputs):
        path = Path(arg)
        if path.is_dir():
            files = _images_in(path, recursive)
            if not files:
                more = "" if recursive else "; pass --recursive to look in its subfolders"
                yield Prediction(arg, error=f"{arg} is a folder with no images ({' '.join(images.EXTENSIONS)}) in it{more}")
            yield from map(str, files)
        elif path.exists() or not any(c in arg for c in "*?["):
            yield arg
        else:
            matches = sorted(Path(m) for m in glob.glob(arg, recursive=recursive))
            files = [m for m in matches if not m.is_dir() and images.is_image_name(m)]
            files += [f for m in matches if m.is_dir() for f in _images_in(m, recursive)]
            if not files:
                yield Prediction(arg, error=f"no image file matches {arg!r} (quote the pattern so the shell "
                                            "does not expand it; ** needs --recursive)")
            yield from map(str, sorted(files))


# ---------------------------------------------------------------- writing results as they come
class ResultWriter:
    """Write predictions batch by batch and flush after each, so a stopped run leaves whole lines.

    ``fmt``: ``csv`` (header ``path,label,probability_malignant,error``), ``jsonl`` (one JSON
    object per line), ``json`` (one array, closed by :meth:`close`) or ``text`` (one line per
    image; errors go to ``errors``).
    """

    FORMATS = ("text", "csv", "jsonl", "json")

    def __init__(self, stream, fmt: str = "text", errors=None):
        if fmt not in self.FORMATS:
            raise ValueError(f"Unknown output format {fmt!r}: use one of {', '.join(self.FORMATS)}")
        self.stream, self.fmt, self.errors = stream, fmt, errors or stream
        self.count = self.failed = 0
        if fmt == "csv":
            self._csv = csv.writer(stream, lineterminator="\n")
            self._csv.writerow(COLUMNS)
        elif fmt == "json":
            stream.write("[")
        stream.flush()

    def write(self, predictions: list[Prediction]) -> None:
        for p in predictions:
            if self.fmt == "csv":
                self._csv.writerow(["" if v is None else v for v in (p.path, p.label, p.probability_malignant,
                                                                       p.error)])
            elif self.fmt == "jsonl":
                self.stream.write(json.dumps(asdict(p)) + "\n")
            elif self.fmt == "json":
                row = asdict(p) if p.error else {k: v for k, v in asdict(p).items() if k != "error"}
                self.stream.write(("," if self.count else "") + "\n" + json.dumps(row, indent=2))
            else:
                print(p.line(), file=self.errors if p.error else self.stream)
            self.count += 1
            self.failed += bool(p.error)
        self.stream.flush()
        if self.errors is not self.stream:
            self.errors.flush()

    def close(self) -> None:
        if self.fmt == "json":
            self.stream.write("\n]\n" if self.count else "]\n")
        self.stream.flush()
