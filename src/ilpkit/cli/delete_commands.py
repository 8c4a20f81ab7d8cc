"""Delete commands: delete-perfusion and delete-patient, each with a reason for the audit log."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from ilpkit import config
from ilpkit.cli.console import DbOption, fail, safe, stdout

ReasonOption = Annotated[
    str,
    typer.Option(
        "--reason",
        help="Why the record is deleted (required; written to the audit log with the deleted "
        "values).",
        show_default=False,
    ),
]


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        fail(f"ILP_DATE '{text}' is not a date written as YYYY-MM-DD (e.g. 2004-03-17)")


def delete_perfusion(
    patient_id: Annotated[
        str | None, typer.Argument(help="Patient id of the perfusion.", show_default=False)
    ] = None,
    ilp_date: Annotated[
        str | None, typer.Argument(help="Perfusion date, YYYY-MM-DD.", show_default=False)
    ] = None,
    reason: ReasonOption = "",
    perfusion_id: Annotated[
        str | None,
        typer.Option("--perfusion-id", help="Name the perfusion by its perfusion_id instead."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Delete one stored perfusion, recording the reason and the deleted values in the audit log.

    [b]Examples[/b]

      ilp delete-perfusion SYN-000001 2004-03-17 --reason "entered twice; see 2004-03-18"
      ilp delete-perfusion --perfusion-id 4f1c... --reason "test record"
    """
    from ilpkit.cli.registry_commands import _require_existing_sqlite, database_errors
    from ilpkit.services.registry_delete import DeleteError
    from ilpkit.services.registry_delete import delete_perfusion as delete

    if perfusion_id is None and (patient_id is None or ilp_date is None):
        fail("name the perfusion by PATIENT_ID and ILP_DATE, or by --perfusion-id")
    when = None if ilp_date is None else _date(ilp_date)
    url = config.database_url(db)
    _require_existing_sqlite(url)
    try:
        with database_errors(url):
            done = delete(url, config.actor(), reason, patient_id, when, perfusion_id)
    except DeleteError as exc:
        fail(str(exc))
    stdout().print(
        f"Deleted the perfusion of patient {safe(done.patient_id)} on "
        f"{done.perfusion_dates[0].isoformat()} (the reason and the deleted values are in the "
        "audit log)."
    )


def delete_patient(
    patient_id: Annotated[str, typer.Argument(help="Patient id.", show_default=False)],
    reason: ReasonOption = "",
    db: DbOption = None,
) -> None:
    """Delete a stored patient and every perfusion of the patient, with the reason in the audit log.

    [b]Example[/b]

      ilp delete-patient SYN-000001 --reason "consent withdrawn"
    """
    from ilpkit.cli.registry_commands import _require_existing_sqlite, database_errors
    from ilpkit.services.registry_delete import DeleteError
    from ilpkit.services.registry_delete import delete_patient as delete

    url = config.database_url(db)
    _require_existing_sqlite(url)
    try:
        with database_errors(url):
            done = delete(url, config.actor(), reason, patient_id)
    except DeleteError as exc:
        fail(str(exc))
    stdout().print(
        f"Deleted patient {safe(done.patient_id)} and {done.perfusions:,} perfusion"
        f"{'' if done.perfusions == 1 else 's'} (the reason and the deleted values are in the "
        "audit log)."
    )


def register(app: typer.Typer) -> None:
    """Register the delete commands on ``app``."""
    app.command("delete-perfusion")(delete_perfusion)
    app.command("delete-patient")(delete_patient)
