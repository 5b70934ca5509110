"""``cancer-course audit ROOT``: its arguments, and the report of :func:`cancer_course.audit.audit`."""

from __future__ import annotations

import json
import sys

from ..defaults import NEAR_THRESHOLD
from ..errors import CourseError
from . import arguments as check


def run(args) -> int:
    from ..audit import audit  # NumPy, Pillow

    try:
        report = audit(args.root, near_threshold=args.threshold, workers=args.workers, progress=not args.json,
                       groups=args.groups)
    except (ValueError, OSError) as exc:
        raise CourseError(str(exc)) from None
    print(json.dumps(report.as_dict(), indent=2) if args.json else report)
    if report.blocking:
        print(f"audit: {len(report.blocking)} problem(s) to fix before training (exit status 1)", file=sys.stderr)
        return 1
    return 0


def register_cli(subparsers) -> None:
    """Add ``cancer-course audit ROOT [--json]``."""
    p = subparsers.add_parser(
        "audit",
        help="audit a dataset: counts, balance, sizes, unreadable files, duplicates and leaks",
        description="Audit ROOT/<split>/<class>/ images: counts, class balance and weights, sizes and modes, "
        "unreadable files, exact and near-duplicates within and across splits and labels, and patients (or "
        "slides) in more than one split, from --groups or the patients ROOT/manifest.json records. "
        "Exits 1 when something has to be fixed before training.",
    )
    p.add_argument("root", metavar="ROOT")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--groups", metavar="FILE.csv", help="CSV with columns path,group (path relative to ROOT; "
                   "group: patient, slide or case id): report every group found in more than one split "
                   "(default: the patients ROOT/manifest.json names, if any)")
    p.add_argument("--threshold", type=check.whole(0, 64), default=NEAR_THRESHOLD, help="near-duplicate distance in bits (of 64)")
    p.add_argument("--workers", type=check.whole(1, 256), default=2, help="processes that read the images")
    p.set_defaults(func=run, needs_tensorflow=False)
