"""Inference: load a course model and predict images (``cancer-course predict``, lesson 12).

Every image gets a result or an error that names it; one bad file never stops the others.
Research and education only: a prediction here is not a diagnosis.
"""

from __future__ import annotations

import json
import sys
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

LABELS = ("Benign", "Malignant")


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


def read_image(path, image_size: int) -> np.ndarray:
    """One image file as a float32 (image_size, image_size, 3) array in [0, 1], or ValueError."""
    from PIL import Image, UnidentifiedImageError

    from .pipeline import decode_image

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    if path.stat().st_size == 0:
        raise ValueError(f"{path} is empty (0 bytes)")
    try:
        with Image.open(path) as im:
            im.load()
            mode = im.mode
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"{path} is not a readable image ({exc}); use PNG or JPEG files") from exc
    if mode in ("RGB", "L") and Image.registered_extensions().get(path.suffix.lower()) in ("PNG", "JPEG", "GIF", "BMP"):
        return decode_image(str(path), image_size).numpy()  # the very path training used
    with Image.open(path) as im:  # 16-bit, palette, RGBA, TIFF ...: convert explicitly
        rgb = im.convert("RGB").resize((image_size, image_size), Image.BILINEAR)
    return np.asarray(rgb, dtype=np.float32) / 255.0


def probability_malignant(model, batch: np.ndarray) -> np.ndarray:
    out = np.asarray(model.predict(batch, verbose=0), dtype=np.float64)
    return out[:, 1] if out.shape[-1] == 2 else out[:, 0]


def predict_images(model, paths, threshold: float = 0.5, batch_size: int = 32) -> list[Prediction]:
    """Predict every image; unreadable ones get an error entry and do not stop the rest."""
    size = int(model.input_shape[1])
    results, good, arrays = [], [], []
    for p in paths:
        result = Prediction(path=str(p))
        try:
            arrays.append(read_image(p, size))
            good.append(result)
        except (OSError, ValueError) as exc:
            result.error = str(exc)
        results.append(result)
    for start in range(0, len(arrays), batch_size):
        probs = probability_malignant(model, np.stack(arrays[start:start + batch_size]))
        for result, prob in zip(good[start:start + batch_size], probs):
            result.probability_malignant = round(float(prob), 6)
            result.label = LABELS[int(prob >= threshold)]
    return results


def _cmd(args) -> int:
    from .cli import CourseError

    try:
        model = load_course_model(args.model)
    except (OSError, ValueError) as exc:
        raise CourseError(str(exc)) from exc
    results = predict_images(model, args.images, threshold=args.threshold)
    if args.json:
        print(json.dumps([asdict(r) if r.error else {k: v for k, v in asdict(r).items() if k != "error"}
                          for r in results], indent=2))
    else:
        for r in results:
            print(r.line(), file=sys.stderr if r.error else sys.stdout)
    return 1 if any(r.error for r in results) else 0


def register_cli(sub) -> None:
    p = sub.add_parser("predict", help="predict benign/malignant for image files (research and education only)")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--model", required=True, help="a .keras model written by `cancer-course train`")
    p.add_argument("--threshold", type=float, default=0.5, help="probability of malignant at which to say Malignant")
    p.add_argument("--json", action="store_true", help="print one JSON array: path, label, probability_malignant")
    p.set_defaults(func=_cmd)
