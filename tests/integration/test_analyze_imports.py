"""``ilp analyze`` does not import scipy.stats (about half a second of every run: the outcome
study needs only SciPy's special functions; docs/performance.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ILP = str(Path(sys.executable).with_name("ilp"))


def test_analyze_of_a_synthetic_registry_imports_no_scipy_stats(tmp_path):
    db = tmp_path / "registry.sqlite3"
    subprocess.run(
        [ILP, "synth", "--patients", "300", "--seed", "1", "--db", str(db)],
        check=True,
        capture_output=True,
    )
    code = (
        "import sys\n"
        f"sys.argv = ['ilp', 'analyze', '--db', {str(db)!r}, '--json']\n"
        "from ilpkit.cli.main import run\n"
        "try:\n"
        "    run()\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print('IMPORTED', 'scipy.stats' in sys.modules,"
        " file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert '"schema"' in done.stdout  # the whole analysis ran and printed its JSON
    assert "IMPORTED False" in done.stderr
