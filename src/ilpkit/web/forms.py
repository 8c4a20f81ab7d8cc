"""Reading numbers typed into the web forms, with messages naming the field and the value."""

from __future__ import annotations

import math

from ilpkit.domain.csv_text import DECIMAL_PATTERN, foreign_digit_reason
from ilpkit.errors import IlpkitError

MAX_FIELD_CHARS = 64
"""Longest text read from a number field."""


class FieldError(IlpkitError):
    """A form field's text cannot be used.

    Attributes
    ----------
    field : str
        The form field's name.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def number(field: str, label: str, text: str, unit: str = "") -> float:
    """The finite number written in ``text`` (digits 0-9 and a point), else :class:`FieldError`.

    Parameters
    ----------
    field : str
        The form field's name (for the error's place on the page).
    label : str
        The field as the user knows it, e.g. ``"minute"``, for the message.
    text : str
        What was typed.
    unit : str
        Unit for the message, e.g. ``"counts/s"``.

    Examples
    --------
    ``number("minute", "minute", "5,5")`` is refused: "uses a comma; write decimals with a point".
    """
    raw = text.strip()
    shown = raw if len(raw) <= MAX_FIELD_CHARS else raw[:MAX_FIELD_CHARS] + "..."
    what = f"{label} ({unit})" if unit else label
    if not raw:
        raise FieldError(field, f"{what}: give a number")
    if len(raw) <= MAX_FIELD_CHARS and DECIMAL_PATTERN.fullmatch(raw):
        value = float(raw)
        if math.isfinite(value):
            return value
        raise FieldError(field, f"{what} = '{shown}': the number is too large")
    reason = foreign_digit_reason(raw) or "not a number"
    if "," in raw and DECIMAL_PATTERN.fullmatch(raw.replace(",", ".")):
        reason = "uses a comma; write decimals with a point (e.g. 3.5)"
    raise FieldError(field, f"{what} = '{shown}': {reason}")
