"""Lesson 07 writes the training recipe once, as ``train_reference``; the package holds the same function.

Lesson 07 defines the function in a cell (Dive into Deep Learning's "#@save" idea) and the
package holds it as ``cancer_course.training.train_reference``; lessons 10, 11 and 12 call the
package's. These tests keep the two texts identical and check that the function does what the
lessons pasted before it existed.
"""

import ast
import inspect
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cancer_course import pipeline, training
from cancer_course.config import get_profile
from cancer_course.model import from_profile
from cancer_course.pipeline import load_splits

ROOT = Path(__file__).resolve().parents[1]
LESSON_07 = ROOT / "notebooks" / "07_training.ipynb"
CALLERS = ["10_evaluation.ipynb", "11_explainability_and_shortcut_learning.ipynb",
           "12_inference_saving_and_model_card.ipynb"]


def _code_cells(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def _definitions(source: str, name: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:  # a cell with IPython magics defines nothing we look for
        return []
    return [ast.get_source_segment(source, node) for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name == name]


def test_lesson_07_defines_exactly_the_packages_train_reference():
    found = [d for cell in _code_cells(LESSON_07) for d in _definitions(cell, "train_reference")]
    assert len(found) == 1, f"{LESSON_07.name} should define train_reference once, found {len(found)}"
    package = inspect.getsource(training.train_reference).rstrip("\n")
    assert found[0] == package, (
        f"train_reference in {LESSON_07.name} and in cancer_course/training.py differ: copy one onto the other "
        "(the lesson says the package holds exactly this function)")


def test_later_lessons_call_the_package_recipe_instead_of_pasting_it():
    for name in CALLERS:
        cells = _code_cells(ROOT / "notebooks" / name)
        assert any("training.train_reference(" in cell for cell in cells), f"{name} does not call train_reference"
        assert not any(_definitions(cell, "train_reference") for cell in cells), f"{name} redefines train_reference"
        pasted = [cell for cell in cells if "training.fit(" in cell and "compile_model(from_profile(" in cell]
        assert not pasted, f"{name} pastes lesson 07's recipe again instead of calling training.train_reference"


@pytest.fixture(scope="module")
def tiny_splits(tmp_path_factory):
    """16 training and 8 validation tiles at the smoke profile's size, bright = malignant."""
    root = tmp_path_factory.mktemp("recipe")
    rng = np.random.default_rng(0)
    size = get_profile("smoke").image_size
    for split, n in (("train", 16), ("validation", 8)):
        for i in range(n):
            label = i % 2
            folder = root / split / ("malignant" if label else "benign")
            folder.mkdir(parents=True, exist_ok=True)
            pixels = np.clip(rng.normal(60 + 120 * label, 25, (size, size, 3)), 0, 255).astype("uint8")
            Image.fromarray(pixels).save(folder / f"{split}_{i:02d}.png")
    return load_splits(root, image_size=size, verbose=False)


def _pasted_recipe(splits, profile, save_path, log_path, shuffle_labels=False):
    """The steps lessons 07, 10, 11 and 12 pasted before train_reference existed (lesson 11's label shuffle)."""
    size, batch = profile.image_size, profile.batch_size
    augment = pipeline.fast_augmentation(1.0, seed=0)
    train_paths, train_labels = splits.files("train")
    if shuffle_labels:
        train_labels = list(np.random.default_rng(0).permutation(train_labels))
    train_ds = pipeline.from_files(train_paths, train_labels, size, batch, shuffle=True, augment=augment, seed=0)
    val_ds = pipeline.from_files(*splits.files("validation"), size, batch)
    class_weight = training.balanced_class_weights(splits.files("train")[1])
    training.set_seed(0)
    model = training.compile_model(from_profile(profile, seed=0), run_eagerly=profile.run_eagerly)
    return training.fit(model, train_ds, val_ds, epochs=profile.epochs, class_weight=class_weight,
                        save_path=save_path, log_path=log_path, verbose=0)


@pytest.mark.parametrize("shuffle_labels", [False, True])
def test_train_reference_trains_the_same_model_as_the_pasted_steps(tiny_splits, tmp_path, shuffle_labels):
    profile = get_profile("smoke")
    # the same state before each run: tf.data's shuffle seed depends on whether a global seed is set yet
    training.set_seed(0)
    pasted, _ = _pasted_recipe(tiny_splits, profile, tmp_path / "pasted.keras", tmp_path / "pasted.csv",
                               shuffle_labels=shuffle_labels)
    training.set_seed(0)
    model, history = training.train_reference(tiny_splits, profile, seed=0, save_path=tmp_path / "ref.keras",
                                              log_path=tmp_path / "ref.csv", shuffle_labels=shuffle_labels,
                                              verbose=0)
    assert len(history.epoch) == profile.epochs
    assert (tmp_path / "ref.keras").is_file() and (tmp_path / "ref.csv").is_file()
    for a, b in zip(pasted.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert (tmp_path / "pasted.csv").read_text() == (tmp_path / "ref.csv").read_text()


def test_shuffled_labels_train_another_model(tiny_splits, tmp_path):
    profile = get_profile("smoke")
    kept, _ = training.train_reference(tiny_splits, profile, save_path=None, log_path=tmp_path / "a.csv", verbose=0)
    shuffled, _ = training.train_reference(tiny_splits, profile, save_path=None, log_path=tmp_path / "b.csv",
                                           shuffle_labels=True, verbose=0)
    assert any(not np.array_equal(a, b) for a, b in zip(kept.get_weights(), shuffled.get_weights(), strict=True))
