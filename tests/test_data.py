"""The loader: layout and image checks with messages that name the file, conversions, adapters."""

import io
import zlib

import numpy as np
import pytest
from PIL import Image

from cancer_course import adapters, data, pipeline


def _save(path, mode="RGB", size=(12, 12), fmt=None, value=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(zlib.crc32(path.name.encode()))  # same name, same pixels, in every run
    rgb = (rng.uniform(0, 255, (size[1], size[0], 3)) if value is None else np.full((size[1], size[0], 3), value))
    image = Image.fromarray(rgb.astype(np.uint8))
    if mode == "I;16":
        image = Image.fromarray((rgb[..., 0] * 257).astype(np.uint16))
    elif mode != "RGB":
        image = image.convert(mode)
    image.save(path, format=fmt)
    return path


def _make_root(tmp_path, splits=("train", "validation", "test"), n=2):
    root = tmp_path / "data"
    for split in splits:
        for cls in ("malignant", "benign"):  # created in the "wrong" order on purpose
            for i in range(n):
                _save(root / split / cls / f"{cls}{i}.png", value=200 if cls == "malignant" else 30)
    return root


def _problem(root, match):
    with pytest.raises(data.DataError) as info:
        data.scan_folder(root)
    assert match in str(info.value), str(info.value)
    return str(info.value)


def test_good_folder_loads_with_benign_0_and_malignant_1(tmp_path):
    root = _make_root(tmp_path)
    splits = pipeline.load_splits(root, image_size=8, batch_size=4, verbose=False)
    assert splits.class_names == ("benign", "malignant")
    assert splits.counts == {s: {"benign": 2, "malignant": 2} for s in ("train", "validation", "test")}
    images, labels = next(iter(splits.test))
    assert images.shape == (4, 8, 8, 3) and images.dtype.name == "float32"
    assert 0.0 <= float(images.numpy().min()) and float(images.numpy().max()) <= 1.0
    for image, label in zip(images.numpy(), labels.numpy()):  # malignant files are bright
        assert (image.mean() > 0.5) == (label == 1)
    paths, labs = splits.files("train")
    assert len(paths) == 4 and sorted(labs) == [0, 0, 1, 1]



def test_load_splits_builds_a_dataset_only_when_it_is_used(tmp_path):
    splits = pipeline.load_splits(_make_root(tmp_path), image_size=8, verbose=False)
    splits.files("train"), splits.summary()
    assert splits._datasets == {}  # the train command only wants the files: nothing is built for it
    first = splits.train
    assert splits.train is first and set(splits._datasets) == {"train"}
    image, label = next(iter(splits.validation))  # unbatched (image, 0/1 label) pairs
    assert image.shape == (8, 8, 3) and label.dtype.name == "int32"


def test_one_builder_skips_unreadable_files_when_asked(tmp_path):
    good = [str(_save(tmp_path / f"{i}.png", value=10 * i)) for i in range(3)]
    (tmp_path / "bad.png").write_bytes(b"not a png")
    paths = good[:1] + [str(tmp_path / "bad.png")] + good[1:]
    kept = [int(i) for _, batch in pipeline.from_files(paths, range(4), 8, 2, output=None, cache=False,
                                                       skip_unreadable=True) for i in batch.numpy()]
    assert kept == [0, 2, 3]  # the bad file's index is missing, the others keep their order
    with pytest.raises(ValueError, match="augment works on whole batches"):
        pipeline.from_files(paths, range(4), 8, None, augment=pipeline.fast_augmentation(1.0))

def test_decode_image_matches_the_file(tmp_path):
    path = _save(tmp_path / "a.png", value=51)
    image = data.decode_image(str(path), 6).numpy()
    assert image.shape == (6, 6, 3) and np.allclose(image, 0.2, atol=1e-3)


def test_test_split_is_optional_unless_required(tmp_path):
    root = _make_root(tmp_path, splits=("train", "validation"))
    scan = data.scan_folder(root)
    assert "test" not in scan.files and any("no test split" in n for n in scan.notes)
    assert pipeline.load_splits(root, image_size=8, verbose=False).test is None
    with pytest.raises(data.DataError, match="missing split folder .*test"):
        data.scan_folder(root, require_test=True)


def test_splits_scans_only_those_and_requires_each(tmp_path):
    root = _make_root(tmp_path, splits=("test",))
    (root / "test" / "benign" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(data.DataError, match="broken.png"):
        data.scan_folder(root, splits=("test",))
    (root / "test" / "benign" / "broken.png").unlink()
    scan = data.scan_folder(root, splits=("test",))  # no train or validation: not asked for, not missing
    assert list(scan.files) == ["test"] and scan.counts["test"] == {"benign": 2, "malignant": 2}
    with pytest.raises(data.DataError, match="missing split folder .*holdout"):
        data.scan_folder(root, splits=("test", "holdout"))


def test_missing_split_names_the_folder_and_suggests_renaming(tmp_path):
    root = _make_root(tmp_path, splits=("train", "val"))
    message = _problem(root, "missing split folder")
    assert str(root / "validation") in message and "rename it to 'validation'" in message


def test_missing_root_says_how_to_make_data(tmp_path):
    with pytest.raises(data.DataError, match="cancer-course synth"):
        data.scan_folder(tmp_path / "nowhere")


def test_missing_and_extra_class_folders(tmp_path):
    root = _make_root(tmp_path)
    for p in (root / "train" / "benign").iterdir():
        p.unlink()
    (root / "train" / "benign").rmdir()
    _save(root / "validation" / "normal" / "x.png")
    message = _problem(root, "missing class folder")
    assert str(root / "train" / "benign") in message
    assert f"unexpected folder {root / 'validation' / 'normal'}" in message


def test_empty_class_folder(tmp_path):
    root = _make_root(tmp_path)
    for p in (root / "test" / "malignant").iterdir():
        p.unlink()
    _problem(root, f"empty class folder {root / 'test' / 'malignant'}")


def test_non_image_files_nested_folders_and_loose_files(tmp_path):
    root = _make_root(tmp_path)
    (root / "train" / "benign" / "notes.txt").write_text("hello")
    _save(root / "train" / "malignant" / "more" / "x.png")
    _save(root / "validation" / "stray.png")
    message = _problem(root, "not an image")
    assert str(root / "train" / "benign" / "notes.txt") in message
    assert f"nested folder {root / 'train' / 'malignant' / 'more'}" in message
    assert f"file {root / 'validation' / 'stray.png'} is outside a class folder" in message


def test_system_clutter_is_skipped_and_reported(tmp_path):
    root = _make_root(tmp_path)
    (root / "train" / "benign" / ".DS_Store").write_bytes(b"\0\1")
    (root / "train" / "benign" / "Thumbs.db").write_bytes(b"\0\1")
    scan = data.scan_folder(root)
    assert scan.counts["train"]["benign"] == 2
    assert sum("skipped system file" in n for n in scan.notes) == 2


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("zero.png", b"", "empty file (0 bytes)"),
        ("corrupt.jpg", b"this is not a jpeg at all", "cannot be decoded"),
        ("truncated.png", "truncate", "cannot be decoded"),
        ("scan.png", "ppm", "holds a PPM image, which the course does not read: convert it to PNG"),
    ],
)
def test_unusable_images_are_named_with_the_reason(tmp_path, name, content, reason):
    root = _make_root(tmp_path)
    bad = root / "validation" / "benign" / name
    if content == "truncate":
        buffer = io.BytesIO()
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(buffer, "PNG")
        bad.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    elif content == "ppm":  # a PPM named .png: content, not the name, decides
        _save(bad, fmt="PPM")
    else:
        bad.write_bytes(content)
    message = _problem(root, reason)
    assert str(bad) in message


@pytest.mark.parametrize("mode, words", [("L", "greyscale"), ("RGBA", "alpha channel dropped"),
                                         ("P", "palette"), ("I;16", "16-bit"), ("LA", "greyscale with alpha")])  # fmt: skip
def test_other_colour_modes_are_converted_and_reported(tmp_path, mode, words):
    root = _make_root(tmp_path)
    _save(root / "train" / "benign" / "odd.png", mode=mode)
    splits = pipeline.load_splits(root, image_size=8, verbose=False)
    assert any(words in n and "converted 1 image(s) to RGB" in n for n in splits.notes), splits.notes
    images = [x for x, _ in splits.train]
    assert all(x.shape == (8, 8, 3) for x in images) and len(images) == 5


def test_uppercase_extensions_and_jpeg_are_images(tmp_path):
    root = _make_root(tmp_path)
    _save(root / "train" / "benign" / "UPPER.PNG")
    _save(root / "train" / "benign" / "photo.JPEG", fmt="JPEG")
    scan = data.scan_folder(root)
    assert scan.counts["train"]["benign"] == 4


def test_problems_are_listed_together(tmp_path):
    root = _make_root(tmp_path)
    (root / "train" / "benign" / "a.txt").write_text("x")
    (root / "test" / "malignant" / "b.png").write_bytes(b"")
    message = _problem(root, "2 problem(s)")
    assert "a.txt" in message and "b.png" in message


def test_medmnist_adapter_maps_breastmnist_label_0_to_malignant(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {}
    for key, n in (("train", 6), ("val", 2), ("test", 3)):
        arrays[f"{key}_images"] = rng.integers(0, 255, (n, 28, 28), dtype=np.uint8)
        arrays[f"{key}_labels"] = np.array([[i % 2] for i in range(n)], dtype=np.uint8)
    npz = tmp_path / "breastmnist.npz"
    np.savez(npz, **arrays)
    out = adapters.from_medmnist_npz(npz, tmp_path / "course")
    scan = data.scan_folder(out)
    assert scan.counts["train"] == {"benign": 3, "malignant": 3}
    assert scan.counts["validation"] == {"benign": 1, "malignant": 1}
    # train image 0 has label 0, which in BreastMNIST means malignant
    first = np.asarray(Image.open(out / "train" / "malignant" / "train_00000.png"))
    assert np.array_equal(first, arrays["train_images"][0])
    assert any("greyscale" in n for n in scan.notes)
    with pytest.raises(data.DataError, match="which label is malignant"):
        np.savez(tmp_path / "pneumoniamnist.npz", **arrays)
        adapters.from_medmnist_npz(tmp_path / "pneumoniamnist.npz", tmp_path / "x")


def test_label_folder_adapter_with_and_without_splits(tmp_path):
    src = tmp_path / "pcam_like"
    for split in ("train", "valid"):
        for label in ("0", "1"):
            for i in range(3):
                _save(src / split / label / f"p{i}.png")
    out = adapters.from_label_folders(src, tmp_path / "course")
    scan = data.scan_folder(out)
    assert scan.counts == {s: {"benign": 3, "malignant": 3} for s in ("train", "validation")}
    flat = tmp_path / "flat"
    for label in ("0", "1"):
        for i in range(40):
            _save(flat / label / f"img{i:03d}.png", size=(4, 4))
    out = adapters.from_label_folders(flat, tmp_path / "course2", link=False)
    scan = data.scan_folder(out, require_test=True)
    assert sum(sum(c.values()) for c in scan.counts.values()) == 80
    assert all(sum(c.values()) > 0 for c in scan.counts.values())
    with pytest.raises(data.DataError, match="no 1/ folder"):
        (tmp_path / "bad" / "0").mkdir(parents=True)
        adapters.from_label_folders(tmp_path / "bad", tmp_path / "x")


def test_real_pcam_folder_loads(shared_data):
    splits = pipeline.load_splits(shared_data / "pcam", image_size=32, batch_size=64, verify=False, verbose=False)
    assert splits.counts["train"] == {"benign": 10000, "malignant": 10000}
    assert splits.test is None
    images, labels = next(iter(splits.validation))
    assert images.shape == (64, 32, 32, 3)


def test_real_breastmnist_adapter(shared_data, tmp_path):
    out = adapters.from_medmnist_npz(shared_data / "breastmnist" / "BreastMNIST.npz", tmp_path / "breast")
    scan = data.scan_folder(out)
    totals = {s: sum(c.values()) for s, c in scan.counts.items()}
    assert totals == {"train": 546, "validation": 78, "test": 156}
    labels = np.load(shared_data / "breastmnist" / "BreastMNIST.npz")["train_labels"].reshape(-1)
    assert scan.counts["train"]["malignant"] == int((labels == 0).sum())
