"""Transfer learning (lesson 13): the ImageNet download path against a file served on localhost,
the offline failure, freezing and unfreezing, and starting a course model from another one's weights."""

from __future__ import annotations

import functools
import hashlib
import http.server
import socket
import threading

import keras
import numpy as np
import pytest

from cancer_course import transfer
from cancer_course.model import build_model

SIZE = 32
TINY = dict(input_shape=(SIZE, SIZE, 3), width=0.25, blocks_per_stage=(1, 1, 1), head_units=(16, 8, 4))


@pytest.fixture(scope="module")
def weights_server(tmp_path_factory):
    """A localhost server with a MobileNetV3Small weights file where Keras keeps the real one."""
    root = tmp_path_factory.mktemp("mirror")
    network = keras.applications.MobileNetV3Small(input_shape=(SIZE, SIZE, 3), include_top=False, weights=None,
                                                  pooling="avg")
    spec = transfer.BACKBONES["MobileNetV3Small"]
    path = root / spec.weights_file
    path.parent.mkdir(parents=True)
    network.save(path)  # the legacy HDF5 format of the published weights files
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"url": f"http://127.0.0.1:{server.server_port}/", "md5": hashlib.md5(path.read_bytes()).hexdigest(),
           "network": network}
    server.shutdown()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_weights_download_from_a_mirror_and_load_into_the_backbone(weights_server, tmp_path):
    path = transfer.fetch_imagenet_weights(base_url=weights_server["url"], md5=weights_server["md5"],
                                           cache_dir=tmp_path)
    assert path.parent == tmp_path / "models" and path.is_file()
    backbone = transfer.imagenet_backbone((SIZE, SIZE, 3), weights=path)
    x = np.random.default_rng(0).random((2, SIZE, SIZE, 3)).astype("float32")
    # the backbone takes [0, 1] images and scales them to MobileNet's [0, 255] itself
    np.testing.assert_allclose(backbone.predict(x, verbose=0), weights_server["network"].predict(x * 255, verbose=0),
                               atol=1e-4)
    assert backbone.output_shape == (None, weights_server["network"].output_shape[-1])


def test_a_corrupted_download_is_refused_and_not_kept(weights_server, tmp_path):
    with pytest.raises(transfer.WeightsUnavailable, match="md5"):
        transfer.fetch_imagenet_weights(base_url=weights_server["url"], md5="0" * 32, cache_dir=tmp_path)
    assert not list((tmp_path / "models").iterdir())


def test_offline_says_so_in_one_line(tmp_path):
    url = f"http://127.0.0.1:{_closed_port()}/"
    with pytest.raises(transfer.WeightsUnavailable) as info:
        transfer.fetch_imagenet_weights(base_url=url, cache_dir=tmp_path, timeout=5)
    message = str(info.value)
    assert "MobileNetV3Small" in message and url in message and "\n" not in message
    with pytest.raises(ValueError, match="knows MobileNetV3Small"):
        transfer.fetch_imagenet_weights("ResNet9000", cache_dir=tmp_path)


def test_frozen_backbone_new_head_then_top_unfrozen_without_batchnorm(tmp_path):
    backbone = transfer.imagenet_backbone((SIZE, SIZE, 3))
    model = transfer.with_new_head(backbone, seed=0)
    frozen = transfer.trainable_summary(model)
    assert frozen["trainable"] == backbone.output_shape[-1] * 2 + 2  # only the new Dense layer trains
    opened = transfer.unfreeze_top(backbone, 8)
    assert 0 < len(opened) <= 8
    assert not any(isinstance(backbone.get_layer("MobileNetV3Small").get_layer(name), keras.layers.BatchNormalization)
                   for name in opened)
    assert transfer.trainable_summary(model)["trainable"] > frozen["trainable"]
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="categorical_crossentropy")
    x = np.random.default_rng(1).random((4, SIZE, SIZE, 3)).astype("float32")
    model.fit(x, np.eye(2)[[0, 1, 0, 1]], epochs=1, verbose=0)
    model.save(tmp_path / "transfer.keras")
    again = keras.models.load_model(tmp_path / "transfer.keras", safe_mode=True)
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)
    with pytest.raises(ValueError, match="0 or more"):
        transfer.unfreeze_top(backbone, -1)


def test_course_backbone_cuts_at_the_pooled_features():
    model = build_model(seed=0, **TINY)
    backbone = transfer.course_backbone(model)
    assert backbone.output_shape == model.get_layer("head_gap").output.shape
    head = transfer.with_new_head(backbone, output="sigmoid")
    assert head.output_shape == (None, 1)
    with pytest.raises(ValueError, match="course model"):
        transfer.course_backbone(transfer.imagenet_backbone((SIZE, SIZE, 3)))


def test_load_matching_weights_copies_every_matching_layer(tmp_path):
    source = build_model(seed=1, **TINY)
    source.save(tmp_path / "source.keras")
    same = build_model(seed=2, **TINY)
    report = transfer.load_matching_weights(same, tmp_path / "source.keras")
    assert not report.new and not report.mismatched
    x = np.random.default_rng(2).random((2, SIZE, SIZE, 3)).astype("float32")
    np.testing.assert_allclose(same.predict(x, verbose=0), source.predict(x, verbose=0), atol=1e-6)

    other_head = build_model(seed=3, output="sigmoid", **{**TINY, "head_units": (16, 8)}, dropout_rates=(0.5, 0.4))
    fresh = other_head.get_layer("head_output").get_weights()[0].copy()
    report = transfer.load_matching_weights(other_head, tmp_path / "source.keras")
    assert "head_output" in report.mismatched and "head_dense3" not in report.loaded
    assert "stem_conv" in report.loaded and not report.new
    np.testing.assert_array_equal(other_head.get_layer("head_output").get_weights()[0], fresh)
    np.testing.assert_array_equal(other_head.get_layer("stem_conv").get_weights()[0],
                                  source.get_layer("stem_conv").get_weights()[0])
    text = report.summary()
    assert f"loaded {len(report.loaded)} of" in text and "head_output" in text


def test_load_matching_weights_refuses_what_it_cannot_use(tmp_path):
    model = build_model(seed=0, **TINY)
    with pytest.raises(FileNotFoundError, match="missing.keras"):
        transfer.load_matching_weights(model, tmp_path / "missing.keras")
    (tmp_path / "weights.h5").write_bytes(b"not a model")
    with pytest.raises(ValueError, match=r"\.keras"):
        transfer.load_matching_weights(model, tmp_path / "weights.h5")
    (tmp_path / "broken.keras").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="could not be read"):
        transfer.load_matching_weights(model, tmp_path / "broken.keras")
    other = transfer.with_new_head(transfer.imagenet_backbone((SIZE, SIZE, 3)))
    other.save(tmp_path / "mobilenet.keras")
    with pytest.raises(ValueError, match="another architecture"):
        transfer.load_matching_weights(model, tmp_path / "mobilenet.keras")


def test_fit_overrides_training_false_so_unfreeze_top_keeps_batchnorm_frozen():
    """Keras 3: `fit` calls the model with training=True, which overrides the backbone's training=False
    (keras-team/keras#20285); lesson 13 teaches this, and unfreeze_top keeps BatchNorm frozen because of it."""
    def moving_means(backbone):
        return [np.array(layer.moving_mean) for layer in backbone.layers
                if isinstance(layer, keras.layers.BatchNormalization)]

    x = np.random.default_rng(3).random((8, SIZE, SIZE, 3)).astype("float32") * 3 + 1
    y = np.eye(2, dtype="float32")[[0, 1] * 4]
    backbone = transfer.course_backbone(build_model(seed=0, **TINY))
    model = transfer.with_new_head(backbone)
    backbone.trainable = True  # every layer, BatchNorm included: training=False alone does not protect it
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    before = moving_means(backbone)
    model.fit(x, y, epochs=1, verbose=0)
    assert any(not np.allclose(a, b) for a, b in zip(before, moving_means(backbone)))

    transfer.unfreeze_top(backbone, 1000)  # everything that has weights, except BatchNorm
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    before = moving_means(backbone)
    model.fit(x, y, epochs=1, verbose=0)
    for a, b in zip(before, moving_means(backbone)):
        np.testing.assert_allclose(a, b)
