"""The course's one image decoder vs TensorFlow's own and vs Pillow for every file, on PNG tiles.

    python benchmarks/image_decoder.py                  # 2,000 tiles of 96 px, 3 repeats
    python benchmarks/image_decoder.py --n 5000 --size 64 --repeats 5

``cancer_course.images.decode_image`` reads 8-bit grey/RGB/RGBA PNGs with ``tf.io.decode_png`` and
every other file with Pillow through ``tf.numpy_function`` (so that TIFF and WebP are read and every
command gets the same pixels). This script measures what that costs where it could hurt, the
``tf.data`` input of training on PNG tiles, for three decoders: TensorFlow's ``decode_image`` (the
decoder before), the course's, and Pillow for every file (what the course would cost without its
PNG fast path):

- **pipeline**: images/s of ``map(decode) -> batch(64) -> prefetch``, parallel (AUTOTUNE), one
  pass over the files (the course caches after the first epoch, so this is the first epoch's input);
- **epoch**: seconds of one ``model.fit`` epoch of a small CNN fed by that pipeline (uncached).

The decoders alternate, median of ``--repeats``; it also checks that they give the same pixels on these PNGs.
Research and education only: not for clinical use.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def tf_decode(path, size):
    import tensorflow as tf

    from cancer_course.images import resize_and_scale

    raw = tf.io.read_file(path)
    return resize_and_scale(tf.io.decode_image(raw, channels=3, dtype=tf.uint8, expand_animations=False), size)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import keras
    import numpy as np
    import tensorflow as tf

    from cancer_course.images import _rgb_for_tensorflow, decode_image, resize_and_scale

    def pillow_decode(path, size):
        pixels = tf.numpy_function(_rgb_for_tensorflow, [path], tf.uint8, stateful=False)
        pixels.set_shape((None, None, 3))
        return resize_and_scale(pixels, size)
    from cancer_course.synth import generate_dataset

    print(f"$ python benchmarks/image_decoder.py --n {args.n} --size {args.size} --repeats {args.repeats}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"TensorFlow {tf.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        root = generate_dataset(Path(tmp) / "tiles", image_size=args.size, n_train=args.n, n_validation=2, n_test=2)
        paths = sorted(str(p) for p in (Path(root) / "train").rglob("*.png"))
        same = all(np.array_equal(tf_decode(p, args.size).numpy(), decode_image(p, args.size).numpy())
                   and np.array_equal(tf_decode(p, args.size).numpy(), pillow_decode(p, args.size).numpy())
                   for p in paths[:50])
        print(f"{len(paths)} PNG tiles of {args.size} px; same pixels from the three decoders (50 checked): {same}")
        labels = np.array([int("/malignant/" in p) for p in paths], dtype=np.int32)

        def dataset(decode):
            ds = tf.data.Dataset.from_tensor_slices((paths, labels))
            ds = ds.map(lambda p, y: (decode(p, args.size), y), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
            return ds.batch(64).prefetch(tf.data.AUTOTUNE)

        inputs = keras.Input((args.size, args.size, 3))
        x = keras.layers.Conv2D(16, 3, strides=2, activation="relu")(inputs)
        x = keras.layers.Conv2D(32, 3, strides=2, activation="relu")(x)
        x = keras.layers.GlobalAveragePooling2D()(x)
        model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(dataset(tf_decode).take(2), epochs=1, verbose=0)  # trace once
        decoders = {"tf.io.decode_image": tf_decode, "course (images.py)": decode_image, "Pillow, every file": pillow_decode}
        results = {name: {"pipeline": [], "epoch": []} for name in decoders}
        for _ in range(args.repeats):
            for name, decode in decoders.items():
                start = time.perf_counter()
                for _batch in dataset(decode):
                    pass
                results[name]["pipeline"].append(len(paths) / (time.perf_counter() - start))
                start = time.perf_counter()
                model.fit(dataset(decode), epochs=1, verbose=0)
                results[name]["epoch"].append(time.perf_counter() - start)
    print(f"{'decoder':<22}{'pipeline images/s':>20}{'epoch s':>10}")
    for name, r in results.items():
        print(f"{name:<22}{statistics.median(r['pipeline']):>20.0f}{statistics.median(r['epoch']):>10.2f}"
              f"   (pipeline {min(r['pipeline']):.0f}-{max(r['pipeline']):.0f}, epoch {min(r['epoch']):.2f}-{max(r['epoch']):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
