"""0/n is never printed with a 0–0 interval: exact limits run from 0 to a positive upper limit,
and a cumulative incidence of 0 (no event yet) has no log(−log) CI to show."""

from __future__ import annotations

import pandas as pd

from ilpkit.reporting import formatting as fmt
from ilpkit.reporting.tables import local_recurrence_table
from ilpkit.stats.analysis import local_recurrence_section
from ilpkit.stats.results import Proportion


def test_positive_upper_limit_never_prints_as_zero():
    # 0/10000: Clopper-Pearson upper = 1 - 0.025 ** (1 / 10000) = 0.000368855 (by hand)
    entry = Proportion(k=0, n=10000, estimate=0.0, ci95=(0.0, 0.000368855))
    assert fmt.proportion(entry) == "0/10,000 = 0.0% (0.0–0.037)"


def test_local_recurrence_table_gives_exact_ci_for_groups_without_recurrence():
    # ten perfusions of men without local recurrence, followed 6 years; women with some
    times = [6.0] * 10 + [0.5, 1.5, 2.0, 6.0, 6.0, 6.0]
    status = [0] * 10 + [1, 1, 2, 0, 0, 0]
    data = pd.DataFrame({"time_years": times, "status": status, "sex": ["M"] * 10 + ["F"] * 6})
    table = local_recurrence_table(local_recurrence_section(data, ("sex",), (1, 2, 5)), 5)
    text = table.to_csv()
    assert "0.0–0.0" not in text
    men = next(r for r in table.rows if r[1] == "Male")
    # 0/10: Clopper-Pearson 0 to 1 - 0.025 ** (1 / 10) = 30.8% (by hand)
    assert men[2] == "0/10; 0.0% (0.0–30.8)"
    assert men[3:6] == ("0.0%", "0.0%", "0.0%")
    assert "undefined (not shown) where the incidence is 0" in table.note
