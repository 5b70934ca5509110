"""The audit finds what real datasets hide: duplicates, leaks, cross-label copies, bad files."""

import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from cancer_course import audit, cli


def _tile(seed, size=48):
    """A random smooth picture: different seeds give clearly different images."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, (6, 6, 3)).astype(np.uint8)
    return Image.fromarray(coarse).resize((size, size), Image.BICUBIC)


@pytest.fixture()
def leaky(tmp_path):
    """Distinct images, then planted problems, each recorded for the assertions."""
    root = tmp_path / "leaky"
    seed = 0
    for split, n in (("train", 8), ("validation", 3), ("test", 3)):
        for cls in ("benign", "malignant"):
            (root / split / cls).mkdir(parents=True)
            for i in range(n):
                _tile(seed).save(root / split / cls / f"{i}.png")
                seed += 1
    shutil.copy(root / "train/benign/0.png", root / "train/benign/copy.png")  # within split
    shutil.copy(root / "train/malignant/1.png", root / "test/malignant/leak.png")  # across splits
    shutil.copy(root / "train/benign/2.png", root / "train/malignant/both.png")  # under both labels
    buffer = io.BytesIO()  # a re-encoded, resized, brightened copy: a near-duplicate, not identical
    ImageEnhance.Brightness(Image.open(root / "train/benign/3.png").convert("RGB").resize((40, 40))).enhance(1.1).save(
        buffer, "JPEG", quality=85
    )
    (root / "validation/benign/near.jpg").write_bytes(buffer.getvalue())
    (root / "validation/malignant/broken.png").write_bytes(b"\x89PNG not really")
    return root


def test_counts_balance_and_weights(leaky):
    report = audit.audit(leaky, workers=1)
    assert report.counts["train"] == {"benign": 9, "malignant": 9}
    assert report.class_weights == {0: 1.0, 1: 1.0}
    assert audit.balanced_class_weights({"benign": 430, "malignant": 970}) == {0: 1.628, 1: 0.722}
    assert report.sizes["48x48"] >= 30 and "40x40" in report.sizes
    assert report.modes["RGB"] >= 30


def test_finds_planted_duplicates_leaks_and_cross_label_copies(leaky):
    report = audit.audit(leaky, workers=1)
    kinds = {g["kind"]: g["files"] for g in report.duplicate_groups}
    assert sorted(kinds["within split"]) == ["train/benign/0.png", "train/benign/copy.png"]
    assert sorted(kinds["across splits"]) == ["test/malignant/leak.png", "train/malignant/1.png"]
    assert sorted(kinds["both labels"]) == ["train/benign/2.png", "train/malignant/both.png"]
    near = [(p["a"], p["b"], p["kind"]) for p in report.near_duplicates]
    assert near == [("train/benign/3.png", "validation/benign/near.jpg", "across splits")]
    assert report.leaks == 2
    assert [u["path"] for u in report.unreadable] == ["validation/malignant/broken.png"]
    text = str(report)
    assert "LEAK" in text and "under both labels" in text and "broken.png" in text


def test_seen_in_lists_the_files_of_a_split_copied_from_another(leaky):
    report = audit.audit(leaky, workers=1)
    assert report.seen_in("test", "train") == ["test/malignant/leak.png"]  # an exact copy
    assert report.seen_in("validation", "train") == ["validation/benign/near.jpg"]  # a near copy
    assert report.seen_in("train", "test") == ["train/malignant/1.png"]
    assert report.seen_in("test", "validation") == []


def test_clean_generated_set_has_no_problems(tmp_path):
    from cancer_course.synth import generate_dataset

    root = generate_dataset(tmp_path / "clean", image_size=32, n_train=12, n_validation=6, n_test=6)
    report = audit.audit(root, workers=1)
    assert report.duplicate_groups == [] and report.near_duplicates == [] and report.unreadable == []
    assert report.problems == []


def test_cli_json_and_text(leaky, capsys):
    assert cli.main(["audit", str(leaky), "--json", "--workers", "1"]) == 1  # leaks: fix before training
    out = capsys.readouterr()
    parsed = json.loads(out.out)
    assert "problem(s) to fix before training (exit status 1)" in out.err
    assert any(b.startswith("LEAK") for b in parsed["blocking"]) and parsed["group_leaks"] == []
    assert parsed["duplicate_summary"] == {"within split": 1, "across splits": 1, "both labels": 1}
    assert parsed["class_weights"] == {"0": 1.0, "1": 1.0}
    assert cli.main(["audit", str(leaky), "--workers", "1"]) == 1
    assert "Balanced class weights (from train): {0: 1.0, 1: 1.0}" in capsys.readouterr().out
    assert cli.main(["audit", str(leaky / "missing")]) == 2


def test_pcam_has_687_duplicate_groups_and_no_leak(shared_data):
    report = audit.audit(shared_data / "pcam", workers=2)  # about 15 s on 2 cores
    assert report.counts == {"train": {"benign": 10000, "malignant": 10000},
                             "validation": {"benign": 1500, "malignant": 1500}}  # fmt: skip
    assert len(report.duplicate_groups) == 687
    assert all(g["kind"] == "within split" and g["labels"] == ["malignant"] for g in report.duplicate_groups)
    assert report.leaks == 0 and report.unreadable == []


def _grouped_set(tmp_path, leak: bool):
    """Three patients per split and class, two tiles each; with `leak`, patient p1's second tile is
    moved to the test split (a tile-level split's mistake)."""
    root = tmp_path / ("leaky-groups" if leak else "clean-groups")
    rows, seed = ["path,group"], 100
    for split in ("train", "validation", "test"):
        for cls in ("benign", "malignant"):
            (root / split / cls).mkdir(parents=True)
            for patient in range(3):
                for tile in range(2):
                    rel = f"{split}/{cls}/p{patient}_{tile}.png"
                    _tile(seed).save(root / rel)
                    seed += 1
                    rows.append(f"{rel},{split}-{cls}-p{patient}")
    if leak:
        (root / "train/benign/p1_1.png").rename(root / "test/benign/moved.png")
        rows = [r.replace("train/benign/p1_1.png", "test/benign/moved.png") for r in rows]
    (tmp_path / f"{root.name}.csv").write_text("\n".join(rows) + "\n")
    return root, tmp_path / f"{root.name}.csv"


def test_groups_find_a_patient_in_two_splits(tmp_path, capsys):
    root, groups = _grouped_set(tmp_path, leak=True)
    report = audit.audit(root, workers=1, groups=groups)
    assert report.group_leaks == [{"group": "train-benign-p1", "splits": ["train", "test"],
                                   "files": ["test/benign/moved.png", "train/benign/p1_0.png"]}]
    assert any(b.startswith("GROUP LEAK: 1 group(s)") and "GroupShuffleSplit" in b for b in report.blocking)
    assert report.leaks == 0  # no image is copied: only the group tells
    assert cli.main(["audit", str(root), "--groups", str(groups), "--json", "--workers", "1"]) == 1
    parsed = json.loads(capsys.readouterr().out)
    assert parsed["group_leaks"][0]["group"] == "train-benign-p1"
    assert cli.main(["audit", str(root), "--groups", str(groups), "--workers", "1"]) == 1
    assert "train-benign-p1: train, test (2 files" in capsys.readouterr().out


def test_groups_pass_a_clean_split(tmp_path, capsys):
    root, groups = _grouped_set(tmp_path, leak=False)
    assert cli.main(["audit", str(root), "--groups", str(groups), "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "no group(s) in more than one split" in out and "No problems found." in out


def test_groups_file_problems_are_named(tmp_path):
    root, groups = _grouped_set(tmp_path, leak=False)
    bad = tmp_path / "bad.csv"
    bad.write_text("file,patient\na.png,1\n")
    with pytest.raises(ValueError, match="needs a header row with the columns path,group"):
        audit.audit(root, workers=1, groups=bad)
    with pytest.raises(ValueError, match="Cannot read the groups file"):
        audit.audit(root, workers=1, groups=tmp_path / "missing.csv")
    partial = tmp_path / "partial.csv"
    partial.write_text("path,group\ntrain/benign/p0_0.png,a\nnot/here.png,b\n")
    report = audit.audit(root, workers=1, groups=partial)
    assert any("not images of this folder (e.g. not/here.png)" in n for n in report.layout_notes)
    assert any("have no group in the groups file" in n for n in report.layout_notes)


def test_a_split_without_a_class_blocks(tmp_path):
    root, _ = _grouped_set(tmp_path, leak=False)
    shutil.rmtree(root / "test" / "malignant")
    (root / "test" / "malignant").mkdir()
    report = audit.audit(root, workers=1)
    assert report.blocking == [f"layout: empty class folder {root / 'test' / 'malignant'}: put the malignant images "
                               "of test in it",
                               "test has no malignant images: AUC, sensitivity or specificity are undefined there; "
                               "add images of that class"]
    assert not any("imbalanced" in p for p in report.problems)


def _patient_set(tmp_path):
    from cancer_course.synth import generate_dataset

    return generate_dataset(tmp_path / "patients", image_size=16, n_train=24, n_validation=12, n_test=12,
                            tiles_per_patient=4)  # fmt: skip


def test_the_manifest_patients_are_used_and_a_clean_set_passes(tmp_path, capsys):
    root = _patient_set(tmp_path)
    report = audit.audit(root, workers=1)
    assert report.groups_source == f"the manifest's patients ({root / 'patients.csv'})"
    assert report.group_leaks == [] and report.blocking == [] and report.layout_notes == []
    assert cli.main(["audit", str(root), "--workers", "1"]) == 0
    assert "from the manifest's patients" in capsys.readouterr().out


def test_a_patient_moved_to_another_split_is_found_from_the_manifest(tmp_path, capsys):
    root = _patient_set(tmp_path)
    table = (root / "patients.csv").read_text()
    moved = "train/malignant/train_malignant_00002.png"
    patient = next(line.split(",")[1] for line in table.splitlines() if line.startswith(moved + ","))
    (root / moved).rename(root / "test/malignant/moved.png")  # a tile-level re-split's mistake
    (root / "patients.csv").write_text(table.replace(moved + ",", "test/malignant/moved.png,"))
    report = audit.audit(root, workers=1)
    assert [g["group"] for g in report.group_leaks] == [patient]
    assert report.group_leaks[0]["splits"] == ["train", "test"] and "test/malignant/moved.png" in report.group_leaks[0]["files"]
    assert report.leaks == 0  # no image is copied: only the patient record tells
    assert cli.main(["audit", str(root), "--json", "--workers", "1"]) == 1
    parsed = json.loads(capsys.readouterr().out)
    assert parsed["group_leaks"][0]["group"] == patient and "manifest" in parsed["groups_source"]
    other = tmp_path / "other.csv"  # --groups wins over the manifest
    other.write_text("path,group\n" + "\n".join(f"{p.relative_to(root).as_posix()},{i}"
                                                 for i, p in enumerate(sorted(root.rglob("*.png")))) + "\n")
    assert audit.audit(root, workers=1, groups=other).group_leaks == []


def test_without_patients_the_report_says_they_were_not_checked(tmp_path, capsys):
    root = _patient_set(tmp_path)
    (root / "patients.csv").unlink()
    with pytest.raises(ValueError, match="names the patients file patients.csv, but .* is missing"):
        audit.audit(root, workers=1)
    (root / "manifest.json").unlink()
    report = audit.audit(root, workers=1)
    assert report.groups_source is None and report.group_leaks == []
    assert "none recorded (no --groups file, no patients in a manifest)" in str(report)
