"""The audit of one dataset folder: walk it, examine every file, find duplicates and leaks, report.

See :mod:`cancer_course.audit` for what is checked.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

from ..defaults import NEAR_THRESHOLD
from ..errors import DataError
from ..labels import CLASS_NAMES, balanced_class_weights
from .files import examine_all, near_pairs
from .groups import group_leaks, manifest_groups, read_groups, split_key
from .report import AuditReport, blocking_problems, warning_problems


def _walk(root: Path) -> tuple[list[tuple[str, str, Path]], list[str], list[str]]:
    """Every image file as (split, class, path), the layout problems and the notes: the loader's own check."""
    from ..data import check_layout

    layout = check_layout(root)
    found = [(split, CLASS_NAMES[label], path) for split, files in layout.files.items() for path, label in files]
    return found, layout.problems, layout.notes


def audit(root: str | Path, near_threshold: int = NEAR_THRESHOLD, workers: int = 2, progress: bool = False,
          groups: dict[str, str] | str | Path | None = None) -> AuditReport:
    """Audit the dataset under `root` (see the module docstring for what is checked).

    ``groups``: ``{relative path: group id}``, or a CSV file with the columns ``path,group``;
    None: the patients of the folder's manifest, if it records any (:func:`manifest_groups`).
    """
    import time


    start = time.perf_counter()
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"Data folder {root} does not exist: give the folder that holds train/ and validation/.")
    found, layout_problems, notes = _walk(root)
    results = examine_all([str(p) for _, _, p in found], workers, progress)
    records = []
    for (split, label, path), r in zip(found, results):
        r.update(split=split, label=label, rel=path.relative_to(root).as_posix())
        records.append(r)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(CLASS_NAMES, 0))
    for split in {split for split, _, _ in found}:
        counts[split]  # a split with images, listed even if all are unreadable
    for r in records:
        counts[r["split"]][r["label"]] = counts[r["split"]].get(r["label"], 0) + 1
    ok = [r for r in records if r["error"] is None]
    by_digest = defaultdict(list)
    for r in records:
        if r["sha256"]:
            by_digest[r["sha256"]].append(r)
    dup_groups = []
    for members in by_digest.values():
        if len(members) < 2:
            continue
        splits = sorted({m["split"] for m in members})
        labels = sorted({m["label"] for m in members})
        kind = "across splits" if len(splits) > 1 else "both labels" if len(labels) > 1 else "within split"
        dup_groups.append({"files": [m["rel"] for m in members], "splits": splits, "labels": labels, "kind": kind})
    dup_groups.sort(key=lambda g: g["files"][0])
    train_counts = counts.get("train") or next(iter(counts.values()), {})
    try:
        class_weights = balanced_class_weights(train_counts)
    except ValueError:  # a class without images: the layout problems name it
        class_weights = {}
    order = sorted(counts, key=split_key)
    report = AuditReport(
        root=str(root),
        counts={s: dict(counts[s]) for s in order},
        class_weights=class_weights,
        sizes=dict(Counter(f"{r['size'][0]}x{r['size'][1]}" for r in ok).most_common()),
        modes=dict(Counter(r["mode"] for r in ok).most_common()),
        formats=dict(Counter(r["format"] for r in ok).most_common()),
        unreadable=[{"path": r["rel"], "reason": r["error"]} for r in records if r["error"]],
        layout_notes=notes,
        layout_problems=layout_problems,
        duplicate_groups=dup_groups,
        near_duplicates=near_pairs(ok, near_threshold),
        near_threshold=near_threshold,
        n_files=len(records),
        flat_images=sum(1 for r in ok if r["flat"]),
    )
    if groups is None and (recorded := manifest_groups(root)):
        groups, path = recorded
        report.groups_source = f"the manifest's patients ({path})"
    elif groups is not None:
        report.groups_source = "a mapping"
        if isinstance(groups, str | Path):
            report.groups_source, groups = str(groups), read_groups(groups)
    if groups is not None:
        report.group_leaks, group_notes = group_leaks(records, groups)
        report.layout_notes.extend(group_notes)
    report.blocking = blocking_problems(report)
    report.problems = report.blocking + warning_problems(report)
    report.seconds = round(time.perf_counter() - start, 2)
    return report
