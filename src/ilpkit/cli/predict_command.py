"""``ilp predict``: overall survival and local recurrence predicted for one patient."""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.table import Table

from ilpkit import config
from ilpkit.cli.console import DbOption, JsonOption, fail, safe, stdout
from ilpkit.cli.database import database_errors
from ilpkit.cli.database import require_existing_sqlite as _require_existing_sqlite

if TYPE_CHECKING:
    from ilpkit.stats.prediction_results import Prognosis


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _ci(ci: tuple[float | None, float | None]) -> str:
    lo, hi = ci
    return "–" if lo is None or hi is None else f"{100 * lo:.1f}–{100 * hi:.1f}%"


def print_prognosis(p: Prognosis, calibration_file: Path | None) -> None:
    """The predictions as a Rich table, then a plain statement of the model and its limits."""
    out = stdout()
    if p.synthetic:
        out.print(
            "[bold reverse] SYNTHETIC DATA [/bold reverse] this registry was made by ilp synth; "
            "its numbers describe no real patient."
        )
    given = ", ".join(f"{safe(k)} {safe(v.value)}" for k, v in p.covariates.items())
    t = Table(
        title=f"Predicted for: {given}",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
    )
    t.add_column("years", justify="right")
    t.add_column("overall survival", justify="right")
    t.add_column("95% CI", justify="right")
    t.add_column("local recurrence\n(cumulative incidence)", justify="right")
    os_, lr = p.overall_survival, p.local_recurrence
    for year, s in os_.at_years.items():
        inc = lr.at_years.get(year)
        t.add_row(year, _pct(s.estimate), _ci(s.ci95), _pct(None if inc is None else inc.estimate))
    out.print(t)
    for label, note in (("Overall survival", os_.note), ("Local recurrence", lr.note)):
        if note:
            out.print(safe(f"  {label}: {note}."))
    m = p.model
    if m is not None:
        c = "–" if m.concordance is None else f"{m.concordance:.3f}"
        out.print(
            safe(
                f"Model: Cox regression of overall survival (Efron ties) on "
                f"{', '.join(m.terms)}; n = {m.n} patients, {m.events} deaths; "
                f"Harrell's C {c}. Local recurrence: Fine-Gray model, n = {lr.n} perfusions, "
                f"{lr.events} recurrences, {lr.competing_events} deaths without recurrence "
                "(competing)."
            )
        )
    out.print("Limits:")
    for line in p.limits:
        out.print(safe(f"  - {line}"))
    if p.calibration is not None and calibration_file is not None:
        out.print(
            safe(
                f"Calibration plot ({p.calibration.years}-year survival by "
                f"{p.calibration.grouping} of predicted risk) written to {calibration_file}."
            )
        )


def predict_cmd(
    db: DbOption = None,
    age: Annotated[float | None, typer.Option("--age", help="Age at perfusion (years).")] = None,
    size_cm: Annotated[
        float | None, typer.Option("--size-cm", help="Largest tumour diameter (cm).")
    ] = None,
    histology: Annotated[
        str | None, typer.Option("--histology", help="Histology as in the registry.")
    ] = None,
    multifocal: Annotated[str | None, typer.Option("--multifocal", help="yes or no.")] = None,
    prior_radiotherapy: Annotated[
        str | None, typer.Option("--prior-radiotherapy", help="yes or no.")
    ] = None,
    presentation: Annotated[
        str | None, typer.Option("--presentation", help="primary or recurrent.")
    ] = None,
    grade: Annotated[str | None, typer.Option("--grade", help="1, 2 or 3.")] = None,
    sex: Annotated[str | None, typer.Option("--sex", help="F or M.")] = None,
    limb: Annotated[str | None, typer.Option("--limb", help="arm or leg.")] = None,
    terms: Annotated[
        str | None,
        typer.Option(
            "--terms",
            help="Model terms, comma-separated. Default: age_years, tumor_size_cm, "
            "leiomyosarcoma, multifocal, prior_radiotherapy.",
        ),
    ] = None,
    calibration_plot: Annotated[
        Path | None,
        typer.Option(
            "--calibration-plot",
            help="Write the 5-year calibration plot (FILE.png or FILE.svg).",
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Predicted overall survival and local recurrence at 1, 2 and 5 years for one patient.

    A Cox model of overall survival and a Fine-Gray model of local recurrence (death competing)
    are fitted on the registry; a value outside the range seen there, or a level not seen, is
    refused rather than extrapolated.

    [b]Examples[/b]

      ilp predict --age 62 --size-cm 14 --histology leiomyosarcoma --multifocal no
        --prior-radiotherapy yes
      ilp predict --terms age_years,tumor_size_cm --age 60 --size-cm 10 --json
    """
    # The cyclic garbage collector is paused for the command: its passes over the objects
    # that the imports and the registry frame create were about a tenth of the command's
    # time (nothing here makes reference cycles worth collecting in a short process).
    paused = gc.isenabled()
    gc.disable()
    try:
        _predict(
            db, age, size_cm, histology, multifocal, prior_radiotherapy, presentation, grade,
            sex, limb, terms, calibration_plot, json_output,
        )  # fmt: skip
    finally:
        if paused:
            gc.enable()


def _predict(
    db: str | None,
    age: float | None,
    size_cm: float | None,
    histology: str | None,
    multifocal: str | None,
    prior_radiotherapy: str | None,
    presentation: str | None,
    grade: str | None,
    sex: str | None,
    limb: str | None,
    terms: str | None,
    calibration_plot: Path | None,
    json_output: bool,
) -> None:
    from ilpkit.services.predict import predict_from_registry
    from ilpkit.stats.prognosis import PredictionError

    values: dict[str, str | float | None] = {
        "age_years": age,
        "tumor_size_cm": size_cm,
        "histology": histology,
        "multifocal": multifocal,
        "prior_radiotherapy": prior_radiotherapy,
        "presentation": presentation,
        "grade": grade,
        "sex": sex,
        "limb": limb,
    }
    chosen = None if terms is None else [t for t in terms.split(",")]
    url = config.database_url(db)
    _require_existing_sqlite(url)
    try:
        with database_errors(url):
            result = predict_from_registry(url, values, chosen, calibration_plot)
    except PredictionError as exc:
        fail(str(exc))
    if json_output:
        typer.echo(json.dumps(result.to_json_dict(), indent=2))
    else:
        print_prognosis(result, calibration_plot)


def register(app: typer.Typer) -> None:
    """Register ``ilp predict`` on ``app``."""
    app.command("predict")(predict_cmd)
