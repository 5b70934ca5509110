"""Explanations and how far to trust them (lesson 11).

- :func:`grad_cam`: where the model looked. A ``keras.Model`` returns the activations of a
  convolutional layer and the prediction; ``tf.GradientTape`` gives the gradient of the
  malignant score with respect to those activations; each channel is weighted by its mean
  gradient, summed, passed through ReLU, scaled to [0, 1] and resized to the image.
  Everything runs on concrete tensors (one real image batch), never on symbolic Keras tensors.
- :func:`overlay`: the heatmap blended over the image with a matplotlib colormap.
- :func:`cbam_spatial_map`: what CBAM's spatial attention gates, read straight from the layer
  the model names ``..._spatial_map``.
- :func:`sanity_check`: the randomised-weights test (Adebayo et al., 2018). Scramble the
  weights of a clone - from the top layers down ("cascading") or all at once ("full") - and
  compare the maps: an explanation that stays the same when the weights are random explains
  the image, not the model.

The score Grad-CAM differentiates is the malignant *logit* (log-odds: ``z_malignant - z_benign``
for the 2-way softmax, ``z`` for the sigmoid) computed from the output layer's kernel: a
probability near 0 or 1 has almost no gradient, the logit always has one.

Research and education only: a heatmap is not a diagnosis.
"""

from .checks import compare_maps, count_flat_maps, map_similarity, randomized_clone, sanity_check
from .maps import (
    cbam_layer_names,
    cbam_spatial_map,
    grad_cam,
    last_conv_layer_name,
    occlusion_drop,
    overlay,
    plot_explanations,
    resize_map,
)

__all__ = [
    "last_conv_layer_name",
    "cbam_layer_names",
    "grad_cam",
    "overlay",
    "cbam_spatial_map",
    "resize_map",
    "randomized_clone",
    "map_similarity",
    "sanity_check",
    "compare_maps",
    "count_flat_maps",
    "occlusion_drop",
    "plot_explanations",
]
