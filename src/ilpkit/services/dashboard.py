"""Use case: the dashboard of the web application - cohort counts, response, overall survival and
local recurrence of the centres a user may see, with their curves.

Every number comes from the statistics of the study report (:mod:`ilpkit.stats.analysis`,
:mod:`ilpkit.stats.kaplan_meier`, :mod:`ilpkit.stats.competing_risks`), run on the registry frame
read for the user's centres only: the centre filter is part of the SQL query
(:func:`ilpkit.adapters.db.registry_frame.load_registry_frame`), so no row of another centre is
read. Nothing is cached between requests (the application runs as several workers); each page
and each figure is computed from the database.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ilpkit.adapters.db import registry_info
from ilpkit.adapters.db.registry_frame import load_registry_frame
from ilpkit.adapters.db.tables import patients
from ilpkit.errors import IlpkitError
from ilpkit.services.access import READ_ROLES, Principal
from ilpkit.stats import cohort
from ilpkit.stats.analysis import (
    AT_YEARS,
    local_recurrence_section,
    response_section,
    survival_section,
)
from ilpkit.stats.results import LocalRecurrence, OverallSurvival, Response

SUBGROUPS: dict[str, str] = {
    "limb": "Limb",
    "histology": "Histology",
    "leiomyosarcoma": "Leiomyosarcoma or other histology",
    "tumor_size_group": "Tumour size (AJCC T)",
    "tnf_mg": "TNF-α dose",
    "presentation": "Presentation",
    "grade": "FNCLCC grade",
}
"""Subgroup variables the dashboard compares (analysis variable -> label)."""

FIGURES: dict[str, str] = {
    "overall-survival": "Overall survival (Kaplan-Meier)",
    "local-recurrence": "Cumulative incidence of local recurrence (death competing)",
}
"""The dashboard's figures, by the name in their URL."""

MIN_AT_RISK = 10
"""Curves stop where fewer than this many remain at risk (as in the report)."""


class DashboardError(IlpkitError):
    """A dashboard filter the user may not use (the message says which)."""


@dataclass(frozen=True, slots=True)
class DashboardFilters:
    """What the dashboard shows: one centre of the user's (empty: all) and a subgroup variable
    whose levels are compared (empty: none)."""

    center: str = ""
    by: str = ""


@dataclass(frozen=True)
class DashboardData:
    """The registry frame of a dashboard view and what it covers."""

    frame: pd.DataFrame
    centers: tuple[str, ...]
    filters: DashboardFilters
    synthetic: bool


@dataclass(frozen=True)
class DashboardStats:
    """The dashboard's numbers, as the report's result models (None: no perfusion)."""

    n_patients: int
    n_perfusions: int
    n_centers: int
    response: Response | None
    overall_survival: OverallSurvival | None
    local_recurrence: LocalRecurrence | None
    years: tuple[int, ...]


def visible_centers(conn: Connection, principal: Principal) -> tuple[str, ...]:
    """The centres the principal may choose from: an admin every centre holding patients,
    anyone else the centres granted."""
    if principal.role not in READ_ROLES:
        return ()
    if principal.all_centers:
        rows = conn.execute(sa.select(patients.c.center).distinct().order_by(patients.c.center))
        return tuple(str(r[0]) for r in rows)
    return tuple(sorted(principal.centers))


def check_filters(filters: DashboardFilters) -> None:
    """Raise :class:`DashboardError` for an unknown subgroup variable."""
    if filters.by and filters.by not in SUBGROUPS:
        raise DashboardError(
            f"'{filters.by}' is not a subgroup variable of the dashboard; choose from "
            + ", ".join(SUBGROUPS)
        )


def load(conn: Connection, principal: Principal, filters: DashboardFilters) -> DashboardData:
    """The registry frame of the principal's centres, or of the one centre chosen.

    Raises
    ------
    DashboardError
        The centre is not one of the principal's (the same message whether it exists or not),
        or the subgroup variable is unknown.
    """
    check_filters(filters)
    if principal.role not in READ_ROLES:
        raise DashboardError("this account may not see registry data")
    if filters.center:
        if not principal.all_centers and filters.center not in principal.centers:
            raise DashboardError(f"centre '{filters.center}' is not one of your centres")
        centers: frozenset[str] | None = frozenset({filters.center})
    else:
        centers = None if principal.all_centers else principal.centers
    with without_cyclic_gc():
        frame = load_registry_frame(conn, centers)
    synthetic = registry_info.is_synthetic(conn) or _synthetic_rows(frame)
    shown = tuple(sorted(centers)) if centers is not None else visible_centers(conn, principal)
    return DashboardData(frame, shown, filters, synthetic)


def _synthetic_rows(frame: pd.DataFrame) -> bool:
    from ilpkit.services.build_report import is_synthetic

    return is_synthetic(frame)


def compute(data: DashboardData, years: Sequence[int] = AT_YEARS) -> DashboardStats:
    """Counts, response (ORR and CR with exact 95% CIs), overall survival (Kaplan-Meier) and
    local recurrence (cumulative incidence, death competing), by the subgroup if one is chosen,
    with the functions of the study report."""
    frame = data.frame
    by = [data.filters.by] if data.filters.by else []
    if len(frame) == 0:
        return DashboardStats(0, 0, 0, None, None, None, tuple(years))
    with without_cyclic_gc():
        return _compute(frame, by, years)


def _compute(frame: pd.DataFrame, by: list[str], years: Sequence[int]) -> DashboardStats:
    os_data = cohort.overall_survival(frame)
    lr_data = cohort.local_recurrence(frame)
    return DashboardStats(
        n_patients=int(frame["patient_id"].nunique()),
        n_perfusions=len(frame),
        n_centers=int(frame["center"].nunique()),
        response=response_section(frame, by),
        overall_survival=survival_section(os_data, by, years, unit="patient"),
        local_recurrence=local_recurrence_section(lr_data, by, years),
        years=tuple(years),
    )


def level_text(variable: str, level: str) -> str:
    """Readable name of one level of a subgroup variable (``tnf_mg`` ``3.0`` -> ``3 mg``)."""
    from ilpkit.reporting.labels import curve_label

    if variable == "tnf_mg":
        try:
            return f"{float(level):g} mg"
        except ValueError:
            return level
    return curve_label(variable, level)


# ---------------------------------------------------------------------------- figures


def _os_curves(frame: pd.DataFrame, var: str) -> tuple[list[Any], list[str]]:
    """Kaplan-Meier curves of overall survival (one per level of ``var``) and the log-rank
    line, from :func:`ilpkit.stats.analysis.survival_section` as in the report."""
    from ilpkit.reporting import figures as figs
    from ilpkit.reporting.formatting import p_equals
    from ilpkit.stats.kaplan_meier import kaplan_meier

    os_data = cohort.overall_survival(frame)
    t = os_data["time_years"].to_numpy()
    e = os_data["event"].to_numpy()
    if not var:
        km = kaplan_meier(t, e, conf_type="log-log")
        return [figs.stop_at_risk(figs.km_curve(km, "All patients"), MIN_AT_RISK)], []
    comparison = survival_section(os_data, [var], AT_YEARS, unit="patient").by[var]
    text = np.array([str(v) for v in os_data[var].astype(object).to_numpy()], dtype=object)
    curves = []
    for level in comparison.groups:
        sel = text == level
        km = kaplan_meier(t[sel], e[sel], conf_type="log-log")
        curves.append(figs.stop_at_risk(figs.km_curve(km, level_text(var, level)), MIN_AT_RISK))
    p = comparison.logrank.p
    return curves, [f"Log-rank {p_equals(p)}"] if p is not None else []


def _lr_curves(frame: pd.DataFrame, var: str) -> tuple[list[Any], list[Any], list[str]]:
    """Cumulative incidence curves of local recurrence (one per level of ``var``), the curve of
    death without local recurrence (no subgroup) and Gray's test line, as in the report."""
    from ilpkit.reporting import figures as figs
    from ilpkit.reporting.formatting import p_equals
    from ilpkit.stats.competing_risks import cumulative_incidence
    from ilpkit.stats.kaplan_meier import number_at_risk

    lr_data = cohort.local_recurrence(frame)
    t = lr_data["time_years"].to_numpy()
    s = lr_data["status"].to_numpy()
    if not (s == 1).any():
        return [], [], []
    if not var:
        res = cumulative_incidence(t, s)
        risk = partial(number_at_risk, t)
        main = figs.cif_curve(res.curve(1), "Local recurrence", risk)
        extra = []
        if (s == 2).any():
            death = figs.cif_curve(
                res.curve(2), "Death without local recurrence", risk, with_band=False
            )
            extra.append(figs.stop_at_risk(death, MIN_AT_RISK, t))
        return [figs.stop_at_risk(main, MIN_AT_RISK, t)], extra, []
    comparison = local_recurrence_section(lr_data, [var], AT_YEARS).by[var]
    values = np.array([str(v) for v in lr_data[var].astype(object).to_numpy()], dtype=object)
    levels = list(comparison.groups)
    keep = lr_data[var].notna().to_numpy() & np.isin(values, np.asarray(levels, dtype=object))
    if not (s[keep] == 1).any():
        return [], [], []
    res = cumulative_incidence(t[keep], s[keep], values[keep])
    curves = []
    for level in levels:
        times = t[keep][values[keep] == level]
        risk = partial(number_at_risk, times)
        curve = figs.cif_curve(res.curve(1, level), level_text(var, level), risk)
        curves.append(figs.stop_at_risk(curve, MIN_AT_RISK, times))
    p = comparison.gray.p
    return curves, [], [f"Gray's test {p_equals(p)}"] if p is not None else []


@contextmanager
def without_cyclic_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a view is computed and drawn.

    The registry frame holds many Python objects; the collector's full passes over them while
    matplotlib creates its many small objects took about a quarter of a figure's time
    (measured at 10,000 patients). Nothing here makes reference cycles, and memory is still
    freed by reference counting.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def figure_svg(data: DashboardData, name: str) -> bytes:
    """One dashboard figure as SVG (text drawn as paths), with the numbers at risk under it.

    Only the curves and the test of that figure are computed.

    Raises
    ------
    DashboardError
        For an unknown figure name.
    """
    from ilpkit.reporting import figures as figs

    if name not in FIGURES:
        raise DashboardError(f"there is no dashboard figure '{name}'")
    var = data.filters.by
    with without_cyclic_gc(), figs.figure_style():
        if len(data.frame) == 0:
            fig = _empty_figure("No perfusion in this selection")
        elif name == "overall-survival":
            curves, notes = _os_curves(data.frame, var)
            fig = figs.curve_figure(
                curves,
                kind="survival",
                ylabel="Overall survival",
                test_text=notes,
                synthetic=data.synthetic,
            )
        else:
            curves, extra, notes = _lr_curves(data.frame, var)
            if not curves:
                fig = _empty_figure("No local recurrence in this selection")
            else:
                fig = figs.curve_figure(
                    curves,
                    kind="incidence",
                    ylabel="Cumulative incidence of local recurrence",
                    test_text=notes,
                    extra=extra,
                    synthetic=data.synthetic,
                )
        return figs.save(fig, ("svg",))["svg"]


def _empty_figure(text: str) -> Any:
    from ilpkit.reporting import figures as figs

    fig = figs.new_figure(figs.WIDTH_IN, 1.2)
    fig.text(0.5, 0.5, text, ha="center", va="center", color=figs.MUTED)
    return fig
