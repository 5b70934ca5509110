"""The default values that the learner modules and the command parsers share; imports nothing.

A parser shows these in ``--help`` without importing the module that uses them (NumPy, Pillow,
TensorFlow), so every ``cancer-course ... --help`` answers at once. The modules re-export them:
``cancer_course.synth.TILES_PER_PATIENT`` is ``cancer_course.defaults.TILES_PER_PATIENT``.
"""

# The embedded dataset (cancer_course.synth)
REFERENCE_SIZE = 96  # tile side in pixels; tissue sizes are given in pixels of a 96-px tile
SPLIT_SIZES = {"train": 1600, "validation": 400, "test": 400}  # tiles per split, without a profile
DEFAULT_DIFFICULTY = 0.4  # 0 easy .. 1 impossible: how much the classes overlap
DEFAULT_MALIGNANT_FRACTION = 0.5
TILES_PER_PATIENT = 10  # tiles per patient, on average
CONFOUNDERS = ("corner", "stain")  # the label-correlated artefacts of lesson 11

# The audit (cancer_course.audit)
NEAR_THRESHOLD = 10  # bits out of 64: near-duplicate candidates, then confirmed on thumbnails

# Predictions (cancer_course.inference)
BATCH_SIZE = 64  # images per model call: large enough to amortise the call, small enough for any laptop

# Images (cancer_course.images)
EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")  # any letter case
SIZE_POLICY = ("images of another size are resized to the model's input size (bilinear, antialiased), "
               "as training does")
