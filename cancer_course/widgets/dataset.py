"""The dataset browser (lesson 01): split, class and index -> the tile and what the audit says about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import ipywidgets as widgets
from matplotlib.figure import Figure

from .explorer import _SLIDER_STYLE, Explorer, _slider, _table


@dataclass
class DatasetIndex:
    """A dataset folder scanned once: its files per split and what the audit says about each."""

    root: Path
    files: dict[str, list[tuple[Path, int]]]  # split -> [(path, label)], from data.scan_folder
    notes: list[str] = field(default_factory=list)
    duplicates: dict[str, list[str]] = field(default_factory=dict)  # relative path -> findings
    audited: bool = False

    def paths(self, split: str, cls: str) -> list[Path]:
        from ..labels import CLASS_NAMES

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
    from .. import audit as audit_module
    from ..data import scan_folder

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
    from ..images import read
    from ..labels import CLASS_NAMES

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
    info, image = read(path)  # the verdict and the pixels every command gets for this file
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
    from ..labels import CLASS_NAMES

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
