"""The order of the dates of one registry row, as a table of rules.

One table, read by the row-by-row validation of an import
(:func:`ilpkit.domain.validation.parse_record`) and by the vectorised check of a whole synthetic
cohort (:func:`ilpkit.synthetic.cohort.registry_rule_violations`), so the two cannot drift
apart. A rule holds for Python dates and for numpy ``datetime64`` arrays alike; it is checked
only where both dates are recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Relation = Literal["before", "not after", "same day"]


@dataclass(frozen=True)
class DateRule:
    """``first`` must come ``relation`` ``then``; a broken rule is reported on ``field``.

    Attributes
    ----------
    field : str
        The column a broken rule is reported on.
    first, then : str
        The two date columns compared.
    relation : {"before", "not after", "same day"}
        ``first < then``, ``first <= then`` or ``first == then``.
    message : str
        What a data manager reads; ``{first}`` and ``{then}`` become the two dates.
    name : str
        Short name of the rule in the report of the vectorised check.
    """

    field: str
    first: str
    then: str
    relation: Relation
    message: str
    name: str

    def holds(self, first: Any, then: Any) -> Any:
        """Whether the rule holds (a bool, or a boolean array for date arrays)."""
        if self.relation == "before":
            return first < then
        if self.relation == "not after":
            return first <= then
        return first == then


EVENT_DATES: tuple[tuple[str, str], ...] = (
    ("resection_date", "resection"),
    ("amputation_date", "amputation"),
    ("local_recurrence_date", "local recurrence"),
    ("distant_metastasis_date", "distant metastasis"),
)
"""Dates of what followed a perfusion, with their names in messages."""

DATE_RULES: tuple[DateRule, ...] = (
    DateRule(
        "ilp_date",
        "birth_date",
        "ilp_date",
        "before",
        "must be after the birth date",
        "ilp_date not after the birth date",
    ),
    DateRule(
        "death_date",
        "death_date",
        "last_followup_date",
        "same day",
        "must equal the date of last follow-up ({then}) for a patient who died",
        "death_date differs from last_followup_date",
    ),
    DateRule(
        "last_followup_date",
        "ilp_date",
        "last_followup_date",
        "not after",
        "is before the perfusion date ({first})",
        "last_followup_date before the perfusion",
    ),
    *(
        rule
        for name, words in EVENT_DATES
        for rule in (
            DateRule(
                name,
                "ilp_date",
                name,
                "not after",
                f"the {words} date is before the perfusion date ({{first}})",
                f"{name} before the perfusion",
            ),
            DateRule(
                name,
                name,
                "last_followup_date",
                "not after",
                f"the {words} date is after the date of last follow-up ({{then}})",
                f"{name} after the last follow-up",
            ),
        )
    ),
)
"""Every rule, in the order problems are listed. Row by row, a column gets at most one
problem from these rules (the first it breaks)."""
