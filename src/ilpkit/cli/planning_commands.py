"""Planning commands: ``ilp plan`` (perfusion sheet) and ``ilp leakage`` (leakage curve).

Thin entry points: parse the options, call the pure calculators in :mod:`ilpkit.planning`, print.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich import box
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ilpkit.adapters.protocol_file import ENV_VAR, load_protocol_book
from ilpkit.cli.console import DbOption, JsonOption, fail, plain, safe, stderr, stdout
from ilpkit.domain.perfusion import Limb, PerfusionLevel
from ilpkit.planning.eligibility import parse_eligibility_entries
from ilpkit.planning.errors import PlanningError
from ilpkit.planning.leakage import (
    AlertLevel,
    LeakageResult,
    calibrate,
    monitor_readings,
    standard_assumption,
)
from ilpkit.planning.limb_volume import (
    LimbVolume,
    limb_volume_from_circumferences,
    limb_volume_from_water_displacement,
)
from ilpkit.planning.plan import PerfusionPlan, make_plan
from ilpkit.planning.readings import parse_readings_bytes

EXIT_NOT_ELIGIBLE = 3
"""Exit status of ``ilp plan`` when a blocking contraindication was found (the sheet is printed)."""
EXIT_LEAKAGE_STOP = 3
"""Exit status of ``ilp leakage`` when leakage reached the stop level (the curve is printed)."""

PLOT_FORMATS = (".png", ".pdf", ".svg")

ProtocolFileOption = Annotated[
    Path | None,
    typer.Option(
        "--protocol-file",
        help=(
            f"The centre's own protocol file (TOML). Default: ${ENV_VAR} if set, else the file "
            "shipped with ilpkit."
        ),
        show_default=False,
        dir_okay=False,
    ),
]

PLAN_HELP = (
    "Plan a perfusion: print a one-page sheet with the limb volume, the TNF-alpha and melphalan "
    "doses, circuit settings, temperatures, timeline, eligibility findings and the source of "
    "every value."
)
PLAN_EPILOG = "\n\n".join(
    [
        "Examples:",
        "ilp plan --limb leg --level femoral --circumferences-cm 56,48,40,36,30,24 --spacing-cm 10",
        "ilp plan --limb arm --level axillary --volume-l 2.5 --protocol reduced-tnf --json",
        "ilp plan --limb leg --level iliac --volume-l 8.6 "
        "--labs platelets_e9_per_l=210,severe_ascites=no",
        "ilp plan --limb leg --level femoral --volume-l 8.6 --save SYN-0042 2026-12-03  "
        "(stores the plan in the registry; 'ilp plans' compares planned and given doses)",
        "--labs keys of the shipped protocol file: leukocytes_e9_per_l, haemoglobin_g_per_dl "
        "(or haemoglobin_mmol_per_l), platelets_e9_per_l, creatinine_umol_per_l (or "
        "creatinine_clearance_ml_per_min), ast_x_uln, alt_x_uln, alkaline_phosphatase_x_uln, "
        "bilirubin_x_uln (multiples of the upper limit of normal), calcium_mg_per_dl (or "
        "calcium_mmol_per_l); yes/no: severe_ascites, severe_limb_lymphoedema, "
        "cannot_receive_vasopressors, cannot_receive_anticoagulants, "
        "cannot_have_isotope_monitoring, cannot_have_limb_hyperthermia.",
        f"Exit status: 0 plan made; 1 an input or the protocol file cannot be used; "
        f"{EXIT_NOT_ELIGIBLE} plan made but a blocking contraindication was found (the sheet "
        "says NOT ELIGIBLE).",
    ]
)

LEAKAGE_HELP = (
    "Leakage monitoring: leakage to the systemic circulation (% of the circuit dose, "
    "decay-corrected) for each reading, with the alert levels of the protocol file (notify at "
    "5%, stop at 10%)."
)
LEAKAGE_EPILOG = "\n\n".join(
    [
        "Examples:",
        "ilp leakage readings.csv --isotope tc99m --background 120 --calibration 1450",
        "ilp leakage readings.csv --isotope i131 --background 80 --calibration 900 --json",
        "ilp leakage readings.csv --isotope tc99m --background 120 --calibration 1450 "
        "--plot leakage.png",
        "READINGS.csv has the header line minute,counts_per_s and one reading per line, e.g. "
        "'0,125' then '5,131'; minutes count from the calibration count. Use - to read standard "
        "input.",
        "Formula: leakage % = f x (C - B) x exp(ln2 x t / half-life) / (C_cal - B) x 100. "
        "It assumes the standard is not in the patient's circulation during the readings; a "
        "standard injected into the patient makes every value f x 100 points too high.",
        "Minutes later than 240 (the longest plausible perfusion) are refused; times in seconds "
        "(0, 300, 600, ...) are named as such.",
        f"Exit status: 0 curve computed, below the stop level; 1 an input cannot be used; "
        f"{EXIT_LEAKAGE_STOP} curve computed and leakage reached the stop level (stop the "
        "perfusion).",
    ]
)


def _fail(message: str) -> NoReturn:
    """Print ``message`` (plain text, never read as Rich markup) as an error and exit 1."""
    fail(message)


def register(app: typer.Typer) -> None:
    """Register the ``plan`` and ``leakage`` commands on ``app``."""
    app.command(
        "plan",
        help=PLAN_HELP,
        short_help="Perfusion sheet: limb volume, doses, circuit, timeline, eligibility, sources.",
        epilog=PLAN_EPILOG,
    )(plan_command)
    app.command("plans", short_help="Planned next to given doses, limb and level, per perfusion.")(
        plans_command
    )
    app.command(
        "leakage",
        help=LEAKAGE_HELP,
        short_help="Leakage % over time from gamma-probe readings, with alert levels.",
        epilog=LEAKAGE_EPILOG,
    )(leakage_command)


# ---------------------------------------------------------------------------------------- plan


def plan_command(
    limb: Annotated[
        Limb,
        typer.Option(
            "--limb", metavar="LIMB", help="Perfused limb: arm or leg.", case_sensitive=False
        ),
    ],
    level: Annotated[
        PerfusionLevel,
        typer.Option(
            "--level",
            metavar="LEVEL",
            help="Perfusion level: iliac, femoral or popliteal for a leg; axillary or brachial "
            "for an arm.",
            case_sensitive=False,
        ),
    ],
    circumferences_cm: Annotated[
        str | None,
        typer.Option(
            "--circumferences-cm",
            metavar="C1,C2,..",
            help="Limb circumferences in cm from the perfusion level distally, separated by "
            "commas, e.g. 56,48,40,36. Needs --spacing-cm.",
            show_default=False,
        ),
    ] = None,
    spacing_cm: Annotated[
        float | None,
        typer.Option(
            "--spacing-cm",
            help="Distance between the circumferences in cm (1-15; 4, 5 or 10 are usual).",
            show_default=False,
        ),
    ] = None,
    volume_l: Annotated[
        float | None,
        typer.Option(
            "--volume-l",
            help="Limb volume in litres measured by water displacement (instead of "
            "circumferences).",
            show_default=False,
        ),
    ] = None,
    protocol: Annotated[
        str | None,
        typer.Option(
            "--protocol",
            help="Dosing protocol name, e.g. label, reduced-tnf, low-dose-tnf. Default: the "
            "protocol file's default (label).",
            show_default=False,
        ),
    ] = None,
    labs: Annotated[
        list[str] | None,
        typer.Option(
            "--labs",
            metavar="KEY=VALUE",
            help="Pre-operative values as KEY=VALUE, repeated or separated by commas, e.g. "
            "--labs leukocytes_e9_per_l=6.1 --labs severe_ascites=no (keys below).",
            show_default=False,
        ),
    ] = None,
    protocol_file: ProtocolFileOption = None,
    as_json: JsonOption = False,
    save: Annotated[
        tuple[str, str] | None,
        typer.Option(
            "--save",
            metavar="ID DATE",
            help="Store the plan in the registry with the perfusion of patient ID on DATE "
            "(YYYY-MM-DD); the perfusion may be recorded later. If it is recorded, the plan must "
            "be for its limb and level.",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Plan a perfusion and print the sheet (or JSON); see :data:`PLAN_HELP`."""
    try:
        volume = _limb_volume(circumferences_cm, spacing_cm, volume_l)
        book = load_protocol_book(protocol_file)
        values = parse_eligibility_entries(labs or [], book.eligibility)
        plan = make_plan(book, limb, level, volume, protocol_name=protocol, labs=values)
    except PlanningError as error:
        _fail(str(error))
    if as_json:
        typer.echo(json.dumps(plan.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print_plan(plan)
    if save is not None:
        _save_plan(plan, save[0], save[1], db)
    if not plan.eligibility.eligible:
        raise typer.Exit(EXIT_NOT_ELIGIBLE)


def _save_plan(plan: PerfusionPlan, patient_id: str, ilp_date: str, db: str | None) -> None:
    from ilpkit import config
    from ilpkit.cli.registry_commands import database_errors
    from ilpkit.domain.errors import RegistryValidationError
    from ilpkit.services.perfusion_plans import save_plan, summary_of

    data: dict[str, Any] = plan.to_dict()
    summary = summary_of(data)
    url = config.database_url(db)
    try:
        with database_errors(url):
            plan_id = save_plan(url, patient_id, ilp_date, summary, data, config.actor())
    except RegistryValidationError as exc:
        _fail("the plan was not saved: " + "; ".join(p.describe() for p in exc.problems))
    stderr().print(
        f"Plan {plan_id} saved for patient {safe(patient_id)}, perfusion on {safe(ilp_date)} "
        f"(compare planned and given doses with 'ilp plans')."
    )


def plans_command(
    patient: Annotated[
        str | None, typer.Option("--patient", help="Only this patient.", show_default=False)
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compare planned with given doses, limb and level, per perfusion.

    The latest saved plan of each perfusion next to what the registry records
    (blank until the perfusion is imported).

    [b]Example[/b]

      ilp plans --patient SYN-0042
    """
    from ilpkit import config
    from ilpkit.cli.registry_commands import database_errors
    from ilpkit.services.perfusion_plans import PlanComparison, compare_plans

    url = config.database_url(db)
    path = config.sqlite_path(url)
    if path is not None and not path.exists():
        _fail(f"there is no registry at {path}; save a plan with 'ilp plan ... --save' first")
    with database_errors(url):
        rows = compare_plans(url, patient)
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in rows], indent=2))
        return
    table = Table(
        title="Planned and given doses (latest plan per perfusion)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    for name in ("patient", "date", "protocol"):
        table.add_column(name, no_wrap=True)
    for name in ("limb level", "volume L", "TNF mg", "melphalan mg"):
        table.add_column(name)

    def pair(planned: float, given: float | None) -> str:
        if given is None:
            return f"{planned:g} / -"
        mark = "" if abs(planned - given) < 1e-9 else " [bold yellow](differs)[/bold yellow]"
        return f"{planned:g} / {given:g}{mark}"

    def site(r: PlanComparison) -> str:
        planned = safe(f"{r.limb} {r.perfusion_level}")
        if r.recorded_limb is None:
            return planned
        given = safe(f"{r.recorded_limb} {r.recorded_perfusion_level}")
        if given == planned:
            return planned
        return f"{planned} / {given} [bold yellow](differs)[/bold yellow]"

    for r in rows:
        table.add_row(
            safe(r.patient_id),
            r.ilp_date.isoformat(),
            safe(r.protocol) + (" [bold red](STUDY)[/bold red]" if r.study_protocol else ""),
            site(r),
            pair(r.planned_limb_volume_l, r.given_limb_volume_l),
            pair(r.planned_tnf_mg, r.given_tnf_mg),
            pair(r.planned_melphalan_mg, r.given_melphalan_mg),
        )
    stdout().print(table)
    stdout().print(
        "Each dose cell: planned / given ('-' while the perfusion is not recorded); limb and "
        "level as planned, with the recorded ones when they differ."
    )


def _limb_volume(
    circumferences_cm: str | None, spacing_cm: float | None, volume_l: float | None
) -> LimbVolume:
    if volume_l is not None and (circumferences_cm is not None or spacing_cm is not None):
        _fail(
            "give the limb volume either as --volume-l (water displacement) or as "
            "--circumferences-cm with --spacing-cm, not both"
        )
    if volume_l is not None:
        return limb_volume_from_water_displacement(volume_l)
    if circumferences_cm is None:
        _fail(
            "the limb volume is missing: give --circumferences-cm C1,C2,... with --spacing-cm H, "
            "or --volume-l V"
        )
    if spacing_cm is None:
        _fail(
            f"--circumferences-cm {circumferences_cm} needs --spacing-cm, the distance between "
            "the circumferences in cm (e.g. --spacing-cm 10)"
        )
    values = []
    for part in circumferences_cm.split(","):
        text = part.strip()
        try:
            values.append(float(text))
        except ValueError:
            _fail(
                f"--circumferences-cm: '{text}' is not a number; give circumferences in cm "
                "separated by commas, with a dot for decimals, e.g. 52.5,46,40"
            )
    return limb_volume_from_circumferences(values, spacing_cm)


_NOTICE_STYLE = {"danger": "bold white on red", "warning": "bold black on yellow", "info": "cyan"}


class _Sources:
    """Numbers the sources of a sheet: ``[1]`` in the tables, the full text once at the end."""

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}

    def ref(self, source: str) -> str:
        number = self._numbers.setdefault(source, len(self._numbers) + 1)
        return f"[{number}]"

    def table(self) -> Table:
        table = _table("Sources")
        table.add_column("", justify="right", style="dim", no_wrap=True)
        table.add_column("source", style="dim")
        for source, number in self._numbers.items():
            _add(table, f"[{number}]", source)
        return table


def _add(table: Table, *cells: str | Text) -> None:
    """Add a row; plain strings are shown as they are (never read as Rich markup)."""
    table.add_row(*(Text(plain(c)) if isinstance(c, str) else c for c in cells))


def _table(title: str) -> Table:
    return Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        expand=True,
        pad_edge=False,
    )


def _print_plan(plan: PerfusionPlan) -> None:
    """The perfusion sheet: heading and notices, then one table per part, then the sources."""
    out = stdout()
    refs = _Sources()
    p = plan.protocol
    out.print(
        Text.assemble(
            ("TM-ILP PERFUSION PLAN", "bold"),
            f"  {plan.limb.value}, {plan.level.value} level; protocol ",
            (plain(p.name), "bold"),
            plain(f" version {p.version} ({p.title})"),
        )
    )
    for notice in plan.notices:
        style = _NOTICE_STYLE[notice.severity]
        out.print(Panel(Text(plain(notice.message), style=style), style=style, expand=True))
    out.print(_doses_table(plan, refs))
    out.print(_circuit_table(plan, refs))
    out.print(_timeline_table(plan, refs))
    out.print(_eligibility_table(plan, refs))
    out.print(refs.table())
    out.print(Text(plain(f"Protocol file: {plan.protocol_origin}"), style="dim"))


def _doses_table(plan: PerfusionPlan, refs: _Sources) -> Table:
    d = plan.doses
    v = plan.volume
    main = _table("Volume and doses")
    main.add_column("item")
    main.add_column("value", justify="right", no_wrap=True)
    main.add_column("how")
    main.add_column("ref", justify="right", style="dim", no_wrap=True)
    if v.circumferences_cm:
        shown = ", ".join(f"{x:g}" for x in v.circumferences_cm)
        how = f"circumferences {shown} cm every {v.spacing_cm:g} cm (truncated cones)"
    else:
        how = "water displacement"
    _add(
        main, "limb volume", Text(f"{v.limb_volume_l:.2f} L", style="bold"), how, refs.ref(v.source)
    )
    _add(
        main,
        "TNF-alpha (tasonermin)",
        Text(f"{d.tnf_mg.value:g} mg", style="bold"),
        f"protocol entry for the {d.tnf_key}",
        refs.ref(d.tnf_mg.source),
    )
    rate = d.melphalan_protocol_mg_per_l
    how = f"{rate.value:g} mg/L x {v.limb_volume_l:.2f} L = {d.melphalan_uncapped_mg:.1f} mg"
    if d.melphalan_capped:
        how += f"; CAPPED at {d.melphalan_max_mg.describe()} = {d.melphalan_mg_per_l:.2f} mg/L"
    _add(
        main,
        "melphalan",
        Text(f"{d.melphalan_mg:.1f} mg", style="bold"),
        how,
        refs.ref(rate.source),
    )
    _add(
        main,
        "melphalan maximum",
        d.melphalan_max_mg.describe(),
        "total, any limb volume",
        refs.ref(d.melphalan_max_mg.source),
    )
    return main


def _circuit_table(plan: PerfusionPlan, refs: _Sources) -> Table:
    c = plan.protocol.conduct
    cp = plan.circuit
    circuit = _table("Circuit and temperature")
    circuit.add_column("item")
    circuit.add_column("target", justify="right", no_wrap=True)
    circuit.add_column("ref", justify="right", style="dim", no_wrap=True)
    rows = [
        ("priming volume", c.priming_volume_ml.describe(), c.priming_volume_ml.source),
        ("priming haematocrit", c.priming_haematocrit.describe(), c.priming_haematocrit.source),
        (
            "flow, at most",
            f"{cp.flow_max_ml_per_min:.0f} mL/min ({c.flow_max_ml_per_l_per_min.describe()})",
            c.flow_max_ml_per_l_per_min.source,
        ),
        (
            "flow, warning below (hypoxia)",
            f"{cp.flow_warning_below_ml_per_min:.0f} mL/min "
            f"({c.flow_warning_below_ml_per_l_per_min.describe()})",
            c.flow_warning_below_ml_per_l_per_min.source,
        ),
        ("tissue temperature", c.tissue_temp_target_c.describe(), c.tissue_temp_target_c.source),
        (
            "warning during melphalan",
            f"at or above {c.tissue_temp_warning_c.describe()}",
            c.tissue_temp_warning_c.source,
        ),
    ]
    for item, target, source in rows:
        _add(circuit, item, target, refs.ref(source))
    return circuit


def _timeline_table(plan: PerfusionPlan, refs: _Sources) -> Table:
    timeline = _table("Timeline (minutes from TNF-alpha into the circuit)")
    timeline.add_column("min", justify="right", no_wrap=True)
    timeline.add_column("step")
    timeline.add_column("ref", justify="right", style="dim", no_wrap=True)
    for step in plan.timeline:
        _add(timeline, f"{step.minute:g}", step.event, refs.ref(step.source))
    return timeline


def _eligibility_table(plan: PerfusionPlan, refs: _Sources) -> Table:
    eligibility = _table("Eligibility (SmPC contraindications)")
    eligibility.add_column("status", no_wrap=True)
    eligibility.add_column("finding")
    eligibility.add_column("ref", justify="right", style="dim", no_wrap=True)
    for finding in plan.eligibility.findings:
        blocking = finding.severity.value == "blocking"
        _add(
            eligibility,
            Text(finding.severity.value.upper(), style="bold red" if blocking else "yellow"),
            finding.message,
            refs.ref(finding.source),
        )
    checked = [ch.name for ch in plan.eligibility.checks if ch.status == "ok"]
    if checked:
        _add(eligibility, Text("OK", style="green"), ", ".join(checked), "")
    return eligibility


# ------------------------------------------------------------------------------------- leakage


def leakage_command(
    readings: Annotated[
        str,
        typer.Argument(
            help="CSV file with the columns minute,counts_per_s (minutes since the calibration "
            "count); - reads standard input.",
            show_default=False,
        ),
    ],
    isotope: Annotated[
        str,
        typer.Option(
            "--isotope",
            help="Tracer: tc99m (6.01 h), i131 (8.02 d) or in111 (2.80 d).",
            show_default=False,
        ),
    ],
    background: Annotated[
        float,
        typer.Option(
            "--background", help="Background count rate in counts per second.", show_default=False
        ),
    ],
    calibration: Annotated[
        float,
        typer.Option(
            "--calibration",
            help="Count rate after the systemic calibration standard (time zero), counts per "
            "second.",
            show_default=False,
        ),
    ],
    standard_fraction: Annotated[
        float | None,
        typer.Option(
            "--standard-fraction",
            help="Fraction of the circuit dose in the systemic standard. Default: the protocol "
            "file's value (0.10).",
            show_default=False,
        ),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help="Also draw the leakage curve with the alert levels to this file (.png, .pdf "
            "or .svg).",
            show_default=False,
            dir_okay=False,
        ),
    ] = None,
    protocol_file: ProtocolFileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compute and print the leakage curve (or JSON, or a plot); see :data:`LEAKAGE_HELP`."""
    if plot is not None and plot.suffix.lower() not in PLOT_FORMATS:
        _fail(
            f"--plot {plot}: the file must end in {', '.join(PLOT_FORMATS)} "
            f"(found '{plot.suffix or 'no extension'}')"
        )
    try:
        book = load_protocol_book(protocol_file)
        settings = book.leakage
        fraction = (
            settings.standard_fraction.value if standard_fraction is None else standard_fraction
        )
        cal = calibrate(settings.isotope(isotope), background, calibration, fraction)
    except PlanningError as error:
        _fail(str(error))
    data = _read_readings(readings)
    try:
        rows = parse_readings_bytes(data)
    except PlanningError as error:
        name = "standard input" if readings == "-" else readings
        _fail(f"readings file {name}: {error}")
    try:
        result = monitor_readings(((r.minute, r.counts_per_s) for r in rows), cal, settings)
    except PlanningError as error:
        _fail(str(error))
    if plot is not None:
        _plot_leakage(result, plot)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print_leakage(result)
    if plot is not None:
        stderr().print(Text(plain(f"Leakage curve written to {plot}")))
    if result.level is AlertLevel.STOP:
        raise typer.Exit(EXIT_LEAKAGE_STOP)


def _read_readings(readings: str) -> bytes:
    if readings == "-":
        return sys.stdin.buffer.read()
    path = Path(readings)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        _fail(f"readings file {readings}: not found")
    except IsADirectoryError:
        _fail(f"readings file {readings}: is a directory, not a CSV file")
    except OSError as error:
        _fail(f"readings file {readings}: cannot be read ({error.strerror or error})")


_LEVEL_STYLE = {"ok": "green", "notify": "bold yellow", "stop": "bold white on red"}

MAX_READINGS_TABLE = 2000
"""Longer series are printed as aligned plain lines: a Rich table takes minutes for 200,000 rows."""


def _readings_text(result: LeakageResult) -> str:
    """The readings as aligned plain-text columns, in time linear in their number."""
    rows = [("minute", "counts/s", "leakage %", "level")]
    rows += [
        (f"{p.minute:g}", f"{p.counts_per_s:g}", f"{p.leakage_pct:.2f}", p.level.value)
        for p in result.points
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(
        f"{r[0]:>{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}" for r in rows
    )


def _print_leakage(result: LeakageResult) -> None:
    out = stdout()
    cal = result.calibration
    s = result.settings
    out.print(
        Text.assemble(
            ("Leakage monitoring", "bold"),
            f"  {plain(cal.isotope.name)} (half-life {cal.isotope.half_life_h.value:g} h), "
            f"background {cal.background_cps:g} cps, calibration {cal.calibration_cps:g} cps, "
            f"standard {cal.standard_fraction:.0%} of the circuit dose",
        )
    )
    if len(result.points) > MAX_READINGS_TABLE:
        typer.echo(_readings_text(result))
    else:
        table = Table(expand=False)
        table.add_column("minute", justify="right")
        table.add_column("counts/s", justify="right")
        table.add_column("leakage %", justify="right")
        table.add_column("level")
        for p in result.points:
            _add(
                table,
                f"{p.minute:g}",
                f"{p.counts_per_s:g}",
                f"{p.leakage_pct:.2f}",
                Text(p.level.value, style=_LEVEL_STYLE[p.level.value]),
            )
        out.print(table)
    out.print(
        Text(
            plain(
                f"Alert levels: notify at {s.notify_pct.describe()} ({s.notify_pct.source}); "
                f"stop at {s.stop_pct.describe()} ({s.stop_pct.source})."
            )
        )
    )
    for alert in (result.first_alert, result.first_stop):
        if alert is None or (alert is result.first_stop and alert == result.first_alert):
            continue
        style = _LEVEL_STYLE[alert.level.value]
        out.print(
            Panel(
                Text(
                    f"{alert.level.value.upper()} at minute {alert.minute:g} "
                    f"({alert.leakage_pct:.2f}%): {plain(alert.action)}",
                    style=style,
                ),
                style=style,
            )
        )
    if result.first_alert is None:
        peak = result.peak_leakage_pct or 0.0
        out.print(
            Text(plain(f"No alert: peak leakage {peak:.2f}% (below {s.notify_pct.describe()})."))
        )
    out.print(Text(standard_assumption(cal.standard_fraction), style="dim"))


def _plot_leakage(result: LeakageResult, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    s = result.settings
    fig = Figure(figsize=(7, 4), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    minutes = [p.minute for p in result.points]
    values = [p.leakage_pct for p in result.points]
    ax.plot(minutes, values, marker="o", color="black", label="leakage")
    ax.axhline(
        s.notify_pct.value,
        color="orange",
        linestyle="--",
        label=f"notify {s.notify_pct.describe()}",
    )
    ax.axhline(s.stop_pct.value, color="red", linestyle="--", label=f"stop {s.stop_pct.describe()}")
    if result.first_alert is not None:
        ax.axvline(result.first_alert.minute, color="grey", linestyle=":", label="first alert")
    ax.set_xlabel("minutes since calibration")
    ax.set_ylabel("leakage, % of circuit dose (decay-corrected)")
    ax.set_title(f"Leakage ({result.calibration.isotope.name})")
    ax.set_ylim(bottom=min(0.0, *values), top=max(s.stop_pct.value * 1.2, *values) * 1.05)
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    try:
        fig.savefig(path)
    except OSError as error:
        _fail(f"--plot {path}: cannot write the file ({error.strerror or error})")
