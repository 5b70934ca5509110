"""Groups (patients, slides, cases): where they come from, and every group found in more than one split.

A group file is a CSV with the columns ``path,group`` (:func:`read_groups`); the embedded dataset's
``manifest.json`` names its own (:func:`manifest_groups`).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from ..errors import DataError
from ..labels import SPLITS as SPLIT_ORDER


def split_key(split: str) -> tuple[int, str]:
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
    from ..synth import read_manifest

    name = (read_manifest(root) or {}).get("patients")
    if not name:
        return None
    path = Path(root) / name
    if not path.is_file():
        raise DataError(f"{Path(root) / 'manifest.json'} names the patients file {name}, but {path} is missing: "
                        "restore it, or pass --groups FILE.csv.")
    return read_groups(path), str(path)


def group_leaks(records: list[dict], groups: dict[str, str]) -> tuple[list[dict], list[str]]:
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
        splits = sorted({r["split"] for r in rs}, key=split_key)
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
