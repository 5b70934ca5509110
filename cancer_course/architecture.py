"""Looking inside a model: how many parameters and where they sit (:func:`count_parameters`,
:func:`parameter_table`), how much of the image each stage sees (:func:`receptive_fields`) and the
architecture diagram (:func:`plot_architecture`). Used from lesson 03 on; :mod:`cancer_course.model`
re-exports every name, so ``from cancer_course.model import parameter_table`` works too.

Research and education only: not a medical device, not for clinical use.
"""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path

import keras
from keras import layers

__all__ = [
    "count_parameters",
    "parameter_table",
    "ParameterTable",
    "plot_architecture",
    "receptive_fields",
    "graphviz_available",
]


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
