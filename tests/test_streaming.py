"""Streaming predict: files, folders and patterns in; rows out a batch at a time; memory flat with the count."""

import csv
import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from PIL import Image

from cancer_course import inference

SIZE = 32  # the model's input; the files are 16 px, so each decoded image is 12 KB of float32


def _save_model(path, size=SIZE):
    """p(malignant) = sigmoid(12 * the image's mean grey level in [0, 1])."""
    inputs = keras.Input((size, size, 3))
    x = keras.layers.GlobalAveragePooling2D()(inputs)
    out = keras.layers.Dense(2, activation="softmax", name="head_output")(x)
    model = keras.Model(inputs, out)
    model.get_layer("head_output").set_weights([np.array([[-2.0, 2.0]] * 3, "float32"), np.zeros(2, "float32")])
    model.save(path)
    return path


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return _save_model(tmp_path_factory.mktemp("model") / "m.keras")


@pytest.fixture(scope="module")
def tiles(tmp_path_factory):
    """3,000 16-px PNGs img_0000 ... img_2999 (grey level i % 256) in one folder."""
    folder = tmp_path_factory.mktemp("tiles")
    for i in range(3000):
        Image.fromarray(np.full((16, 16, 3), i % 256, "uint8")).save(folder / f"img_{i:04d}.png")
    return folder


def _run(code, *args, timeout=120):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


def test_folders_patterns_and_files_in_order_with_error_rows(tmp_path, model_path):
    (tmp_path / "a" / "deep").mkdir(parents=True)
    for name, level in (("a/1.png", 0), ("a/2.jpg", 255), ("a/deep/3.png", 128), ("b_4.png", 64)):
        Image.fromarray(np.full((16, 16, 3), level, "uint8")).save(tmp_path / name)
    (tmp_path / "a" / "broken.png").write_bytes(b"not a png")
    (tmp_path / "a" / "notes.txt").write_text("not an image, not listed")
    (tmp_path / "a" / ".hidden.png").write_bytes(b"skipped")
    args = [tmp_path / "a", str(tmp_path / "b_*.png"), str(tmp_path / "none_*.png"), tmp_path / "missing.png"]
    flat = list(inference.expand_inputs(map(str, args)))
    names = [item.path if isinstance(item, inference.Prediction) else item for item in flat]
    assert names == [str(tmp_path / n) for n in ("a/1.png", "a/2.jpg", "a/broken.png", "b_4.png")] + \
        [str(tmp_path / "none_*.png"), str(tmp_path / "missing.png")]
    deep = list(inference.expand_inputs([str(tmp_path / "a")], recursive=True))
    assert str(tmp_path / "a" / "deep" / "3.png") in deep

    out = tmp_path / "out.csv"
    run = _run("import sys\nfrom cancer_course.cli import main\nsys.exit(main(sys.argv[1:]))",
               "predict", *args, "--model", model_path, "--output", out, "--batch-size", "2")
    assert run.returncode == 1, run.stderr  # some inputs failed
    with out.open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["path", "label", "probability_malignant", "error"]
    assert [r[0] for r in rows[1:]] == names
    by_name = {r[0]: r for r in rows[1:]}
    bright, dark = by_name[str(tmp_path / "a/2.jpg")], by_name[str(tmp_path / "a/1.png")]
    assert bright[1] == "Malignant" and float(bright[2]) > 0.99  # p = sigmoid(12 * grey level)
    assert float(dark[2]) == 0.5
    for name, why in ((tmp_path / "a/broken.png", "cannot be decoded"), (tmp_path / "missing.png", "does not exist"),
                      (tmp_path / "none_*.png", "no image file matches")):
        row = by_name[str(name)]
        assert row[1:3] == ["", ""] and str(name) in row[3] and why in row[3], row
    assert "6 image(s), 3 error(s)" in run.stderr and "images/s" in run.stderr


def test_jsonl_and_the_python_api_agree(tmp_path, model_path):
    for i in range(5):
        Image.fromarray(np.full((16, 16, 3), 50 * i, "uint8")).save(tmp_path / f"{i}.png")
    run = _run("import sys\nfrom cancer_course.cli import main\nsys.exit(main(sys.argv[1:]))",
               "predict", tmp_path, "--model", model_path, "--format", "jsonl", "--batch-size", "2")
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    api = inference.predict_images(inference.load_course_model(model_path), sorted(tmp_path.glob("*.png")))
    assert lines == [{"path": p.path, "label": p.label, "probability_malignant": p.probability_malignant,
                      "error": None} for p in api]
    assert sorted(p.probability_malignant for p in api) == [p.probability_malignant for p in api]  # brighter, higher


KILL_AFTER_THREE_BATCHES = """
import os, signal, sys
from cancer_course import inference
from cancer_course.cli import main

write, calls = inference.ResultWriter.write, []

def write_then_die(self, predictions):
    write(self, predictions)
    calls.append(len(predictions))
    if len(calls) == 3:  # the process dies here, as if killed mid-run: nothing gets a chance to flush or close
        os.kill(os.getpid(), signal.SIGKILL)

inference.ResultWriter.write = write_then_die
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_killed_run_leaves_a_valid_file_up_to_its_last_line(tmp_path, tiles, model_path, suffix):
    out = tmp_path / f"partial{suffix}"
    run = _run(KILL_AFTER_THREE_BATCHES, "predict", tiles, "--model", model_path, "--output", out,
               "--batch-size", "16")
    assert run.returncode == -9, run.stderr[-2000:]
    text = out.read_text(encoding="utf-8")
    assert text.endswith("\n")
    if suffix == ".csv":
        rows = list(csv.DictReader(text.splitlines()))
        assert list(rows[0]) == ["path", "label", "probability_malignant", "error"]
    else:
        rows = [json.loads(line) for line in text.splitlines()]
    assert len(rows) == 3 * 16  # three whole batches reached the file before the kill; no half line
    assert [r["path"] for r in rows] == [str(tiles / f"img_{i:04d}.png") for i in range(48)]
    assert all(0 <= float(r["probability_malignant"]) <= 1 for r in rows)


MEASURE = """
import os, sys, threading, time
from cancer_course import inference
from cancer_course.cli import main

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

model_path, pattern, out = sys.argv[1:4]
inference.predict_images(inference.load_course_model(model_path), sorted(__import__("glob").glob(pattern))[:64])
base, peak, running = rss(), [0], [True]

def sample():
    while running[0]:
        peak[0] = max(peak[0], rss())
        time.sleep(0.002)

thread = threading.Thread(target=sample)
thread.start()
code = main(["predict", pattern, "--model", model_path, "--output", out, "--batch-size", "32"])
running[0] = False
thread.join()
print("GROWTH", max(0, peak[0] - base), code)
"""


def _growth(tiles, model_path, pattern, out):
    run = _run(MEASURE, model_path, tiles / pattern, out)
    assert run.returncode == 0, run.stderr[-3000:]
    growth, code = run.stdout.split("GROWTH")[-1].split()
    assert code == "0"
    return int(growth)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_memory_does_not_grow_with_the_number_of_images(tiles, model_path, tmp_path):
    small = _growth(tiles, model_path, "img_0[0-4]*.png", tmp_path / "small.csv")  # 500 images
    large = _growth(tiles, model_path, "img_*.png", tmp_path / "large.csv")  # 3,000 images
    assert sum(1 for _ in open(tmp_path / "small.csv")) == 501 and sum(1 for _ in open(tmp_path / "large.csv")) == 3001
    stacked = 2500 * SIZE * SIZE * 3 * 4  # what holding the 2,500 extra decoded images would cost
    assert large - small < 0.25 * stacked, (f"memory grew by {small / 1e6:.1f} MB for 500 images and "
                                           f"{large / 1e6:.1f} MB for 3,000; stacking them would add {stacked / 1e6:.0f} MB")


def test_read_image_is_the_training_decoder_and_names_bad_files(tmp_path):
    from cancer_course.data import decode_image

    good = tmp_path / "g.png"
    Image.fromarray(np.arange(16 * 16 * 3, dtype="uint8").reshape(16, 16, 3)).save(good)
    np.testing.assert_array_equal(inference.read_image(good, 8), decode_image(str(good), 8).numpy())
    (tmp_path / "bad.png").write_bytes(b"no")
    with pytest.raises(ValueError, match="bad.png: cannot be decoded"):
        inference.read_image(tmp_path / "bad.png", 8)
    with pytest.raises(FileNotFoundError, match="gone.png: does not exist"):
        inference.read_image(tmp_path / "gone.png", 8)


def test_evaluate_streams_like_predict_and_reports_its_throughput(tmp_path, model_path, capsys):
    from cancer_course.cli import main
    from cancer_course.synth import generate_dataset

    root = generate_dataset(tmp_path / "data", image_size=16, n_train=8, n_validation=8, n_test=12, seed=0)
    js = tmp_path / "ev.json"
    assert main(["evaluate", "--model", str(model_path), "--dataset-path", str(root), "--out", str(tmp_path / "o"),
                 "--json", str(js), "--n-boot", "20", "--resize", "--batch-size", "5"]) == 0
    assert "images/s, batches of 5" in capsys.readouterr().out
    saved = json.loads(js.read_text())
    assert saved["throughput"]["images"] == 12 and saved["throughput"]["images_per_second"] > 0
    with open(tmp_path / "o" / "predictions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    streamed = inference.predict_images(inference.load_course_model(model_path), [r["path"] for r in rows])
    assert [float(r["p_malignant"]) for r in rows] == pytest.approx([p.probability_malignant for p in streamed],
                                                                    abs=2e-6)


def test_the_padded_last_batch_gives_the_same_probabilities(tmp_path, model_path):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(5):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype="uint8")).save(paths[-1])
    model = inference.load_course_model(model_path)
    in_twos = [(i.tolist(), p) for i, p in inference.iter_probabilities(model, paths, batch_size=2)]
    assert [i for i, _ in in_twos] == [[0, 1], [2, 3], [4]]  # the last batch, padded to 2, gives back 1
    np.testing.assert_allclose(np.concatenate([p for _, p in in_twos]),
                               next(inference.iter_probabilities(model, paths, batch_size=8))[1], atol=1e-6)
