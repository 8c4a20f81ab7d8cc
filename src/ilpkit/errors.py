"""The root of ilpkit's own errors.

Every error ilpkit raises on purpose — bad input, a registry it cannot use, a file in the way, a
missing program — derives from :class:`IlpkitError`. Its message is written for the user (the
row, field, value and reason where there are some) and its ``exit_code`` (1-3) is the exit
status of the ``ilp`` command it stops. Anything else that escapes a command is a defect of
ilpkit, reported as such (exit 70).
"""

from __future__ import annotations

from typing import ClassVar


class IlpkitError(Exception):
    """A problem the user can act on, with a message in their words and an exit code.

    Attributes
    ----------
    exit_code : int
        1 for bad input or a refused request, 2 for a usage problem (e.g. a malformed URL),
        3 for a database or environment problem.
    """

    exit_code: ClassVar[int] = 1
