"""Exercises for lesson 06: the input pipeline and augmentation.

q1 the reference augmentation as preprocessing layers · q2 a tf.data pipeline in the right order
(cache, shuffle, batch, prefetch) · q3 where augmentation goes · q4 steps per epoch · q5 which
augmentations keep an H&E tile's label (interpretive).
"""

from __future__ import annotations

import numpy as np

from ._choice import Choice, Option
from ._numbers import as_int
from .core import Incorrect, Problem, register, take_bounded

LESSON = "lesson 06 (input pipeline and augmentation; cancer_course/pipeline.py)"
N_SOURCE = 20


def _factor_pair(value) -> tuple[float, float]:
    if isinstance(value, list | tuple):
        return float(value[0]), float(value[1])
    return -float(value), float(value)


def _find(layers, kind):
    return [layer for layer in layers if type(layer).__name__ == kind]


class _Counter:
    def __init__(self):
        self.reads = 0


def _source(counter: _Counter):
    """A dataset of N_SOURCE (image, id) pairs that counts how often its elements are read."""
    import tensorflow as tf

    def read(i):
        counter.reads += 1
        return i

    def load(i):
        i = tf.py_function(read, [i], tf.int64)
        i.set_shape(())
        image = tf.fill((4, 4, 3), tf.cast(i, tf.float32))
        return image, i

    return tf.data.Dataset.range(N_SOURCE).map(load)


def _epoch(ds, what: str) -> list[list[int]]:
    """The ids in each batch of one pass over ``ds`` (never more than 2 * N_SOURCE batches)."""
    return [list(map(int, np.asarray(y).reshape(-1))) for _, y in take_bounded(ds, 2 * N_SOURCE, what)]


def _displacement(*orders) -> int:
    """How far ahead of its place any element came out: below the buffer size for shuffle(buffer)."""
    return max(i - position for order in orders for position, i in enumerate(order))


def _expect_pairs(ds, name: str) -> None:
    spec = ds.element_spec
    if not (isinstance(spec, tuple) and len(spec) == 2):
        raise Incorrect(f"each element of {name}(...) should be an (images, labels) pair, as in the dataset it "
                        f"receives; yours is {spec}. A .map must return both: lambda x, y: (..., y).")


def _is_prefetched(ds) -> bool:
    return "Prefetch" in type(ds).__name__


class Augmentation(Problem):
    title = "the reference augmentation as preprocessing layers"
    names = ("augmentation",)
    lesson = LESSON + ": 'augmentation_layers'"
    hints = (
        "The reference used ImageDataGenerator(rotation_range=20, width_shift_range=0.2, height_shift_range=0.2, "
        "zoom_range=0.2, horizontal_flip=True, fill_mode='nearest'). Each argument has a Keras 3 layer.",
        "RandomFlip('horizontal'), RandomRotation(...), RandomTranslation(0.2, 0.2), RandomZoom(0.2), each geometric "
        "layer with fill_mode='nearest'. RandomRotation's factor is a fraction of a full turn, not degrees.",
        "Fill in the blanks: keras.Sequential([layers.RandomFlip(____), layers.RandomRotation(____ / 360, "
        "fill_mode=____), layers.RandomTranslation(____, ____, fill_mode=____), layers.RandomZoom(____, "
        "fill_mode=____)]).",
    )
    solution_code = '''
    augmentation = keras.Sequential([
        layers.RandomFlip("horizontal"),
        layers.RandomRotation(20 / 360, fill_mode="nearest"),
        layers.RandomTranslation(0.2, 0.2, fill_mode="nearest"),
        layers.RandomZoom(0.2, fill_mode="nearest"),
    ], name="augmentation")
    '''

    def _check(self, augmentation):
        import keras

        if not isinstance(augmentation, keras.Sequential):
            raise Incorrect(f"`augmentation` should be a keras.Sequential of preprocessing layers, not "
                            f"{type(augmentation).__name__}.")
        found = augmentation.layers
        recipe = ("RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom")
        extra = [type(layer).__name__ for layer in found if type(layer).__name__ not in recipe]
        if extra:
            raise Incorrect(f"`augmentation` has {', '.join(extra)}, which the reference recipe does not have: "
                            "ImageDataGenerator's arguments give a flip, a rotation, a shift and a zoom, nothing "
                            "else (shear is left out). Remove it; lesson 06 discusses augmentations that suit "
                            "tissue.")
        for kind in recipe:
            if len(_find(found, kind)) > 1:
                raise Incorrect(f"`augmentation` has {len(_find(found, kind))} {kind} layers: one of each, "
                                "or the images are transformed twice.")
        flips = _find(found, "RandomFlip")
        if not flips:
            raise Incorrect("no RandomFlip layer: horizontal_flip=True becomes layers.RandomFlip('horizontal').")
        if flips[0].mode != "horizontal":
            raise Incorrect(f"RandomFlip has mode {flips[0].mode!r}: the reference flips left-right only, "
                            "RandomFlip('horizontal'). (A vertical flip may suit histology, but it is not the recipe.)")
        rotations = _find(found, "RandomRotation")
        if not rotations:
            raise Incorrect("no RandomRotation layer: rotation_range=20 becomes layers.RandomRotation(20 / 360).")
        low, high = _factor_pair(rotations[0].factor)
        if abs(high - 20 / 360) > 1e-3 or abs(low + 20 / 360) > 1e-3:
            degrees = f"±{high * 360:g} degrees" if abs(low + high) < 1e-9 else f"{low * 360:g} to {high * 360:g} degrees"
            raise Incorrect(f"RandomRotation's factor {rotations[0].factor!r} rotates by {degrees}: the factor is a "
                            "fraction of a full turn, so ±20 degrees is 20 / 360 ≈ 0.056.")
        shifts = _find(found, "RandomTranslation")
        if not shifts:
            raise Incorrect("no RandomTranslation layer: width/height_shift_range=0.2 becomes "
                            "layers.RandomTranslation(0.2, 0.2).")
        shift = shifts[0]
        if _factor_pair(shift.height_factor) != (-0.2, 0.2) or _factor_pair(shift.width_factor) != (-0.2, 0.2):
            raise Incorrect(f"RandomTranslation has height_factor {shift.height_factor!r} and width_factor "
                            f"{shift.width_factor!r}; the reference shifts by up to 20% each way: (0.2, 0.2).")
        zooms = _find(found, "RandomZoom")
        if not zooms:
            raise Incorrect("no RandomZoom layer: zoom_range=0.2 becomes layers.RandomZoom(0.2).")
        if _factor_pair(zooms[0].height_factor) != (-0.2, 0.2):
            raise Incorrect(f"RandomZoom has height_factor {zooms[0].height_factor!r}; the reference zooms by up "
                            "to 20% in or out: RandomZoom(0.2).")
        for layer in rotations + shifts + zooms:
            if layer.fill_mode != "nearest":
                raise Incorrect(f"{type(layer).__name__} fills new pixels with fill_mode={layer.fill_mode!r}; the "
                                "reference repeats the nearest edge pixel: fill_mode='nearest' (Keras' default is "
                                "'reflect').")
        images = np.random.default_rng(0).uniform(size=(4, 16, 16, 3)).astype("float32")
        if not np.allclose(np.asarray(augmentation(images, training=False)), images):
            raise Incorrect("`augmentation` changes images with training=False: augmentation must only act during "
                            "training (no Rescaling or other fixed transform in this Sequential).")
        out = np.asarray(augmentation(images, training=True))
        if out.shape != images.shape:
            raise Incorrect(f"`augmentation` turns a batch of shape {images.shape} into {out.shape}: augmentation "
                            "must keep the image size.")
        return "Flip, rotate ±20°, shift ±20%, zoom ±20%, nearest fill - and a no-op outside training."


class Pipeline(Problem):
    title = "a tf.data pipeline: cache, shuffle, batch, prefetch"
    names = ("make_pipeline",)
    lesson = LESSON + ": 'from_files'"
    hints = (
        "Four steps, and the order matters: cache (decode once), shuffle (a new order every epoch), batch, "
        "prefetch (prepare the next batch while the model trains).",
        "If you shuffle before caching, the cache stores the first epoch's order and replays it every epoch. If you "
        "batch before shuffling, you only shuffle whole batches.",
        "Fill in the blanks: return ds.____().shuffle(____, seed=seed).____(batch_size).prefetch(____)",
    )
    solution_code = '''
    def make_pipeline(ds, batch_size, shuffle_buffer, seed=None):
        ds = ds.cache()
        ds = ds.shuffle(shuffle_buffer, seed=seed)
        ds = ds.batch(batch_size)
        return ds.prefetch(tf.data.AUTOTUNE)
    '''

    def _check(self, make_pipeline):
        import tensorflow as tf

        counter = _Counter()
        ds = make_pipeline(_source(counter), batch_size=4, shuffle_buffer=N_SOURCE, seed=None)
        if not isinstance(ds, tf.data.Dataset):
            raise Incorrect(f"make_pipeline returned {type(ds).__name__}, not a tf.data.Dataset.")
        _expect_pairs(ds, "make_pipeline")
        what = "make_pipeline(ds, batch_size=4, shuffle_buffer=20)"
        first, second = _epoch(ds, what), _epoch(ds, what)
        for epoch in (first, second):
            flat = sorted(i for batch in epoch for i in batch)
            if flat != list(range(N_SOURCE)):
                raise Incorrect(f"one pass over the pipeline gave {len(flat)} elements for a source of {N_SOURCE}: an "
                                "epoch must hold every element exactly once (no repeat() or take() here).")
        if [len(b) for b in first][0] != 4:
            raise Incorrect(f"the first batch holds {len(first[0])} elements with batch_size=4: batch with "
                            ".batch(batch_size).")
        order1, order2 = [i for b in first for i in b], [i for b in second for i in b]
        if order1 == list(range(N_SOURCE)):
            raise Incorrect("the elements come out in their original order: shuffle them (.shuffle(shuffle_buffer)).")
        if all(sorted(b) == list(range(min(b), min(b) + len(b))) and min(b) % 4 == 0 for b in first + second):
            raise Incorrect("every batch holds 4 consecutive elements: you shuffled whole batches. Shuffle the "
                            "elements first, then batch.")
        if counter.reads > N_SOURCE:
            raise Incorrect(f"two epochs read the source {counter.reads} times for {N_SOURCE} elements: cache the "
                            "decoded elements (.cache()) so that later epochs do not read and decode again.")
        if order1 == order2:
            raise Incorrect("both epochs come out in the same order: the cache stored the first shuffled order. "
                            "Cache *before* shuffling, so that every epoch is shuffled anew (and keep shuffle's "
                            "reshuffle_each_iteration=True, its default).")
        if _displacement(order1, order2) <= 3:
            raise Incorrect("with shuffle_buffer=20 and batch_size=4, no element came out more than 3 places ahead "
                            "of where it was: your shuffle buffer holds only batch_size elements. Shuffle with "
                            "the `shuffle_buffer` argument, .shuffle(shuffle_buffer).")
        if not _is_prefetched(ds):
            raise Incorrect("the last step should be .prefetch(tf.data.AUTOTUNE), so the next batch is prepared "
                            "while the model trains on this one.")
        small = make_pipeline(_source(_Counter()), batch_size=5, shuffle_buffer=2, seed=None)
        what = "make_pipeline(ds, batch_size=5, shuffle_buffer=2)"
        orders = [[i for b in _epoch(small, what) for i in b] for _ in range(2)]
        if _displacement(*orders) > 1:
            raise Incorrect(f"with shuffle_buffer=2 an element came out {_displacement(*orders)} places ahead of "
                            "where it was: a buffer of 2 moves an element at most 1 place ahead. Shuffle with the "
                            "`shuffle_buffer` argument, not a number of your own.")
        return "Read and decoded once, a new order every epoch, batches ready in advance."


class AugmentAfterCache(Problem):
    title = "where augmentation goes"
    names = ("make_training_pipeline",)
    lesson = LESSON + ": 'from_files'"
    hints = (
        "Augmentation must give every epoch *new* random variations, and it is cheapest on whole batches.",
        "Put augment after the cache (a cache before it would freeze one 'random' version) and after the batch; "
        "prefetch stays last.",
        "Fill in the blanks: ds = ds.cache().shuffle(____, seed=seed).batch(____); ds = ds.map(lambda x, y: "
        "(augment(____, training=____), ____), num_parallel_calls=tf.data.AUTOTUNE); return ds.____(tf.data.AUTOTUNE)",
    )
    solution_code = '''
    def make_training_pipeline(ds, augment, batch_size, seed=None):
        ds = ds.cache().shuffle(1000, seed=seed).batch(batch_size)
        ds = ds.map(lambda x, y: (augment(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
        return ds.prefetch(tf.data.AUTOTUNE)
    '''

    def _check(self, make_training_pipeline):
        import tensorflow as tf

        shapes = []

        def augment(x, training=False):
            if not isinstance(training, bool):
                raise Incorrect(f"augment was called with training={training!r}: .map passes each (images, labels) "
                                "pair as two arguments, so .map(augment) calls augment(images, labels). Map with "
                                "lambda x, y: (augment(x, training=True), y).")
            shapes.append(x.shape.rank)
            noise = tf.random.uniform(tf.shape(x), 0.1, 0.9) if training else tf.zeros_like(x)
            return x + noise

        counter = _Counter()
        ds = make_training_pipeline(_source(counter), augment, 4)
        if not isinstance(ds, tf.data.Dataset):
            raise Incorrect(f"make_training_pipeline returned {type(ds).__name__}, not a tf.data.Dataset.")
        _expect_pairs(ds, "make_training_pipeline")

        def by_id():
            seen, order = {}, []
            for x, y in take_bounded(ds, 2 * N_SOURCE, "make_training_pipeline(ds, augment, batch_size=4)"):
                for image, i in zip(np.asarray(x), np.asarray(y).reshape(-1)):
                    seen[int(i)] = image
                    order.append(int(i))
            return seen, order

        (first, order1), (second, order2) = by_id(), by_id()
        if sorted(order1) != list(range(N_SOURCE)):
            raise Incorrect(f"one epoch should hold each of the {N_SOURCE} elements once; yours held {len(order1)} "
                            f"({len(first)} different ones): no repeat() or take() here.")
        if order1 == order2 == list(range(N_SOURCE)):
            raise Incorrect("the elements come out in their original order, every epoch: shuffle them after the "
                            "cache, as in make_pipeline (e.g. .shuffle(1000, seed=seed)).")
        blocks = [sorted(order[k:k + 4]) for order in (order1, order2) for k in range(0, N_SOURCE, 4)]
        if all(b == list(range(b[0], b[0] + 4)) and b[0] % 4 == 0 for b in blocks):
            raise Incorrect("every batch holds 4 consecutive elements: you shuffled whole batches. Shuffle the "
                            "elements first, then batch.")
        if _displacement(order1, order2) <= 3:
            raise Incorrect("no element came out more than 3 places ahead of where it was: a shuffle buffer of "
                            "batch_size barely mixes. Use a buffer at least as large as the dataset "
                            "(e.g. .shuffle(1000)).")
        if all(np.allclose(first[i], i) for i in first):
            raise Incorrect("the images come out unchanged: apply augment(x, training=True) with .map(...) "
                            "(with training=False preprocessing layers do nothing).")
        if all(np.allclose(first[i], second[i]) for i in first):
            raise Incorrect("each image has the same 'random' augmentation in both epochs: augmentation runs before "
                            "the cache, which stores its first result. Augment after .cache().")
        if counter.reads > N_SOURCE:
            raise Incorrect(f"two epochs read the source {counter.reads} times: keep the .cache() (before shuffling "
                            "and augmenting).")
        if shapes and min(shapes) < 4:
            raise Incorrect("augment is called on single images: batch first, then augment whole batches "
                            "(one vectorised call per batch is much faster).")
        if not _is_prefetched(ds):
            raise Incorrect("end with .prefetch(tf.data.AUTOTUNE).")
        return "New variations every epoch, computed on whole batches, after the cache."


class StepsPerEpoch(Problem):
    title = "steps per epoch"
    names = ("steps",)
    lesson = LESSON + ": 'steps_per_epoch'"
    hints = (
        "How many batches does one pass over 1,000 images take with batch size 32?",
        "1000 / 32 = 31.25: the last, smaller batch is a step too.",
        "Fill in the blanks: steps = math.____(1000 / ____): the last, smaller batch counts as a step.",
    )
    solution_code = '''
    steps = math.ceil(1000 / 32)
    '''

    def _check(self, steps):
        if isinstance(steps, float) and not float(steps).is_integer():
            raise Incorrect(f"`steps` = {steps}: steps are whole batches; round up, the last partial batch is a "
                            "step too (math.ceil).")
        got = as_int(steps, "steps")
        if got == 31:
            raise Incorrect("`steps` = 31 drops the last 8 images: the last, partial batch is a step too "
                            "(math.ceil(1000 / 32)), unless you batch with drop_remainder=True.")
        if got != 32:
            raise Incorrect(f"`steps` = {got}: one epoch over 1,000 images in batches of 32 is ceil(1000 / 32) steps.")
        return "31 full batches and one of 8 images."


def _augmentation_options() -> dict:
    return {
        "A": Option("rotations by 90, 180 and 270 degrees", True,
                    "a tile cut from a slide has no 'up': every rotation is a tile the scanner could have produced, "
                    "with the same nuclei and the same label (and no corners to fill)."),
        "B": Option("horizontal and vertical flips", True,
                    "a mirrored tile shows the same tissue; together with the 90-degree rotations these are the "
                    "eight symmetries of the square (RandomDihedral in cancer_course.pipeline)."),
        "C": Option("a mild jitter of the stain colours (e.g. in HED space)", True,
                    "stain strength and hue differ between labs and days; a mild jitter keeps the morphology, which "
                    "carries the label, and teaches the model to ignore the lab."),
        "D": Option("zoom in or out by up to 20%", False,
                    "zoom changes the apparent size of the nuclei, and enlarged nuclei are themselves a sign of "
                    "malignancy: the augmented tile may no longer match its label; tiles are scanned at a fixed "
                    "magnification anyway."),
        "E": Option("a random crop of half the tile, resized to the full size", False,
                    "that is a 2x zoom (nuclei twice as large) and may cut away the region that made the tile "
                    "malignant - the label need not hold for the crop."),
        "F": Option("small translations (a few pixels), borders filled by reflection", None,
                    "the nuclei keep their size; the reflected border invents a little tissue, harmless when small - "
                    "keeping or leaving it out are both defensible"),
        "G": Option("a strong blur", False,
                    "blur erases chromatin texture and nucleoli, which are part of what tells malignant from benign "
                    "nuclei: the blurred tile may carry too little evidence for its label."),
    }


class TissueAugmentation(Choice):
    title = "which augmentations keep an H&E tile's label"
    names = ("label_preserving",)
    lesson = LESSON + ": the section on augmentation that fits the tissue"
    question = ("You augment H&E tiles (fixed magnification) for a benign/malignant classifier. Which "
                "transformations give a tile that still deserves its label?")
    options = _augmentation_options()
    hints = (
        "Ask of each transformation: could a microscope have produced the result from the same tissue, and does "
        "it keep what a pathologist grades (size, shape and texture of the nuclei)?",
        "A slide has no up or down, and stain differs between labs. Nuclear size and chromatin texture are "
        "signs of malignancy.",
        "Three transformations are symmetries or lab-to-lab variation; three change size or texture; one is "
        "harmless when small.",
    )
    solution_code = '''
    label_preserving = {"A", "B", "C", "F"}   # F (small shifts) may be left out
    '''


q1 = Augmentation()
q2 = Pipeline()
q3 = AugmentAfterCache()
q4 = StepsPerEpoch()
q5 = TissueAugmentation()
PROBLEMS = register(globals(), "06")
