"""One tile: a patient's slide look, stains to colour, label-independent colour, the optional artefact.

:func:`make_tile` draws the tissue (:mod:`.tissue`), paints it in the two stains of the
patient's slide (:class:`Patient`) and moves its colour statistics to values drawn independently
of its label; :func:`add_confounder` stamps the label-correlated artefact of lesson 11.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..defaults import CONFOUNDERS, DEFAULT_DIFFICULTY, REFERENCE_SIZE
from .drawing import Nuclei, blur3, draw_nuclei
from .tissue import (
    NUCLEAR_LOAD,
    glands,
    lymphocytes,
    malignancy_score,
    mitoses,
    nuclear_load,
    stroma,
    stromal_cells,
)

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

# Confounder: fraction of tiles that carry the artefact, by label (train and validation only).
CONFOUNDER_RATE = {0: 0.1, 1: 0.9}


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
