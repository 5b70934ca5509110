"""The errors whose message is written for the learner.

A command prints them as ``error: <message>`` without a traceback (exit status 2); in a notebook
they are ordinary exceptions. Each message names the file or value and says what to do.
This module imports nothing, so any module (and the command line) can raise them.
"""

from __future__ import annotations


class CourseError(Exception):
    """An error whose message is written for the learner: printed without a traceback."""


class DataError(CourseError, ValueError):
    """A problem with the learner's data, with a message that says where and what to do."""


class DownloadError(DataError, OSError):
    """A download failed; the message names the URL and says what to do."""


class TrainingError(CourseError, RuntimeError):
    """Training cannot go on (e.g. the loss became NaN); the message says what happened and what to try."""
