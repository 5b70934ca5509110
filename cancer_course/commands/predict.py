"""``cancer-course predict``: its arguments, and the streaming loop that writes each batch's results.

The predictions themselves come from :mod:`cancer_course.inference` (``load_course_model``,
``expand_inputs``, ``iter_predictions``, ``ResultWriter``), which a notebook calls the same way.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

from .. import defaults
from ..defaults import BATCH_SIZE
from ..errors import CourseError
from . import arguments as check


def _progress(total: int):
    """A tqdm bar on stderr when stderr is a terminal; nothing when it is piped or redirected."""
    from tqdm import tqdm

    return tqdm(total=total, unit="image", file=sys.stderr, disable=not sys.stderr.isatty(), leave=False)


def _output_format(args) -> str:
    if args.output:
        suffix = Path(args.output).suffix.lower()
        formats = {".csv": "csv", ".jsonl": "jsonl", ".json": "json", ".txt": "text"}
        if suffix not in formats:
            raise CourseError(f"--output {args.output}: name a .csv or .jsonl file (or .json, .txt)")
        if args.json or args.format:
            raise CourseError("--output takes its format from the file name: drop --json/--format")
        return formats[suffix]
    return "json" if args.json else (args.format or "text")


def run(args) -> int:
    from ..inference import ResultWriter, expand_inputs, iter_predictions, load_course_model  # NumPy, Pillow

    fmt = _output_format(args)
    try:
        model = load_course_model(args.model)
    except (OSError, ValueError) as exc:
        raise CourseError(str(exc)) from exc
    items = list(expand_inputs(args.images, recursive=args.recursive))
    try:
        out = open(args.output, "w", newline="", encoding="utf-8") if args.output else sys.stdout
    except OSError as exc:
        raise CourseError(f"cannot write --output {args.output} ({exc.strerror}): check that its folder exists "
                          "and is writable") from None
    start = time.perf_counter()
    try:
        writer = ResultWriter(out, fmt, errors=sys.stderr)
        with _progress(len(items)) as bar:
            for batch in iter_predictions(model, items, threshold=args.threshold, batch_size=args.batch_size):
                with bar.external_write_mode(file=out) if out.isatty() else contextlib.nullcontext():
                    writer.write(batch)
                bar.update(len(batch))
        writer.close()
    except BrokenPipeError:  # `cancer-course predict ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        if out is not sys.stdout:
            out.close()
    seconds = time.perf_counter() - start
    if args.output or sys.stderr.isatty():
        print(f"{writer.count} image(s), {writer.failed} error(s), in {seconds:.1f} s "
              f"({writer.count / max(seconds, 1e-9):.0f} images/s)" + (f"; results in {args.output}" if args.output else ""),
              file=sys.stderr)
    return 1 if writer.failed else 0


def register_cli(sub) -> None:
    p = sub.add_parser("predict", help="predict benign/malignant for image files (research and education only)",
                       description="Predict image files, folders (--recursive for their subfolders) and glob "
                       "patterns, a batch at a time; each batch's results are written as soon as they exist. "
                       f"An image is a file ending in {' '.join(defaults.EXTENSIONS)} (any letter case). "
                       f"Image sizes: {defaults.SIZE_POLICY}. Research and education only: not a diagnosis.")
    p.add_argument("images", nargs="+", metavar="IMAGE",
                   help=f"image files ({' '.join(defaults.EXTENSIONS)}), folders or quoted glob patterns")
    p.add_argument("--model", required=True, help="a .keras model written by `cancer-course train`")
    p.add_argument("--threshold", type=check.probability, default=0.5, help="probability of malignant at which to say Malignant")
    p.add_argument("--recursive", action="store_true", help="look in the subfolders of folders (and let ** match them)")
    p.add_argument("--output", metavar="FILE", help="write FILE.csv (header path,label,probability_malignant,error) "
                   "or FILE.jsonl, a batch at a time; default: print to the screen")
    p.add_argument("--format", choices=["text", "csv", "jsonl"], default=None, help="what to print without --output "
                   "(default text: one line per image)")
    p.add_argument("--json", action="store_true", help="print one JSON array: path, label, probability_malignant")
    p.add_argument("--batch-size", type=check.batch_size, default=BATCH_SIZE, help=f"images per model call (default {BATCH_SIZE})")
    p.set_defaults(func=run)
