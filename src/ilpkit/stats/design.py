"""Coding of registry covariates for the models: yes/no and numeric terms, level order, and the
Cox design matrix built from named terms.

Shared by the outcome study (:mod:`ilpkit.stats.analysis`, which re-exports these names) and the
prognostic calculator (:mod:`ilpkit.stats.prognosis`). Kept apart from the outcome study so that
``ilp predict`` imports only what it uses: the design, the Cox and Fine-Gray fits, not the
proportion and comparison statistics of the report.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ilpkit.errors import IlpkitError
from ilpkit.stats import cohort

__all__ = [
    "CATEGORICAL",
    "CLINICAL_ORDER",
    "NUMERIC",
    "ORDERED",
    "YES_NO",
    "AnalysisError",
    "Design",
    "cox_design",
    "ordered_levels",
]

ORDERED = {
    "grade": ("1", "2", "3"),
    "tumor_size_group": tuple(g for g, _, _ in cohort.TUMOR_SIZE_GROUPS),
    "tnf_dose_group": tuple(g for g, _, _ in cohort.TNF_DOSE_GROUPS),
}
"""Ordered variables get the log-rank test for trend as well (scores 1, 2, ...)."""
CLINICAL_ORDER = {
    "response": ("CR", "PR", "NC", "PD", "NE"),
    "resection_margin": ("R0", "R1", "R2"),
    "sex": ("F", "M"),
    "limb": ("arm", "leg"),
    "presentation": ("primary", "recurrent"),
    "necrosis_group": cohort.NECROSIS_GROUPS,
    "histology_group": cohort.histology_groups().order,
}
"""Levels shown in clinical order (best response first, R0 first...), not alphabetically;
no test for trend is implied."""
YES_NO = ("multifocal", "prior_radiotherapy", "leiomyosarcoma", "adjuvant_radiotherapy")
NUMERIC = cohort.NUMERIC_COVARIATES
CATEGORICAL = tuple(c for c in cohort.COVARIATES if c not in YES_NO)


class AnalysisError(IlpkitError, ValueError):
    """The requested analysis cannot be done (unknown variable, empty registry...)."""


def ordered_levels(texts: Collection[str], name: str) -> list[str]:
    """The levels of ``name`` (the distinct texts ``texts`` of its values), in order.

    Parameters
    ----------
    texts : collection of str
        The variable's distinct values as text.
    name : str
        The variable's name: ordered and clinical variables keep their own order (levels not in
        it follow alphabetically), yes/no variables are ``no`` then ``yes``, others alphabetical.

    Returns
    -------
    list of str
    """
    present = sorted(texts)
    order = ORDERED.get(name) or CLINICAL_ORDER.get(name)
    if order:
        return [lv for lv in order if lv in present] + [lv for lv in present if lv not in order]
    if name in YES_NO:
        return [lv for lv in ("no", "yes") if lv in present]
    return present


@dataclass(frozen=True)
class Design:
    """A Cox design matrix built from named terms, with the rows it left out."""

    x: np.ndarray
    names: tuple[str, ...]
    terms: dict[str, list[str]]
    keep: np.ndarray
    n_excluded: int
    reference: dict[str, str]


def cox_design(data: pd.DataFrame, terms: Sequence[str]) -> Design:
    """Design matrix: numeric as is; yes/no as yes = 1; categorical as ``NAME[LEVEL]`` dummies
    against the first level (treatment contrasts, as R). Rows missing any term are left out."""
    keep = np.ones(len(data), dtype=bool)
    for t in terms:
        keep &= data[t].notna().to_numpy()
    sub = data[keep]
    columns: list[np.ndarray] = []
    names: list[str] = []
    term_map: dict[str, list[str]] = {}
    reference: dict[str, str] = {}
    for t in terms:
        if t in NUMERIC:
            columns.append(sub[t].to_numpy(dtype=float))
            names.append(t)
            term_map[t] = [t]
        elif t in YES_NO:
            columns.append((sub[t] == "yes").to_numpy(dtype=float))
            names.append(t)
            term_map[t] = [t]
        else:
            codes, texts = cohort.text_codes(sub[t])
            levels = ordered_levels(texts, t)
            if len(levels) < 2:
                present = f" ({levels[0]})" if levels else ""
                raise AnalysisError(f"{t} has only one level present{present}")
            reference[t] = levels[0]
            cols = []
            for lv in levels[1:]:
                columns.append((codes == texts.index(lv)).astype(float))
                cols.append(f"{t}[{lv}]")
            names.extend(cols)
            term_map[t] = cols
    x = np.column_stack(columns) if columns else np.empty((int(keep.sum()), 0))
    return Design(x, tuple(names), term_map, keep, int((~keep).sum()), reference)
