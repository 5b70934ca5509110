"""The reference model, assembled from :mod:`cancer_course.blocks` (lesson 05).

| part | layers (layer-name prefix) |
|---|---|
| stem (``stem_``) | Conv 7x7/2 (64) -> BN -> ReLU -> MaxPool 3x3/2 |
| stage 1 (``stage1_``) | 3 residual SE bottleneck blocks (64) -> MaxPool 2 |
| stage 2 (``stage2_``) | 4 residual SE blocks (128) -> MaxPool 2 |
| stage 3 (``stage3_``) | multi-scale block (4 branches of 64 = 256) -> MaxPool 2 |
| stage 4 (``stage4_``) | 3 residual SE blocks (512) -> CBAM |
| head (``head_``) | GAP -> [Dense -> BN -> ReLU -> Dropout] x 3 (1024/.5, 512/.4, 256/.3) -> Dense 2 softmax |

Measured parameter counts (``python -m cancer_course.model`` prints them again):

| model | input | total | trainable | non-trainable |
|---|---|---|---|---|
| reference, 2-way softmax (``reference_model()``) | 224x224x3 | 2,563,793 | 2,551,185 | 12,608 |
| reference, 1-unit sigmoid (``output="sigmoid"``) | 224x224x3 | 2,563,536 | 2,550,928 | 12,608 |
| profile ``full`` (``from_profile("full")``) | 224x224x3 | 2,563,793 | 2,551,185 | 12,608 |
| profile ``laptop`` (width 0.5, blocks (1, 1, 1), head 256/128/64) | 64x64x3 | 282,091 | 278,987 | 3,104 |
| profile ``smoke`` (width 0.25, blocks (1, 1, 1), head 64/32/16) | 32x32x3 | 57,448 | 56,120 | 1,328 |

The counts do not depend on the input size (every layer before the global pool is a
convolution, a pool or BN), only on width, depth and head: a 32x32 reference model has the
same 2,563,793 parameters. Most of them sit in stage 4 and the dense head (see
:func:`parameter_table`).

Looking inside a model - :func:`count_parameters`, :func:`parameter_table`,
:func:`receptive_fields`, :func:`plot_architecture` - is :mod:`cancer_course.architecture`; this
module re-exports those names.

Research and education only: not a medical device, not for clinical use.
"""

from __future__ import annotations

import keras
from keras import layers

from .architecture import (  # noqa: F401 - looking inside a model: re-exported for the lessons
    PLOT_HELP,
    ParameterTable,
    _block_of,
    _weight_count,
    count_parameters,
    graphviz_available,
    parameter_table,
    plot_architecture,
    receptive_fields,
)
from .blocks import cbam, multiscale_block, residual_se_block

__all__ = [
    "REFERENCE_COUNTS",
    "MEASURED_COUNTS",
    "ABLATION_VARIANTS",
    "load_model",
    "build_model",
    "reference_model",
    "from_profile",
    "count_parameters",
    "parameter_table",
    "ParameterTable",
    "plot_architecture",
    "receptive_fields",
]

#: The published size of the original system (2-way softmax head, 224x224x3).
REFERENCE_COUNTS = {"total": 2_563_793, "trainable": 2_551_185, "non_trainable": 12_608}

#: The counts of the table above, measured; ``tests/test_model.py`` keeps them honest.
MEASURED_COUNTS = {
    "reference_softmax": {"total": 2_563_793, "trainable": 2_551_185, "non_trainable": 12_608},
    "reference_sigmoid": {"total": 2_563_536, "trainable": 2_550_928, "non_trainable": 12_608},
    "full": {"total": 2_563_793, "trainable": 2_551_185, "non_trainable": 12_608},
    "laptop": {"total": 282_091, "trainable": 278_987, "non_trainable": 3_104},
    "smoke": {"total": 57_448, "trainable": 56_120, "non_trainable": 1_328},
}

MIN_INPUT_SIZE = 32

#: The ablation of lesson 13: the plain residual network, each custom part added alone, and all
#: three (the reference). Each value is the ``build_model`` switches of that variant.
ABLATION_VARIANTS = {
    "plain residual": dict(squeeze_excitation=False, multiscale=False, attention=False),
    "+ squeeze-excitation": dict(squeeze_excitation=True, multiscale=False, attention=False),
    "+ multi-scale": dict(squeeze_excitation=False, multiscale=True, attention=False),
    "+ CBAM": dict(squeeze_excitation=False, multiscale=False, attention=True),
    "reference (all three)": dict(squeeze_excitation=True, multiscale=True, attention=True),
}


def _scaled(filters: int, width: float) -> int:
    """Filters after the width multiplier: rounded, at least 4 (so filters // 4 >= 1)."""
    return max(4, int(round(filters * width)))


def build_model(
    input_shape: tuple[int, int, int] = (224, 224, 3),
    width: float = 1.0,
    blocks_per_stage: tuple[int, int, int] = (3, 4, 3),
    head_units: tuple[int, ...] = (1024, 512, 256),
    dropout_rates: tuple[float, ...] = (0.5, 0.4, 0.3),
    l2: float = 0.0,
    output: str = "softmax",
    seed: int | None = None,
    name: str = "cancer_cnn",
    se_ratio: int = 16,
    cbam_ratio: int = 8,
    squeeze_excitation: bool = True,
    multiscale: bool = True,
    attention: bool = True,
) -> keras.Model:
    """Build the course's CNN; the defaults are the reference model.

    Args:
        input_shape: (height, width, channels); height and width at least 32.
        width: multiplies every filter count (1.0 = reference; 0.5 halves them).
        blocks_per_stage: residual SE blocks in stages 1, 2 and 4 (stage 3 is the multi-scale block).
        head_units: the dense head's hidden layers, each Dense -> BN -> ReLU -> Dropout.
        dropout_rates: one per entry of ``head_units``.
        l2: L2 weight decay on every conv and dense kernel (0 = none, as in the original).
        output: ``"softmax"`` (2 units, one-hot labels, categorical cross-entropy - the original
            code) or ``"sigmoid"`` (1 unit, 0/1 labels, binary cross-entropy - the original
            description).
        seed: if given, ``keras.utils.set_random_seed(seed)`` is called first, so the same seed
            gives the same initial weights (and seeds Python, NumPy and the backend).
        name: the model's name.
        squeeze_excitation, multiscale, attention: the three custom parts, each switchable for an
            ablation (lesson 13); all True is the reference model. ``squeeze_excitation=False``
            drops SE from every residual block; ``multiscale=False`` puts one residual block with
            the same output channels (4 x 64 x width) in stage 3; ``attention=False`` drops CBAM.
            With all three False the network is a plain residual network.
    """
    height, width_px, channels = (int(v) for v in input_shape)
    if min(height, width_px) < MIN_INPUT_SIZE:
        raise ValueError(
            f"input_shape {tuple(input_shape)} is too small: height and width must be at least "
            f"{MIN_INPUT_SIZE} pixels (the network halves them five times)."
        )
    if output not in ("softmax", "sigmoid"):
        raise ValueError(f"output must be 'softmax' (2 units) or 'sigmoid' (1 unit), got {output!r}.")
    blocks_per_stage = tuple(int(b) for b in blocks_per_stage)
    if len(blocks_per_stage) != 3 or min(blocks_per_stage) < 1:
        raise ValueError(
            f"blocks_per_stage must be three positive numbers (stages 1, 2 and 4), got {blocks_per_stage}."
        )
    head_units = tuple(int(u) for u in head_units)
    dropout_rates = tuple(float(d) for d in dropout_rates)
    if len(dropout_rates) != len(head_units):
        raise ValueError(
            f"Give one dropout rate per head layer: head_units={head_units} but dropout_rates={dropout_rates}."
        )
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    reg = keras.regularizers.L2(l2) if l2 else None

    inputs = keras.Input(shape=(height, width_px, channels), name="image")

    # Stem: a large-kernel strided conv and a pool take 224 px down to 56 px.
    x = layers.Conv2D(
        _scaled(64, width), 7, strides=2, padding="same", kernel_regularizer=reg, name="stem_conv"
    )(inputs)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool")(x)

    # Stages 1 and 2: residual SE bottleneck blocks, then halve the resolution.
    for stage, (filters, n_blocks) in enumerate(zip((64, 128), blocks_per_stage[:2]), start=1):
        for i in range(1, n_blocks + 1):
            x = residual_se_block(
                x,
                _scaled(filters, width),
                ratio=se_ratio,
                name=f"stage{stage}_block{i}",
                kernel_regularizer=reg,
                se=squeeze_excitation,
            )
        x = layers.MaxPooling2D(2, padding="same", name=f"stage{stage}_pool")(x)

    # Stage 3: the multi-scale block (or, in the ablation, one residual block as wide as its output).
    if multiscale:
        x = multiscale_block(x, _scaled(64, width), name="stage3_multiscale", kernel_regularizer=reg)
    else:
        x = residual_se_block(x, 4 * _scaled(64, width), ratio=se_ratio, name="stage3_block1",
                              kernel_regularizer=reg, se=squeeze_excitation)
    x = layers.MaxPooling2D(2, padding="same", name="stage3_pool")(x)

    # Stage 4: residual SE blocks at 512 filters, then CBAM.
    for i in range(1, blocks_per_stage[2] + 1):
        x = residual_se_block(
            x, _scaled(512, width), ratio=se_ratio, name=f"stage4_block{i}", kernel_regularizer=reg,
            se=squeeze_excitation,
        )
    if attention:
        x = cbam(x, ratio=cbam_ratio, name="stage4_cbam", kernel_regularizer=reg)

    # Head.
    x = layers.GlobalAveragePooling2D(name="head_gap")(x)
    for i, (units, rate) in enumerate(zip(head_units, dropout_rates), start=1):
        x = layers.Dense(units, kernel_regularizer=reg, name=f"head_dense{i}")(x)
        x = layers.BatchNormalization(name=f"head_bn{i}")(x)
        x = layers.ReLU(name=f"head_relu{i}")(x)
        x = layers.Dropout(rate, seed=None if seed is None else int(seed) + i, name=f"head_dropout{i}")(x)
    if output == "softmax":
        outputs = layers.Dense(2, activation="softmax", kernel_regularizer=reg, name="head_output")(x)
    else:
        outputs = layers.Dense(1, activation="sigmoid", kernel_regularizer=reg, name="head_output")(x)
    return keras.Model(inputs, outputs, name=name)


def reference_model(seed: int | None = None, output: str = "softmax") -> keras.Model:
    """The reference model: 224x224x3, 2-way softmax, 2,563,793 parameters."""
    return build_model(seed=seed, output=output, name="reference_cnn")


def from_profile(profile=None, output: str = "softmax", seed: int | None = None, **overrides) -> keras.Model:
    """The model preset of a profile: a :class:`~cancer_course.config.Profile`, its name, or None.

    Uses the profile's ``image_size``, ``width``, ``blocks_per_stage`` and ``head_units``;
    ``overrides`` are passed to :func:`build_model` (e.g. ``l2=1e-4``). A name is taken
    literally (``from_profile("laptop")`` is always the laptop preset); None means the active
    profile (``$CANCER_COURSE_PROFILE``, else the default). In a lesson:
    ``from_profile(get_profile(PROFILE))``.
    """
    from .config import PROFILES, Profile, get_profile

    if isinstance(profile, Profile):
        prof = profile
    elif profile is None:
        prof = get_profile()
    elif str(profile).strip().lower() in PROFILES:
        prof = PROFILES[str(profile).strip().lower()]
    else:
        raise ValueError(f"Unknown profile {profile!r}. Choose one of {', '.join(PROFILES)}.")
    kwargs = dict(
        input_shape=(prof.image_size, prof.image_size, 3),
        width=prof.width,
        blocks_per_stage=tuple(prof.blocks_per_stage),
        head_units=tuple(prof.head_units),
        dropout_rates=(0.5, 0.4, 0.3, 0.3, 0.3, 0.3)[: len(prof.head_units)],
        output=output,
        seed=seed,
        name=f"cancer_cnn_{prof.name}",
    )
    kwargs.update(overrides)
    model = build_model(**kwargs)
    return model


def load_model(path) -> keras.Model:
    """Load a ``.keras`` file saved from :func:`build_model`, with ``safe_mode=True``.

    The same as ``keras.models.load_model(path, safe_mode=True)`` after ``import
    cancer_course.blocks`` (which registers the one custom layer, :class:`~cancer_course.blocks.ChannelPool`).
    """
    return keras.models.load_model(path, safe_mode=True)


def _main() -> None:  # pragma: no cover - prints the table in the module docstring
    from .config import PROFILES

    rows = [
        ("reference softmax 224", reference_model()),
        ("reference sigmoid 224", reference_model(output="sigmoid")),
    ]
    rows += [(f"profile {name} {p.image_size}", from_profile(p)) for name, p in PROFILES.items()]
    for label, model in rows:
        c = count_parameters(model)
        print(
            f"{label:<24} total {c['total']:>10,}  trainable {c['trainable']:>10,}  non-trainable {c['non_trainable']:>7,}"
        )


if __name__ == "__main__":  # pragma: no cover
    _main()
