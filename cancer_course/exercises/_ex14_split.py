"""Lesson 14's exercise 1: the dataset with planted defects and the leak-free split's check (audits the
folder the answer writes). LESSON, the lesson's name, lives here so that ex14 and this part share it."""

from __future__ import annotations

import csv
import hashlib
import shutil
import tempfile
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

from .core import Incorrect, Problem

LESSON = "lesson 14 (the capstone on real data)"
SPLITS = ("train", "validation", "test")
CLASSES = ("benign", "malignant")
IMAGE_SIZE = 24


# ---------------------------------------------------------------- q1's dataset
def _digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def capstone_data(dest, seed: int = 0) -> Path:
    """A small dataset in the course layout with the defects real data has, for exercise 1.

    Synthetic tiles of 24 px with a ``patients.csv`` (through ``manifest.json``), plus planted
    problems that the audit finds: exact copies of training images in other splits (filed under
    other patient ids), JPEG re-encodings of training images in the test split, and one image filed
    under both labels. ``dest`` is replaced. Research and education only.
    """
    from PIL import Image

    from .. import synth

    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    root = synth.generate_dataset(dest, image_size=IMAGE_SIZE, n_train=48, n_validation=16, n_test=16,
                                  seed=seed + 11, tiles_per_patient=4, progress=False)
    rows = list(csv.DictReader(open(root / "patients.csv", newline="", encoding="utf-8")))
    train = {label: sorted((root / "train" / label).glob("*.png")) for label in CLASSES}
    planted = []  # (relative path, patient)
    for i, (label, to) in enumerate([("malignant", "test"), ("benign", "test"), ("benign", "validation")]):
        source = train[label][i]
        out = root / to / label / f"scan_{i:02d}.png"
        shutil.copyfile(source, out)  # an exact copy, under another patient id
        planted.append((out.relative_to(root).as_posix(), f"record-{i}"))
    for i, label in enumerate(("malignant", "benign")):
        out = root / "test" / label / f"export_{i:02d}.jpg"
        Image.open(train[label][5 + i]).convert("RGB").save(out, quality=90)  # a near-copy
        planted.append((out.relative_to(root).as_posix(), f"record-{3 + i}"))
    out = root / "validation" / "malignant" / "scan_99.png"
    shutil.copyfile(train["benign"][8], out)  # the same image under both labels
    planted.append((out.relative_to(root).as_posix(), "record-9"))
    with open(root / "patients.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "group"])
        writer.writerows([(r["path"], r["group"]) for r in rows] + planted)
    return root


@lru_cache(maxsize=4)
def _reference(seed: int = 0) -> dict:
    """What q1's check knows about the dataset: every image by its bytes, its links and conflicts."""
    from .. import audit

    folder = Path(tempfile.mkdtemp(prefix="ex14-reference-"))
    root = capstone_data(folder / "data", seed)
    report = audit.audit(root, workers=1)
    patients, _ = audit.manifest_groups(root)
    files = sorted(p for p in root.rglob("*") if p.suffix in (".png", ".jpg"))
    rel = {p.relative_to(root).as_posix(): p for p in files}
    digest = {r: _digest(p) for r, p in rel.items()}
    conflicting = {digest[f] for g in report.duplicate_groups if len(g["labels"]) > 1 for f in g["files"]}
    conflicting |= {digest[f] for pair in report.near_duplicates if "both labels" in pair["kind"]
                    for f in (pair["a"], pair["b"])}
    # why each link exists, by digest: a group per patient, per copy and per near-copy
    labels = defaultdict(set)  # digest -> the labels it is filed under
    for r in rel:
        labels[digest[r]].add(int(r.split("/")[1] == "malignant"))
    links = defaultdict(set)  # digest -> {(kind, name)}
    for r, who in patients.items():
        links[digest[r]].add(("patient", who))
    for g in report.duplicate_groups:
        for f in g["files"]:
            links[digest[f]].add(("copy", f"copies {' = '.join(g['files'])}"))
    for pair in report.near_duplicates:
        for f in (pair["a"], pair["b"]):
            links[digest[f]].add(("near", f"near-copies {pair['a']} ~ {pair['b']}"))
    shutil.rmtree(folder, ignore_errors=True)
    return {"links": dict(links), "conflicting": conflicting, "labels": dict(labels),
            "usable": {d for d in digest.values() if d not in conflicting}, "n_images": len(files)}


# ---------------------------------------------------------------- q1
class LeakFreeSplit(Problem):
    title = "a split the audit finds leak-free"
    names = ("split_root",)
    lesson = LESSON + ": sections 1 and 2 (audit, links between images, a grouped split, the second audit)"
    hints = (
        "Audit the folder first (`audit.audit(data_root)`) and read what it found: copies, near-copies, an image "
        "under both labels; `audit.manifest_groups(data_root)` gives the patients. Each of these ties images "
        "together, and tied images must end up in the same split.",
        "Make one group id per image (the lesson's `groups_from`: copies, near-copy pairs and each patient's images "
        "joined), leave out the images filed under both labels, pool all splits, split by group "
        "(`StratifiedGroupKFold`, or the lesson's `grouped_split`) and copy the files into "
        "SPLIT_ROOT/{train,validation,test}/{benign,malignant}/ with unique names. Then audit the new folder.",
        "Last hint. Fill the blanks: report = audit.audit(____); links = [g['files'] for g in report.____] + "
        "[[q['a'], q['b']] for q in report.____] + one list of paths per patient; join linked images (a union-find, "
        "as the lesson's groups_from); rest, test = next(StratifiedGroupKFold(6, shuffle=True, random_state=seed)"
        ".split(index, y, ____)); 5 folds of `rest` give validation; shutil.copyfile each usable image to "
        "dest/SPLIT/CLASS/; return ____.",
    )
    solution_code = '''
    def leak_free_copy(data_root, dest, seed=0):
        report = audit.audit(data_root, workers=1)
        patients, _ = audit.manifest_groups(data_root)
        labels_of = {p.relative_to(data_root).as_posix(): int(p.parent.name == "malignant")
                     for p in sorted(data_root.glob("*/*/*")) if p.suffix in (".png", ".jpg")}
        conflicting = {f for g in report.duplicate_groups if len(g["labels"]) > 1 for f in g["files"]}
        conflicting |= {f for q in report.near_duplicates if "both labels" in q["kind"] for f in (q["a"], q["b"])}
        usable = [p for p in labels_of if p not in conflicting]
        parent = {p: p for p in usable}  # union-find: linked images share a root

        def find(p):
            while parent[p] != p:
                p = parent[p]
            return p

        links = [g["files"] for g in report.duplicate_groups] + [[q["a"], q["b"]] for q in report.near_duplicates]
        links += [[p for p, who in patients.items() if who == w] for w in set(patients.values())]
        for members in links:
            members = [m for m in members if m in parent]
            for m in members[1:]:
                parent[find(m)] = find(members[0])
        y, g = np.array([labels_of[p] for p in usable]), np.array([find(p) for p in usable])
        index = np.arange(len(usable))
        rest, test = next(StratifiedGroupKFold(6, shuffle=True, random_state=seed).split(index, y, g))
        _, val = next(StratifiedGroupKFold(5, shuffle=True, random_state=seed).split(rest, y[rest], g[rest]))
        where = np.full(len(usable), "train", dtype=object)
        where[test], where[rest[val]] = "test", "validation"
        if dest.exists():
            shutil.rmtree(dest)
        for rel, label, split in zip(usable, y, where):
            out = dest / split / ("malignant" if label else "benign") / rel.replace("/", "__")
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(data_root / rel, out)
        return dest
    '''

    def _check(self, split_root):
        from .. import audit
        from ..data import DataError, scan_folder

        if not isinstance(split_root, str | Path):
            raise Incorrect(f"split_root is {type(split_root).__name__}; give the folder your split was written to "
                            "(a Path), the one that holds train/, validation/ and test/.")
        root = Path(split_root).expanduser()
        if not root.is_dir():
            raise Incorrect(f"{root} is not a folder: write the split with a folder per split and class, "
                            "ROOT/{train,validation,test}/{benign,malignant}/, and give its path.")
        missing = [s for s in SPLITS if not (root / s).is_dir()]
        if missing:
            raise Incorrect(f"{root} has no {', '.join(missing)} folder: a capstone needs train, validation (to choose "
                            "the model and threshold) and test (which chooses nothing).")
        try:
            scan = scan_folder(root, verify=False)
        except DataError as exc:
            raise Incorrect(f"the course's loader refuses your folder: {exc}") from None
        ref = _reference()
        files = {path.resolve().relative_to(root.resolve()).as_posix(): (split, label)
                 for split, pairs in scan.files.items() for path, label in pairs}
        digests = {rel: _digest(root / rel) for rel in files}
        unknown = sorted(rel for rel, d in digests.items() if d not in ref["links"])
        if unknown:
            raise Incorrect(f"{len(unknown)} file(s) are not images of the capstone dataset, e.g. {unknown[0]}: copy the "
                            "files as they are (shutil.copyfile), without re-encoding them; the check knows each image "
                            "by its bytes.")
        kept_conflicts = sorted(rel for rel, d in digests.items() if d in ref["conflicting"])
        if kept_conflicts:
            raise Incorrect(f"{kept_conflicts[0]} is an image the dataset files under both labels (the audit's 'both "
                            "labels'): neither label can be trusted, so leave every copy of it out.")
        relabelled = sorted(rel for rel, (_, label) in files.items() if label not in ref["labels"][digests[rel]])
        if relabelled:
            raise Incorrect(f"{relabelled[0]} is filed under another class than in the dataset: keep every image's "
                            "label (its class folder) when you copy it.")
        report = audit.audit(root, workers=1)
        if report.leaks:
            kinds = [g for g in report.duplicate_groups if g["kind"] == "across splits"]
            example = (" = ".join(kinds[0]["files"][:2]) if kinds else
                       next(f"{p['a']} ~ {p['b']}" for p in report.near_duplicates if "across splits" in p["kind"]))
            raise Incorrect(f"the audit of your split finds {report.leaks} image(s) in two splits (e.g. {example}): "
                            "join every duplicate group and every near-duplicate pair of the first audit into one "
                            "group, and split by group.")
        where = defaultdict(set)  # (kind, name) -> splits
        for rel, d in digests.items():
            for link in ref["links"][d]:
                where[link].add(files[rel][0])
        broken = sorted((link for link, splits in where.items() if len(splits) > 1), key=lambda k: k[0] != "patient")
        if broken:
            kind, name = broken[0]
            splits = ", ".join(sorted(where[broken[0]], key=SPLITS.index))
            if kind == "patient":
                raise Incorrect(f"patient {name} has images in {splits} (the audit of your split, with the dataset's "
                                f"patients, finds {len([b for b in broken if b[0] == 'patient'])} such patient(s)): a "
                                "patient's images look alike, so put all of them in one split "
                                "(audit.manifest_groups gives the patients).")
            raise Incorrect(f"{name} ended up in {splits}: the copies were joined, but a link of the first audit "
                            "was lost; join every member of a duplicate group and both images of a near-duplicate "
                            "pair into one group.")
        counts = {s: scan.counts.get(s, {}) for s in SPLITS}
        one_class = [s for s, c in counts.items() if not (c.get("benign") and c.get("malignant"))]
        if one_class:
            raise Incorrect(f"{', '.join(one_class)} has images of one class only ({counts}): AUC is undefined there; "
                            "split with stratification by label (StratifiedGroupKFold) and check every split.")
        small = [s for s in ("validation", "test") if sum(counts[s].values()) < 0.1 * len(files)]
        if small:
            raise Incorrect(f"{', '.join(small)} holds less than a tenth of the images ({counts}): give validation and "
                            "test about a sixth each, so their metrics mean something.")
        present = set(digests.values())
        if len(present) < 0.9 * len(ref["usable"]):
            raise Incorrect(f"your split holds {len(present)} of the dataset's {len(ref['usable'])} usable images: "
                            "pool all splits and split every usable image (leave out only the images under both "
                            "labels).")
        return (f"{len(files)} images in train/validation/test "
                f"({', '.join(str(sum(counts[s].values())) for s in SPLITS)}); the audit of your split finds no image "
                "and no patient in two splits.")
