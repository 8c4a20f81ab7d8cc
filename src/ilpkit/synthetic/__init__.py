"""SYNTHETIC TM-ILP registries from a generating model calibrated to the seed study.

Nothing here describes a real patient. :func:`generate_cohort` draws a cohort of patients and
their perfusions from :class:`CohortParameters`, a frozen set of values each carrying its source
or the reason it was chosen (docs/synthetic-cohort.md). The defaults are calibrated so that a large
cohort reproduces the published figures of Deroose et al., J Clin Oncol 2011 (208 patients,
231 perfusions, 1991-2005): response, local recurrence, limb salvage and 5-year overall survival.

Example
-------
>>> from ilpkit.synthetic import DEFAULT_SEED, generate_cohort
>>> cohort = generate_cohort(208, DEFAULT_SEED)
>>> cohort.n_patients
208
"""

from __future__ import annotations

from ilpkit.synthetic.cohort import SyntheticCohort
from ilpkit.synthetic.cohort_model import DEFAULT_SEED, generate_cohort
from ilpkit.synthetic.parameters import DEFAULT_PARAMETERS, CohortParameters

__all__ = [
    "DEFAULT_PARAMETERS",
    "DEFAULT_SEED",
    "CohortParameters",
    "SyntheticCohort",
    "generate_cohort",
]
