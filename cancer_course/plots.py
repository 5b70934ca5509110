"""Learning-curve plots: from a Keras History, a CSV log, or epochs typed in by hand.

Lessons 07 and 08 read training curves to diagnose overfitting. Three ways in, one way out::

    history = model.fit(...)                                  # a keras.callbacks.History
    visualize_from_history(history, "figures/run1")           # or the CSVLogger file:
    visualize_from_history("logs/run1.csv", "figures/run1")
    visualize_from_manual_data()                              # the reference system's 2 epochs
    overfitting_gap(history)                                  # the numbers behind the picture

:func:`load_history` turns any of these into one plain ``dict[str, list[float]]`` whose keys
have the names you see in ``model.compile(metrics=...)`` (``auc_1`` becomes ``auc``, ``lr``
becomes ``learning_rate``) plus ``epoch``, numbered from 1 as the progress bar shows it.

Research and education only: not for clinical use.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = [
    "MANUAL_FIELDS",
    "PANELS",
    "REFERENCE_EPOCHS",
    "history_from_rows",
    "load_history",
    "overfitting_gap",
    "visualize_from_history",
    "visualize_from_manual_data",
]

# The reference system's published curves (accuracy in percent, as published).
MANUAL_FIELDS = ("epoch", "train_acc", "val_acc", "train_auc", "val_auc", "train_loss", "val_loss")
REFERENCE_EPOCHS = (
    (1, 79.11, 43.88, 0.8545, 0.5195, 0.5827, 1.5807),
    (2, 87.09, 61.95, 0.9257, 0.6797, 0.3744, 1.1490),
)

# The panels of the complete figure, in reading order: (metric key, title).
PANELS = (
    ("accuracy", "Accuracy"),
    ("loss", "Loss"),
    ("auc", "AUC"),
    ("precision", "Precision"),
    ("recall", "Recall"),
    ("learning_rate", "Learning rate"),
)

# Other names Keras (old or new) gives the same series.
_ALIASES = {
    "lr": "learning_rate",
    "acc": "accuracy",
    "binary_accuracy": "accuracy",
    "categorical_accuracy": "accuracy",
}
_SUFFIX = re.compile(r"_\d+$")  # auc_1, val_precision_2: Keras numbers repeated metric objects
_PNG_DPI = 110


# ----------------------------------------------------------------------------- loading


def _metric_name(key: str) -> str:
    """The canonical name of a logged series: ``val_auc_1`` -> ``val_auc``, ``lr`` -> ``learning_rate``."""
    prefix, name = ("val_", key[4:]) if key.startswith("val_") else ("", key)
    name = _SUFFIX.sub("", name) or name
    return prefix + _ALIASES.get(name, name)


def _normalise(series: Mapping[str, Sequence[float]], source: str) -> dict[str, list[float]]:
    """Rename the series, convert values to float, and add 1-based ``epoch`` numbers."""
    out: dict[str, list[float]] = {}
    # Unsuffixed names first, so an 'auc' column wins over a stray 'auc_1'.
    for key in sorted(series, key=lambda k: _metric_name(str(k).strip()) != k):  # stable sort
        name = _metric_name(str(key).strip())
        if name not in out:
            out[name] = [_to_float(v) for v in series[key]]
    if "loss" not in out:
        raise ValueError(
            f"{source} is not a training log: it has no 'loss' series (found: {sorted(out) or 'nothing'}). "
            "Pass the History returned by model.fit, or the CSV file written by keras.callbacks.CSVLogger."
        )
    lengths = {name: len(values) for name, values in out.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(
            f"{source}: every series needs one value per epoch, but the lengths differ: {lengths}"
        )
    if lengths["loss"] == 0:
        raise ValueError(f"{source} holds no epochs yet: train for at least one epoch, then plot.")
    if "epoch" not in out:
        out["epoch"] = [float(i) for i in range(1, lengths["loss"] + 1)]
    return {"epoch": [int(e) for e in out.pop("epoch")], **out}


def _to_float(value) -> float:
    """A logged value as float; an empty CSV cell (epoch without validation) becomes NaN."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return math.nan
    return float(value)


def _read_csv_log(path: Path) -> dict[str, list[float]]:
    """Read a ``keras.callbacks.CSVLogger`` file; its 0-based ``epoch`` column becomes 1-based."""
    if not path.is_file():
        raise FileNotFoundError(
            f"No training log at {path}. Pass the file given to keras.callbacks.CSVLogger(...) "
            "during model.fit (check the path and that training ran), or the History that fit returned."
        )
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise ValueError(
            f"{path} is empty: training wrote no epochs to it yet. Train for at least one epoch."
        )
    header, body = [cell.strip() for cell in rows[0]], rows[1:]
    if "loss" not in {_metric_name(h) for h in header}:
        raise ValueError(
            f"{path} is not a training log: it has no 'loss' column (columns: {header}). "
            "Pass the file written by keras.callbacks.CSVLogger during model.fit."
        )
    if not body:
        raise ValueError(f"{path} has a header but no epochs: train for at least one epoch, then plot.")
    series: dict[str, list[float]] = {name: [] for name in header}
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise ValueError(f"{path}, line {line}: {len(row)} values for {len(header)} columns {header}.")
        for name, cell in zip(header, row):
            try:
                series[name].append(_to_float(cell))
            except ValueError:
                raise ValueError(
                    f"{path}, line {line}: column '{name}' holds {cell!r}, not a number."
                ) from None
    if "epoch" in series:
        series["epoch"] = [e + 1 for e in series["epoch"]]
    return _normalise(series, str(path))


def load_history(history_or_csv_log) -> dict[str, list[float]]:
    """The training curves as ``{"epoch": [1, 2, ...], "loss": [...], "val_loss": [...], ...}``.

    Accepts a ``keras.callbacks.History`` (what ``model.fit`` returns), a plain dict of lists
    (such as ``history.history``, or this function's own output), or the path to a CSV log
    written by ``keras.callbacks.CSVLogger``.
    """
    if isinstance(history_or_csv_log, str | os.PathLike):
        return _read_csv_log(Path(history_or_csv_log))
    if isinstance(history_or_csv_log, Mapping):
        return _normalise(history_or_csv_log, "the history dict")
    logged = getattr(history_or_csv_log, "history", None)
    if isinstance(logged, Mapping):  # a keras.callbacks.History, without importing Keras
        series = dict(logged)
        epochs = list(getattr(history_or_csv_log, "epoch", None) or [])
        if "epoch" not in series and epochs and len(epochs) == len(series.get("loss", [])):
            series["epoch"] = [e + 1 for e in epochs]  # History.epoch counts from 0 (initial_epoch)
        return _normalise(series, "the History")
    raise TypeError(
        f"Cannot read training curves from a {type(history_or_csv_log).__name__}: pass the History "
        "returned by model.fit, a dict of lists such as history.history, or a CSVLogger file path."
    )


# ----------------------------------------------------------------------------- numbers


def _finite(values: Sequence[float]) -> list[tuple[int, float]]:
    """(index, value) pairs of the values that are real numbers (NaN marks an epoch not logged)."""
    return [(i, v) for i, v in enumerate(values) if not math.isnan(v)]


def _best_epoch(history: Mapping[str, list[float]]) -> int | None:
    """The epoch (1-based) with the lowest validation loss, or None without validation."""
    points = _finite(history.get("val_loss", []))
    if not points:
        return None
    index, _ = min(points, key=lambda p: p[1])
    return history["epoch"][index]


def overfitting_gap(history) -> dict:
    """Train-minus-validation accuracy gap: at the last epoch, at its largest, and the best epoch.

    A gap that grows while validation loss rises is the signature of overfitting (lesson 08).
    Returns ``final_gap``, ``max_gap``, ``max_gap_epoch``, ``best_epoch`` (lowest val_loss)
    and ``best_val_loss``. Accepts anything :func:`load_history` accepts.
    """
    h = load_history(history)
    if "accuracy" not in h or "val_accuracy" not in h:
        raise ValueError(
            f"overfitting_gap needs 'accuracy' and 'val_accuracy' (found: {sorted(h)}): compile with "
            "metrics=['accuracy'] and pass validation_data to model.fit."
        )
    gaps = _finite([t - v for t, v in zip(h["accuracy"], h["val_accuracy"])])
    if not gaps:
        raise ValueError("overfitting_gap: no epoch has both a training and a validation accuracy.")
    max_index, max_gap = max(gaps, key=lambda p: p[1])
    best = _best_epoch(h)
    return {
        "final_gap": gaps[-1][1],
        "max_gap": max_gap,
        "max_gap_epoch": h["epoch"][max_index],
        "best_epoch": best,
        "best_val_loss": None if best is None else h["val_loss"][h["epoch"].index(best)],
    }


# ----------------------------------------------------------------------------- drawing


def _plot_panel(ax, history: Mapping[str, list[float]], key: str, title: str) -> None:
    """One metric's train and validation curves, or a 'not logged' note when it is absent."""
    epochs = history["epoch"]
    curves = [
        (label, history[name])
        for label, name in (("train", key), ("validation", f"val_{key}"))
        if name in history
    ]
    ax.set_title(title)
    if not curves or all(not _finite(values) for _, values in curves):
        ax.text(
            0.5, 0.5, f"{title}: not logged", ha="center", va="center", transform=ax.transAxes, color="0.4"
        )
        ax.set_xticks([])
        ax.set_yticks([])
        return
    for (label, values), marker in zip(curves, ("o", "s")):
        ax.plot(epochs, values, marker=marker, markersize=4, label=label)
    best = _best_epoch(history)
    if best is not None:
        ax.axvline(
            best, color="0.3", linestyle="--", linewidth=1, label=f"best epoch {best} (lowest val_loss)"
        )
    if key == "learning_rate" and all(v > 0 for _, v in _finite(curves[0][1])):
        ax.set_yscale("log")
    if key == "accuracy" and len(curves) == 2:
        gap = [g for _, g in _finite([t - v for t, v in zip(curves[0][1], curves[1][1])])]
        if gap:
            ax.set_title(f"{title} (train - val gap at last epoch: {gap[-1]:.3f})")
    ax.set_xlabel("epoch")
    ax.set_ylabel(title)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")


def _save(fig: Figure, path: Path) -> Path:
    """Write the figure as PNG and release it (figures are not kept open between calls)."""
    fig.savefig(path, dpi=_PNG_DPI, bbox_inches="tight")
    plt.close(fig)
    return path


def visualize_from_history(history_or_csv_log, save_dir, prefix: str = "training") -> dict[str, Path]:
    """Plot every learning curve and save the figures; returns ``{name: path}`` of the files.

    Writes ``complete_{prefix}_history.png`` (accuracy, loss, AUC, precision, recall and
    learning rate) and ``accuracy.png``, ``loss.png``, ``auc.png`` into ``save_dir`` (created
    if needed; use one folder per run, since the per-metric names do not change).
    """
    history = load_history(history_or_csv_log)
    save_dir = Path(save_dir)
    save_dir.mkdir(parents=True, exist_ok=True)

    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    for ax, (key, title) in zip(axes.flat, PANELS):
        _plot_panel(ax, history, key, title)
    fig.suptitle(f"{prefix.replace('_', ' ').capitalize()} history ({len(history['epoch'])} epochs)")
    fig.tight_layout()
    paths = {"complete": _save(fig, save_dir / f"complete_{prefix}_history.png")}

    for key, title in PANELS[:3]:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        _plot_panel(ax, history, key, title)
        fig.tight_layout()
        paths[key] = _save(fig, save_dir / f"{key}.png")
    return paths


# ----------------------------------------------------------------------------- typed-in epochs


def _row_values(index: int, row) -> list[float]:
    """One typed-in row as seven numbers in MANUAL_FIELDS order, or an error naming the row."""
    expected = f"expected the 7 fields {MANUAL_FIELDS}"
    if isinstance(row, Mapping):
        missing = [f for f in MANUAL_FIELDS if f not in row]
        if missing:
            raise ValueError(f"row {index}: missing {missing}; {expected}")
        row = [row[f] for f in MANUAL_FIELDS]
    elif not isinstance(row, Sequence) or isinstance(row, str):
        raise ValueError(f"row {index}: got a {type(row).__name__}; {expected} as a tuple or dict")
    if len(row) != len(MANUAL_FIELDS):
        raise ValueError(f"row {index}: got {len(row)} values {tuple(row)}; {expected}")
    try:
        return [float(v) for v in row]
    except (TypeError, ValueError):
        raise ValueError(f"row {index}: every field must be a number, got {tuple(row)}; {expected}") from None


def _fraction(index: int, field: str, value: float) -> float:
    """An accuracy as a fraction: values above 1 are read as percent (79.11 -> 0.7911)."""
    fraction = value / 100 if value > 1 else value
    if not 0 <= fraction <= 1:
        raise ValueError(f"row {index}: {field}={value} is not an accuracy (use 0-1 or 0-100 percent)")
    return fraction


def history_from_rows(rows=REFERENCE_EPOCHS) -> dict[str, list[float]]:
    """Typed-in epochs (tuples or dicts of MANUAL_FIELDS) as a history dict like :func:`load_history`'s."""
    if rows is None or len(rows) == 0:
        raise ValueError(f"no rows given: pass at least one row of {MANUAL_FIELDS}")
    keys = ("epoch", "accuracy", "val_accuracy", "auc", "val_auc", "loss", "val_loss")
    history: dict[str, list[float]] = {key: [] for key in keys}
    for index, row in enumerate(rows):
        values = _row_values(index, row)
        epoch = values[0]
        if epoch != int(epoch) or epoch < 1 or (history["epoch"] and epoch <= history["epoch"][-1]):
            raise ValueError(
                f"row {index}: epoch {epoch:g} must be a whole number >= 1, after the previous row's"
            )
        values[0] = int(epoch)
        values[1] = _fraction(index, "train_acc", values[1])
        values[2] = _fraction(index, "val_acc", values[2])
        for field, value in zip(MANUAL_FIELDS[3:5], values[3:5]):
            if not 0 <= value <= 1:
                raise ValueError(f"row {index}: {field}={value} is not an AUC (it lies between 0 and 1)")
        for key, value in zip(keys, values):
            history[key].append(value)
    return history


def visualize_from_manual_data(rows=None, save_dir=None) -> Figure:
    """Plot epochs typed in by hand (default: the reference system's published two epochs).

    ``rows`` holds tuples ``(epoch, train_acc, val_acc, train_auc, val_auc, train_loss,
    val_loss)`` or dicts with those keys; accuracy may be in percent or a fraction. Returns the
    Figure; with ``save_dir`` also writes ``manual_training_history.png`` there.
    """
    history = history_from_rows(REFERENCE_EPOCHS if rows is None else rows)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for ax, (key, title) in zip(axes, (PANELS[0], PANELS[2], PANELS[1])):
        _plot_panel(ax, history, key, title)
    fig.suptitle(f"Training history typed in by hand ({len(history['epoch'])} epochs)")
    fig.tight_layout()
    if save_dir is not None:
        save_dir = Path(save_dir)
        save_dir.mkdir(parents=True, exist_ok=True)
        fig.savefig(save_dir / "manual_training_history.png", dpi=_PNG_DPI, bbox_inches="tight")
    plt.close(fig)  # still shown once when it is a notebook cell's last value
    return fig
