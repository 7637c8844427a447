"""`planner plan SCENARIO`: the multi-year capacity plan."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.completion import complete_regime
from cli.options import (
    BackendChoice,
    BackendOpt,
    MipGapOpt,
    ProfilesOpt,
    RelaxOpt,
    ScenarioArg,
    SchedulerOpt,
    SolverOpt,
    TimeLimitOpt,
    check_solve_options,
    parse_value,
)
from cli.progress import ProgressOpt, progress
from cli.render import OutputFormat, emit, err_console
from planner.errors import InputError
from planner.plan.decompose import Method
from planner.plan.overrides import apply_overrides, check_parameter
from planner.plan.scenario import Scenario, find_scenario, load_scenario
from planner.plan.solve import plan_scenario, summary
from planner.results.folders import read_run
from planner.results.plan_run import write_plan_run
from planner.results.report import FLEX_TABLES, write_report
from planner.yamlio import read_yaml


class PlanFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def _money(value: float | None, currency: str) -> str:
    return "-" if value is None else f"{value:,.0f} {currency}"


def _video_lines(data: dict[str, Any]) -> list[dict[str, str]]:
    """Cost per minute of video and unserved video seconds, when the plan has video workloads."""
    if "video_s" not in data.get("workload_units", {}).values():
        return []
    per_min = data["video_cost_per_minute"]
    return [
        {
            "field": "video_cost_per_minute",
            "value": "-" if per_min is None else f"{per_min:,.2f} {data['currency']}",
        },
        {"field": "video_cost_share", "value": f"{data['video_cost_share_fraction']:.1%}"},
        {"field": "unserved_video_s", "value": f"{data['unserved_video_s']:.4g}"},
    ]


def headline_rows(data: dict[str, Any]) -> list[dict[str, str]]:
    """The table's first lines: the verdict, then spending, served cost and the unserved share;
    the penalty the solver weighed comes after, apart from what the plan spends."""
    cur = data["currency"]
    per_mtok = data["cost_per_million_served_tokens"]
    gap = data["mip_gap"]
    return [
        {"field": "verdict", "value": data["verdict"]},
        {"field": "net_present_cost (spend)", "value": _money(data["net_present_cost"], cur)},
        {
            "field": "cost_per_million_served_tokens",
            "value": "-" if per_mtok is None else f"{per_mtok:,.4f} {cur}",
        },
        {"field": "unserved_share", "value": f"{data['unserved_share_fraction']:.2%}"},
        {"field": "status", "value": data["status"]},
        {
            "field": "unserved_penalty (not spent)",
            "value": _money(data["unserved_penalty"], cur),
        },
        {"field": "unserved_tokens", "value": f"{data['unserved_tokens']:.4g}"},
        *_video_lines(data),
        {"field": "mip_gap", "value": "LP (relaxed)" if gap is None else f"{gap:.3%}"},
        {
            "field": "estimate_share_of_spend",
            "value": ", ".join(f"{k} {v:.0%}" for k, v in data["estimate_share"].items()),
        },
        {
            "field": "backend / solver",
            "value": f"{data['backend']} / {data['solver']} "
            f"(build {data['build_s']:.2f} s, solve {data['solve_s']:.2f} s)",
        },
    ]


def headline_csv_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The headline as `field,value,unit` rows with plain numbers (for a spreadsheet): the same
    quantities as the table's first lines, under their JSON keys."""
    cur = data["currency"]
    rows: list[tuple[str, Any, str]] = [
        ("verdict", data["verdict"], ""),
        ("demand_met", data["demand_met"], ""),
        ("net_present_cost", data["net_present_cost"], cur),
        ("cost_per_million_served_tokens", data["cost_per_million_served_tokens"], f"{cur}/Mtok"),
        ("unserved_share_fraction", data["unserved_share_fraction"], "fraction"),
        ("status", data["status"], ""),
        ("unserved_penalty", data["unserved_penalty"], cur),
        ("unserved_tokens", data["unserved_tokens"], "tokens"),
    ]
    if "video_s" in data.get("workload_units", {}).values():
        rows += [
            ("video_cost_per_minute", data["video_cost_per_minute"], f"{cur}/min"),
            ("unserved_video_s", data["unserved_video_s"], "s"),
        ]
    rows += [("mip_gap", data["mip_gap"], "fraction")]
    rows += [
        (f"estimate_share.{k}", v, "fraction of spend") for k, v in data["estimate_share"].items()
    ]
    rows += [
        ("backend", data["backend"], ""),
        ("solver", data["solver"], ""),
        ("build_s", data["build_s"], "s"),
        ("solve_s", data["solve_s"], "s"),
    ]
    return [{"field": f, "value": v, "unit": u} for f, v, u in rows]


def print_summary(data: dict[str, Any]) -> None:
    """The console summary: verdict and headline numbers, parts by year and site, sizes,
    binding limits."""
    headline = headline_rows(data)
    emit(headline, OutputFormat.table, title=f"plan of {data['scenario']}")
    emit(
        data["parts"] or [{"part": "-", "site": "-", "year": "-", "count": 0}],
        OutputFormat.table,
        title="parts bought (by year and site)",
    )
    sites = [
        {
            k: r[k]
            for k in (
                "site",
                "year",
                "it_mw",
                "grid_peak_mw",
                "solar_mw",
                "battery_mwh",
                "battery_mw",
                "power_subsidy_fraction",
            )
        }
        for r in data["sites"]
    ]
    emit(sites, OutputFormat.table, title="sites (MW in service, storage)")
    emit(
        [
            {k: r[k] for k in ("workload", "latency", "peak_to_mean_demand", "busy_parts_peak",
                               "busy_parts_mean", "peak_idle_share_fraction")}
            for r in data["workloads"]
        ],
        OutputFormat.table,
        title=f"what the peak costs ({data['workloads'][0]['period']}: parts busy at the "
        "busiest step against on average)" if data["workloads"] else "workloads",
    )  # fmt: skip
    for key, title in FLEX_TABLES:  # power caps and grid options, when the plan has them
        if data.get(key):
            emit(data[key], OutputFormat.table, title=title)
    console = err_console()
    chosen = data.get("subsidy_choices") or []
    if chosen:
        where = ", ".join(f"{c['site']} {c['year']}" for c in chosen)
        console.print(f"domestic parts only for the power subsidy: {where}", highlight=False)
    if data["binding"]:
        how = (
            "from the LP relaxation (the plan itself is a MILP)"
            if data["duals_from_lp_relaxation"]
            else "from the LP"
        )
        console.print(f"binding constraints, present value, {how}:")
        for row in data["binding"]:
            console.print(f"  - {row['text']}")
    for note in data["notes"]:
        console.print(f"note: {note}")


def parse_settings(texts: list[str]) -> dict[str, float | str]:
    """`--set name=value` options as {name: value}; a name given twice is an error."""
    out: dict[str, float | str] = {}
    for text in texts:
        name, sep, value = text.partition("=")
        name = name.strip()
        if not sep or not name or not value.strip():
            raise InputError.one(
                "--set", text, "is not 'name=value'.", "e.g. --set demand.scale=1000"
            )
        if name in out:
            raise InputError.one("--set", name, "is given twice.", "give each name once.")
        out[name] = parse_value(value)
    return out


def scenario_with_settings(
    path: Path, texts: list[str], regime: str | None
) -> tuple[Scenario, str | None]:
    """The scenario with one-off `--set` overrides (any knob or path `sweep --vary` takes)
    applied, and the regime to fix (`--regime`, or `--set regime=...`)."""
    if not texts:
        return load_scenario(path), regime
    settings = parse_settings(texts)
    data = read_yaml(path)
    problems = [
        problem
        for name in settings
        if (problem := check_parameter(name, path, data, "--set")) is not None
    ]
    if "regime" in settings and regime is not None:
        raise InputError.one(
            "--set", "regime", "is given with --regime as well.", "give the regime once."
        )
    if problems:
        raise InputError(problems)
    loaded, set_regime = apply_overrides(path, settings)
    return loaded, set_regime or regime


def plan(
    scenario: ScenarioArg,
    backend: BackendOpt = BackendChoice.cvxpy,
    solver: SolverOpt = "highs",
    relax: RelaxOpt = False,
    mip_gap: MipGapOpt = None,
    time_limit: TimeLimitOpt = None,
    regime: Annotated[
        str | None,
        typer.Option(
            "--regime",
            help="Fix one export-rule snapshot (e.g. us-2025-04).",
            autocompletion=complete_regime,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Run folder to write (atomically); default runs/<scenario>-<timestamp> "
            "(or under PLANNER_RUNS).",
        ),
    ] = None,
    report: Annotated[
        bool, typer.Option("--report", help="Also write report.html (self-contained) in the run.")
    ] = False,
    fmt: Annotated[
        PlanFormat,
        typer.Option(
            "--format", "-f", help="Output: table, json, or csv (the headline: field,value,unit)."
        ),
    ] = PlanFormat.table,
    profiles: ProfilesOpt = None,
    write_mps: Annotated[
        Path | None,
        typer.Option(
            "--write-mps",
            help="Write the plan (the MILP, or the LP with --relax) to this .mps file for any "
            "solver, and stop: no solve, no run folder.",
        ),
    ] = None,
    settings: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="One-off what-if without editing the file: name=value, repeatable; any knob "
            "or dotted path `sweep --vary` accepts (demand.scale=2, sites.gd.pue=1.2).",
        ),
    ] = None,
    show_progress: ProgressOpt = None,
    method: Annotated[
        Method,
        typer.Option(
            "--method",
            help="monolith (one problem), decompose (Benders: investments in a master, each "
            "year's operation on each day a subproblem, solved in parallel), or auto (by size; "
            "the run's notes say which).",
        ),
    ] = Method.auto,
    scheduler: SchedulerOpt = "local",
    workers: Annotated[
        int,
        typer.Option("--workers", help="Local processes for --method decompose.", min=1),
    ] = 2,
) -> None:
    """Solve a scenario's capacity plan: parts, sites, MW and storage by year."""
    check_solve_options(mip_gap, time_limit)
    loaded, regime = scenario_with_settings(
        find_scenario(scenario, profiles or ()), settings or [], regime
    )
    if write_mps is not None:  # issue 8: hand the same problem to any solver
        from planner.plan.mps import write_scenario_mps

        kind = "LP" if relax else "MILP"
        path = write_scenario_mps(
            loaded, write_mps, backend=backend.value, relax=relax, regime=regime,
            overlays=profiles or (),
        )  # fmt: skip
        err_console().print(f"{kind} of {loaded.name} written to {path}", highlight=False)
        return
    with progress(show_progress, json_output=fmt is not PlanFormat.table) as sink:
        result = plan_scenario(
            loaded,
            overlays=profiles or (),
            regime=regime,
            backend=backend.value,
            solver=solver,
            relax=relax,
            mip_gap=mip_gap,
            time_limit_s=time_limit,
            progress=sink,
            method=method,
            scheduler=scheduler,
            workers=workers,
        )
        sink.phase("writing", "the run folder")
        data = summary(result)
        data["settings"] = parse_settings(settings or [])  # the run's `--set` what-ifs
        folder = write_plan_run(out, result, data)
        page = None
        if report:
            sink.phase("writing", "the report")
            page = write_report([read_run(folder)], folder / "report.html")
    err_console().print(f"run written to {folder}", highlight=False)
    if page is not None:
        err_console().print(f"report written to {page}", highlight=False)
    if fmt is PlanFormat.json:
        emit(data, OutputFormat.json)
        return
    if fmt is PlanFormat.csv:
        emit(headline_csv_rows(data), OutputFormat.csv)
        return
    print_summary(data)
