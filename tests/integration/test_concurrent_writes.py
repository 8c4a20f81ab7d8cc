"""Writers running at the same time: overlapping imports from separate ``ilp`` processes.

Two files share patients (with different patient-level values) and each has patients of its
own. Whatever the timing, the registry after both imports must be the one a serial application
gives (in one order or the other), every import must succeed, the audit log must count each
patient and perfusion as created exactly once, and the registry's own export must validate.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from ilpkit.cli.main import build_app


def installed_ilp() -> str:
    """The ``ilp`` command installed next to this Python."""
    candidate = Path(sys.executable).parent / "ilp"
    return str(candidate) if candidate.exists() else (shutil.which("ilp") or "ilp")


TRIALS = 4
SHARED = range(100, 250)
ONLY_A = range(0, 100)
ONLY_B = range(250, 350)


def _row(row_factory, i: int, variant: str) -> dict[str, str]:
    pid = f"SYN-{i:04d}"
    if variant == "a":
        return row_factory(patient_id=pid, center="SYNTH", sex="F")
    # the second file knows more about the shared patients: centre, sex and a death
    return row_factory(
        patient_id=pid,
        center="SYNTH-B",
        sex="M",
        death_date="2008-06-30",
        last_followup_date="2008-06-30",
    )


@pytest.fixture
def two_files(tmp_path, row_factory, csv_file):
    a = csv_file([_row(row_factory, i, "a") for i in (*ONLY_A, *SHARED)])
    b = csv_file([_row(row_factory, i, "b") for i in (*SHARED, *ONLY_B)])
    return a, b


def _cli(*args: str):
    return CliRunner().invoke(build_app(), list(args), catch_exceptions=False)


def _exported(url: str, path: Path) -> str:
    """The registry's export without its perfusion_id column (random per registry)."""
    result = _cli("export", str(path), "--db", url, "--replace")
    assert result.exit_code == 0, result.output
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    drop = rows[0].index("perfusion_id")
    return "\n".join(",".join(c for i, c in enumerate(r) if i != drop) for r in rows)


def _serial(first: Path, second: Path, folder: Path) -> str:
    folder.mkdir()
    url = f"sqlite:///{folder / 'serial.sqlite3'}"
    for f in (first, second):
        assert _cli("import", str(f), "--db", url).exit_code == 0
    return _exported(url, folder / "serial.csv")


def _reset(url: str) -> None:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        return
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


def _audit_counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT details FROM audit_log WHERE action = 'import' AND entity = 'import'")
        ).all()
    engine.dispose()
    totals = {"patients_created": 0, "perfusions_created": 0, "imports": 0}
    for (details,) in rows:
        d = details if isinstance(details, dict) else json.loads(details)
        totals["patients_created"] += d["patients_created"]
        totals["perfusions_created"] += d["perfusions_created"]
        totals["imports"] += 1
    return totals


def test_overlapping_imports_from_separate_processes_equal_a_serial_import(
    db_url, two_files, tmp_path
):
    a, b = two_files
    expected = {_serial(a, b, tmp_path / "ab"), _serial(b, a, tmp_path / "ba")}
    assert len(expected) == 2  # the order matters, so a lost update would show
    n_patients = len(ONLY_A) + len(SHARED) + len(ONLY_B)
    env = {**os.environ, "ILP_LOCK_TIMEOUT_S": "60"}
    ilp = installed_ilp()
    for trial in range(TRIALS):
        _reset(db_url)
        first, second = (a, b) if trial % 2 == 0 else (b, a)
        procs = [
            subprocess.Popen(
                [ilp, "import", str(f), "--db", db_url],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for f in (first, second)
        ]
        outputs = [p.communicate(timeout=120) for p in procs]
        for p, (out, err) in zip(procs, outputs, strict=True):
            assert p.returncode == 0, f"trial {trial}: {out}{err}"
        exported = _exported(db_url, tmp_path / f"trial-{trial}.csv")
        assert exported in expected, f"trial {trial}: registry differs from a serial import"
        assert _audit_counts(db_url) == {
            "patients_created": n_patients,
            "perfusions_created": n_patients,
            "imports": 2,
        }, f"trial {trial}"
        check = _cli(
            "validate", str(tmp_path / f"trial-{trial}.csv"), "--db", str(tmp_path / "none")
        )
        assert check.exit_code == 0, check.output


def _count_patients(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM patients")).scalar_one()
    engine.dispose()
    return int(n)


def test_a_writer_waits_for_the_lock_and_says_so_when_the_wait_expires(
    db_url, row_factory, csv_file
):
    import threading
    import time

    from ilpkit.services.unit_of_work import UnitOfWork

    assert _cli("init", "--db", db_url).exit_code == 0
    path = csv_file([row_factory()])
    command = [installed_ilp(), "import", str(path), "--db", db_url]
    with UnitOfWork(db_url, write=True):  # another writer holds the lock
        start = time.monotonic()
        busy = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "ILP_LOCK_TIMEOUT_S": "1"},
        )
        waited = time.monotonic() - start
    assert busy.returncode == 3, busy.stdout + busy.stderr
    assert "is busy: another ilp command has been writing to it for more than 1 s" in " ".join(
        busy.stderr.split()
    )
    assert "Nothing was saved" in busy.stderr
    assert waited >= 1.0
    assert _count_patients(db_url) == 0

    holder_done = threading.Event()

    def hold_for_a_second() -> None:
        with UnitOfWork(db_url, write=True):
            started.set()
            time.sleep(1.5)
        holder_done.set()

    started = threading.Event()
    holder = threading.Thread(target=hold_for_a_second)
    holder.start()
    started.wait(10)
    waiting = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "ILP_LOCK_TIMEOUT_S": "30"},
    )
    holder.join()
    assert waiting.returncode == 0, waiting.stdout + waiting.stderr
    assert holder_done.is_set()
    assert _count_patients(db_url) == 1
