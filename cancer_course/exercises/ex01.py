"""Exercises for lesson 01: data exploration and audits.

q1 class weights from a split's counts · q2 per-tile colour statistics · q3 audit a split: exact
duplicates across splits, by hashing the bytes (in a folder the check builds) · q4 find the shortcut
in a mystery dataset (interpretive).
"""

from __future__ import annotations

import numbers
import tempfile
from pathlib import Path

import numpy as np

from ._choice import Choice, Option
from .core import Incorrect, Problem, register

LESSON = "lesson 01 (data exploration and audits; cancer_course/audit/)"


class ClassWeightsFromCounts(Problem):
    title = "class weights from a split's counts"
    names = ("weights_from_counts",)
    reimplements = ("cancer_course.audit.balanced_class_weights", "cancer_course.training.balanced_class_weights")
    lesson = LESSON + ": section 3, 'balanced_class_weights'"
    hints = (
        "The counts are keyed by folder name ({'benign': n, 'malignant': n}); Keras' class_weight wants the "
        "*label* as key: benign is 0, malignant is 1.",
        "weight of a class = n_samples / (n_classes * n_class): the rarer class weighs more, balanced classes get "
        "1.",
        "With 430 benign and 970 malignant tiles, label 0 gets 1400 / (2 * 430), about 1.628. Fill in the blanks: "
        "total = counts['benign'] + counts['malignant']; return {0: total / (2 * ____), 1: total / (____ * ____)}",
    )
    solution_code = '''
    def weights_from_counts(counts):
        total = counts["benign"] + counts["malignant"]
        return {0: total / (2 * counts["benign"]), 1: total / (2 * counts["malignant"])}
    '''

    def _check(self, weights_from_counts):
        cases = [{"benign": 430, "malignant": 970}, {"benign": 32, "malignant": 32}, {"benign": 900, "malignant": 100}]
        for counts in cases:
            got = weights_from_counts(dict(counts))
            if not isinstance(got, dict):
                raise Incorrect(f"weights_from_counts({counts}) returned {type(got).__name__}; model.fit's "
                                "class_weight wants a dict {label: weight}.")
            if set(got) == {"benign", "malignant"}:
                raise Incorrect(f"weights_from_counts({counts}) is keyed by class name ({sorted(got)}); Keras "
                                "wants the label as key: {0: weight of benign, 1: weight of malignant}.")
            if set(got) != {0, 1}:
                raise Incorrect(f"weights_from_counts({counts}) has keys {sorted(got, key=str)}; it needs exactly "
                                "the labels 0 (benign) and 1 (malignant).")
            if not all(isinstance(v, numbers.Real) for v in got.values()):
                raise Incorrect(f"weights_from_counts({counts}) = {got}: the weights should be numbers.")
            total = counts["benign"] + counts["malignant"]
            want = {0: total / (2 * counts["benign"]), 1: total / (2 * counts["malignant"])}
            if all(abs(got[k] - want[k]) <= 1e-3 * max(1.0, want[k]) for k in (0, 1)):
                continue
            if abs(got[0] - want[1]) <= 1e-3 * max(1.0, want[1]) and abs(got[1] - want[0]) <= 1e-3 * max(1.0, want[0]):
                raise Incorrect(f"weights_from_counts({counts}) = {got}: the weights are swapped. Label 0 is benign, "
                                "label 1 malignant, and the *rarer* class gets the larger weight.")
            if counts["benign"] != counts["malignant"]:
                ratio0, ratio1 = got[0] / want[0], got[1] / want[1]
                if abs(ratio0 - ratio1) < 1e-6 * max(abs(ratio0), 1e-12):
                    raise Incorrect(f"weights_from_counts({counts}) = {got}: right proportions, wrong scale (a "
                                    f"factor {ratio0:.4g}): balanced classes must get weight 1.0, so divide "
                                    "n_samples by n_classes * n_class.")
            raise Incorrect(f"weights_from_counts({counts}) = {got}; expected "
                            f"{ {k: round(v, 3) for k, v in want.items()} } = n_samples / (n_classes * n_class).")
        return "{0: 1.628, 1: 0.722} for 430 benign and 970 malignant tiles."


class ColourFeatures(Problem):
    title = "per-tile colour statistics"
    names = ("colour_features",)
    lesson = LESSON + ": section 4, 'colour_features'"
    hints = (
        "The input is a uint8 batch (N, H, W, 3) in 0-255. For every tile you want 6 numbers in [0, 1]: the mean "
        "of R, G and B, then their standard deviations.",
        "Scale to [0, 1] (divide by 255), flatten each tile's pixels to (N, H*W, 3), then take .mean(axis=1) and "
        ".std(axis=1) and put them side by side.",
        "Fill in the blanks: pixels = images.reshape(len(images), ____, 3) / ____; return "
        "np.concatenate([pixels.____(axis=1), pixels.____(axis=1)], axis=____)",
    )
    solution_code = '''
    import numpy as np

    def colour_features(images):
        pixels = images.reshape(len(images), -1, 3) / 255.0
        return np.concatenate([pixels.mean(axis=1), pixels.std(axis=1)], axis=1)
    '''

    def _check(self, colour_features):
        rng = np.random.default_rng(1)
        images = rng.integers(0, 256, size=(5, 6, 4, 3), dtype=np.uint8)
        images[..., 0] //= 2  # channels with different statistics
        images[..., 2] = 200
        pixels = images.reshape(5, -1, 3).astype(np.float64) / 255.0
        want = np.concatenate([pixels.mean(axis=1), pixels.std(axis=1)], axis=1)
        got = colour_features(images.copy())
        if got is None:
            raise Incorrect("colour_features returned None: did you forget the `return` line?")
        got = np.asarray(got, dtype=np.float64)
        if got.shape != want.shape:
            raise Incorrect(f"for a batch of shape {images.shape} colour_features returned shape {got.shape}; "
                            f"expected {want.shape}: one row per tile, 6 numbers (mean R, G, B, then std R, G, B).")
        if np.allclose(got, want * 255, atol=1e-3):
            raise Incorrect("the values are in 0-255: scale the pixels to [0, 1] first (divide by 255.0).")
        if np.allclose(got[:, :3], want[:, :3], atol=1e-4) and np.allclose(got[:, 3:], want[:, 3:] ** 2, atol=1e-4):
            raise Incorrect("columns 4-6 are variances: take the standard deviation (.std), not .var.")
        swapped = np.concatenate([want[:, 3:], want[:, :3]], axis=1)
        if np.allclose(got, swapped, atol=1e-4):
            raise Incorrect("the means and standard deviations are the wrong way round: means first, then stds.")
        interleaved = np.stack([want[:, :3], want[:, 3:]], axis=2).reshape(5, 6)
        if np.allclose(got, interleaved, atol=1e-4):
            raise Incorrect("the columns are interleaved (mean R, std R, mean G, ...): put the three means first, then "
                            "the three standard deviations (np.concatenate along axis=1).")
        if not np.allclose(got, want, atol=1e-4):
            raise Incorrect(f"colour_features gives {np.round(got[0], 3).tolist()} for the first tile; expected "
                            f"{np.round(want[0], 3).tolist()}. Per tile, over all its pixels: mean of each channel, "
                            "then standard deviation of each channel (axis=1 after reshaping to (N, H*W, 3)).")
        return "six colour numbers per tile, in [0, 1]."


def _png(path: Path, value: int, seed: int) -> None:
    from PIL import Image

    rng = np.random.default_rng(seed)
    pixels = np.clip(rng.normal(value, 30, size=(8, 8, 3)), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def _leaky_folder(root: Path) -> set[frozenset]:
    """A small dataset with planted duplicates; returns the cross-split groups a correct audit finds."""
    import shutil

    seed = 10
    for split in ("train", "validation", "test"):
        for label, cls in enumerate(("benign", "malignant")):
            for i in range(3):
                seed += 1
                _png(root / split / cls / f"{split[:2]}_{cls[0]}{i}.png", 60 + 80 * label, seed)
    # the same *name* in two splits, different images: not a leak
    _png(root / "train" / "benign" / "img_001.png", 90, 1)
    _png(root / "test" / "benign" / "img_001.png", 90, 2)
    # a duplicate within one split: not a leak (the audit reports it separately)
    shutil.copy(root / "train" / "malignant" / "tr_m0.png", root / "train" / "malignant" / "copy.png")
    # leaks: identical bytes in two (or three) splits, under new names
    shutil.copy(root / "train" / "benign" / "tr_b1.png", root / "test" / "benign" / "leaked.png")
    shutil.copy(root / "train" / "malignant" / "tr_m2.png", root / "validation" / "malignant" / "again.png")
    shutil.copy(root / "train" / "malignant" / "tr_m2.png", root / "test" / "malignant" / "again2.png")
    # the same image in another split *and* under the other label
    shutil.copy(root / "validation" / "benign" / "va_b0.png", root / "test" / "malignant" / "relabelled.png")
    (root / "train" / ".DS_Store").write_bytes(b"clutter")
    return {
        frozenset({"train/benign/tr_b1.png", "test/benign/leaked.png"}),
        frozenset({"train/malignant/tr_m2.png", "validation/malignant/again.png", "test/malignant/again2.png"}),
        frozenset({"validation/benign/va_b0.png", "test/malignant/relabelled.png"}),
    }


class CrossSplitDuplicates(Problem):
    title = "audit a split: exact duplicates across splits"
    names = ("cross_split_duplicates",)
    reimplements = ("cancer_course.audit.audit",)
    lesson = LESSON + ": section 6, 'audit'"
    hints = (
        "Two files are the same image when their *bytes* are identical - whatever their names. What short "
        "fingerprint of a file's bytes is equal exactly when the bytes are?",
        "Hash every image's bytes (hashlib.sha256(path.read_bytes()).hexdigest()) under root/<split>/<class>/ and "
        "group the relative paths by hash. A group is a leak when its files lie in more than one split (the first "
        "part of the relative path); copies within one split are not a leak.",
        "Fill in the blanks: groups = defaultdict(list); for p in sorted(root.glob(____)): "
        "groups[hashlib.sha256(p.____()).hexdigest()].append(p.relative_to(____).as_posix()); then keep the groups "
        "whose files lie in more than ____ split: len({f.split('/')[____] for f in group}) > 1.",
    )
    solution_code = '''
    import hashlib
    from collections import defaultdict
    from pathlib import Path

    def cross_split_duplicates(root):
        root = Path(root)
        groups = defaultdict(list)
        for path in sorted(root.glob("*/*/*.png")):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            groups[digest].append(path.relative_to(root).as_posix())
        return [set(files) for files in groups.values() if len({f.split("/")[0] for f in files}) > 1]
    '''

    def _check(self, cross_split_duplicates):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "leaky"
            want = _leaky_folder(root)
            got = cross_split_duplicates(root)
        if got is None:
            raise Incorrect("cross_split_duplicates returned None: did you forget the `return` line?")
        if isinstance(got, str | bytes) or not hasattr(got, "__iter__"):
            raise Incorrect(f"cross_split_duplicates returned {type(got).__name__}; return a list of groups, each a "
                            "set of relative paths such as 'train/benign/x.png'.")
        groups = []
        for group in got:
            if isinstance(group, str | bytes) or not hasattr(group, "__iter__"):
                raise Incorrect(f"a group is {group!r}; each group should be a set (or list) of the relative paths of "
                                "identical files, e.g. {'train/benign/a.png', 'test/benign/b.png'}.")
            names = {str(Path(f).as_posix()) for f in group}
            if any(Path(f).is_absolute() for f in names):
                names = {n.split("/leaky/", 1)[-1] for n in names}
                if not all(n.split("/")[0] in ("train", "validation", "test") for n in names):
                    raise Incorrect("give paths relative to the dataset folder ('train/benign/x.png'), not absolute "
                                    "paths: path.relative_to(root).as_posix().")
            groups.append(frozenset(names))
        found = set(groups)
        if frozenset({"train/benign/img_001.png", "test/benign/img_001.png"}) in found:
            raise Incorrect("you report train/benign/img_001.png and test/benign/img_001.png as duplicates: they share "
                            "a name but hold different pictures. Compare the files' bytes (a hash), not their names.")
        if frozenset({"train/malignant/tr_m0.png", "train/malignant/copy.png"}) in found:
            raise Incorrect("you report train/malignant/tr_m0.png and copy.png, two copies inside the train split: "
                            "that is a duplicate, but not a leak. Keep only groups whose files lie in more than one "
                            "split.")
        if any(len(g) < 2 for g in found):
            raise Incorrect("some groups hold a single file: a group is two or more files with identical bytes.")
        if len(groups) != len(found):
            raise Incorrect("the same group appears more than once: one group per distinct hash.")
        missing = want - found
        if missing:
            example = sorted(sorted(g) for g in missing)[0]
            three = next((g for g in want if len(g) == 3), None)
            if three in missing and any(g < three and len(g) == 2 for g in found):
                raise Incorrect("an image copied into three splits is reported as pairs (or only partly): group *all* "
                                "the files with the same hash, e.g. "
                                + ", ".join(sorted(three)) + ".")
            raise Incorrect(f"{len(missing)} leak(s) missed, e.g. {example}: identical files in different splits "
                            "(whatever their names and class folders). Hash every image under root/<split>/<class>/.")
        extra = found - want
        if extra:
            raise Incorrect(f"{sorted(sorted(g) for g in extra)[0]} is reported but is not a leak: a leak is a set of "
                            "files with identical bytes in more than one split.")
        return "3 leaks found: one image in train and test, one in three splits, one under both labels."


MYSTERY_SIZE, MYSTERY_CORNER = 16, 4


def mystery_tiles(n: int = 160, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A small mystery dataset (uint8 tiles (n, 16, 16, 3), labels 0/1) with one planted shortcut."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    rng.shuffle(labels)
    size, c = MYSTERY_SIZE, MYSTERY_CORNER
    tiles = np.empty((n, size, size, 3))
    for i, y in enumerate(labels):
        tint = rng.normal(0, 12, size=3)  # stain varies from tile to tile, whatever the label
        texture = rng.normal(20, 3) + 1.5 * y  # malignant tissue a little more irregular: the weak, real signal
        tiles[i] = np.array([190, 140, 180]) + tint + rng.normal(0, texture, size=(size, size, 3))
        if rng.random() < (0.9 if y else 0.1):  # the shortcut: a bright mark, mostly on malignant tiles
            tiles[i, :c, :c] += 60
    return np.clip(tiles, 0, 255).astype(np.uint8), labels


def mystery_features(images: np.ndarray) -> dict[str, np.ndarray]:
    """The four per-tile numbers the options name (what the check scores)."""
    x = images.astype(np.float64) / 255.0
    c = MYSTERY_CORNER
    mid = slice(MYSTERY_SIZE // 4, 3 * MYSTERY_SIZE // 4)
    return {"colour": x.mean(axis=(1, 2, 3)), "texture": x[:, mid, mid].std(axis=(1, 2)).mean(axis=1),
            "top-left": x[:, :c, :c].mean(axis=(1, 2, 3)), "bottom-right": x[:, -c:, -c:].mean(axis=(1, 2, 3))}


def _mystery_options() -> dict:
    from sklearn.metrics import roc_auc_score

    images, labels = mystery_tiles()
    auc = {k: float(roc_auc_score(labels, v)) for k, v in mystery_features(images).items()}
    strongest = max(auc, key=lambda k: abs(auc[k] - 0.5))
    c = MYSTERY_CORNER
    outside = images.astype(np.float64).copy()
    outside[:, :c, :c] = np.nan  # the tile's mean without the corner
    auc_outside = float(roc_auc_score(labels, np.nanmean(outside, axis=(1, 2, 3))))
    return {
        "A": Option("the overall colour of the tile (mean intensity)", strongest == "colour",
                    f"its AUC is {auc['colour']:.2f}, and {auc_outside:.2f} without the top-left corner: the stain "
                    "varies from tile to tile whatever the label; what the mean separates comes mostly from the corner, "
                    "which raises it."),
        "B": Option("the texture (standard deviation of the central 8x8 pixels, per channel, averaged)", strongest == "texture",
                    f"AUC {auc['texture']:.2f}: a weak signal, and one in the tissue itself - what a model *should* "
                    "learn, not a shortcut."),
        "C": Option(f"the top-left {c}x{c} corner", strongest == "top-left",
                    f"its mean brightness alone separates the classes with AUC {auc['top-left']:.2f}, far above "
                    f"anything in the tissue (texture {auc['texture']:.2f}): a mark, not tissue."),
        "D": Option(f"the bottom-right {c}x{c} corner", strongest == "bottom-right",
                    f"AUC {auc['bottom-right']:.2f}: this corner is tissue like the rest of the tile; its brightness "
                    "separates the classes about as well as chance."),
        "E": Option("nothing: the classes cannot be told apart", max(abs(a - 0.5) for a in auc.values()) < 0.05,
                    f"one feature reaches AUC {auc[strongest]:.2f}: measure each option before concluding that "
                    "there is nothing to learn."),
    }


class MysteryShortcut(Choice):
    title = "find the shortcut in a mystery dataset"
    names = ("shortcut",)
    lesson = LESSON + ": the sections on colour statistics and on what a model could learn instead of tissue"
    single = True
    question = ("mystery_tiles() returns 160 small tiles and their labels. One of the options is a shortcut: a "
                "strong signal of the label that is not tissue. Measure, then name it.")
    options = _mystery_options()
    hints = (
        "Turn each option into one number per tile, then ask how well that number alone separates the classes.",
        "sklearn.metrics.roc_auc_score(labels, feature) scores one feature: 0.5 is no signal, near 1 (or 0) is a "
        "strong one. Corners: images[:, :4, :4].mean(axis=(1, 2, 3)) and images[:, -4:, -4:]....",
        "Compute the AUC of the tile mean, the centre's standard deviation, and both corners' means: one AUC is far "
        "above the others.",
    )
    solution_code = '''
    from sklearn.metrics import roc_auc_score

    images, labels = mystery_tiles()
    x = images / 255.0
    features = {"A": x.mean(axis=(1, 2, 3)), "B": x[:, 4:12, 4:12].std(axis=(1, 2)).mean(axis=1),
                "C": x[:, :4, :4].mean(axis=(1, 2, 3)), "D": x[:, -4:, -4:].mean(axis=(1, 2, 3))}
    aucs = {k: roc_auc_score(labels, v) for k, v in features.items()}
    shortcut = max(aucs, key=lambda k: abs(aucs[k] - 0.5))
    '''


q1 = ClassWeightsFromCounts()
q2 = ColourFeatures()
q3 = CrossSplitDuplicates()
q4 = MysteryShortcut()
PROBLEMS = register(globals(), "01")
