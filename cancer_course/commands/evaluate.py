"""``cancer-course evaluate``: its arguments, and the call of :func:`cancer_course.evaluation.evaluate`."""

from __future__ import annotations

import argparse

from .. import DISCLAIMER, defaults
from ..errors import CourseError
from . import arguments as check

THRESHOLD_RULES = ("youden", "sensitivity")


def threshold_rule(text: str) -> str | float:
    """``--threshold``: ``youden``, ``sensitivity`` or a number in [0, 1]."""
    if text.strip().lower() in THRESHOLD_RULES:
        return text.strip().lower()
    try:
        return check.probability(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an operating point: give 'youden' or 'sensitivity', "
                                         "or a number between 0 and 1") from None


def run(args) -> int:
    # evaluation brings matplotlib (and modelcard NumPy): imported when the command runs, so that
    # `evaluate --help` answers at once
    from ..evaluation import evaluate, headline

    try:
        result = evaluate(args.model, args.dataset_path, args.split, args.out, threshold=args.threshold,
                          target_sensitivity=args.target_sensitivity, threshold_split=args.threshold_split,
                          n_boot=args.n_boot, seed=args.seed, json_path=args.json,
                          prevalence=args.prevalence, batch_size=args.batch_size)
    except (OSError, ValueError) as exc:
        raise CourseError(str(exc)) from exc
    print(headline(result))
    print(f"figures and predictions in {args.out}; JSON: {result['json']}")
    if args.model_card:
        from ..modelcard import write_model_card

        print(f"model card: {write_model_card(args.model_card, result)}")
    print(DISCLAIMER)
    return 0


def register_cli(sub) -> None:
    """Add ``cancer-course evaluate``."""
    p = sub.add_parser(
        "evaluate",
        help="evaluate a model on a dataset split: AUC with intervals, thresholds, calibration, figures",
        description="Print the headline metrics and write every figure and a JSON of their numbers. "
        f"Image sizes: {defaults.SIZE_POLICY}. " + DISCLAIMER,
    )
    p.add_argument("--model", required=True, help="a .keras model written by `cancer-course train`")
    p.add_argument("--dataset-path", required=True, metavar="ROOT",
                   help="a folder with ROOT/<split>/{benign,malignant}/ images")
    p.add_argument("--split", default="test", help="which split to evaluate (default test)")
    p.add_argument("--out", default="results/evaluation", metavar="DIR", help="where the figures go")
    p.add_argument("--json", default=None, metavar="FILE", help="where the JSON goes (default DIR/evaluation.json)")
    p.add_argument("--threshold", type=threshold_rule, default="youden",
                   help="the operating point besides 0.5: 'youden', 'sensitivity' (reach --target-sensitivity) "
                   "or a number in [0, 1] (default youden)")
    p.add_argument("--target-sensitivity", type=check.number(0.0, 1.0, low_open=True), default=0.95, help="for --threshold sensitivity (default 0.95)")
    p.add_argument("--threshold-split", default=None, metavar="SPLIT",
                   help="choose thresholds on this split (default: validation, when the dataset has one and "
                   "it is not the evaluated split)")
    p.add_argument("--prevalence", type=check.number(0.0, 1.0, low_open=True, high_open=True), default=None,
                   help="also report PPV and NPV at this prevalence, e.g. 0.01 for screening "
                   "(default: the evaluated split's)")
    p.add_argument("--n-boot", type=check.whole(1, 1_000_000), default=1000, help="bootstrap resamples for the intervals (default 1000)")
    p.add_argument("--seed", type=check.seed, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--resize", action="store_true",
                   help="ignored: kept for old scripts (images are always resized as in training)")
    p.add_argument("--batch-size", type=check.batch_size, default=32, help="images per model call (default 32)")
    p.add_argument("--model-card", default=None, metavar="FILE", help="also write a Markdown model card")
    p.set_defaults(func=run)
