"""Readable names for the registry's variables, levels and Cox model terms."""

from __future__ import annotations

from ilpkit.domain.tumour import HISTOLOGY_LABELS

VARIABLE_LABELS: dict[str, str] = {
    "multifocal": "Multifocal tumour",
    "prior_radiotherapy": "Previous radiotherapy of the limb",
    "presentation": "Presentation",
    "histology": "Histology",
    "leiomyosarcoma": "Leiomyosarcoma",
    "grade": "FNCLCC grade",
    "tumor_size_group": "Tumour size (AJCC T)",
    "tumor_size_cm": "Tumour size, cm",
    "sex": "Sex",
    "limb": "Limb",
    "response": "Response",
    "resection_margin": "Resection margin",
    "age_years": "Age, years",
    "limb_volume_l": "Limb volume, L",
    "tnf_mg": "TNF-α, mg",
    "melphalan_mg": "Melphalan, mg",
    "melphalan_mg_per_l": "Melphalan, mg/L of limb volume",
    "tnf_dose_group": "TNF-α dose group",
    "melphalan_mg_per_l_group": "Melphalan per litre of limb volume",
    "max_leakage_pct_group": "Peak leakage",
    "max_tissue_temp_c_group": "Highest tissue temperature",
    "max_leakage_pct": "Peak leakage, %",
    "max_tissue_temp_c": "Highest tissue temperature, °C",
    "adjuvant_radiotherapy": "Adjuvant radiotherapy",
    "pathological_necrosis_pct": "Pathological necrosis, %",
    "wieberdink_grade": "Wieberdink grade",
    "systemic_toxicity_grade": "Systemic toxicity (CTCAE grade)",
    "complication_clavien_dindo": "Complication (Clavien-Dindo)",
    "amputation_reason": "Reason for amputation",
    "cause_of_death": "Cause of death",
    "histology_group": "Histology",
    "necrosis_group": "Pathological necrosis",
}

PER_UNIT: dict[str, str] = {
    "age_years": "per year",
    "tumor_size_cm": "per cm",
    "limb_volume_l": "per L",
    "tnf_mg": "per mg",
    "melphalan_mg": "per mg",
    "melphalan_mg_per_l": "per mg/L",
    "max_leakage_pct": "per %",
    "max_tissue_temp_c": "per °C",
    "pathological_necrosis_pct": "per %",
}
"""Unit of one step of a numeric Cox term (the hazard ratio is per this step)."""

_LEVELS: dict[str, str] = {
    "yes": "Yes",
    "no": "No",
    "primary": "Primary",
    "recurrent": "Recurrent",
    "M": "Male",
    "F": "Female",
    "arm": "Arm",
    "leg": "Leg",
    "iliac": "iliac",
    "femoral": "femoral",
    "popliteal": "popliteal",
    "axillary": "axillary",
    "brachial": "brachial",
    "<=5cm": "≤ 5 cm (T1)",
    ">5-10cm": "> 5–10 cm (T2)",
    ">10-15cm": "> 10–15 cm (T3)",
    ">15cm": "> 15 cm (T4)",
    "<=50%": "≤ 50%",
    ">50%": "> 50%",
}


def variable_label(name: str) -> str:
    """Readable name of a registry or analysis variable (the name itself when unknown)."""
    return VARIABLE_LABELS.get(name, name.replace("_", " ").capitalize())


def level_label(variable: str, level: str) -> str:
    """Readable name of one level of a variable (``grade`` ``2`` -> ``Grade 2``)."""
    if variable == "histology":
        for key, text in HISTOLOGY_LABELS.items():
            if key.value == level:
                return text
    if variable == "histology_group":
        from ilpkit.stats.cohort import histology_groups

        return histology_groups().labels.get(level, level)
    if variable == "grade":
        return f"Grade {level}"
    return _LEVELS.get(level, level)


def term_label(term: str, reference: dict[str, str] | None = None) -> str:
    """Readable name of a Cox model term.

    Numeric terms get their step (``Age, years (per year)``); yes/no terms read ``yes vs no``;
    dummy terms ``NAME[LEVEL]`` read ``Variable: level vs reference``.
    """
    if "[" in term and term.endswith("]"):
        name, level = term[:-1].split("[", 1)
        ref = (reference or {}).get(name)
        text = f"{variable_label(name)}: {level_label(name, level)}"
        return f"{text} vs {level_label(name, ref)}" if ref else text
    if term in PER_UNIT:
        return f"{variable_label(term)} ({PER_UNIT[term]})"
    return f"{variable_label(term)} (yes vs no)"


_SHORT_YES_NO: dict[str, tuple[str, str]] = {
    "multifocal": ("Multifocal", "Unifocal"),
    "prior_radiotherapy": ("Irradiated limb", "Not irradiated"),
    "leiomyosarcoma": ("Leiomyosarcoma", "Other histology"),
}


def curve_label(variable: str, level: str) -> str:
    """Short legend label of one subgroup curve (``multifocal`` ``yes`` -> ``Multifocal``)."""
    if variable in _SHORT_YES_NO and level in ("yes", "no"):
        yes, no = _SHORT_YES_NO[variable]
        return yes if level == "yes" else no
    return level_label(variable, level)
