"""The synthetic labels (patient id prefix SYN-, centre SYNTH) are written down once, in
ilpkit.domain.synthetic; only the frozen migrations keep their own copy."""

from __future__ import annotations

import ast
from pathlib import Path

import ilpkit
from ilpkit.domain.synthetic import SYNTHETIC_CENTER, SYNTHETIC_ID_PREFIX

PACKAGE = Path(ilpkit.__file__).parent
HOME = PACKAGE / "domain" / "synthetic.py"
MIGRATIONS = PACKAGE / "adapters" / "db" / "migrations"


def test_labels_are_as_the_registry_format_documents():
    assert (SYNTHETIC_ID_PREFIX, SYNTHETIC_CENTER) == ("SYN-", "SYNTH")


def test_no_other_module_spells_the_labels():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == HOME or MIGRATIONS in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in ("SYN-", "SYNTH"):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert found == []


def test_the_synthetic_modules_use_the_labels():
    from ilpkit.synthetic.cohort import patient_ids

    assert str(patient_ids(3)[0]).startswith(SYNTHETIC_ID_PREFIX)
