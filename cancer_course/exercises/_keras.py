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
