"""Profiles: one switch (`PROFILE`) that sets image size, data counts, model size and epochs.

- ``smoke``  - seconds per notebook; tiny images and counts; what CI runs.
- ``laptop`` - the default; a few minutes per notebook on a 2-core CPU with no GPU.
- ``full``   - the reference 224x224 model and recipe, for a GPU (Colab/Kaggle).

A notebook's ``parameters`` cell sets ``PROFILE = "laptop"``; papermill (``-p PROFILE smoke``)
and the environment variable ``CANCER_COURSE_PROFILE`` both override it.

The lessons that read data have a second parameter, ``DATASET_PATH = None`` (the embedded
dataset); a folder in the course layout puts the lesson on real data, and
``CANCER_COURSE_DATASET`` overrides it the same way (:func:`dataset_root`).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

ENV_PROFILE = "CANCER_COURSE_PROFILE"
ENV_DATA_DIR = "CANCER_COURSE_DATA"
ENV_DATASET = "CANCER_COURSE_DATASET"
DEFAULT_PROFILE = "laptop"


@dataclass(frozen=True)
class Profile:
    """Everything a lesson needs to know about how big and how long to run."""

    name: str
    description: str
    image_size: int  # square tiles, pixels per side
    n_train: int  # embedded dataset: images per split
    n_validation: int
    n_test: int
    batch_size: int
    epochs: int
    width: float  # model width multiplier (1.0 = the reference model)
    blocks_per_stage: tuple[int, int, int] = (3, 4, 3)  # residual blocks in stages 1, 2 and 4
    head_units: tuple[int, ...] = (1024, 512, 256)
    cost: str = ""  # what one notebook costs in this profile, as measured
    # Run training eagerly instead of tracing a graph. Tracing the course model costs ~15 s on a
    # 2-core CPU - more than a whole smoke epoch - so smoke skips it; real training wants the graph.
    run_eagerly: bool = False
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        description="Seconds per notebook: tiny images, a handful of tiles, one epoch. What CI runs.",
        image_size=32,
        n_train=64,
        n_validation=32,
        n_test=32,
        batch_size=16,
        epochs=1,
        width=0.25,
        blocks_per_stage=(1, 1, 1),
        head_units=(64, 32, 16),
        cost="seconds per notebook on a 2-core CPU",
        run_eagerly=True,
    ),
    "laptop": Profile(
        name="laptop",
        description="The default: a few minutes per notebook on a 2-core CPU with no GPU.",
        image_size=64,
        n_train=1600,
        n_validation=400,
        n_test=400,
        batch_size=32,
        epochs=20,
        width=0.5,
        blocks_per_stage=(1, 1, 1),
        head_units=(256, 128, 64),
        cost="a few minutes per notebook on a 2-core CPU",
    ),
    "full": Profile(
        name="full",
        description="The reference 224x224 model and recipe. Use a GPU (Colab/Kaggle).",
        image_size=224,
        n_train=6000,
        n_validation=1500,
        n_test=1500,
        batch_size=32,
        epochs=100,
        width=1.0,
        blocks_per_stage=(3, 4, 3),
        head_units=(1024, 512, 256),
        cost="hours on a CPU; tens of minutes on one GPU",
    ),
}


def profile_name(requested: str | None = None) -> str:
    """Resolve the profile name: environment variable, then `requested`, then the default."""
    name = os.environ.get(ENV_PROFILE) or requested or DEFAULT_PROFILE
    name = name.strip().lower()
    if name not in PROFILES:
        raise ValueError(
            f"Unknown profile {name!r}. Choose one of {', '.join(PROFILES)} "
            f"(set PROFILE in the notebook's parameters cell or ${ENV_PROFILE})."
        )
    return name


def get_profile(requested: str | None = None) -> Profile:
    """Return the active :class:`Profile`.

    ``CANCER_COURSE_PROFILE`` wins over ``requested`` so that tools which cannot inject
    parameters (nbval, a teacher's batch run) can still pick the profile.
    """
    return PROFILES[profile_name(requested)]


def project_root() -> Path | None:
    """The checkout this package was imported from, or None when installed elsewhere."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() and (root / "notebooks").is_dir() else None


def data_dir() -> Path:
    """Where generated and downloaded data lives (git-ignored).

    ``$CANCER_COURSE_DATA`` if set; else ``data/`` in the checkout; else ``./data``.
    """
    if os.environ.get(ENV_DATA_DIR):
        return Path(os.environ[ENV_DATA_DIR]).expanduser()
    root = project_root()
    return (root / "data") if root else Path.cwd() / "data"


def dataset_root(profile: str | None = None, dataset_path: str | Path | None = None) -> Path:
    """The dataset a lesson reads: ``$CANCER_COURSE_DATASET``, then `dataset_path`, then the embedded one.

    A folder given either way must exist (the layout itself is checked by
    :func:`cancer_course.data.load_splits`, which names every problem it finds). With neither,
    the embedded dataset of the profile is generated once and reused.
    """
    chosen = os.environ.get(ENV_DATASET) or dataset_path
    if chosen:
        root = Path(chosen).expanduser()
        if not root.is_dir():
            where = f"${ENV_DATASET}" if os.environ.get(ENV_DATASET) else "DATASET_PATH"
            raise FileNotFoundError(
                f"Dataset folder {root} (from {where}) does not exist. Give the folder that holds "
                "train/, validation/ and test/, each with benign/ and malignant/ inside, or set "
                f"{where} to None for the embedded dataset."
            )
        return root
    from .synth import ensure_dataset

    return ensure_dataset(profile)


def results_dir() -> Path:
    """Where models, logs and figures are written (git-ignored)."""
    root = project_root()
    return (root / "results") if root else Path.cwd() / "results"
