"""`planner scenario check|new`: validate a scenario without solving it, or write a starter."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cli.completion import (
    complete_part_list,
    complete_regime,
    complete_workload,
)
from cli.options import FormatOpt, ProfilesOpt, ScenarioArg
from cli.render import OutputFormat, emit, err_console
from planner.errors import InputError

app = typer.Typer(
    help="Scenario files: check one without solving, or write a commented starter.",
    no_args_is_help=True,
)


class Latency(StrEnum):
    interactive = "interactive"
    batch = "batch"


@app.command("check")
def check(
    scenario: ScenarioArg,
    regime: Annotated[
        str | None,
        typer.Option(
            "--regime",
            help="Fix one export-rule snapshot (e.g. us-2025-04).",
            autocompletion=complete_regime,
        ),
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
    profiles: ProfilesOpt = None,
) -> None:
    """Validate and resolve a scenario without solving: every problem at once (file, field by
    its key, fix; exit 2), or what the plan would hold: years, workloads, the parts each site
    may buy each year under the rules, sites, rule snapshots and notes."""
    from planner.plan.outline import keyed_error, outline
    from planner.plan.resolve import resolve
    from planner.plan.scenario import find_scenario, parse_scenario
    from planner.yamlio import read_yaml

    path = find_scenario(scenario, profiles or ())
    data = read_yaml(path)
    try:
        resolved = resolve(parse_scenario(data, path), overlays=profiles or (), regime=regime)
    except InputError as exc:
        raise keyed_error(exc, data) from None
    found = outline(resolved, data)
    if fmt is not OutputFormat.table:
        emit(found if fmt is OutputFormat.json else found["parts"], fmt)
        return
    _print_outline(found)


def _print_outline(found: dict) -> None:
    """The outline as tables on stdout, rules and notes on stderr."""
    years = found["years"]
    span = years[0] if len(years) == 1 else f"{years[0]}-{years[-1]}"
    emit(
        [
            {"field": "scenario", "value": found["scenario"]},
            {"field": "file", "value": found["file"]},
            {"field": "years", "value": f"{span} ({len(years)} periods)"},
            {"field": "currency", "value": found["currency"]},
            {"field": "representative_days", "value": found["representative_days"]},
            {"field": "placeholder figures", "value": found["placeholders"]},
        ],
        OutputFormat.table,
        title="scenario check: valid",
    )
    emit(found["workloads"], OutputFormat.table, title="workloads (demand per day)")
    emit(found["parts"], OutputFormat.table, title="parts: may they be bought, by year")
    emit(found["sites"], OutputFormat.table, title="sites")
    console = err_console()
    console.print("rules that decide purchases: " + (", ".join(found["rules"]) or "none"))
    if found["placeholders"]:
        console.print(
            f"note: {found['placeholders']} figures still cite `source: placeholder`; replace "
            "them with sourced figures before relying on a plan.",
            highlight=False,
        )
    for note in found["notes"]:
        console.print(f"note: {note}", highlight=False)


def _ids(text: str, flag: str) -> tuple[str, ...]:
    ids = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    if not ids:
        raise InputError.one(flag, text, "names no id.", "write e.g. h20,ascend-910c.")
    return ids


@app.command("new")
def new(
    out: Annotated[Path, typer.Option("--out", help="Scenario file to write (.yaml).")],
    buyer: Annotated[str, typer.Option("--buyer", help="Buyer's country code, e.g. CN.")],
    parts: Annotated[
        str,
        typer.Option(
            "--parts",
            help="Candidate part ids, comma-separated (h20,ascend-910c).",
            autocompletion=complete_part_list,
        ),
    ],
    workload: Annotated[
        str,
        typer.Option(
            "--workload",
            help="Workload profile id served (qwen3-235b-a22b).",
            autocompletion=complete_workload,
        ),
    ],
    tokens_per_day: Annotated[
        float, typer.Option("--tokens-per-day", help="Tokens demanded per day in the first year.")
    ],
    name: Annotated[str, typer.Option("--name", help="Scenario name.")] = "my-plan",
    years: Annotated[str, typer.Option("--years", help="Horizon, e.g. 2026-2028.")] = "2026-2028",
    currency: Annotated[str, typer.Option("--currency", help="Currency of all money.")] = "USD",
    site_country: Annotated[
        str | None, typer.Option("--site-country", help="The site's country (default: buyer's).")
    ] = None,
    province: Annotated[
        str | None, typer.Option("--province", help="The site's province or state.")
    ] = None,
    latency: Annotated[
        Latency, typer.Option("--latency", help="interactive (every hour) or batch (in its day).")
    ] = Latency.interactive,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    profiles: ProfilesOpt = None,
) -> None:
    """Write a commented starter scenario from these answers: what you give is written as given,
    part prices come from the profiles, and every other figure is a PLACEHOLDER (source:
    placeholder, confidence: estimate, a note saying so) for you to replace. It passes
    `planner scenario check` and solves with `planner plan FILE --relax`."""
    import yaml

    from planner.atomic import atomic_write_text
    from planner.catalogue.parts import Catalogue
    from planner.plan.outline import placeholder_count
    from planner.plan.scenario import parse_scenario
    from planner.plan.starter import StarterSpec, parse_years, starter_yaml
    from planner.rules.buyer import is_country_code
    from planner.serving.workloads import WorkloadLibrary

    if out.exists() and not force:
        raise InputError.one(out, "", "exists already.", "choose another --out or add --force.")
    if not out.resolve().parent.is_dir():
        raise InputError.one(out, "", "its folder does not exist.", "create the folder first.")
    if tokens_per_day <= 0:
        raise InputError.one("--tokens-per-day", str(tokens_per_day), "must be > 0.", "e.g. 2e10")
    if not is_country_code(buyer.upper()):
        raise InputError.one("--buyer", buyer, "is not a country code.", "write e.g. CN or US.")
    part_ids = _ids(parts, "--parts")
    catalogue = Catalogue.load(profiles or ())
    known = [catalogue[p].id for p in part_ids]  # an unknown id names the known ones (exit 2)
    workload = WorkloadLibrary.load(profiles or ())[workload].id
    start, end = parse_years(years)
    spec = StarterSpec(
        name, buyer.upper(), tuple(known), workload, tokens_per_day, start, end, currency.upper(),
        site_country.upper() if site_country else None, province, latency.value,
    )  # fmt: skip
    text = starter_yaml(spec, str(out))
    data = yaml.safe_load(text)
    parse_scenario(data, out)  # the answers make a valid file, or exit 2
    atomic_write_text(out, text)
    count = placeholder_count(data)
    err_console().print(
        f"wrote {out}: {count} placeholder figures to replace (grep -n placeholder {out}); "
        f"next: planner scenario check {out}",
        highlight=False,
    )
