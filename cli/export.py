"""`planner export classify|terms|regimes`: export-control status of parts for a buyer."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.completion import complete_part, complete_regime
from cli.options import FormatOpt, ProfilesOpt
from cli.render import OutputFormat, emit, err_console
from planner.catalogue.parts import Catalogue
from planner.rules import (
    Buyer,
    Classification,
    RegimeLibrary,
    classify,
    parse_date,
    purchase_terms,
)

app = typer.Typer(
    help="Export-control rules: classify parts (ECCN, licence, fees) for a buyer and a date.",
    no_args_is_help=True,
)

BuyerOpt = Annotated[
    str,
    typer.Option("--buyer", help="Buyer's delivery country, ISO 3166 two-letter code, e.g. CN."),
]
HeadquartersOpt = Annotated[
    str | None,
    typer.Option(
        "--headquarters",
        help="Country the buyer (or its ultimate parent) is headquartered in, e.g. CN; default: "
        "the --buyer country. Licence requirements reach D:5- and Macau-headquartered buyers "
        "wherever they take delivery.",
    ),
]

DateOpt = Annotated[str | None, typer.Option("--date", help="Date YYYY-MM-DD (default: today).")]
RegimeOpt = Annotated[
    str | None,
    typer.Option(
        "--regime",
        help="Fix one snapshot (e.g. us-2023-10) for a what-if; other jurisdictions follow --date.",
        autocompletion=complete_regime,
    ),
]


def _date(text: str | None) -> dt.date:
    return dt.date.today() if text is None else parse_date(text)


def _flat(c: Classification) -> dict[str, Any]:
    """One table/CSV row: the headline fields of a classification."""
    return {
        "part": c.part,
        "tpp": c.tpp,
        "performance_density": c.performance_density,
        "eccn": c.eccn,
        "status": c.status,
        "review_policy": c.review_policy,
        "revenue_share_fraction": c.fees.revenue_share_fraction,
        "duty_fraction": c.fees.duty_fraction,
        "rule": c.rule,
        "buyer_rules": [b.rule for b in c.buyer_rules],
    }


@app.command("classify")
def classify_parts(
    parts: Annotated[
        list[str] | None,
        typer.Argument(
            help="Part ids (default: every part in the catalogue).", autocompletion=complete_part
        ),
    ] = None,
    *,
    buyer: BuyerOpt,
    headquarters: HeadquartersOpt = None,
    date: DateOpt = None,
    regime: RegimeOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    profiles: ProfilesOpt = None,
) -> None:
    """ECCN bucket, licence status, review policy, fees and the deciding rule of each part."""
    when = _date(date)
    who = Buyer.of(buyer, headquarters)
    library = RegimeLibrary.load(profiles or ())
    if regime is not None:
        library[regime]  # an unknown regime fails before any part is loaded
    catalogue = Catalogue.load(profiles or ())
    chosen = [catalogue[p] for p in parts] if parts else list(catalogue)
    results = [classify(p, who, when, library=library, regime=regime) for p in chosen]
    if fmt is OutputFormat.json:
        emit([c.row() for c in results], fmt)
        return
    in_force = ", ".join(results[0].regimes) if results else "-"
    emit([_flat(c) for c in results], fmt, title=f"buyer {who.label()}, {when}: {in_force}")


@app.command("terms")
def terms(
    part: Annotated[str, typer.Argument(help="Part id, e.g. h200.", autocompletion=complete_part)],
    *,
    buyer: BuyerOpt,
    headquarters: HeadquartersOpt = None,
    date: DateOpt = None,
    regime: RegimeOpt = None,
    state_funded: Annotated[
        bool, typer.Option("--state-funded/--private", help="Is the site state funded?")
    ] = False,
    region: Annotated[
        str | None, typer.Option("--region", help="Site region/province, for subsidies.")
    ] = None,
    group: Annotated[
        str | None,
        typer.Option(
            "--group", help="Buyer's corporate group, e.g. alibaba (parts sold within one)."
        ),
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
    profiles: ProfilesOpt = None,
) -> None:
    """Purchase terms for the capacity plan: allowed, price uplift, power subsidy, caps."""
    when = _date(date)
    library = RegimeLibrary.load(profiles or ())
    p = Catalogue.load(profiles or ())[part]
    t = purchase_terms(
        p,
        Buyer.of(buyer, headquarters, group),
        when,
        state_funded_site=state_funded,
        library=library,
        regime=regime,
        site_region=region,
    )
    emit(
        {
            "part": t.part,
            "buyer": t.buyer,
            "headquarters": t.headquarters,
            "date": when,
            "allowed": t.allowed,
            "status": t.status,
            "review_policy": t.review_policy,
            "price_uplift_fraction": t.price_uplift_fraction,
            "power_subsidy_fraction": t.power_subsidy_fraction,
            "power_subsidy_regions": list(t.power_subsidy_regions),
            "caps": [{"kind": c.kind, "value": c.value, "period": c.period} for c in t.caps],
            "rules": list(t.rules),
            "reasons": list(t.reasons),
        },
        fmt,
        title=f"{t.part} for a buyer in {t.buyer} on {when}",
    )


regimes_app = typer.Typer(
    help="Every rule snapshot: id, jurisdiction, effective and end dates, title and citation; "
    "`regimes new` writes a starter overlay to edit.",
)
app.add_typer(regimes_app, name="regimes")


@regimes_app.callback(invoke_without_command=True)
def regimes(
    ctx: typer.Context, fmt: FormatOpt = OutputFormat.table, profiles: ProfilesOpt = None
) -> None:
    """Every rule snapshot: id, jurisdiction, effective and end dates, title and citation;
    `regimes new` writes a starter overlay to edit."""
    if ctx.invoked_subcommand is not None:
        return
    library = RegimeLibrary.load(profiles or ())
    rows = [
        {
            "id": r.id,
            "jurisdiction": r.jurisdiction,
            "effective": r.effective,
            "end": r.end,
            "extends": r.extends,
            "title": r.title,
            "citation": r.citation,
        }
        for r in library
    ]
    emit(rows, fmt, title=f"{len(rows)} export-regime snapshots")


@regimes_app.command("new")
def regimes_new(
    from_id: Annotated[
        str,
        typer.Option(
            "--from",
            help="Snapshot the overlay extends, e.g. us-2026-01.",
            autocompletion=complete_regime,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="File to write, <id>.yaml (e.g. my_rules/export_regimes/us-2027-01.yaml)."
        ),
    ],
    effective: Annotated[
        str | None,
        typer.Option("--effective", help="Date it takes effect (default: 1 Jan after --from's)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    profiles: ProfilesOpt = None,
) -> None:
    """Write a starter rule overlay: a snapshot extending --from from a later date that changes
    nothing yet, listing the controls it inherits and one copied as written, to edit for a
    what-if (docs/export_rules.md, "Rule overlays"); use it with --profiles."""
    from planner.atomic import atomic_write_text
    from planner.errors import InputError
    from planner.rules.overlay import starter_overlay

    if out.exists() and not force:
        raise InputError.one(out, "", "exists already.", "choose another --out or add --force.")
    if not out.resolve().parent.is_dir():
        raise InputError.one(out, "", "its folder does not exist.", "create the folder first.")
    library = RegimeLibrary.load(profiles or ())
    when = parse_date(effective) if effective is not None else None
    atomic_write_text(out, starter_overlay(library, from_id, out, when))
    err_console().print(
        f"wrote {out}: extends {from_id} and changes nothing yet; edit its controls, then pass "
        "the folder above export_regimes/ with --profiles",
        highlight=False,
    )
