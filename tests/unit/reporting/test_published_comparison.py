"""The published-series data file holds the reference sheet's numbers exactly, each with its
citation, and the forest plot puts this registry beside every series reporting a figure."""

from __future__ import annotations

import pytest

from ilpkit.reporting import figures as figs
from ilpkit.reporting.comparison import Headline
from ilpkit.reporting.document import published_panels
from ilpkit.reporting.published import load_published_series

# Typed from the reference sheet of published TM-ILP series (abstract figures), one percentage
# per cell where the sheet gives a single number.
SHEET = {
    "Deroose 2011": {"cr": 18.0, "orr": 71.0, "local_recurrence": 30.0, "limb_salvage": 81.0},
    "Eggermont 1996": {"cr": 18.0, "orr": 75.0},
    "Bonvalot 2009": {"cr": 30.0, "orr": 79.0, "local_recurrence": 18.0, "limb_salvage": 87.0},
    "Olofsson 2012": {"cr": 21.0, "orr": 71.0, "limb_salvage": 76.0},
    "Systematic review 2013": {"orr": 72.0, "limb_salvage": 81.0},
    "Neuwirth 2017": {"orr": 73.3, "limb_salvage": 73.8},
    "Deroose 2015": {},
    "Grünhagen 2005": {"orr": 88.0, "limb_salvage": 82.0},
    "Deroose 2010": {"local_recurrence": 21.0},
}
KEYS = ("cr", "orr", "local_recurrence", "limb_salvage")


def test_data_file_numbers_equal_the_reference_sheet_and_are_cited():
    series = {s.label: s for s in load_published_series()}
    assert set(series) == set(SHEET)
    for label, expected in SHEET.items():
        s = series[label]
        assert {k: v for k, v in s.pct.items() if k in KEYS} == expected, label
        assert s.citation and (label.split()[0].rstrip("0123456789") in s.citation or
                               "review" in s.citation.lower()), label  # fmt: skip


def test_forest_panels_put_the_registry_first_then_every_reporting_series():
    heads = [
        Headline("orr", "ORR", "perfusion", 0.70, (0.6, 0.8), "70/100", 0.71),
        Headline("limb_salvage", "LS", "perfusion", 0.9, (0.85, 0.95), "90/100", 0.81),
    ]
    panels = {p.title: p for p in published_panels(heads, load_published_series(), "Mine")}
    orr = panels["Overall response (CR + PR)"].points
    assert orr[0] == figs.PublishedPoint("Mine", 0.70, 0.6, 0.8, registry=True)
    assert [(p.label, p.estimate) for p in orr[1:]] == [
        (label, pytest.approx(v["orr"] / 100)) for label, v in SHEET.items() if "orr" in v
    ]
    # no registry figure for CR here: only the published ones
    cr = panels["Complete response"].points
    assert all(not p.registry for p in cr) and len(cr) == 4
    lr = panels["Local recurrence (crude)"].points
    assert [p.label for p in lr] == ["Deroose 2011", "Bonvalot 2009", "Deroose 2010"]


def test_journal_formats_are_600_dpi_png_and_pdf():
    fig = figs.new_figure(2.0, 1.0)
    fig.add_subplot().plot([0, 1], [0, 1])
    files = figs.save(fig, ("png", "png600", "pdf"))
    assert files["pdf"].startswith(b"%PDF")
    import io

    from PIL import Image

    assert Image.open(io.BytesIO(files["png600"])).size == (1200, 600)  # 2 x 1 in at 600 dpi
    assert Image.open(io.BytesIO(files["png"])).size == (400, 200)
    with pytest.raises(ValueError, match="unknown figure format"):
        figs.save(fig, ("tiff",))
