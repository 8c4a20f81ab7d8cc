"""Use case: the dashboard of the web application - cohort counts, response, overall survival and
local recurrence of the centres a user may see, with their curves.

Every number comes from the statistics of the study report (:mod:`ilpkit.stats.analysis`,
:mod:`ilpkit.stats.kaplan_meier`, :mod:`ilpkit.stats.competing_risks`), run on the registry frame
read for the user's centres only: the centre filter is part of the SQL query
(:func:`ilpkit.adapters.db.registry_frame.load_registry_frame`), so no row of another centre is
read. Nothing is cached between requests (the application runs as several workers); each page,
with its curves drawn inline as SVG, is computed from the database once per request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ilpkit.adapters.db import registry_info
from ilpkit.adapters.db.registry_frame import load_registry_frame
from ilpkit.adapters.db.tables import patients
from ilpkit.errors import IlpkitError
from ilpkit.reporting import svg_curves
from ilpkit.services.access import READ_ROLES, Principal
from ilpkit.services.gc_pause import without_cyclic_gc
from ilpkit.stats import cohort
from ilpkit.stats.analysis import (
    AT_YEARS,
    local_recurrence_section,
    response_section,
    survival_section,
)
from ilpkit.stats.results import (
    LocalRecurrence,
    OverallSurvival,
    RecurrenceComparison,
    Response,
    SurvivalComparison,
)

if TYPE_CHECKING:
    from ilpkit.reporting.figures import StepCurve

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
"""The dashboard's figures, name -> title (the SVG element's id on the page is
``{name}-curves``)."""

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


def _compute(
    frame: pd.DataFrame,
    by: list[str],
    years: Sequence[int],
    os_data: pd.DataFrame | None = None,
    lr_data: pd.DataFrame | None = None,
) -> DashboardStats:
    if os_data is None:
        os_data = cohort.overall_survival(frame)
    if lr_data is None:
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


# ---------------------------------------------------------------------------- view


@dataclass(frozen=True)
class DashboardFigure:
    """One curve figure of the dashboard: its inline SVG, or None with the reason."""

    name: str
    title: str
    svg: str | None
    note: str | None = None


@dataclass(frozen=True)
class DashboardView:
    """Everything one dashboard page shows: the numbers and the curve figures."""

    stats: DashboardStats
    figures: dict[str, DashboardFigure]


def view(data: DashboardData, years: Sequence[int] = AT_YEARS) -> DashboardView:
    """The numbers of :func:`compute` and the curves of overall survival and local recurrence
    as inline SVG (:mod:`ilpkit.reporting.svg_curves`), computed once from one frame.

    The survival and local-recurrence data of the cohort are derived once and serve both the
    numbers and the curves; the groups and the log-rank and Gray's test of a subgroup are taken
    from the numbers' sections, not computed again.
    """
    frame = data.frame
    var = data.filters.by
    if len(frame) == 0:
        return DashboardView(compute(data, years), {})
    with without_cyclic_gc():
        os_data = cohort.overall_survival(frame)
        lr_data = cohort.local_recurrence(frame)
        stats = _compute(frame, [var] if var else [], years, os_data, lr_data)
        os_section, lr_section = stats.overall_survival, stats.local_recurrence
        os_cmp = os_section.by.get(var) if var and os_section is not None else None
        lr_cmp = lr_section.by.get(var) if var and lr_section is not None else None
        figures = {
            "overall-survival": _os_figure(os_data, var, os_cmp, data.synthetic),
            "local-recurrence": _lr_figure(lr_data, var, lr_cmp, data.synthetic),
        }
    return DashboardView(stats, figures)


def _os_figure(
    os_data: pd.DataFrame, var: str, comparison: SurvivalComparison | None, synthetic: bool
) -> DashboardFigure:
    """Kaplan-Meier curves of overall survival (one per level of ``var``) with the log-rank
    line, as in the report's figure."""
    from ilpkit.reporting import figures as figs
    from ilpkit.reporting.formatting import p_equals
    from ilpkit.stats.kaplan_meier import kaplan_meier

    name = "overall-survival"
    if comparison is not None and not comparison.groups:
        return DashboardFigure(name, FIGURES[name], None, _no_levels(var))
    t = os_data["time_years"].to_numpy()
    e = os_data["event"].to_numpy()
    notes: list[str] = []
    if comparison is None:
        km = kaplan_meier(t, e, conf_type="log-log")
        curves = [figs.stop_at_risk(figs.km_curve(km, "All patients"), MIN_AT_RISK)]
        names = ["All patients"]
    else:
        text = np.array([str(v) for v in os_data[var].astype(object).to_numpy()], dtype=object)
        curves = []
        names = [level_text(var, level) for level in comparison.groups]
        for level in comparison.groups:
            sel = text == level
            km = kaplan_meier(t[sel], e[sel], conf_type="log-log")
            curve = figs.km_curve(km, level_text(var, level))
            curves.append(figs.stop_at_risk(curve, MIN_AT_RISK))
        if comparison.logrank.p is not None:
            notes.append(f"Log-rank {p_equals(comparison.logrank.p)}")
    plot = _plot(name, "survival", "Overall survival", curves, names, [], notes, synthetic)
    return DashboardFigure(name, FIGURES[name], svg_curves.render(plot))


def _lr_figure(
    lr_data: pd.DataFrame, var: str, comparison: RecurrenceComparison | None, synthetic: bool
) -> DashboardFigure:
    """Cumulative incidence curves of local recurrence (one per level of ``var``), the curve of
    death without local recurrence (no subgroup) and Gray's test line, as in the report."""
    from ilpkit.reporting import figures as figs
    from ilpkit.reporting.formatting import p_equals
    from ilpkit.stats.competing_risks import cumulative_incidence
    from ilpkit.stats.kaplan_meier import number_at_risk

    name = "local-recurrence"
    none = DashboardFigure(name, FIGURES[name], None, "No local recurrence in this selection.")
    if comparison is not None and not comparison.groups:
        return DashboardFigure(name, FIGURES[name], None, _no_levels(var))
    t = lr_data["time_years"].to_numpy()
    s = lr_data["status"].to_numpy()
    if not (s == 1).any():
        return none
    notes: list[str] = []
    extra = []
    if comparison is None:
        res = cumulative_incidence(t, s)
        risk = partial(number_at_risk, t)
        main = figs.cif_curve(res.curve(1), "Local recurrence", risk)
        if (s == 2).any():
            death = figs.cif_curve(
                res.curve(2), "Death without local recurrence", risk, with_band=False
            )
            extra.append(figs.stop_at_risk(death, MIN_AT_RISK, t))
        curves = [figs.stop_at_risk(main, MIN_AT_RISK, t)]
        names = ["Local recurrence"]
    else:
        values = np.array([str(v) for v in lr_data[var].astype(object).to_numpy()], dtype=object)
        levels = list(comparison.groups)
        keep = lr_data[var].notna().to_numpy() & np.isin(values, np.asarray(levels, dtype=object))
        if not (s[keep] == 1).any():
            return none
        res = cumulative_incidence(t[keep], s[keep], values[keep])
        curves = []
        names = [level_text(var, level) for level in levels]
        for level in levels:
            times = t[keep][values[keep] == level]
            risk = partial(number_at_risk, times)
            curve = figs.cif_curve(res.curve(1, level), level_text(var, level), risk)
            curves.append(figs.stop_at_risk(curve, MIN_AT_RISK, times))
        if comparison.gray.p is not None:
            notes.append(f"Gray's test {p_equals(comparison.gray.p)}")
    ylabel = "Cumulative incidence of local recurrence"
    plot = _plot(name, "incidence", ylabel, curves, names, extra, notes, synthetic)
    return DashboardFigure(name, FIGURES[name], svg_curves.render(plot))


def _no_levels(var: str) -> str:
    return f"No curve: no {SUBGROUPS[var]} is recorded in this selection."


def _plot(
    name: str,
    kind: svg_curves.Kind,
    ylabel: str,
    curves: Sequence[StepCurve],
    names: Sequence[str],
    extra: Sequence[StepCurve],
    notes: Sequence[str],
    synthetic: bool,
) -> svg_curves.CurvePlot:
    """The SVG plot of the curves: ticks every 1, 2 or 5 years up to the last one with at least
    :data:`MIN_AT_RISK` at risk over all groups (the report's rule), numbers at risk there.
    ``names``: the groups, naming the rows of the at-risk table."""
    end = max((c.end_time for c in curves), default=1.0) or 1.0
    ticks = svg_curves.tick_years(end)
    counts = [_at_risk(c, ticks) for c in curves]
    if all(n is not None for n in counts):
        totals = [sum(int(n[i]) for n in counts if n is not None) for i in range(len(ticks))]
        ticks = svg_curves.trim_ticks(ticks, totals, MIN_AT_RISK)
    return svg_curves.CurvePlot(
        key=f"{name}-curves",
        title=FIGURES[name],
        kind=kind,
        ylabel=ylabel,
        curves=[
            _svg_curve(c, n, len(ticks), row)
            for c, n, row in zip(curves, counts, names, strict=True)
        ],
        ticks_years=ticks,
        extra=[_svg_curve(c, None, 0) for c in extra],
        notes=notes,
        synthetic=synthetic,
    )


def _at_risk(curve: StepCurve, ticks: Sequence[float]) -> tuple[int, ...] | None:
    if curve.at_risk is None:
        return None
    return tuple(int(n) for n in np.asarray(curve.at_risk(np.asarray(ticks, dtype=float))))


def _svg_curve(
    c: StepCurve, at_risk: tuple[int, ...] | None, n_ticks: int, row_label: str | None = None
) -> svg_curves.Curve:
    return svg_curves.Curve(
        label=c.label,
        time_years=c.time,
        value=c.value,
        lower=c.lower,
        upper=c.upper,
        start=c.start,
        end_years=c.end_time,
        censor_years=c.censor_time,
        censor_value=c.censor_value,
        at_risk=None if at_risk is None else at_risk[:n_ticks],
        row_label=row_label,
    )
