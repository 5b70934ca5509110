"""GPU switches of `cancer-course train`, checked on a CPU: --mixed-precision and --jit build, train, save, reload."""

import json
import subprocess
import sys
import zipfile

import keras
import numpy as np
from train_cli import TINY, TRAIN

from cancer_course import training
from cancer_course.inference import load_course_model


def _train(tmp_path, root, *args, prelude=""):
    run = subprocess.run([sys.executable, "-c", prelude + TRAIN, "train", "--profile", "smoke", "--dataset-path",
                          str(root), "--epochs", "1", "--batch-size", "16", "--results-dir", str(tmp_path),
                          "--save-path", str(tmp_path / "m.keras"), *args], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    return run, json.loads((tmp_path / "logs" / "run.json").read_text())


def _tiny(size=16):
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="head_output")(x))


def test_mixed_precision_keeps_the_output_in_float32_and_survives_saving(tmp_path):
    before = keras.config.dtype_policy().name
    with training.precision(True):
        model = _tiny()
        assert model.get_layer("conv").compute_dtype == "float16"
        assert model.get_layer("head_output").compute_dtype == "float16"  # what Keras builds by itself
        fixed = training.float32_output(model)
    assert keras.config.dtype_policy().name == before  # the global policy comes back
    assert fixed.get_layer("head_output").compute_dtype == "float32" and fixed.output.dtype == "float32"
    assert fixed.get_layer("conv").compute_dtype == "float16" and fixed.get_layer("conv").variable_dtype == "float32"
    x = np.random.default_rng(0).uniform(size=(8, 16, 16, 3)).astype("float32")
    np.testing.assert_allclose(fixed.predict(x, verbose=0), model.predict(x, verbose=0), atol=2e-3)  # same weights
    training.compile_model(fixed, learning_rate=0.01)
    assert isinstance(fixed.optimizer, keras.optimizers.LossScaleOptimizer)
    logs = fixed.train_on_batch(x, keras.utils.to_categorical(np.arange(8) % 2, 2), return_dict=True)
    assert np.isfinite(logs["loss"])
    fixed.save(tmp_path / "mixed.keras")
    reloaded = keras.models.load_model(tmp_path / "mixed.keras", safe_mode=True)
    assert isinstance(reloaded.optimizer, keras.optimizers.LossScaleOptimizer)  # a resumed run keeps the scaling
    np.testing.assert_array_equal(reloaded.predict(x, verbose=0), fixed.predict(x, verbose=0))
    assert training.float32_output(fixed) is fixed  # nothing to do


def test_train_mixed_precision_on_the_smoke_model(tmp_path, tiny_root):
    run, record = _train(tmp_path, tiny_root, "--mixed-precision")
    assert record["mixed_precision"] is True and record["epochs_run"] == 1
    model = load_course_model(tmp_path / "m.keras")  # safe_mode=True
    assert model.get_layer("head_output").compute_dtype == "float32"
    assert model.get_layer("stem_conv").compute_dtype == "float16"
    p = model.predict(np.full((2, 32, 32, 3), 0.5, "float32"), verbose=0)
    assert p.dtype == np.float32 and np.allclose(p.sum(axis=1), 1.0, atol=1e-5)


def test_train_jit_compiles_with_xla_and_reloads(tmp_path, tiny_root):
    run, record = _train(tmp_path, tiny_root, "--jit", prelude=TINY)
    assert record["jit_compile"] is True and record["epochs_run"] == 1
    assert "note: --jit" not in run.stdout
    # saved with the model, so a resumed run compiles with XLA again. (Read from the file: loading it in
    # this process would turn XLA off whenever an earlier test enabled TensorFlow's op determinism.)
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        assert json.load(archive.open("config.json"))["compile_config"]["jit_compile"] is True
    assert load_course_model(tmp_path / "m.keras").output_shape == (None, 2)


def test_jit_with_seed_says_xla_is_off(tmp_path, tiny_root):
    run, record = _train(tmp_path, tiny_root, "--jit", "--seed", "0", prelude=TINY)
    assert record["jit_compile"] is False
    assert "note: --jit asked for XLA" in run.stdout and "drop --seed" in run.stdout
