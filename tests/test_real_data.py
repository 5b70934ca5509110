"""The real data in ../shared/data (development and CI only): it goes through the course's adapters and loader.

Every test skips, with the reason, where the folder is absent: learners do not have it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cancer_course.adapters import from_medmnist_npz
from cancer_course.data import scan_folder
from cancer_course.pipeline import load_splits

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
BREASTMNIST = SHARED / "breastmnist" / "BreastMNIST.npz"
PCAM = SHARED / "pcam"

needs_breastmnist = pytest.mark.skipif(not BREASTMNIST.is_file(), reason=f"real data not here: {BREASTMNIST}")
needs_pcam = pytest.mark.skipif(not PCAM.is_dir(), reason=f"real data not here: {PCAM}")


@needs_breastmnist
def test_breastmnist_converts_with_label_0_as_malignant(tmp_path):
    root = from_medmnist_npz(BREASTMNIST, tmp_path / "breastmnist")  # the file name says BreastMNIST
    splits = load_splits(root, image_size=32, verbose=False)
    with np.load(BREASTMNIST) as npz:
        for key, split, total in (("train", "train", 546), ("val", "validation", 78), ("test", "test", 156)):
            labels = npz[f"{key}_labels"].reshape(-1)
            assert sum(splits.counts[split].values()) == total
            assert splits.counts[split] == {"benign": int((labels == 1).sum()), "malignant": int((labels == 0).sum())}
            i = int(np.flatnonzero(labels == 0)[0])  # the first malignant image, pixel for pixel
            saved = np.asarray(Image.open(root / split / "malignant" / f"{key}_{i:05d}.png"))
            assert np.array_equal(saved, npz[f"{key}_images"][i])
    assert any("greyscale" in note for note in splits.notes)  # 28x28 greyscale PNGs, converted to RGB
    images, labels = next(iter(splits.test.batch(16)))
    assert images.shape == (16, 32, 32, 3) and set(np.unique(labels.numpy())) <= {0, 1}


@needs_pcam
def test_pcam_subset_loads_in_the_course_layout():
    # verify=False lists the 23,000 files without opening them: 0.8 s, against 16 s for opening them all
    splits = load_splits(PCAM, image_size=96, verify=False, verbose=False)
    assert splits.counts == {"train": {"benign": 10_000, "malignant": 10_000},
                             "validation": {"benign": 1_500, "malignant": 1_500}}
    assert splits.test is None and any("no test split" in n for n in splits.notes)
    images, labels = next(iter(splits.validation.batch(8)))
    assert images.shape == (8, 96, 96, 3) and 0.0 <= float(images.numpy().min()) <= float(images.numpy().max()) <= 1.0


@needs_pcam
def test_pcam_patches_are_96_px_rgb():
    scan = scan_folder(PCAM, verify=False)
    for path, _ in scan.files["validation"][:25] + scan.files["validation"][-25:]:
        with Image.open(path) as im:
            assert im.size == (96, 96) and im.mode == "RGB"
