"""The dashboard: cohort counts, response, survival and local recurrence of the user's centres,
filtered by centre and compared by a subgroup variable, with their curves drawn inline as SVG
in the same response."""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.responses import Response
from markupsafe import Markup

from ilpkit.reporting import formatting
from ilpkit.services import dashboard
from ilpkit.services.dashboard import DashboardError, DashboardFilters
from ilpkit.web.context import Web, principal_of

CenterQuery = Annotated[str, Query(max_length=32)]
ByQuery = Annotated[str, Query(max_length=32)]


def register(app: FastAPI, web: Web) -> None:
    """Add the dashboard page to ``app``."""

    @app.get("/dashboard", include_in_schema=False)
    def dashboard_page(request: Request, center: CenterQuery = "", by: ByQuery = "") -> Response:
        filters = DashboardFilters(center=center.strip(), by=by.strip())
        with web.db.begin() as conn:
            user = web.page_user(request, conn)
            principal = principal_of(user)
            choices = dashboard.visible_centers(conn, principal)
            try:
                data = dashboard.load(conn, principal, filters)
            except DashboardError as exc:
                return web.message(request, user, 400, "Not available", str(exc))
        result = dashboard.view(data)
        # the SVG is built by ilpkit.reporting.svg_curves, which escapes every text in it
        curves = {
            name: Markup(fig.svg) if fig.svg is not None else None
            for name, fig in result.figures.items()
        }
        context = {
            "filters": filters,
            "choices": choices,
            "subgroups": dashboard.SUBGROUPS,
            "figures": result.figures,
            "curves": curves,
            "data": data,
            "stats": result.stats,
            "fmt": formatting,
            "level_text": dashboard.level_text,
            "query": request.url.query,
        }
        return web.render(request, "dashboard.html", context, user=user)
