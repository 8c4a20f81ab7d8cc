"""SYNTHETIC Registry CSV v1 rows for benchmarks and the bundled example file.

Not calibrated to any study (the calibrated generator is ``ilp synth``): the values are merely
valid and varied. Every patient id starts with ``SYN-`` and the centre code is ``SYNTH`` so that
the data can never be mistaken for real patients.

Run ``python benchmarks/registry_rows.py N OUT.csv [SEED]`` to write a file.
"""

from __future__ import annotations

import csv
import random
import sys
from collections.abc import Iterable, Iterator
from datetime import date, timedelta

from ilpkit.domain.fields import COLUMN_NAMES

HISTOLOGIES = [
    "leiomyosarcoma",
    "liposarcoma",
    "myxofibrosarcoma",
    "undifferentiated_pleomorphic_sarcoma",
    "synovial_sarcoma",
    "mpnst",
    "angiosarcoma",
    "other",
]
COLUMNS = list(COLUMN_NAMES)


def synthetic_rows(n_rows: int, seed: int = 1) -> list[dict[str, str]]:
    """Return ``n_rows`` valid SYNTHETIC rows (about 1.1 perfusions per patient)."""
    return list(iter_synthetic_rows(n_rows, seed))


def iter_synthetic_rows(n_rows: int, seed: int = 1) -> Iterator[dict[str, str]]:
    """The rows of :func:`synthetic_rows`, one at a time (for files of millions of rows)."""
    rng = random.Random(seed)
    made = 0
    patient = 0
    lock = date(2010, 12, 31)
    while made < n_rows:
        patient += 1
        birth = date(1920, 1, 1) + timedelta(days=rng.randrange(0, 60 * 365))
        first = date(1991, 1, 1) + timedelta(days=rng.randrange(0, 15 * 365))
        n_perf = 2 if rng.random() < 0.1 else 1
        dates = [first] + [first + timedelta(days=rng.randrange(60, 700))] * (n_perf - 1)
        last = min(lock, dates[-1] + timedelta(days=rng.randrange(30, 6000)))
        dead = rng.random() < 0.5 and last < lock
        sex = rng.choice("MF")
        for ilp in dates:
            if made >= n_rows:
                break
            limb = "leg" if rng.random() < 0.8 else "arm"
            level = rng.choice(
                ["iliac", "femoral", "popliteal"] if limb == "leg" else ["axillary", "brachial"]
            )
            volume = round(rng.uniform(6, 14) if limb == "leg" else rng.uniform(1.5, 4), 2)
            per_l = 10 if limb == "leg" else 13
            melphalan = round(min(150.0, per_l * volume), 1)
            span = (last - ilp).days
            lr = ""
            if span > 30 and rng.random() < 0.3:
                lr = (ilp + timedelta(days=rng.randrange(1, span))).isoformat()
            resected = span > 90 and rng.random() < 0.7
            made += 1
            yield (
                {
                    "patient_id": f"SYN-{patient:06d}",
                    "center": "SYNTH",
                    "sex": sex,
                    "birth_date": birth.isoformat(),
                    "death_date": last.isoformat() if dead else "",
                    "last_followup_date": last.isoformat(),
                    "ilp_date": ilp.isoformat(),
                    "limb": limb,
                    "perfusion_level": level,
                    "limb_volume_l": f"{volume}",
                    "tnf_mg": rng.choice(["1", "2", "3"])
                    if limb == "arm"
                    else rng.choice(["1", "2", "3", "4"]),
                    "melphalan_mg": f"{melphalan}",
                    "histology": rng.choice(HISTOLOGIES),
                    "grade": rng.choice(["1", "2", "2", "3", "3", ""]),
                    "tumor_size_cm": f"{round(rng.uniform(2, 30), 1)}",
                    "multifocal": "yes" if rng.random() < 0.2 else "no",
                    "presentation": "recurrent" if rng.random() < 0.3 else "primary",
                    "prior_radiotherapy": "yes" if rng.random() < 0.15 else "no",
                    "response": rng.choice(["CR", "PR", "PR", "PR", "NC", "PD", "NE", ""]),
                    "resection_date": (ilp + timedelta(days=60)).isoformat() if resected else "",
                    "resection_margin": rng.choice(["R0", "R1", "R2"]) if resected else "",
                    "amputation_date": "",
                    "local_recurrence_date": lr,
                    "distant_metastasis_date": "",
                    "max_leakage_pct": f"{round(rng.uniform(0, 4), 1)}",
                    "wieberdink_grade": rng.choice(["1", "2", "2", "3", "4"]),
                    "max_tissue_temp_c": f"{round(rng.uniform(38, 40), 1)}",
                    "perfusion_minutes": "90",
                }
            )


def write_rows(rows: Iterable[dict[str, str]], path: str) -> None:
    """Write rows as Registry CSV v1."""
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    n = int(sys.argv[1])
    seed = int(sys.argv[2 + 1]) if len(sys.argv) > 3 else 1
    write_rows(synthetic_rows(n, seed), sys.argv[2])
