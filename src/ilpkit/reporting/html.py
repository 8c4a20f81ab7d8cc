"""Render a :class:`~ilpkit.reporting.document.ReportDocument` as one self-contained HTML file.

Templates are Jinja2 files in ``ilpkit/reporting/templates``; the stylesheet is inlined and every
figure is an SVG ``data:`` URI, so the file needs no network and no other file to display or
print.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ilpkit.reporting import formatting as fmt

if TYPE_CHECKING:
    from ilpkit.reporting.document import ReportDocument

TEMPLATE = "report.html.j2"


def render_html(doc: ReportDocument) -> str:
    """The report as HTML text."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("ilpkit.reporting", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["interval"] = lambda ci: fmt.interval(ci[0], ci[1])
    return env.get_template(TEMPLATE).render(doc=doc)
