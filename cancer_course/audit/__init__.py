"""Audit an image dataset before training on it: the checks real projects forget.

``audit(root)`` looks at every file under ``ROOT/<split>/<class>/`` and reports

- counts per split and class, the class balance and the balanced class weights
  (``n_samples / (n_classes * n_class)``, what Keras' ``class_weight`` wants);
- image sizes, colour modes and file formats;
- the layout problems ``train`` would refuse (nested or linked folders, a class folder spelled
  ``Benign``, files that are not images, loose files), named as the loader names them;
- unreadable files, with the reason;
- exact duplicates (identical bytes): within a split, across splits (a *leak*: the model is
  tested on images it trained on) and under both labels (the same image called benign and
  malignant);
- near-duplicates across splits or labels: images that look the same after re-encoding,
  resizing or small edits. A perceptual hash (a 64-bit DCT hash) finds candidates, pairs whose
  hashes differ in at most `near_threshold` bits; a candidate counts when the two images' 32x32
  grey thumbnails also correlate at ``NEAR_CORRELATION`` or more (mostly blank background
  patches have look-alike hashes without being copies of each other).

- with ``groups`` (image -> patient, slide or case id): every group found in more than one split.
  Real datasets hold several images per patient; a split made tile by tile puts one patient on
  both sides, and every test metric then rewards remembering the patient. Without ``groups``,
  the patients the folder's ``manifest.json`` names (the embedded dataset's ``patients.csv``)
  are used when there are any; the report says where its groups came from. (The audit cannot
  see a patient it is not told about: look-alike tiles of one patient are only caught when they
  are near-duplicates.)

``AuditReport.blocking`` lists what has to be fixed before training (every layout problem the
loader refuses - :func:`cancer_course.data.check_layout`, the same check and words as ``train`` -,
leaks of images or groups across splits, copies under both labels, unreadable files - with
:func:`cancer_course.images.read`'s verdict, the same as every command's -, a split without one
of the classes); ``problems`` lists those and the warnings (duplicates within a split, imbalance,
mixed sizes).

Command line: ``cancer-course audit ROOT [--groups FILE.csv] [--json]``; it exits 1 when
something blocking was found, so a script or CI job can stop on it.

The package, one job a module (every name is re-exported here: ``audit.audit``, ``audit.AuditReport``):

- :mod:`.files`: what is read from each file (:func:`examine_file`: byte hash, format, size,
  thumbnail, :func:`perceptual_hash`) and the near-duplicate search;
- :mod:`.groups`: patients or slides (:func:`read_groups`, :func:`manifest_groups`) and the groups
  found in more than one split;
- :mod:`.report`: :class:`AuditReport`, what blocks training, and the text report;
- :mod:`.folder`: :func:`audit` itself, which puts them together.

``NEAR_THRESHOLD`` lives in :mod:`cancer_course.defaults` (it imports nothing), for ``audit --help``.
"""

from __future__ import annotations

from ..defaults import NEAR_THRESHOLD
from ..labels import CLASS_NAMES, balanced_class_weights
from .files import (
    FLAT_STD,
    HASH_SIDE,
    NEAR_CORRELATION,
    correlation,
    examine_file,
    perceptual_hash,
    thumbnail,
)
from .folder import audit
from .groups import manifest_groups, read_groups
from .report import AuditReport, format_report

__all__ = [
    "CLASS_NAMES",
    "FLAT_STD",
    "HASH_SIDE",
    "NEAR_CORRELATION",
    "NEAR_THRESHOLD",
    "AuditReport",
    "audit",
    "balanced_class_weights",
    "correlation",
    "examine_file",
    "format_report",
    "manifest_groups",
    "perceptual_hash",
    "read_groups",
    "thumbnail",
]
