"""Training throughput of the `full` profile (the reference model, 224 px) in float32, mixed precision and XLA.

    python benchmarks/gpu_throughput.py                        # on a machine with a GPU
    python benchmarks/gpu_throughput.py --json results/gpu.json --modes float32 mixed xla mixed+xla
    python benchmarks/gpu_throughput.py --allow-cpu --profile smoke --size 32 --steps 2   # time a CPU anyway

Each mode builds the model exactly as ``cancer-course train`` does with the matching switches -
``training.precision`` and ``training.float32_output`` for ``--mixed-precision`` (float16 maths,
float32 weights, the ``head_output`` layer in float32, Adam inside ``LossScaleOptimizer``),
``training.compile_model(jit_compile=True)`` for ``--jit`` - runs warm-up steps (tracing, XLA
compilation), then times ``--steps`` training steps on random images already on the device and
reports the median images per second:

- ``float32``: no switch; ``mixed``: ``--mixed-precision``; ``xla``: ``--jit``; ``mixed+xla``: both.

Without a GPU it says so, makes a short CPU sanity run (the smoke model at 32 px, two steps, in
float32 and mixed precision: the script and the switches work; the figures say nothing about a
GPU) and exits 0; ``--allow-cpu`` times the configuration asked for on the CPU instead.
Research and education only: not for clinical use.
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
from cancer_course.environment import machine_description  # noqa: E402

MODES = ("float32", "mixed", "xla", "mixed+xla")


def measure(mode: str, profile: str, size: int, batch: int, steps: int, warmup: int) -> dict:
    import keras
    import numpy as np

    from cancer_course import training
    from cancer_course.model import from_profile

    keras.backend.clear_session()
    mixed, xla = mode.startswith("mixed"), mode.endswith("xla")
    with training.precision(mixed):
        model = from_profile(profile, seed=0, input_shape=(size, size, 3))
        if mixed:
            model = training.float32_output(model)
        training.compile_model(model, jit_compile=xla, run_eagerly=False)
        rng = np.random.default_rng(0)
        x = rng.uniform(size=(batch, size, size, 3)).astype("float32")
        y = keras.utils.to_categorical(rng.integers(0, 2, batch), 2).astype("float32")
        start = time.perf_counter()
        for _ in range(warmup):
            model.train_on_batch(x, y)
        warm = time.perf_counter() - start
        times = []
        for _ in range(steps):
            t0 = time.perf_counter()
            model.train_on_batch(x, y)
            times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    return {"mode": mode, "profile": profile, "image_size": size, "batch_size": batch, "steps": steps,
            "warmup_s": round(warm, 1), "jit_compile": bool(model.jit_compile),
            "output_dtype": model.get_layer("head_output").compute_dtype,
            "median_s_per_step": round(median, 4), "images_per_s": round(batch / median, 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="full", help="the course model to build (default full)")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--allow-cpu", action="store_true", help="time the configuration asked for on a CPU")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    tf = quiet_import()
    command = "python benchmarks/gpu_throughput.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if not tf.config.list_physical_devices("GPU") and not args.allow_cpu:
        print("No GPU found: this benchmark measures GPU throughput, so there is nothing to time here. "
              "A CPU sanity run follows (smoke model, 32 px, 2 steps, float32 and mixed precision): it checks "
              "the script and the switches, not a GPU. Run it on a GPU machine for the figures.")
        args.profile, args.size, args.batch, args.steps, args.warmup = "smoke", 32, 8, 2, 1
        args.modes = ["float32", "mixed"]  # XLA compiling a training step takes minutes on a CPU
    machine = machine_description()
    rows = [measure(m, args.profile, args.size, args.batch, args.steps, args.warmup) for m in args.modes]
    print(f"command : {command.strip()}\nmachine : {machine['cpu']}, {machine['cores']} cores, GPU: {machine['gpu']}, "
          f"TensorFlow {machine['tensorflow']}, Keras {machine['keras']}")
    print(f"{'mode':<10} {'profile':<8} {'size':>5} {'batch':>5} {'warm-up s':>9} {'s/step':>8} {'images/s':>9}")
    for r in rows:
        print(f"{r['mode']:<10} {r['profile']:<8} {r['image_size']:>5} {r['batch_size']:>5} {r['warmup_s']:>9.1f} "
              f"{r['median_s_per_step']:>8.4f} {r['images_per_s']:>9.1f}")
    base = next((r for r in rows if r["mode"] == "float32"), None)
    if base:
        for r in rows:
            if r is not base:
                print(f"{r['mode']}: {r['images_per_s'] / base['images_per_s']:.2f}x float32")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"command": command.strip(), "machine": machine, "results": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
