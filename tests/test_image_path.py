"""One image path: the same odd files get the same verdict and the same pixels in audit, train, evaluate and predict.

A tiny course-layout folder gets greyscale, 16-bit, CMYK, RGBA, palette, an uppercase extension,
TIFF, WebP and a tile of another size (all usable), and a truncated, a corrupt, an empty, an
oversized and a PPM-in-disguise file, a nested folder, a linked folder and a text file (all
refused). Every command is run in-process on it (``cancer_course.cli.main`` for ``train``, the
functions the other commands call), and each file's acceptance, its message and its pixels are
compared across them, and against pixels computed here from what was written.
"""

from __future__ import annotations

import shutil

import keras
import numpy as np
import pytest
from PIL import Image

from cancer_course import audit, cli, data, evaluation, images, inference, pipeline
from cancer_course.synth import generate_dataset

SIZE = 32
MAX_PIXELS = 60 * 60  # the oversized file is 64x64; every usable file is smaller


def _rgb(seed: int, size=(SIZE, SIZE)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)


def _write_usable(folder, seed: int) -> dict:
    """Every odd-but-usable file, and the (H, W, 3) uint8 pixels the course must read from each."""
    folder.mkdir(parents=True, exist_ok=True)
    rgb = _rgb(seed)
    expected = {}
    grey = rgb[..., 0]
    Image.fromarray(grey).save(folder / "grey.png")
    expected["grey.png"] = np.repeat(grey[..., None], 3, axis=-1)
    sixteen = (np.arange(SIZE * SIZE, dtype=np.uint32).reshape(SIZE, SIZE) * 61 % 65536).astype(np.uint16)
    Image.fromarray(sixteen).save(folder / "sixteen.png")
    assert Image.open(folder / "sixteen.png").mode in ("I;16", "I"), "the 16-bit PNG must stay 16-bit"
    expected["sixteen.png"] = np.repeat(np.round(sixteen / 257.0).astype(np.uint8)[..., None], 3, axis=-1)
    Image.fromarray(rgb).convert("CMYK").save(folder / "cmyk.jpg", quality=95)
    with Image.open(folder / "cmyk.jpg") as im:
        assert im.mode == "CMYK"
        expected["cmyk.jpg"] = np.asarray(im.convert("RGB"))  # Pillow's CMYK conversion is the rule
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 90, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(folder / "rgba.png")
    expected["rgba.png"] = rgb  # alpha dropped
    palette = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    palette.save(folder / "palette.gif")
    expected["palette.gif"] = np.asarray(palette.convert("RGB"))
    Image.fromarray(rgb).save(folder / "UPPER.PNG")
    expected["UPPER.PNG"] = rgb
    Image.fromarray(rgb).save(folder / "scan.tif")
    expected["scan.tif"] = rgb
    Image.fromarray(rgb).save(folder / "tile.webp", lossless=True)
    expected["tile.webp"] = rgb
    other = _rgb(seed + 1, size=(48, 40))
    Image.fromarray(other).save(folder / "other_size.png")
    expected["other_size.png"] = other
    return {folder / name: pixels for name, pixels in expected.items()}


def _write_refused(folder) -> list:
    """Image-named files that no command may use, each with a verdict of its own."""
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(_rgb(7)).save(folder / "whole.png")
    raw = (folder / "whole.png").read_bytes()
    (folder / "whole.png").unlink()
    (folder / "truncated.png").write_bytes(raw[: len(raw) // 2])
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8 this is not a jpeg at all")
    (folder / "empty.png").write_bytes(b"")
    Image.fromarray(_rgb(8, size=(64, 64))).save(folder / "oversized.png")
    Image.fromarray(_rgb(9)).save(folder / "disguised.png", format="PPM")
    return [folder / n for n in ("truncated.png", "corrupt.jpg", "empty.png", "oversized.png", "disguised.png")]


@pytest.fixture()
def small_limit(monkeypatch):
    monkeypatch.setattr(images, "MAX_PIXELS", MAX_PIXELS)


@pytest.fixture(scope="module")
def usable_root(tmp_path_factory):
    """A tiny embedded dataset, with the odd-but-usable files in every split."""
    root = generate_dataset(tmp_path_factory.mktemp("odd") / "data", image_size=SIZE, n_train=16, n_validation=8,
                            n_test=8, seed=0)
    expected = {}
    for split, cls, seed in (("train", "benign", 1), ("validation", "malignant", 2), ("test", "benign", 3),
                             ("test", "malignant", 4)):
        expected.update(_write_usable(root / split / cls, seed))
    return root, expected


@pytest.fixture(scope="module")
def model_path(usable_root, tmp_path_factory):
    """The `train` command, in-process, with a tiny model: it must accept every odd-but-usable file."""
    import cancer_course.model as course_model

    def tiny(profile=None, output="softmax", seed=None, input_shape=(SIZE, SIZE, 3), **kwargs):
        inputs = keras.Input(input_shape, name="image")
        x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
        x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
        return keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="head_output")(x))

    out = tmp_path_factory.mktemp("run")
    original, course_model.from_profile = course_model.from_profile, tiny
    try:
        code = cli.main(["train", "--profile", "smoke", "--dataset-path", str(usable_root[0]), "--epochs", "1",
                         "--batch-size", "8", "--image-size", str(SIZE), "--seed", "0", "--augmentation", "0",
                         "--results-dir", str(out), "--save-path", str(out / "model.keras")])
    finally:
        course_model.from_profile = original
    assert code == 0
    return out / "model.keras"


def test_every_path_reads_the_same_pixels(usable_root, model_path):
    _, expected = usable_root
    paths = sorted(expected, key=str)
    for path in paths:  # the reader itself, against what was written
        np.testing.assert_array_equal(images.read_rgb(path), expected[path], err_msg=str(path))
        assert images.inspect(path).ok
    want = np.stack([images.resize_and_scale(expected[p], SIZE).numpy() for p in paths])
    names = [str(p) for p in paths]
    # train: the pipeline `train` feeds the model
    (trained, labels), = pipeline.from_files(names, [0] * len(names), SIZE, len(names), cache=False).take(1)
    np.testing.assert_array_equal(trained.numpy(), want)
    # data.decode_image (the lessons' name) and inference.read_image (lessons 11 and 12)
    for i, name in enumerate(names):
        np.testing.assert_array_equal(data.decode_image(name, SIZE).numpy(), want[i], err_msg=name)
        np.testing.assert_array_equal(inference.read_image(name, SIZE), want[i], err_msg=name)
    # predict and evaluate: the streaming decoder both use
    streamed = np.concatenate([batch.numpy() for batch, _ in inference._decoded_batches(names, SIZE, 5)])
    np.testing.assert_array_equal(streamed, want)
    # audit: its thumbnails are made from the same pixels
    for path in paths:
        np.testing.assert_array_equal(audit.examine_file(str(path))["thumb"],
                                      audit.thumbnail(Image.fromarray(expected[path])), err_msg=str(path))
    # and the model sees the same thing through predict and evaluate
    model = inference.load_course_model(model_path)
    y, p_eval, eval_paths = evaluation.predict_split(model, usable_root[0], "test")
    predicted = {r.path: r for r in inference.predict_images(model, eval_paths)}
    assert all(r.error is None for r in predicted.values())
    np.testing.assert_allclose([predicted[q].probability_malignant for q in eval_paths], p_eval, atol=1e-5)
    odd = [i for i, q in enumerate(eval_paths) if q in names]
    assert len(odd) == 2 * len(expected) // 4  # every odd file of the test split was evaluated
    direct = evaluation._probabilities(model, want[[names.index(eval_paths[i]) for i in odd]])
    np.testing.assert_allclose(p_eval[odd], direct, atol=1e-5)


@pytest.fixture()
def refused_root(usable_root, tmp_path, small_limit):
    root = tmp_path / "data"
    shutil.copytree(usable_root[0], root)
    refused = _write_refused(root / "test" / "malignant")  # with the layout problems: 8, all listed
    _write_usable(root / "train" / "benign" / "nested", 5)
    (root / "validation" / "benign" / "linked").symlink_to(root / "train" / "malignant", target_is_directory=True)
    (root / "validation" / "malignant" / "notes.txt").write_text("not an image")
    layout = [f"nested folder {root / 'train' / 'benign' / 'nested'}",
              f"linked folder {root / 'validation' / 'benign' / 'linked'}",
              f"{root / 'validation' / 'malignant' / 'notes.txt'}: not an image file"]
    return root, refused, layout


def test_every_command_refuses_the_same_files_with_the_same_words(refused_root, usable_root, model_path, capsys):
    root, refused, layout = refused_root
    verdicts = {path: images.inspect(path) for path in refused}
    assert all(not v.ok for v in verdicts.values())
    assert [v.error.split(" (")[0].split(":")[0] for v in verdicts.values()][:3] == [
        "cannot be decoded", "cannot be decoded", "empty file"]
    assert "pixels an image may have" in verdicts[refused[3]].error and "PPM" in verdicts[refused[4]].error
    usable = [p for p in usable_root[1] if (root / p.relative_to(usable_root[0])).exists()]

    # audit: blocking, every refused file unreadable with the same reason, every layout problem named
    report = audit.audit(root, workers=1)
    assert {u["path"]: u["reason"] for u in report.unreadable} == {
        p.relative_to(root).as_posix(): verdicts[p].error for p in refused}
    for problem in layout:
        assert any(problem in line for line in report.layout_problems), problem
        assert any(problem in line for line in report.blocking), problem
    assert "No problems found" not in str(report)

    # train: refuses the folder, naming every refused file with the same message, and no usable file
    assert cli.main(["train", "--profile", "smoke", "--dataset-path", str(root), "--epochs", "1",
                     "--image-size", str(SIZE), "--results-dir", str(root.parent / "r")]) == 2
    said = capsys.readouterr().err
    assert "Traceback" not in said
    for path in refused:
        assert verdicts[path].message in said
    for problem in layout:
        assert problem in said
    assert not any(str(root / p.relative_to(usable_root[0])) in said for p in usable)

    # evaluate: the same refusal, in the same words
    with pytest.raises(data.DataError) as info:
        evaluation.predict_split(model_path, root, "test")
    for path in refused:
        assert verdicts[path].message in str(info.value)

    # predict: one row per file, in order; an error for exactly the refused ones, with the same message
    model = inference.load_course_model(model_path)
    folder = root / "test" / "malignant"
    listed = [str(p) for p in inference.expand_inputs([str(folder)])]
    assert sorted(listed) == sorted(str(p) for p in folder.iterdir())  # every image-named file is listed
    results = inference.predict_images(model, listed, batch_size=4)
    assert [r.path for r in results] == listed
    for r in results:
        if r.path in map(str, refused):
            assert r.error == verdicts[next(p for p in refused if str(p) == r.path)].message and r.label is None
        else:
            assert r.error is None and 0.0 <= r.probability_malignant <= 1.0
    text_file = inference.predict_images(model, [str(root / "validation" / "malignant" / "notes.txt")])[0]
    assert "not an image file" in text_file.error


def test_a_decoder_exception_is_a_verdict_not_a_traceback(tmp_path, monkeypatch):
    good = tmp_path / "good.png"
    Image.fromarray(_rgb(1)).save(good)
    from PIL import ImageFile

    real_load = ImageFile.ImageFile.load

    def exploding_load(self):
        if getattr(self, "filename", "").endswith("bomb.png"):
            raise MemoryError("the decoder ran out of memory")
        return real_load(self)

    Image.fromarray(_rgb(2)).save(tmp_path / "bomb.png")
    monkeypatch.setattr(ImageFile.ImageFile, "load", exploding_load)
    info = images.inspect(tmp_path / "bomb.png")
    assert info.error.startswith("cannot be decoded (the decoder ran out of memory)")
    assert images.inspect(good).ok
    assert audit.examine_file(str(tmp_path / "bomb.png"))["error"] == info.error


def test_a_class_folder_spelled_differently_is_named_not_called_imbalanced(usable_root, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(usable_root[0], root)
    (root / "validation" / "benign").rename(root / "validation" / "Benign")
    shutil.rmtree(root / "test" / "malignant")
    report = audit.audit(root, workers=1)
    spelled = (f"class folder {root / 'validation' / 'Benign'} is spelled 'Benign': class folders are lower-case; "
               "rename it to 'benign'")
    missing = f"missing class folder {root / 'test' / 'malignant'}"
    assert any(spelled in line for line in report.blocking)
    assert any(missing in line for line in report.blocking)
    assert not any("imbalanced" in line for line in report.problems)
    with pytest.raises(data.DataError) as info:
        data.scan_folder(root)
    assert spelled in str(info.value) and missing in str(info.value)


def test_predict_names_a_missing_path_and_a_folder_for_what_they_are(tmp_path):
    (tmp_path / "tiles" / "sub").mkdir(parents=True)
    Image.fromarray(_rgb(1)).save(tmp_path / "tiles" / "sub" / "a.png")
    (folder,) = inference.expand_inputs([str(tmp_path / "tiles")])
    assert "is a folder with no images" in folder.error and "--recursive" in folder.error
    assert [str(p) for p in inference.expand_inputs([str(tmp_path / "tiles")], recursive=True)] == [
        str(tmp_path / "tiles" / "sub" / "a.png")]
    assert images.inspect(tmp_path / "tiles").error.startswith("is a folder, not an image file")
    assert images.inspect(tmp_path / "nowhere").message == (f"{tmp_path / 'nowhere'}: does not exist: no file or "
                                                            "folder of that name; check the path")


def test_judging_files_and_auditing_need_no_tensorflow(usable_root):
    import subprocess
    import sys

    code = ("import sys\nfrom cancer_course import audit, images, labels\n"
            f"report = audit.audit({str(usable_root[0])!r}, workers=1)\n"
            "assert report.unreadable == [] and report.layout_problems == [], report\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]


def test_p_malignant_reads_softmax_and_sigmoid_outputs_one_way():
    from cancer_course.labels import p_malignant

    np.testing.assert_array_equal(p_malignant([[0.9, 0.1], [0.2, 0.8]]), [0.1, 0.8])
    np.testing.assert_array_equal(p_malignant([[0.3], [0.7]]), [0.3, 0.7])
    with pytest.raises(ValueError, match=r"\(N, 1\) or \(N, 2\) outputs; got shape \(2, 3\)"):
        p_malignant(np.zeros((2, 3)))
