"""``python -m cancer_course.synth ...``: the same as ``cancer-course synth ...``."""

import sys

from ..cli import main

sys.exit(main(["synth", *sys.argv[1:]]))
