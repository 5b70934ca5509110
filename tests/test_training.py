"""Pipeline, training recipe, atomic checkpoints, resume, and predict - on tiny models and images."""

import csv
import json
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import roc_auc_score

from cancer_course import audit, pipeline, training
from cancer_course.inference import load_course_model, predict_images


def _tiny_model(output="softmax", size=16):
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    units, act = (2, "softmax") if output == "softmax" else (1, "sigmoid")
    return keras.Model(inputs, keras.layers.Dense(units, activation=act)(x))


@pytest.fixture(scope="module")
def image_files(tmp_path_factory):
    """12 bright 'malignant' and 12 dark 'benign' PNGs: learnable in a few steps."""
    folder = tmp_path_factory.mktemp("imgs")
    rng = np.random.default_rng(0)
    paths, labels = [], []
    for i in range(24):
        label = i % 2
        base = 40 + 150 * label
        arr = np.clip(rng.normal(base, 20, (20, 20, 3)), 0, 255).astype("uint8")
        path = folder / f"{i:02d}.png"
        Image.fromarray(arr).save(path)
        paths.append(str(path))
        labels.append(label)
    return paths, labels


def test_balanced_class_weights_match_the_formula():
    assert training.balanced_class_weights({0: 400, 1: 900}) == {0: 1.625, 1: 0.722}
    assert training.balanced_class_weights([0, 1, 1, 1]) == {0: 2.0, 1: 0.667}
    with pytest.raises(ValueError, match="there are no benign images"):
        training.balanced_class_weights({0: 0, 1: 5})
    with pytest.raises(ValueError, match="there are no malignant images"):
        training.balanced_class_weights([0, 0, 0])  # a class that never appears is empty too
    assert training.balanced_class_weights is audit.balanced_class_weights  # one definition


def test_loss_and_metrics_match_the_output():
    assert isinstance(training.loss_for("sigmoid"), keras.losses.BinaryCrossentropy)
    assert isinstance(training.loss_for("softmax"), keras.losses.CategoricalCrossentropy)
    assert isinstance(training.loss_for("softmax", focal=True), keras.losses.CategoricalFocalCrossentropy)
    with pytest.raises(ValueError, match="'tanh'"):
        training.loss_for("tanh")
    assert training.output_kind(_tiny_model("sigmoid")) == "sigmoid"
    assert training.output_kind(_tiny_model("softmax")) == "softmax"


def test_softmax_auc_metric_is_the_malignant_auc():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    p1 = np.clip(0.3 * y + rng.uniform(0, 0.7, 200), 0, 1)
    auc, precision, recall = training.metrics_for("softmax")[1:]
    onehot = np.eye(2)[y]
    probs = np.stack([1 - p1, p1], axis=1)
    for m in (auc, precision, recall):
        m.update_state(onehot, probs)
    assert float(auc.result()) == pytest.approx(roc_auc_score(y, p1), abs=0.01)
    predicted = p1 >= 0.5
    assert float(precision.result()) == pytest.approx((predicted & (y == 1)).sum() / predicted.sum(), abs=1e-6)
    assert float(recall.result()) == pytest.approx((predicted & (y == 1)).sum() / (y == 1).sum(), abs=1e-6)


def test_pipeline_shapes_labels_and_range(image_files):
    paths, labels = image_files
    ds = pipeline.from_files(paths, labels, 16, batch_size=8, output="softmax")
    x, y = next(iter(ds))
    assert x.shape == (8, 16, 16, 3) and y.shape == (8, 2)
    assert 0.0 <= float(x.numpy().min()) and float(x.numpy().max()) <= 1.0
    np.testing.assert_array_equal(y.numpy().argmax(1), labels[:8])
    _, y1 = next(iter(pipeline.from_files(paths, labels, 16, batch_size=8, output="sigmoid")))
    assert y1.shape == (8, 1)
    with pytest.raises(ValueError, match="3 image paths but 2 labels"):
        pipeline.from_files(paths[:3], labels[:2], 16)


def test_augmentation_strength():
    images = np.random.default_rng(0).uniform(0, 1, (4, 24, 24, 3)).astype("float32")
    off = pipeline.augmentation_layers(0.0)
    assert off.layers == []
    aug = pipeline.augmentation_layers(1.0, seed=3)
    assert [layer.name for layer in aug.layers] == ["flip", "rotation", "shift", "shear", "zoom"]
    out = np.asarray(aug(images, training=True))
    assert out.shape == images.shape and not np.allclose(out, images)
    assert out.min() >= 0.0 and out.max() <= 1.0 + 1e-6
    np.testing.assert_allclose(np.asarray(aug(images, training=False)), images)
    with pytest.raises(ValueError, match="strength"):
        pipeline.augmentation_layers(-1)


def test_fused_augmentation_strength_and_training_flag():
    images = np.random.default_rng(0).uniform(0, 1, (4, 24, 24, 3)).astype("float32")
    assert pipeline.fast_augmentation(0.0).layers == []
    aug = pipeline.fast_augmentation(1.0, seed=3)
    assert [layer.name for layer in aug.layers] == ["affine"]
    out = np.asarray(aug(images, training=True))
    assert out.shape == images.shape and not np.allclose(out, images)
    assert out.min() >= 0.0 and out.max() <= 1.0 + 1e-6
    np.testing.assert_allclose(np.asarray(aug(images, training=False)), images)
    assert np.asarray(pipeline.RandomAffine(1.0, seed=0)(images[0])).shape == (24, 24, 3)
    with pytest.raises(ValueError, match="strength"):
        pipeline.fast_augmentation(-1)


def test_fused_augmentation_with_no_strength_left_only_flips():
    images = np.random.default_rng(1).uniform(0, 1, (16, 12, 12, 3)).astype("float32")
    out = np.asarray(pipeline.RandomAffine(1e-9, seed=0)(images))
    same = [np.allclose(o, i, atol=1e-5) for o, i in zip(out, images)]
    flipped = [np.allclose(o, i[:, ::-1], atol=1e-5) for o, i in zip(out, images)]
    assert all(s or f for s, f in zip(same, flipped))
    assert any(same) and any(flipped)


def test_fused_augmentation_draws_the_reference_ranges():
    m = np.asarray(pipeline.RandomAffine(1.0, seed=0).random_matrices(4000, 96.0, 96.0))
    assert m.shape == (4000, 8) and np.all(m[:, 6:] == 0)
    det = np.abs(m[:, 0] * m[:, 4] - m[:, 1] * m[:, 3])  # zoom^2 * (1 - shear_x * shear_y)
    assert det.min() >= 0.8**2 * 0.96 - 1e-4 and det.max() <= 1.2**2 * 1.04 + 1e-4
    assert det.min() < 0.7 and det.max() > 1.4  # the whole zoom range is used
    centre = 47.5  # the centre of the output is read from the centre of the input, shifted
    shift_x = m[:, 0] * centre + m[:, 1] * centre + m[:, 2] - centre
    shift_y = m[:, 3] * centre + m[:, 4] * centre + m[:, 5] - centre
    for shift in (shift_x, shift_y):
        assert np.abs(shift).max() <= 0.2 * 96 + 1e-3 and np.abs(shift).max() > 0.18 * 96
    flips = np.sign(m[:, 0] * m[:, 4] - m[:, 1] * m[:, 3])  # a flip reverses orientation
    assert 0.45 < np.mean(flips < 0) < 0.55


def test_fused_augmentation_is_repeatable_in_tf_data_and_saves_in_a_model(tmp_path):
    import tensorflow as tf

    images = np.random.default_rng(2).uniform(0, 1, (4, 16, 16, 3)).astype("float32")

    def batches(seed):
        aug = pipeline.fast_augmentation(1.0, seed=seed)
        ds = tf.data.Dataset.from_tensors(images).repeat(2).map(lambda x: aug(x, training=True))
        return [b.numpy() for b in ds]

    first, again = batches(7), batches(7)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.allclose(first[0], first[1])  # a new draw every batch
    model = pipeline.with_augmentation(_tiny_model(), pipeline.fast_augmentation(1.0, seed=0))
    model.save(tmp_path / "augmented.keras")
    loaded = keras.saving.load_model(tmp_path / "augmented.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6)


def _fit(paths, labels, tmp_path, epochs, resume=False, extra=()):
    keras.utils.set_random_seed(0)
    ds = pipeline.from_files(paths, labels, 16, batch_size=8, shuffle=True, seed=0)
    model = training.compile_model(_tiny_model(), learning_rate=0.05)
    return training.fit(model, ds, ds, epochs=epochs, save_path=tmp_path / "m.keras",
                        log_path=tmp_path / "log.csv", resume=resume, verbose=0, callbacks_extra=list(extra))


class _Interrupt(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt


def test_interrupted_training_resumes_with_log_intact(image_files, tmp_path):
    paths, labels = image_files
    with pytest.raises(KeyboardInterrupt):
        _fit(paths, labels, tmp_path, epochs=4, extra=[_Interrupt()])
    assert json.loads((tmp_path / "m.state.json").read_text())["epoch"] == 2
    assert load_course_model(tmp_path / "m.keras") is not None
    model, history = _fit(paths, labels, tmp_path, epochs=4, resume=True)
    assert history.epoch == [2, 3]
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2, 3]
    assert [float(r["learning_rate"]) for r in rows] == pytest.approx([0.05 * 0.9**e for e in range(4)], rel=1e-5)
    assert not list(tmp_path.glob("*.partial*"))


def test_resume_without_a_run_says_what_to_do(image_files, tmp_path):
    with pytest.raises(FileNotFoundError, match="Train once without --resume"):
        _fit(*image_files, tmp_path, epochs=2, resume=True)


def test_failed_save_keeps_the_previous_model(tmp_path, monkeypatch):
    good = _tiny_model()
    target = tmp_path / "best.keras"
    training._atomic_save(good, target)
    before = target.read_bytes()

    def broken_save(self, path, *a, **k):
        open(path, "wb").write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(keras.Model, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        training._atomic_save(_tiny_model(), target)
    assert target.read_bytes() == before


def test_seeded_runs_repeat(image_files, tmp_path):
    paths, labels = image_files
    losses = []
    for run in range(2):
        _, history = _fit(paths, labels, tmp_path / str(run), epochs=2)
        losses.append(history.history["loss"])
    assert losses[0] == losses[1]


def test_predict_reports_bad_files_and_predicts_the_rest(image_files, tmp_path):
    paths, labels = image_files
    model = _tiny_model()
    model.save(tmp_path / "model.keras")
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "cut.png").write_bytes(open(paths[0], "rb").read()[:60])
    Image.fromarray(np.zeros((20, 20), dtype="uint16") + 3000).save(tmp_path / "deep.png")
    args = [paths[0], str(tmp_path / "notes.txt"), str(tmp_path / "missing.png"), str(tmp_path / "empty.png"),
            str(tmp_path / "cut.png"), str(tmp_path / "deep.png"), paths[1]]
    results = predict_images(load_course_model(tmp_path / "model.keras"), args)
    assert [r.error is None for r in results] == [True, False, False, False, False, True, True]
    for r in results:
        if r.error:
            assert r.path in r.error or "does not exist" in r.error
        else:
            assert r.label in ("Benign", "Malignant") and 0.0 <= r.probability_malignant <= 1.0
    cli = subprocess.run([sys.executable, "-m", "cancer_course", "predict", *args, "--model",
                          str(tmp_path / "model.keras"), "--json"], capture_output=True, text=True)
    assert cli.returncode == 1
    out = json.loads(cli.stdout)
    assert [o["path"] for o in out] == args
    assert set(out[0]) == {"path", "label", "probability_malignant"}
    cli = subprocess.run([sys.executable, "-m", "cancer_course", "predict", paths[0], "--model",
                          str(tmp_path / "model.keras")], capture_output=True, text=True)
    assert cli.returncode == 0
    assert cli.stdout.startswith(f"{paths[0]}: Prediction: ") and "(Confidence: " in cli.stdout


def test_predict_rejects_a_file_that_is_not_a_course_model(image_files, tmp_path):
    fake = tmp_path / "model.keras"
    fake.write_text("hello")
    cli = subprocess.run([sys.executable, "-m", "cancer_course", "predict", image_files[0][0], "--model", str(fake)],
                         capture_output=True, text=True)
    assert cli.returncode == 2
    assert f"{fake} is not a Keras 3 .keras model file" in cli.stderr
    assert "Traceback" not in cli.stderr


def _train_cli(*args, prelude=""):
    code = prelude + "import sys\nfrom cancer_course.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    return subprocess.run([sys.executable, "-c", code, "train", *map(str, args)], capture_output=True, text=True)


def test_train_command_writes_model_log_and_plots_and_resumes(tiny_root, tmp_path):
    common = ["--profile", "smoke", "--dataset-path", tiny_root, "--seed", "0", "--batch-size", "16",
              "--results-dir", tmp_path, "--save-path", tmp_path / "model.keras"]
    run = _train_cli("--epochs", "1", *common)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Class weights: {0: 1.0, 1: 1.0}" in run.stdout
    assert f"Best model: {tmp_path / 'model.keras'}" in run.stdout
    for name in ("model.keras", "logs/training_log.csv", "plots/complete_training_history.png",
                 "plots/accuracy.png", "plots/loss.png", "plots/auc.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    run = _train_cli("--epochs", "2", "--resume", *common)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Resuming from epoch 1 of 2" in run.stdout
    rows = list(csv.DictReader(open(tmp_path / "logs" / "training_log.csv")))
    assert [int(r["epoch"]) for r in rows] == [0, 1]


def test_train_command_names_a_bad_dataset(tmp_path):
    (tmp_path / "train" / "benign").mkdir(parents=True)
    run = _train_cli("--profile", "smoke", "--dataset-path", tmp_path, "--results-dir", tmp_path / "r")
    assert run.returncode == 2
    assert str(tmp_path) in run.stderr and "Traceback" not in run.stderr


def test_mirrored_strategy_over_two_logical_cpus(tiny_root, tmp_path):
    prelude = ("import tensorflow as tf\n"
               "cpu = tf.config.list_physical_devices('CPU')[0]\n"
               "tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)\n")
    run = _train_cli("--profile", "smoke", "--dataset-path", tiny_root, "--epochs", "1", "--batch-size", "8",
                     "--strategy", "mirrored", "--results-dir", tmp_path, "--save-path", tmp_path / "m.keras",
                     prelude=prelude)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "MirroredStrategy: 2 replicas, global batch 16" in run.stdout
    assert load_course_model(tmp_path / "m.keras").output_shape == (None, 2)


def test_early_stopping_and_the_checkpoint_only_when_asked(tmp_path):
    def kinds(**options):
        return [type(c) for c in training.make_callbacks(tmp_path / "m.keras", tmp_path / "log.csv", **options)]

    recipe = training.make_callbacks(tmp_path / "m.keras", tmp_path / "log.csv", patience=4)
    stopping = [c for c in recipe if isinstance(c, keras.callbacks.EarlyStopping)]
    assert len(stopping) == 1 and stopping[0].restore_best_weights and stopping[0].patience == 4  # the default
    assert training.AtomicCheckpoint in kinds()
    assert keras.callbacks.EarlyStopping not in kinds(early_stopping=False)
    assert keras.callbacks.LearningRateScheduler in kinds(early_stopping=False)
    no_file = [type(c) for c in training.make_callbacks(None, tmp_path / "log.csv", early_stopping=False)]
    assert training.AtomicCheckpoint not in no_file and keras.callbacks.CSVLogger in no_file
    with pytest.raises(ValueError, match="resume=True needs the save_path"):
        training.fit(None, None, None, epochs=1, save_path=None, log_path=tmp_path / "log.csv", resume=True)


def test_without_early_stopping_the_last_epoch_is_kept(image_files, tmp_path):
    ds = pipeline.from_files(*image_files, image_size=16, batch_size=8, shuffle=True, seed=0)
    model = training.compile_model(_tiny_model(), learning_rate=0.05)
    model, history = training.fit(model, ds, ds, epochs=3, save_path=None, log_path=tmp_path / "log.csv",
                                  early_stopping=False, patience=1, verbose=0)
    assert len(history.history["loss"]) == 3  # patience 1 would have stopped a flat curve; nothing stops here
    assert not list(tmp_path.glob("*.keras"))  # no checkpoint was written


def test_train_init_loads_matching_layers_and_reports_them(tiny_root, tmp_path):
    from cancer_course.model import from_profile

    source = from_profile("smoke", seed=5, input_shape=(32, 32, 3))
    source.save(tmp_path / "source.keras")
    run = _train_cli("--profile", "smoke", "--dataset-path", tiny_root, "--epochs", "1", "--batch-size", "16",
                     "--init", tmp_path / "source.keras", "--results-dir", tmp_path, "--save-path", tmp_path / "m.keras")
    assert run.returncode == 0, run.stderr[-2000:]
    assert f"loaded 54 of 54 layers with weights from {tmp_path / 'source.keras'}" in run.stdout
    assert "Training length: 1 epoch at most (--epochs), 2 steps each" in run.stdout
    summary = json.loads((tmp_path / "logs" / "run.json").read_text())
    assert summary["init"] == str(tmp_path / "source.keras") and "warning" in summary


def test_train_init_refuses_what_it_cannot_use(tiny_root, tmp_path, capsys):
    from cancer_course import transfer
    from cancer_course.cli import main

    common = ["train", "--profile", "smoke", "--dataset-path", str(tiny_root), "--epochs", "1",
              "--results-dir", str(tmp_path), "--save-path", str(tmp_path / "m.keras")]
    assert main([*common, "--init", str(tmp_path / "missing.keras")]) == 2
    assert "missing.keras: no such file" in capsys.readouterr().err
    (tmp_path / "other.keras").write_bytes(b"")
    assert main([*common, "--init", str(tmp_path / "other.keras"), "--resume"]) == 2
    assert "use one of them" in capsys.readouterr().err
    other = transfer.with_new_head(transfer.imagenet_backbone((32, 32, 3)))
    other.save(tmp_path / "other.keras")
    assert main([*common, "--init", str(tmp_path / "other.keras")]) == 2
    err = capsys.readouterr().err
    assert "another architecture" in err and "Traceback" not in err


def test_training_length_follows_the_data():
    from cancer_course.config import PROFILES
    from cancer_course.training import training_length

    laptop = PROFILES["laptop"]
    assert training_length(1600, 32, laptop)[:2] == (20, 10)  # the embedded set: the profile as it is
    epochs, patience, why = training_length(390, 32, laptop)  # a learner's small folder: 13 steps per epoch
    assert epochs == 77 and patience == 38 and "1,000 steps" in why and "--epochs" in why
    assert training_length(390, 32, laptop, epochs=30)[:2] == (30, 10)  # --epochs is the learner's bound
    assert training_length(5000, 32, laptop)[:2] == (20, 10)  # never fewer epochs than the profile's
    assert training_length(390, 32, None)[0] == 100


def test_learning_warning_says_when_the_model_has_not_learned():
    from cancer_course.training import learning_warning

    y = np.array([0, 0, 1, 1, 0, 1])
    collapsed = learning_warning(y, np.full(6, 0.3))
    assert "calls every one of the 6 validation images benign" in collapsed and "--init" in collapsed
    assert "barely better than chance" in learning_warning(y, np.array([0.2, 0.8, 0.3, 0.7, 0.6, 0.4]))
    assert learning_warning(y, np.array([0.1, 0.2, 0.9, 0.8, 0.3, 0.7])) is None


def test_a_non_finite_loss_stops_training_and_keeps_the_last_good_checkpoint(image_files, tmp_path):
    from cancer_course.errors import TrainingError
    from cancer_course.inference import load_course_model

    save = tmp_path / "m.keras"
    saved = {}

    class BreakTheWeights(keras.callbacks.Callback):
        """After a good first epoch, NaN in the head's kernel: the next batch's loss is NaN."""

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
            if epoch == 1:  # epoch 1's files, as the checkpoint wrote them
                saved.update({p.name: p.read_bytes() for p in (save, training.last_path(save))})

        def on_train_batch_begin(self, batch, logs=None):
            if self.epoch == 1 and batch == 1:
                kernel = self.model.layers[-1].kernel
                kernel.assign(np.full(kernel.shape, np.nan, dtype="float32"))

    ds = pipeline.from_files(*image_files, image_size=16, batch_size=8, shuffle=True, seed=0)  # 3 batches
    model = training.compile_model(_tiny_model(), learning_rate=0.05)
    with pytest.raises(TrainingError) as info:
        training.fit(model, ds, ds, epochs=4, save_path=save, log_path=tmp_path / "log.csv", verbose=0,
                     callbacks_extra=[BreakTheWeights()])
    message = str(info.value)
    assert "stopped at epoch 2, batch 2: the loss became nan" in message
    assert f"last good model is kept: {save}" in message and "(epoch 1)" in message
    assert "lower learning rate (e.g. 0.005 instead of 0.05)" in message and "cancer-course audit" in message
    assert saved and {name: (tmp_path / name).read_bytes() for name in saved} == saved  # not overwritten
    assert training.read_state(save)["epoch"] == 1
    for path in (save, training.last_path(save)):
        weights = load_course_model(path).get_weights()
        assert weights and all(np.isfinite(w).all() for w in weights)
    assert len((tmp_path / "log.csv").read_text().strip().splitlines()) == 3  # header, epoch 1, the stopped epoch 2


def test_without_a_checkpoint_the_message_says_nothing_was_saved():
    message = training._non_finite_message((0, 4, float("inf")), None, 1e-3)
    assert message.startswith("Training stopped at epoch 1, batch 5: the loss became inf")
    assert "no model was saved" in message and "0.0001 instead of 0.001" in message
