"""``python -m cancer_course.evaluation ...``: the same as ``cancer-course evaluate ...``."""

import sys

from ..cli import main

sys.exit(main(["evaluate", *sys.argv[1:]]))
