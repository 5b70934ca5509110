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

Research and education only: not a medical device, not for clinical use.
"""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path

import keras
from keras import layers

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


def _weight_count(weights) -> int:
    total = 0
    for w in weights:
        n = 1
        for dim in w.shape:
            n *= int(dim)
        total += n
    return total


def count_parameters(model) -> dict[str, int]:
    """``{"total", "trainable", "non_trainable"}`` - the three figures of ``model.summary()``."""
    trainable = _weight_count(model.trainable_weights)
    non_trainable = _weight_count(model.non_trainable_weights)
    return {"total": trainable + non_trainable, "trainable": trainable, "non_trainable": non_trainable}


# ---------------------------------------------------------------------------------------------
# Where the parameters are
# ---------------------------------------------------------------------------------------------
def _block_of(layer_name: str) -> tuple[str, str]:
    """(stage, block) from a layer name: 'stage2_block3_se_gates' -> ('stage2', 'stage2_block3')."""
    parts = layer_name.split("_")
    stage = parts[0]
    if stage.startswith("stage") and len(parts) > 1:
        return stage, f"{parts[0]}_{parts[1]}"
    if stage in ("stem", "head"):
        return stage, stage
    return "input" if stage in ("image", "input") else "other", layer_name


@dataclass
class ParameterTable:
    """Rows of (name, output shape, parameters, trainable, non-trainable) that sum to the model total.

    Printing it (or showing it in a notebook) gives an aligned table with a total line and each
    row's share of the total.
    """

    rows: list[dict]
    level: str

    @property
    def total(self) -> int:
        return sum(r["params"] for r in self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        return self.rows[i]

    def format(self) -> str:
        total = self.total or 1
        head = ("name", "output shape", "params", "trainable", "non-trainable", "share")
        lines = [
            (
                r["name"],
                str(r["output_shape"]),
                f"{r['params']:,}",
                f"{r['trainable']:,}",
                f"{r['non_trainable']:,}",
                f"{100 * r['params'] / total:.1f}%",
            )
            for r in self.rows
        ]
        lines.append(
            (
                "total",
                "",
                f"{self.total:,}",
                f"{sum(r['trainable'] for r in self.rows):,}",
                f"{sum(r['non_trainable'] for r in self.rows):,}",
                "100.0%",
            )
        )
        widths = [max(len(row[i]) for row in [head, *lines]) for i in range(len(head))]

        def fmt(row):
            return "  ".join(
                cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))
            )

        rule = "-" * len(fmt(head))
        return "\n".join([fmt(head), rule, *map(fmt, lines[:-1]), rule, fmt(lines[-1])])

    def __str__(self) -> str:
        return self.format()

    def __repr__(self) -> str:
        return f"ParameterTable(level={self.level!r}, rows={len(self.rows)}, total={self.total:,})"


def parameter_table(model: keras.Model, level: str = "block") -> ParameterTable:
    """Parameters per block (``level="block"``) or per stage (``level="stage"``).

    Layers are grouped by their name prefix (``stem``, ``stage1_block1``, ``stage1_pool``,
    ``stage3_multiscale``, ``stage4_cbam``, ``head``...); each row's output shape is the shape
    of its group's last layer. The rows sum to ``model.count_params()``.
    """
    if level not in ("block", "stage"):
        raise ValueError(f"level must be 'block' or 'stage', got {level!r}.")
    groups: dict[str, dict] = {}
    for layer in model.layers:
        stage, block = _block_of(layer.name)
        if stage == "input":
            continue
        key = block if level == "block" else stage
        row = groups.setdefault(
            key,
            {
                "name": key,
                "stage": stage,
                "output_shape": None,
                "params": 0,
                "trainable": 0,
                "non_trainable": 0,
            },
        )
        trainable = _weight_count(layer.trainable_weights)
        non_trainable = _weight_count(layer.non_trainable_weights)
        row["trainable"] += trainable
        row["non_trainable"] += non_trainable
        row["params"] += trainable + non_trainable
        row["output_shape"] = tuple(layer.output.shape)
    return ParameterTable(rows=list(groups.values()), level=level)


# ---------------------------------------------------------------------------------------------
# Architecture diagram
# ---------------------------------------------------------------------------------------------
_STAGES = ("stem", "stage1", "stage2", "stage3", "stage4")


def _spatial(layer) -> tuple[int, int] | None:
    """(effective kernel size, stride) of a layer that looks at a window of pixels, else None."""
    kernel = getattr(layer, "kernel_size", None) or getattr(layer, "pool_size", None)
    if kernel is None or isinstance(layer, layers.Dense):
        return None
    dilation = getattr(layer, "dilation_rate", (1,))
    k = (int(kernel[0]) - 1) * int(dilation[0]) + 1
    strides = getattr(layer, "strides", None) or kernel
    return k, int(strides[0])


def receptive_fields(model: keras.Model) -> list[dict]:
    """For each stage of a course model: its output stride ("jump") and its receptive field.

    Walking the layers from the input: a window of size k with stride s turns (jump j, field r)
    into (j * s, r + (k - 1) * j); where branches meet (Add, Concatenate, Multiply) the field is
    the widest branch's. The field is the *theoretical* one, in input pixels along one side: the
    square of input pixels that can influence one value of the stage's output map. It may be
    wider than the image (the padding then fills the rest), and the effective field - where the
    influence is actually large - is usually much smaller (Luo et al., 2016).

    Squeeze-and-excitation and CBAM's channel attention pool over the whole map, so a gate that
    rescales a value depends on every pixel: ``global_gates`` says when a stage has them. The
    ``receptive_field`` counts only the convolution and pooling path.

    Returns one dict per stage: ``stage``, ``layer`` (its last layer), ``jump``,
    ``receptive_field``, ``output_size`` (side of the output map) and ``global_gates``.
    """
    state: dict[int, tuple] = {}  # id(tensor) -> (jump, field, global_gates, is_global)
    for tensor in model.inputs:
        state[id(tensor)] = (1, 1, False, False)
    last: dict[str, tuple] = {}
    for layer in model.layers:
        for node in getattr(layer, "_inbound_nodes", []):
            inputs = [state.get(id(t)) for t in node.input_tensors]
            if not node.input_tensors or any(i is None for i in inputs):
                continue
            local = [i for i in inputs if not i[3]]
            gates = any(i[2] or i[3] for i in inputs)
            if not local or "Global" in type(layer).__name__ or isinstance(layer, layers.Dense):
                out = (None, None, True, True)  # a global pool, or downstream of one: no spatial window
            else:
                jump = max(i[0] for i in local)
                field = max(i[1] for i in local)
                window = _spatial(layer)
                if window:
                    k, stride = window
                    field, jump = field + (k - 1) * jump, jump * stride
                out = (jump, field, gates, False)
            for t in node.output_tensors:
                state[id(t)] = out
            stage = layer.name.split("_", 1)[0]
            if stage in _STAGES and not out[3]:
                last[stage] = (layer, node.output_tensors[0], out)
    rows = []
    for stage in _STAGES:
        if stage in last:
            layer, tensor, (jump, field, gates, _) = last[stage]
            rows.append({"stage": stage, "layer": layer.name, "jump": jump, "receptive_field": field,
                         "output_size": tensor.shape[1], "global_gates": gates})
    return rows


def graphviz_available() -> bool:
    """True when both the ``pydot`` Python package and Graphviz's ``dot`` program are present."""
    return importlib.util.find_spec("pydot") is not None and shutil.which("dot") is not None


PLOT_HELP = (
    "The architecture diagram needs the Python package pydot and the Graphviz program 'dot'.\n"
    "  pip install pydot\n"
    "  and Graphviz: conda install graphviz | sudo apt-get install graphviz | brew install graphviz\n"
    "(Colab has both.) Meanwhile, print(parameter_table(model)) or model.summary() shows the same layers."
)


def plot_architecture(model: keras.Model, path="model.png", verbose: bool = True, **kwargs) -> Path | None:
    """Draw the model with ``keras.utils.plot_model`` and return the image path.

    Where pydot or Graphviz is missing, prints what to install and returns None (no error),
    so a lesson keeps running. ``kwargs`` go to ``plot_model`` (defaults: shapes shown,
    top-to-bottom, 72 dpi).
    """
    if not graphviz_available():
        if verbose:
            print(PLOT_HELP)
        return None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"show_shapes": True, "show_layer_names": True, "dpi": 72, "rankdir": "TB"}
    options.update(kwargs)
    keras.utils.plot_model(model, to_file=str(path), **options)
    return path


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
