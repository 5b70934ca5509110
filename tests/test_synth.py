"""The embedded dataset: layout, counts, determinism, manifest reuse, and colour not being enough."""

import hashlib
import json

import numpy as np
import pytest
from PIL import Image

from cancer_course import cli, config, synth


def _digests(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}  # fmt: skip


@pytest.fixture(scope="module")
def small_set(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "set"
    return synth.generate_dataset(out, image_size=32, n_train=10, n_validation=4, n_test=5, malignant_fraction=0.3)


def test_layout_counts_and_manifest(small_set):
    for split, n in (("train", 10), ("validation", 4), ("test", 5)):
        benign = sorted((small_set / split / "benign").glob("*.png"))
        malignant = sorted((small_set / split / "malignant").glob("*.png"))
        assert len(benign) + len(malignant) == n
        assert len(malignant) == round(n * 0.3)
    manifest = json.loads((small_set / "manifest.json").read_text())
    assert manifest["generator"] == synth.GENERATOR_VERSION
    assert manifest["parameters"]["seed"] == 0 and manifest["parameters"]["image_size"] == 32
    assert manifest["counts"]["train"] == {"benign": 7, "malignant": 3}
    image = Image.open(small_set / "train" / "benign" / "train_benign_00000.png")
    assert image.mode == "RGB" and image.size == (32, 32)


def test_same_seed_gives_byte_identical_files(small_set, tmp_path):
    again = synth.generate_dataset(tmp_path / "again", image_size=32, n_train=10, n_validation=4, n_test=5,
                                   malignant_fraction=0.3)  # fmt: skip
    assert _digests(again) == _digests(small_set)
    other = synth.generate_dataset(tmp_path / "other", image_size=32, n_train=10, n_validation=4, n_test=5,
                                   malignant_fraction=0.3, seed=1)  # fmt: skip
    assert _digests(other)["train/benign/train_benign_00000.png"] != _digests(small_set)["train/benign/train_benign_00000.png"]


def test_tiles_do_not_depend_on_generation_order():
    params = synth.dataset_parameters(image_size=24, seed=3)
    first = synth.render_tile(params, "test", 1, 5)
    for i in range(3):  # other tiles in between change nothing
        synth.render_tile(params, "train", 0, i)
    assert np.array_equal(first, synth.render_tile(params, "test", 1, 5))
    assert not np.array_equal(first, synth.render_tile(params, "validation", 1, 5))


def test_confounder_marks_train_and_validation_only():
    params = synth.dataset_parameters(image_size=40, confounder="corner")
    clean = synth.dataset_parameters(image_size=40)
    marked = sum(not np.array_equal(synth.render_tile(params, "train", 1, i), synth.render_tile(clean, "train", 1, i))
                 for i in range(20))  # fmt: skip
    assert marked >= 14  # 90 % of malignant training tiles carry the mark
    assert all(np.array_equal(synth.render_tile(params, "test", 1, i), synth.render_tile(clean, "test", 1, i))
               for i in range(10))  # fmt: skip


def test_bad_options_are_explained():
    with pytest.raises(ValueError, match="difficulty"):
        synth.dataset_parameters(difficulty=1.5)
    with pytest.raises(ValueError, match="confounder"):
        synth.dataset_parameters(confounder="watermark")
    with pytest.raises(ValueError, match="malignant_fraction"):
        synth.dataset_parameters(malignant_fraction=-0.1)


def test_ensure_dataset_generates_once_and_reuses(tmp_path, monkeypatch):
    monkeypatch.setenv(config.ENV_DATA_DIR, str(tmp_path))
    root = synth.ensure_dataset("smoke", n_train=6, n_validation=2, n_test=2, progress=False)
    assert root.parent == tmp_path and root.name.startswith("embedded-")
    stamp = (root / "manifest.json").stat().st_mtime_ns
    assert synth.ensure_dataset("smoke", n_train=6, n_validation=2, n_test=2, progress=False) == root
    assert (root / "manifest.json").stat().st_mtime_ns == stamp  # reused, not regenerated
    other = synth.ensure_dataset("smoke", n_train=6, n_validation=2, n_test=2, seed=1, progress=False)
    assert other != root
    default = synth.ensure_dataset("smoke", progress=False)
    assert default.name == "embedded-smoke"


def _blobbiness(tile):
    """Share of a tile's dark pixels that survive a 3x3 erosion: high when dark areas are big."""
    grey = tile.mean(axis=2)
    dark = grey < grey.mean() - 1.5 * grey.std()
    core = dark[1:-1, 1:-1].copy()
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            core &= dark[dy:dy + grey.shape[0] - 2, dx:dx + grey.shape[1] - 2]
    return core.sum() / max(dark.sum(), 1)


def test_malignant_tiles_differ_in_space_not_in_mean_colour():
    """Same mean colour (label-independent stain), but bigger dark nuclei in malignant tiles."""
    params = synth.dataset_parameters(image_size=96)
    tiles = {label: [synth.render_tile(params, "train", label, i) for i in range(30)] for label in (0, 1)}
    means = {label: np.mean([t.reshape(-1, 3).mean(axis=0) for t in ts], axis=0) / 255 for label, ts in tiles.items()}
    assert np.abs(means[0] - means[1]).max() < 0.04
    blobs = {label: np.mean([_blobbiness(t) for t in ts]) for label, ts in tiles.items()}
    assert blobs[1] > blobs[0] + 0.08


def test_colour_statistics_alone_do_not_separate_the_classes():
    """Required: a logistic regression on per-channel mean + std scores test AUC <= 0.75."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    params = synth.dataset_parameters(image_size=48)

    def features(split, n):
        x, y = [], []
        for label in (0, 1):
            for i in range(n):
                t = synth.render_tile(params, split, label, i).reshape(-1, 3) / 255.0
                x.append(np.concatenate([t.mean(axis=0), t.std(axis=0)]))
                y.append(label)
        return np.array(x), np.array(y)

    x_train, y_train = features("train", 200)
    x_test, y_test = features("test", 100)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x_train, y_train)
    assert roc_auc_score(y_test, model.predict_proba(x_test)[:, 1]) <= 0.75


def test_cli_synth_writes_a_dataset(tmp_path, capsys):
    assert cli.main(["synth", str(tmp_path / "cli"), "--image-size", "24", "--train", "4", "--validation", "2",
                     "--test", "2", "--seed", "7", "--confounder", "stain"]) == 0  # fmt: skip
    manifest = synth.read_manifest(tmp_path / "cli")
    assert manifest["parameters"]["confounder"] == "stain" and manifest["parameters"]["seed"] == 7
    assert "wrote" in capsys.readouterr().out
    assert cli.main(["synth", str(tmp_path / "bad"), "--difficulty", "2"]) == 2
    assert "difficulty" in capsys.readouterr().err


def _foreign_copy(src, dest):
    """The embedded set as 'real' data: JPEG files of another size, no manifest."""
    for path in src.rglob("*.png"):
        out = dest / path.relative_to(src).with_suffix(".jpg")
        out.parent.mkdir(parents=True, exist_ok=True)
        Image.open(path).resize((40, 40)).save(out, quality=95)
    return dest


def test_confounded_copy_stamps_real_data_and_leaves_it_alone(small_set, tmp_path, monkeypatch):
    monkeypatch.setenv(config.ENV_DATA_DIR, str(tmp_path / "data"))
    foreign = _foreign_copy(small_set, tmp_path / "foreign")
    before = _digests(foreign)
    copy = synth.confounded_copy(foreign, "corner", image_size=32)
    assert copy.parent == tmp_path / "data" and copy.name.startswith("confounded-corner-")
    assert _digests(foreign) == before  # the source is never touched
    mark = np.array([0.1, 0.35, 0.45]) * 255
    marked = {}
    for split in ("train", "validation", "test"):
        for label, cls in enumerate(synth.CLASSES):
            for path in sorted((copy / split / cls).glob("*.png")):
                image = np.asarray(Image.open(path))
                assert image.shape == (32, 32, 3)
                marked.setdefault((split, label), []).append(bool(np.all(np.abs(image[:3, :3] - mark) <= 1)))
    assert not any(marked[("test", 0)] + marked[("test", 1)])  # test stays clean
    assert sum(marked[("train", 1)]) >= 2 and sum(marked[("train", 0)]) <= 2  # 90% vs 10%
    stamp = (copy / "manifest.json").stat().st_mtime_ns
    assert synth.confounded_copy(foreign, "corner", image_size=32) == copy  # reused, not rewritten
    assert (copy / "manifest.json").stat().st_mtime_ns == stamp
    with pytest.raises(ValueError, match="outside the source"):
        synth.confounded_copy(foreign, "corner", 32, dest=foreign / "inside")
    with pytest.raises(ValueError, match="watermark"):
        synth.confounded_copy(foreign, "watermark", 32)


def test_with_confounder_regenerates_the_embedded_set_and_copies_real_data(small_set, tmp_path, monkeypatch):
    monkeypatch.setenv(config.ENV_DATA_DIR, str(tmp_path / "data"))
    monkeypatch.setenv(config.ENV_PROFILE, "smoke")
    again = synth.with_confounder(small_set, "corner")
    manifest = synth.read_manifest(again)
    assert manifest["generator"] == synth.GENERATOR_VERSION
    assert manifest["parameters"] == {**synth.read_manifest(small_set)["parameters"], "confounder": "corner"}
    copy = synth.with_confounder(_foreign_copy(small_set, tmp_path / "foreign"), "corner")
    assert synth.read_manifest(copy)["generator"] == synth.COPY_VERSION
    assert Image.open(next((copy / "train" / "benign").glob("*.png"))).size == (32, 32)  # the smoke size


def test_dataset_root_prefers_the_environment_then_the_parameter(tmp_path, monkeypatch):
    monkeypatch.delenv(config.ENV_DATASET, raising=False)
    monkeypatch.setattr(synth.lessons, "ensure_dataset", lambda profile: tmp_path / f"embedded-{profile}")
    assert synth.dataset_root("smoke") == tmp_path / "embedded-smoke"
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    mine.mkdir()
    theirs.mkdir()
    assert synth.dataset_root("smoke", mine) == mine
    monkeypatch.setenv(config.ENV_DATASET, str(theirs))
    assert synth.dataset_root("smoke", mine) == theirs
    monkeypatch.setenv(config.ENV_DATASET, str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match=r"missing .*CANCER_COURSE_DATASET.*train/"):
        synth.dataset_root("smoke")
    monkeypatch.delenv(config.ENV_DATASET)
    with pytest.raises(FileNotFoundError, match="DATASET_PATH"):
        synth.dataset_root("smoke", tmp_path / "missing")


def _patients_csv(root):
    import csv

    with open(root / synth.PATIENTS_FILE, newline="") as fh:
        return {row["path"]: row["group"] for row in csv.DictReader(fh)}


def test_every_file_has_a_patient_and_no_patient_spans_two_splits(tmp_path):
    root = synth.generate_dataset(tmp_path / "p", image_size=16, n_train=60, n_validation=20, n_test=20,
                                  tiles_per_patient=5)  # fmt: skip
    groups = _patients_csv(root)
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.png"))
    assert sorted(groups) == files  # every file, once
    splits_of = {}
    for path, patient in groups.items():
        splits_of.setdefault(patient, set()).add(path.split("/")[0])
    assert all(len(s) == 1 for s in splits_of.values()), {p: s for p, s in splits_of.items() if len(s) > 1}
    manifest = synth.read_manifest(root)
    assert manifest["patients"] == synth.PATIENTS_FILE and manifest["parameters"]["tiles_per_patient"] == 5
    per_split = {s: sum(1 for v in splits_of.values() if s in v) for s in synth.SPLITS}
    assert manifest["n_patients"] == per_split == {"train": 12, "validation": 4, "test": 4}
    # patients differ in how many of their tiles are malignant (mostly one class, like real slides)
    share = {p: np.mean(["/malignant/" in f for f, q in groups.items() if q == p]) for p in splits_of}
    assert min(share.values()) < 0.3 and max(share.values()) > 0.7
    # render_tile draws the same patient as the file records
    params = manifest["parameters"]
    numbers = synth.split_patients(params)["test"][1]
    assert synth.patient_name(numbers[3]) == groups["test/malignant/test_malignant_00003.png"]


def test_tiles_of_one_patient_look_alike():
    """Colour statistics are closer within a patient than between patients; shuffled patients are not."""
    params = synth.dataset_parameters(image_size=32, n_train=80)
    patients = synth.split_patients(params)["train"]
    feats, who = [], []
    for label in (0, 1):
        for i in range(40):
            t = synth.render_tile(params, "train", label, i).reshape(-1, 3) / 255.0
            feats.append(np.concatenate([t.mean(axis=0), t.std(axis=0)]))
            who.append(int(patients[label][i]))
    feats, who = np.array(feats), np.array(who)
    dist = np.sqrt(((feats[:, None] - feats[None]) ** 2).sum(axis=2))

    def ratio(groups):  # mean distance within a group / between groups
        same = (groups[:, None] == groups[None]) & ~np.eye(len(groups), dtype=bool)
        return dist[same].mean() / dist[groups[:, None] != groups[None]].mean()

    assert len(set(who)) == 8
    assert ratio(who) < 0.6  # measured 0.28
    assert ratio(np.random.default_rng(0).permutation(who)) > 0.85  # the same tiles, patients shuffled
