"""Training throughput of the `full` profile (the reference model, 224 px) in float32, mixed precision and XLA.

    python benchmarks/gpu_throughput.py                       # on a machine with a GPU
    python benchmarks/gpu_throughput.py --allow-cpu --size 64 --steps 2   # check the script on a CPU

For each mode it builds the reference model, compiles it (Adam, categorical cross-entropy), runs
warm-up steps (tracing, XLA compilation), then times ``--steps`` training steps on random images
already on the device and reports images per second:

- ``float32``: the default;
- ``mixed``: ``keras.mixed_precision.set_global_policy("mixed_float16")`` - float16 maths on
  Tensor Cores, float32 weights; the softmax output is kept in float32 for a stable loss;
- ``xla``: float32 with ``jit_compile=True``.

Without a GPU it stops with a message unless ``--allow-cpu`` is given (mixed float16 on a CPU is
slow and says nothing about a GPU). Research and education only: not for clinical use.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cancer_course._tf import quiet_import  # noqa: E402
from cancer_course.setup import machine_description  # noqa: E402

MODES = ("float32", "mixed", "xla")


def measure(mode: str, size: int, batch: int, steps: int, warmup: int) -> dict:
    import keras
    import numpy as np

    from cancer_course.model import build_model

    keras.backend.clear_session()
    keras.mixed_precision.set_global_policy("mixed_float16" if mode == "mixed" else "float32")
    try:
        model = build_model(input_shape=(size, size, 3), seed=0)
        if mode == "mixed":  # recompute the 2-way output in float32: a float16 softmax/loss can underflow
            outputs = keras.layers.Activation("linear", dtype="float32", name="output_float32")(model.output)
            model = keras.Model(model.input, outputs)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy",
                      jit_compile=(mode == "xla"))
        rng = np.random.default_rng(0)
        x = rng.uniform(size=(batch, size, size, 3)).astype("float32")
        y = keras.utils.to_categorical(rng.integers(0, 2, batch), 2).astype("float32")
        for _ in range(warmup):
            model.train_on_batch(x, y)
        times = []
        for _ in range(steps):
            t0 = time.perf_counter()
            model.train_on_batch(x, y)
            times.append(time.perf_counter() - t0)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    median = statistics.median(times)
    return {"mode": mode, "image_size": size, "batch_size": batch, "steps": steps,
            "median_s_per_step": round(median, 4), "images_per_s": round(batch / median, 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--allow-cpu", action="store_true", help="run even without a GPU (to test the script)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    tf = quiet_import()
    if not tf.config.list_physical_devices("GPU") and not args.allow_cpu:
        print("No GPU found: this benchmark measures GPU throughput. Run it on a GPU machine "
              "(or pass --allow-cpu to check that the script works).")
        return 0
    machine = machine_description()
    rows = [measure(m, args.size, args.batch, args.steps, args.warmup) for m in args.modes]
    command = "python benchmarks/gpu_throughput.py " + " ".join(argv if argv is not None else sys.argv[1:])
    print(f"command : {command.strip()}\nmachine : {machine['cpu']}, {machine['cores']} cores, GPU: {machine['gpu']}, "
          f"TensorFlow {machine['tensorflow']}")
    print(f"{'mode':<8} {'size':>5} {'batch':>5} {'s/step':>8} {'images/s':>9}")
    for r in rows:
        print(f"{r['mode']:<8} {r['image_size']:>5} {r['batch_size']:>5} {r['median_s_per_step']:>8.4f} "
              f"{r['images_per_s']:>9.1f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"command": command.strip(), "machine": machine, "results": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
