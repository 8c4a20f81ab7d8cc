"""CSV text as people save it from spreadsheets: encodings, separators and digits.

Shared by the registry reader and the leakage readings parser so that both explain a file saved in
the wrong form in the same words.

Numbers: Python's ``float()`` and ``int()`` also read other scripts' digits (Arabic-Indic ``٢``,
full-width ``２``, Devanagari ``२``), underscores (``1_000``) and words (``inf``, ``nan``). A file
must say exactly what a person typed, so a number is accepted only in the plain form
``[+-]digits[.digits][e[+-]digits]`` written with the digits 0-9, and a cell with other digits is
refused with a message naming the character.
"""

from __future__ import annotations

import re
import unicodedata

DECIMAL_PATTERN = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
"""A decimal number written with the ASCII digits 0-9 and a point (optional exponent)."""

INTEGER_PATTERN = re.compile(r"[+-]?[0-9]+")
"""A whole number written with the ASCII digits 0-9."""

MAX_INTEGER_DIGITS = 15
"""Whole numbers with more digits than this are refused before conversion (no registry or
readings field comes near; Python's ``int()`` itself refuses more than 4,300 digits)."""

SAVE_AS_CSV = "save it as 'CSV UTF-8 (comma delimited)'"
"""What to do with a file in the wrong form, in the words of the spreadsheet's Save As menu."""

_BOMS = (
    # UTF-32 first: its little-endian mark starts with the UTF-16 one.
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def foreign_digit_reason(text: str) -> str | None:
    """Why ``text`` cannot be read as a number if it uses a digit other than 0-9, else None.

    Examples
    --------
    >>> foreign_digit_reason("٢.٥")
    "uses the digit '٢' (ARABIC-INDIC DIGIT TWO); write numbers with the digits 0-9"
    >>> foreign_digit_reason("2.5") is None
    True
    """
    for char in text:
        if char.isdigit() and not char.isascii():
            name = unicodedata.name(char, f"U+{ord(char):04X}")
            return f"uses the digit '{char}' ({name}); write numbers with the digits 0-9"
    return None


def unicode_encoding(data: bytes) -> str | None:
    """``"UTF-16"`` or ``"UTF-32"`` when ``data`` starts with that encoding's byte-order mark.

    Examples
    --------
    >>> unicode_encoding(b"\\xff\\xfe\\x00\\x00m\\x00\\x00\\x00")
    'UTF-32'
    >>> unicode_encoding("minute".encode("utf-16"))
    'UTF-16'
    >>> unicode_encoding(b"minute") is None
    True
    """
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    return None


def semicolon_separated(header_cells: list[str]) -> bool:
    """True when a header row read as comma-separated is one cell holding ``;``-separated names.

    Spreadsheets in much of Europe save "CSV" with semicolons because the comma is their decimal
    mark; such a header reads as a single cell.

    Examples
    --------
    >>> semicolon_separated(["minute;counts_per_s"])
    True
    >>> semicolon_separated(["minute", "counts_per_s"])
    False
    """
    named = [c for c in header_cells if c.strip()]
    return len(named) == 1 and len([p for p in named[0].split(";") if p.strip()]) >= 2


SEMICOLON_REASON = (
    "this file is separated by semicolons (;), not commas; " + SAVE_AS_CSV + " and try again "
    "(write decimals with a point, e.g. 3.5)"
)
"""The message for a semicolon-separated file."""
