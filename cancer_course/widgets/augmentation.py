"""The augmentation explorer (lesson 06): a slider per augmentation parameter, and draws that follow them."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from .explorer import _SLIDER_STYLE, Explorer, _as_float_image, _slider, _table

AUGMENTATION_DEFAULTS = {"rotation": 20.0, "shift": 0.2, "shear": 0.2, "zoom": 0.2, "flip": True, "strength": 1.0}


def augmentation_layers_for(rotation: float = 20.0, shift: float = 0.2, shear: float = 0.2, zoom: float = 0.2,
                            flip: bool = True, strength: float = 1.0, seed: int | None = 0):  # fmt: skip
    """The augmentation of :func:`cancer_course.pipeline.augmentation_layers`, one knob per layer.

    ``rotation`` in degrees (+-), ``shift`` and ``zoom`` as fractions of the tile, ``shear`` as
    the layer's factor, ``flip`` on or off; ``strength`` scales every range, as in the pipeline.
    The defaults give exactly the pipeline's layers (same classes, names and settings); a range
    of 0 leaves its layer out.
    """
    import keras

    values = {"rotation": rotation, "shift": shift, "shear": shear, "zoom": zoom, "strength": strength}
    for name, value in values.items():
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}.")
    s, fill = float(strength), "nearest"
    steps = []
    if flip and s > 0:
        steps.append(keras.layers.RandomFlip("horizontal", seed=seed, name="flip"))
    if rotation * s > 0:
        steps.append(keras.layers.RandomRotation(rotation / 360 * s, fill_mode=fill, seed=seed, name="rotation"))
    if shift * s > 0:
        steps.append(keras.layers.RandomTranslation(shift * s, shift * s, fill_mode=fill, seed=seed, name="shift"))
    if shear * s > 0:
        factor = min(shear * s, 1.0)
        steps.append(keras.layers.RandomShear(x_factor=factor, y_factor=factor, fill_mode=fill, seed=seed, name="shear"))
    if zoom * s > 0:
        steps.append(keras.layers.RandomZoom(min(zoom * s, 0.9), fill_mode=fill, seed=seed, name="zoom"))
    return keras.Sequential(steps, name="augmentation")




def augmentation_preview(image, n: int = 8, seed: int = 0, **params) -> np.ndarray:
    """``n`` augmented draws of one image: float32 ``(n, H, W, 3)`` in [0, 1].

    ``params`` are those of :func:`augmentation_layers_for`. Same ``seed`` and parameters, same
    draws - so moving one slider changes only what that parameter does.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}.")
    x = _as_float_image(image)
    batch = np.repeat(x[None], n, axis=0)
    layers = augmentation_layers_for(seed=seed, **params)
    if not layers.layers:
        return batch
    return np.clip(np.asarray(layers(batch, training=True)), 0.0, 1.0).astype(np.float32)


def augmentation_figure(image, draws: np.ndarray, columns: int = 5, title: str | None = None) -> Figure:
    """The original then every draw, in a grid of ``columns``."""
    tiles = [_as_float_image(image), *np.asarray(draws)]
    rows = -(-len(tiles) // columns)
    fig = Figure(figsize=(1.7 * columns, 1.8 * rows + (0.3 if title else 0)))
    axes = fig.subplots(rows, columns, squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < len(tiles):
            ax.imshow(np.clip(tiles[i], 0, 1), interpolation="nearest")
            ax.set_title("original" if i == 0 else f"draw {i}", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def _augmentation_info(values: dict) -> str:
    s = values["strength"]
    return _table([
        ("rotation", f"+-{values['rotation'] * s:.1f} degrees"),
        ("shift", f"+-{100 * values['shift'] * s:.0f}% of width and height"),
        ("shear", f"factor {min(values['shear'] * s, 1.0):.2f}"),
        ("zoom", f"+-{100 * min(values['zoom'] * s, 0.9):.0f}%"),
        ("flip", "horizontal, half the draws" if values["flip"] and s > 0 else "off"),
        ("layers", ", ".join(layer.name for layer in augmentation_layers_for(**{k: values[k] for k in AUGMENTATION_DEFAULTS}).layers) or "none"),
    ])  # fmt: skip


def augmentation_explorer(image, n: int = 9, columns: int = 5, seed: int = 0, **defaults) -> Explorer:
    """A slider per augmentation parameter, and ``n`` draws of ``image`` that follow them.

    ``image``: one RGB tile (uint8 or float in [0, 1]). ``defaults`` override the reference
    recipe's starting values (``rotation=20, shift=0.2, shear=0.2, zoom=0.2, flip=True,
    strength=1.0``). The ``draw`` slider picks another random seed.
    """
    unknown = set(defaults) - set(AUGMENTATION_DEFAULTS)
    if unknown:
        raise ValueError(f"Unknown augmentation parameter(s) {sorted(unknown)}: use {', '.join(AUGMENTATION_DEFAULTS)}.")
    start = {**AUGMENTATION_DEFAULTS, **defaults}
    tile = _as_float_image(image)
    controls = {
        "rotation": _slider(widgets.FloatSlider, "rotation (deg)", start["rotation"], 0.0, 90.0, 5.0, ".0f"),
        "shift": _slider(widgets.FloatSlider, "shift", start["shift"], 0.0, 0.5, 0.05, ".2f"),
        "shear": _slider(widgets.FloatSlider, "shear", start["shear"], 0.0, 1.0, 0.05, ".2f"),
        "zoom": _slider(widgets.FloatSlider, "zoom", start["zoom"], 0.0, 0.9, 0.05, ".2f"),
        "flip": widgets.Checkbox(value=bool(start["flip"]), description="horizontal flip", style=_SLIDER_STYLE),
        "strength": _slider(widgets.FloatSlider, "strength", start["strength"], 0.0, 2.0, 0.1, ".1f"),
        "draw": _slider(widgets.IntSlider, "draw (seed)", seed, 0, 99, 1),
    }

    def render(values):
        params = {k: values[k] for k in AUGMENTATION_DEFAULTS}
        draws = augmentation_preview(tile, n=n, seed=values["draw"], **params)
        return draws, augmentation_figure(tile, draws, columns), _augmentation_info(values)

    return Explorer("Augmentation explorer", controls, render, note="(training=True draws; prediction never augments)")
