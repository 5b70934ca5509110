"""Augmentation that fits H&E tiles: the 8 symmetries of the square, and stain jitter in HED space."""

import keras
import numpy as np
import pytest

from cancer_course import pipeline


def _dihedral_images(tile: np.ndarray) -> list[np.ndarray]:
    """The 8 flips and 90-degree turns of one tile, by numpy."""
    turns = [np.rot90(tile, k) for k in range(4)]
    return turns + [np.fliplr(t) for t in turns]


def test_dihedral_gives_each_of_the_8_symmetries_and_only_them():
    tile = np.arange(5 * 5 * 3, dtype="float32").reshape(5, 5, 3)
    layer = pipeline.RandomDihedral(seed=0)
    out = keras.ops.convert_to_numpy(layer(np.repeat(tile[None], 800, axis=0), training=True))
    symmetries = _dihedral_images(tile)
    index = [next(k for k, s in enumerate(symmetries) if np.array_equal(o, s)) for o in out]  # raises if none
    counts = np.bincount(index, minlength=8)
    assert (counts > 60).all(), counts  # about 100 each
    assert np.array_equal(keras.ops.convert_to_numpy(layer(tile[None], training=False))[0], tile)


def test_dihedral_refuses_tiles_that_are_not_square():
    with pytest.raises(ValueError, match="needs square tiles, got 4x6"):
        pipeline.RandomDihedral()(np.zeros((1, 4, 6, 3), "float32"), training=True)


def test_stain_jitter_changes_colour_within_range_and_not_shape():
    rng = np.random.default_rng(0)
    tiles = rng.uniform(0.2, 0.95, (16, 8, 8, 3)).astype("float32")
    out = keras.ops.convert_to_numpy(pipeline.RandomStain(0.1, seed=0)(tiles, training=True))
    assert out.shape == tiles.shape and out.min() >= 0 and out.max() <= 1
    assert not np.allclose(out, tiles)
    assert np.abs(out - tiles).max() < 0.5  # mild
    # Where a tile is bright its pixels stay bright: the jitter rescales stains, it moves nothing.
    corr = [np.corrcoef(o.ravel(), t.ravel())[0, 1] for o, t in zip(out, tiles)]
    assert min(corr) > 0.9
    same = keras.ops.convert_to_numpy(pipeline.RandomStain(0.0)(tiles, training=True))
    np.testing.assert_allclose(same, tiles)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(pipeline.RandomStain(0.1)(tiles, training=False)), tiles)


def test_stain_round_trip_without_jitter_is_the_identity():
    """Colour deconvolution and its inverse: with scale 1 and shift 0 the tile comes back."""
    tiles = np.random.default_rng(1).uniform(0.05, 1, (2, 4, 4, 3)).astype("float32")
    layer = pipeline.RandomStain(1e-9, seed=0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(tiles, training=True)), tiles, atol=1e-4)


def test_tissue_augmentation_saves_and_reloads_in_safe_mode(tmp_path):
    aug = pipeline.tissue_augmentation(0.05, seed=3)
    assert [layer.name for layer in aug.layers] == ["dihedral", "stain"]
    assert [layer.name for layer in pipeline.tissue_augmentation(0).layers] == ["dihedral"]
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.GlobalAveragePooling2D()(inputs)
    model = pipeline.with_augmentation(keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x)), aug)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    images = np.random.default_rng(2).uniform(0, 1, (3, 8, 8, 3)).astype("float32")
    np.testing.assert_allclose(loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6)
    with pytest.raises(ValueError, match="stain must be >= 0"):
        pipeline.tissue_augmentation(-1)
