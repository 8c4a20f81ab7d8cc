"""The published TM-ILP series shipped with ilpkit (``ilpkit/data/published_series.toml``)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources

DATA_FILE = "published_series.toml"

FIELDS = ("cr", "pr", "orr", "local_recurrence", "limb_salvage", "os_5y")
"""Headline figures a series may report (text as published, and ``<field>_pct`` numbers)."""


@dataclass(frozen=True)
class PublishedSeries:
    """One published series: its headline figures as reported, with the citation.

    Attributes
    ----------
    key, label, citation, setting : str
    seed : bool
        True for the seed study (Deroose 2011) that the synthetic cohort is calibrated to.
    size : str
        Patients / perfusions as reported (e.g. ``"208 / 231"``).
    tnf_dose : str
    text : dict of str to str
        Figures as published, keyed by :data:`FIELDS` (absent when not reported).
    pct : dict of str to float
        The same as single percentages, where the abstract gives one number.
    notes : str
    """

    key: str
    label: str
    citation: str
    setting: str
    seed: bool
    size: str
    tnf_dose: str
    text: dict[str, str]
    pct: dict[str, float]
    notes: str


def load_published_series() -> tuple[PublishedSeries, ...]:
    """Read the shipped data file; the seed study comes first.

    Raises
    ------
    ValueError
        The data file lacks a required field (a packaging error).
    """
    raw = (resources.files("ilpkit.data") / DATA_FILE).read_text(encoding="utf-8")
    data = tomllib.loads(raw)
    out = []
    for row in data.get("series", []):
        try:
            out.append(
                PublishedSeries(
                    key=row["key"],
                    label=row["label"],
                    citation=row["citation"],
                    setting=row.get("setting", ""),
                    seed=bool(row.get("seed", False)),
                    size=row.get("size", ""),
                    tnf_dose=row.get("tnf_dose", ""),
                    text={f: str(row[f]) for f in FIELDS if f in row},
                    pct={f: float(row[f + "_pct"]) for f in FIELDS if f + "_pct" in row},
                    notes=row.get("notes", ""),
                )
            )
        except KeyError as exc:
            raise ValueError(f"{DATA_FILE}: a series lacks the field {exc}") from None
    out.sort(key=lambda s: not s.seed)
    return tuple(out)


def seed_series() -> PublishedSeries:
    """The seed study (Deroose 2011)."""
    for s in load_published_series():
        if s.seed:
            return s
    raise ValueError(f"{DATA_FILE} marks no series as the seed study")
