"""The dataset a lesson reads: a folder the learner names, or the embedded one, generated once.

:func:`dataset_root` is what every lesson calls; :func:`ensure_dataset` keeps one generated copy
per profile (and per set of options) in ``config.data_dir()``, reused while its manifest matches.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .. import config
from .dataset import GENERATOR_VERSION, dataset_parameters, generate_dataset, read_manifest


def ensure_dataset(profile: str | None = None, progress: bool | None = None, **overrides) -> Path:
    """Generate the embedded dataset for a profile once, and reuse it while the manifest matches.

    Lives in ``config.data_dir()/embedded-<profile>`` (or ``embedded-<hash>`` when `overrides`
    change any option, e.g. ``ensure_dataset("laptop", confounder="corner")``). Sets of more than
    500 tiles show a progress bar unless ``progress=False``.
    """
    prof = config.get_profile(profile)
    base = dict(image_size=prof.image_size, n_train=prof.n_train, n_validation=prof.n_validation,
                n_test=prof.n_test)  # fmt: skip
    params = dataset_parameters(**{**base, **overrides})
    default = dataset_parameters(**base)
    if params == default:
        name = f"embedded-{prof.name}"
    else:
        digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:10]
        name = f"embedded-{digest}"
    root = config.data_dir() / name
    manifest = read_manifest(root)
    if manifest and manifest.get("generator") == GENERATOR_VERSION and manifest.get("parameters") == params:
        return root
    total = params["n_train"] + params["n_validation"] + params["n_test"]
    show = total > 500 if progress is None else progress
    return generate_dataset(root, progress=show, **params)


def dataset_root(profile: str | None = None, dataset_path: str | Path | None = None) -> Path:
    """The dataset a lesson reads: ``$CANCER_COURSE_DATASET``, then `dataset_path`, then the embedded one.

    A folder given either way must exist (the layout itself is checked by
    :func:`cancer_course.pipeline.load_splits`, which names every problem it finds). With neither,
    the embedded dataset of the profile is generated once and reused (:func:`ensure_dataset`).
    """
    chosen = os.environ.get(config.ENV_DATASET) or dataset_path
    if chosen:
        root = Path(chosen).expanduser()
        if not root.is_dir():
            where = f"${config.ENV_DATASET}" if os.environ.get(config.ENV_DATASET) else "DATASET_PATH"
            raise FileNotFoundError(
                f"Dataset folder {root} (from {where}) does not exist. Give the folder that holds "
                "train/, validation/ and test/, each with benign/ and malignant/ inside, or set "
                f"{where} to None for the embedded dataset."
            )
        return root
    return ensure_dataset(profile)
