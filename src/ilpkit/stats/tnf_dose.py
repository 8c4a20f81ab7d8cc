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

import pandas as pd

from ilpkit.stats import cohort
from ilpkit.stats.results import TnfDose, TnfDoseGroupResult
from ilpkit.stats.toxicity import (
    TNF_DOSE_CUT_MG,
    TNF_DOSE_SOURCE,
    _prop,
    group_test,
    tnf_dose_grouping,
    toxicity_data,
)


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
    data = toxicity_data(frame, cut_mg)
    group = data["tnf_dose_group"]
    resp = data["response"]
    evaluable = resp.notna() & (resp != "NE")
    objective = pd.Series(resp.isin(["CR", "PR"]).astype(float).where(evaluable), index=data.index)
    complete = pd.Series((resp == "CR").astype(float).where(evaluable), index=data.index)
    definitions = {
        levels[0]: f"TNF up to and including {cut_mg:g} mg",
        levels[1]: f"TNF more than {cut_mg:g} mg",
    }
    groups = {}
    for lv in levels:
        rows = (group == lv).to_numpy()
        ev = evaluable.to_numpy() & rows
        severe = data.loc[rows, "severe"].dropna()
        groups[lv] = TnfDoseGroupResult(
            definition=definitions[lv],
            n=int(rows.sum()),
            orr=_prop(int(objective[ev].sum()), int(ev.sum())),
            cr=_prop(int(complete[ev].sum()), int(ev.sum())),
            severe_toxicity=_prop(int(severe.sum()), len(severe)),
        )
    lr = cohort.local_recurrence(frame).reset_index(drop=True)
    lr["tnf_dose_group"] = group.to_numpy()
    return TnfDose(
        unit="perfusion",
        cut_mg=float(cut_mg),
        source=TNF_DOSE_SOURCE,
        n_missing=int(group.isna().sum()),
        groups=groups,
        orr_test=group_test(group, objective, levels),
        cr_test=group_test(group, complete, levels),
        severe_toxicity_test=group_test(group, data["severe"], levels),
        local_recurrence=_recurrence_comparison(lr, "tnf_dose_group", years),
    )
