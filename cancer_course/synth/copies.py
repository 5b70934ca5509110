"""What every derived copy of a dataset shares: where it goes, when it is reused, its reader and bar.

A derived copy (:func:`.confounders.confounded_copy`, :func:`.modalities.two_modality_copy`) is
made from any dataset in the course layout, never modifies its source, and lives in
``config.data_dir()/PREFIX-<hash of its parameters>`` unless told otherwise.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from PIL import Image

from .. import config, images
from .dataset import read_manifest


def _copy_target(root: Path, params: dict, prefix: str, version: str, dest) -> tuple[Path, bool]:
    """Where a derived copy of `root` goes (``config.data_dir()/PREFIX-<hash of params>`` unless
    `dest` is given), and whether a copy made with the same version and parameters is already there."""
    if dest is None:
        digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:10]
        dest = config.data_dir() / f"{prefix}-{digest}"
    out = Path(dest)
    if out.resolve() == root or root in out.resolve().parents:
        raise ValueError(f"The copy must go outside the source dataset {root}; choose another dest.")
    manifest = read_manifest(out)
    return out, bool(manifest and manifest.get("generator") == version and manifest.get("parameters") == params)


def _copy_bar(n: int, desc: str, progress: bool | None):
    """A tqdm bar for a copy of `n` images (by default only for more than 500), or None."""
    if not ((n > 500) if progress is None else progress):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=n, desc=desc, unit="image")


def _resized_rgb(path: Path, image_size: int) -> np.ndarray:
    """Any image file as a uint8 RGB array of `image_size` x `image_size` (the copies' reader).

    The pixels are :func:`cancer_course.images.read_rgb`'s, the ones every command reads.
    """
    return np.asarray(Image.fromarray(images.read_rgb(path)).resize((image_size, image_size), Image.BILINEAR))
