"""Streaming prediction (``cancer-course predict``) vs ``model.predict`` on images already in memory.

    python benchmarks/predict_throughput.py                                # 1,000 / 10,000 / 30,000 patches, 96 px
    python benchmarks/predict_throughput.py --sizes 1000 3000 --json results/predict.json

For each number of images N it makes a folder of N links to 96x96 patches - the PCam subset in
``../shared/data/pcam`` read several times over, or, where that folder is absent, tiles of the
embedded dataset made at 96 px - and measures, each in a fresh process so that its peak memory
is its own:

- **stream**: the path of ``cancer-course predict FOLDER --output FILE.csv``: list the folder,
  decode the files with the training decoder in parallel through ``tf.data``, predict a batch at a
  time, write each batch's CSV rows; timed from the first file to the last row;
- **memory**: the same files decoded first into one float32 array (not timed), then
  ``model.predict(array)`` - the fastest the model can go, and memory that grows with N
  (N x 96 x 96 x 3 x 4 bytes). Skipped above ``--memory-max`` images.

Each (N, mode) runs ``--repeats`` times, stream and memory alternating so that a busy machine
slows both; the table shows the median images/s (and the range). Peak memory is the process's peak resident set (``getrusage`` ``ru_maxrss``); "growth" is that
peak minus the resident set just before the timed part (after loading the model and one warm-up
batch). The model is a course model with random weights (speed does not depend on them).
Research and education only: not for clinical use.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PCAM = ROOT.parent / "shared" / "data" / "pcam"


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _child(mode: str, model_path: str, folder: str, batch_size: int, out: str) -> dict:
    """One measurement, in this (fresh) process."""
    import numpy as np

    from cancer_course import inference
    from cancer_course._tf import quiet_import

    tf = quiet_import()
    model = inference.load_course_model(model_path)
    items = list(inference.expand_inputs([folder]))
    size = int(model.input_shape[1])
    inference.predict_images(model, items[:batch_size], batch_size=batch_size)  # warm-up: tracing
    if mode == "stream":
        base = _rss()
        start = time.perf_counter()
        with open(out, "w", newline="", encoding="utf-8") as handle:
            writer = inference.ResultWriter(handle, "csv")
            for batch in inference.iter_predictions(model, items, batch_size=batch_size):
                writer.write(batch)
            writer.close()
        seconds = time.perf_counter() - start
        errors = writer.failed
    else:
        from cancer_course.data import decode_image

        ds = tf.data.Dataset.from_tensor_slices(items).map(lambda p: decode_image(p, size),
                                                           num_parallel_calls=tf.data.AUTOTUNE).batch(256)
        images = np.concatenate([x.numpy() for x in ds])
        model.predict(images[:batch_size], batch_size=batch_size, verbose=0)
        base = _rss()
        start = time.perf_counter()
        model.predict(images, batch_size=batch_size, verbose=0)
        seconds = time.perf_counter() - start
        errors = 0
    peak = _peak()
    return {"mode": mode, "images": len(items), "errors": errors, "seconds": round(seconds, 2),
            "images_per_s": round(len(items) / seconds, 1), "peak_rss_mb": round(peak / 2**20, 1),
            "growth_mb": round(max(0, peak - base) / 2**20, 1)}


def _sources(tmp: Path, image_size: int) -> tuple[list[Path], str]:
    files = sorted(PCAM.glob("*/*/*.jpg")) if PCAM.is_dir() else []
    if files:
        return files, f"PCam subset ({len(files)} patches, 96 px JPEG) in {PCAM}"
    from cancer_course.synth import generate_dataset

    root = generate_dataset(tmp / "synth", image_size=image_size, n_train=800, n_validation=100, n_test=100, seed=0)
    files = sorted(root.glob("*/*/*.png"))
    return files, f"embedded-dataset tiles made at {image_size} px ({len(files)} PNGs; {PCAM} is absent)"


def _folder(tmp: Path, files: list[Path], n: int) -> Path:
    folder = tmp / f"n{n}"
    folder.mkdir()
    for i in range(n):
        source = files[i % len(files)]
        (folder / f"img_{i:06d}{source.suffix}").symlink_to(source)
    return folder


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 30000])
    parser.add_argument("--model", choices=["smoke", "laptop", "reference"], default="laptop",
                        help="which course model to time (default laptop)")
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--memory-max", type=int, default=10000,
                        help="largest N for the in-memory run (its array is N x 110 KB at 96 px)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (N, mode), alternating (default 3)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, model_path, folder, batch, out = args.child
        print("RESULT " + json.dumps(_child(mode, model_path, folder, int(batch), out)))
        return 0

    from cancer_course._tf import quiet_import
    from cancer_course.environment import machine_description
    from cancer_course.model import build_model, from_profile

    quiet_import()
    machine = machine_description()
    command = "python benchmarks/predict_throughput.py " + " ".join(argv if argv is not None else sys.argv[1:])
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        files, source = _sources(tmp, args.image_size)
        shape = (args.image_size, args.image_size, 3)
        model = build_model(input_shape=shape, seed=0) if args.model == "reference" else \
            from_profile(args.model, seed=0, input_shape=shape)
        model.save(tmp / "model.keras")
        print(f"command : {command.strip()}\nmachine : {machine['cpu']}, {machine['cores']} cores, GPU: "
              f"{machine['gpu']}, TensorFlow {machine['tensorflow']}, Keras {machine['keras']}\n"
              f"images  : {source}\nmodel   : {model.name} ({model.count_params():,} parameters), "
              f"batch {args.batch_size}", flush=True)
        for n in args.sizes:
            folder = _folder(tmp, files, n)
            runs = {}
            for _ in range(args.repeats):
                for mode in ("stream", "memory"):
                    if mode == "memory" and n > args.memory_max:
                        continue
                    run = subprocess.run([sys.executable, __file__, "--child", mode, str(tmp / "model.keras"),
                                          str(folder), str(args.batch_size), str(tmp / "out.csv")],
                                         capture_output=True, text=True)
                    if run.returncode != 0:
                        print(run.stderr[-3000:], file=sys.stderr)
                        return 1
                    runs.setdefault(mode, []).append(json.loads(run.stdout.split("RESULT ", 1)[1]))
            for mode, results in runs.items():
                speeds = [r["images_per_s"] for r in results]
                rows.append({"n": n, "mode": mode, "images_per_s": statistics.median(speeds),
                             "images_per_s_range": [min(speeds), max(speeds)],
                             "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
                             "growth_mb": max(r["growth_mb"] for r in results), "runs": results})
                r = rows[-1]
                print(f"{n:>7} {mode:<7} {r['images_per_s']:>8.1f} images/s ({min(speeds):.0f}-{max(speeds):.0f})  "
                      f"peak {r['peak_rss_mb']:>7.1f} MB  growth {r['growth_mb']:>7.1f} MB", flush=True)
    by = {(r["n"], r["mode"]): r for r in rows}
    for n in args.sizes:
        if (n, "memory") in by:
            ratio = by[(n, "stream")]["images_per_s"] / by[(n, "memory")]["images_per_s"]
            print(f"{n:>7}: stream / in-memory throughput (medians) = {ratio:.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"command": command.strip(), "machine": machine, "images": source,
                                         "model": args.model, "image_size": args.image_size,
                                         "batch_size": args.batch_size, "results": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
