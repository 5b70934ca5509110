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

Research and education only: not a medical device, not for clinical use.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

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

_DPI = 90
_SLIDER_STYLE = {"description_width": "110px"}
_SLIDER_WIDTH = "420px"


# ============================================================================= shared pieces
def figure_png(fig: Figure, dpi: int = _DPI) -> bytes:
    """A figure as PNG bytes (what an explorer shows)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def _png_output(png: bytes, text: str) -> dict:
    """A ``display_data`` output for an ``Output`` widget: the PNG, and text for text-only viewers."""
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": text}}  # fmt: skip


def _text_output(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text + "\n"}


def _fmt(value, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _table(rows: Sequence[tuple[str, object]]) -> str:
    """Rows of (name, value) as a small HTML table."""
    cells = "".join(
        f"<tr><td style='padding:1px 10px 1px 0'><b>{html.escape(str(k))}</b></td>"
        f"<td style='padding:1px 0'>{html.escape(str(v))}</td></tr>"
        for k, v in rows
    )
    return f"<table style='font-size:12px'>{cells}</table>"


def _slider(kind, name: str, value, low, high, step, fmt: str | None = None):
    extra = {"readout_format": fmt} if fmt else {}
    return kind(value=value, min=low, max=high, step=step, description=name, continuous_update=False,
                style=_SLIDER_STYLE, layout=widgets.Layout(width=_SLIDER_WIDTH), **extra)  # fmt: skip


class Explorer(widgets.VBox):
    """Controls, an ``Output`` with the figure and an ``HTML`` with the numbers, kept in step.

    ``render(values)`` (``values`` = name -> control value) returns ``(result, figure, info_html)``.
    The explorer calls it once on creation and again whenever a control's value changes;
    ``renders`` counts the calls, ``error`` holds the last exception (None when fine).
    """

    def __init__(self, title: str, controls: Mapping[str, widgets.ValueWidget],
                 render: Callable[[dict], tuple[object, Figure, str]], note: str = ""):  # fmt: skip
        self.controls = dict(controls)
        self._render = render
        self.output = widgets.Output(layout=widgets.Layout(min_height="120px"))
        self.info = widgets.HTML()
        self.result = None
        self.error: Exception | None = None
        self.renders = 0
        self._paused = False
        header = f"<b>{html.escape(title)}</b>" + (f" <span style='color:#666'>{html.escape(note)}</span>" if note else "")
        super().__init__([widgets.HTML(header), widgets.VBox(list(self.controls.values())),
                          widgets.HBox([self.output, self.info])])  # fmt: skip
        self.add_class("cancer-course-explorer")
        for control in self.controls.values():
            control.observe(self._changed, names="value")
        self.refresh()

    def values(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    def _changed(self, _change) -> None:
        if not self._paused:
            self.refresh()

    def refresh(self) -> None:
        """Render the current control values into the output and the info panel."""
        self.renders += 1
        try:
            result, fig, info = self._render(self.values())
            png = figure_png(fig)
        except Exception as exc:  # shown in the explorer: a callback's traceback would vanish in a log
            self.error = exc
            self.output.outputs = (_text_output(f"error: {type(exc).__name__}: {exc}"),)
            self.info.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"
            return
        self.error = None
        self.result = result
        self.info.value = info  # before the figure: a browser that sees the new figure sees the new numbers
        self.output.outputs = (_png_output(png, f"<{type(self).__name__} figure, render {self.renders}>"),)


# ============================================================================= dataset browser
@dataclass
class DatasetIndex:
    """A dataset folder scanned once: its files per split and what the audit says about each."""

    root: Path
    files: dict[str, list[tuple[Path, int]]]  # split -> [(path, label)], from data.scan_folder
    notes: list[str] = field(default_factory=list)
    duplicates: dict[str, list[str]] = field(default_factory=dict)  # relative path -> findings
    audited: bool = False

    def paths(self, split: str, cls: str) -> list[Path]:
        from .data import CLASS_NAMES

        if split not in self.files:
            raise ValueError(f"{self.root} has no {split!r} split (it has {', '.join(self.files)}).")
        if cls not in CLASS_NAMES:
            raise ValueError(f"class must be one of {', '.join(CLASS_NAMES)}, got {cls!r}.")
        label = CLASS_NAMES.index(cls)
        return [path for path, lab in self.files[split] if lab == label]


def _duplicate_findings(report) -> dict[str, list[str]]:
    """Relative path -> one line per exact or near duplicate the audit found for it."""
    found: dict[str, list[str]] = {}
    for group in report.duplicate_groups:
        for rel in group["files"]:
            others = [f for f in group["files"] if f != rel]
            found.setdefault(rel, []).append(f"exact duplicate ({group['kind']}) of {', '.join(others)}")
    for pair in report.near_duplicates:
        for rel, other in ((pair["a"], pair["b"]), (pair["b"], pair["a"])):
            found.setdefault(rel, []).append(
                f"near-duplicate ({pair['kind']}) of {other} (hash distance {pair['distance']})"
            )
    return found


def dataset_index(root: str | Path, report=True, verify: bool = True) -> DatasetIndex:
    """Scan ``root`` with :func:`cancer_course.data.scan_folder` and attach the audit's duplicates.

    ``report``: True runs :func:`cancer_course.audit.audit` on ``root`` (one pass over the files),
    an ``AuditReport`` already computed is used as it is, False/None skips the duplicate check.
    """
    from . import audit as audit_module
    from .data import scan_folder

    root = Path(root).expanduser()
    scan = scan_folder(root, verify=verify)
    if report is True:
        report = audit_module.audit(root, workers=1)
    duplicates = _duplicate_findings(report) if report else {}
    return DatasetIndex(root, scan.files, list(scan.notes), duplicates, audited=bool(report))


def dataset_entry(index: DatasetIndex | str | Path, split: str, cls: str, position: int) -> dict:
    """One tile of the dataset and its audit facts.

    Returns ``path``, ``relative`` (to the root), ``split``, ``class``, ``label`` (0 benign,
    1 malignant), ``position``/``count`` (in that split and class, sorted by name), ``format``,
    ``mode``, ``size`` (width, height), ``bytes``, ``error`` (None when the image is usable),
    ``duplicates`` (the audit's findings for this file), ``duplicate_status`` (one line) and
    ``image`` (RGB uint8 array, None when unreadable).
    """
    from PIL import Image

    from .data import CLASS_NAMES, inspect_image

    if not isinstance(index, DatasetIndex):
        index = dataset_index(index)
    paths = index.paths(split, cls)
    if not paths:
        raise ValueError(f"{index.root / split / cls} has no images.")
    if not 0 <= position < len(paths):
        raise ValueError(f"index {position} is out of range: {split}/{cls} has {len(paths)} images (0-{len(paths) - 1}).")
    path = paths[position]
    rel = path.relative_to(index.root).as_posix()
    if not path.exists():
        raise FileNotFoundError(f"{path} no longer exists (was the folder deleted?): browse a folder that is still there.")
    info = inspect_image(path)
    image = None
    if info.error is None:
        with Image.open(path) as im:
            image = np.asarray(im.convert("RGB"))
    findings = index.duplicates.get(rel, [])
    if not index.audited:
        status = "not audited"
    elif findings:
        status = "; ".join(findings)
    else:
        status = "no exact or near duplicate found"
    return {
        "path": path, "relative": rel, "split": split, "class": cls, "label": CLASS_NAMES.index(cls),
        "position": position, "count": len(paths), "format": info.format, "mode": info.mode,
        "size": info.size, "bytes": path.stat().st_size, "error": info.error,
        "duplicates": findings, "duplicate_status": status, "image": image,
    }  # fmt: skip


def dataset_figure(entry: dict) -> Figure:
    """The tile at its own pixels (no smoothing), titled with its class and file name."""
    fig = Figure(figsize=(3.2, 3.4))
    ax = fig.add_subplot()
    if entry["image"] is not None:
        ax.imshow(entry["image"], interpolation="nearest")
    else:
        ax.text(0.5, 0.5, "unreadable", ha="center", va="center", color="red")
    flag = "  [duplicate]" if entry["duplicates"] else ""
    ax.set_title(f"{entry['class']} {entry['position'] + 1}/{entry['count']}{flag}\n{Path(entry['relative']).name}",
                 fontsize=9, color="#b00" if flag else "black")
    ax.axis("off")
    return fig


def _entry_info(entry: dict) -> str:
    width_height = f"{entry['size'][0]} x {entry['size'][1]} px" if entry["size"] else "n/a"
    rows = [("path", entry["relative"]), ("label", f"{entry['label']} ({entry['class']})"),
            ("size", width_height), ("mode", entry["mode"] or "n/a"), ("format", entry["format"] or "n/a"),
            ("file size", f"{entry['bytes']:,} bytes"), ("duplicates", entry["duplicate_status"])]  # fmt: skip
    if entry["error"]:
        rows.append(("problem", entry["error"]))
    return _table(rows)


def dataset_browser(root: str | Path, split: str = "train", cls: str = "benign", position: int = 0,
                    report=True) -> Explorer:  # fmt: skip
    """Browse a ``ROOT/<split>/<class>/`` dataset: split, class and index -> the tile and its audit facts.

    ``report`` as in :func:`dataset_index` (True audits the folder once, on creation).
    """
    from .data import CLASS_NAMES

    index = dataset_index(root, report=report)
    splits = list(index.files)
    if split not in splits:
        raise ValueError(f"{index.root} has no {split!r} split (it has {', '.join(splits)}).")
    controls = {
        "split": widgets.Dropdown(options=splits, value=split, description="split", style=_SLIDER_STYLE),
        "class": widgets.ToggleButtons(options=list(CLASS_NAMES), value=cls, description="class", style=_SLIDER_STYLE),
        "index": _slider(widgets.IntSlider, "index", position, 0, max(len(index.paths(split, cls)) - 1, 0), 1),
    }

    def render(values):
        entry = dataset_entry(index, values["split"], values["class"], values["index"])
        return entry, dataset_figure(entry), _entry_info(entry)

    explorer = Explorer("Dataset browser", controls, render, note=str(index.root))
    explorer.index = index

    def folder_changed(_change):
        # A new split or class has its own number of images: fit the index slider, then render once.
        explorer._paused = True
        try:
            n = len(index.paths(controls["split"].value, controls["class"].value))
            slider = controls["index"]
            slider.value = min(slider.value, max(n - 1, 0))
            slider.max = max(n - 1, 0)
        finally:
            explorer._paused = False
        explorer.refresh()

    controls["split"].unobserve(explorer._changed, names="value")
    controls["class"].unobserve(explorer._changed, names="value")
    controls["split"].observe(folder_changed, names="value")
    controls["class"].observe(folder_changed, names="value")
    return explorer


# ============================================================================= augmentation explorer
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


def _as_float_image(image) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"Pass one RGB image (H, W, 3); got shape {image.shape}.")
    image = image.astype(np.float32)
    return image / 255.0 if image.max() > 1.0 else image


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


# ============================================================================= threshold explorer
def threshold_view(y_true, p_malignant, threshold: float = 0.5, roc: dict | None = None) -> dict:
    """Everything the threshold explorer shows at one threshold.

    Returns ``confusion`` (:func:`cancer_course.evaluation.confusion_at`: ``matrix`` [[TN, FP],
    [FN, TP]], sensitivity, specificity, ...), ``point`` (``fpr`` = 1 - specificity, ``tpr`` =
    sensitivity: where this threshold sits on the ROC curve), ``roc``
    (:func:`cancer_course.evaluation.roc_data`, pass it to skip recomputing), and the arrays
    ``y`` and ``p``.
    """
    from .evaluation import _as_arrays, confusion_at, roc_data

    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be between 0 and 1, got {threshold}.")
    y, p = _as_arrays(y_true, p_malignant)
    roc = roc if roc is not None else roc_data(y, p)
    confusion = confusion_at(y, p, threshold)
    point = {"fpr": 1.0 - confusion["specificity"], "tpr": confusion["sensitivity"]}
    return {"threshold": float(threshold), "confusion": confusion, "point": point, "roc": roc, "y": y, "p": p}


def threshold_figure(view: dict) -> Figure:
    """Three panels: the scores of each class with the threshold, the confusion matrix, the ROC point."""
    from .evaluation import CLASS_NAMES

    y, p, t, conf = view["y"], view["p"], view["threshold"], view["confusion"]
    fig = Figure(figsize=(11.5, 3.3))
    ax_hist, ax_cm, ax_roc = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.3, 1, 1]})
    bins = np.linspace(0, 1, 21)
    ax_hist.hist(p[y == 0], bins=bins, alpha=0.6, label="benign")
    ax_hist.hist(p[y == 1], bins=bins, alpha=0.6, label="malignant")
    ax_hist.axvline(t, color="black", ls="--", lw=1.2, label=f"threshold {t:.2f}")
    ax_hist.set(xlabel="p(malignant)", ylabel="images", title="scores; Malignant when p >= threshold")
    ax_hist.legend(fontsize=7)
    matrix = np.asarray(conf["matrix"])
    ax_cm.imshow(matrix, cmap="Blues", vmin=0, vmax=max(int(matrix.max()), 1))
    names = [["TN", "FP"], ["FN", "TP"]]
    for r in range(2):
        for c in range(2):
            rate = conf["rates"][r][c]
            ax_cm.text(c, r, f"{names[r][c]} {matrix[r, c]}\n{_fmt(rate, 2)} of row", ha="center", va="center",
                       fontsize=9, color="white" if matrix[r, c] > matrix.max() / 2 else "black")
    ax_cm.set(xticks=[0, 1], yticks=[0, 1], xticklabels=CLASS_NAMES, yticklabels=CLASS_NAMES,
              xlabel="predicted", ylabel="true", title="confusion matrix")
    roc = view["roc"]
    ax_roc.plot(roc["fpr"], roc["tpr"], lw=2, label=f"AUC {roc['auc']:.3f}")
    ax_roc.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
    ax_roc.scatter([view["point"]["fpr"]], [view["point"]["tpr"]], color="C3", zorder=3, s=40,
                   label=f"t={t:.2f}: sens {_fmt(conf['sensitivity'], 2)}, spec {_fmt(conf['specificity'], 2)}")
    ax_roc.set(xlabel="1 - specificity", ylabel="sensitivity", title="ROC curve", xlim=(-0.02, 1.02), ylim=(-0.02, 1.02))
    ax_roc.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    return fig


def _threshold_info(view: dict) -> str:
    c = view["confusion"]
    return _table([
        ("threshold", f"{view['threshold']:.3f}"),
        ("TP / FN", f"{c['tp']} / {c['fn']}  (missed cancers: {c['fn']})"),
        ("TN / FP", f"{c['tn']} / {c['fp']}  (false alarms: {c['fp']})"),
        ("sensitivity", _fmt(c["sensitivity"])),
        ("specificity", _fmt(c["specificity"])),
        ("PPV / NPV", f"{_fmt(c['ppv'])} / {_fmt(c['npv'])}"),
        ("accuracy", _fmt(c["accuracy"])),
        ("ROC point", f"({view['point']['fpr']:.3f}, {view['point']['tpr']:.3f})"),
    ])  # fmt: skip


def threshold_explorer(y_true, p_malignant, threshold: float = 0.5, step: float = 0.01) -> Explorer:
    """A threshold slider -> confusion matrix, sensitivity, specificity and the point on the ROC curve.

    ``y_true``: 0 benign / 1 malignant; ``p_malignant``: the model's probabilities (both classes
    needed). Use the **validation** split's predictions to choose a threshold.
    """
    from .evaluation import roc_data

    roc = roc_data(y_true, p_malignant)  # checks the inputs once, and is reused by every render
    controls = {"threshold": _slider(widgets.FloatSlider, "threshold", float(threshold), 0.0, 1.0, step, ".2f")}

    def render(values):
        view = threshold_view(y_true, p_malignant, values["threshold"], roc=roc)
        return view, threshold_figure(view), _threshold_info(view)

    return Explorer("Threshold explorer", controls, render)


# ============================================================================= Grad-CAM viewer
def grad_cam_view(model, image, layer_name: str | None = None, class_index: int = 1, alpha: float = 0.4,
                  threshold: float = 0.5) -> dict:  # fmt: skip
    """Prediction and Grad-CAM for one image (H, W, 3) in [0, 1].

    Returns ``p_malignant``, ``prediction`` ("Benign"/"Malignant" at ``threshold``), ``heatmap``
    (:func:`cancer_course.explain.grad_cam`, (H, W) in [0, 1]), ``overlay``
    (:func:`cancer_course.explain.overlay`), ``layer`` and ``class_index`` (1 explains malignant).
    """
    from .explain import grad_cam, last_conv_layer_name, overlay
    from .inference import LABELS

    x = _as_float_image(image)
    out = np.asarray(model(x[None], training=False), dtype=np.float64)
    p = float(out[0, 1] if out.shape[-1] == 2 else out[0, 0])
    layer = layer_name or last_conv_layer_name(model)
    heatmap = grad_cam(model, x, layer_name=layer, class_index=class_index)
    return {"p_malignant": p, "prediction": LABELS[int(p >= threshold)], "threshold": float(threshold),
            "heatmap": heatmap, "overlay": overlay(x, heatmap, alpha=alpha), "image": x, "layer": layer,
            "class_index": int(class_index)}  # fmt: skip


def grad_cam_figure(view: dict, title: str | None = None) -> Figure:
    """The image, the heatmap and the overlay side by side."""
    fig = Figure(figsize=(7.2, 2.9))
    axes = fig.subplots(1, 3)
    what = "malignant" if view["class_index"] == 1 else "benign"
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
    from .inference import read_image

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
        from .explain import overlay

        name = values.get("model", next(iter(models)))
        key = (name, values["image"], values["explain"])
        if key not in cache:
            cache[key] = grad_cam_view(models[name], batch[values["image"]], layer_name, values["explain"],
                                       values["alpha"], threshold)  # fmt: skip
        view = dict(cache[key], overlay=overlay(batch[values["image"]], cache[key]["heatmap"], alpha=values["alpha"]))
        rows = [("model", name), ("image", names[values["image"]] if names else values["image"])]
        if labels is not None:
            rows.append(("true label", ("benign", "malignant")[int(labels[values["image"]])]))
        rows += [("p(malignant)", f"{view['p_malignant']:.3f}"),
                 ("prediction", f"{view['prediction']} (threshold {threshold:g})"), ("layer", view["layer"])]  # fmt: skip
        return view, grad_cam_figure(view), _table(rows)

    return Explorer("Grad-CAM viewer", controls, render, note="(a heatmap is not a diagnosis)")
