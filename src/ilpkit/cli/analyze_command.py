"""``ilp analyze``: the outcome statistics of the registry as Rich tables or one JSON object."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from ilpkit import config
from ilpkit.cli.console import DbOption, JsonOption, fail, stdout
from ilpkit.cli.registry_commands import _require_existing_sqlite, database_errors


def _pct(p: dict[str, Any] | None) -> str:
    if not p or p.get("estimate") is None:
        return "-"
    lo, hi = p["ci95"]
    return f"{p['k']}/{p['n']} = {100 * p['estimate']:.1f}% ({100 * lo:.1f}-{100 * hi:.1f})"


def _est(s: dict[str, Any] | None) -> str:
    if not s or s.get("estimate") is None:
        return "-"
    lo, hi = s["ci95"]
    if lo is None or hi is None:
        return f"{100 * s['estimate']:.1f}%"
    return f"{100 * s['estimate']:.1f}% ({100 * lo:.1f}-{100 * hi:.1f})"


def _pval(p: float | None) -> str:
    if p is None:
        return "-"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _hr(v: dict[str, Any]) -> str:
    if not v or v.get("hr") is None:
        return "-"
    lo, hi = v["ci95"]
    fmt = lambda x: "-" if x is None else f"{x:.2f}"  # noqa: E731
    return f"{v['hr']:.2f} ({fmt(lo)}-{fmt(hi)})"


def _years(m: dict[str, Any]) -> str:
    if m.get("estimate") is None:
        return "not reached"
    lo, hi = m["ci95"]
    fmt = lambda v: "NR" if v is None else f"{v:.2f}"  # noqa: E731
    return f"{m['estimate']:.2f} ({fmt(lo)}-{fmt(hi)})"


def print_results(r: dict[str, Any]) -> None:
    """Render a results dict as Rich tables."""
    out = stdout()
    c = r["cohort"]
    out.print(
        f"[bold]Cohort[/bold]: {c['n_patients']:,} patients, {c['n_perfusions']:,} perfusions, "
        f"{c['n_centers']} centre(s); perfusions {c['first_ilp_date']} to {c['last_ilp_date']}; "
        f"median follow-up {_years(c['median_followup_years'])} years (reverse Kaplan-Meier)."
    )
    if "response" in r:
        resp = r["response"]
        t = Table(
            title=f"Response (WHO), {resp['n_evaluable']} evaluable perfusions "
            f"({resp['n_not_evaluable']} NE and {resp['n_missing']} missing left out)"
        )
        t.add_column("category")
        t.add_column("n/N = % (exact 95% CI)")
        for cat in ("cr", "pr", "nc", "pd", "orr"):
            t.add_row(cat.upper(), _pct(resp[cat]))
        out.print(t)
        t = Table(title="Overall response rate by subgroup")
        for name in ("variable", "level", "ORR", "test", "p"):
            t.add_column(name)
        for var, entry in resp["by"].items():
            first = True
            for lv, g in entry["groups"].items():
                t.add_row(
                    var if first else "",
                    lv,
                    _pct(g["orr"]),
                    entry["test"] or "-" if first else "",
                    _pval(entry["p"]) if first else "",
                )
                first = False
        out.print(t)
    if "overall_survival" in r:
        os_ = r["overall_survival"]
        at = "; ".join(f"{y}-y {_est(s)}" for y, s in os_["at_years"].items())
        out.print(
            f"[bold]Overall survival[/bold] ({os_['n']} patients, {os_['events']} deaths): {at}; "
            f"median {_years(os_['median_years'])} years."
        )
        t = Table(title="Overall survival by subgroup (Kaplan-Meier, log-log 95% CI; log-rank)")
        for name in ("variable", "level", "n", "deaths", "5-year", "log-rank p", "trend p"):
            t.add_column(name)
        for var, entry in os_["by"].items():
            first = True
            for lv, g in entry["groups"].items():
                t.add_row(
                    var if first else "",
                    lv,
                    str(g["n"]),
                    str(g["events"]),
                    _est(g["at_years"].get("5")),
                    _pval(entry["logrank"]["p"]) if first else "",
                    _pval(entry.get("trend", {}).get("p")) if first and "trend" in entry else "",
                )
                first = False
        out.print(t)
        cox = os_.get("cox") or {}
        if cox.get("terms"):
            t = Table(
                title=f"Cox model of overall survival ({cox['ties']} ties; n = {cox['n']}, "
                f"{cox['events']} deaths, {cox['n_excluded']} left out for missing values)"
            )
            for name in (
                "term",
                "HR (95% CI), multivariable",
                "p",
                "HR (95% CI), univariable",
                "p",
            ):
                t.add_column(name)
            uni_terms: dict[str, Any] = {}
            for u in cox.get("univariable", {}).values():
                uni_terms.update(u.get("terms", {}))
            for term, v in cox["terms"].items():
                u = uni_terms.get(term, {})
                t.add_row(
                    term,
                    _hr(v),
                    _pval(v["p"]),
                    _hr(u),
                    _pval(u.get("p")),
                )
            out.print(t)
    if "local_recurrence" in r:
        lr = r["local_recurrence"]
        at = "; ".join(f"{y}-y {_est(s)}" for y, s in lr["at_years"].items())
        out.print(
            f"[bold]Local recurrence[/bold] per perfusion: crude {_pct(lr['crude'])}; cumulative "
            f"incidence (death competing) {at}."
        )
        t = Table(title="Local recurrence by subgroup (crude; 5-year cumulative incidence; Gray)")
        for name in ("variable", "level", "crude", "5-year CIF", "Gray p"):
            t.add_column(name)
        for var, entry in lr["by"].items():
            first = True
            for lv, g in entry["groups"].items():
                t.add_row(
                    var if first else "",
                    lv,
                    _pct(g["crude"]),
                    _est(g["at_years"].get("5")),
                    _pval(entry["gray"]["p"]) if first else "",
                )
                first = False
        out.print(t)
    if "limb_salvage" in r:
        ls = r["limb_salvage"]
        out.print(
            f"[bold]Limb salvage[/bold]: per perfusion {_pct(ls['per_perfusion'])}; per patient "
            f"{_pct(ls['per_patient'])}."
        )


def analyze_cmd(
    db: DbOption = None,
    endpoint: Annotated[
        str, typer.Option("--endpoint", help="os, lr, response, limb_salvage or all.")
    ] = "all",
    by: Annotated[
        list[str] | None,
        typer.Option("--by", help="Subgroup variable (repeatable). Default: the standard set."),
    ] = None,
    cox: Annotated[
        str | None,
        typer.Option("--cox", help="Cox model terms, comma-separated (e.g. age_years,grade)."),
    ] = None,
    ties: Annotated[str, typer.Option("--ties", help="efron (as R) or breslow.")] = "efron",
    json_output: JsonOption = False,
) -> None:
    """Outcome statistics of the registry: response, overall survival, local recurrence
    (death as competing risk) and limb salvage, identical to R survival and cmprsk.

    --json prints one object with the schema ilpkit.results/1 (docs/results-schema.md).

    [b]Examples[/b]

      ilp analyze
      ilp analyze --endpoint os --by grade --by tumor_size_group --cox age_years,grade
      ilp analyze --json > results.json
    """
    from ilpkit.services.outcome_analysis import analyze_registry
    from ilpkit.stats.analysis import (
        DEFAULT_BY,
        DEFAULT_COX,
        ENDPOINTS,
        AnalysisError,
        AnalysisOptions,
    )

    if ties not in ("efron", "breslow"):
        fail(f"--ties must be efron or breslow, not '{ties}'")
    endpoints = ENDPOINTS if endpoint == "all" else (endpoint,)
    if endpoint != "all" and endpoint not in ENDPOINTS:
        fail(f"--endpoint must be one of {', '.join(ENDPOINTS)} or all, not '{endpoint}'")
    terms = DEFAULT_COX if cox is None else tuple(t.strip() for t in cox.split(",") if t.strip())
    options = AnalysisOptions(
        endpoints=endpoints,
        by=tuple(by) if by else DEFAULT_BY,
        cox=terms,
        ties=ties,  # type: ignore[arg-type]
    )
    url = config.database_url(db)
    _require_existing_sqlite(url)
    try:
        with database_errors(url):
            results = analyze_registry(url, options)
    except AnalysisError as exc:
        fail(str(exc))
    if json_output:
        typer.echo(json.dumps(results, indent=2))
    else:
        print_results(results)


def register(app: typer.Typer) -> None:
    """Register ``ilp analyze`` on ``app``."""
    app.command("analyze")(analyze_cmd)
