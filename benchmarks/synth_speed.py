"""How fast is the embedded dataset generator? Tiles per second, one process, PNGs written.

    python benchmarks/synth_speed.py [--tiles 1000] [--image-size 96]

Runs `generate_dataset` (draw every tile and write it as PNG) into a temporary folder, once to
warm up and then `--repeats` times, and prints the best rate with the machine it ran on: per
second of wall-clock time, and per second of this process's CPU time (the fairer figure when
other programs share the CPU; the load average is printed too).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cancer_course.synth import GENERATOR_VERSION, generate_dataset  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=int, default=1000, help="tiles per run (split 80/10/10)")
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n_val = n_test = args.tiles // 10
    n_train = args.tiles - n_val - n_test
    rates, cpu_rates = [], []
    with tempfile.TemporaryDirectory() as tmp:
        generate_dataset(Path(tmp) / "warm-up", args.image_size, 20, 0, 0)
        for r in range(args.repeats):
            start, cpu_start = time.perf_counter(), time.process_time()
            generate_dataset(Path(tmp) / f"run{r}", args.image_size, n_train, n_val, n_test, seed=r)
            rates.append(args.tiles / (time.perf_counter() - start))
            cpu_rates.append(args.tiles / (time.process_time() - cpu_start))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"synth speed ({GENERATOR_VERSION}): {max(rates):.0f} tiles/s wall-clock, {max(cpu_rates):.0f} tiles per "
          f"CPU-second, at {args.image_size} px, one process (wall-clock runs: {', '.join(f'{r:.0f}' for r in rates)}; "
          f"load average {load:.2f})")
    print(f"command: python benchmarks/synth_speed.py --tiles {args.tiles} --image-size {args.image_size}")
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}")


if __name__ == "__main__":
    main()
