"""Transfer learning (lesson 13): start from a network that has already learned features.

The standard Keras recipe, in four steps:

1. a **backbone**: a network trained on another, larger dataset, cut before its classifier, so it
   turns an image into a feature vector. :func:`imagenet_backbone` is MobileNetV3Small with its
   ImageNet weights; :func:`course_backbone` cuts a course model the same way (the offline
   stand-in, when the ImageNet weights cannot be downloaded);
2. **freeze** it and put a **new head** on it (:func:`with_new_head`): only the head trains, at the
   usual learning rate;
3. **fine-tune** (:func:`unfreeze_top`): unfreeze the top of the backbone and train again at a
   learning rate about ten times lower, so the pretrained features are adjusted, not overwritten.
   BatchNorm layers stay frozen: a frozen BatchNorm layer runs in inference mode and keeps the
   statistics it learned. (The Keras guide also calls the backbone with ``training=False``; in
   Keras 3, ``fit`` calls the model with ``training=True``, which overrides it - keras-team/keras
   issue 20285, measured in lesson 13 - so freezing BatchNorm is what keeps its statistics);
4. **measure** whether it helped: the same small labelled sets, trained from scratch and from the
   backbone, compared on the same test cases (lesson 13).

:func:`load_matching_weights` starts a course model from another course model's weights, layer by
layer by name (``cancer-course train --init MODEL.keras``). Research and education only: not for
clinical use.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path

import keras
from keras import layers

from .model import _weight_count, load_model

__all__ = [
    "BACKBONES",
    "KERAS_WEIGHTS_URL",
    "WeightsUnavailable",
    "fetch_imagenet_weights",
    "imagenet_backbone",
    "course_backbone",
    "with_new_head",
    "train_head",
    "fresh_copy",
    "unfreeze_top",
    "trainable_summary",
    "InitReport",
    "load_matching_weights",
]

#: Where Keras keeps the ImageNet weights of ``keras.applications``.
KERAS_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclass(frozen=True)
class Backbone:
    """A ``keras.applications`` network: its weights file (no top) below :data:`KERAS_WEIGHTS_URL`."""

    name: str
    weights_file: str
    md5: str


#: The backbones the course knows: small enough to fine-tune on a 2-core CPU.
BACKBONES = {
    "MobileNetV3Small": Backbone(
        "MobileNetV3Small", "mobilenet_v3/weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5",
        "d3e8ec802a04aa4fc771ee12a9a9b836"),
}


class WeightsUnavailable(RuntimeError):
    """The ImageNet weights could not be fetched (offline, blocked, or a corrupted download)."""


def _backbone_spec(name: str) -> Backbone:
    if name not in BACKBONES:
        raise ValueError(f"Unknown backbone {name!r}: the course knows {', '.join(BACKBONES)}.")
    return BACKBONES[name]


def fetch_imagenet_weights(backbone: str = "MobileNetV3Small", *, base_url: str = KERAS_WEIGHTS_URL,
                           md5: str | None = None, cache_dir=None, timeout: float = 10.0) -> Path:
    """Download a backbone's ImageNet weights once (Keras caches them) and return the file.

    ``base_url`` and ``md5`` exist for mirrors and for the tests, which serve a file on localhost.
    Raises :class:`WeightsUnavailable` with a one-line reason when the file cannot be fetched or
    its checksum is wrong (a corrupted download is deleted, not used).
    """
    spec = _backbone_spec(backbone)
    url = base_url.rstrip("/") + "/" + spec.weights_file
    name = Path(spec.weights_file).name
    cache = Path(cache_dir).expanduser() if cache_dir else Path.home() / ".keras"
    (cache / "models").mkdir(parents=True, exist_ok=True)  # Keras falls back to /tmp when it does not exist
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)  # an offline machine should say so in seconds, not hang
    try:
        path = keras.utils.get_file(name, url, cache_dir=str(cache), cache_subdir="models",
                                    file_hash=md5 or spec.md5, hash_algorithm="md5")
    except Exception as exc:  # urllib, socket and checksum errors all mean: no usable weights
        (cache / "models" / name).unlink(missing_ok=True)  # a partial or corrupted file is not kept
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        reason = reason.replace(f"URL fetch failure on {url}: ", "").removeprefix("None -- ")
        raise WeightsUnavailable(f"could not fetch the ImageNet weights of {backbone} from {url}: {reason}") from exc
    finally:
        socket.setdefaulttimeout(previous)
    return Path(path)


def imagenet_backbone(input_shape=(96, 96, 3), weights=None, name: str = "MobileNetV3Small") -> keras.Model:
    """MobileNetV3Small without its classifier: an image in [0, 1] -> a feature vector.

    ``weights``: the file :func:`fetch_imagenet_weights` returned, or None (random initial
    weights). The course's images are in [0, 1]; MobileNetV3 scales [0, 255] itself, so the
    backbone starts by multiplying by 255.
    """
    _backbone_spec(name)
    network = getattr(keras.applications, name)(
        input_shape=tuple(input_shape), include_top=False, weights=None if weights is None else str(weights),
        pooling="avg", include_preprocessing=True)
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    features = network(layers.Rescaling(255.0, name="to_0_255")(inputs))
    return keras.Model(inputs, features, name="backbone")


def course_backbone(model: keras.Model, cut: str = "head_gap") -> keras.Model:
    """A course model without its head: the image -> the pooled features of layer ``cut``."""
    try:
        output = model.get_layer(cut).output
    except ValueError as exc:
        raise ValueError(f"{model.name} has no layer {cut!r} to cut at: is it a course model "
                         f"(cancer_course.model.build_model)?") from exc
    return keras.Model(model.inputs, output, name="backbone")


def with_new_head(backbone: keras.Model, dropout: float = 0.2, output: str = "softmax", seed: int | None = None,
                  name: str = "transfer") -> keras.Model:
    """Freeze ``backbone`` and put a new classifier on it: Dropout -> Dense (2 softmax or 1 sigmoid).

    The backbone is called with ``training=False`` as in the Keras guide; that keeps BatchNorm in
    inference mode when the model is called directly, but ``fit`` overrides it (Keras 3). What
    keeps BatchNorm's statistics during fine-tuning is that :func:`unfreeze_top` leaves those
    layers frozen.
    """
    if output not in ("softmax", "sigmoid"):
        raise ValueError(f"output must be 'softmax' (2 units) or 'sigmoid' (1 unit), got {output!r}.")
    backbone.trainable = False
    inputs = keras.Input(shape=backbone.input_shape[1:], name="image")
    x = backbone(inputs, training=False)
    x = layers.Dropout(dropout, seed=seed, name="new_head_dropout")(x)
    outputs = layers.Dense(2 if output == "softmax" else 1, activation=output, name="head_output")(x)
    return keras.Model(inputs, outputs, name=name)


def train_head(model: keras.Model, images, labels, epochs: int = 30, batch_size: int = 32,
               learning_rate: float = 1e-3, seed: int = 0) -> None:
    """Step 2 the fast way: train only the new head, on the frozen backbone's features.

    The backbone is frozen and in inference mode, so its features do not change: compute them
    once (the Keras guide's "feature extraction") and fit Dropout -> Dense on them, then copy the
    Dense layer into ``model``'s ``head_output``. The same result as fitting ``model`` with the
    backbone frozen, without running the backbone every epoch.
    """
    import numpy as np

    backbone = model.get_layer("backbone")
    features = backbone.predict(np.asarray(images), batch_size=256, verbose=0)
    output = model.get_layer("head_output")
    units = int(output.units)
    head = keras.Sequential([keras.Input(shape=features.shape[1:]),
                             layers.Dropout(model.get_layer("new_head_dropout").rate, seed=seed),
                             layers.Dense(units, activation=output.activation)])
    head.layers[-1].set_weights(output.get_weights())  # start from the model's own fresh head
    labels = np.asarray(labels).astype("int32")
    target = np.eye(2, dtype="float32")[labels] if units == 2 else labels.astype("float32")[:, None]
    loss = "categorical_crossentropy" if units == 2 else "binary_crossentropy"
    head.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss)
    head.fit(features, target, epochs=epochs, batch_size=batch_size, verbose=0, shuffle=True)
    output.set_weights(head.layers[-1].get_weights())


def fresh_copy(model: keras.Model) -> keras.Model:
    """A new model with the same architecture and weights (the original is left untouched)."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def _weighted_layers(model: keras.Model) -> list:
    """The layers that hold weights, in order, looking inside nested models."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found += _weighted_layers(layer)
        elif layer.weights:
            found.append(layer)
    return found


def unfreeze_top(backbone: keras.Model, n_layers: int) -> list[str]:
    """Make the top ``n_layers`` weighted layers of ``backbone`` trainable (BatchNorm stays frozen).

    Returns the names of the layers that now train. Recompile the model afterwards, with a lower
    learning rate: ``trainable`` is read when the model is compiled.
    """
    if n_layers < 0:
        raise ValueError(f"n_layers must be 0 or more, got {n_layers}.")
    backbone.trainable = True
    weighted = _weighted_layers(backbone)
    top = set(id(layer) for layer in weighted[len(weighted) - n_layers:]) if n_layers else set()
    opened = []
    for layer in weighted:
        train = id(layer) in top and not isinstance(layer, layers.BatchNormalization)
        layer.trainable = train
        if train:
            opened.append(layer.name)
    return opened


def trainable_summary(model: keras.Model) -> dict[str, int]:
    """``{"trainable": ..., "frozen": ...}`` parameter counts, as ``model.fit`` will see them."""
    return {"trainable": _weight_count(model.trainable_weights), "frozen": _weight_count(model.non_trainable_weights)}


# ---------------------------------------------------------------- one course model from another
@dataclass
class InitReport:
    """What :func:`load_matching_weights` did, layer by layer."""

    source: str
    loaded: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)  # no layer of that name in the source
    mismatched: list[str] = field(default_factory=list)  # same name, other weight shapes

    def summary(self) -> str:
        total = len(self.loaded) + len(self.new) + len(self.mismatched)
        lines = [f"loaded {len(self.loaded)} of {total} layers with weights from {self.source}"]
        if self.new:
            lines.append(f"new (not in the source, initialised fresh): {', '.join(self.new)}")
        if self.mismatched:
            lines.append(f"other shapes in the source (initialised fresh): {', '.join(self.mismatched)}")
        return "\n".join(lines)


def load_matching_weights(model: keras.Model, source) -> InitReport:
    """Copy into ``model`` the weights of every layer of ``source`` with the same name and shapes.

    ``source``: a ``.keras`` file of a course model, or a model. Layers the source lacks, or has
    with other shapes, keep their fresh initial weights; the report lists both. Raises
    ``FileNotFoundError`` for a missing file and ``ValueError`` when the file is no Keras model or
    not one layer matches (another architecture: nothing would be transferred).
    """
    if isinstance(source, keras.Model):
        src, label = source, f"model {source.name!r}"
    else:
        path = Path(source).expanduser()
        label = str(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file. --init needs a model that `cancer-course train` saved "
                                    f"(a .keras file).")
        if path.suffix != ".keras":
            raise ValueError(f"{path}: --init reads a Keras 3 model file (.keras); this is a {path.suffix or 'file'} "
                             f"without that extension.")
        try:
            src = load_model(path)
        except Exception as exc:
            raise ValueError(f"{path} could not be read as a Keras model ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''}). Pass a model that `cancer-course "
                             f"train` saved.") from exc
    by_name = {layer.name: layer for layer in _weighted_layers(src)}
    report = InitReport(label)
    for layer in _weighted_layers(model):
        other = by_name.get(layer.name)
        if other is None:
            report.new.append(layer.name)
        elif [tuple(w.shape) for w in other.weights] != [tuple(w.shape) for w in layer.weights]:
            report.mismatched.append(layer.name)
        else:
            layer.set_weights(other.get_weights())
            report.loaded.append(layer.name)
    if not report.loaded:
        raise ValueError(f"{label}: not one of its layers matches this model by name and shape "
                         f"({len(report.new)} not found, {len(report.mismatched)} with other shapes). It is another "
                         f"architecture: build the model with the same build_model arguments, or train from scratch.")
    return report
