"""The dashboard: cohort counts, response, survival and local recurrence of the user's centres,
filtered by centre and compared by a subgroup variable; its curves as SVG."""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.responses import Response

from ilpkit.reporting import formatting
from ilpkit.services import dashboard
from ilpkit.services.dashboard import DashboardError, DashboardFilters
from ilpkit.web.context import Web, principal_of

SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
"""Content-Security-Policy of a figure: matplotlib's SVG styles its elements inline; an SVG
shown as an image runs no script, and this policy allows nothing else."""

CenterQuery = Annotated[str, Query(max_length=32)]
ByQuery = Annotated[str, Query(max_length=32)]


def register(app: FastAPI, web: Web) -> None:
    """Add the dashboard page and its figures to ``app``."""

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
        stats = dashboard.compute(data)
        context = {
            "filters": filters,
            "choices": choices,
            "subgroups": dashboard.SUBGROUPS,
            "figures": dashboard.FIGURES,
            "data": data,
            "stats": stats,
            "fmt": formatting,
            "level_text": dashboard.level_text,
            "query": request.url.query,
        }
        return web.render(request, "dashboard.html", context, user=user)

    @app.get("/dashboard/figure/{name}.svg", include_in_schema=False)
    def dashboard_figure(
        request: Request, name: str, center: CenterQuery = "", by: ByQuery = ""
    ) -> Response:
        filters = DashboardFilters(center=center.strip(), by=by.strip())
        with web.db.begin() as conn:
            user = web.page_user(request, conn)
            if name not in dashboard.FIGURES:
                return web.message(request, user, 404, "Not found", f"no figure '{name}'")
            try:
                data = dashboard.load(conn, principal_of(user), filters)
            except DashboardError as exc:
                return web.message(request, user, 400, "Not available", str(exc))
        svg = dashboard.figure_svg(data, name)
        return Response(
            svg, media_type="image/svg+xml", headers={"Content-Security-Policy": SVG_POLICY}
        )
