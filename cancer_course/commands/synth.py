"""``cancer-course synth OUT_DIR``: its arguments, and the call of :func:`cancer_course.synth.generate_dataset`."""

from __future__ import annotations

from .. import config
from ..defaults import (
    CONFOUNDERS,
    DEFAULT_DIFFICULTY,
    DEFAULT_MALIGNANT_FRACTION,
    REFERENCE_SIZE,
    SPLIT_SIZES,
    TILES_PER_PATIENT,
)
from ..errors import CourseError
from . import arguments as check


def run(args) -> int:
    from ..synth import (  # NumPy, Pillow
        GENERATOR_VERSION,
        PATIENTS_FILE,
        SPLITS,
        generate_dataset,
        read_manifest,
    )

    try:
        prof = config.get_profile(args.profile) if args.profile else None
    except ValueError as exc:
        raise CourseError(str(exc)) from None

    def pick(value, attr, fallback):  # the option if given, else the profile's, else the default
        return value if value is not None else (getattr(prof, attr) if prof else fallback)

    try:
        out = generate_dataset(
            args.out_dir,
            image_size=pick(args.image_size, "image_size", REFERENCE_SIZE),
            n_train=pick(args.train, "n_train", SPLIT_SIZES["train"]),
            n_validation=pick(args.validation, "n_validation", SPLIT_SIZES["validation"]),
            n_test=pick(args.test, "n_test", SPLIT_SIZES["test"]),
            malignant_fraction=args.malignant_fraction,
            difficulty=args.difficulty,
            confounder=args.confounder,
            seed=args.seed,
            progress=True,
            tiles_per_patient=args.tiles_per_patient,
        )
    except ValueError as exc:
        raise CourseError(str(exc)) from None
    manifest = read_manifest(out)
    print(f"wrote {out} ({GENERATOR_VERSION}):")
    for split in SPLITS:
        per = manifest["counts"][split]
        print(f"  {split:<10} benign {per['benign']:>6}  malignant {per['malignant']:>6}  "
              f"patients {manifest['n_patients'][split]:>5}")
    print(f"  patient of every file: {out / PATIENTS_FILE} (each patient in one split)")
    return 0


def register_cli(subparsers) -> None:
    """Add ``cancer-course synth OUT_DIR``."""
    p = subparsers.add_parser(
        "synth",
        help="generate the embedded H&E-like tissue dataset",
        description="Write OUT_DIR/{train,validation,test}/{benign,malignant}/*.png, manifest.json and patients.csv (the patient of every file; each patient in one split). "
        "Same options and seed = byte-identical files.",
    )
    p.add_argument("out_dir", metavar="OUT_DIR")
    p.add_argument("--image-size", type=check.whole(8, 1024), default=None, help=f"tile side in pixels (default {REFERENCE_SIZE}, or the profile's)")
    p.add_argument("--train", type=check.whole(0, 10_000_000), default=None, help=f"training tiles (default {SPLIT_SIZES['train']}, or the profile's)")
    p.add_argument("--validation", type=check.whole(0, 10_000_000), default=None, help=f"validation tiles (default {SPLIT_SIZES['validation']}, or the profile's)")
    p.add_argument("--test", type=check.whole(0, 10_000_000), default=None, help=f"test tiles (default {SPLIT_SIZES['test']}, or the profile's)")
    p.add_argument("--profile", default=None, help="take sizes and counts from a profile: smoke, laptop or full")
    p.add_argument("--malignant-fraction", type=check.probability, default=DEFAULT_MALIGNANT_FRACTION)
    p.add_argument("--difficulty", type=check.probability, default=DEFAULT_DIFFICULTY, help="0 easy .. 1 impossible")
    p.add_argument("--confounder", choices=CONFOUNDERS, default=None, help="label-correlated artefact (train/validation)")
    p.add_argument("--seed", type=check.seed, default=0)
    p.add_argument("--tiles-per-patient", type=check.whole(1, 1_000_000), default=TILES_PER_PATIENT,
                   help=f"tiles per patient on average (default {TILES_PER_PATIENT}; 1: every tile its own patient)")
    p.set_defaults(func=run, needs_tensorflow=False)
