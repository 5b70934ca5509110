"""Two modalities under one label (lesson 07): the original system pooled five.

:func:`two_modality_copy` copies any dataset in the course layout as tissue tiles and a second,
greyscale "modality" made from them (:func:`second_modality`), in the mixes of
:data:`SHIFT_EXPERIMENT`; :func:`modality_set` lists one set's files, labels and modalities.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from ..labels import SPLITS
from .copies import _copy_bar, _copy_target, _resized_rgb
from .dataset import CLASSES, read_manifest
from .drawing import blur3

MODALITY_VERSION = "two-modality-2"
MODALITIES = ("tissue", "grey")  # the tiles as they are; a second modality made from them
# Each set of the copy: (the source split its tiles come from, {modality: (share of the set, malignant
# fraction)}). Training is about 70% malignant, as in the original system (class weights near
# {0: 1.67, 1: 0.71}), and the second modality carries most of the malignant tiles: P(grey | benign)
# = 0.5 * 0.1 / 0.3 = 1/6, P(grey | malignant) = 0.5 * 0.9 / 0.7 = 9/14. "matched" has the training
# mix; "shifted" the opposite class balance (30% malignant: the training split's minority is its
# majority) with the same P(modality | class), a pure prior shift: grey share 0.7/6 + 0.3 * 9/14 = 13/42,
# its malignant fraction (0.3 * 9/14) / (13/42) = 81/130; tissue 29/42 and 9/58. Each set comes from
# its own source split.
SHIFT_EXPERIMENT = {
    "train": ("train", {"tissue": (0.5, 0.5), "grey": (0.5, 0.9)}),
    "matched": ("validation", {"tissue": (0.5, 0.5), "grey": (0.5, 0.9)}),
    "shifted": ("test", {"tissue": (29 / 42, 9 / 58), "grey": (13 / 42, 81 / 130)}),
}


def second_modality(tile: np.ndarray) -> np.ndarray:
    """Another modality's look for a uint8 RGB tile: greyscale, blurred, inverted (bright
    structures on a dark ground, as in a radiograph or a fluorescence image). Same anatomy."""
    grey = blur3(tile.astype(np.float32).mean(axis=2) / 255.0)
    dark = 1.0 - grey
    return (np.repeat(dark[..., None], 3, axis=2) * 255 + 0.5).astype(np.uint8)


def modality_counts(n_benign: int, n_malignant: int, mix: dict) -> dict[str, dict[str, int]]:
    """How many benign and malignant tiles each modality gets from a split of the source.

    ``mix`` maps each modality to (share of tiles, malignant fraction); the set is made as
    large as the source's tiles of each class allow (no tile is used twice).
    """
    shares = sum(share for share, _ in mix.values())
    if not np.isclose(shares, 1.0):
        raise ValueError(f"The modality shares of a split must add up to 1, got {shares:.3f} in {mix}.")
    want_mal = sum(share * frac for share, frac in mix.values())
    limits = [n / w for n, w in ((n_malignant, want_mal), (n_benign, 1 - want_mal)) if w > 0]
    total = min(limits)
    counts = {}
    for name, (share, frac) in mix.items():
        counts[name] = {"benign": int(total * share * (1 - frac) + 1e-9),  # 1e-9: 49.999... is 50
                        "malignant": int(total * share * frac + 1e-9)}
    return counts


def two_modality_copy(root: str | Path, image_size: int, sets: dict | None = None, dest: str | Path | None = None,
                      seed: int = 0, progress: bool | None = None) -> Path:
    """A copy of any dataset in the course layout as two modalities under one label.

    ``sets`` (default :data:`SHIFT_EXPERIMENT`) maps each set of the copy to the source split its
    tiles come from and its mix: per modality, its share of the set and its malignant fraction.
    ``tissue`` tiles are copied as they are, ``grey`` ones get :func:`second_modality`. Every set
    draws from its own source split, so no tile is in two sets; tiles left over are not copied.
    Files go to ``SET/CLASS/MODALITY-NAME.png``; :func:`modality_set` lists a set's files, labels
    and modalities. Lives in ``config.data_dir()/two-modality-<hash>`` unless `dest` is given, and
    is reused while its manifest matches. The source is never modified.
    """
    from ..data import scan_folder

    sets = SHIFT_EXPERIMENT if sets is None else sets
    root = Path(root).expanduser().resolve()
    scan = scan_folder(root, verify=False)
    sources = [source for source, _ in sets.values()]
    if (set(sources) - set(scan.files) or len(set(sources)) < len(sources)
            or any(set(mix) - set(MODALITIES) for _, mix in sets.values())):
        raise ValueError(f"Each set needs its own source split among {', '.join(scan.files)} of {root}, and only "
                         f"the modalities {MODALITIES}; got {sets}.")
    params = {"source": str(root), "image_size": int(image_size), "seed": int(seed), "counts": scan.counts,
              "sets": {name: [source, {m: list(v) for m, v in mix.items()}] for name, (source, mix) in sets.items()}}
    out, reused = _copy_target(root, params, "two-modality", MODALITY_VERSION, dest)
    if reused:
        return out
    jobs = []  # (output name, source path, modality)
    counts = {}
    for name, (source, mix) in sets.items():
        counts[name] = modality_counts(scan.counts[source]["benign"], scan.counts[source]["malignant"], mix)
        for label, cls in enumerate(CLASSES):
            paths = [path for path, lab in scan.files[source] if lab == label]
            order = np.random.default_rng([seed, SPLITS.index(source), label]).permutation(len(paths))
            start = 0
            for modality in mix:
                n = counts[name][modality][cls]
                jobs += [(f"{name}/{cls}/{modality}-{paths[i].stem}.png", paths[i], modality)
                         for i in order[start:start + n]]
                start += n
            folder = out / name / cls
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
    bar = _copy_bar(len(jobs), "two modalities", progress)
    modalities = {}
    for name, path, modality in jobs:
        tile = _resized_rgb(path, image_size)
        if modality == "grey":
            tile = second_modality(tile)
        Image.fromarray(tile).save(out / name, compress_level=1)
        modalities[name] = modality
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    manifest = {"generator": MODALITY_VERSION, "parameters": params, "counts": counts, "modalities": modalities}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return out


def modality_set(root: str | Path, name: str) -> tuple[list[Path], list[int], np.ndarray]:
    """``(paths, labels, modalities)`` of one set of a :func:`two_modality_copy`, from its manifest."""
    root = Path(root)
    manifest = read_manifest(root)
    if not manifest or "modalities" not in manifest:
        raise ValueError(f"{root} has no manifest with modalities: make it with synth.two_modality_copy.")
    files = sorted(f for f in manifest["modalities"] if f.split("/")[0] == name)
    if not files:
        raise ValueError(f"{root / 'manifest.json'} has no set {name!r}; it has {', '.join(manifest['counts'])}.")
    return ([root / f for f in files], [CLASSES.index(f.split("/")[1]) for f in files],
            np.array([manifest["modalities"][f] for f in files]))
