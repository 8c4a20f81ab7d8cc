"""Values that carry their source, and a reader that takes them from a parsed TOML table.

Every clinical constant in the protocol file is written as an inline table with its source, e.g.
``tnf_mg.leg = { value = 4.0, source = "SmPC" }`` or
``priming_volume_ml = { low = 700, high = 800, source = "SmPC" }``. :class:`TomlReader` reads them,
collecting every problem (with the dotted TOML key, the value and the reason) instead of stopping at
the first, so a centre editing its file sees all its mistakes at once.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Sourced:
    """A number with its unit and source.

    Attributes
    ----------
    value : float
        The number.
    unit : str
        Its unit (``"mg"``, ``"mg/L"``, ``"%"``, ``""`` for a fraction).
    source : str
        Where it comes from; ``"inference"`` marks ilpkit's own reasoning.
    """

    value: float
    unit: str
    source: str

    def describe(self) -> str:
        """Human form, e.g. ``4 mg``, ``10%``."""
        if self.unit == "%":
            return f"{self.value:g}%"
        return f"{self.value:g} {self.unit}".rstrip()

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {"value": self.value, "unit": self.unit, "source": self.source}


@dataclass(frozen=True, slots=True)
class SourcedRange:
    """A closed range ``low``-``high`` with its unit and source."""

    low: float
    high: float
    unit: str
    source: str

    def contains(self, value: float) -> bool:
        """True when ``low <= value <= high``."""
        return self.low <= value <= self.high

    def describe(self) -> str:
        """Human form, e.g. ``700-800 mL``."""
        return f"{self.low:g}-{self.high:g} {self.unit}".rstrip()

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {"low": self.low, "high": self.high, "unit": self.unit, "source": self.source}


_MISSING = object()


class TomlReader:
    """Read sourced values from parsed TOML, collecting problems.

    When a value is missing or wrong, the reader records a problem and returns a placeholder (NaN
    numbers, empty text), so that reading can go on and report every problem. The caller must check
    :attr:`problems` and refuse the whole file when it is not empty; placeholders never leave the
    parser.
    """

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, path: str, message: str) -> None:
        """Record a problem at the dotted TOML key ``path``."""
        self.problems.append(f"{path}: {message}" if path else message)

    def table(self, parent: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
        """Return the sub-table ``key`` of ``parent`` (an empty one, with a problem, if absent)."""
        value = parent.get(key, _MISSING)
        where = _join(path, key)
        if value is _MISSING:
            self.problem(where, "missing table")
            return {}
        if not isinstance(value, Mapping):
            self.problem(where, f"must be a table, found {_show(value)}")
            return {}
        return value

    def only_keys(self, table: Mapping[str, Any], allowed: Collection[str], path: str) -> None:
        """Record a problem for each key of ``table`` not in ``allowed`` (catches typos)."""
        for key in table:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                self.problem(_join(path, key), f"unknown key (known keys here: {known})")

    def text(self, table: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> str:
        """Return the non-empty string ``table[key]``."""
        value = table.get(key, _MISSING)
        where = _join(path, key)
        if value is _MISSING:
            if required:
                self.problem(where, "missing")
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            self.problem(where, f"must be a non-empty text, found {_show(value)}")
            return ""
        return value.strip()

    def flag(self, table: Mapping[str, Any], key: str, path: str, *, default: bool) -> bool:
        """Return the boolean ``table[key]`` (``default`` when absent)."""
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.problem(_join(path, key), f"must be true or false, found {_show(value)}")
            return default
        return value

    def sourced(
        self,
        table: Mapping[str, Any],
        key: str,
        path: str,
        unit: str,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        positive: bool = True,
    ) -> Sourced:
        """Return ``table[key]``, an inline table ``{ value = ..., source = "..." }``.

        Parameters
        ----------
        table : mapping
            The parent table.
        key : str
            The key to read.
        path : str
            Dotted TOML path of ``table``, for messages.
        unit : str
            Unit of the value (from the key name); used in messages and stored.
        minimum, maximum : float, optional
            Allowed closed bounds.
        positive : bool
            Require a value greater than 0.
        """
        entry = self._entry(table, key, path, ("value", "source"))
        where = _join(path, key)
        if entry is None:
            return Sourced(math.nan, unit, "")
        value = self._number(entry, "value", where, unit, minimum, maximum, positive)
        return Sourced(value, unit, self._source(entry, where))

    def sourced_range(
        self,
        table: Mapping[str, Any],
        key: str,
        path: str,
        unit: str,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> SourcedRange:
        """Return ``table[key]``, an inline table ``{ low = ..., high = ..., source = "..." }``."""
        entry = self._entry(table, key, path, ("low", "high", "source"))
        where = _join(path, key)
        if entry is None:
            return SourcedRange(math.nan, math.nan, unit, "")
        low = self._number(entry, "low", where, unit, minimum, maximum, True)
        high = self._number(entry, "high", where, unit, minimum, maximum, True)
        if low > high:
            self.problem(where, f"low = {low:g} is above high = {high:g}")
        return SourcedRange(low, high, unit, self._source(entry, where))

    def number(
        self,
        entry: Mapping[str, Any],
        key: str,
        path: str,
        unit: str,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        positive: bool = True,
    ) -> float:
        """Return the number ``entry[key]`` (NaN, with a problem, when missing or wrong)."""
        return self._number(entry, key, path, unit, minimum, maximum, positive)

    def _entry(
        self, table: Mapping[str, Any], key: str, path: str, keys: tuple[str, ...]
    ) -> Mapping[str, Any] | None:
        value = table.get(key, _MISSING)
        where = _join(path, key)
        example = ", ".join(f"{k} = ..." for k in keys[:-1])
        if value is _MISSING:
            self.problem(where, f'missing; write it as {{ {example}, source = "..." }}')
            return None
        if not isinstance(value, Mapping):
            self.problem(
                where,
                f"found {_show(value)}; every value needs its source: write "
                f'{{ {example}, source = "..." }}',
            )
            return None
        self.only_keys(value, keys, where)
        return value

    def _number(
        self,
        entry: Mapping[str, Any],
        key: str,
        where: str,
        unit: str,
        minimum: float | None,
        maximum: float | None,
        positive: bool,
    ) -> float:
        value = entry.get(key, _MISSING)
        at = f"{where}.{key}"
        if value is _MISSING:
            self.problem(at, "missing")
            return math.nan
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(at, f"must be a number ({unit or 'fraction'}), found {_show(value)}")
            return math.nan
        number = float(value)
        shown = f"{number:g} {unit}".rstrip()
        if not math.isfinite(number):
            self.problem(at, f"{shown} is not a finite number")
        elif positive and number <= 0:
            self.problem(at, f"{shown} must be more than 0")
        elif minimum is not None and number < minimum:
            self.problem(at, f"{shown} is below the lowest allowed value {minimum:g} {unit}")
        elif maximum is not None and number > maximum:
            self.problem(at, f"{shown} is above the highest allowed value {maximum:g} {unit}")
        return number

    def _source(self, entry: Mapping[str, Any], where: str) -> str:
        source = entry.get("source", _MISSING)
        if not isinstance(source, str) or not source.strip():
            self.problem(
                f"{where}.source",
                'every value needs its source, e.g. source = "SmPC" or source = "inference: ..."',
            )
            return ""
        return source.strip()


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
