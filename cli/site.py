"""`planner site size`: size a site's solar and battery against its load and tariff."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cli.options import FormatOpt
from cli.progress import ProgressOpt, progress
from cli.render import OutputFormat, emit, err_console
from models.common import Backend
from planner.results.folders import write_site_run
from planner.sites.site import load_site, parse_hours
from planner.sites.sizing import check_out_dir, size_site, summary, write_site_mps

app = typer.Typer(
    help="Sites: size solar, battery and grid use for one site.", no_args_is_help=True
)

BackendOpt = Annotated[str, typer.Option("--backend", help="Model backend: cvxpy or pyomo.")]
SolverOpt = Annotated[str, typer.Option("--solver", help="LP solver, e.g. highs.")]
HoursOpt = Annotated[
    str,
    typer.Option("--hours", help="'full' (8,760 h) or 'rep:N' (N representative days, tsam)."),
]
MpsOpt = Annotated[
    Path | None,
    typer.Option(
        "--write-mps",
        help="Also write the LP as an MPS file, to hand the same problem to any solver.",
    ),
]
OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out",
        help="Run folder to write (atomically); default runs/<site>-<timestamp> "
        "(or under PLANNER_RUNS).",
    ),
]


def _backend(name: str) -> Backend:
    from planner.errors import InputError

    backends: tuple[Backend, ...] = ("cvxpy", "pyomo")
    for backend in backends:
        if name == backend:
            return backend
    raise InputError.one("--backend", "", f"'{name}' is not a backend.", "use cvxpy or pyomo.")


def _summary_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The summary as readable (quantity, value, unit) rows."""
    cur = data["currency"]
    rows = [
        ("status", data["status"], ""),
        ("annual cost", data["objective"], f"{cur}/year"),
        ("cost per MWh of IT energy", data["cost_per_mwh_it"], f"{cur}/MWh"),
        ("solar", data["solar_mw"], "MW"),
        ("battery energy", data["battery_mwh"], "MWh"),
        ("battery power", data["battery_mw"], "MW"),
        ("grid peak import", data["grid_peak_import_mw"], "MW"),
        ("solar share of supply", data["solar_share_fraction"], "fraction"),
        ("battery equivalent full cycles", data["battery_equivalent_full_cycles"], "per year"),
        ("emissions", data["emissions_t"], "t CO2/year"),
        ("value of flexibility", data["flexibility"]["value_of_flexibility"], f"{cur}/year"),
    ]
    rows += [(f"cost: {k}", v, f"{cur}/year") for k, v in data["costs"].items()]
    rows += [
        ("time", f"{data['hours']} ({data['n_steps']} steps)", ""),
        ("backend / solver", f"{data['backend']} / {data['solver']}", ""),
        ("build / solve", f"{data['build_s']:.2f} s / {data['solve_s']:.2f} s", ""),
    ]
    return [{"quantity": q, "value": v, "unit": u} for q, v, u in rows]


@app.command("size")
def size(
    site_file: Annotated[Path, typer.Argument(help="Site YAML, e.g. scenarios/sites/x.yaml.")],
    backend: BackendOpt = "cvxpy",
    solver: SolverOpt = "highs",
    hours: HoursOpt = "full",
    out: OutOpt = None,
    write_mps: MpsOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    show_progress: ProgressOpt = None,
) -> None:
    """Size solar and battery for one site at least annual cost; report costs and dispatch."""
    chosen = _backend(backend)
    resolution = parse_hours(hours)
    if out is not None:
        check_out_dir(out)
    site = load_site(site_file)
    if write_mps is not None:
        check_out_dir(write_mps, "write_mps")
        path = write_site_mps(site, resolution, chosen, write_mps)
        err_console().print(f"LP written to {path}", highlight=False)
    for unknown in site.unknowns:
        err_console().print(f"note: {unknown}", highlight=False)
    with progress(show_progress, json_output=fmt is OutputFormat.json) as sink:
        sizing = size_site(site, resolution, backend=chosen, solver=solver, progress=sink)
        sink.phase("writing", "the run folder")
        data = summary(sizing)
        folder = write_site_run(sizing, out)
    err_console().print(f"run written to {folder}", highlight=False)
    if fmt is OutputFormat.table:
        emit(_summary_rows(data), fmt, title=f"site {site.name} ({site.currency})")
    else:
        emit(data if fmt is OutputFormat.json else _summary_rows(data), fmt)
