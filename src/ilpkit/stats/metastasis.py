"""Results section of distant metastasis (per patient, from the first perfusion).

- cumulative incidence of distant metastasis with death without metastasis as the competing
  event (Aalen-Johansen, cmprsk ``cuminc``), by subgroup with Gray's test;
- metastasis-free survival: Kaplan-Meier of the first distant metastasis or death (the DMFS
  dataset of :func:`ilpkit.stats.cohort.distant_metastasis_free_survival`);
- sarcoma-specific survival where the cause of death is recorded: death from sarcoma is the
  event, deaths from other causes are censored at death, deaths of unknown or unrecorded cause
  are left out of the main analysis and counted as sarcoma deaths in a sensitivity analysis.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ilpkit.stats import cohort
from ilpkit.stats.analysis import (
    _cif_at,
    _median,
    _prop,
    _survival_at,
)
from ilpkit.stats.kaplan_meier import kaplan_meier
from ilpkit.stats.results import (
    DistantMetastasis,
    MetastasisFreeSurvival,
    NotRecorded,
    SarcomaSpecificSurvival,
    SurvivalGroup,
)


def sarcoma_specific_section(
    frame: pd.DataFrame, years: Sequence[int]
) -> SarcomaSpecificSurvival | NotRecorded:
    """Sarcoma-specific survival, or why it cannot be estimated (no cause-of-death field, or
    no death with a recorded cause)."""
    if "cause_of_death" not in frame.columns:
        return NotRecorded(not_recorded="the registry has no cause_of_death field")
    data = cohort.sarcoma_specific_survival(frame, with_covariates=False)
    codes, causes = cohort.text_codes(data["cause"])  # -1 while alive
    counts = np.bincount(codes[codes >= 0], minlength=len(causes)).tolist()
    deaths = dict(zip(causes, counts, strict=True))
    if deaths and not (deaths.get("sarcoma", 0) or deaths.get("other", 0)):
        return NotRecorded(not_recorded="no death has its cause recorded (sarcoma or other)")
    unknown = causes.index("unknown") if "unknown" in causes else -2
    main = data[codes != unknown]
    km = kaplan_meier(main["time_years"], main["event"], conf_type="log-log")
    km_all = kaplan_meier(data["time_years"], data["event_unknown_as_sarcoma"], conf_type="log-log")
    return SarcomaSpecificSurvival(
        unit="patient",
        n=len(main),
        events=int(main["event"].sum()),
        deaths_other_cause=deaths.get("other", 0),
        deaths_unknown_cause=deaths.get("unknown", 0),
        unknown_cause="excluded",
        at_years=_survival_at(km, years),
        median_years=_median(km),
        sensitivity_unknown_as_sarcoma=SurvivalGroup(
            n=len(data),
            events=int(data["event_unknown_as_sarcoma"].sum()),
            at_years=_survival_at(km_all, years),
            median_years=_median(km_all),
        ),
    )


@cohort.shared_preparation()
def distant_metastasis_section(frame: pd.DataFrame, years: Sequence[int]) -> DistantMetastasis:
    """Distant metastasis (cumulative incidence, death competing), metastasis-free survival
    and sarcoma-specific survival, per patient."""
    dm = cohort.distant_metastasis(frame, with_covariates=False)
    mfs = dm.drop(columns="status")
    mfs.insert(3, "event", (dm["status"] != 0).astype(int))
    km = kaplan_meier(mfs["time_years"], mfs["event"], conf_type="log-log")
    return DistantMetastasis(
        unit="patient",
        competing_risk="death",
        n=len(dm),
        crude=_prop(int((dm["status"] == 1).sum()), len(dm)),
        deaths_without_metastasis=int((dm["status"] == 2).sum()),
        at_years=_cif_at(dm["time_years"], dm["status"], years),
        metastasis_free_survival=MetastasisFreeSurvival(
            unit="patient",
            n=len(mfs),
            events=int(mfs["event"].sum()),
            at_years=_survival_at(km, years),
            median_years=_median(km),
        ),
        sarcoma_specific_survival=sarcoma_specific_section(frame, years),
    )
