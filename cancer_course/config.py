"""Profiles: one switch (`PROFILE`) that sets image size, data counts, model size and epochs.

- ``smoke``  - seconds per notebook; tiny images and counts; what CI runs.
- ``laptop`` - the default; a few minutes per notebook on a 2-core CPU with no GPU.
- ``full``   - the reference 224x224 model and recipe, for a GPU (Colab/Kaggle).

A notebook's ``parameters`` cell sets ``PROFILE = "laptop"``; papermill (``-p PROFILE smoke``)
and the environment variable ``CANCER_COURSE_PROFILE`` both override it.

The lessons that read data have a second parameter, ``DATASET_PATH = None`` (the embedded
dataset); a folder in the course layout puts the lesson on real data, and
``CANCER_COURSE_DATASET`` overrides it the same way (:func:`cancer_course.synth.dataset_root`).

This module holds only profiles and paths and imports nothing else from the package, so every
other module can import it.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
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


def repo_root(start: Path | None = None) -> Path:
    """The course checkout: the nearest folder at or above `start` (default: the current folder)
    that holds pyproject.toml. What the command line works on (lessons, notebook checks, exercises)."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    raise FileNotFoundError(f"No pyproject.toml found in {here} or above: run this from the course checkout.")


def project_root() -> Path | None:
    """The checkout this package was imported from, or None when installed elsewhere.

    Unlike :func:`repo_root` it does not depend on the current folder: it decides where
    :func:`data_dir` and :func:`results_dir` are, wherever a notebook runs from."""
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


def results_dir() -> Path:
    """Where models, logs and figures are written (git-ignored)."""
    root = project_root()
    return (root / "results") if root else Path.cwd() / "results"
