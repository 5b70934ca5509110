"""Load ``ROOT/{train,validation,test}/{benign,malignant}/*`` into ``tf.data`` datasets.

One function, :func:`load_splits`, does it: benign = 0 and malignant = 1 whatever order the
folders come in, every image decoded to RGB, resized and scaled to [0, 1]. Before TensorFlow sees a
single file, :func:`scan_folder` checks the layout and opens every image, so a problem gives a
message that names the file or folder and says what to do - never a bare traceback from deep in
TensorFlow, and never a file silently left out:

- ``train`` and ``validation`` are required; ``test`` is optional (PatchCamelyon-style sets ship
  without one): without it ``Splits.test`` is None and a note says so. ``require_test=True``
  makes it an error.
- each split needs exactly the class folders ``benign`` and ``malignant``, each with images in it,
  directly (no nested folders, no loose files next to the class folders);
- ``.png .jpg .jpeg .bmp .gif`` in any letter case are images (what TensorFlow decodes); other
  files are errors, except system clutter (``.DS_Store``, ``Thumbs.db``, hidden files), which is
  skipped and reported;
- empty, truncated or corrupt images are errors;
- greyscale, greyscale+alpha, RGBA, palette, 16-bit and CMYK images are converted to 8-bit RGB,
  and the conversion is reported (alpha is dropped; 16-bit values are scaled to 8 bits).

The pieces are public so that the input pipeline can build on them: :func:`scan_folder` gives the
list of ``(path, label)`` per split, :func:`decode_image` decodes one file.

Adapters that turn public datasets into this layout live in :mod:`cancer_course.adapters`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from .cli import CourseError

SPLITS = ("train", "validation", "test")
REQUIRED_SPLITS = ("train", "validation")
CLASS_NAMES = ("benign", "malignant")  # index = label: benign 0, malignant 1
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
DECODABLE_FORMATS = {"PNG", "JPEG", "BMP", "GIF"}  # what tf.io.decode_image reads
CLUTTER = {".ds_store", "thumbs.db", "desktop.ini"}
MAX_LISTED = 12  # problems listed in one error message

# How each Pillow mode becomes RGB, in words for the report.
CONVERSIONS = {
    "L": "greyscale, copied to R, G and B",
    "LA": "greyscale with alpha, copied to R, G and B, alpha dropped",
    "RGBA": "RGBA, alpha channel dropped",
    "P": "palette (indexed colour), looked up to RGB",
    "PA": "palette with alpha, looked up to RGB, alpha dropped",
    "1": "black-and-white (1-bit), expanded to RGB",
    "I;16": "16-bit greyscale, scaled to 8 bits and copied to R, G and B",
    "I;16B": "16-bit greyscale, scaled to 8 bits and copied to R, G and B",
    "I": "32-bit greyscale, scaled to 8 bits and copied to R, G and B",
    "CMYK": "CMYK, converted to RGB",
}


class DataError(CourseError, ValueError):
    """A problem with the learner's data, with a message that says where and what to do."""


@dataclass
class ImageInfo:
    """What opening one image file found out."""

    path: Path
    format: str | None = None
    mode: str | None = None
    size: tuple[int, int] | None = None  # (width, height)
    error: str | None = None  # why it cannot be used, or None


def inspect_image(path: str | Path) -> ImageInfo:
    """Open and fully decode one image with Pillow; report its format, mode, size or the error."""
    path = Path(path)
    info = ImageInfo(path)
    try:
        if path.stat().st_size == 0:
            info.error = "empty file (0 bytes): the copy or download failed; copy it again or delete it"
            return info
        with Image.open(path) as image:
            info.format, info.mode, info.size = image.format, image.mode, image.size
            image.load()  # reading every pixel is what finds truncated files
    except Exception as exc:  # Pillow raises many kinds; all mean "cannot use this file"
        reason = str(exc) or type(exc).__name__
        info.error = f"cannot be decoded ({reason}): the file is corrupt or truncated; replace or delete it"
        return info
    if info.format not in DECODABLE_FORMATS:
        info.error = (
            f"{info.format} images cannot be decoded by TensorFlow: convert it to PNG "
            "(e.g. Image.open(p).save(p.with_suffix('.png'))) and remove the original"
        )
    return info


@dataclass
class FolderScan:
    """What :func:`scan_folder` found: the files of each split and what was worth reporting."""

    root: Path
    files: dict[str, list[tuple[Path, int]]]  # split -> sorted [(path, label)]
    counts: dict[str, dict[str, int]]  # split -> {"benign": n, "malignant": n}
    notes: list[str] = field(default_factory=list)  # conversions and skipped clutter
    modes: dict[str, int] = field(default_factory=dict)  # Pillow mode -> number of images


def _is_clutter(path: Path) -> bool:
    return path.name.lower() in CLUTTER or path.name.startswith(".")


def _problem_report(root: Path, problems: list[str]) -> str:
    shown = problems[:MAX_LISTED]
    more = f"\n  ... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
    return f"{len(problems)} problem(s) in {root}:\n  - " + "\n  - ".join(shown) + more


def scan_folder(root: str | Path, require_test: bool = False, verify: bool = True) -> FolderScan:
    """Check the layout under `root` and open every image; raise :class:`DataError` on problems.

    Returns the ``(path, label)`` list of every split present. `verify=False` skips decoding
    every image (faster, but corrupt files then surface later, inside TensorFlow).
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(
            f"Data folder {root} does not exist. Make the embedded dataset with "
            f"`cancer-course synth {root}`, or give the folder that holds train/ and validation/."
        )
    problems: list[str] = []
    notes: list[str] = []
    files: dict[str, list[tuple[Path, int]]] = {}
    counts: dict[str, dict[str, int]] = {}
    conversions: dict[str, list[Path]] = defaultdict(list)
    modes: dict[str, int] = defaultdict(int)
    entries = {p.name: p for p in root.iterdir()}
    for split in SPLITS:
        if split not in entries or not entries[split].is_dir():
            near = [n for n in entries if n.lower() in (split, split[:3], "val", "valid", "testing", "training")]
            hint = f" (found {near[0]!r}: rename it to {split!r})" if near else ""
            if split in REQUIRED_SPLITS or require_test:
                problems.append(f"missing split folder {root / split}{hint}: create it with benign/ and malignant/ inside")
            else:
                notes.append(f"no test split in {root}: only train and validation are loaded")
            continue
        split_dir = entries[split]
        files[split], counts[split] = [], {}
        children = sorted(split_dir.iterdir())
        present = {c.name: c for c in children if c.is_dir()}
        for child in children:
            if _is_clutter(child):
                notes.append(f"skipped system file {child}")
            elif not child.is_dir():
                problems.append(f"file {child} is outside a class folder: move it into benign/ or malignant/")
            elif child.name not in CLASS_NAMES:
                problems.append(
                    f"unexpected folder {child}: the course has exactly two classes, benign and malignant; "
                    "move this folder out of the dataset (or merge its images into benign/ or malignant/)"
                )
        for label, cls in enumerate(CLASS_NAMES):  # fixed order: benign 0, malignant 1
            if cls not in present:
                problems.append(f"missing class folder {split_dir / cls}: create it and put the {cls} images in it")
                continue
            found = []
            for path in sorted(present[cls].iterdir()):
                if _is_clutter(path):
                    notes.append(f"skipped system file {path}")
                elif path.is_dir():
                    problems.append(
                        f"nested folder {path}: images must sit directly in {present[cls]}; "
                        "move its images up one level or remove it"
                    )
                elif path.suffix.lower() not in IMAGE_EXTENSIONS:
                    problems.append(
                        f"not an image: {path} (images end in {', '.join(IMAGE_EXTENSIONS)}): "
                        "move it out of the dataset"
                    )
                else:
                    found.append(path)
            if not found:
                problems.append(f"empty class folder {present[cls]}: put the {cls} images of {split} in it")
            for path in found:
                if verify:
                    info = inspect_image(path)
                    if info.error:
                        problems.append(f"{path}: {info.error}")
                        continue
                    modes[info.mode] += 1
                    if info.mode != "RGB":
                        conversions[info.mode].append(path)
                files[split].append((path, label))
            counts[split][cls] = sum(1 for _, lab in files[split] if lab == label)
    if problems:
        raise DataError(_problem_report(root, problems))
    for mode, paths in sorted(conversions.items()):
        what = CONVERSIONS.get(mode, f"mode {mode}, converted to RGB")
        notes.append(f"converted {len(paths)} image(s) to RGB - {what} (e.g. {paths[0]})")
    return FolderScan(root, files, counts, notes, dict(modes))


def decode_image(path, image_size: int):
    """Read one image file into an (image_size, image_size, 3) float32 tensor in [0, 1].

    TensorFlow decodes PNG, JPEG, BMP and GIF (first frame) and gives three channels whatever the
    file holds (greyscale is copied, alpha dropped, 16-bit scaled to 8); then the image is resized
    (bilinear, antialiased) and divided by 255. Works on a path string or a string tensor, so it
    can be used inside ``Dataset.map``.
    """
    import tensorflow as tf

    raw = tf.io.read_file(path)
    image = tf.io.decode_image(raw, channels=3, dtype=tf.uint8, expand_animations=False)
    image = tf.image.resize(image, (image_size, image_size), antialias=True)
    image = tf.clip_by_value(image / 255.0, 0.0, 1.0)
    image.set_shape((image_size, image_size, 3))
    return image


def make_dataset(files: list[tuple[Path, int]], image_size: int, batch_size: int | None = None,
                 shuffle: bool = False, seed: int = 0):  # fmt: skip
    """A ``tf.data.Dataset`` of (image, label) from a ``(path, label)`` list; labels are int32."""
    import tensorflow as tf

    paths = [str(p) for p, _ in files]
    labels = np.array([label for _, label in files], dtype=np.int32)
    ds = tf.data.Dataset.from_tensor_slices((paths, labels))
    if shuffle:
        ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(lambda p, y: (decode_image(p, image_size), y), num_parallel_calls=tf.data.AUTOTUNE)
    if batch_size:
        ds = ds.batch(batch_size)
    return ds.prefetch(tf.data.AUTOTUNE)


@dataclass
class Splits:
    """The datasets of :func:`load_splits`, with the facts a lesson prints about them."""

    train: object  # tf.data.Dataset
    validation: object
    test: object | None  # None when the folder has no test split
    class_names: tuple[str, str]
    counts: dict[str, dict[str, int]]  # split -> class -> images
    file_lists: dict[str, list[tuple[Path, int]]]  # split -> [(path, label)]
    image_size: int
    notes: list[str] = field(default_factory=list)

    def files(self, split: str) -> tuple[list[Path], list[int]]:
        """The split's image paths and their labels (for building another pipeline on them)."""
        if split not in self.file_lists:
            raise DataError(f"this dataset has no {split!r} split (it has {', '.join(self.file_lists)}).")
        pairs = self.file_lists[split]
        return [p for p, _ in pairs], [label for _, label in pairs]

    def summary(self) -> str:
        lines = [f"{'split':<11}{'benign':>8}{'malignant':>11}{'total':>8}"]
        for split, per in self.counts.items():
            lines.append(f"{split:<11}{per['benign']:>8}{per['malignant']:>11}{sum(per.values()):>8}")
        return "\n".join(lines + [f"note: {n}" for n in self.notes])


def load_splits(root: str | Path, image_size: int, batch_size: int | None = None, shuffle_train: bool = True,
                seed: int = 0, require_test: bool = False, verify: bool = True, verbose: bool = True) -> Splits:  # fmt: skip
    """Check `root` and load its splits as ``tf.data`` datasets of (image, label) pairs.

    Images are RGB float32 in [0, 1] of shape (image_size, image_size, 3); labels are benign = 0,
    malignant = 1. Only the training set is shuffled (with `seed`). With `batch_size` the
    datasets are batched. Conversions and skipped clutter are printed when `verbose`, and kept in
    ``Splits.notes``.
    """
    scan = scan_folder(root, require_test=require_test, verify=verify)
    if verbose:
        for note in scan.notes:
            print(f"note: {note}")
    datasets = {
        split: make_dataset(files, image_size, batch_size, shuffle=(split == "train" and shuffle_train), seed=seed)
        for split, files in scan.files.items()
    }
    return Splits(
        train=datasets["train"],
        validation=datasets["validation"],
        test=datasets.get("test"),
        class_names=CLASS_NAMES,
        counts=scan.counts,
        file_lists=scan.files,
        image_size=image_size,
        notes=scan.notes,
    )
