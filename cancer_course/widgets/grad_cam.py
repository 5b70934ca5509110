"""The Grad-CAM viewer (lesson 11): pick an image -> the model's prediction and its Grad-CAM overlay."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from ..labels import CLASS_NAMES
from .explorer import _SLIDER_STYLE, Explorer, _as_float_image, _slider, _table


def grad_cam_view(model, image, layer_name: str | None = None, class_index: int = 1, alpha: float = 0.4,
                  threshold: float = 0.5) -> dict:  # fmt: skip
    """Prediction and Grad-CAM for one image (H, W, 3) in [0, 1].

    Returns ``p_malignant``, ``prediction`` ("Benign"/"Malignant" at ``threshold``), ``heatmap``
    (:func:`cancer_course.explain.grad_cam`, (H, W) in [0, 1]), ``overlay``
    (:func:`cancer_course.explain.overlay`), ``layer`` and ``class_index`` (1 explains malignant).
    """
    from ..explain import grad_cam, last_conv_layer_name, overlay
    from ..labels import DISPLAY_NAMES, p_malignant

    x = _as_float_image(image)
    p = float(p_malignant(np.asarray(model(x[None], training=False)))[0])
    layer = layer_name or last_conv_layer_name(model)
    heatmap = grad_cam(model, x, layer_name=layer, class_index=class_index)
    return {"p_malignant": p, "prediction": DISPLAY_NAMES[int(p >= threshold)], "threshold": float(threshold),
            "heatmap": heatmap, "overlay": overlay(x, heatmap, alpha=alpha), "image": x, "layer": layer,
            "class_index": int(class_index)}  # fmt: skip


def grad_cam_figure(view: dict, title: str | None = None) -> Figure:
    """The image, the heatmap and the overlay side by side."""
    fig = Figure(figsize=(7.2, 2.9))
    axes = fig.subplots(1, 3)
    what = CLASS_NAMES[view["class_index"]]
    for ax, picture, name in ((axes[0], view["image"], "image"), (axes[1], view["heatmap"], f"Grad-CAM ({what})"),
                              (axes[2], view["overlay"], "overlay")):  # fmt: skip
        ax.imshow(picture, cmap="magma" if picture.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    fig.suptitle(title or f"{view['prediction']} (p(malignant) = {view['p_malignant']:.3f})", fontsize=10)
    fig.tight_layout()
    return fig


def grad_cam_viewer(model, images, labels: Sequence[int] | None = None, names: Sequence[str] | None = None,
                    layer_name: str | None = None, threshold: float = 0.5, alpha: float = 0.4) -> Explorer:  # fmt: skip
    """Pick an image -> the model's prediction and its Grad-CAM overlay.

    ``model``: a course model, or a dict name -> model (a dropdown then picks one, to compare,
    e.g. a clean-trained and a shortcut-trained model). ``images``: a batch (N, H, W, 3) in
    [0, 1] or a list of image files (read at the model's size). ``labels`` (0/1) and ``names``
    are shown when given. Maps are cached, so moving ``alpha`` is instant.
    """
    from ..inference import read_image

    models = dict(model) if isinstance(model, Mapping) else {getattr(model, "name", "model"): model}
    if not models:
        raise ValueError("Pass a model, or a dict of name -> model.")
    first = next(iter(models.values()))
    if isinstance(images, np.ndarray) or (len(images) and np.ndim(images[0]) == 3):
        batch = np.asarray(images, dtype=np.float32)
    else:
        size = int(first.input_shape[1])
        batch = np.stack([read_image(path, size) for path in images])
        names = names or [Path(path).name for path in images]
    if batch.ndim != 4 or not len(batch):
        raise ValueError(f"Pass a batch of images (N, H, W, 3) or a list of files; got shape {batch.shape}.")
    if labels is not None and len(labels) != len(batch):
        raise ValueError(f"Found {len(batch)} images but {len(labels)} labels.")
    controls = {}
    if len(models) > 1:
        controls["model"] = widgets.Dropdown(options=list(models), description="model", style=_SLIDER_STYLE)
    controls["image"] = _slider(widgets.IntSlider, "image", 0, 0, len(batch) - 1, 1)
    controls["explain"] = widgets.ToggleButtons(options=[("malignant", 1), ("benign", 0)], value=1,
                                                description="evidence for", style=_SLIDER_STYLE)
    controls["alpha"] = _slider(widgets.FloatSlider, "overlay alpha", float(alpha), 0.0, 1.0, 0.05, ".2f")
    cache: dict[tuple, dict] = {}

    def render(values):
        from ..explain import overlay

        name = values.get("model", next(iter(models)))
        key = (name, values["image"], values["explain"])
        if key not in cache:
            cache[key] = grad_cam_view(models[name], batch[values["image"]], layer_name, values["explain"],
                                       values["alpha"], threshold)  # fmt: skip
        view = dict(cache[key], overlay=overlay(batch[values["image"]], cache[key]["heatmap"], alpha=values["alpha"]))
        rows = [("model", name), ("image", names[values["image"]] if names else values["image"])]
        if labels is not None:
            rows.append(("true label", CLASS_NAMES[int(labels[values["image"]])]))
        rows += [("p(malignant)", f"{view['p_malignant']:.3f}"),
                 ("prediction", f"{view['prediction']} (threshold {threshold:g})"), ("layer", view["layer"])]  # fmt: skip
        return view, grad_cam_figure(view), _table(rows)

    return Explorer("Grad-CAM viewer", controls, render, note="(a heatmap is not a diagnosis)")
