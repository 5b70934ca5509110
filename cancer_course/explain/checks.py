"""How far to trust a map: the sanity checks of Adebayo et al. (2018) for Grad-CAM (lesson 11).

- :func:`sanity_check`: the randomised-weights test. Scramble the weights of a clone
  (:func:`randomized_clone`) - from the top layers down ("cascading") or all at once ("full") -
  and compare the maps (:func:`map_similarity`): an explanation that stays the same when the
  weights are random explains the image, not the model.
- :func:`compare_maps`: the data-randomisation test, against a model trained on shuffled labels.

A flat map (:func:`count_flat_maps`: Grad-CAM found no evidence) shows nothing and fails both.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from .maps import _as_batch, grad_cam, last_conv_layer_name


def _weight_groups(model: keras.Model) -> list[tuple[str, list]]:
    """Layers with weights, grouped into blocks (``head``, ``stage4_cbam``, ``stage4_block1``, ... ``stem``),
    from the output down: the order of a cascading randomisation."""
    from ..model import _block_of

    groups: dict[str, list] = {}
    for layer in model.layers:
        if layer.weights:
            groups.setdefault(_block_of(layer.name)[1], []).append(layer)
    return list(reversed(groups.items()))


def _scramble(layer, rng: np.random.Generator) -> None:
    """Redraw a layer's trainable weights from a normal with each weight's own mean and std.

    Keeping the scale keeps the activations in a normal range; a weight that is constant (a fresh
    bias, BN's gamma) gets a small spread so it changes too. BN's moving statistics are kept.
    """
    for weight in layer.trainable_weights:
        value = np.asarray(weight.numpy())
        std = float(value.std()) or 0.05
        weight.assign(rng.normal(float(value.mean()), std, size=value.shape).astype(value.dtype))


def randomized_clone(model: keras.Model, layers: Sequence[str] | None = None, seed: int = 0) -> keras.Model:
    """A copy of ``model`` whose named layers (all layers with weights if None) have random weights.

    The original model is untouched. Same ``seed``, same random weights.
    """
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    names = set(layers) if layers is not None else {layer.name for layer in clone.layers if layer.weights}
    unknown = names - {layer.name for layer in clone.layers}
    if unknown:
        raise ValueError(f"No layers named {sorted(unknown)} in model {model.name!r}.")
    rng = np.random.default_rng(seed)
    for layer in clone.layers:
        if layer.name in names:
            _scramble(layer, rng)
    return clone


def map_similarity(a, b) -> dict:
    """Spearman rank and Pearson correlation between two maps (flattened), each in [-1, 1].

    A correlation is undefined when a map is flat (Grad-CAM gives an all-zero map when nothing in
    the image counts for the class). Convention here: a flat map against a map with structure
    scores 0 (no shared structure); two flat maps score 1 if they are equal, else 0.
    """
    from scipy.stats import pearsonr, spearmanr

    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"Maps of different sizes: {a.size} and {b.size} values.")
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        same = float(np.ptp(a) == 0 and np.ptp(b) == 0 and np.allclose(a, b))
        return {"spearman": same, "pearson": same}
    return {"spearman": float(spearmanr(a, b).statistic), "pearson": float(pearsonr(a, b).statistic)}


def count_flat_maps(maps) -> int:
    """How many of a batch of maps are flat (constant, e.g. all zero): maps that show nothing."""
    return int(sum(np.ptp(m) == 0 for m in np.asarray(maps)))


def _mean_similarity(real: np.ndarray, other: np.ndarray) -> dict:
    """Per-image similarities averaged over the batch, the largest change of any pixel, and how
    many of the `other` maps are flat."""
    per_image = [map_similarity(r, o) for r, o in zip(real, other)]
    out = {key: float(np.mean([s[key] for s in per_image])) for key in ("spearman", "pearson")}
    out["max_abs_difference"] = float(np.abs(real - other).max())
    out["flat_maps"] = count_flat_maps(other)
    return out


def _verdict(real: np.ndarray, other: np.ndarray, similarity: float, max_similarity: float, what: str) -> dict:
    """Pass only when both sets of maps show something and they differ; a flat map is a failure."""
    n_real, n_other = count_flat_maps(real), count_flat_maps(other)
    if n_real:
        return {"passed": False, "reason": f"{n_real} of {len(real)} maps of the trained model are flat: Grad-CAM "
                "found no evidence to show there, so there is nothing to check; explain another layer or image"}
    if n_other:
        return {"passed": False, "reason": f"{n_other} of {len(other)} maps of the {what} are flat: a flat map "
                "differs from any map without showing that the explanation depends on the model"}
    if similarity >= max_similarity:
        return {"passed": False, "reason": f"the maps of the {what} still correlate {similarity:.2f} (Spearman) with "
                "the trained model's: the map reflects the image more than what the model learned"}
    return {"passed": True, "reason": f"the maps of the {what} correlate only {similarity:.2f} (Spearman, below "
            f"{max_similarity}) with the trained model's. Passing is necessary, not sufficient: it does not show "
            "that the map points at what the model uses"}


def compare_maps(model: keras.Model, other: keras.Model, images, layer_name: str | None = None,
                 what: str = "model trained on shuffled labels", max_similarity: float = 0.5) -> dict:
    """Grad-CAM of two models on the same images, compared: the data-randomisation test.

    Adebayo et al. (2018): retrain the same architecture on labels shuffled at random; it can only
    memorise, so an explanation that depends on what the model learned from the labels must look
    different. Returns ``{"spearman", "pearson", "max_abs_difference", "flat_maps", "real_flat",
    "verdict": {"passed", "reason"}, "maps": {"real", "other"}}``; flat maps count as failures.
    """
    x, _ = _as_batch(images)
    layer_name = layer_name or last_conv_layer_name(model)
    real, second = grad_cam(model, x, layer_name), grad_cam(other, x, layer_name)
    out = _mean_similarity(real, second)
    out["real_flat"] = count_flat_maps(real)
    out["verdict"] = _verdict(real, second, out["spearman"], max_similarity, what)
    out["maps"] = {"real": real, "other": second}
    return out


def sanity_check(model: keras.Model, images, layer_name: str | None = None, mode: str = "cascading",
                 seed: int = 0, max_similarity: float = 0.5) -> dict:
    """The randomised-weights sanity check for Grad-CAM on ``images`` (one image or a batch).

    ``mode="full"`` randomises every layer at once; ``mode="cascading"`` randomises block after
    block from the head down (``head``, then also ``stage4_cbam``, ...), one step per block.
    Returns ``{"mode", "layer", "steps": [{"randomized": block, "spearman", "pearson",
    "max_abs_difference"}], "spearman", "pearson"`` (the last step), ``"maps"`` (the real
    maps and each step's maps, numpy arrays)}, ``"real_flat"`` and ``"verdict"``. A trustworthy
    explanation has low similarity once the weights are random; similarity near 1 means the map
    reflects the image, not the model. The verdict (``{"passed", "reason"}``, from the last step)
    passes only when no map is flat and the Spearman similarity is below ``max_similarity``: a
    flat map (Grad-CAM found no evidence) shows nothing and fails, although
    :func:`map_similarity` scores it 0. Passing is necessary for a useful explanation, not
    sufficient.
    """
    if mode not in ("cascading", "full"):
        raise ValueError(f"mode must be 'cascading' or 'full', got {mode!r}.")
    x, _ = _as_batch(images)
    layer_name = layer_name or last_conv_layer_name(model)
    real = grad_cam(model, x, layer_name)
    groups = _weight_groups(model)
    if mode == "full":
        steps = [("all", [layer.name for _, layers in groups for layer in layers])]
    else:
        steps, done = [], []
        for block, layers in groups:
            done += [layer.name for layer in layers]
            steps.append((block, list(done)))
    result = {"mode": mode, "layer": layer_name, "steps": [], "maps": {"real": real}}
    for block, names in steps:
        randomized = grad_cam(randomized_clone(model, names, seed=seed), x, layer_name)
        result["steps"].append({"randomized": block, **_mean_similarity(real, randomized)})
        result["maps"][block] = randomized
    result["spearman"] = result["steps"][-1]["spearman"]
    result["pearson"] = result["steps"][-1]["pearson"]
    result["real_flat"] = count_flat_maps(real)
    last = result["maps"][steps[-1][0]]
    result["verdict"] = _verdict(real, last, result["spearman"], max_similarity,
                                 "fully randomised model" if mode == "full" else "model randomised down to the stem")
    return result
