"""Adapters: public datasets, as their authors ship them, into the course layout.

``ROOT/{train,validation,test}/{benign,malignant}/*`` is what :func:`cancer_course.pipeline.load_splits`
reads. :mod:`cancer_course.datasets` downloads BreastMNIST and PatchCamelyon and calls these; a
learner with a copy already on disk calls them directly:

- :func:`from_medmnist_npz`: a MedMNIST ``.npz`` (BreastMNIST's **label 0 is malignant**) as PNGs;
- :func:`from_label_folders`: label-numbered folders (``0/`` and ``1/``, PatchCamelyon style), with
  or without split folders, hard-linked (or copied) into the layout.

Each writes ``adapter.json`` beside the splits: where the data came from and how many images of
each class went into each split.

Research and education only: not a medical device, not for clinical use.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

from .data import _is_clutter
from .errors import DataError
from .labels import CLASS_NAMES

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
