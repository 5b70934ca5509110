"""Where the model looked: Grad-CAM, overlays, CBAM's spatial attention, occlusion (lesson 11).

See :mod:`cancer_course.explain` for the whole story; the checks of how far to trust a map are in
:mod:`cancer_course.explain.checks`.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf


# ============================================================================= finding layers
def _rank(layer) -> int:
    try:
        return len(layer.output.shape)
    except (AttributeError, ValueError):  # a layer without one output (e.g. shared, not called)
        return 0


def last_conv_layer_name(model: keras.Model) -> str:
    """The last layer whose output is a feature map: 4-D ``(N, H, W, C)`` with more than one channel.

    For the course's model that is ``stage4_cbam_out`` (the CBAM-refined stage-4 features just
    before the global average pool); for a plain ``Conv2D -> GlobalAveragePooling2D -> Dense``
    model, the last ``Conv2D``. (CBAM's own 1-channel maps are skipped: they are attention, not
    features.)
    """
    for layer in reversed(model.layers):
        if _rank(layer) == 4 and (layer.output.shape[-1] or 0) > 1 and not isinstance(layer, keras.layers.InputLayer):
            return layer.name
    raise ValueError(
        f"Model {model.name!r} has no convolutional feature map (no layer with a 4-D output): Grad-CAM "
        "needs a convolutional network. Name the layer with layer_name=... if it is nested."
    )


def cbam_layer_names(model: keras.Model) -> list[str]:
    """The CBAM spatial-attention layers of a course model (``..._spatial_map``), in model order."""
    return [layer.name for layer in model.layers if layer.name.endswith("_spatial_map")]


def _get_layer(model: keras.Model, name: str):
    try:
        return model.get_layer(name)
    except ValueError:
        maps = [layer.name for layer in model.layers if _rank(layer) == 4][-8:]
        raise ValueError(
            f"No layer named {name!r} in model {model.name!r}. The last feature-map layers are: {maps}"
        ) from None


def _as_batch(images) -> tuple[tf.Tensor, bool]:
    """A float32 batch from one image (H, W, 3) or a batch (N, H, W, 3); and whether it was one image."""
    x = tf.convert_to_tensor(np.asarray(images, dtype=np.float32))
    if x.shape.rank == 3:
        return x[None], True
    if x.shape.rank != 4:
        raise ValueError(f"Pass one image (H, W, 3) or a batch (N, H, W, 3); got shape {tuple(x.shape)}.")
    return x, False


def _check_input(model: keras.Model, x: tf.Tensor) -> None:
    want = tuple(model.input_shape[1:])
    got = tuple(int(v) for v in x.shape[1:])
    if any(w is not None and w != g for w, g in zip(want, got)):
        raise ValueError(
            f"The image is {got} but the model takes {want}: read it at the model's size, e.g. "
            f"inference.read_image(path, {want[0]})."
        )


# ============================================================================= Grad-CAM
def _score_model(model: keras.Model, layer_name: str) -> tuple[keras.Model, object | None]:
    """A model returning (feature map, head input or prediction) and the output Dense layer, if any.

    When the last layer is a Dense with a softmax or sigmoid, the second output is that layer's
    *input*, so the logits can be computed with its kernel (see :func:`_malignant_score`).
    """
    features = _get_layer(model, layer_name).output
    last = model.layers[-1]
    activation = getattr(getattr(last, "activation", None), "__name__", "")
    if isinstance(last, keras.layers.Dense) and activation in ("softmax", "sigmoid"):
        return keras.Model(model.inputs, [features, last.input]), last
    return keras.Model(model.inputs, [features, model.outputs[0]]), None


def _malignant_score(head_input, dense, class_index: int):
    """Log-odds of ``class_index`` (1 = malignant) from the output layer, or the probability as a fallback."""
    if dense is None:
        probs = head_input
        return probs[:, class_index] if probs.shape[-1] > 1 else (probs[:, 0] if class_index == 1 else 1 - probs[:, 0])
    logits = tf.matmul(head_input, tf.convert_to_tensor(dense.kernel)) + tf.convert_to_tensor(dense.bias)
    if logits.shape[-1] == 1:
        malignant = logits[:, 0]
    else:
        malignant = logits[:, 1] - logits[:, 0]
    return malignant if class_index == 1 else -malignant


def grad_cam(model: keras.Model, images, layer_name: str | None = None, class_index: int = 1,
             resize: bool = True) -> np.ndarray:
    """Grad-CAM heatmap(s) in [0, 1] for one image (H, W) or a batch (N, H, W).

    ``layer_name`` defaults to :func:`last_conv_layer_name`. ``class_index`` 1 explains
    "malignant", 0 "benign". With ``resize=False`` the map keeps the layer's resolution (in the
    small profiles the last feature map is only 1x1 or 2x2 - name an earlier layer, such as
    ``"stage3_multiscale_concat"``, for a finer map). A map with no positive evidence is all 0.
    """
    x, single = _as_batch(images)
    _check_input(model, x)
    layer_name = layer_name or last_conv_layer_name(model)
    score_model, dense = _score_model(model, layer_name)
    with tf.GradientTape() as tape:
        features, head = score_model(x, training=False)
        tape.watch(features)
        score = _malignant_score(head, dense, class_index)
    grads = tape.gradient(score, features)
    if grads is None:
        raise ValueError(f"The prediction does not depend on layer {layer_name!r}: choose a layer before the head.")
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)  # one weight per channel
    cam = tf.nn.relu(tf.reduce_sum(features * weights, axis=-1))  # (N, h, w)
    peak = tf.reduce_max(cam, axis=(1, 2), keepdims=True)
    cam = tf.math.divide_no_nan(cam, peak)
    if resize:
        cam = tf.image.resize(cam[..., None], x.shape[1:3], method="bilinear")[..., 0]
    cam = np.clip(cam.numpy(), 0.0, 1.0).astype(np.float32)
    return cam[0] if single else cam


def resize_map(heatmap, size: Sequence[int] | int) -> np.ndarray:
    """Resize a map (h, w) or (h, w, 1) to ``size`` (an int or (H, W)) bilinearly; returns (H, W)."""
    size = (size, size) if isinstance(size, int) else tuple(size[:2])
    m = np.asarray(heatmap, dtype=np.float32)
    m = m[..., 0] if m.ndim == 3 else m
    return tf.image.resize(m[..., None], size, method="bilinear").numpy()[..., 0]


def overlay(image, heatmap, alpha: float = 0.4, cmap: str = "magma") -> np.ndarray:
    """Blend a heatmap over an RGB image in [0, 1]: ``(1 - alpha) * image + alpha * colormap(heatmap)``."""
    import matplotlib

    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"overlay needs one RGB image (H, W, 3); got shape {image.shape}.")
    heat = np.asarray(heatmap, dtype=np.float32)
    if heat.shape[:2] != image.shape[:2]:
        heat = resize_map(heat, image.shape[:2])
    heat = heat[..., 0] if heat.ndim == 3 else heat
    colour = matplotlib.colormaps[cmap](np.clip(heat, 0, 1))[..., :3].astype(np.float32)
    image = image / 255.0 if image.max() > 1.0 else image
    return np.clip((1 - alpha) * image + alpha * colour, 0.0, 1.0)


# ============================================================================= CBAM
def cbam_spatial_map(model: keras.Model, images, layer_name: str | None = None) -> np.ndarray:
    """CBAM's spatial attention for one image, (h, w, 1), or a batch, (N, h, w, 1); values in (0, 1).

    ``layer_name`` defaults to the model's last ``..._spatial_map`` layer (``stage4_cbam_spatial_map``
    in the course's model). Its resolution is the stage-4 resolution; :func:`resize_map` or
    :func:`overlay` bring it to the image size.
    """
    x, single = _as_batch(images)
    _check_input(model, x)
    if layer_name is None:
        names = cbam_layer_names(model)
        if not names:
            raise ValueError(
                f"Model {model.name!r} has no CBAM spatial attention layer (a layer named '..._spatial_map'): "
                "build it with cancer_course.blocks.cbam, or name the layer with layer_name=..."
            )
        layer_name = names[-1]
    tap = keras.Model(model.inputs, _get_layer(model, layer_name).output)
    maps = tap(x, training=False).numpy()
    return maps[0] if single else maps


def occlusion_drop(model: keras.Model, images, top: int, left: int, side: int) -> np.ndarray:
    """How much p(malignant) falls when a ``side`` x ``side`` square at (``top``, ``left``) is covered.

    The square is filled with each image's mean colour. An intervention, not an explanation: if the
    model relies on what is in the square, covering it moves the prediction. Returns one value per
    image (p before minus p after; positive = the square was evidence for malignant).
    """
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 3:
        x = x[None]
    if not (0 <= top and 0 <= left and top + side <= x.shape[1] and left + side <= x.shape[2] and side > 0):
        raise ValueError(f"The square ({top}, {left}) of side {side} does not fit in {x.shape[1]}x{x.shape[2]} images.")
    from ..evaluation import _probabilities  # p(malignant) from a softmax or a sigmoid output

    covered = x.copy()
    covered[:, top:top + side, left:left + side, :] = x.mean(axis=(1, 2), keepdims=True)
    return _probabilities(model, x) - _probabilities(model, covered)


# ============================================================================= figure
def plot_explanations(image, maps: dict, alpha: float = 0.4, cmap: str = "magma", title: str | None = None):
    """The image, then one overlay per named map (``{"Grad-CAM": cam, "CBAM": spatial, ...}``)."""
    import matplotlib.pyplot as plt

    image = np.asarray(image, dtype=np.float32)
    fig, axes = plt.subplots(1, len(maps) + 1, figsize=(2.6 * (len(maps) + 1), 2.9), squeeze=False)
    axes = axes[0]
    axes[0].imshow(np.clip(image, 0, 1))
    axes[0].set_title("image", fontsize=9)
    for ax, (name, heat) in zip(axes[1:], maps.items()):
        ax.imshow(overlay(image, heat, alpha=alpha, cmap=cmap))
        ax.set_title(name, fontsize=9)
    for ax in axes:
        ax.axis("off")
    fig.suptitle(title or "Explanation maps (bright = more weight)")
    fig.tight_layout()
    return fig
