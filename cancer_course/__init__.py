"""cancer-course: the package the course's notebooks import.

Research and education only. Nothing in this package is a medical device or fit for clinical
use: no model trained with it may be used to diagnose, screen or treat anyone.
"""

import os as _os

# Keep TensorFlow's C++ log chatter (oneDNN notices, graph-attribute mismatches) out of notebook
# outputs and logs; real errors still arrive as Python exceptions. Set before any TensorFlow
# import; a value the learner has set themselves wins.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"

DISCLAIMER = (
    "Research and education only: not a medical device, not for clinical use. "
    "Never use these models to diagnose, screen or treat anyone."
)

__all__ = ["DISCLAIMER", "__version__"]
