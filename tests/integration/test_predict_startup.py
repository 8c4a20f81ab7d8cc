"""``ilp predict`` imports no SciPy module (its import took about 0.15 s of the 1 s budget of a
prediction, see docs/performance.md): the survival statistics it uses compute their normal and
chi-square functions with the standard library (``ilpkit.stats._distributions``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from ilpkit.cli.main import build_app

PROFILE = [
    "--age", "62", "--size-cm", "14", "--histology", "leiomyosarcoma",
    "--multifocal", "no", "--prior-radiotherapy", "yes",
]  # fmt: skip

CHECK = (
    "import sys\n"
    "sys.argv[0] = 'ilp'\n"
    "from ilpkit.cli.main import run\n"
    "try:\n"
    "    run()\n"
    "except SystemExit as exc:\n"
    "    assert not exc.code, exc.code\n"
    "loaded = sorted(m for m in sys.modules if m == 'scipy' or m.startswith('scipy.'))\n"
    "print('SCIPY:' + ','.join(loaded), file=sys.stderr)\n"
)


def test_predict_imports_no_scipy(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    made = CliRunner().invoke(
        build_app(), ["synth", "--patients", "300", "--seed", "1", "--db", db]
    )
    assert made.exit_code == 0, made.output
    done = subprocess.run(
        [sys.executable, "-c", CHECK, "predict", "--db", db, *PROFILE, "--json"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    # it did predict
    result = json.loads(done.stdout)
    assert set(result["overall_survival"]["at_years"]) == {"1", "2", "5"}
    assert set(result["local_recurrence"]["at_years"]) == {"1", "2", "5"}
    line = [s for s in done.stderr.splitlines() if s.startswith("SCIPY:")]
    assert line == ["SCIPY:"], done.stderr
