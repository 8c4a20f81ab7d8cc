"""Report figures: drawn from stats results, valid PNG/SVG, thinned when curves are huge."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from ilpkit.reporting import figures as figs
from ilpkit.stats.competing_risks import cumulative_incidence
from ilpkit.stats.kaplan_meier import kaplan_meier, number_at_risk


def texts(fig) -> list[str]:
    out = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        out += [t.get_text() for t in ax.texts]
    return out


def test_thin_indices_keeps_first_and_last_point_of_each_column():
    x = np.array([0.0, 0.1, 0.2, 1.1, 1.2, 1.3, 1.4, 2.5])
    keep = figs.thin_indices(x, x_max=3.0, columns=3)  # columns [0,1), [1,2), [2,3]
    assert keep.tolist() == [0, 2, 3, 6, 7]


def test_thin_indices_small_input_unchanged():
    assert figs.thin_indices(np.array([1.0, 2.0]), 3.0, 10).tolist() == [0, 1]


def test_km_curve_reads_the_stats_result():
    km = kaplan_meier([5, 8, 8, 12, 20], [1, 1, 0, 1, 0])
    c = figs.km_curve(km, "all")
    assert c.time.tolist() == [5.0, 8.0, 12.0, 20.0]
    assert c.value.round(3).tolist() == [0.8, 0.6, 0.3, 0.3]  # 4/5, x3/4, x1/2
    assert c.censor_time.tolist() == [8.0, 20.0]
    assert c.at_risk is not None and c.at_risk(np.array([0.0, 9.0])).tolist() == [5, 2]


def test_survival_figure_png_svg_and_synthetic_mark():
    rng = np.random.default_rng(1)
    t = rng.exponential(5, 300)
    e = rng.random(300) < 0.7
    with figs.figure_style():
        fig = figs.curve_figure(
            [figs.km_curve(kaplan_meier(t, e), "All")],
            kind="survival",
            ylabel="Overall survival",
            test_text=["Log-rank p = 0.010"],
            synthetic=True,
        )
        assert any("SYNTHETIC" in s for s in texts(fig))
        # numbers at risk under the axis, one per tick, equal to the stats function
        ticks = fig.axes[0].get_xticks()
        shown = [s for s in texts(fig) if s.replace(",", "").isdigit()]
        assert [int(s.replace(",", "")) for s in shown] == number_at_risk(t, ticks).tolist()
        png, svg = figs.to_bytes(fig)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")


def test_axis_ends_at_last_tick_with_ten_at_risk():
    t = np.concatenate([np.full(30, 3.5), np.full(5, 9.5)])
    c = figs.km_curve(kaplan_meier(t, np.zeros(35)), "x")
    end, ticks = figs._time_axis([c])
    assert end == 3.0 and ticks.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_incidence_figure_with_competing_event():
    rng = np.random.default_rng(2)
    t = rng.exponential(3, 400)
    status = rng.choice([0, 1, 2], 400)
    res = cumulative_incidence(t, status)
    with figs.figure_style():
        fig = figs.curve_figure(
            [figs.cif_curve(res.curve(1), "LR", lambda x: number_at_risk(t, x))],
            kind="incidence",
            ylabel="Cumulative incidence",
            extra=[figs.cif_curve(res.curve(2), "Death", with_band=False)],
        )
        legend = fig.axes[0].get_legend()
        assert legend is not None
        labels = [t.get_text() for t in legend.get_texts()]
    assert labels == ["LR", "Death"]


@pytest.mark.slow
def test_huge_curve_is_thinned_and_fast():
    rng = np.random.default_rng(3)
    n = 400_000
    t = rng.exponential(5, n)  # every time distinct: 400,000 steps
    km = kaplan_meier(t, rng.random(n) < 0.5)
    start = time.perf_counter()
    with figs.figure_style():
        fig = figs.curve_figure([figs.km_curve(km, "All")], kind="survival", ylabel="S")
        _, svg = figs.to_bytes(fig)
    assert time.perf_counter() - start < 10
    assert len(svg) < 1_500_000  # thinned: about two points per pixel column


def test_forest_flow_response_and_subgroup_figures_render():
    with figs.figure_style():
        forest = figs.forest_figure(
            [
                figs.ForestRow(
                    "Age (per year)",
                    1.02,
                    1.0,
                    1.04,
                    "0.03",
                    "1.02 (1.00–1.04)",
                    1.01,
                    0.99,
                    1.03,
                    "1.01 (0.99–1.03)",
                ),
                figs.ForestRow("Not estimable", None, None, None, "–", "–"),
            ]
        )
        flow = figs.flow_figure(
            [figs.FlowBox("Patients: 3"), figs.FlowBox("Perfusions: 4", ("x",), ("y",), "Out")]
        )
        resp = figs.response_figure(
            [figs.ProportionRow("CR", 0.2, 0.1, 0.3, "2/10", reference=0.18)],
            reference_label="Published",
        )
        sub = figs.subgroup_figure(
            [
                figs.ProportionRow("Sex", None, None, None, header=True, right="p = 0.5"),
                figs.ProportionRow("F", 0.5, 0.2, 0.8, "5/10"),
            ],
            overall=0.5,
            xlabel="ORR",
        )
        assert "Patients: 3" in texts(flow) and "Out" in texts(flow)
        assert "1.02 (1.00–1.04)" in texts(forest)
        for fig in (forest, flow, resp, sub):
            rendered = figs.render(fig, key="k", number=1, title="T", caption="C")
            assert rendered.data_uri.startswith("data:image/svg+xml;base64,")
            assert rendered.png_data_uri.startswith("data:image/png;base64,")
