"""How synthetic records are labelled: the patient id prefix and the centre code that
``ilp synth`` and ``ilp demo`` write, by which a registry, a report and an export made from
such records are recognised as SYNTHETIC."""

from __future__ import annotations

SYNTHETIC_ID_PREFIX = "SYN-"
"""Every synthetic patient id starts with this, e.g. ``SYN-000001``."""

SYNTHETIC_CENTER = "SYNTH"
"""Centre code of every synthetic patient."""
