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
- what an image is, and how it becomes RGB pixels, is :mod:`cancer_course.images`' job (one list
  of extensions, PNG, JPEG, BMP, GIF, TIFF and WebP, in any letter case; greyscale, alpha,
  palette, 16-bit and CMYK converted to 8-bit RGB, the conversion reported); other files are
  errors, except system clutter (``.DS_Store``, ``Thumbs.db``, hidden files), which is skipped
  and reported; empty, truncated, corrupt or oversized images are errors;
- :func:`check_layout` is the one check of the folders, shared with ``cancer-course audit``.

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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from . import images
from .errors import DataError
from .labels import CLASS_NAMES, REQUIRED_SPLITS, SPLITS

CLUTTER = {".ds_store", "thumbs.db", "desktop.ini"}
MAX_LISTED = 12  # problems listed in one error message
# What an image is and how it is read belongs to `images` (one extension list, one decoder);
# the lessons and the widgets know these two by their names here.
inspect_image = images.inspect
decode_image = images.decode_image


@dataclass
class FolderScan:
    """What :func:`scan_folder` found: the files of each split and what was worth reporting."""

    root: Path
    files: dict[str, list[tuple[Path, int]]]  # split -> sorted [(path, label)]
    counts: dict[str, dict[str, int]]  # split -> {"benign": n, "malignant": n}
    notes: list[str] = field(default_factory=list)  # conversions and skipped clutter
    modes: dict[str, int] = field(default_factory=dict)  # Pillow mode -> number of images
    sizes: dict[tuple[int, int], int] = field(default_factory=dict)  # (width, height) -> number of images


def _is_clutter(path: Path) -> bool:
    return path.name.lower() in CLUTTER or path.name.startswith(".")


def _problem_report(root: Path, problems: list[str]) -> str:
    shown = problems[:MAX_LISTED]
    more = f"\n  ... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
    return f"{len(problems)} problem(s) in {root}:\n  - " + "\n  - ".join(shown) + more


def check_class_folder(folder: Path) -> tuple[list[Path], list[str], list[str]]:
    """The image files directly in one class folder, the problems in it, and the clutter skipped.

    A nested or linked folder, a file that is not an image, and an empty class folder are
    problems (the loader refuses them, and so does the audit).
    """
    found, problems, notes = [], [], []
    for path in sorted(folder.iterdir()):
        if _is_clutter(path):
            notes.append(f"skipped system file {path}")
        elif path.is_dir():
            kind = "linked folder" if path.is_symlink() else "nested folder"
            problems.append(f"{kind} {path}: images must sit directly in {folder}; "
                            "move its images up one level or remove it")
        elif not images.is_image_name(path):
            problems.append(f"{path}: {images.not_an_image(path)}")
        else:
            found.append(path)
    if not found:
        problems.append(f"empty class folder {folder}: put the {folder.name} images of {folder.parent.name} in it")
    return found, problems, notes


def check_split_folder(split_dir: Path) -> tuple[dict[str, Path], list[str], list[str]]:
    """The class folders of one split, the problems at that level, and the clutter skipped."""
    present, problems, notes = {}, [], []
    for child in sorted(split_dir.iterdir()):
        if _is_clutter(child):
            notes.append(f"skipped system file {child}")
        elif not child.is_dir():
            problems.append(f"file {child} is outside a class folder: move it into benign/ or malignant/")
        elif child.name in CLASS_NAMES:
            present[child.name] = child
        elif child.name.lower() in CLASS_NAMES:
            problems.append(f"class folder {child} is spelled {child.name!r}: class folders are lower-case; "
                            f"rename it to {child.name.lower()!r}")
        else:
            problems.append(
                f"unexpected folder {child}: the course has exactly two classes, benign and malignant; "
                "move this folder out of the dataset (or merge its images into benign/ or malignant/)"
            )
    spelled = {p.name.lower() for p in split_dir.iterdir() if p.is_dir()}
    for cls in CLASS_NAMES:
        if cls not in present and cls not in spelled:
            problems.append(f"missing class folder {split_dir / cls}: create it and put the {cls} images in it")
    return present, problems, notes


@dataclass
class Layout:
    """What :func:`check_layout` found: the image files the loader would use, and what is wrong around them."""

    files: dict[str, list[tuple[Path, int]]]  # split -> sorted [(path, label)]
    problems: list[str]
    notes: list[str]


def check_layout(root: str | Path, require_test: bool = False, splits: Sequence[str] | None = None) -> Layout:
    """Check the folders under `root` (splits, class folders, what sits in them) without opening an image.

    The one layout check: :func:`scan_folder` (train, evaluate) and ``cancer-course audit`` both
    use it, so they refuse the same folders with the same words. `splits` checks only those
    splits, each of them required (``evaluate`` reads the one split it evaluates).
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
    entries = {p.name: p for p in root.iterdir()}
    for split in SPLITS if splits is None else splits:
        if split not in entries or not entries[split].is_dir():
            near = [n for n in entries if n.lower() in (split, split[:3], "val", "valid", "testing", "training")]
            hint = f" (found {near[0]!r}: rename it to {split!r})" if near else ""
            if splits is not None or split in REQUIRED_SPLITS or require_test:
                problems.append(f"missing split folder {root / split}{hint}: create it with benign/ and malignant/ inside")
            else:
                notes.append(f"no test split in {root}: only train and validation are loaded")
            continue
        present, split_problems, split_notes = check_split_folder(entries[split])
        problems += split_problems
        notes += split_notes
        files[split] = []
        for label, cls in enumerate(CLASS_NAMES):  # fixed order: benign 0, malignant 1
            if cls in present:
                found, class_problems, class_notes = check_class_folder(present[cls])
                problems += class_problems
                notes += class_notes
                files[split] += [(path, label) for path in found]
    return Layout(files, problems, notes)


def scan_folder(root: str | Path, require_test: bool = False, verify: bool = True,
                splits: Sequence[str] | None = None) -> FolderScan:
    """Check the layout under `root` and open every image; raise :class:`DataError` on problems.

    Returns the ``(path, label)`` list of every split present. `verify=False` skips decoding
    every image (faster, but corrupt files then surface later, inside TensorFlow). `splits`
    scans only those splits, each of them required (``evaluate`` scans the split it evaluates).
    """
    root = Path(root).expanduser()
    layout = check_layout(root, require_test=require_test, splits=splits)
    problems, notes = list(layout.problems), list(layout.notes)
    files: dict[str, list[tuple[Path, int]]] = {}
    counts: dict[str, dict[str, int]] = {}
    conversions: dict[str, list[Path]] = defaultdict(list)
    modes: dict[str, int] = defaultdict(int)
    sizes: dict[tuple[int, int], int] = defaultdict(int)
    for split, found in layout.files.items():
        files[split] = []
        for path, label in found:
            if verify:
                info = images.inspect(path)
                if info.error:
                    problems.append(info.message)
                    continue
                modes[info.mode] += 1
                sizes[info.size] += 1
                if info.conversion:
                    conversions[info.mode].append(path)
            files[split].append((path, label))
        counts[split] = {cls: sum(1 for _, lab in files[split] if lab == label) for label, cls in enumerate(CLASS_NAMES)}
    if problems:
        raise DataError(_problem_report(root, problems))
    for mode, paths in sorted(conversions.items()):
        notes.append(f"converted {len(paths)} image(s) to RGB - {images.CONVERSIONS.get(mode, mode)} (e.g. {paths[0]})")
    return FolderScan(root, files, counts, notes, dict(modes), dict(sizes))


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
