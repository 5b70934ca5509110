"""The dataset on disk: its options, its patients, every tile's seed, the PNG files and the manifest.

:func:`generate_dataset` writes ``OUT/{train,validation,test}/{benign,malignant}/*.png``,
``OUT/manifest.json`` (what made it) and ``OUT/patients.csv`` (the patient of every file; each
patient in one split); :func:`render_tile` gives any one tile exactly as it is written.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from ..defaults import (
    CONFOUNDERS,
    DEFAULT_DIFFICULTY,
    DEFAULT_MALIGNANT_FRACTION,
    REFERENCE_SIZE,
    SPLIT_SIZES,
    TILES_PER_PATIENT,
)
from ..labels import CLASS_NAMES, SPLITS
from .tile import CONFOUNDER_RATE, Patient, add_confounder, make_tile

GENERATOR_VERSION = "synth-2"  # change it whenever the pixels change: cached datasets are then remade
CLASSES = CLASS_NAMES  # label 0, label 1 (the lessons' name for labels.CLASS_NAMES)
PATIENTS_FILE = "patients.csv"  # beside manifest.json: path,group (the patient) for every file


def tile_rng(seed: int, split: str, label: int, index: int) -> np.random.Generator:
    """The random generator of one tile: depends only on (seed, split, class, index)."""
    return np.random.default_rng([seed, SPLITS.index(split), label, index])


def split_counts(n: int, malignant_fraction: float) -> dict[str, int]:
    """How many benign and malignant tiles a split of `n` tiles gets."""
    n_malignant = int(round(n * malignant_fraction))
    return {"benign": n - n_malignant, "malignant": n_malignant}


def _shares(n: int, weights: np.ndarray) -> np.ndarray:
    """`n` split in proportion to `weights`, in whole numbers that add up to `n` (largest remainders)."""
    exact = n * weights / weights.sum()
    counts = np.floor(exact).astype(int)
    counts[np.argsort(counts - exact, kind="stable")[: n - counts.sum()]] += 1
    return counts


def _n_patients(n_tiles: int, tiles_per_patient: int) -> int:
    """How many patients a split of `n_tiles` tiles gets (none when it has no tiles)."""
    return max(1, int(round(n_tiles / tiles_per_patient))) if n_tiles else 0


@lru_cache(maxsize=64)
def _patients_of_split(seed: int, split: str, n_benign: int, n_malignant: int, tiles_per_patient: int,
                       first: int) -> tuple[np.ndarray, np.ndarray]:
    """Patient numbers of the benign and of the malignant tiles of one split (cached: read-only arrays)."""
    n_patients = max(_n_patients(n_benign + n_malignant, tiles_per_patient), 1)
    rng = np.random.default_rng([seed, SPLITS.index(split), 7919])  # the split's patient draw
    tumour_share = np.clip(rng.beta(0.5, 0.5, n_patients), 0.02, 0.98)  # most patients mostly one class
    out = []
    for n, weights in ((n_benign, 1 - tumour_share), (n_malignant, tumour_share)):
        ids = first + np.repeat(np.arange(n_patients), _shares(n, weights))
        ids = rng.permutation(ids)
        ids.flags.writeable = False
        out.append(ids)
    return out[0], out[1]


def split_patients(params: dict) -> dict[str, dict[int, np.ndarray]]:
    """``{split: {label: patient number of each tile index}}``: every patient in one split only.

    Each split gets about ``n / tiles_per_patient`` patients of its own, numbered across splits;
    each patient draws a share of malignant tiles (most patients are mostly benign or mostly
    malignant, as real slides are) and the split's tiles of each class are dealt out accordingly.
    """
    out, first = {}, 0
    for split in SPLITS:
        counts = split_counts(params[f"n_{split}"], params["malignant_fraction"])
        benign, malignant = _patients_of_split(params["seed"], split, counts["benign"], counts["malignant"],
                                               params["tiles_per_patient"], first)  # fmt: skip
        out[split] = {0: benign, 1: malignant}
        first += _n_patients(counts["benign"] + counts["malignant"], params["tiles_per_patient"])
    return out


def patient_name(number: int) -> str:
    return f"P{number:04d}"


@lru_cache(maxsize=4096)
def patient(seed: int, number: int) -> Patient:
    """The appearance shared by the tiles of patient `number` (depends only on seed and number)."""
    return Patient.draw(np.random.default_rng([seed, number, 104729]))


def dataset_parameters(
    image_size: int = REFERENCE_SIZE,
    n_train: int = SPLIT_SIZES["train"],
    n_validation: int = SPLIT_SIZES["validation"],
    n_test: int = SPLIT_SIZES["test"],
    malignant_fraction: float = DEFAULT_MALIGNANT_FRACTION,
    difficulty: float = DEFAULT_DIFFICULTY,
    confounder: str | None = None,
    seed: int = 0,
    tiles_per_patient: int = TILES_PER_PATIENT,
) -> dict:
    """Check and collect the options that define a dataset (what the manifest records)."""
    if not 8 <= int(image_size) <= 1024:
        raise ValueError(f"image_size must be between 8 and 1024 pixels, got {image_size}.")
    for name, n in (("n_train", n_train), ("n_validation", n_validation), ("n_test", n_test)):
        if int(n) < 0:
            raise ValueError(f"{name} must be 0 or more, got {n}.")
    if not 0.0 <= malignant_fraction <= 1.0:
        raise ValueError(f"malignant_fraction must be between 0 and 1, got {malignant_fraction}.")
    if not 0.0 <= difficulty <= 1.0:
        raise ValueError(f"difficulty must be between 0 (easy) and 1 (impossible), got {difficulty}.")
    if confounder is not None and confounder not in CONFOUNDERS:
        raise ValueError(f"confounder must be one of {', '.join(CONFOUNDERS)} or None, got {confounder!r}.")
    if int(tiles_per_patient) < 1:
        raise ValueError(f"tiles_per_patient must be 1 or more (1: every tile a patient of its own), got {tiles_per_patient}.")
    return {
        "image_size": int(image_size),
        "n_train": int(n_train),
        "n_validation": int(n_validation),
        "n_test": int(n_test),
        "malignant_fraction": float(malignant_fraction),
        "difficulty": float(difficulty),
        "confounder": confounder,
        "seed": int(seed),
        "tiles_per_patient": int(tiles_per_patient),
    }


def render_tile(params: dict, split: str, label: int, index: int) -> np.ndarray:
    """The tile `index` of one split and class, exactly as `generate_dataset` writes it."""
    rng = tile_rng(params["seed"], split, label, index)
    number = int(split_patients(params)[split][label][index])
    tile = make_tile(rng, label, params["image_size"], params["difficulty"], patient(params["seed"], number))
    kind = params["confounder"]
    if kind and split != "test" and rng.uniform() < CONFOUNDER_RATE[label]:
        tile = (np.clip(add_confounder(tile / 255.0, kind), 0, 1) * 255 + 0.5).astype(np.uint8)
    return tile


def generate_dataset(
    out_dir: str | Path,
    image_size: int = REFERENCE_SIZE,
    n_train: int = SPLIT_SIZES["train"],
    n_validation: int = SPLIT_SIZES["validation"],
    n_test: int = SPLIT_SIZES["test"],
    malignant_fraction: float = DEFAULT_MALIGNANT_FRACTION,
    difficulty: float = DEFAULT_DIFFICULTY,
    confounder: str | None = None,
    seed: int = 0,
    progress: bool | Callable[[int], None] = False,
    tiles_per_patient: int = TILES_PER_PATIENT,
) -> Path:
    """Write ``OUT/{train,validation,test}/{benign,malignant}/*.png``, ``OUT/manifest.json`` and
    ``OUT/patients.csv``.

    `difficulty` (0..1) sets how much the classes overlap; `malignant_fraction` the class balance;
    `confounder` ("corner" or "stain") marks most malignant and few benign tiles of train and
    validation - never test. Tiles come from patients of about `tiles_per_patient` tiles each,
    every patient in one split; ``patients.csv`` (``path,group``) names the patient of every
    file. `progress`: True for a tqdm bar, or a callable given each count done.
    Existing class folders in `out_dir` are replaced.
    """
    params = dataset_parameters(
        image_size, n_train, n_validation, n_test, malignant_fraction, difficulty, confounder, seed, tiles_per_patient
    )
    patients = split_patients(params)
    out = Path(out_dir)
    jobs = []
    counts = {}
    for split in SPLITS:
        counts[split] = split_counts(params[f"n_{split}"], params["malignant_fraction"])
        for label, cls in enumerate(CLASSES):
            folder = out / split / cls
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            jobs += [(split, label, cls, i) for i in range(counts[split][cls])]
    bar = None
    if progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), desc="generating tiles", unit="tile")
    rows = ["path,group"]
    for done, (split, label, cls, i) in enumerate(jobs, 1):
        tile = render_tile(params, split, label, i)
        name = f"{split}/{cls}/{split}_{cls}_{i:05d}.png"
        Image.fromarray(tile).save(out / name, optimize=False, compress_level=1, compress_type=3)  # 3 = zlib Z_RLE: fast, small
        rows.append(f"{name},{patient_name(patients[split][label][i])}")
        if bar is not None:
            bar.update(1)
        elif callable(progress):
            progress(done)
    if bar is not None:
        bar.close()
    (out / PATIENTS_FILE).write_text("\n".join(rows) + "\n")
    n_patients = {split: len({int(p) for ids in patients[split].values() for p in ids}) for split in SPLITS}
    manifest = {"generator": GENERATOR_VERSION, "parameters": params, "counts": counts,
                "patients": PATIENTS_FILE, "n_patients": n_patients}  # fmt: skip
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return out


def read_manifest(root: str | Path) -> dict | None:
    """The manifest of a generated dataset, or None if there is none (or it is unreadable)."""
    try:
        return json.loads((Path(root) / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
