"""Errors of the planning calculators, phrased for a perfusion team.

Every error names the value that was given and says, in plain words, why it cannot be used. The CLI
and the web app print the message as it is; nothing here prints or exits.
"""

from __future__ import annotations

from collections.abc import Sequence

from ilpkit.errors import IlpkitError

MAX_PROBLEMS_SHOWN = 20
"""At most this many problems are listed in one error message."""


class PlanningError(IlpkitError, ValueError):
    """Base class: an input to a planning calculator cannot be used.

    The message (``str(error)``) names the value and the reason.
    """


class LimbVolumeError(PlanningError):
    """A circumference, spacing or volume is missing, not plausible or out of range."""


class PerfusionSiteError(PlanningError):
    """A limb or perfusion level is unknown, or the level does not belong to the limb."""


class ProtocolError(PlanningError):
    """The protocol file is malformed, unsafe, or does not hold the protocol asked for.

    Attributes
    ----------
    origin : str
        Where the protocol text came from (a file path, or ``"shipped protocols.toml"``).
    problems : tuple of str
        Every problem found, each naming the TOML key, the value and the reason.
    """

    def __init__(self, origin: str, problems: Sequence[str]):
        self.origin = origin
        self.problems = tuple(problems)
        if len(self.problems) == 1:
            message = f"protocol file {origin}: {self.problems[0]}"
        else:
            listed = "\n".join(f"  - {p}" for p in self.problems)
            message = f"protocol file {origin}: {len(self.problems)} problems:\n{listed}"
        super().__init__(message)


class EligibilityInputError(PlanningError):
    """A laboratory value or yes/no item for the eligibility check cannot be read."""


class LeakageInputError(PlanningError):
    """A leakage reading, count rate, calibration or readings file cannot be used.

    Attributes
    ----------
    problems : tuple of str
        Every problem found (for a readings file: one per bad line, with its line number).
    """

    def __init__(self, problems: str | Sequence[str]):
        self.problems = (problems,) if isinstance(problems, str) else tuple(problems)
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            shown = [f"  - {p}" for p in self.problems[:MAX_PROBLEMS_SHOWN]]
            if len(self.problems) > MAX_PROBLEMS_SHOWN:
                shown.append(f"  ... and {len(self.problems) - MAX_PROBLEMS_SHOWN} more")
            listed = "\n".join(shown)
            message = f"{len(self.problems)} problems:\n{listed}"
        super().__init__(message)


def show_number(value: float, unit: str = "") -> str:
    """Format ``value`` for an error message: ``120 cm``, ``0.25``, ``nan``."""
    text = f"{value:g}"
    return f"{text} {unit}" if unit else text
