"""Mutation tests of the checks of lessons 01-06 (issue 20): for every question, known-wrong answers
that the check must reject with a message naming the mistake, and right answers other than
``solution_code`` that it must accept (learntools tests its checkers the same way). Interpretive
questions are tested in tests/test_exercises_interpretive.py."""

from __future__ import annotations

import textwrap

import pytest

from cancer_course.exercises import core, problems

LESSONS = ("01", "02", "03", "04", "05", "06")
PROBLEMS = {p.id: p for lesson in LESSONS for p in problems(lesson) if not p.interpretive}


def _scaffold() -> dict:
    """What the solution notebooks define or import before their exercises (test_exercises.py's, and more)."""
    import hashlib
    from collections import defaultdict
    from pathlib import Path

    import numpy as np
    from test_exercises import _scaffold as lesson_scaffold  # tests/ is on sys.path under pytest

    return {**lesson_scaffold(), "np": np, "hashlib": hashlib, "defaultdict": defaultdict, "Path": Path}


def _evaluate(pid: str, code: str) -> core.CheckResult:
    """Run ``code`` after the right answers of the earlier questions of its lesson, then check it."""
    problem = PROBLEMS[pid]
    ns = _scaffold()
    for p in problems(pid.split(".")[0]):
        if p is problem:
            break
        exec(textwrap.dedent(p.solution_code), ns)
    exec(textwrap.dedent(code), ns)
    return problem.evaluate(*[ns[name] for name in problem.names])


CASES: dict[str, dict] = {}

# ---------------------------------------------------------------- lesson 01
CW_HEAD = '''
def weights_from_counts(counts):
    total = counts["benign"] + counts["malignant"]
'''
CASES["01.1"] = {
    "wrong": [
        ('''
def weights_from_counts(counts):
    total = sum(counts.values())
    return {c: total / (2 * n) for c, n in counts.items()}''', "keyed by class name"),
        (CW_HEAD + '''
    return {0: total / (2 * counts["malignant"]), 1: total / (2 * counts["benign"])}''', "swapped"),
        ('''
def weights_from_counts(counts):
    return {0: 1 / counts["benign"], 1: 1 / counts["malignant"]}''', "wrong scale"),
        (CW_HEAD + '''
    return {0: counts["benign"] / total, 1: counts["malignant"] / total}''', "n_samples / (n_classes * n_class)"),
        ('''
def weights_from_counts(counts):
    return {0: 1400 / (2 * 430), 1: 1400 / (2 * 970)}''', "expected {0: 1.0, 1: 1.0}"),
        (CW_HEAD + '''
    return [total / (2 * counts["benign"]), total / (2 * counts["malignant"])]''', "wants a dict"),
        (CW_HEAD + '''
    return {"0": total / (2 * counts["benign"]), "1": total / (2 * counts["malignant"])}''', "has keys ['0', '1']"),
        (CW_HEAD + '''
    return {0: str(total / (2 * counts["benign"])), 1: str(total / (2 * counts["malignant"]))}''',
         "should be numbers"),
    ],
    "right": [
        '''
def weights_from_counts(counts):
    names = ("benign", "malignant")
    n = sum(counts[c] for c in names)
    return {label: n / (len(names) * counts[c]) for label, c in enumerate(names)}''',
    ],
}

COL_HEAD = '''
def colour_features(images):
    pixels = images.reshape(len(images), -1, 3) / 255.0
'''
CASES["01.2"] = {
    "wrong": [
        ('''
def colour_features(images):
    pixels = images.reshape(len(images), -1, 3).astype(float)
    return np.concatenate([pixels.mean(axis=1), pixels.std(axis=1)], axis=1)''', "scale the pixels"),
        (COL_HEAD + '''
    return np.concatenate([pixels.mean(axis=1), pixels.var(axis=1)], axis=1)''', "variances"),
        (COL_HEAD + '''
    return np.stack([pixels.mean(axis=1), pixels.std(axis=1)], axis=1)''', "expected (5, 6)"),
        (COL_HEAD + '''
    return np.concatenate([pixels.std(axis=1), pixels.mean(axis=1)], axis=1)''', "wrong way round"),
        (COL_HEAD + '''
    return np.stack([pixels.mean(axis=1), pixels.std(axis=1)], axis=2).reshape(len(images), 6)''',
         "interleaved"),
        (COL_HEAD + '''
    return np.concatenate([pixels.mean(axis=(0, 1)), pixels.std(axis=(0, 1))])''', "one row per tile"),
        (COL_HEAD + '''
    np.concatenate([pixels.mean(axis=1), pixels.std(axis=1)], axis=1)''', "forget the `return`"),
        (COL_HEAD + '''
    return np.concatenate([pixels.mean(axis=1), pixels.std(axis=1, ddof=1)], axis=1)''', "for the first tile"),
    ],
    "right": [
        '''
def colour_features(images):
    x = images.astype(np.float32)
    return np.concatenate([x.mean(axis=(1, 2)), x.std(axis=(1, 2))], axis=1) / 255''',
    ],
}

DUP_HEAD = '''
def cross_split_duplicates(root):
    root = Path(root)
    groups = defaultdict(list)
'''
DUP_KEEP = '''
    return [set(g) for g in groups.values() if len({f.split("/")[0] for f in g}) > 1]'''
CASES["01.3"] = {
    "wrong": [
        (DUP_HEAD + '''
    for path in sorted(root.glob("*/*/*.png")):
        groups[path.name].append(path.relative_to(root).as_posix())''' + DUP_KEEP, "share a name"),
        (DUP_HEAD + '''
    for path in sorted(root.glob("*/*/*.png")):
        groups[hashlib.sha256(path.read_bytes()).hexdigest()].append(path.relative_to(root).as_posix())
    return [set(g) for g in groups.values() if len(g) > 1]''', "not a leak"),
        (DUP_HEAD + '''
    for path in sorted(root.glob("train/*/*.png")) + sorted(root.glob("test/*/*.png")):
        groups[hashlib.sha256(path.read_bytes()).hexdigest()].append(path.relative_to(root).as_posix())''' + DUP_KEEP,
         "only partly"),
        (DUP_HEAD + '''
    for path in sorted(root.glob("*/*/*.png")):
        groups[(path.parent.name, hashlib.sha256(path.read_bytes()).hexdigest())].append(
            path.relative_to(root).as_posix())''' + DUP_KEEP, "leak(s) missed"),
        (DUP_HEAD + '''
    for path in sorted(root.glob("*/*.png")):
        groups[hashlib.sha256(path.read_bytes()).hexdigest()].append(path.relative_to(root).as_posix())''' + DUP_KEEP,
         "3 leak(s) missed"),
        (DUP_HEAD + '''
    for path in sorted(root.glob("*/*/*.png")):
        groups[hashlib.sha256(path.read_bytes()).hexdigest()].append(path.relative_to(root).as_posix())
    return [g for g in groups.values() if len({f.split("/")[0] for f in g}) > 1][0]''', "each group should be a set"),
        (DUP_HEAD + '''
    for path in sorted(root.glob("*/*/*.png")):
        groups[hashlib.sha256(path.read_bytes()).hexdigest()].append(path.relative_to(root).as_posix())
    return {h: set(g) for h, g in groups.items() if len({f.split("/")[0] for f in g}) > 1}''',
         "each group should be a set"),
        (DUP_HEAD + '''
    paths = sorted(root.glob("*/*/*.png"))
    digests = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}
    return [{a.relative_to(root).as_posix(), b.relative_to(root).as_posix()} for a in paths for b in paths
            if a < b and digests[a] == digests[b] and a.parts[-3] != b.parts[-3]]''', "reported as pairs"),
    ],
    "right": [
        '''
def cross_split_duplicates(root):
    import hashlib
    root, seen = Path(root), {}
    for path in root.rglob("*.png"):
        seen.setdefault(hashlib.md5(path.read_bytes()).hexdigest(), []).append(str(path.relative_to(root)))
    return [sorted(g) for g in seen.values() if len({Path(f).parts[0] for f in g}) >= 2]''',
    ],
}


# ---------------------------------------------------------------- lesson 02
SE_HEAD = '''
def squeeze_excitation(x, ratio=16, name="se"):
    c = x.shape[-1]
'''
CASES["02.1"] = {
    "wrong": [
        (SE_HEAD + '''
    s = layers.GlobalMaxPooling2D(keepdims=True)(x)
    s = layers.Dense(max(1, c // ratio), activation="relu")(s)
    return layers.Multiply()([x, layers.Dense(c, activation="sigmoid")(s)])''', "maximum of each channel"),
        (SE_HEAD + '''
    s = layers.GlobalAveragePooling2D(keepdims=True)(x)
    s = layers.Dense(max(1, c // ratio), activation="relu")(s)
    return layers.Dense(c, activation="sigmoid")(s)''', "the gates must have one value per input channel"),
        (SE_HEAD + '''
    s = layers.GlobalAveragePooling2D(keepdims=True)(x)
    s = layers.Dense(c, activation="relu")(s)
    return layers.Multiply()([x, layers.Dense(c, activation="sigmoid")(s)])''', "should have 580"),
        (SE_HEAD + '''
    s = layers.GlobalAveragePooling2D(keepdims=True)(x)
    s = layers.Dense(4, activation="relu")(s)
    return layers.Multiply()([x, layers.Dense(64, activation="sigmoid")(s)])''', "hard-code the channel count"),
        (SE_HEAD + '''
    s = layers.GlobalAveragePooling2D(keepdims=True)(x)
    s = layers.Dense(max(1, c // 16), activation="relu")(s)
    return layers.Multiply()([x, layers.Dense(c, activation="sigmoid")(s)])''', "use the `ratio` argument"),
        (SE_HEAD + '''
    s = layers.GlobalAveragePooling2D(keepdims=True)(x)
    s = layers.Dense(c // ratio, activation="relu")(s)
    return layers.Multiply()([x, layers.Dense(c, activation="sigmoid")(s)])''', "max(1, channels // ratio)"),
        (SE_HEAD + '''
    s = layers.GlobalAveragePooling2D(keepdims=True)(x)
    s = layers.Dense(max(1, c // ratio), activation="sigmoid")(s)
    return layers.Multiply()([x, layers.Dense(c, activation="relu")(s)])''', "use a sigmoid on the second"),
        (SE_HEAD + '''
    s = layers.GlobalAveragePooling2D()(x)
    s = layers.Dense(max(1, c // ratio), activation="relu")(s)
    return x * layers.Dense(c, activation="sigmoid")(s)''', "keepdims=True"),
        (SE_HEAD + '''
    s = layers.GlobalAveragePooling2D(keepdims=True)(x)
    s = layers.Dense(max(1, c // ratio))(s)
    return layers.Multiply()([x, layers.Dense(c, activation="sigmoid")(s)])''', "the first Dense uses ReLU"),
    ],
    "right": [
        SE_HEAD + '''
    s = keras.ops.mean(x, axis=(1, 2), keepdims=True)
    s = layers.Dense(max(1, c // ratio), activation="relu")(s)
    return x * layers.Dense(c, activation="sigmoid")(s)''',
        SE_HEAD + '''
    s = layers.Reshape((1, 1, c))(layers.GlobalAveragePooling2D()(x))
    s = layers.Dense(max(1, c // ratio))(s)
    gates = layers.Activation("sigmoid")(layers.Dense(c)(layers.ReLU()(s)))
    return layers.Multiply()([gates, x])''',
    ],
}

SC_HEAD = '''
def shortcut(x, filters, name="block"):
'''
CASES["02.2"] = {
    "wrong": [
        (SC_HEAD + '''
    return conv_bn(x, filters, 1, f"{name}_proj", relu=False)''', "an identity shortcut has no layers"),
        (SC_HEAD + '''
    if x.shape[-1] == filters:
        return x
    return conv_bn(x, filters, 1, f"{name}_proj", relu=True)''', "leave out the ReLU"),
        (SC_HEAD + '''
    if x.shape[-1] == filters:
        return x
    return layers.Conv2D(filters, 1)(x)''', "followed by BatchNormalization"),
        (SC_HEAD + '''
    if x.shape[-1] == filters:
        return x
    return conv_bn(x, filters, 3, f"{name}_proj", relu=False)''', "uses a 1x1 kernel"),
        (SC_HEAD + '''
    if x.shape[-1] >= filters:
        return x
    return conv_bn(x, filters, 1, f"{name}_proj", relu=False)''', "more or fewer"),
        (SC_HEAD + '''
    if x.shape[-1] == filters:
        return layers.Lambda(lambda t: 0.5 * t)(x)
    return conv_bn(x, filters, 1, f"{name}_proj", relu=False)''', "no parameters but changes the input"),
        (SC_HEAD + '''
    if x.shape[-1] == filters:
        return x
    return layers.Conv2D(filters, 1)(layers.BatchNormalization()(x))''', "parameters but it should have"),
    ],
    "right": [
        SC_HEAD + '''
    if x.shape[-1] == filters:
        return layers.Identity()(x)
    return conv_bn(x, filters, 1, f"{name}_proj", relu=False)''',
        SC_HEAD + '''
    if x.shape[-1] != filters:
        x = layers.Conv2D(filters, kernel_size=1)(x)
        x = layers.BatchNormalization()(x)
    return x''',
    ],
}

BLOCK_HEAD = '''
def residual_se_block(x, filters, ratio=16, name="block"):
    b = max(1, filters // 4)
'''
MAIN = '''
    y = conv_bn(x, b, 1, f"{name}_a")
    y = conv_bn(y, b, 3, f"{name}_b")
    y = conv_bn(y, filters, 1, f"{name}_c", relu=False)
'''
CASES["02.3"] = {
    "wrong": [
        (BLOCK_HEAD + MAIN + '''
    y = squeeze_excitation(y, ratio, name=f"{name}_se")
    return layers.ReLU()(y)''', "must return ReLU(x)"),
        (BLOCK_HEAD + MAIN + '''
    y = squeeze_excitation(y, ratio, name=f"{name}_se")
    return layers.ReLU()(layers.Add()([y, x]))''', "the shortcut is a 1x1 conv + BN projection"),
        (BLOCK_HEAD + '''
    y = conv_bn(x, b, 1, f"{name}_a")
    y = conv_bn(y, b, 3, f"{name}_b")
    y = conv_bn(y, filters, 1, f"{name}_c", relu=True)
    y = squeeze_excitation(y, ratio, name=f"{name}_se")
    return layers.ReLU()(layers.Add()([y, shortcut(x, filters, name)]))''', "there is a ReLU before SE"),
        (BLOCK_HEAD + '''
    y = conv_bn(x, b, 1, f"{name}_a")
    y = conv_bn(y, b, 3, f"{name}_b", relu=False)
    y = conv_bn(y, filters, 1, f"{name}_c", relu=False)
    y = squeeze_excitation(y, ratio, name=f"{name}_se")
    return layers.ReLU()(layers.Add()([y, shortcut(x, filters, name)]))''', "the 3x3 conv_bn has no ReLU"),
        (BLOCK_HEAD + MAIN + '''
    y = squeeze_excitation(y, ratio, name=f"{name}_se")
    s = x if x.shape[-1] == filters else conv_bn(x, filters, 1, f"{name}_proj", relu=True)
    return layers.ReLU()(layers.Add()([y, s]))''', "the projection has a ReLU"),
        (BLOCK_HEAD + MAIN + '''
    y = squeeze_excitation(y, name=f"{name}_se")
    return layers.ReLU()(layers.Add()([y, shortcut(x, filters, name)]))''', "as if the SE ratio were 16"),
        (BLOCK_HEAD + MAIN + '''
    y = layers.Add()([y, shortcut(x, filters, name)])
    return layers.ReLU()(squeeze_excitation(y, ratio, name=f"{name}_se"))''', "apply SE before the addition"),
        (BLOCK_HEAD + '''
    y = conv_bn(x, filters // 2, 1, f"{name}_a")
    y = conv_bn(y, filters // 2, 3, f"{name}_b")
    y = conv_bn(y, filters, 1, f"{name}_c", relu=False)
    y = squeeze_excitation(y, ratio, name=f"{name}_se")
    return layers.ReLU()(layers.Add()([y, shortcut(x, filters, name)]))''', "parameters but it should have"),
        (BLOCK_HEAD + MAIN + '''
    y = squeeze_excitation(y, ratio, name=f"{name}_se")
    return layers.Add()([y, shortcut(x, filters, name)])''', "ends with a ReLU after the addition"),
    ],
    "right": [
        BLOCK_HEAD + '''
    s = shortcut(x, filters, name)
    y = conv_bn(x, b, 1, f"{name}_a")
    y = conv_bn(y, b, 3, f"{name}_b")
    y = squeeze_excitation(conv_bn(y, filters, 1, f"{name}_c", relu=False), ratio=ratio, name=f"{name}_se")
    return keras.ops.relu(s + y)''',
    ],
}

CASES["02.4"] = {
    "wrong": [
        ("block_params, block_non_trainable = 105872 - 33024 - 1024, 1280", "without its projection shortcut"),
        ("block_params, block_non_trainable = 105872 - 1280, 1280", "trainable part only"),
        ("block_params, block_non_trainable = 105872, 2560", "not 4"),
        ("block_params, block_non_trainable = 105872 - 8464, 1280", "left out the squeeze-and-excitation"),
        ("block_params, block_non_trainable = 105872 - 4 * 640, 1280", "left out the BatchNormalization"),
        ("block_params, block_non_trainable = 105872 - 640, 1280", "biases"),
        ("block_params, block_non_trainable = 105872, 2 * 384", "forgot the projection's BN"),
        ("block_params, block_non_trainable = '105872', 1280", "should be a number"),
    ],
    "right": ["block_params, block_non_trainable = 105872.0, np.int64(1280)"],
}


# ---------------------------------------------------------------- lesson 03
MS_HEAD = '''
def multiscale_block(x, branch_filters=64, name="ms"):
    f = branch_filters
    b1 = conv_bn(x, f, 1, f"{name}_1")
    b2 = conv_bn(conv_bn(x, f, 1, f"{name}_2a"), f, 3, f"{name}_2b")
'''
B3 = '''
    b3 = conv_bn(conv_bn(conv_bn(x, f, 1, f"{name}_3a"), f, 3, f"{name}_3b"), f, 3, f"{name}_3c")
'''
B4 = '''
    b4 = conv_bn(layers.MaxPooling2D(3, strides=1, padding="same")(x), f, 1, f"{name}_4")
'''
CAT = '''
    return layers.Concatenate()([b1, b2, b3, b4])'''
CASES["03.1"] = {
    "wrong": [
        (MS_HEAD + '''
    b3 = conv_bn(conv_bn(x, f, 1, f"{name}_3a"), f, 3, f"{name}_3b")''' + B4 + CAT, "should have 9,520"),
        (MS_HEAD + B3 + B4 + '''
    return layers.Concatenate()([b2, b1, b3, b4])''', "should be branch 1 (1x1)"),
        (MS_HEAD + B3 + '''
    b4 = conv_bn(layers.MaxPooling2D(3, strides=2, padding="same")(x), f, 1, f"{name}_4")''' + CAT,
         "raised ValueError"),
        (MS_HEAD + B3 + '''
    b4 = conv_bn(layers.AveragePooling2D(3, strides=1, padding="same")(x), f, 1, f"{name}_4")''' + CAT,
         "not an average pool"),
        (MS_HEAD + B3 + '''
    b4 = conv_bn(x, f, 1, f"{name}_4")''' + CAT, "branch 4 (3x3 max-pool -> 1x1)"),
        (MS_HEAD + B3 + '''
    b4 = conv_bn(layers.MaxPooling2D(3, strides=1, padding="same")(x), f, 1, f"{name}_4", relu=False)''' + CAT,
         "branch 4 outputs negative numbers"),
        (MS_HEAD + B3 + B4 + '''
    return layers.Add()([b1, b2, b3, b4])''', "concatenated along the channels"),
        (MS_HEAD + '''
    b3 = conv_bn(conv_bn(x, f, 1, f"{name}_3a"), f, 5, f"{name}_3b")''' + B4 + CAT, "parameters but it should have"),
        (MS_HEAD.replace("f = branch_filters", "f = 64") + B3 + B4 + CAT, "four branches of branch_filters = 16"),
        (MS_HEAD.replace('f, 1, f"{name}_2a")', 'f, 1, f"{name}_2a", relu=False)') + B3 + B4 + CAT,
         "the first 1x1 of branches 2 and 3"),
    ],
    "right": [
        '''
def multiscale_block(x, branch_filters=64, name="ms"):
    f = branch_filters
    pooled = layers.MaxPooling2D(pool_size=(3, 3), strides=(1, 1), padding="same")(x)
    b4 = conv_bn(pooled, f, 1, f"{name}_4")
    b3 = conv_bn(x, f, 1, f"{name}_3a")
    for i in range(2):
        b3 = conv_bn(b3, f, 3, f"{name}_3{i}")
    b2 = conv_bn(conv_bn(x, f, 1, f"{name}_2a"), f, (3, 3), f"{name}_2b")
    b1 = conv_bn(x, f, 1, f"{name}_1")
    return keras.ops.concatenate([b1, b2, b3, b4], axis=-1)''',
    ],
}

MSW_HEAD = '''
def multiscale_block_widths(x, widths=(64, 64, 64, 64), name="msw"):
    f1, f2, f3, f4 = widths
'''
W1 = '''
    b1 = conv_bn(x, f1, 1, f"{name}_1")
'''
W2 = '''
    b2 = conv_bn(conv_bn(x, f2, 1, f"{name}_2a"), f2, 3, f"{name}_2b")
'''
W3 = '''
    b3 = conv_bn(conv_bn(conv_bn(x, f3, 1, f"{name}_3a"), f3, 3, f"{name}_3b"), f3, 3, f"{name}_3c")
'''
W4 = '''
    b4 = conv_bn(layers.MaxPooling2D(3, strides=1, padding="same")(x), f4, 1, f"{name}_4")
'''
CASES["03.2"] = {
    "wrong": [
        (MSW_HEAD.replace("f1, f2, f3, f4", "f2, f1, f3, f4") + W1 + W2 + W3 + W4 + CAT,
         "as if the widths were (12, 8, 4, 6)"),
        (MSW_HEAD + W1 + W2 + '''
    b3 = conv_bn(conv_bn(conv_bn(x, f1, 1, f"{name}_3a"), f3, 3, f"{name}_3b"), f3, 3, f"{name}_3c")''' + W4 + CAT,
         "widths[k - 1] filters in every convolution"),
        (MSW_HEAD + W1 + '''
    b2 = conv_bn(conv_bn(x, f2, 1, f"{name}_2a", relu=False), f2, 3, f"{name}_2b")''' + W3 + W4 + CAT,
         "the outputs differ"),
        (MSW_HEAD + W1 + W2 + W3 + '''
    b4 = layers.MaxPooling2D(3, strides=1, padding="same")(conv_bn(x, f4, 1, f"{name}_4"))''' + CAT,
         "not the pool after the convolution"),
        (MSW_HEAD + W1 + W2 + W3 + '''
    b4 = conv_bn(layers.AveragePooling2D(3, strides=1, padding="same")(x), f4, 1, f"{name}_4")''' + CAT,
         "not an average pool"),
        (MSW_HEAD + W1 + W2 + W3 + W4 + '''
    return layers.Concatenate()([b1, b3, b2, b4])''', "should be branch 2"),
        (MSW_HEAD.replace("f1, f2, f3, f4 = widths", "f1 = f2 = f3 = f4 = 64") + W1 + W2 + W3 + W4 + CAT,
         "the branches' widths add up"),
    ],
    "right": [
        '''
def multiscale_block_widths(x, widths=(64, 64, 64, 64), name="msw"):
    def branch(inputs, width, kernels, tag):
        for i, k in enumerate(kernels):
            inputs = conv_bn(inputs, width, k, f"{name}_{tag}{i}")
        return inputs

    pooled = layers.MaxPooling2D(3, strides=1, padding="same")(x)
    outs = [branch(x, widths[0], [1], "a"), branch(x, widths[1], [1, 3], "b"), branch(x, widths[2], [1, 3, 3], "c"),
            branch(pooled, widths[3], [1], "d")]
    return layers.Concatenate(axis=-1)(outs)''',
    ],
}

CASES["03.3"] = {
    "wrong": [
        ("ms_out_channels, ms_params = 256, 145600", "(256 is the reference model's"),
        ("ms_out_channels, ms_params = 128, 145600", "the reference model's block"),
        ("ms_out_channels, ms_params = 128, 36960 - 7 * 4 * 32", "seven BNs"),
        ("ms_out_channels, ms_params = 128, 36960 - 7 * 2 * 32", "BN has 4 numbers per channel"),
        ("ms_out_channels, ms_params = 128, 36960 - 7 * 32", "biases"),
        ("ms_out_channels, ms_params = 128, 36960 - 9 * 32 * 32 - 32 - 4 * 32", "*two* 3x3 convolutions"),
        ("ms_out_channels, ms_params = 32, 36960", "four branches of 32 filters"),
        ("ms_out_channels, ms_params = 128, 36960 + 1", "too many"),
    ],
    "right": ["ms_out_channels = 32 + 32 + 32 + 32\nms_params = 4 * (64 + 1) * 32 + 3 * (288 + 1) * 32 + 28 * 32"],
}

CASES["03.4"] = {
    "wrong": [
        ("two_3x3_params, one_5x5_params = 36928, 102464", "that is one 3x3 convolution"),
        ("two_3x3_params, one_5x5_params = 2 * 9 * 64 * 64, 102464", "add the biases"),
        ("two_3x3_params, one_5x5_params = 73856, 25 * 64 * 64", "add the 64 biases"),
        ("two_3x3_params, one_5x5_params = 102464, 73856", "are the two values swapped?"),
        ("two_3x3_params, one_5x5_params = 2 * 9 * 64 * 64 + 64, 102464", "its own 64 biases"),
        ("two_3x3_params, one_5x5_params = 73856, 36928", "5*5 weights"),
        ("two_3x3_params, one_5x5_params = 73856.5, 102464", "not a whole number"),
    ],
    "right": ["two_3x3_params, one_5x5_params = 73_856, 102_464.0"],
}


# ---------------------------------------------------------------- lesson 04
CA_HEAD = '''
def channel_attention(x, ratio=8, name="ca"):
    c = x.shape[-1]
    avg = layers.GlobalAveragePooling2D(keepdims=True)(x)
    mx = layers.GlobalMaxPooling2D(keepdims=True)(x)
'''
CASES["04.1"] = {
    "wrong": [
        (CA_HEAD + '''
    a = layers.Dense(c)(layers.Dense(c // ratio, activation="relu")(avg))
    m = layers.Dense(c)(layers.Dense(c // ratio, activation="relu")(mx))
    return layers.Multiply()([x, layers.Activation("sigmoid")(layers.Add()([a, m]))])''', "twice the shared MLP"),
        (CA_HEAD + '''
    hidden, out = layers.Dense(max(1, c // ratio), activation="relu"), layers.Dense(c)
    return layers.Multiply()([x, layers.Activation("sigmoid")(out(hidden(avg)))])''',
         "only the average-pooled descriptor"),
        (CA_HEAD + '''
    hidden, out = layers.Dense(max(1, c // 8), activation="relu"), layers.Dense(c)
    gates = layers.Activation("sigmoid")(layers.Add()([out(hidden(avg)), out(hidden(mx))]))
    return layers.Multiply()([x, gates])''', "use the `ratio` argument"),
        (CA_HEAD + '''
    hidden, out = layers.Dense(4, activation="relu"), layers.Dense(32)
    gates = layers.Activation("sigmoid")(layers.Add()([out(hidden(avg)), out(hidden(mx))]))
    return layers.Multiply()([x, gates])''', "hard-code the channel count"),
        (CA_HEAD + '''
    hidden, out = layers.Dense(max(1, c // ratio), activation="relu"), layers.Dense(c, activation="sigmoid")
    return layers.Multiply()([x, layers.Add()([out(hidden(avg)), out(hidden(mx))])])''',
         "add the two MLP outputs first, then one sigmoid"),
        (CA_HEAD + '''
    hidden, out = layers.Dense(max(1, c // ratio), activation="relu"), layers.Dense(c, activation="relu")
    gates = layers.Activation("sigmoid")(layers.Add()([out(hidden(avg)), out(hidden(mx))]))
    return layers.Multiply()([x, gates])''', "the MLP's second Dense has a ReLU"),
        (CA_HEAD + '''
    hidden, out = layers.Dense(c // ratio, activation="relu"), layers.Dense(c)
    gates = layers.Activation("sigmoid")(layers.Add()([out(hidden(avg)), out(hidden(mx))]))
    return layers.Multiply()([x, gates])''', "max(1, channels // ratio)"),
        (CA_HEAD + '''
    hidden, out = layers.Dense(max(1, c // ratio), activation="relu"), layers.Dense(c)
    avg, mx = layers.GlobalAveragePooling2D()(x), layers.GlobalMaxPooling2D()(x)
    return x * layers.Activation("sigmoid")(layers.Add()([out(hidden(avg)), out(hidden(mx))]))''', "keepdims=True"),
    ],
    "right": [
        '''
def channel_attention(x, ratio=8, name="ca"):
    c = x.shape[-1]
    mlp = keras.Sequential([layers.Dense(max(1, c // ratio), activation="relu"), layers.Dense(c)])
    avg = keras.ops.mean(x, axis=(1, 2), keepdims=True)
    mx = keras.ops.max(x, axis=(1, 2), keepdims=True)
    return x * keras.ops.sigmoid(mlp(mx) + mlp(avg))''',
    ],
}

SA_HEAD = '''
def spatial_attention(x, kernel_size=7, name="sa"):
'''
SA_MAPS = '''
    maps = layers.Concatenate(axis=-1)([ChannelPool("mean")(x), ChannelPool("max")(x)])
'''
CASES["04.2"] = {
    "wrong": [
        (SA_HEAD + '''
    a = layers.Conv2D(1, kernel_size, padding="same", activation="sigmoid")(x)
    return layers.Multiply()([x, a])''', "over all 32 channels"),
        (SA_HEAD + SA_MAPS + '''
    a = layers.Conv2D(1, 7, padding="same", activation="sigmoid")(maps)
    return layers.Multiply()([x, a])''', "use the\n`kernel_size` argument".replace("\n", " ")),
        (SA_HEAD + SA_MAPS + '''
    a = layers.Conv2D(1, kernel_size, padding="same")(maps)
    return layers.Multiply()([x, a])''', "a sigmoid follows the convolution"),
        (SA_HEAD + SA_MAPS + '''
    a = layers.Conv2D(1, kernel_size, padding="valid", activation="sigmoid")(maps)
    return layers.Multiply()([x, a])''', "raised ValueError"),
        (SA_HEAD + '''
    a = layers.Conv2D(1, kernel_size, padding="same", activation="sigmoid")(ChannelPool("mean")(x))
    return layers.Multiply()([x, a])''', "it should have 99"),
        (SA_HEAD + '''
    maps = layers.Concatenate(axis=-1)([keras.ops.mean(x, axis=-1), keras.ops.max(x, axis=-1)])
    a = layers.Conv2D(1, kernel_size, padding="same", activation="sigmoid")(maps)
    return layers.Multiply()([x, a])''', "keepdims=True"),
        (SA_HEAD + SA_MAPS + '''
    a = layers.Conv2D(1, kernel_size, padding="same", activation="sigmoid")(maps)
    return layers.Add()([x, a])''', "adds the attention map to x"),
    ],
    "right": [
        SA_HEAD + '''
    mx = keras.ops.max(x, axis=-1, keepdims=True)
    mean = keras.ops.mean(x, axis=-1, keepdims=True)
    conv = layers.Conv2D(1, kernel_size, padding="same", activation="sigmoid")
    return x * conv(keras.ops.concatenate([mx, mean], axis=-1))''',
    ],
}

CB_HEAD = '''
def cbam(x, ratio=8, kernel_size=7, name="cbam"):
'''
CASES["04.3"] = {
    "wrong": [
        (CB_HEAD + '''
    return channel_attention(spatial_attention(x, kernel_size, name=name + "_s"), ratio, name=name + "_c")''',
         "applies spatial attention first"),
        (CB_HEAD + '''
    return channel_attention(spatial_attention(x, name=name + "_s"), name=name + "_c")''',
         "applies spatial attention first"),
        (CB_HEAD + '''
    return spatial_attention(channel_attention(x, name=name + "_c"), kernel_size, name=name + "_s")''',
         "as if the ratio were 8: pass `ratio` on"),
        (CB_HEAD + '''
    return spatial_attention(channel_attention(x, ratio, name=name + "_c"), name=name + "_s")''',
         "as if kernel_size were 7: pass `kernel_size` on"),
        (CB_HEAD + '''
    gates_c = channel_attention(x, ratio, name=name + "_c")
    gates_s = spatial_attention(x, kernel_size, name=name + "_s")
    return layers.Multiply()([gates_c, gates_s])''', "pass q1 and q2, so look at how cbam combines them"),
        (CB_HEAD + '''
    return channel_attention(x, ratio, name=name + "_c")''', "pass q1 and q2"),
        (CB_HEAD + '''
    y = spatial_attention(channel_attention(x, ratio, name=name + "_c"), kernel_size, name=name + "_s")
    return layers.Add()([x, y])''', "pass q1 and q2"),
    ],
    "right": [
        CB_HEAD + '''
    refined = channel_attention(x, ratio=ratio, name=f"{name}_ca")
    located = spatial_attention(refined, kernel_size=kernel_size, name=f"{name}_sa")
    return located''',
    ],
}


def test_cbam_names_a_wrong_part_instead_of_blaming_cbam():
    """04.3 with a channel_attention that fails q1: the message points at q1, not at cbam."""
    code = CA_HEAD + '''
    hidden, out = layers.Dense(max(1, c // ratio), activation="relu"), layers.Dense(c)
    return layers.Multiply()([x, layers.Activation("sigmoid")(out(hidden(avg)))])
''' + CB_HEAD + '''
    return spatial_attention(channel_attention(x, ratio, name=name + "_c"), kernel_size, name=name + "_s")'''
    result = _evaluate("04.3", code)
    assert result.status == core.INCORRECT and "does not pass q1 yet" in result.message, result.message


CASES["04.4"] = {
    "wrong": [
        ("cbam_256_params = 2 * (256 * 32 + 32 + 32 * 256 + 256) + 99", "counted the MLP twice"),
        ("cbam_256_params = 256 * 32 + 32 + 32 * 256 + 256 + 7 * 7 * 256 + 1", "reads 2 maps"),
        ("cbam_256_params = 256 * 32 + 32 + 32 * 256 + 256", "add the spatial attention's"),
        ("cbam_256_params = 256 * 32 + 32 + 32 * 256 + 256 + 98", "has a bias too"),
        ("cbam_256_params = 256 * 32 + 32 * 256 + 98", "add the biases"),
        ("cbam_256_params = 256 * 16 + 16 + 16 * 256 + 256 + 99", "too few"),
        ("cbam_256_params = [16777]", "should be a number"),
    ],
    "right": ["cbam_256_params = 2 * 256 * 256 // 8 + 256 // 8 + 256 + 2 * 49 + 1"],
}


# ---------------------------------------------------------------- lesson 05
STEM_HEAD = '''
def stem(x, filters=64, name="stem"):
'''
CASES["05.1"] = {
    "wrong": [
        (STEM_HEAD + '''
    x = layers.Conv2D(filters, 7, strides=2, padding="same")(x)
    return layers.ReLU()(layers.BatchNormalization()(x))''', "shrinks 64 px to 16"),
        (STEM_HEAD + '''
    x = layers.Conv2D(filters, 3, strides=2, padding="same")(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    return layers.MaxPooling2D(3, strides=2, padding="same")(x)''', "large 7x7 kernel"),
        (STEM_HEAD + '''
    x = layers.ReLU()(layers.Conv2D(filters, 7, strides=2, padding="same")(x))
    return layers.MaxPooling2D(3, strides=2, padding="same")(x)''', "no BatchNormalization"),
        (STEM_HEAD + '''
    x = layers.BatchNormalization()(layers.Conv2D(filters, 7, strides=2, padding="same")(x))
    return layers.MaxPooling2D(3, strides=2, padding="same")(x)''', "a ReLU follows the BN"),
        (STEM_HEAD + '''
    x = layers.Conv2D(filters, 7, strides=2, padding="same")(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    return layers.MaxPooling2D(2, strides=2, padding="same")(x)''', "a 3x3 pool window, not 2x2"),
        (STEM_HEAD + '''
    x = layers.Conv2D(64, 7, strides=2, padding="same")(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    return layers.MaxPooling2D(3, strides=2, padding="same")(x)''', "use the `filters` argument"),
        (STEM_HEAD + '''
    x = layers.Conv2D(filters, 7, strides=2, padding="valid")(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    return layers.MaxPooling2D(3, strides=2, padding="valid")(x)''', "padding='same' on both"),
        (STEM_HEAD + '''
    x = layers.Conv2D(filters, 7, strides=2, padding="same")(x)
    x = layers.BatchNormalization()(layers.ReLU()(x))
    return layers.MaxPooling2D(3, strides=2, padding="same")(x)''', "outputs negative values"),
    ],
    "right": [
        STEM_HEAD + '''
    x = layers.Conv2D(filters, (7, 7), strides=(2, 2), padding="same")(x)
    x = layers.Activation("relu")(layers.BatchNormalization(momentum=0.9)(x))
    return layers.MaxPool2D(pool_size=3, strides=2, padding="same")(x)''',
    ],
}

HEAD_HEAD = '''
def head(x, units=(1024, 512, 256), rates=(0.5, 0.4, 0.3), name="head"):
'''
CASES["05.2"] = {
    "wrong": [
        (HEAD_HEAD + '''
    x = layers.GlobalAveragePooling2D()(x)
    for u, r in zip(units, rates):
        x = layers.Dropout(r)(layers.Dense(u, activation="relu")(x))
    return layers.Dense(2, activation="softmax")(x)''', "has no BatchNormalization"),
        (HEAD_HEAD + '''
    x = layers.GlobalAveragePooling2D()(x)
    for u in units:
        x = layers.Dropout(0.5)(layers.ReLU()(layers.BatchNormalization()(layers.Dense(u)(x))))
    return layers.Dense(2, activation="softmax")(x)''', "dropout rates [0.5, 0.5, 0.5]"),
        (HEAD_HEAD + '''
    x = layers.Flatten()(x)
    for u, r in zip(units, rates):
        x = layers.Dropout(r)(layers.ReLU()(layers.BatchNormalization()(layers.Dense(u)(x))))
    return layers.Dense(2, activation="softmax")(x)''', "parameters but it should have"),
        (HEAD_HEAD + '''
    x = layers.GlobalAveragePooling2D()(x)
    for u, r in zip(units, rates):
        x = layers.Dropout(r)(layers.ReLU()(layers.BatchNormalization()(layers.Dense(u)(x))))
    return layers.Dense(2)(x)''', "use activation='softmax'"),
        (HEAD_HEAD + '''
    x = layers.GlobalAveragePooling2D()(x)
    for u, r in zip(units, rates):
        x = layers.Dropout(r)(layers.BatchNormalization()(layers.ReLU()(layers.Dense(u)(x))))
    return layers.Dense(2, activation="softmax")(x)''', "Dense -> BatchNormalization -> ReLU -> Dropout"),
        (HEAD_HEAD + '''
    x = layers.GlobalMaxPooling2D()(x)
    for u, r in zip(units, rates):
        x = layers.Dropout(r)(layers.ReLU()(layers.BatchNormalization()(layers.Dense(u)(x))))
    return layers.Dense(2, activation="softmax")(x)''', "global *average* pool"),
        (HEAD_HEAD + '''
    x = layers.GlobalAveragePooling2D()(x)
    for u, r in zip((1024, 512, 256), rates):
        x = layers.Dropout(r)(layers.ReLU()(layers.BatchNormalization()(layers.Dense(u)(x))))
    return layers.Dense(2, activation="softmax")(x)''', "Use the `units` argument"),
        (HEAD_HEAD + '''
    x = layers.GlobalAveragePooling2D()(x)
    for u, r in zip(units, rates):
        x = layers.Dropout(r)(layers.ReLU()(layers.BatchNormalization()(layers.Dense(u)(x))))
    return layers.Dense(1, activation="sigmoid")(x)''', "p(benign), p(malignant)"),
        (HEAD_HEAD + '''
    for u, r in zip(units, rates):
        x = layers.Dropout(r)(layers.ReLU()(layers.BatchNormalization()(layers.Dense(u)(x))))
    return layers.Dense(2, activation="softmax")(x)''', "start with layers.GlobalAveragePooling2D()"),
        (HEAD_HEAD + '''
    x = layers.GlobalAveragePooling2D()(x)
    for u, r in zip(units, rates):
        x = layers.ReLU()(layers.BatchNormalization()(layers.Dropout(r)(layers.Dense(u)(x))))
    return layers.Dense(2, activation="softmax")(x)''', "with Dropout last"),
    ],
    "right": [
        HEAD_HEAD + '''
    x = keras.ops.mean(x, axis=(1, 2))
    for u, r in zip(units, rates):
        x = layers.Dense(u)(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.Dropout(rate=r)(x)
    return layers.Softmax()(layers.Dense(2)(x))''',
    ],
}

CASES["05.3"] = {
    "wrong": [
        ("small_head_params = 512 * 256 + 256 + 256 * 64 + 64 + 64 + 1", "two BNs"),
        ("small_head_params = 512 * 256 + 256 + 4 * 256 + 256 * 64 + 64 + 4 * 64 + 64 * 2 + 2", "one sigmoid unit"),
        ("small_head_params = 256 * 256 + 256 + 4 * 256 + 256 * 64 + 64 + 4 * 64 + 64 + 1", "reads 512 numbers"),
        ("small_head_params = 512 * 256 + 256 + 4 * 256 + 256 * 64 + 64 + 4 * 64", "add the output layer"),
        ("small_head_params = 512 * 256 + 256 + 2 * 256 + 256 * 64 + 64 + 2 * 64 + 64 + 1", "not 2"),
        ("small_head_params = 512 * 256 + 4 * 256 + 256 * 64 + 4 * 64 + 64", "add the biases"),
        ("small_head_params = None", "should be a number"),
    ],
    "right": ["small_head_params = (512 + 1) * 256 + 4 * 256 + (256 + 1) * 64 + 4 * 64 + 65"],
}

KNOBS = "input_shape=(64, 64, 3), width=0.5, blocks_per_stage=(1, 1, 1), head_units=(128, 64, 32)"
CASES["05.4"] = {
    "wrong": [
        (f"my_model = build_model({KNOBS})", "a sigmoid output is one unit"),
        (f"my_model = build_model({KNOBS.replace('(128, 64, 32)', '(256, 128, 64)')}, output='sigmoid')",
         "check head_units"),
        (f"my_model = build_model({KNOBS.replace('width=0.5', 'width=0.25')}, output='sigmoid')", "check width"),
        (f"my_model = build_model({KNOBS.replace('(64, 64, 3)', '(32, 32, 3)')}, output='sigmoid')",
         "input_shape=(64, 64, 3)"),
        (f"my_model = build_model({KNOBS.replace('(1, 1, 1)', '(1, 2, 1)')}, output='sigmoid')",
         "blocks_per_stage"),
        (f"my_model = build_model({KNOBS}, output='sigmoid', dropout_rates=(0.1, 0.1, 0.1))", "dropout rates"),
        (f"my_model = build_model({KNOBS}, output='sigmoid', l2=1e-4)", "L2 weight decay"),
        (f"my_model = dict({KNOBS}, output='sigmoid')", "should be a keras.Model"),
    ],
    "right": ["my_model = build_model((64, 64, 3), 0.5, (1, 1, 1), (128, 64, 32), output='sigmoid', seed=3)"],
}


# ---------------------------------------------------------------- lesson 06
def _aug(*layer_code: str) -> str:
    return "augmentation = keras.Sequential([" + ", ".join(layer_code) + "])"


FLIP, ROT = 'layers.RandomFlip("horizontal")', 'layers.RandomRotation(20 / 360, fill_mode="nearest")'
SHIFT, ZOOM = 'layers.RandomTranslation(0.2, 0.2, fill_mode="nearest")', 'layers.RandomZoom(0.2, fill_mode="nearest")'
CASES["06.1"] = {
    "wrong": [
        (_aug(FLIP, 'layers.RandomRotation(0.2, fill_mode="nearest")', SHIFT, ZOOM), "rotates by ±72 degrees"),
        (_aug(FLIP, "layers.RandomRotation(20 / 360)", "layers.RandomTranslation(0.2, 0.2)", "layers.RandomZoom(0.2)"),
         "fill_mode='nearest'"),
        (_aug(FLIP, ROT, SHIFT, ZOOM, "layers.RandomContrast(0.2)"), "RandomContrast, which the reference recipe"),
        (_aug('layers.RandomFlip("horizontal_and_vertical")', ROT, SHIFT, ZOOM), "flips left-right only"),
        (_aug(FLIP, 'layers.RandomRotation(0.5, fill_mode="nearest")', SHIFT, ZOOM), "fraction of a full turn"),
        (_aug(FLIP, ROT, 'layers.RandomTranslation(0.1, 0.1, fill_mode="nearest")', ZOOM), "up to 20% each way"),
        (_aug(FLIP, ROT, SHIFT), "no RandomZoom layer"),
        (_aug(FLIP, FLIP, ROT, SHIFT, ZOOM), "2 RandomFlip layers"),
        (_aug("layers.Rescaling(1 / 255)", FLIP, ROT, SHIFT, ZOOM), "Rescaling, which the reference recipe"),
        ("augmentation = [" + ", ".join((FLIP, ROT, SHIFT, ZOOM)) + "]", "should be a keras.Sequential"),
    ],
    "right": [
        _aug(ZOOM, SHIFT, 'layers.RandomRotation((-20 / 360, 20 / 360), fill_mode="nearest")', FLIP),
        _aug('layers.RandomFlip(mode="horizontal")', ROT,
             'layers.RandomTranslation(height_factor=(-0.2, 0.2), width_factor=0.2, fill_mode="nearest")',
             'layers.RandomZoom(height_factor=0.2, fill_mode="nearest")'),
    ],
}

PIPE_HEAD = '''
def make_pipeline(ds, batch_size, shuffle_buffer, seed=None):
'''
CASES["06.2"] = {
    "wrong": [
        (PIPE_HEAD + "    return ds.shuffle(shuffle_buffer).cache().batch(batch_size).prefetch(tf.data.AUTOTUNE)",
         "Cache *before* shuffling"),
        (PIPE_HEAD + "    return ds.cache().batch(batch_size).shuffle(shuffle_buffer).prefetch(tf.data.AUTOTUNE)",
         "shuffled whole batches"),
        (PIPE_HEAD + "    return ds.shuffle(shuffle_buffer).batch(batch_size).prefetch(tf.data.AUTOTUNE)",
         "read the source 40 times"),
        (PIPE_HEAD + "    return ds.cache().shuffle(shuffle_buffer).batch(batch_size)", ".prefetch(tf.data.AUTOTUNE)"),
        (PIPE_HEAD + "    return ds.cache().shuffle(batch_size).batch(batch_size).prefetch(tf.data.AUTOTUNE)",
         "your shuffle buffer holds only batch_size elements"),
        (PIPE_HEAD + "    return ds.cache().shuffle(1000).batch(batch_size).prefetch(tf.data.AUTOTUNE)",
         "not a number of your own"),
        (PIPE_HEAD + "    return ds.cache().batch(batch_size).prefetch(tf.data.AUTOTUNE)", "original order"),
        (PIPE_HEAD + "    return ds.cache().shuffle(shuffle_buffer).batch(batch_size).repeat().prefetch(2)",
         "never ends: remove `.repeat()`"),
        (PIPE_HEAD + "    return ds.cache().repeat().shuffle(shuffle_buffer).batch(batch_size).prefetch(2)",
         "never ends: remove `.repeat()`"),
        (PIPE_HEAD + "    return ds.cache().shuffle(shuffle_buffer).batch(batch_size).repeat(2).prefetch(2)",
         "gave 40 elements"),
        (PIPE_HEAD + "    return ds.cache().shuffle(shuffle_buffer, reshuffle_each_iteration=False).batch(batch_size)"
                     ".prefetch(2)", "reshuffle_each_iteration=True"),
        (PIPE_HEAD + "    return ds.cache().shuffle(shuffle_buffer).batch(batch_size * 2).prefetch(2)",
         "the first batch holds 8 elements"),
    ],
    "right": [
        PIPE_HEAD + '''
    ds = ds.cache().shuffle(buffer_size=shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size, num_parallel_calls=tf.data.AUTOTUNE).prefetch(buffer_size=1)''',
    ],
}

TRAIN_HEAD = '''
def make_training_pipeline(ds, augment, batch_size, seed=None):
'''
AUG_MAP = "ds = ds.map(lambda x, y: (augment(x, training=True), y))\n"
CASES["06.3"] = {
    "wrong": [
        (TRAIN_HEAD + '''
    ds = ds.map(lambda x, y: (augment(x, training=True), y)).cache().shuffle(100).batch(batch_size)
    return ds.prefetch(tf.data.AUTOTUNE)''', "runs before the cache"),
        (TRAIN_HEAD + '''
    ds = ds.cache().batch(batch_size)
    ''' + AUG_MAP + '''
    return ds.prefetch(tf.data.AUTOTUNE)''', "original order, every epoch"),
        (TRAIN_HEAD + '''
    ds = ds.cache().shuffle(batch_size).batch(batch_size)
    ''' + AUG_MAP + '''
    return ds.prefetch(tf.data.AUTOTUNE)''', "a shuffle buffer of batch_size barely mixes"),
        (TRAIN_HEAD + '''
    ds = ds.cache().shuffle(1000).batch(batch_size).repeat()
    ''' + AUG_MAP + '''
    return ds.prefetch(tf.data.AUTOTUNE)''', "never ends: remove `.repeat()`"),
        (TRAIN_HEAD + '''
    ds = ds.cache().shuffle(1000)
    ''' + AUG_MAP + '''
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)''', "augment is called on single images"),
        (TRAIN_HEAD + '''
    ds = ds.cache().shuffle(1000).batch(batch_size)
    ds = ds.map(lambda x, y: (augment(x), y))
    return ds.prefetch(tf.data.AUTOTUNE)''', "the images come out unchanged"),
        (TRAIN_HEAD + '''
    ds = ds.cache().shuffle(1000).batch(batch_size)
    return ds.map(lambda x, y: (augment(x, training=True), y))''', "end with .prefetch"),
        (TRAIN_HEAD + '''
    return ds.cache().shuffle(1000).batch(batch_size).map(augment).prefetch(2)''', ".map(augment) calls augment(images, labels)"),
        (TRAIN_HEAD + '''
    return ds.cache().shuffle(1000).batch(batch_size).map(lambda x, y: augment(x, training=True)).prefetch(2)''',
         "should be an (images, labels) pair"),
        (TRAIN_HEAD + '''
    ds = ds.cache().batch(batch_size).shuffle(100)
    ''' + AUG_MAP + '''
    return ds.prefetch(tf.data.AUTOTUNE)''', "shuffled whole batches"),
    ],
    "right": [
        TRAIN_HEAD + '''
    def augment_batch(images, labels):
        return augment(images, training=True), labels

    ds = ds.cache().shuffle(10_000, seed=seed).batch(batch_size)
    return ds.map(augment_batch, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)''',
    ],
}

CASES["06.4"] = {
    "wrong": [
        ("steps = 1000 // 32", "drops the last 8 images"),
        ("steps = 1000 / 32", "round up"),
        ("steps = round(1000 / 32)", "drops the last 8 images"),
        ("steps = 1000", "one epoch over 1,000 images"),
        ("steps = 33", "ceil(1000 / 32)"),
        ("steps = '32'", "should be a number"),
        ("steps = 32 * 1000", "ceil(1000 / 32)"),
    ],
    "right": ["steps = -(-1000 // 32)", "steps = 32.0", "steps = np.int64(32)"],
}


WRONG = [(pid, i) for pid, case in CASES.items() for i in range(len(case["wrong"]))]
RIGHT = [(pid, i) for pid, case in CASES.items() for i in range(len(case["right"]))]


def test_every_question_has_five_wrong_answers_and_a_right_alternative():
    assert set(PROBLEMS) <= set(CASES), sorted(set(PROBLEMS) - set(CASES))
    for pid in PROBLEMS:
        assert len(CASES[pid]["wrong"]) >= 5 and CASES[pid]["right"], pid
        solution = "".join(textwrap.dedent(PROBLEMS[pid].solution_code).split())
        assert all("".join(textwrap.dedent(c).split()) != solution for c in CASES[pid]["right"]), pid


@pytest.mark.parametrize("pid, index", WRONG, ids=[f"{p}-wrong{i}" for p, i in WRONG])
def test_a_known_wrong_answer_is_rejected_naming_the_mistake(pid, index):
    code, fragment = CASES[pid]["wrong"][index]
    result = _evaluate(pid, code)
    assert result.status == core.INCORRECT, result.line()
    assert fragment in result.message, result.message
    assert "\x1b" not in result.message and "cancer_course/exercises" not in result.message, result.message


@pytest.mark.parametrize("pid, index", RIGHT, ids=[f"{p}-right{i}" for p, i in RIGHT])
def test_a_right_alternative_is_accepted(pid, index):
    result = _evaluate(pid, CASES[pid]["right"][index])
    assert result.status == core.CORRECT, result.line()
