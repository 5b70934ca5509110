"""The two drawing primitives of every tile: smooth random fields (and a blur), and nuclei.

:class:`Nuclei` holds a batch of nuclei, one value per nucleus in each array; :func:`draw_nuclei`
paints them all at once (no Python loop per nucleus) into a haematoxylin density map.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np


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
