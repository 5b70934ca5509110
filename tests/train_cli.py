"""What the `train` command's subprocess tests run: the CLI, optionally with a tiny model swapped in."""

TRAIN = "import sys\nfrom cancer_course.cli import main\nsys.exit(main(sys.argv[1:]))\n"

# A prelude that swaps in a model that traces and XLA-compiles in a second (the smoke model's graph
# takes ~30 s to trace on a 2-core CPU, and about a minute to compile with XLA).
TINY = """
import keras
import cancer_course.model as course_model

def tiny(profile=None, output="softmax", seed=None, input_shape=(32, 32, 3), **kwargs):
    inputs = keras.Input(input_shape, name="image")
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="head_output")(x))

course_model.from_profile = tiny
"""
