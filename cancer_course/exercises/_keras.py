"""Helpers the checks share: build a learner's block, count its parameters, compare outputs."""

from __future__ import annotations

import numpy as np

from .core import Incorrect


def shape(s) -> str:
    """``(None, 8, 8, 64)``: a shape written the way Keras prints it."""
    return "(" + ", ".join("None" if d is None else str(int(d)) for d in tuple(s)) + ")"


def build(fn, input_shape, what: str, **kwargs):
    """``keras.Model(inputs, fn(inputs, **kwargs))``, with a learner-friendly message on failure."""
    import keras

    inputs = keras.Input(shape=input_shape)
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    call = f"{what}(x{', ' + args if args else ''}) on an input of shape {shape(inputs.shape)}"
    out = fn(inputs, **kwargs)
    if out is None:
        raise Incorrect(f"{call} returned None: did you forget the `return` line?")
    if out is inputs:
        raise Incorrect(f"{call} returned its input unchanged: it should return the block's output tensor.")
    if not hasattr(out, "shape") or not isinstance(out, keras.KerasTensor):
        raise Incorrect(f"{call} returned {type(out).__name__}, not a Keras tensor: return the output of the "
                        "last layer you applied (Functional API: each layer takes a tensor and returns one).")
    return keras.Model(inputs, out), call


def counts(model) -> tuple[int, int]:
    """(trainable, non-trainable) parameters."""
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    frozen = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    return trainable, frozen


def expect_shape(model, expected, call: str, why: str) -> None:
    got = tuple(model.output.shape)
    if got != tuple(expected):
        raise Incorrect(f"{call} returned shape {shape(got)} but it should be {shape(expected)}: {why}")


def expect_params(model, expected: int, call: str, why: str) -> None:
    got = model.count_params()
    if got != expected:
        raise Incorrect(f"{call} has {got:,} parameters but it should have {expected:,}: {why}")


def transplant(src, dst) -> bool:
    """Copy ``src``'s weights into ``dst`` when both have the same weight shapes (in any order).

    Shapes are matched in the order the layers were created; returns False when the two models'
    weights cannot be paired up one to one.
    """
    src_w = [w.numpy() if hasattr(w, "numpy") else np.asarray(w) for w in src.weights]
    dst_vars = list(dst.weights)
    if len(src_w) != len(dst_vars):
        return False
    pool = list(src_w)
    values = []
    for var in dst_vars:
        match = next((i for i, w in enumerate(pool) if tuple(w.shape) == tuple(var.shape)), None)
        if match is None:
            return False
        values.append(pool.pop(match))
    for var, value in zip(dst_vars, values):
        var.assign(value)
    return True


def randomise(model, seed: int = 0, scale: float = 0.5) -> None:
    """Give every weight a random value (BN variances positive), so outputs are informative."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        value = rng.normal(0, scale, size=tuple(w.shape)).astype("float32")
        if "variance" in w.path:
            value = np.abs(value) + 0.5
        w.assign(value)


def run(model, x):
    return np.asarray(model(x, training=False))


def close(a, b, tol: float = 1e-4) -> bool:
    return a.shape == b.shape and np.allclose(a, b, rtol=tol, atol=tol)


# ---------------------------------------------------------------------------------------------
# Comparing a learner's block with a reference, on the learner's own weights
# ---------------------------------------------------------------------------------------------
def _signature(op) -> tuple:
    return type(op).__name__, tuple(tuple(int(d) for d in w.shape) for w in op.weights)


def _feeders(op) -> tuple:
    """The signatures of the nearest layers with weights that feed ``op``, and the weightless ones between."""
    found, passed, stack, seen = set(), set(), [op], set()
    while stack:
        nodes = getattr(stack.pop(), "_inbound_nodes", None) or []
        for tensor in (nodes[0].input_tensors if nodes else []):
            history = getattr(tensor, "_keras_history", None)
            if history is None or id(history[0]) in seen:
                continue
            seen.add(id(history[0]))
            if getattr(history[0], "weights", None):
                found.add(_signature(history[0]))
            else:
                passed.add(type(history[0]).__name__)
                stack.append(history[0])
    return tuple(sorted(found)), tuple(sorted(passed))


def _height(op, memo: dict) -> int:
    """How many layers with weights lie after ``op`` on the longest path to the output."""
    if id(op) not in memo:
        memo[id(op)] = 0
        best = 0
        for node in getattr(op, "_outbound_nodes", None) or []:
            after = node.operation
            best = max(best, _height(after, memo) + (1 if getattr(after, "weights", None) else 0))
        memo[id(op)] = best
    return memo[id(op)]


def _role(op, memo: dict) -> tuple:
    return _signature(op), _feeders(op), _height(op, memo)


def _weighted(model) -> list:
    return [op for op in model.operations if getattr(op, "weights", None)]


def copy_by_role(src, dst) -> bool:
    """Copy ``src``'s weights into ``dst``, layer by layer, pairing layers by what they do.

    A layer's role is its type, its weights' shapes, the layers with weights that feed it (and the
    weightless ones on the way, a max-pool say), and how many layers with weights follow it, so a
    BatchNorm after the main path's last convolution and one after the projection, or the first 1x1
    convolutions of two branches, are told apart whatever order the learner created them in; layers
    left over are paired by type and shapes in creation order. Returns False when the two models' layers cannot be paired one to one.
    """
    src_ops, dst_ops = _weighted(src), _weighted(dst)
    if len(src_ops) != len(dst_ops):
        return False
    memo: dict = {}
    src_keys = [_role(op, memo) for op in src_ops]
    unused = list(range(len(src_ops)))
    pairs, left = [], []
    for op in dst_ops:
        key = _role(op, memo)
        match = next((i for i in unused if src_keys[i] == key), None)
        if match is None:
            left.append(op)
        else:
            unused.remove(match)
            pairs.append((src_ops[match], op))
    for op in left:
        match = next((i for i in unused if src_keys[i][0] == _signature(op)), None)
        if match is None:
            return False
        unused.remove(match)
        pairs.append((src_ops[match], op))
    for a, b in pairs:
        for wa, wb in zip(a.weights, b.weights, strict=True):
            wb.assign(np.asarray(wa.numpy()))
    return True


def same_function(model, reference_fn, input_shape, seed: int = 0, tol: float = 1e-4, **kwargs) -> bool | None:
    """Does ``model`` compute what ``reference_fn(x, **kwargs)`` computes, on ``model``'s own weights?

    Builds the reference on ``input_shape``, copies the learner's (randomised) weights into it with
    :func:`copy_by_role`, and compares the two outputs on a random batch. None when the weights
    cannot be paired (a different set of layers).
    """
    import keras

    inputs = keras.Input(shape=input_shape)
    reference = keras.Model(inputs, reference_fn(inputs, **kwargs))
    if not copy_by_role(model, reference):
        return None
    x = np.random.default_rng(seed).normal(0.3, 1.0, size=(2, *input_shape)).astype("float32")
    return close(run(model, x), run(reference, x), tol)


def first_match(model, variants: dict, input_shape, **kwargs) -> str | None:
    """The message of the first of ``variants`` (message: builder) that ``model`` computes, else None."""
    for message, builder in variants.items():
        if same_function(model, builder, input_shape, **kwargs):
            return message
    return None


# What a shape error from a learner's attention block usually means (Problem.known_errors).
CHANNEL_ERRORS = (
    (r"Incompatible shapes: \[\d+(?:,\d+){3}\] vs\. \[\d+,\d+\]",
     "The gates have shape (batch, C), without the two positions axes, so they cannot multiply x: pool with "
     "keepdims=True (e.g. GlobalAveragePooling2D(keepdims=True)) so that they have shape (1, 1, C)."),
    (r"incompatible shapes|expected axis -1 of input shape to have value|Incompatible shapes",
     "The check also builds your block on another number of channels: did you hard-code the channel count? "
     "Read it from the input, channels = x.shape[-1]."),
    (r"units=0\b", "With fewer channels than the ratio (the check also tries 8 channels with ratio 16), "
                   "channels // ratio is 0: the hidden layer still needs one unit, max(1, channels // ratio)."),
)
