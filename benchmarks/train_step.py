"""Training-step time of the reference model at several input sizes, on this machine.

    python benchmarks/train_step.py                      # 64, 96 and 224 px, batch 32, 10 steps each
    python benchmarks/train_step.py --sizes 64 --steps 3 --json results/train_step.json

Builds the reference architecture (:func:`cancer_course.model.build_model`, width 1.0, blocks
(3, 4, 3), head 1024/512/256, 2-way softmax - 2,563,793 parameters at every size), compiles it
with the original recipe's optimiser and loss (Adam 1e-3, categorical cross-entropy), runs a
few warm-up steps (graph tracing and compilation), then times ``--steps`` training steps with
``model.train_on_batch`` on random images and reports the median. The table puts the result
beside the original's published figure: about 5 s per step on a CPU at 224 px, batch 32.

Research and education only: not a medical device, not for clinical use.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ORIGINAL_CPU_SECONDS_PER_STEP_224 = 5.0


def time_size(size: int, batch: int, steps: int, warmup: int, jit_compile) -> dict:
    import keras
    import numpy as np

    from cancer_course.model import build_model, count_parameters

    keras.backend.clear_session()
    model = build_model(input_shape=(size, size, 3), seed=0)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy", jit_compile=jit_compile
    )
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(batch, size, size, 3)).astype("float32")
    y = keras.utils.to_categorical(rng.integers(0, 2, size=batch), 2).astype("float32")

    start = time.perf_counter()
    for _ in range(warmup):
        model.train_on_batch(x, y)
    warmup_s = time.perf_counter() - start
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    return {
        "image_size": size,
        "batch_size": batch,
        "parameters": count_parameters(model)["total"],
        "jit_compile": bool(getattr(model, "jit_compile", False)),
        "warmup_steps": warmup,
        "warmup_seconds": round(warmup_s, 3),
        "steps": steps,
        "median_s_per_step": round(median, 4),
        "min_s_per_step": round(min(times), 4),
        "max_s_per_step": round(max(times), 4),
        "images_per_s": round(batch / median, 1),
        "ratio_to_original_224_cpu": round(median / ORIGINAL_CPU_SECONDS_PER_STEP_224, 3),
    }


def format_table(machine: dict, rows: list[dict], command: str) -> str:
    lines = [
        "Reference model training step (Adam, categorical cross-entropy, train_on_batch)",
        f"command : {command}",
        f"machine : {machine['cpu']}, {machine['cores']} cores, GPU: {machine['gpu']}",
        f"software: TensorFlow {machine['tensorflow']}, Keras {machine['keras']}, Python {machine['python']}",
        "",
        f"{'size':>5}  {'batch':>5}  {'median s/step':>13}  {'min':>7}  {'max':>7}  {'images/s':>8}  "
        f"{'vs original':>11}",
    ]
    for r in rows:
        lines.append(
            f"{r['image_size']:>5}  {r['batch_size']:>5}  {r['median_s_per_step']:>13.3f}  "
            f"{r['min_s_per_step']:>7.3f}  {r['max_s_per_step']:>7.3f}  {r['images_per_s']:>8.1f}  "
            f"{r['ratio_to_original_224_cpu']:>10.2f}x"
        )
    lines += [
        "",
        f"original (published): {ORIGINAL_CPU_SECONDS_PER_STEP_224:.1f} s/step on a CPU at 224 px, batch 32 "
        "('vs original' = median / 5 s).",
        f"median of {rows[0]['steps'] if rows else 0} timed steps after {rows[0]['warmup_steps'] if rows else 0} "
        "warm-up steps; every size has the same 2,563,793 parameters.",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 96, 224], help="input sizes in pixels")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per size (median reported)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (tracing, compilation)")
    parser.add_argument(
        "--jit",
        choices=["auto", "on", "off"],
        default="off",
        help="XLA compilation (default off, as in the original)",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.warmup < 1:
        parser.error("--steps and --warmup must be at least 1")

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    jit = {"auto": "auto", "on": True, "off": False}[args.jit]
    from cancer_course.environment import machine_description

    machine = machine_description()
    rows = []
    for size in args.sizes:
        print(f"timing {size} px ...", file=sys.stderr, flush=True)
        rows.append(time_size(size, args.batch, args.steps, args.warmup, jit))
    command = "python benchmarks/train_step.py " + " ".join(argv if argv is not None else sys.argv[1:])
    print(format_table(machine, rows, command.strip()))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "command": command.strip(),
            "machine": machine,
            "original_cpu_s_per_step_224": ORIGINAL_CPU_SECONDS_PER_STEP_224,
            "results": rows,
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
