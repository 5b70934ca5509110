"""Input-pipeline efficiency: training from image files with augmentation vs. from memory.

    python benchmarks/pipeline_efficiency.py                 # reference model, 96 px, batch 32
    python benchmarks/pipeline_efficiency.py --model laptop --json results/pipeline.json

Both runs train the same model (same weights at the start), on the same images, with the same
batch size, in one process, alternating A/B so that machine noise hits both:

- **files**: ``pipeline.from_files`` - read and decode PNG files in parallel, cache, shuffle,
  batch, augment whole batches with the reference recipe as one fused warp
  (``pipeline.fast_augmentation``, what training uses), prefetch;
- **files, 5 layers**: the same, with the recipe as five preprocessing layers
  (``pipeline.augmentation_layers``, lesson 06's teaching version) - for comparison;
- **memory**: the same images already decoded into one in-memory tensor, batched, no
  augmentation, no decoding - the fastest input the model can get.

Efficiency = images/s(files) / images/s(memory). The first epoch of the files pipeline also
decodes the files (before the cache holds them); it is reported separately.
Research and education only: not for clinical use.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cancer_course._tf import quiet_import  # noqa: E402
from cancer_course.environment import machine_description  # noqa: E402


class _EpochTimer:
    def __init__(self):
        import keras

        class Timer(keras.callbacks.Callback):
            def on_epoch_begin(cb, epoch, logs=None):
                cb.t0 = time.perf_counter()

            def on_epoch_end(cb, epoch, logs=None):
                self.times.append(time.perf_counter() - cb.t0)

        self.times: list[float] = []
        self.callback = Timer()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=["reference", "laptop"], default="reference")
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--images", type=int, default=640, help="training images (a multiple of the batch)")
    parser.add_argument("--rounds", type=int, default=3, help="A/B rounds of --epochs epochs each")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    tf = quiet_import()
    import keras
    import numpy as np

    from cancer_course import pipeline, synth, training
    from cancer_course.model import build_model, from_profile
    from cancer_course.pipeline import load_splits

    size, batch = args.image_size, args.batch_size
    with tempfile.TemporaryDirectory() as tmp:
        root = synth.generate_dataset(Path(tmp) / "tiles", image_size=size, n_train=args.images,
                                      n_validation=32, n_test=32, seed=0)
        paths, labels = load_splits(root, image_size=size).files("train")
        files_ds = pipeline.from_files(paths, labels, size, batch, shuffle=True,
                                       augment=pipeline.fast_augmentation(1.0), cache=True)
        layers_ds = pipeline.from_files(paths, labels, size, batch, shuffle=True,
                                        augment=pipeline.augmentation_layers(1.0), cache=True)
        images = np.stack([pipeline.decode_image(str(p), size).numpy() for p in paths])
        onehot = np.eye(2, dtype="float32")[labels]
        memory_ds = tf.data.Dataset.from_tensor_slices((images, onehot)).batch(batch).prefetch(tf.data.AUTOTUNE)

        keras.utils.set_random_seed(0)
        if args.model == "reference":
            model = build_model(input_shape=(size, size, 3), seed=0)
        else:
            model = from_profile("laptop", input_shape=(size, size, 3), seed=0)
        training.compile_model(model)
        timers = {"files": _EpochTimer(), "layers": _EpochTimer(), "memory": _EpochTimer()}
        first = _EpochTimer()
        model.fit(files_ds, epochs=1, verbose=0, callbacks=[first.callback])  # decodes files, fills the cache
        model.fit(layers_ds, epochs=1, verbose=0)  # fills the other pipeline's cache
        model.fit(memory_ds, epochs=1, verbose=0)  # warm-up of the other input signature
        for _ in range(args.rounds):
            for name, ds in (("files", files_ds), ("layers", layers_ds), ("memory", memory_ds)):
                model.fit(ds, epochs=args.epochs, verbose=0, callbacks=[timers[name].callback])

    n = len(paths)
    rate = {k: n / statistics.median(t.times) for k, t in timers.items()}
    result = {
        "command": "python benchmarks/pipeline_efficiency.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine_description(),
        "model": args.model, "parameters": model.count_params(), "image_size": size, "batch_size": batch,
        "images": n, "epochs_timed_each": args.rounds * args.epochs,
        "images_per_s_files_augmented": round(rate["files"], 1),
        "images_per_s_files_5_layers": round(rate["layers"], 1),
        "images_per_s_memory": round(rate["memory"], 1),
        "efficiency": round(rate["files"] / rate["memory"], 3),
        "efficiency_5_layers": round(rate["layers"] / rate["memory"], 3),
        "first_epoch_images_per_s_decoding_files": round(n / first.times[0], 1),
    }
    m = result["machine"]
    print(f"command : {result['command'].strip()}\nmachine : {m['cpu']}, {m['cores']} cores, GPU: {m['gpu']}, "
          f"TensorFlow {m['tensorflow']}")
    print(f"model   : {args.model} ({result['parameters']:,} parameters), {size} px, batch {batch}, {n} images")
    print(f"files + augmentation (one fused warp) : {result['images_per_s_files_augmented']:8.1f} images/s")
    print(f"files + augmentation (five layers)    : {result['images_per_s_files_5_layers']:8.1f} images/s")
    print(f"in memory, no augmentation            : {result['images_per_s_memory']:8.1f} images/s")
    print(f"efficiency                            : {result['efficiency']:.3f}  (target >= 0.9)")
    print(f"efficiency with the five layers       : {result['efficiency_5_layers']:.3f}")
    print(f"first epoch, decoding files into the cache: {result['first_epoch_images_per_s_decoding_files']:.1f} images/s "
          "(includes graph tracing)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
