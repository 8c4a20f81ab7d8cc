"""The tumour as it was at a perfusion: histology, grade, size and presentation."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Histology(StrEnum):
    """Histological type: a controlled vocabulary of WHO soft-tissue sarcoma types.

    Source: WHO Classification of Tumours, Soft Tissue and Bone (5th ed., 2020); the list follows
    the types reported in TM-ILP series (clinical protocol notes, section 8).
    """

    LEIOMYOSARCOMA = "leiomyosarcoma"
    LIPOSARCOMA = "liposarcoma"
    MYXOFIBROSARCOMA = "myxofibrosarcoma"
    UNDIFFERENTIATED_PLEOMORPHIC_SARCOMA = "undifferentiated_pleomorphic_sarcoma"
    SYNOVIAL_SARCOMA = "synovial_sarcoma"
    MPNST = "mpnst"
    ANGIOSARCOMA = "angiosarcoma"
    EPITHELIOID_SARCOMA = "epithelioid_sarcoma"
    CLEAR_CELL_SARCOMA = "clear_cell_sarcoma"
    RHABDOMYOSARCOMA = "rhabdomyosarcoma"
    KAPOSI_SARCOMA = "kaposi_sarcoma"
    FIBROSARCOMA = "fibrosarcoma"
    ALVEOLAR_SOFT_PART_SARCOMA = "alveolar_soft_part_sarcoma"
    EXTRASKELETAL_MYXOID_CHONDROSARCOMA = "extraskeletal_myxoid_chondrosarcoma"
    DERMATOFIBROSARCOMA_PROTUBERANS = "dermatofibrosarcoma_protuberans"
    OTHER = "other"

    @property
    def label(self) -> str:
        """Readable name, e.g. 'Malignant peripheral nerve sheath tumour'."""
        return HISTOLOGY_LABELS[self]


HISTOLOGY_LABELS: dict[Histology, str] = {
    Histology.LEIOMYOSARCOMA: "Leiomyosarcoma",
    Histology.LIPOSARCOMA: "Liposarcoma",
    Histology.MYXOFIBROSARCOMA: "Myxofibrosarcoma",
    Histology.UNDIFFERENTIATED_PLEOMORPHIC_SARCOMA: "Undifferentiated pleomorphic sarcoma",
    Histology.SYNOVIAL_SARCOMA: "Synovial sarcoma",
    Histology.MPNST: "Malignant peripheral nerve sheath tumour",
    Histology.ANGIOSARCOMA: "Angiosarcoma",
    Histology.EPITHELIOID_SARCOMA: "Epithelioid sarcoma",
    Histology.CLEAR_CELL_SARCOMA: "Clear cell sarcoma",
    Histology.RHABDOMYOSARCOMA: "Rhabdomyosarcoma",
    Histology.KAPOSI_SARCOMA: "Kaposi sarcoma",
    Histology.FIBROSARCOMA: "Fibrosarcoma",
    Histology.ALVEOLAR_SOFT_PART_SARCOMA: "Alveolar soft part sarcoma",
    Histology.EXTRASKELETAL_MYXOID_CHONDROSARCOMA: "Extraskeletal myxoid chondrosarcoma",
    Histology.DERMATOFIBROSARCOMA_PROTUBERANS: "Dermatofibrosarcoma protuberans",
    Histology.OTHER: "Other soft-tissue sarcoma",
}


class Presentation(StrEnum):
    """Primary tumour or local recurrence of an earlier tumour at the time of perfusion."""

    PRIMARY = "primary"
    RECURRENT = "recurrent"


@dataclass(frozen=True, slots=True)
class Tumour:
    """The tumour at the time of one perfusion.

    Attributes
    ----------
    histology : Histology
    grade : int or None
        FNCLCC grade 1-3 (Trojani 1984; Coindre 2006), None when unknown.
    tumor_size_cm : float or None
        Largest diameter in cm, None when unknown.
    multifocal : bool
        More than one tumour in the limb.
    presentation : Presentation
    prior_radiotherapy : bool
        The limb was irradiated before the perfusion.
    """

    histology: Histology
    grade: int | None
    tumor_size_cm: float | None
    multifocal: bool
    presentation: Presentation
    prior_radiotherapy: bool
