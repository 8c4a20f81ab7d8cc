"""Outcomes by TNF dose group, per perfusion: the Rotterdam comparison of 3-4 mg with 1-2 mg.

:func:`tnf_dose_section` compares the dose groups (default up to 2 mg against more than 2 mg,
:data:`ilpkit.stats.toxicity.TNF_DOSE_CUT_MG`, Deroose 2015) on response (overall response and
complete response: Pearson's chi-squared or Fisher's exact test), local recurrence (cumulative
incidence with death competing, Gray's test) and severe regional toxicity (Wieberdink IV-V).
The unit of analysis is the perfusion: a patient perfused twice counts twice, as in the seed
study's response and recurrence figures. A registry with one dose group only gets its
figures and tests marked not testable with the reason.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ilpkit.domain.response import Response
from ilpkit.stats import cohort
from ilpkit.stats.results import TnfDose, TnfDoseGroupResult
from ilpkit.stats.toxicity import (
    SECTION_COVARIATES,
    TNF_DOSE_CUT_MG,
    TNF_DOSE_SOURCE,
    _group_test,
    _prop,
    level_codes,
    tnf_dose_grouping,
    toxicity_data,
)

RESPONSES: tuple[str, ...] = (
    Response.CR.value,
    Response.PR.value,
    *(r.value for r in Response if r not in (Response.CR, Response.PR)),
)
"""WHO response categories, CR and PR (the objective responses) first
(:class:`ilpkit.domain.response.Response`)."""


@cohort.shared_preparation()
def tnf_dose_section(
    frame: pd.DataFrame, years: tuple[int, ...], cut_mg: float = TNF_DOSE_CUT_MG
) -> TnfDose:
    """Response, local recurrence and severe toxicity by TNF dose group.

    Parameters
    ----------
    frame : DataFrame
        The registry frame, one row per perfusion.
    years : tuple of int
        Times (years) of the cumulative incidence of local recurrence.
    cut_mg : float
        Doses up to and including this form the low group.
    """
    from ilpkit.stats.analysis import _recurrence_comparison

    grouping = tnf_dose_grouping(cut_mg)
    levels = [label for label, _, _ in grouping.groups]
    data = toxicity_data(frame, cut_mg, SECTION_COVARIATES)
    group = level_codes(data["tnf_dose_group"], levels)
    response = level_codes(data["response"], RESPONSES)
    evaluable = (response >= 0) & (response != RESPONSES.index("NE"))
    objective = np.where(evaluable, np.isin(response, [0, 1]), np.nan)  # CR or PR
    complete = np.where(evaluable, response == 0, np.nan)
    severe_all = data["severe"].to_numpy(dtype=float)
    definitions = {
        levels[0]: f"TNF up to and including {cut_mg:g} mg",
        levels[1]: f"TNF more than {cut_mg:g} mg",
    }
    groups = {}
    for i, lv in enumerate(levels):
        rows = group == i
        ev = evaluable & rows
        severe = severe_all[rows]
        severe = severe[~np.isnan(severe)]
        groups[lv] = TnfDoseGroupResult(
            definition=definitions[lv],
            n=int(rows.sum()),
            orr=_prop(int(objective[ev].sum()), int(ev.sum())),
            cr=_prop(int(complete[ev].sum()), int(ev.sum())),
            severe_toxicity=_prop(int(severe.sum()), len(severe)),
        )
    lr = cohort.local_recurrence(frame, ())
    lr["tnf_dose_group"] = data["tnf_dose_group"].to_numpy()
    return TnfDose(
        unit="perfusion",
        cut_mg=float(cut_mg),
        source=TNF_DOSE_SOURCE,
        n_missing=int((group < 0).sum()),
        groups=groups,
        orr_test=_group_test(group, objective, levels),
        cr_test=_group_test(group, complete, levels),
        severe_toxicity_test=_group_test(group, severe_all, levels),
        local_recurrence=_recurrence_comparison(lr, "tnf_dose_group", years),
    )
