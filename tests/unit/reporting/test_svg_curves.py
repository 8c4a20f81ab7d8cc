"""The dashboard's SVG curves (reporting/svg_curves.py): coordinates of hand-made step curves
computed by hand from the documented geometry, numbers at risk, escaping, accessibility."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from ilpkit.reporting import svg_curves as sc

# Geometry (module constants): plot x from LEFT = 170 to WIDTH - RIGHT = 700 (530 units),
# y from TOP = 16 (100%) to TOP + PLOT_HEIGHT = 316 (0%); the x axis ends at the last tick.


def _curve(**kw) -> sc.Curve:
    base = dict(
        label="All patients",
        time_years=np.array([1.0]),
        value=np.array([0.5]),
        lower=np.array([0.2]),
        upper=np.array([0.8]),
        start=1.0,
        end_years=2.0,
        at_risk=(10, 5, 2),
    )
    base.update(kw)
    return sc.Curve(**base)


def _plot(*curves: sc.Curve, **kw) -> sc.CurvePlot:
    base = dict(
        key="os-curves",
        title="Overall survival (Kaplan-Meier)",
        kind="survival",
        ylabel="Overall survival",
        curves=list(curves),
        ticks_years=(0.0, 1.0, 2.0),
    )
    base.update(kw)
    return sc.CurvePlot(**base)


def _paths(svg: str, cls: str) -> list[str]:
    return re.findall(rf'<path class="{cls}" d="([^"]+)"/>', svg)


def test_survival_step_from_1_to_half_at_1_year_by_hand():
    svg = sc.render(_plot(_curve()))
    # t = 0 -> x 170, t = 1 -> 170 + 530 / 2 = 435, t = 2 -> 700;
    # S = 1 -> y 16, S = 0.5 -> 16 + 0.5 * 300 = 166
    assert _paths(svg, "step s0") == ["M170,16H435V166H700"]
    # band: upper limit 0.8 -> y 76 after the step, lower 0.2 -> y 256; before the first step
    # the limits are those of S = 1 (no width)
    assert _paths(svg, "band f0") == ["M170,16H435V76H700V256H435V16H170Z"]


def test_incidence_rising_to_a_quarter_and_second_group_colour():
    up = _curve(
        label="Local recurrence",
        value=np.array([0.25]),
        lower=None,
        upper=None,
        start=0.0,
        at_risk=None,
    )
    other = _curve(
        label="Other", time_years=np.array([0.5]), value=np.array([0.1]), lower=None, start=0.0
    )
    svg = sc.render(_plot(up, other, kind="incidence"))
    # F = 0 -> y 316; F = 0.25 -> 16 + 0.75 * 300 = 241; t = 0.5 -> 170 + 530 / 4 = 302.5
    assert _paths(svg, "step s0") == ["M170,316H435V241H700"]
    assert _paths(svg, "step s1") == ["M170,316H302.5V286H700"]
    assert not _paths(svg, "band f0") and not _paths(svg, "band f1")  # no limits: no band


def test_curve_is_cut_at_the_end_of_the_axis():
    long = _curve(time_years=np.array([1.0, 3.0]), value=np.array([0.5, 0.25]), end_years=4.0)
    long = sc.Curve(**{**long.__dict__, "lower": None, "upper": None})
    assert _paths(sc.render(_plot(long)), "step s0") == ["M170,16H435V166H700"]


def test_numbers_at_risk_under_the_ticks():
    svg = sc.render(_plot(_curve(at_risk=(1234, 5, 0))))
    # first row at y = 316 + 44 (axis) + 18 * 0.75 (heading) + 18 = 391.5
    table = svg.split('<g class="at-risk">')[1].split("</g>")[0]
    assert '<text x="170" y="391.5" text-anchor="middle">1,234</text>' in table
    assert '<text x="435" y="391.5" text-anchor="middle">5</text>' in table
    assert '<text x="700" y="391.5" text-anchor="middle">0</text>' in table
    assert ">Number at risk</text>" in table and ">All patients</text>" in table
    # the view box has room for the heading and one row
    assert 'viewBox="0 0 720 404"' in svg  # 16 + 300 + 44 + 2 * 18 + 8


def test_axes_ticks_in_years_and_percent():
    svg = sc.render(_plot(_curve()))
    for label, y in (("0%", 320), ("20%", 260), ("100%", 20)):  # tick y + 4 (text baseline)
        assert f'y="{y}" text-anchor="end">{label}</text>' in svg
    for x, label in ((170, "0"), (435, "1"), (700, "2")):
        assert f'<text class="tick" x="{x}" y="335" text-anchor="middle">{label}</text>' in svg


def test_group_label_from_the_registry_is_escaped():
    bad = '<script>alert("x")</script> & co'
    svg = sc.render(_plot(_curve(label=bad), notes=["Log-rank p < 0.001"]))
    assert "<script" not in svg
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in svg
    assert "Log-rank p &lt; 0.001" in svg
    root = ET.fromstring(svg)  # well-formed: the escaped text parses back to the label
    texts = ["".join(t.itertext()) for t in root.iter("text")]
    assert bad in texts  # legend (the at-risk row shortens it)
    assert "style=" not in svg


def test_accessible_title_and_description():
    svg = sc.render(_plot(_curve(), notes=["Log-rank p = 0.03"]))
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "os-curves-title os-curves-desc"
    assert root.find("title").text == "Overall survival (Kaplan-Meier)"
    assert root.find("title").get("id") == "os-curves-title"
    assert root.find("desc").text == (
        "Overall survival (Kaplan-Meier), 1 curve. "
        "All patients: 50.0% at 1 year, 50.0% at 2 years. Log-rank p = 0.03."
    )


def test_curve_not_drawn_is_named_but_has_no_path():
    gone = _curve(
        label="T1 (< 10: not drawn)",
        time_years=np.empty(0),
        value=np.empty(0),
        lower=np.empty(0),
        upper=np.empty(0),
        end_years=0.0,
    )
    svg = sc.render(_plot(_curve(), gone))
    assert not _paths(svg, "step s1") and not _paths(svg, "band f1")
    assert "T1 (&lt; 10: not drawn): not drawn." in svg


def test_dense_curve_thinned_to_the_plot_width_keeps_its_end():
    t = np.linspace(0.001, 2.0, 20_000)
    v = 1.0 - t / 4.0  # from 1 down to 0.5 at 2 years
    svg = sc.render(_plot(_curve(time_years=t, value=v, lower=None, upper=None)))
    (path,) = _paths(svg, "step s0")
    steps = path.count("V")
    assert 100 < steps <= 2 * 530 + 2  # first and last step of each of 530 columns
    assert path.endswith("V166H700")  # the last step (S = 0.5 -> y 166) is kept


def test_synthetic_mark():
    assert "SYNTHETIC DATA" in sc.render(_plot(_curve(), synthetic=True))
    assert "SYNTHETIC DATA" not in sc.render(_plot(_curve()))


@pytest.mark.parametrize(
    ("end", "ticks"),
    [
        (0.8, (0.0, 0.5)),
        (2.0, (0.0, 0.5, 1.0, 1.5, 2.0)),
        (7.3, (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0)),
        (18.4, (0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 18.0)),
        (0.0, (0.0, 0.5, 1.0)),
    ],
)
def test_tick_years(end, ticks):
    assert sc.tick_years(end) == ticks


def test_trim_ticks_at_the_last_with_enough_at_risk():
    assert sc.trim_ticks((0.0, 1.0, 2.0, 3.0), (100, 50, 9, 3), 10) == (0.0, 1.0)
    assert sc.trim_ticks((0.0, 1.0, 2.0), (5, 3, 1), 10) == (0.0, 1.0, 2.0)  # too few: all


def test_competing_event_dashed_without_band_or_at_risk_row():
    lr = _curve(label="Local recurrence", value=np.array([0.25]), lower=None, upper=None, start=0.0)
    death = _curve(
        label="Death without local recurrence",
        time_years=np.array([0.5]),
        value=np.array([0.5]),
        lower=None,
        upper=None,
        start=0.0,
        at_risk=None,
    )
    svg = sc.render(_plot(lr, extra=[death], kind="incidence"))
    # F = 0.5 from t = 0.5: x 170 + 530 / 4 = 302.5, y 16 + 0.5 * 300 = 166
    assert _paths(svg, "step extra") == ["M170,316H302.5V166H700"]
    assert svg.count('class="label ') == 1  # one at-risk row: the extra curve has none
    assert "Death without local recurrence: 50.0% at 1 year, 50.0% at 2 years." in svg
    assert "2 curves." in svg
