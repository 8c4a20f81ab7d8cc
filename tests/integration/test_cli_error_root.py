"""ilpkit's own errors share one root, and ``ilp`` turns any of them that a command did not
handle into its message and an exit code 1-3; only real defects get the exit-70 message."""

from __future__ import annotations

import sys

import pytest

from ilpkit.adapters.db.errors import DatabaseUrlError, RegistryDatabaseError
from ilpkit.cli import main
from ilpkit.domain.errors import RegistryValidationError
from ilpkit.errors import IlpkitError
from ilpkit.planning.errors import LimbVolumeError, PlanningError
from ilpkit.reporting.pdf import PdfError
from ilpkit.services.registry_export import ExportFileExistsError
from ilpkit.services.synthesize import OutputFileExistsError, RegistryNotEmptyError
from ilpkit.stats.analysis import AnalysisError


@pytest.mark.parametrize(
    "error",
    [
        RegistryValidationError,
        PlanningError,
        LimbVolumeError,
        AnalysisError,
        PdfError,
        RegistryDatabaseError,
        DatabaseUrlError,
        ExportFileExistsError,
        RegistryNotEmptyError,
        OutputFileExistsError,
    ],
)
def test_every_error_of_ilpkit_has_the_one_root(error):
    assert issubclass(error, IlpkitError)
    assert 1 <= error.exit_code <= 3


def test_value_errors_stay_value_errors():
    # callers catching ValueError (the web app, the planning forms) keep working
    assert issubclass(AnalysisError, ValueError) and issubclass(PlanningError, ValueError)


def _run(monkeypatch, capsys, exc: BaseException) -> tuple[int, str]:
    def boom(*args, **kwargs):
        raise exc

    monkeypatch.setattr("ilpkit.services.outcome_analysis.analyze_registry", boom)
    monkeypatch.setattr("ilpkit.cli.analyze_command._require_existing_sqlite", lambda url: None)
    monkeypatch.setattr(sys, "argv", ["ilp", "analyze", "--db", "sqlite:///unused.sqlite3"])
    monkeypatch.delenv("ILP_DEBUG", raising=False)
    with pytest.raises(SystemExit) as stop:
        main.run()
    return int(stop.value.code or 0), capsys.readouterr().err


def test_unhandled_ilpkit_error_is_a_clear_message_and_exit_1_to_3(monkeypatch, capsys):
    code, err = _run(monkeypatch, capsys, PdfError("Chromium is not installed"))
    assert code == 1
    assert err == "Error: Chromium is not installed\n"
    code, err = _run(monkeypatch, capsys, DatabaseUrlError("the URL 'x' cannot be read"))
    assert code == 2 and "unexpected" not in err


def test_a_real_defect_still_gets_exit_70(monkeypatch, capsys):
    code, err = _run(monkeypatch, capsys, ZeroDivisionError("division by zero"))
    assert code == 70
    assert "an unexpected problem stopped ilp (ZeroDivisionError: division by zero)" in err
