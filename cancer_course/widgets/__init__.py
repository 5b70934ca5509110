"""Interactive explorers: move a slider instead of reading a table (lessons 01, 06, 10 and 11).

Each explorer is a thin ipywidgets layer over pure functions that return data and a figure, so
the tests check the numbers and pictures directly and the widget only wires controls to them:

- dataset browser (lesson 01): :func:`dataset_index`, :func:`dataset_entry`, :func:`dataset_figure`
  -> :func:`dataset_browser` (split, class, index -> the tile and its audit facts);
- augmentation explorer (lesson 06): :func:`augmentation_layers_for`, :func:`augmentation_preview`,
  :func:`augmentation_figure` -> :func:`augmentation_explorer` (a slider per parameter, a preview grid);
- threshold explorer (lesson 10): :func:`threshold_view`, :func:`threshold_figure`
  -> :func:`threshold_explorer` (confusion matrix, sensitivity, specificity, the ROC point);
- Grad-CAM viewer (lesson 11): :func:`grad_cam_view`, :func:`grad_cam_figure`
  -> :func:`grad_cam_viewer` (pick an image: the prediction and the overlay).

Every widget is an :class:`Explorer` (an ``ipywidgets.VBox``): ``controls`` (name -> widget),
``output`` (an ``Output`` widget holding the figure as a PNG), ``info`` (an ``HTML`` widget with
the numbers), ``result`` (what the pure function returned last) and ``refresh()``.

Headless runs (papermill, nbval, CI) never hang on them: an explorer renders its default state
once, when it is created, straight into its ``Output`` widget (no ``display`` call, no event
loop, no waiting for a browser); moving a control calls the same code again through an
``observe`` callback. An error inside a callback is shown in the explorer, not lost in a log.

Figures are ``matplotlib.figure.Figure`` objects made without pyplot, so they never pop up as
extra cell outputs and never need closing.

One module per explorer (:mod:`.dataset`, :mod:`.augmentation`, :mod:`.threshold`,
:mod:`.grad_cam`) and :mod:`.explorer`, the part they share (the :class:`Explorer` widget, its
sliders, tables and PNG outputs).

Research and education only: not a medical device, not for clinical use.
"""

from __future__ import annotations

from .augmentation import (
    augmentation_explorer,
    augmentation_figure,
    augmentation_layers_for,
    augmentation_preview,
)
from .dataset import DatasetIndex, dataset_browser, dataset_entry, dataset_figure, dataset_index
from .explorer import Explorer, figure_png
from .grad_cam import grad_cam_figure, grad_cam_view, grad_cam_viewer
from .threshold import threshold_explorer, threshold_figure, threshold_view

__all__ = [
    "Explorer",
    "figure_png",
    "DatasetIndex",
    "dataset_index",
    "dataset_entry",
    "dataset_figure",
    "dataset_browser",
    "augmentation_layers_for",
    "augmentation_preview",
    "augmentation_figure",
    "augmentation_explorer",
    "threshold_view",
    "threshold_figure",
    "threshold_explorer",
    "grad_cam_view",
    "grad_cam_figure",
    "grad_cam_viewer",
]
