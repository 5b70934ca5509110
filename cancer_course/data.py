"""Check ``ROOT/{train,validation,test}/{benign,malignant}/*`` and list its images (the one folder scan).

:func:`scan_folder` gives every split's ``(path, label)`` list, benign = 0 and malignant = 1
whatever order the folders come in; :func:`cancer_course.pipeline.load_splits` turns that list into
``tf.data`` datasets (every image decoded to RGB, resized and scaled to [0, 1]). Before TensorFlow
sees a single file, :func:`scan_folder` checks the layout and opens every image, so a problem gives a
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

The pieces are public so that the input pipeline builds on them: :func:`scan_folder` gives the
list of ``(path, label)`` per split, :func:`decode_image` decodes one file.

Adapters turn public datasets into this layout: :func:`from_medmnist_npz` (MedMNIST ``.npz``;
BreastMNIST's label 0 is *malignant*) and :func:`from_label_folders` (``0/`` and ``1/`` folders,
PatchCamelyon style).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import DataError

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


# --------------------------------------------------------------------------------------------
# Adapters: public datasets into the course layout
# --------------------------------------------------------------------------------------------

MEDMNIST_SPLITS = {"train": "train", "val": "validation", "test": "test"}
# MedMNIST sets whose labels are benign/malignant, and which label is malignant.
MEDMNIST_MALIGNANT_LABEL = {"breastmnist": 0}  # BreastMNIST: 0 = malignant, 1 = normal or benign


def _write_adapter_note(out: Path, info: dict) -> None:
    (out / "adapter.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")


def from_medmnist_npz(npz_path: str | Path, out_dir: str | Path, malignant_label: int | None = None) -> Path:
    """Write a MedMNIST ``.npz`` (e.g. ``BreastMNIST.npz``) as PNGs in the course layout.

    `malignant_label` says which label value means malignant. For BreastMNIST it is known and
    need not be given: **label 0 is malignant** (1 = normal or benign), the opposite of the
    course's convention, which is why this adapter exists. Keys ``train_/val_/test_images`` and
    ``..._labels`` become train, validation and test. Greyscale images stay greyscale PNGs (the
    loader reports their conversion to RGB).
    """
    npz_path = Path(npz_path)
    if not npz_path.is_file():
        raise DataError(f"MedMNIST file {npz_path} not found: download it (e.g. breastmnist.npz) and give its path.")
    name = npz_path.stem.lower()
    if malignant_label is None:
        if name not in MEDMNIST_MALIGNANT_LABEL:
            raise DataError(
                f"{npz_path.name}: which label is malignant? Pass malignant_label=0 or 1 "
                f"(known sets: {', '.join(MEDMNIST_MALIGNANT_LABEL)})."
            )
        malignant_label = MEDMNIST_MALIGNANT_LABEL[name]
    try:
        archive = np.load(npz_path)
    except Exception as exc:
        raise DataError(f"{npz_path} is not a readable .npz file ({exc}): download it again.") from None
    out = Path(out_dir)
    counts = {}
    with archive:
        for key, split in MEDMNIST_SPLITS.items():
            if f"{key}_images" not in archive or f"{key}_labels" not in archive:
                raise DataError(f"{npz_path} has no {key}_images / {key}_labels arrays: is it a MedMNIST file?")
            images = archive[f"{key}_images"]
            labels = np.asarray(archive[f"{key}_labels"]).reshape(-1)
            if len(images) != len(labels):
                raise DataError(f"{npz_path}: {len(images)} {key} images but {len(labels)} labels.")
            values = set(np.unique(labels).tolist())
            if not values <= {0, 1}:
                raise DataError(
                    f"{npz_path}: {key} labels are {sorted(values)}, not 0/1: only binary sets fit benign/malignant."
                )
            counts[split] = {"benign": 0, "malignant": 0}
            for cls in CLASS_NAMES:
                (out / split / cls).mkdir(parents=True, exist_ok=True)
            for i, (image, label) in enumerate(zip(images, labels)):
                cls = "malignant" if int(label) == malignant_label else "benign"
                Image.fromarray(np.asarray(image, dtype=np.uint8)).save(out / split / cls / f"{key}_{i:05d}.png")
                counts[split][cls] += 1
    _write_adapter_note(out, {"source": str(npz_path), "adapter": "medmnist",
                              "malignant_label": int(malignant_label), "counts": counts})  # fmt: skip
    return out


SPLIT_ALIASES = {"train": "train", "training": "train", "val": "validation", "valid": "validation",
                 "validation": "validation", "test": "test", "testing": "test"}  # fmt: skip


def _assign_split(name: str, validation_fraction: float, test_fraction: float) -> str:
    """A split from a hash of the file name: stable whatever order the files are listed in."""
    u = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) / 16**8
    return "test" if u < test_fraction else "validation" if u < test_fraction + validation_fraction else "train"


def from_label_folders(src: str | Path, out_dir: str | Path, benign: str = "0", malignant: str = "1",
                       validation_fraction: float = 0.1, test_fraction: float = 0.1, link: bool = True) -> Path:  # fmt: skip
    """Copy label-numbered folders (PatchCamelyon style, ``0/`` and ``1/``) into the course layout.

    `src` holds either split folders (``train/``, ``val/`` or ``valid/``, ``test/``) each with the
    label folders, or the label folders directly; then each file goes to train, validation or
    test by a hash of its name (fractions `validation_fraction`, `test_fraction`). Files are
    hard-linked when possible (no extra disk space), else copied. The loader checks them after.
    """
    src, out = Path(src), Path(out_dir)
    if not src.is_dir():
        raise DataError(f"Folder {src} does not exist: give the folder that holds {benign}/ and {malignant}/.")
    folders = {p.name.lower(): p for p in src.iterdir() if p.is_dir()}
    sources = {SPLIT_ALIASES[n]: p for n, p in folders.items() if n in SPLIT_ALIASES}
    if not sources:
        sources = {None: src}
    mapping = {benign: "benign", malignant: "malignant"}
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"benign": 0, "malignant": 0})
    for split, folder in sources.items():
        labels = {p.name: p for p in folder.iterdir() if p.is_dir()}
        missing = [name for name in mapping if name not in labels]
        if missing:
            raise DataError(
                f"{folder} has no {', '.join(m + '/' for m in missing)} folder: label folders found: "
                f"{', '.join(sorted(labels)) or 'none'}. Pass benign=... and malignant=... to name them."
            )
        for name, cls in mapping.items():
            for path in sorted(labels[name].iterdir()):
                if not path.is_file() or _is_clutter(path):
                    continue
                target_split = split or _assign_split(path.name, validation_fraction, test_fraction)
                target = out / target_split / cls / path.name
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.exists():
                    target.unlink()
                try:
                    if not link:
                        raise OSError
                    os.link(path, target)
                except OSError:
                    shutil.copyfile(path, target)
                counts[target_split][cls] += 1
    _write_adapter_note(out, {"source": str(src), "adapter": "label-folders", "benign": benign,
                              "malignant": malignant, "counts": dict(counts)})  # fmt: skip
    return out
