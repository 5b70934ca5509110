"""The audit's report: what it found (:class:`AuditReport`), what blocks training, and its text form."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

from ..labels import CLASS_NAMES
from .files import NEAR_CORRELATION


@dataclass
class AuditReport:
    """What :func:`audit` found. ``str(report)`` is the text report, ``as_dict()`` the JSON one."""

    root: str
    counts: dict[str, dict[str, int]]
    class_weights: dict[int, float]
    sizes: dict[str, int]
    modes: dict[str, int]
    formats: dict[str, int]
    unreadable: list[dict]  # {"path", "reason"}
    layout_notes: list[str]
    layout_problems: list[str]  # what the loader refuses (data.check_layout): blocking
    duplicate_groups: list[dict]  # {"files": [...], "splits": [...], "labels": [...], "kind": ...}
    near_duplicates: list[dict]  # {"a", "b", "distance", "kind"}
    near_threshold: int
    n_files: int
    seconds: float = 0.0
    flat_images: int = 0
    problems: list[str] = field(default_factory=list)
    blocking: list[str] = field(default_factory=list)
    group_leaks: list[dict] = field(default_factory=list)  # {"group", "splits", "files"}
    groups_source: str | None = None  # where the groups came from (a CSV, the manifest), None without groups

    def duplicate_summary(self) -> dict[str, int]:
        kinds = Counter(g["kind"] for g in self.duplicate_groups)
        return {k: kinds.get(k, 0) for k in ("within split", "across splits", "both labels")}

    @property
    def leaks(self) -> int:
        """Groups or pairs that put one image in two splits."""
        return self.duplicate_summary()["across splits"] + sum(
            1 for p in self.near_duplicates if p["kind"] in ("across splits", "across splits, both labels")
        )

    def seen_in(self, split: str = "test", other: str = "train") -> list[str]:
        """Files of ``split`` (relative paths) with an exact or near copy in ``other``.

        Scoring ``split`` without them says how much the copies inflate its metrics.
        """
        def part(rel: str) -> str:
            return rel.split("/", 1)[0]

        found = set()
        for g in self.duplicate_groups:
            if other in {part(f) for f in g["files"]}:
                found.update(f for f in g["files"] if part(f) == split)
        for pair in self.near_duplicates:
            for mine, theirs in ((pair["a"], pair["b"]), (pair["b"], pair["a"])):
                if part(mine) == split and part(theirs) == other:
                    found.add(mine)
        return sorted(found)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["class_weights"] = {str(k): v for k, v in self.class_weights.items()}
        d["duplicate_summary"] = self.duplicate_summary()
        return d

    def __str__(self) -> str:
        return format_report(self)


def blocking_problems(report: AuditReport) -> list[str]:
    """One line per thing that has to be fixed before training (the CLI exits 1 on any)."""
    out = []
    dup = report.duplicate_summary()
    near = Counter(p["kind"] for p in report.near_duplicates)
    out += [f"layout: {p}" for p in report.layout_problems]
    if report.unreadable:
        out.append(f"{len(report.unreadable)} unreadable file(s): replace or delete them")
    if dup["across splits"] or near["across splits"] or near["across splits, both labels"]:
        out.append(
            f"LEAK: {dup['across splits']} exact and {near['across splits'] + near['across splits, both labels']} "
            "near-duplicate(s) across splits: keep each image (and each patient) in one split only"
        )
    if report.group_leaks:
        names = ", ".join(g["group"] for g in report.group_leaks[:3])
        out.append(f"GROUP LEAK: {len(report.group_leaks)} group(s) in more than one split (e.g. {names}): "
                   "split by group (sklearn's GroupShuffleSplit or StratifiedGroupKFold), not by image")
    if dup["both labels"] or near["both labels"] or near["across splits, both labels"]:
        n = dup["both labels"] + near["both labels"] + near["across splits, both labels"]
        out.append(f"{n} image(s) under both labels: decide the right label, remove the other copy")
    for split, per in report.counts.items():
        empty = [c for c in CLASS_NAMES if not per.get(c)]
        if empty and sum(per.values()):
            out.append(f"{split} has no {' and no '.join(empty)} images: AUC, sensitivity or specificity "
                       "are undefined there; add images of that class")
    return out


def warning_problems(report: AuditReport) -> list[str]:
    """Worth knowing, not blocking."""
    out = []
    dup = report.duplicate_summary()
    if dup["within split"]:
        out.append(f"{dup['within split']} group(s) of exact duplicates within a split: they overweight those images")
    for split, per in report.counts.items():
        total = sum(per.values())
        if total and 0 < min(per.values()) / total < 0.2:
            out.append(f"{split} is imbalanced ({per}): use class weights or resampling, and report AUC, not accuracy")
    if len(report.sizes) > 1:
        out.append(f"{len(report.sizes)} different image sizes: they will be resized; check nothing is distorted")
    return out


def format_report(report: AuditReport, examples: int = 3) -> str:
    """The human-readable audit report."""
    lines = [f"Audit of {report.root}: {report.n_files} files in {report.seconds:.1f} s", ""]
    lines.append(f"  {'split':<11}{'benign':>8}{'malignant':>11}{'total':>8}{'malignant %':>13}")
    for split, per in report.counts.items():
        total = sum(per.values())
        frac = 100 * per.get("malignant", 0) / total if total else 0
        lines.append(f"  {split:<11}{per.get('benign', 0):>8}{per.get('malignant', 0):>11}{total:>8}{frac:>12.1f}%")
    lines.append(f"Balanced class weights (from train): {report.class_weights or 'none (a class has no images)'}")
    fmt = lambda d: ", ".join(f"{k} ({v})" for k, v in d.items()) or "none"  # noqa: E731
    lines.append(f"Image sizes: {fmt(report.sizes)}")
    lines.append(f"Colour modes: {fmt(report.modes)}")
    lines.append(f"Formats: {fmt(report.formats)}")
    lines.append(f"Unreadable files: {len(report.unreadable) or 'none'}")
    for u in report.unreadable[: examples * 3]:
        lines.append(f"  {u['path']}: {u['reason']}")
    lines.append(f"Layout problems (the loader refuses these): {len(report.layout_problems) or 'none'}")
    for problem in report.layout_problems[: examples * 3]:
        lines.append(f"  {problem}")
    for note in report.layout_notes[: examples * 3]:
        lines.append(f"Layout: {note}")
    dup = report.duplicate_summary()
    n_files = sum(len(g["files"]) for g in report.duplicate_groups)
    lines.append(f"Exact duplicates (identical bytes): {len(report.duplicate_groups)} group(s), {n_files} files")
    for kind, n in dup.items():
        lines.append(f"  {kind}: {n} group(s)")
        for g in [g for g in report.duplicate_groups if g["kind"] == kind][:examples]:
            lines.append(f"    {' = '.join(g['files'][:4])}{' ...' if len(g['files']) > 4 else ''}")
    lines.append(
        f"Near-duplicates across splits or labels (hashes within {report.near_threshold} of 64 bits, "
        f"thumbnails correlate >= {NEAR_CORRELATION}): "
        f"{len(report.near_duplicates)} pair(s)" + (f"; {report.flat_images} flat image(s) not compared" if report.flat_images else "")
    )
    for p in report.near_duplicates[: examples * 2]:
        lines.append(f"  {p['a']} ~ {p['b']} ({p['kind']}, {p['distance']} bits)")
    if report.groups_source is not None:
        lines.append(f"Groups (patients, slides) from {report.groups_source}: "
                     f"{len(report.group_leaks) or 'no'} group(s) in more than one split")
        for g in report.group_leaks[: examples * 2]:
            lines.append(f"  {g['group']}: {', '.join(g['splits'])} ({len(g['files'])} files, e.g. {g['files'][0]})")
    else:
        lines.append("Groups (patients, slides): none recorded (no --groups file, no patients in a manifest): "
                     "patients in more than one split were not checked")
    lines.append("")
    if report.blocking:
        lines.append("To fix before training:")
        lines += [f"  - {p}" for p in report.blocking]
    warnings = [p for p in report.problems if p not in report.blocking]
    if warnings:
        lines.append("Worth a look:")
        lines += [f"  - {p}" for p in warnings]
    if not report.problems:
        lines.append("No problems found.")
    return "\n".join(lines)
