"""Validation problems, phrased for a data manager.

A :class:`Problem` names where (line and column of a file, or field of a form), the value and the
reason, in plain words. Every entry path (CSV import, web form, API) reports the same problems.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ilpkit.errors import IlpkitError

_MAX_SHOWN_CHARS = 60


class Severity(StrEnum):
    """How serious a problem is: errors block a save, warnings are shown and kept."""

    ERROR = "error"
    WARNING = "warning"


def shorten(value: str, limit: int = _MAX_SHOWN_CHARS) -> str:
    """Return ``value`` cut to ``limit`` characters for display, saying how long it really was."""
    if len(value) <= limit:
        return value
    return f"{value[:limit]}… ({len(value):,} characters)"


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation finding.

    Attributes
    ----------
    line : int or None
        Line number in the source file (1 = header), or None when not from a file.
    field : str
        Column or field name; empty when the finding is about the whole row or file.
    value : str
        The offending value as entered (shortened for display by :meth:`describe`).
    reason : str
        Why it is wrong, in words a data manager understands.
    severity : Severity
        ``ERROR`` blocks the save; ``WARNING`` is reported and the data are kept.
    """

    line: int | None
    field: str
    value: str
    reason: str
    severity: Severity = Severity.ERROR

    @property
    def is_error(self) -> bool:
        """True when this problem blocks the save."""
        return self.severity is Severity.ERROR

    def describe(self) -> str:
        """One line: ``line 12, column 'tnf_mg', value '5': reason``."""
        parts = []
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.field:
            parts.append(f"column '{self.field}'")
        if self.value != "":
            shown = shorten(self.value).replace("\n", "\\n").replace("\r", "\\r")
            parts.append(f"value '{shown}'")
        where = ", ".join(parts)
        return f"{where}: {self.reason}" if where else self.reason

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {
            "line": self.line,
            "field": self.field,
            "value": shorten(self.value),
            "reason": self.reason,
            "severity": self.severity.value,
        }


class RegistryValidationError(IlpkitError):
    """Raised when data fail validation; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        errors = [p for p in problems if p.is_error]
        super().__init__(f"{len(errors)} problem(s) found; nothing was saved")
