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
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from . import images
from .errors import DataError
from .labels import CLASS_NAMES, balanced_class_weights
from .labels import SPLITS as SPLIT_ORDER

NEAR_THRESHOLD = 10  # bits out of 64: candidates, then confirmed on thumbnails
NEAR_CORRELATION = 0.97  # thumbnails of true near-duplicates correlate at 0.99+
FLAT_STD = 3.0  # grey levels: images this flat (blank, all background) are not near-matched
HASH_SIDE = 32  # the image is shrunk to 32x32 grey before its DCT


@lru_cache(maxsize=1)
def _dct_matrix(n: int = HASH_SIDE) -> np.ndarray:
    """The orthonormal DCT-II matrix: D @ x @ D.T is the 2-D DCT of an n x n block x."""
    k, i = np.mgrid[0:n, 0:n]
    d = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2 / n)
    d[0] /= np.sqrt(2)
    return d


def thumbnail(image: Image.Image) -> np.ndarray:
    """The image as a 32x32 grey uint8 array: what the near-duplicate checks compare."""
    return np.asarray(image.convert("L").resize((HASH_SIDE, HASH_SIDE), Image.BILINEAR))


def perceptual_hash(grey: np.ndarray) -> int:
    """A 64-bit DCT hash of a 32x32 grey thumbnail.

    Shrink to 32x32 grey, take the 8x8 lowest spatial frequencies of its DCT, and set one bit per
    frequency that is above their median. Re-encoding, resizing and mild colour changes leave
    most bits as they were; different images differ in about half of them.
    """
    d = _dct_matrix()
    low = (d @ grey.astype(np.float64) @ d.T)[:8, :8].ravel()
    bits = low > np.median(low[1:])
    return int(np.packbits(bits).view(">u8")[0])


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two thumbnails: 1 = same picture, whatever brightness and contrast."""
    a = a.astype(np.float64) - a.mean()
    b = b.astype(np.float64) - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum() + 1e-12))


def examine_file(path: str) -> dict:
    """Everything the audit needs from one file: byte hash, format, mode, size, perceptual hash.

    The verdict and the pixels are :func:`cancer_course.images.read`'s, as in every command.
    """
    out = {"path": path, "sha256": None, "format": None, "mode": None, "size": None, "phash": None,
           "thumb": None, "flat": False, "error": None}  # fmt: skip
    try:
        data = Path(path).read_bytes()
    except OSError:
        data = b""  # the verdict below says why
    if data:  # empty files are not duplicates of each other
        out["sha256"] = hashlib.sha256(data).hexdigest()
    info, rgb = images.read(path)
    out["format"], out["mode"] = info.format, info.mode
    out["size"] = list(info.size) if info.size else None
    if info.error:
        out["error"] = info.error
        return out
    out["thumb"] = thumbnail(Image.fromarray(rgb))
    out["phash"] = perceptual_hash(out["thumb"])
    out["flat"] = float(out["thumb"].std()) < FLAT_STD
    return out


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


def _walk(root: Path) -> tuple[list[tuple[str, str, Path]], list[str], list[str]]:
    """Every image file as (split, class, path), the layout problems and the notes: the loader's own check."""
    from .data import check_layout

    layout = check_layout(root)
    found = [(split, CLASS_NAMES[label], path) for split, files in layout.files.items() for path, label in files]
    return found, layout.problems, layout.notes


def _examine_all(paths: list[str], workers: int, progress: bool) -> list[dict]:
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(paths), desc="auditing", unit="file")
    results = []
    if workers > 1 and len(paths) >= 2000:
        import multiprocessing as mp

        context = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        with context.Pool(workers) as pool:
            for r in pool.imap(examine_file, paths, chunksize=256):
                results.append(r)
                if bar:
                    bar.update(1)
    else:
        for p in paths:
            results.append(examine_file(p))
            if bar:
                bar.update(1)
    if bar:
        bar.close()
    return results


def _pair_kind(split_a: str, label_a: str, split_b: str, label_b: str) -> str | None:
    if split_a != split_b:
        return "across splits, both labels" if label_a != label_b else "across splits"
    return "both labels" if label_a != label_b else None


def _near_pairs(records: list[dict], threshold: int) -> list[dict]:
    """Look-alike pairs in different splits or under different labels (hash, then thumbnails)."""
    usable = [r for r in records if r["phash"] is not None and not r["flat"]]
    if len(usable) < 2:
        return []
    hashes = np.array([r["phash"] for r in usable], dtype=np.uint64)
    groups = np.array([f"{r['split']}/{r['label']}" for r in usable])
    digests = [r["sha256"] for r in usable]
    pairs = []
    names = sorted(set(groups))
    for i, ga in enumerate(names):
        ia = np.flatnonzero(groups == ga)
        for gb in names[i + 1:]:
            ib = np.flatnonzero(groups == gb)
            for start in range(0, len(ia), 512):  # chunks keep memory small
                rows = ia[start:start + 512]
                dist = np.bitwise_count(hashes[rows, None] ^ hashes[None, ib])
                for r, c in zip(*np.nonzero(dist <= threshold)):
                    a, b = usable[rows[r]], usable[ib[c]]
                    if digests[rows[r]] == digests[ib[c]]:
                        continue  # identical bytes: already an exact duplicate
                    if correlation(a["thumb"], b["thumb"]) < NEAR_CORRELATION:
                        continue  # similar hashes, different pictures (e.g. blank background)
                    pairs.append({"a": a["rel"], "b": b["rel"], "distance": int(dist[r, c]),
                                  "kind": _pair_kind(a["split"], a["label"], b["split"], b["label"])})  # fmt: skip
    return pairs


def _split_key(split: str) -> tuple[int, str]:
    """Sort key for split names: train, validation, test, then any others by name."""
    return (SPLIT_ORDER.index(split) if split in SPLIT_ORDER else len(SPLIT_ORDER), split)


def read_groups(csv_path: str | Path) -> dict[str, str]:
    """``path -> group`` from a CSV with the columns ``path,group`` (paths relative to the dataset root)."""
    import csv


    csv_path = Path(csv_path).expanduser()
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = [c.strip() for c in (reader.fieldnames or [])]
            if "path" not in columns or "group" not in columns:
                raise DataError(f"{csv_path}: needs a header row with the columns path,group (found: "
                                f"{','.join(columns) or 'no header'}); one row per image, path relative to ROOT.")
            groups = {}
            for line, row in enumerate(reader, start=2):
                row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
                if not row["path"] or not row["group"]:
                    raise DataError(f"{csv_path}, line {line}: an empty path or group; give both on every row.")
                groups[Path(row["path"]).as_posix().removeprefix("./")] = row["group"]
    except OSError as exc:
        raise DataError(f"Cannot read the groups file {csv_path}: {exc.strerror or exc}.") from None
    return groups


def manifest_groups(root: str | Path) -> tuple[dict[str, str], str] | None:
    """The patients a dataset's ``manifest.json`` records (``"patients": "patients.csv"``, a
    ``path,group`` CSV beside it), with the file's path; None when it records none."""
    from .synth import read_manifest

    name = (read_manifest(root) or {}).get("patients")
    if not name:
        return None
    path = Path(root) / name
    if not path.is_file():
        raise DataError(f"{Path(root) / 'manifest.json'} names the patients file {name}, but {path} is missing: "
                        "restore it, or pass --groups FILE.csv.")
    return read_groups(path), str(path)


def _group_leaks(records: list[dict], groups: dict[str, str]) -> tuple[list[dict], list[str]]:
    """Groups with images in more than one split, and notes on paths the CSV and the folder disagree on."""
    members: dict[str, list[dict]] = defaultdict(list)
    ungrouped = []
    for r in records:
        group = groups.get(r["rel"])
        if group is None:
            ungrouped.append(r["rel"])
        else:
            members[group].append(r)
    leaks = []
    for group, rs in sorted(members.items()):
        splits = sorted({r["split"] for r in rs}, key=_split_key)
        if len(splits) > 1:
            leaks.append({"group": group, "splits": splits, "files": sorted(r["rel"] for r in rs)})
    notes = []
    known = {r["rel"] for r in records}
    missing = sorted(set(groups) - known)
    if missing:
        notes.append(f"{len(missing)} path(s) of the groups file are not images of this folder "
                     f"(e.g. {', '.join(missing[:3])}): paths must be relative to ROOT")
    if ungrouped:
        notes.append(f"{len(ungrouped)} image(s) have no group in the groups file (e.g. {', '.join(ungrouped[:3])}): "
                     "they were not checked for patient leaks")
    return leaks, notes


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
    results = _examine_all([str(p) for _, _, p in found], workers, progress)
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
    order = sorted(counts, key=_split_key)
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
        near_duplicates=_near_pairs(ok, near_threshold),
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
        report.group_leaks, group_notes = _group_leaks(records, groups)
        report.layout_notes.extend(group_notes)
    report.blocking = _blocking(report)
    report.problems = report.blocking + _warnings(report)
    report.seconds = round(time.perf_counter() - start, 2)
    return report


def _blocking(report: AuditReport) -> list[str]:
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


def _warnings(report: AuditReport) -> list[str]:
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
