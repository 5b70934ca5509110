"""``python -m cancer_course.audit ...``: the same as ``cancer-course audit ...``."""

import sys

from ..cli import main

sys.exit(main(["audit", *sys.argv[1:]]))
