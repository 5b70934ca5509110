"""Confounders for lesson 11: the same data with a label-correlated artefact in train and validation.

The embedded dataset is generated again with the artefact drawn in; any other dataset gets a
stamped copy (:func:`confounded_copy`). :func:`with_confounder` picks the right one.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from .. import config
from ..defaults import CONFOUNDERS
from ..labels import SPLITS
from .copies import _copy_bar, _copy_target, _resized_rgb
from .dataset import CLASSES, GENERATOR_VERSION, read_manifest
from .lessons import ensure_dataset
from .tile import CONFOUNDER_RATE, add_confounder

COPY_VERSION = "confounded-copy-1"


def confounded_copy(root: str | Path, kind: str, image_size: int, dest: str | Path | None = None,
                    seed: int = 0, progress: bool | None = None) -> Path:
    """A copy of any dataset in the course layout with a label-correlated artefact stamped in.

    The rule of :func:`generate_dataset`: in train and validation, 90% of the malignant and 10%
    of the benign images get the artefact; test stays clean. Images are resized to `image_size`
    and written as PNG. The copy lives in ``config.data_dir()/confounded-<kind>-<hash>`` unless
    `dest` is given, and is reused while its manifest matches. The source is never modified.
    """
    from ..data import scan_folder

    if kind not in CONFOUNDERS:
        raise ValueError(f"Unknown confounder {kind!r}: choose one of {', '.join(CONFOUNDERS)}.")
    root = Path(root).expanduser().resolve()
    scan = scan_folder(root, verify=False)
    params = {"source": str(root), "confounder": kind, "image_size": int(image_size), "seed": int(seed),
              "counts": scan.counts}
    out, reused = _copy_target(root, params, f"confounded-{kind}", COPY_VERSION, dest)
    if reused:
        return out
    jobs = [(split, path, label) for split, files in scan.files.items() for path, label in files]
    bar = _copy_bar(len(jobs), f"stamping '{kind}'", progress)
    for split in scan.files:
        for cls in CLASSES:
            folder = out / split / cls
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
    for index, (split, path, label) in enumerate(jobs):
        tile = _resized_rgb(path, image_size)
        rng = np.random.default_rng([seed, SPLITS.index(split), label, index])
        if split != "test" and rng.uniform() < CONFOUNDER_RATE[label]:
            tile = (np.clip(add_confounder(tile / 255.0, kind), 0, 1) * 255 + 0.5).astype(np.uint8)
        Image.fromarray(tile).save(out / split / CLASSES[label] / f"{path.stem}.png", compress_level=1)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    (out / "manifest.json").write_text(json.dumps({"generator": COPY_VERSION, "parameters": params},
                                                  indent=2, sort_keys=True) + "\n")
    return out


def with_confounder(root: str | Path, kind: str, profile: str | None = None) -> Path:
    """The dataset at `root` with a label-correlated artefact (lesson 11).

    The embedded dataset is generated again with the artefact drawn in (:func:`ensure_dataset`);
    any other dataset - real data from ``DATASET_PATH`` - gets a stamped copy at the profile's
    image size (:func:`confounded_copy`).
    """
    manifest = read_manifest(root)
    if manifest and manifest.get("generator") == GENERATOR_VERSION:
        return ensure_dataset(profile, **{**manifest["parameters"], "confounder": kind})
    return confounded_copy(root, kind, config.get_profile(profile).image_size)
