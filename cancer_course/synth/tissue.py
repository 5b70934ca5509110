"""Tissue: how malignant a tile looks, its stroma, its glands and the nuclei of every kind of cell.

Benign and malignant tiles differ here - in the size, shape, crowding and arrangement of nuclei
and glands - and nowhere else (colour is made label-independent in :mod:`.tile`).
"""

from __future__ import annotations

import numpy as np

from .drawing import Nuclei, smooth_noise

# Typical haematoxylin in nuclei per pixel (see `nuclear_load`); lymphocytes top tiles up to it.
NUCLEAR_LOAD = 0.22


def malignancy_score(rng: np.random.Generator, label: int, difficulty: float) -> float:
    """How malignant this tile looks, 0 (textbook benign) .. 1 (florid carcinoma).

    Benign tiles draw it near 0 and malignant ones near 1; `difficulty` (0..1) moves the two
    distributions towards each other: at 1 they are the same and the task is impossible.
    """
    spread = 0.5 * (1 - difficulty)
    centre = 0.5 + spread if label else 0.5 - spread
    return float(np.clip(rng.normal(centre, 0.08 + 0.12 * difficulty), 0, 1))


def stroma(rng: np.random.Generator, grid: tuple, scale: float, fibre_angle: float, m: float,
           fibre_period: float | None = None) -> np.ndarray:
    """Eosin density of the stroma: uneven staining, wavy collagen fibres, loose pale gaps.

    Tumours tear the stroma more (retraction clefts), so gaps grow with `m`. `fibre_period`
    (pixels between fibres) is drawn here unless the patient gives it.
    """
    yy, xx = grid
    size = xx.shape[0]
    along = (xx * np.cos(fibre_angle) + yy * np.sin(fibre_angle)) / scale
    wave = 2.5 * smooth_noise(rng, size, 5)
    period = rng.uniform(4.5, 7.0) if fibre_period is None else fibre_period
    fibres = (0.5 + 0.5 * np.sin(2 * np.pi * along / period + wave)) ** 3
    fibres *= np.clip(0.6 + 0.5 * smooth_noise(rng, size, 7), 0, 1)  # fibres come and go
    base = rng.uniform(0.4, 0.6) * (1 + 0.15 * smooth_noise(rng, size, 7))
    gaps = np.clip(smooth_noise(rng, size, 8) - rng.uniform(1.0, 2.5) + 0.9 * m, 0, 1)
    return np.clip((base + rng.uniform(0.15, 0.4) * fibres) * (1 - 0.8 * gaps), 0.02, None)


def gland_outline(angle: np.ndarray, irregular: float, phases: np.ndarray) -> np.ndarray:
    """Radius of a gland at `angle`, relative to its mean: 1 = a neat ellipse."""
    return 1 + irregular * (
        np.cos(3 * angle + phases[0]) + 0.7 * np.cos(5 * angle + phases[1]) + 0.5 * np.cos(2 * angle + phases[2])
    )


def glands(rng, grid: tuple, scale: float, m: float):
    """Glands: a lumen ringed by epithelium whose nuclei become disorganised as `m` grows.

    Returns (epithelium mask, lumen mask, list of nuclei). Benign glands are round-ish with a big
    lumen and one neat layer of oval nuclei along the edge; malignant ones have irregular
    outlines, small or no lumens, and stacked layers of crowded, larger, randomly oriented nuclei
    (up to a solid nest).
    """
    yy, xx = grid
    size = xx.shape[0]
    epithelium = np.zeros((size, size), np.float32)
    lumen = np.zeros((size, size), np.float32)
    parts = []
    radius_n = 1.9 * scale * (1 + 1.0 * m)  # nuclear radius: enlarged in tumours
    for _ in range(min(1 + int(rng.poisson(0.6 + 1.6 * (1 - m))), 5)):  # benign tissue is rich in glands
        cx, cy = rng.uniform(-0.05, 1.05, 2) * size
        r_out = rng.uniform(12, 19) * scale * (1 + 0.3 * m)
        aspect = rng.uniform(0.6, 1.0)
        rot = rng.uniform(0, np.pi)
        phases = rng.uniform(0, 2 * np.pi, 3)
        irregular = 0.03 + 0.2 * m
        lumen_frac = rng.uniform(0.5, 0.65) * (1 - 0.95 * m) ** 1.5
        # masks, computed only in the gland's bounding box
        reach = r_out * (1 + 2.2 * irregular) + 2
        box = (slice(max(int(cy - reach), 0), max(int(cy + reach) + 2, 0)),
               slice(max(int(cx - reach), 0), max(int(cx + reach) + 2, 0)))  # fmt: skip
        dx, dy = xx[box] - cx, yy[box] - cy
        u = (dx * np.cos(rot) + dy * np.sin(rot)) / r_out
        v = (dy * np.cos(rot) - dx * np.sin(rot)) / (r_out * aspect)
        rho = np.sqrt(u * u + v * v)
        bound = gland_outline(np.arctan2(v, u), irregular, phases)
        edge = r_out * aspect
        outer = np.clip((bound - rho) * edge + 0.5, 0, 1)
        inner = np.clip((lumen_frac * bound - rho) * edge + 0.5, 0, 1) if lumen_frac > 0.05 else 0
        epithelium[box] = np.maximum(epithelium[box], outer - inner)
        lumen[box] = np.maximum(lumen[box], inner)
        # nuclei in rings, from the basal edge inwards; tumours stack more rings (all drawn at once)
        spacing = 2.2 * radius_n * (1 - 0.15 * m)
        band = (0.92 - lumen_frac) * r_out
        layers = 1 + int(round(m * max(band / spacing - 1, 0)))
        fracs = 0.82 - np.arange(layers) * spacing / r_out  # ring radius / gland radius
        fracs = np.maximum(fracs[(np.arange(layers) == 0) | (fracs > lumen_frac + 0.05)], 0.12)
        per_ring = np.maximum(3, (2 * np.pi * fracs * r_out * (0.8 + 0.2 * aspect) / spacing).astype(int))
        ring = np.repeat(np.arange(len(fracs)), per_ring)
        k = len(ring)
        slot = np.arange(k) - np.repeat(np.cumsum(per_ring) - per_ring, per_ring)  # position in its ring
        step = 2 * np.pi / per_ring[ring]
        jitter = 0.02 + 0.25 * m / np.maximum(fracs[ring], 0.2)  # disorder grows with m and inwards
        t = slot * step + rng.uniform(0, 2 * np.pi, len(fracs))[ring] + rng.normal(0, 1, k) * jitter * step
        rr = fracs[ring] * gland_outline(t, irregular, phases) * r_out + rng.normal(0, 0.3 * scale + 2.0 * scale * m, k)
        ex, ey = rr * np.cos(t), rr * np.sin(t) * aspect
        x = cx + ex * np.cos(rot) - ey * np.sin(rot)
        y = cy + ex * np.sin(rot) + ey * np.cos(rot)
        parts.append(epithelial_nuclei(rng, k, x, y, radius_n, np.arctan2(y - cy, x - cx), m))
    return epithelium, lumen, parts


def epithelial_nuclei(rng, k, x, y, radius, radial_angle, m) -> Nuclei:
    """Gland or tumour cell nuclei: benign = small, oval, regular; malignant = pleomorphic."""
    size = radius * rng.lognormal(0, 0.06 + 0.3 * m, k)
    elong = 1.45 - 0.35 * m + rng.normal(0, 0.05 + 0.15 * m, k)
    angle = radial_angle + rng.normal(0, 0.15 + 1.5 * m, k)
    darkness = 0.8 * (1 + 0.35 * m) * rng.lognormal(0, 0.08 + 0.12 * m, k)
    wobble = np.abs(rng.normal(0, 1, (k, 4))) * (np.array([0.04, 0.02, 0.01, 0.0]) * (1 + 5 * m))
    nucleolus = rng.uniform(0, 1, k) < 0.7 * m**1.5
    return Nuclei.make(k, x, y, size * np.sqrt(elong), size / np.sqrt(elong), angle, darkness, wobble, nucleolus,
                       0.15 + 0.6 * m)  # fmt: skip


def stromal_cells(rng, size: int, scale: float, m: float, fibre_angle: float) -> list[Nuclei]:
    """Cells outside the glands: fibroblasts (both classes) and invading tumour cells (malignant)."""
    k = int(rng.poisson(10))  # fibroblasts: thin, spindle-shaped, lying along the fibres
    x, y = rng.uniform(0, size, (2, k))
    fibroblasts = Nuclei.make(k, x, y, rng.uniform(2.0, 2.9, k) * scale, 0.7 * scale,
                              fibre_angle + rng.normal(0, 0.15, k), 0.9, [0.02, 0, 0, 0], 0, 0.1)  # fmt: skip
    k = int(rng.poisson(22 * m**2))  # tumour cells invading the stroma one by one
    x, y = rng.uniform(0, size, (2, k))
    invading = epithelial_nuclei(rng, k, x, y, 1.9 * scale * (1 + m), rng.uniform(0, np.pi, k), m)
    return [fibroblasts, invading]


def nuclear_load(nuclei: Nuclei, size: int) -> float:
    """Haematoxylin in the nuclei per pixel of tile: sum of (area x darkness) / tile area."""
    return float(np.sum(np.pi * nuclei.a * nuclei.b * nuclei.darkness)) / size**2


def lymphocytes(rng, size: int, scale: float, load: float) -> Nuclei:
    """Clusters of lymphocytes (small, round, very dark) adding about `load` of haematoxylin.

    Both classes get them. They top every tile up to a nuclear load drawn independently of the
    label, so "how much purple" is not a shortcut: a malignant tile is purple because of its big
    tumour nuclei, a benign one because of many small, round, uniform lymphocytes.
    """
    r = 1.4 * scale
    k = int(rng.poisson(2 + load * size**2 / (np.pi * r * r * 0.92 * 1.3)))
    clusters = rng.uniform(0, size, (2, int(rng.integers(1, 4))))
    which = rng.integers(0, clusters.shape[1], k)
    spread = rng.uniform(6, 22, clusters.shape[1])[which] * scale
    x, y = clusters[:, which] + rng.normal(0, 1, (2, k)) * spread
    r = r * rng.lognormal(0, 0.06, k)
    return Nuclei.make(k, x, y, r, 0.92 * r, rng.uniform(0, np.pi, k), 1.3, [0.02, 0.01, 0, 0], 0, 0.1)


def mitoses(rng, candidates: Nuclei, m: float, scale: float) -> Nuclei:
    """Turn a few tumour nuclei into mitotic figures: very dark, spiky, bar-shaped (metaphase)."""
    k = min(int(rng.poisson(3.0 * m**2)), len(candidates.x))
    pick = rng.choice(len(candidates.x), k, replace=False) if k else np.array([], dtype=int)
    return Nuclei.make(k, candidates.x[pick], candidates.y[pick], rng.uniform(2.6, 3.6, k) * scale,
                       rng.uniform(0.9, 1.3, k) * scale, rng.uniform(0, np.pi, k), 2.0,
                       [0.05, 0.05, 0.12, 0.18], 0, 0.3)  # fmt: skip
