"""What the audit reads from each file, and the look-alike search: byte hash, perceptual hash, pairs.

:func:`examine_file` gives one file's byte hash, format, mode, size, grey thumbnail and 64-bit
perceptual hash (:func:`perceptual_hash`); :func:`near_pairs` finds the look-alike pairs across
splits or labels: hashes within a threshold, confirmed by correlating the thumbnails.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from .. import images

NEAR_CORRELATION = 0.97  # thumbnails of true near-duplicates correlate at 0.99+
FLAT_STD = 3.0  # grey levels: images this flat (blank, all background) are not near-matched
HASH_SIDE = 32  # the image is shrunk to 32x32 grey before its DCT


@lru_cache(maxsize=1)
def _dct_matrix(n: int = HASH_SIDE) -> np.ndarray:
    """The orthonormal DCT-II matrix: D @ x @ D.T is the 2-D DCT of an n x n block x."""
    k, i = np.mgrid[0:n, 0:n]
    d = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2 / n)
    d[0] /= np.sqrt(2)
    return d


def thumbnail(image: Image.Image) -> np.ndarray:
    """The image as a 32x32 grey uint8 array: what the near-duplicate checks compare."""
    return np.asarray(image.convert("L").resize((HASH_SIDE, HASH_SIDE), Image.BILINEAR))


def perceptual_hash(grey: np.ndarray) -> int:
    """A 64-bit DCT hash of a 32x32 grey thumbnail.

    Shrink to 32x32 grey, take the 8x8 lowest spatial frequencies of its DCT, and set one bit per
    frequency that is above their median. Re-encoding, resizing and mild colour changes leave
    most bits as they were; different images differ in about half of them.
    """
    d = _dct_matrix()
    low = (d @ grey.astype(np.float64) @ d.T)[:8, :8].ravel()
    bits = low > np.median(low[1:])
    return int(np.packbits(bits).view(">u8")[0])


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two thumbnails: 1 = same picture, whatever brightness and contrast."""
    a = a.astype(np.float64) - a.mean()
    b = b.astype(np.float64) - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum() + 1e-12))


def file_digest(path) -> str | None:
    """The file's SHA-256 (byte-identical files share it); None for an empty or unreadable file."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None  # the image verdict says why
    return hashlib.sha256(data).hexdigest() if data else None  # empty files are not copies of each other


def examine_file(path: str) -> dict:
    """Everything the audit needs from one file: byte hash, format, mode, size, perceptual hash.

    The verdict and the pixels are :func:`cancer_course.images.read`'s, as in every command.
    """
    out = {"path": path, "sha256": None, "format": None, "mode": None, "size": None, "phash": None,
           "thumb": None, "flat": False, "error": None}  # fmt: skip
    out["sha256"] = file_digest(path)
    info, rgb = images.read(path)
    out["format"], out["mode"] = info.format, info.mode
    out["size"] = list(info.size) if info.size else None
    if info.error:
        out["error"] = info.error
        return out
    out["thumb"] = thumbnail(Image.fromarray(rgb))
    out["phash"] = perceptual_hash(out["thumb"])
    out["flat"] = float(out["thumb"].std()) < FLAT_STD
    return out


def examine_all(paths: list[str], workers: int, progress: bool) -> list[dict]:
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(paths), desc="auditing", unit="file")
    results = []
    if workers > 1 and len(paths) >= 2000:
        import multiprocessing as mp

        context = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        with context.Pool(workers) as pool:
            for r in pool.imap(examine_file, paths, chunksize=256):
                results.append(r)
                if bar:
                    bar.update(1)
    else:
        for p in paths:
            results.append(examine_file(p))
            if bar:
                bar.update(1)
    if bar:
        bar.close()
    return results


def _pair_kind(split_a: str, label_a: str, split_b: str, label_b: str) -> str | None:
    if split_a != split_b:
        return "across splits, both labels" if label_a != label_b else "across splits"
    return "both labels" if label_a != label_b else None


def near_pairs(records: list[dict], threshold: int) -> list[dict]:
    """Look-alike pairs in different splits or under different labels (hash, then thumbnails)."""
    usable = [r for r in records if r["phash"] is not None and not r["flat"]]
    if len(usable) < 2:
        return []
    hashes = np.array([r["phash"] for r in usable], dtype=np.uint64)
    groups = np.array([f"{r['split']}/{r['label']}" for r in usable])
    digests = [r["sha256"] for r in usable]
    pairs = []
    names = sorted(set(groups))
    for i, ga in enumerate(names):
        ia = np.flatnonzero(groups == ga)
        for gb in names[i + 1:]:
            ib = np.flatnonzero(groups == gb)
            for start in range(0, len(ia), 512):  # chunks keep memory small
                rows = ia[start:start + 512]
                dist = np.bitwise_count(hashes[rows, None] ^ hashes[None, ib])
                for r, c in zip(*np.nonzero(dist <= threshold)):
                    a, b = usable[rows[r]], usable[ib[c]]
                    if digests[rows[r]] == digests[ib[c]]:
                        continue  # identical bytes: already an exact duplicate
                    if correlation(a["thumb"], b["thumb"]) < NEAR_CORRELATION:
                        continue  # similar hashes, different pictures (e.g. blank background)
                    pairs.append({"a": a["rel"], "b": b["rel"], "distance": int(dist[r, c]),
                                  "kind": _pair_kind(a["split"], a["label"], b["split"], b["label"])})  # fmt: skip
    return pairs
