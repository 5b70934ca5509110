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

The package, one job a module (every name is re-exported here: ``synth.generate_dataset``):

- :mod:`.drawing`: smooth random fields, the blur, nuclei and how they are painted;
- :mod:`.tissue`: how malignant a tile looks, its stroma, glands and cells;
- :mod:`.tile`: one tile - the patient's slide look, stains to colour, label-independent colour,
  the optional artefact;
- :mod:`.dataset`: the dataset on disk - its options, patients, seeds, PNG files and manifest;
- :mod:`.lessons`: the dataset a lesson reads (:func:`dataset_root`, :func:`ensure_dataset`);
- :mod:`.copies`, :mod:`.confounders`, :mod:`.modalities`: copies of any dataset with a
  label-correlated artefact (lesson 11) or as two modalities under one label (lesson 07).

Its defaults (tile size, split sizes, difficulty, tiles per patient, the confounders) live in
:mod:`cancer_course.defaults`, which imports nothing, so the command line shows them at once.
"""

from __future__ import annotations

from ..defaults import (
    CONFOUNDERS,
    DEFAULT_DIFFICULTY,
    DEFAULT_MALIGNANT_FRACTION,
    REFERENCE_SIZE,
    SPLIT_SIZES,
    TILES_PER_PATIENT,
)
from ..labels import (
    SPLITS,
)
from .confounders import (
    COPY_VERSION,
    confounded_copy,
    with_confounder,
)
from .dataset import (
    CLASSES,
    GENERATOR_VERSION,
    PATIENTS_FILE,
    dataset_parameters,
    generate_dataset,
    patient,
    patient_name,
    read_manifest,
    render_tile,
    split_counts,
    split_patients,
    tile_rng,
)
from .drawing import (
    PATCH_HALVES,
    Nuclei,
    blur3,
    draw_nuclei,
    smooth_noise,
)
from .lessons import (
    dataset_root,
    ensure_dataset,
)
from .modalities import (
    MODALITIES,
    MODALITY_VERSION,
    SHIFT_EXPERIMENT,
    modality_counts,
    modality_set,
    second_modality,
    two_modality_copy,
)
from .tile import (
    CONFOUNDER_RATE,
    CONTRAST_MATCH,
    EOSIN_OD,
    HAEMATOXYLIN_OD,
    MEAN_COLOUR,
    MEAN_COLOUR_JITTER,
    TILE_COLOUR_JITTER,
    TYPICAL_STD,
    Patient,
    add_confounder,
    make_tile,
    match_colour,
    stain_to_rgb,
)
from .tissue import (
    NUCLEAR_LOAD,
    epithelial_nuclei,
    gland_outline,
    glands,
    lymphocytes,
    malignancy_score,
    mitoses,
    nuclear_load,
    stroma,
    stromal_cells,
)

__all__ = [
    "CLASSES",
    "CONFOUNDERS",
    "CONFOUNDER_RATE",
    "CONTRAST_MATCH",
    "COPY_VERSION",
    "DEFAULT_DIFFICULTY",
    "DEFAULT_MALIGNANT_FRACTION",
    "EOSIN_OD",
    "GENERATOR_VERSION",
    "HAEMATOXYLIN_OD",
    "MEAN_COLOUR",
    "MEAN_COLOUR_JITTER",
    "MODALITIES",
    "MODALITY_VERSION",
    "NUCLEAR_LOAD",
    "Nuclei",
    "PATCH_HALVES",
    "PATIENTS_FILE",
    "Patient",
    "REFERENCE_SIZE",
    "SHIFT_EXPERIMENT",
    "SPLITS",
    "SPLIT_SIZES",
    "TILES_PER_PATIENT",
    "TILE_COLOUR_JITTER",
    "TYPICAL_STD",
    "add_confounder",
    "blur3",
    "confounded_copy",
    "dataset_parameters",
    "dataset_root",
    "draw_nuclei",
    "ensure_dataset",
    "epithelial_nuclei",
    "generate_dataset",
    "gland_outline",
    "glands",
    "lymphocytes",
    "make_tile",
    "malignancy_score",
    "match_colour",
    "mitoses",
    "modality_counts",
    "modality_set",
    "nuclear_load",
    "patient",
    "patient_name",
    "read_manifest",
    "render_tile",
    "second_modality",
    "smooth_noise",
    "split_counts",
    "split_patients",
    "stain_to_rgb",
    "stroma",
    "stromal_cells",
    "tile_rng",
    "two_modality_copy",
    "with_confounder",
]
