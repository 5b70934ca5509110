"""Check ``ROOT/{train,validation,test}/{benign,malignant}/*`` and list its images (the one folder scan).

:func:`scan_folder` gives every split's ``(path, label)`` list, benign = 0 and malignant = 1
whatever order the folders come in; :func:`cancer_course.pipeline.load_splits` turns that list into
``tf.data`` datasets (every image decoded to RGB, resized and scaled to [0, 1]). Before TensorFlow
sees a single file, :func:`scan_folder` checks the layout and opens every image, so a problem gives a
message that names the file or folder and says what to do - never a bare traceback from deep in
TensorFlow, and never a file silently left out:

- ``train`` and ``validation`` are required; ``test`` is optional (PatchCamelyon-style sets ship
  without one): without it ``Splits.test`` is None and a note says so. ``require_test=True``
  makes it an error.
- each split needs exactly the class folders ``benign`` and ``malignant``, each with images in it,
  directly (no nested folders, no loose files next to the class folders);
- what an image is, and how it becomes RGB pixels, is :mod:`cancer_course.images`' job (one list
  of extensions, PNG, JPEG, BMP, GIF, TIFF and WebP, in any letter case; greyscale, alpha,
  palette, 16-bit and CMYK converted to 8-bit RGB, the conversion reported); other files are
  errors, except system clutter (``.DS_Store``, ``Thumbs.db``, hidden files), which is skipped
  and reported; empty, truncated, corrupt or oversized images are errors;
- :func:`check_layout` is the one check of the folders, shared with ``cancer-course audit``.

The pieces are public so that the input pipeline builds on them: :func:`scan_folder` gives the
list of ``(path, label)`` per split, :func:`decode_image` decodes one file.

Adapters that turn public datasets into this layout live in :mod:`cancer_course.adapters`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import images
from .errors import DataError
from .labels import CLASS_NAMES, REQUIRED_SPLITS, SPLITS

CLUTTER = {".ds_store", "thumbs.db", "desktop.ini"}
MAX_LISTED = 12  # problems listed in one error message
# What an image is and how it is read belongs to `images` (one extension list, one decoder);
# the lessons and the widgets know these two by their names here.
inspect_image = images.inspect
decode_image = images.decode_image


@dataclass
class FolderScan:
    """What :func:`scan_folder` found: the files of each split and what was worth reporting."""

    root: Path
    files: dict[str, list[tuple[Path, int]]]  # split -> sorted [(path, label)]
    counts: dict[str, dict[str, int]]  # split -> {"benign": n, "malignant": n}
    notes: list[str] = field(default_factory=list)  # conversions and skipped clutter
    modes: dict[str, int] = field(default_factory=dict)  # Pillow mode -> number of images
    sizes: dict[tuple[int, int], int] = field(default_factory=dict)  # (width, height) -> number of images


def _is_clutter(path: Path) -> bool:
    return path.name.lower() in CLUTTER or path.name.startswith(".")


def _problem_report(root: Path, problems: list[str]) -> str:
    shown = problems[:MAX_LISTED]
    more = f"\n  ... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
    return f"{len(problems)} problem(s) in {root}:\n  - " + "\n  - ".join(shown) + more


def check_class_folder(folder: Path) -> tuple[list[Path], list[str], list[str]]:
    """The image files directly in one class folder, the problems in it, and the clutter skipped.

    A nested or linked folder, a file that is not an image, and an empty class folder are
    problems (the loader refuses them, and so does the audit).
    """
    found, problems, notes = [], [], []
    for path in sorted(folder.iterdir()):
        if _is_clutter(path):
            notes.append(f"skipped system file {path}")
        elif path.is_dir():
            kind = "linked folder" if path.is_symlink() else "nested folder"
            problems.append(f"{kind} {path}: images must sit directly in {folder}; "
                            "move its images up one level or remove it")
        elif not images.is_image_name(path):
            problems.append(f"{path}: {images.not_an_image(path)}")
        else:
            found.append(path)
    if not found:
        problems.append(f"empty class folder {folder}: put the {folder.name} images of {folder.parent.name} in it")
    return found, problems, notes


def check_split_folder(split_dir: Path) -> tuple[dict[str, Path], list[str], list[str]]:
    """The class folders of one split, the problems at that level, and the clutter skipped."""
    present, problems, notes = {}, [], []
    for child in sorted(split_dir.iterdir()):
        if _is_clutter(child):
            notes.append(f"skipped system file {child}")
        elif not child.is_dir():
            problems.append(f"file {child} is outside a class folder: move it into benign/ or malignant/")
        elif child.name in CLASS_NAMES:
            present[child.name] = child
        elif child.name.lower() in CLASS_NAMES:
            problems.append(f"class folder {child} is spelled {child.name!r}: class folders are lower-case; "
                            f"rename it to {child.name.lower()!r}")
        else:
            problems.append(
                f"unexpected folder {child}: the course has exactly two classes, benign and malignant; "
                "move this folder out of the dataset (or merge its images into benign/ or malignant/)"
            )
    spelled = {p.name.lower() for p in split_dir.iterdir() if p.is_dir()}
    for cls in CLASS_NAMES:
        if cls not in present and cls not in spelled:
            problems.append(f"missing class folder {split_dir / cls}: create it and put the {cls} images in it")
    return present, problems, notes


@dataclass
class Layout:
    """What :func:`check_layout` found: the image files the loader would use, and what is wrong around them."""

    files: dict[str, list[tuple[Path, int]]]  # split -> sorted [(path, label)]
    problems: list[str]
    notes: list[str]


def check_layout(root: str | Path, require_test: bool = False, splits: Sequence[str] | None = None) -> Layout:
    """Check the folders under `root` (splits, class folders, what sits in them) without opening an image.

    The one layout check: :func:`scan_folder` (train, evaluate) and ``cancer-course audit`` both
    use it, so they refuse the same folders with the same words. `splits` checks only those
    splits, each of them required (``evaluate`` reads the one split it evaluates).
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(
            f"Data folder {root} does not exist. Make the embedded dataset with "
            f"`cancer-course synth {root}`, or give the folder that holds train/ and validation/."
        )
    problems: list[str] = []
    notes: list[str] = []
    files: dict[str, list[tuple[Path, int]]] = {}
    entries = {p.name: p for p in root.iterdir()}
    for split in SPLITS if splits is None else splits:
        if split not in entries or not entries[split].is_dir():
            near = [n for n in entries if n.lower() in (split, split[:3], "val", "valid", "testing", "training")]
            hint = f" (found {near[0]!r}: rename it to {split!r})" if near else ""
            if splits is not None or split in REQUIRED_SPLITS or require_test:
                problems.append(f"missing split folder {root / split}{hint}: create it with benign/ and malignant/ inside")
            else:
                notes.append(f"no test split in {root}: only train and validation are loaded")
            continue
        present, split_problems, split_notes = check_split_folder(entries[split])
        problems += split_problems
        notes += split_notes
        files[split] = []
        for label, cls in enumerate(CLASS_NAMES):  # fixed order: benign 0, malignant 1
            if cls in present:
                found, class_problems, class_notes = check_class_folder(present[cls])
                problems += class_problems
                notes += class_notes
                files[split] += [(path, label) for path in found]
    return Layout(files, problems, notes)


def scan_folder(root: str | Path, require_test: bool = False, verify: bool = True,
                splits: Sequence[str] | None = None) -> FolderScan:
    """Check the layout under `root` and open every image; raise :class:`DataError` on problems.

    Returns the ``(path, label)`` list of every split present. `verify=False` skips decoding
    every image (faster, but corrupt files then surface later, inside TensorFlow). `splits`
    scans only those splits, each of them required (``evaluate`` scans the split it evaluates).
    """
    root = Path(root).expanduser()
    layout = check_layout(root, require_test=require_test, splits=splits)
    problems, notes = list(layout.problems), list(layout.notes)
    files: dict[str, list[tuple[Path, int]]] = {}
    counts: dict[str, dict[str, int]] = {}
    conversions: dict[str, list[Path]] = defaultdict(list)
    modes: dict[str, int] = defaultdict(int)
    sizes: dict[tuple[int, int], int] = defaultdict(int)
    for split, found in layout.files.items():
        files[split] = []
        for path, label in found:
            if verify:
                info = images.inspect(path)
                if info.error:
                    problems.append(info.message)
                    continue
                modes[info.mode] += 1
                sizes[info.size] += 1
                if info.conversion:
                    conversions[info.mode].append(path)
            files[split].append((path, label))
        counts[split] = {cls: sum(1 for _, lab in files[split] if lab == label) for label, cls in enumerate(CLASS_NAMES)}
    if problems:
        raise DataError(_problem_report(root, problems))
    for mode, paths in sorted(conversions.items()):
        notes.append(f"converted {len(paths)} image(s) to RGB - {images.CONVERSIONS.get(mode, mode)} (e.g. {paths[0]})")
    return FolderScan(root, files, counts, notes, dict(modes), dict(sizes))

