"""``python -m cancer_course.commands ...``: the same as ``cancer-course ...``."""

import sys

from ..cli import main

sys.exit(main(sys.argv[1:]))
