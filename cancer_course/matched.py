"""Matched-budget studies (lesson 13): is A better than B, on the same cases, beyond seed noise?

Every arm of a study trains on the same images, for the same number of optimiser steps, once per
seed, and is scored on the same test images in inference mode. Two arms are then compared twice:

- per seed, on the same test cases: :func:`cancer_course.evaluation.compare_aucs` (DeLong's
  paired test, or with ``groups`` - one patient per test case - a cluster bootstrap over
  patients; lesson 10);
- over seeds, paired by seed: :func:`cancer_course.experiments.noise_verdict` (is the mean
  difference more than two standard errors of the paired seed differences? - lesson 08; with three
  seeds a rough screen).

A difference counts only when both say so, the same way for most seeds. The per-seed tests reuse
the same test cases, so they are not independent confirmations. Research and education only: not
for clinical use.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import experiments, pipeline, training
from .evaluation import _probabilities, compare_aucs


@dataclass(frozen=True)
class Arm:
    """One way of making a model: ``build(seed, train_files)`` returns it fresh and uncompiled.

    ``recalibrate``: re-estimate BatchNorm's moving averages on the training images before scoring
    (lessons 07 and 08: after a few hundred steps they still remember their starting values). A
    pretrained backbone keeps its own statistics by the recipe, so its arm says False.
    """

    name: str
    build: Callable
    learning_rate: float = 1e-3
    recalibrate: bool = True


class Study:
    """Runs arms at a matched budget and keeps their rows; one compiled model per arm.

    Tracing a training step costs seconds on a CPU, so each arm compiles once; every further run
    gives that model the fresh run's weights and a new optimizer state.
    """

    def __init__(self, profile, test_files, steps: int, groups=None, echo=print):
        if steps < 1:
            raise ValueError(f"steps must be at least 1, got {steps}.")
        self.profile, self.steps, self.echo, self.groups = profile, int(steps), echo, groups
        self.test_paths, self.test_labels = list(test_files[0]), np.asarray(test_files[1])
        self.x_test = experiments.images_of(self.test_paths, profile.image_size)
        self.rows: list[dict] = []
        self._compiled: dict[str, object] = {}

    def _model_for(self, arm: Arm, fresh):
        model = self._compiled.get(arm.name)
        if model is None:
            training.compile_model(fresh, arm.learning_rate, run_eagerly=self.profile.run_eagerly)
            fresh.optimizer.build(fresh.trainable_variables)  # Adam's moments outside the traced step
            self._compiled[arm.name] = fresh
            return fresh
        experiments._restart(model, fresh, arm.learning_rate)
        return model

    def run(self, arm: Arm, train_files, seeds=(0,), config: str | None = None) -> list[dict]:
        """Train ``arm`` on ``train_files`` once per seed for ``steps`` steps; one row per seed."""
        from .diagnosis import recalibrate_batchnorm
        from .model import count_parameters

        paths, labels = list(train_files[0]), list(train_files[1])
        size, batch = self.profile.image_size, self.profile.batch_size
        x_train = experiments.images_of(paths, size) if arm.recalibrate else None
        rows = []
        for seed in seeds:
            start = time.perf_counter()
            training.set_seed(seed)
            fresh = arm.build(seed, (paths, labels))
            model = self._model_for(arm, fresh)
            data = pipeline.from_files(paths, labels, size, batch, shuffle=True, seed=seed).repeat()
            model.fit(data, steps_per_epoch=self.steps, epochs=1, verbose=0, shuffle=False)  # shuffled above
            scored = recalibrate_batchnorm(model, x_train, batch_size=256) if arm.recalibrate else model
            p_test = _probabilities(scored, self.x_test)
            row = {"config": config or arm.name, "arm": arm.name, "seed": int(seed), "n_train": len(labels),
                   "steps": self.steps, "params": count_parameters(model)["total"],
                   **experiments.scores(self.test_labels, p_test, "test_"),
                   "seconds": round(time.perf_counter() - start, 1), "p_test": p_test}
            self.echo(f"    {row['config']:<28} seed {seed}: test AUC {row['test_auc']:.3f}  ({row['seconds']:.0f} s)")
            rows.append(row)
        self.rows += rows
        return rows

    def compare(self, a: str, b: str, metric: str = "test_auc") -> dict:
        """:func:`compare` on this study's rows (with its test cases' groups, if it has them)."""
        return compare(self.rows, a, b, self.test_labels, metric, groups=self.groups)


def compare(rows, a: str, b: str, test_labels, metric: str = "test_auc", groups=None) -> dict:
    """Config ``a`` against config ``b``: paired per seed on the same test cases, and over seeds.

    Returns ``{"a", "b", "per_seed": [compare_aucs of each seed], "difference", "se", "verdict",
    "seeds_a_better", "seeds_significant", "conclusion"}``. ``conclusion`` is one sentence that
    says only what the numbers support.
    """
    runs = {name: {r["seed"]: r for r in rows if r["config"] == name} for name in (a, b)}
    for name, found in runs.items():
        if not found:
            raise ValueError(f"No rows named {name!r}; the configurations are {sorted({r['config'] for r in rows})}.")
    seeds = sorted(runs[a])
    if sorted(runs[b]) != seeds:
        raise ValueError(f"{a!r} ran seeds {seeds} but {b!r} ran {sorted(runs[b])}: a paired comparison needs the same seeds.")
    per_seed = [{**compare_aucs(test_labels, runs[a][s]["p_test"], runs[b][s]["p_test"], groups=groups), "seed": s}
                for s in seeds]
    over = experiments.noise_verdict([runs[a][s][metric] for s in seeds], [runs[b][s][metric] for s in seeds],
                                     paired=True)
    better = sum(c["difference"] > 0 for c in per_seed)
    significant = sum(c["p_value"] < 0.05 for c in per_seed)
    for_a = sum(c["p_value"] < 0.05 and c["difference"] > 0 for c in per_seed)
    both_ways = (f", in opposite directions ({for_a} for {a}, {significant - for_a} for {b})"
                 if 0 < for_a < significant else "")
    d = over["difference"]
    winner, for_winner = (a, for_a) if d > 0 else (b, significant - for_a)
    noise = (f"{over['ratio']:.1f} standard errors of the paired seed differences" if np.isfinite(over["ratio"])
             else "no spread between seeds")
    if len(seeds) < 2:
        said = (f"{d:+.3f} AUC with one seed (p = {per_seed[0]['p_value']:.3f} on these cases); one seed cannot "
                "separate the method from the luck of its start.")
    elif over["verdict"] == "larger than seed noise" and 2 * for_winner > len(seeds):
        said = (f"{winner} is better: {abs(d):.3f} AUC on average over {len(seeds)} seeds ({noise}), and "
                f"significant on the same cases in its favour for {for_winner} of {len(seeds)} seeds{both_ways}.")
    elif over["verdict"] == "larger than seed noise":
        said = (f"{winner} scores higher on average ({abs(d):.3f} AUC, {noise}), but on the same cases it is "
                f"significantly better for only {for_winner} of {len(seeds)} seeds{both_ways}: weak evidence.")
    else:
        said = (f"no difference shown: {d:+.3f} AUC ({noise}; significant on the same cases for "
                f"{significant} of {len(seeds)} seeds{both_ways}).")
    conclusion = f"{a} vs {b}: {said}"
    return {"a": a, "b": b, "per_seed": per_seed, "difference": d, "se": over["se"], "verdict": over["verdict"],
            "seeds_a_better": better, "seeds_significant": significant, "conclusion": conclusion}


def plot_learning_curve(rows, arms: tuple[str, ...], metric: str = "test_auc"):
    """Mean test AUC against the number of labelled images, one line per arm; every seed as a dot,
    the bars the range over the seeds."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for k, arm in enumerate(arms):
        mine = [r for r in rows if r["arm"] == arm]
        sizes = sorted({r["n_train"] for r in mine})
        values = [[r[metric] for r in mine if r["n_train"] == n] for n in sizes]
        means = [float(np.mean(v)) for v in values]
        colour = ("tab:blue", "tab:orange", "tab:green")[k % 3]
        ax.errorbar(sizes, means, yerr=[[m - min(v) for m, v in zip(means, values)],
                                        [max(v) - m for m, v in zip(means, values)]],
                    marker="o", capsize=4, color=colour, label=f"{arm} (mean, range over seeds)")
        for n, v in zip(sizes, values):
            ax.plot([n] * len(v), v, ".", color=colour, alpha=0.5)
    ax.set_xscale("log")
    ax.set_xlabel("labelled training images (log scale)")
    ax.set_ylabel("test AUC")
    ax.set_title("learning curve: the same test images for every run")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig
