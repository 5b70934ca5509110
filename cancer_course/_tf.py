"""Import TensorFlow without its C++ start-up chatter.

TensorFlow prints oneDNN and CUDA-stub notices to file descriptor 2 before its logging is set
up, so ``TF_CPP_MIN_LOG_LEVEL`` cannot hide them. We point descriptor 2 at /dev/null while the
import and the first device query run; real errors still arrive as Python exceptions.
"""

from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def silenced_stderr():
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real descriptor 2 (some IDEs): nothing to hide
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def quiet_import():
    """Import and return tensorflow, with its start-up notices hidden (once per process)."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    with silenced_stderr():
        import keras  # noqa: F401  (imports the TensorFlow backend)
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")
    tf.get_logger().setLevel("ERROR")  # retracing notices and the like: not for learners' eyes
    return tf
