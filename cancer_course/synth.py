"""The embedded dataset: procedural H&E-like tissue tiles, benign or malignant.

Why a generated dataset? The course must run anywhere with no download, yet teach on images that
behave like histopathology. Each tile is painted in two stain "densities", the way light passes
through a stained slide (Beer-Lambert law):

- **eosin** (pink): stroma with wavy collagen fibres, gland cytoplasm;
- **haematoxylin** (purple): nuclei, which are what a pathologist grades.

Benign tiles show regular glands (a white lumen ringed by one layer of small, evenly spaced, oval
nuclei), sparse fibroblasts and some lymphocytes. Malignant tiles differ the way real tumours do:
enlarged, pleomorphic (varied size and shape), hyperchromatic (darker), crowded nuclei with
irregular outlines, nucleoli, mitotic figures, and glands that lose their organisation (stacked
layers, shrinking lumens, solid nests, single cells invading the stroma).

Both classes vary in stain colour, magnification and orientation. Two design choices stop colour
from giving the label away (``benchmarks/colour_baseline.py`` checks it): every tile is topped up
with lymphocytes to a total amount of nuclear stain drawn independently of its label, and every
tile's per-channel mean (fully) and spread (mostly) are moved to values drawn independently of its
label. What is left to tell the classes apart is spatial: size, shape, crowding and arrangement.

Tiles come from **patients**, as in real datasets (PatchCamelyon: many patches per slide). A
patient's tiles share what one slide shares: its stain batch, colour, contrast, magnification and
fibre texture (:class:`Patient`, drawn once per patient, independently of the label), and patients
differ in how many of their tiles are malignant. So tiles of one patient look alike, and a split
made tile by tile - one patient on both sides - rewards recognising the patient. The default split
keeps every patient in one split; ``patients.csv`` (columns ``path,group``, what
``cancer-course audit --groups`` reads) records the patient of every file.

Everything is deterministic: each tile has its own random generator seeded from
``(seed, split, class, index)`` and each patient one seeded from ``(seed, patient)``, so the same
options give byte-identical PNG files, in any order.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from . import config, images
from .labels import CLASS_NAMES, SPLITS

GENERATOR_VERSION = "synth-2"  # change it whenever the pixels change: cached datasets are then remade
CLASSES = CLASS_NAMES  # label 0, label 1 (the lessons' name for labels.CLASS_NAMES)
CONFOUNDERS = ("corner", "stain")
DEFAULT_DIFFICULTY = 0.4
DEFAULT_MALIGNANT_FRACTION = 0.5
REFERENCE_SIZE = 96  # tissue sizes below are in pixels of a 96-px tile
TILES_PER_PATIENT = 10  # default: tiles per patient, on average
PATIENTS_FILE = "patients.csv"  # beside manifest.json: path,group (the patient) for every file

# Optical density of each stain in (R, G, B): how strongly it absorbs each colour
# (close to the classic Ruifrok & Johnston H&E vectors).
HAEMATOXYLIN_OD = np.array([0.65, 0.70, 0.29])
EOSIN_OD = np.array([0.07, 0.99, 0.11])

# Label-independent colour statistics (see `match_colour`): each tile's per-channel mean moves to
# MEAN_COLOUR (+ its patient's and its own jitter), its standard deviation CONTRAST_MATCH of the
# way to TYPICAL_STD (x jitter).
MEAN_COLOUR = np.array([0.80, 0.57, 0.74])
MEAN_COLOUR_JITTER = 0.033  # sd between patients (slides)
TILE_COLOUR_JITTER = 0.012  # sd between the tiles of one patient
TYPICAL_STD = np.array([0.12, 0.075, 0.065])
CONTRAST_MATCH = 0.8
# Typical haematoxylin in nuclei per pixel (see `nuclear_load`); lymphocytes top tiles up to it.
NUCLEAR_LOAD = 0.22

# Confounder: fraction of tiles that carry the artefact, by label (train and validation only).
CONFOUNDER_RATE = {0: 0.1, 1: 0.9}


# --------------------------------------------------------------------------------------------
# Random fields and nuclei: the two drawing primitives
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=32)
def _upsample_matrix(size: int, cells: int) -> np.ndarray:
    """A (size, cells) matrix that linearly interpolates `cells` values to `size` pixels."""
    pos = np.linspace(0, cells - 1, size)
    left = np.clip(np.floor(pos).astype(int), 0, cells - 2)
    frac = pos - left
    matrix = np.zeros((size, cells))
    matrix[np.arange(size), left] = 1 - frac
    matrix[np.arange(size), left + 1] = frac
    return matrix


def smooth_noise(rng: np.random.Generator, size: int, cells: int = 6) -> np.ndarray:
    """A smooth random field (mean 0, sd about 1): coarse noise, bilinearly upsampled."""
    m = _upsample_matrix(size, cells)
    coarse = rng.standard_normal((cells, cells))
    return m @ coarse @ m.T


def blur3(image: np.ndarray) -> np.ndarray:
    """A cheap [1, 2, 1] / 4 blur along both axes (edges repeat): the microscope's softness."""
    p = np.pad(image, [(1, 1), (1, 1)] + [(0, 0)] * (image.ndim - 2), mode="edge")
    rows = (p[:-2] + 2 * p[1:-1] + p[2:]) / 4
    return (rows[:, :-2] + 2 * rows[:, 1:-1] + rows[:, 2:]) / 4


@dataclass
class Nuclei:
    """A batch of nuclei, one value per nucleus in each array (pixels, radians)."""

    x: np.ndarray
    y: np.ndarray
    a: np.ndarray  # semi-axis along `angle`
    b: np.ndarray  # the other semi-axis
    angle: np.ndarray
    darkness: np.ndarray  # haematoxylin density
    wobble: np.ndarray  # (n, 4) outline irregularity: amplitudes of harmonics 2, 3, 5 and 9
    nucleolus: np.ndarray  # 0 or 1: draw a dark nucleolus
    chromatin: np.ndarray  # 0..1: how coarse (clumped) the chromatin is

    @classmethod
    def make(cls, n, x, y, a, b, angle, darkness, wobble, nucleolus, chromatin) -> Nuclei:
        """Nuclei from arrays or scalars (a scalar is shared by all `n`)."""
        def full(v):
            return np.full(n, v, np.float32) if np.ndim(v) == 0 else np.asarray(v, np.float32)

        wob = np.asarray(wobble, np.float32) if np.ndim(wobble) == 2 else np.tile(np.float32(wobble), (n, 1))
        return cls(full(x), full(y), full(a), full(b), full(angle), full(darkness), wob, full(nucleolus), full(chromatin))

    @classmethod
    def concat(cls, parts: list[Nuclei]) -> Nuclei:
        return cls(*[np.concatenate([getattr(p, f) for p in parts]) for f in cls.__dataclass_fields__])

    def select(self, pick) -> Nuclei:
        return Nuclei(*[getattr(self, f)[pick] for f in self.__dataclass_fields__])


def _patches(nuclei: Nuclei, phases: np.ndarray, half: int):
    """Soft masks of each nucleus on its own (2 * half + 1)^2 patch: (coverage, nucleolus)."""
    offsets = np.arange(-half, half + 1, dtype=np.float32)
    fx = (np.round(nuclei.x) - nuclei.x)[:, None, None]  # sub-pixel position of the centre
    fy = (np.round(nuclei.y) - nuclei.y)[:, None, None]
    dx, dy = fx + offsets[None, None, :], fy + offsets[None, :, None]
    cos, sin = np.cos(nuclei.angle)[:, None, None], np.sin(nuclei.angle)[:, None, None]
    u = (dx * cos + dy * sin) / nuclei.a[:, None, None]  # coordinates in the nucleus' own axes,
    v = (dy * cos - dx * sin) / nuclei.b[:, None, None]  # where the ellipse is the unit circle
    radius = np.sqrt(u * u + v * v) + np.float32(1e-6)
    # The outline wobbles with the angle t: 1 + sum_k amp_k cos(k t + phase_k). cos(k t) and
    # sin(k t) come from cos t and sin t by the angle-addition formulas (no arctan2 needed).
    c1, s1 = u / radius, v / radius
    c2, s2 = c1 * c1 - s1 * s1, 2 * c1 * s1
    c3, s3 = c2 * c1 - s2 * s1, s2 * c1 + c2 * s1
    c5, s5 = c3 * c2 - s3 * s2, s3 * c2 + c3 * s2
    c8, s8 = c5 * c3 - s5 * s3, s5 * c3 + c5 * s3
    c9, s9 = c8 * c1 - s8 * s1, s8 * c1 + c8 * s1
    wa = (nuclei.wobble * np.cos(phases)).astype(np.float32)[:, None, None, :]
    wb = (nuclei.wobble * np.sin(phases)).astype(np.float32)[:, None, None, :]
    outline = 1 + (wa[..., 0] * c2 - wb[..., 0] * s2) + (wa[..., 1] * c3 - wb[..., 1] * s3) \
        + (wa[..., 2] * c5 - wb[..., 2] * s5) + (wa[..., 3] * c9 - wb[..., 3] * s9)
    # 1 inside, 0 outside, a one-pixel ramp across the edge (anti-aliasing)
    coverage = np.clip((outline - radius) * nuclei.b[:, None, None] + 0.5, 0.0, 1.0)
    nucleolus = np.clip(1 - radius / 0.35, 0, 1) * nuclei.nucleolus[:, None, None]
    return coverage, nucleolus


PATCH_HALVES = (3, 5, 7, 10, 14)  # batch limits of the patch half-widths, in pixels


def draw_nuclei(rng: np.random.Generator, size: int, nuclei: Nuclei) -> tuple[np.ndarray, np.ndarray]:
    """Paint every nucleus at once; return (haematoxylin density, coverage 0..1) maps.

    Each nucleus is an ellipse whose radius wobbles with angle, drawn with soft edges on a small
    patch around its centre. All patches are numpy arrays summed into the image with
    ``np.bincount`` - no Python loop per nucleus. Nuclei go in batches by size, so that small
    ones get small patches.
    """
    reach = nuclei.a * (1 + nuclei.wobble.sum(axis=1)) + 1
    visible = (np.abs(nuclei.x - size / 2) < size / 2 + reach) & (np.abs(nuclei.y - size / 2) < size / 2 + reach)
    nuclei, reach = nuclei.select(visible), reach[visible]
    pad = 2 * int(np.ceil(np.max(reach, initial=1))) + 2  # room for the largest patch
    side = size + 2 * pad
    phases = rng.uniform(0, 2 * np.pi, (len(nuclei.x), 4))
    halves = np.ceil(reach).astype(int)
    batch = np.searchsorted(PATCH_HALVES, halves)
    flats, weights = [], []
    for b in np.unique(batch):
        pick = batch == b
        part = nuclei.select(pick)
        half = int(halves[pick].max())
        coverage, nucleolus = _patches(part, phases[pick], half)
        steps = np.arange(-half, half + 1)
        rows = (np.round(part.y).astype(int) + pad)[:, None, None] + steps[None, :, None]
        cols = (np.round(part.x).astype(int) + pad)[:, None, None] + steps[None, None, :]
        flats.append((rows * side + cols).ravel())
        weights.append(
            np.stack([coverage, coverage * part.darkness[:, None, None] + 1.2 * nucleolus,
                      coverage * part.chromatin[:, None, None]]).reshape(3, -1)
        )  # fmt: skip
    if not flats:
        zeros = np.zeros((size, size), np.float32)
        return zeros, zeros
    flat, weight = np.concatenate(flats), np.concatenate(weights, axis=1)
    maps = [np.bincount(flat, weights=w, minlength=side * side).reshape(side, side)[pad:-pad, pad:-pad] for w in weight]
    coverage, density, chromatin = maps
    # Where nuclei overlap, average their darkness instead of adding it up.
    density = density / np.maximum(coverage, 1)
    # Coarse, clumped chromatin: darker and lighter specks inside the nuclei.
    chromatin = np.minimum(chromatin, 1) * rng.uniform(-0.6, 0.6, (size, size))
    return (density * (1 + chromatin)).astype(np.float32), np.minimum(coverage, 1).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Tissue: how malignant a tile looks, its stroma, its glands and its nuclei
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Colour: stains to RGB, label-independent colour, the optional confounder
# --------------------------------------------------------------------------------------------


def stain_to_rgb(rng, haematoxylin: np.ndarray, eosin: np.ndarray, patient: Patient) -> np.ndarray:
    """Beer-Lambert: RGB = exp(-(H * h_vector + E * e_vector)), with the patient's stain vectors.

    Returns channels first, (3, height, width): per-channel statistics are faster that way.
    """
    h_vec = patient.haematoxylin * rng.lognormal(0, 0.02, 3)  # the same slide, a little uneven
    e_vec = patient.eosin * rng.lognormal(0, 0.02, 3)
    h, e = blur3(haematoxylin), blur3(eosin)  # the optics soften every edge a little
    density = h[None] * h_vec.astype(np.float32)[:, None, None] + e[None] * e_vec.astype(np.float32)[:, None, None]
    return np.exp(-(density + np.float32(0.03)))


def match_colour(rng, rgb: np.ndarray, patient: Patient) -> np.ndarray:
    """Move the tile's colour statistics towards values drawn independently of its label.

    Real slides vary in staining from lab to lab and day to day; here that variation is also
    what stops "more purple, more contrast = malignant" from working. Each channel's mean is
    moved to its patient's colour plus a little jitter, and its spread (standard deviation) most of
    the way (``CONTRAST_MATCH``) to its patient's contrast: colour statistics overlap between the classes,
    and what is left to tell them apart is where things are and what shape they have.
    `rgb` is channels first, (3, height, width).
    """
    flat = rgb.reshape(3, -1)
    mean, std = flat.mean(axis=1), flat.std(axis=1) + 1e-3
    target_mean = patient.colour + rng.normal(0, TILE_COLOUR_JITTER, 3)
    target_std = patient.contrast * rng.lognormal(0, 0.06) * rng.lognormal(0, 0.03, 3)
    gain = (target_std / std) ** CONTRAST_MATCH
    return ((rgb - mean[:, None, None]) * gain[:, None, None] + target_mean[:, None, None]).astype(np.float32)


def add_confounder(rgb: np.ndarray, kind: str) -> np.ndarray:
    """A label-correlated artefact for the shortcut-learning lesson.

    ``corner``: a dark blue-green pen mark in the top-left corner. ``stain``: a bluish colour
    cast, as if those slides came from another scanner.
    """
    rgb = rgb.copy()
    if kind == "corner":
        side = max(2, rgb.shape[0] // 10)
        rgb[:side, :side] = (0.1, 0.35, 0.45)
    elif kind == "stain":
        rgb += np.array([-0.06, 0.0, 0.07])
    else:
        raise ValueError(f"Unknown confounder {kind!r}: choose one of {', '.join(CONFOUNDERS)} or None.")
    return rgb


@lru_cache(maxsize=8)
def _pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) coordinates of every pixel; read-only and shared between tiles."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    yy.flags.writeable = xx.flags.writeable = False
    return yy, xx


@dataclass(frozen=True)
class Patient:
    """What every tile of one patient shares: its slide's stain batch, colour, scan and stroma.

    Drawn independently of the label: it tells patients apart, not benign from malignant.
    """

    haematoxylin: np.ndarray  # (3,) optical densities of the two stains on this slide
    eosin: np.ndarray
    colour: np.ndarray  # (3,) the slide's mean colour
    contrast: np.ndarray  # (3,) the slide's typical per-channel standard deviation
    magnification: float  # x the reference scale
    fibre_period: float  # pixels between collagen fibres, at the reference scale

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Patient:
        return cls(
            haematoxylin=HAEMATOXYLIN_OD * rng.uniform(0.85, 1.15) * rng.uniform(0.92, 1.08, 3),
            eosin=EOSIN_OD * rng.uniform(0.8, 1.2) * rng.uniform(0.92, 1.08, 3),
            colour=MEAN_COLOUR + rng.normal(0, MEAN_COLOUR_JITTER, 3),
            contrast=TYPICAL_STD * rng.lognormal(0, 0.19) * rng.lognormal(0, 0.04, 3),
            magnification=float(rng.uniform(0.87, 1.13)),
            fibre_period=float(rng.uniform(4.5, 7.0)),
        )


def make_tile(
    rng: np.random.Generator, label: int, image_size: int = REFERENCE_SIZE, difficulty: float = DEFAULT_DIFFICULTY,
    patient: Patient | None = None,
) -> np.ndarray:
    """Draw one tissue tile (uint8, image_size x image_size x 3); label 0 benign, 1 malignant.

    `patient`: whose slide the tile comes from; without one, the tile is a patient of its own.
    """
    if patient is None:
        patient = Patient.draw(rng)
    m = malignancy_score(rng, label, difficulty)
    scale = image_size / REFERENCE_SIZE * patient.magnification * rng.lognormal(0, 0.03)  # one scan, one scale
    fibre_angle = rng.uniform(0, np.pi)
    grid = _pixel_grid(image_size)
    eosin = stroma(rng, grid, scale, fibre_angle, m, patient.fibre_period)
    epithelium, lumen, gland_nuclei = glands(rng, grid, scale, m)
    fibroblasts, invading = stromal_cells(rng, image_size, scale, m, fibre_angle)
    tumour = Nuclei.concat(gland_nuclei + [invading])
    cells = Nuclei.concat(gland_nuclei + [fibroblasts, invading, mitoses(rng, tumour, m, scale)])
    missing = NUCLEAR_LOAD * rng.lognormal(0, 0.3) - nuclear_load(cells, image_size)
    cells = Nuclei.concat([cells, lymphocytes(rng, image_size, scale, max(missing, 0.0))])
    nuclear_h, coverage = draw_nuclei(rng, image_size, cells)
    tissue = 1 - np.minimum(epithelium + lumen, 1)
    eosin = (eosin * tissue + 0.42 * epithelium + 0.15 * lumen) * (1 - 0.5 * coverage)
    haematoxylin = 0.07 * tissue + 0.16 * epithelium + 0.02 * lumen + np.minimum(nuclear_h, 2.4)
    rgb = match_colour(rng, stain_to_rgb(rng, haematoxylin, eosin, patient), patient)
    rgb += 0.012 * rng.standard_normal((1, image_size, image_size), dtype=np.float32)  # camera grain
    rgb = np.rot90(rgb, int(rng.integers(4)), axes=(1, 2))  # orientation means nothing in a section
    if rng.uniform() < 0.5:
        rgb = rgb[:, :, ::-1]
    return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0).copy()


# --------------------------------------------------------------------------------------------
# Datasets on disk
# --------------------------------------------------------------------------------------------


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
    n_train: int = 1600,
    n_validation: int = 400,
    n_test: int = 400,
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
    n_train: int = 1600,
    n_validation: int = 400,
    n_test: int = 400,
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


COPY_VERSION = "confounded-copy-1"


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


def confounded_copy(root: str | Path, kind: str, image_size: int, dest: str | Path | None = None,
                    seed: int = 0, progress: bool | None = None) -> Path:
    """A copy of any dataset in the course layout with a label-correlated artefact stamped in.

    The rule of :func:`generate_dataset`: in train and validation, 90% of the malignant and 10%
    of the benign images get the artefact; test stays clean. Images are resized to `image_size`
    and written as PNG. The copy lives in ``config.data_dir()/confounded-<kind>-<hash>`` unless
    `dest` is given, and is reused while its manifest matches. The source is never modified.
    """
    from .data import scan_folder

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


# --------------------------------------------------------------------------------------------
# Two modalities under one label (lesson 07): the original system pooled five
# --------------------------------------------------------------------------------------------

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
    from .data import scan_folder

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
