"""Sizing one site: solve the site energy model, check and explain the solution, summarise it.

`size_site` solves the site (`site_inputs`) and again with deferral off, to show what
load flexibility is worth; `summary` and `dispatch_table` are what `planner site size` prints and
keeps in its run folder.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from models.common import Backend, SolveStatus
from models.dispatch import solve_site_energy as solve
from models.site_energy import SiteEnergyInputs, SiteEnergySolution, check_inputs
from planner.errors import InfeasiblePlan, InputError, PlannerError, Problem
from planner.progress import SILENT, ProgressSink, watch_highs_log
from planner.sites.site import Hours, Site, site_inputs, without_deferral
from planner.solver_log import check_solver, highs_log
from planner.timeseries import (
    HOURS_PER_DAY,
    TimeAxis,
    year_index,
)

# --------------------------------------------------------------------------- results

_TOL_MW = 1e-6


@dataclass(frozen=True)
class SiteSizing:
    """A solved site: its inputs, time axis, solution, and the same site without deferral."""

    site: Site
    hours: Hours
    inputs: SiteEnergyInputs
    axis: TimeAxis
    solution: SiteEnergySolution
    without_deferral: SiteEnergySolution | None  # None when the site has no deferrable load
    solver_log: str | None = None  # HiGHS's own log of both solves, kept in the run folder


def size_site(
    site: Site,
    hours: Hours = "full",
    backend: Backend = "cvxpy",
    solver: str = "highs",
    progress: ProgressSink = SILENT,
) -> SiteSizing:
    """Size solar and battery for the site, then solve again with deferral off (flexibility).

    Raises InfeasiblePlan, in domain words, when the plan needs unserved load or leaves the
    backup reserve short, or when the solver does not reach an optimum.
    """
    progress.phase("reading", f"the site's hourly series ({hours})")
    inputs, axis = site_inputs(site, hours)
    model_problems = check_inputs(inputs)
    if model_problems:  # the schema should catch these first; name the file all the same
        raise InputError(
            [
                Problem(str(site.path), f"(resolved) {p.field}", p.problem, p.fix)
                for p in model_problems
            ]
        )
    check_solver(solver, backend)
    with highs_log(solver) as log:
        with watch_highs_log(log.path, progress, "site LP"):
            solution = solve(inputs, backend=backend, solver=solver, options=log.options)
        check_solved(site, solution)
        diagnosis = diagnose_shortfall(site, inputs, axis, solution)
        if diagnosis:
            raise InfeasiblePlan(diagnosis)
        rigid = None
        if inputs.deferrable_fraction > 0:
            with watch_highs_log(log.path, progress, "site LP without deferral (flexibility)"):
                rigid = solve(
                    without_deferral(inputs), backend=backend, solver=solver, options=log.options
                )
            check_solved(site, rigid)
        text = log.text()
    return SiteSizing(site, hours, inputs, axis, solution, rigid, text)


def check_solved(site: Site, solution: SiteEnergySolution) -> None:
    """A solver outcome other than optimal, said plainly (exit code 2 at the CLI)."""
    status = solution.status
    if status is SolveStatus.optimal:
        return
    where = f"site '{site.name}' ({solution.backend}/{solution.solver})"
    if status is SolveStatus.error:
        raise PlannerError(
            f"{where}: the solver failed to run. Fix: check that solver '{solution.solver}' is "
            f"installed for the {solution.backend} backend, or use solver 'highs'."
        )
    if status is SolveStatus.time_limit:
        raise PlannerError(
            f"{where}: the solver hit its time limit. Fix: solve on fewer hours, e.g. 12 "
            "representative days ('rep:12')."
        )
    raise InfeasiblePlan(
        [
            f"{where}: the solver reports the plan {status}, although unserved load and reserve "
            "shortfall are priced slack; check the caps, efficiencies and limits of the site."
        ]
    )


def _hours_text(axis: TimeAxis, mask: np.ndarray) -> str:
    """'214 hours' (full year) or 'about 214 hours of the year (3 representative days)'."""
    hours = float(axis.weight_h[mask].sum())
    if np.all(axis.weight_h == 1):
        return f"{hours:,.0f} hours"
    days = np.unique(axis.day[mask]).size
    return f"about {hours:,.0f} hours of the year ({days} representative days)"


def _days_text(axis: TimeAxis, days: np.ndarray) -> str:
    """'12 days' (full year) or 'about 91 days of the year (1 representative day)'."""
    weight = np.array([axis.weight_h[axis.day == d][0] for d in days])  # days each stands for
    if np.all(axis.weight_h == 1):
        return f"{days.size:,} days"
    plural = "s" if days.size != 1 else ""
    return f"about {weight.sum():,.0f} days of the year ({days.size} representative day{plural})"


def shortfall_mw(x: SiteEnergyInputs, sol: SiteEnergySolution) -> tuple[float, float, bool]:
    """How many MW of supply the site lacks, the worst day's unserved facility MWh, and whether
    the MW is the hourly shortfall of load that cannot move (else the worst day's mean).

    Deferrable load may be served at any hour of its day, so the solver may book a day's unserved
    energy in any of its hours: the largest hour of slack is no shortfall in MW. The MW short is
    the larger of (a) the worst day's unserved facility energy over its 24 hours, E_d / 24, and
    (b) the load that cannot move and was not served in its hour, max_t ((1 - f) L_t - s_t)^+ x
    PUE_t. Without deferral (f = 0) (b) is the hourly unserved load, which is at least (a)."""
    unserved = sol.unserved_it_mw * x.pue  # facility MW per step
    _, day_of_step = np.unique(x.day, return_inverse=True)
    per_day = np.bincount(day_of_step, weights=unserved)  # MWh a day (each step is 1 h)
    rigid = np.maximum((1.0 - x.deferrable_fraction) * x.it_load_mw - sol.served_it_mw, 0.0)
    hourly = float((rigid * x.pue).max())
    daily = float(per_day.max()) / HOURS_PER_DAY
    return max(hourly, daily), float(per_day.max()), hourly >= daily


def diagnose_shortfall(
    site: Site, x: SiteEnergyInputs, axis: TimeAxis, sol: SiteEnergySolution
) -> list[str]:
    """Which constraint the plan could not meet, in which hours, and by how much."""
    out: list[str] = []
    unserved = sol.unserved_it_mw
    short = unserved > _TOL_MW
    if short.any():
        solar = f"solar (up to {site.solar_max_mw:g} MW)" if site.solar_max_mw > 0 else "no solar"
        battery = (
            f"battery (up to {site.battery_max_mwh:g} MWh)"
            if site.battery_max_mwh > 0
            else "no battery"
        )
        energy = float(axis.weight_h @ (unserved * x.pue))
        mw, worst_day_mwh, in_its_hour = shortfall_mw(x, sol)
        if in_its_hour:
            when = f"in {_hours_text(axis, short)}"
        else:
            days = np.unique(axis.day[short])
            when = (
                f"on {_days_text(axis, days)}: the worst day lacks {worst_day_mwh:,.0f} MWh, "
                f"{mw:.1f} MW over its {HOURS_PER_DAY} hours, as deferrable load may move "
                "within its day"
            )
        out.append(
            f"site '{site.name}': load exceeds grid import cap {site.grid_import_cap_mw:g} MW + "
            f"{solar} + {battery} by up to {mw:.1f} MW {when}; {energy:,.0f} MWh of facility "
            "load a year go unserved. Fix: raise grid.import_cap, allow more solar or battery, "
            "or lower the load."
        )
    reserve = sol.reserve_shortfall_mwh
    lacking = reserve > _TOL_MW
    if lacking.any():
        need = x.backup_hours * x.critical_load_mw
        cap = site.soc_max_fraction * site.battery_max_mwh
        held = f"is capped at {cap:g} MWh" if math.isfinite(cap) else "was not built large enough"
        out.append(
            f"site '{site.name}': the backup reserve of {x.backup_hours:g} h x "
            f"{float(x.critical_load_mw.max()):g} MW critical load needs {float(need.max()):g} MWh;"
            f" the battery {held}: short by up to {reserve.max():.1f} MWh in "
            f"{_hours_text(axis, lacking)}. Fix: raise battery.max_energy or lower "
            "battery.backup_duration or load.critical_load."
        )
    return out


def summary(sizing: SiteSizing) -> dict[str, object]:
    """The stable JSON summary of one sizing (documented in docs/cli.md)."""
    s, x, sol = sizing.site, sizing.inputs, sizing.solution
    w = x.weight_h
    it_mwh = float(w @ sol.served_it_mw)
    facility_mwh = float(w @ (sol.served_it_mw * x.pue))
    solar_mwh = float(w @ sol.solar_used_mw)
    import_mwh = float(w @ sol.grid_import_mw)
    discharge_mwh = float(w @ sol.discharge_mw)
    costs = asdict(sol.costs) if sol.costs is not None else {}
    rigid = sizing.without_deferral
    return {
        "site": s.name,
        "currency": s.currency,
        "status": str(sol.status),
        "objective": sol.objective,
        "solar_mw": sol.solar_mw,
        "battery_mwh": sol.battery_mwh,
        "battery_mw": sol.battery_mw,
        "grid_peak_import_mw": float(sol.grid_import_mw.max()),
        "cost_per_mwh_it": sol.objective / it_mwh if it_mwh > 0 else None,
        "backend": sol.backend,
        "solver": sol.solver,
        "build_s": sol.stats.build_s,
        "solve_s": sol.stats.solve_s,
        "hours": "full" if sizing.hours == "full" else f"rep:{sizing.hours}",
        "n_steps": x.n_steps,
        "it_energy_mwh": it_mwh,
        "facility_energy_mwh": facility_mwh,
        "grid_import_mwh": import_mwh,
        "solar_share_fraction": solar_mwh / (solar_mwh + import_mwh)
        if solar_mwh + import_mwh > 0
        else 0.0,
        "battery_equivalent_full_cycles": discharge_mwh / sol.battery_mwh
        if sol.battery_mwh > _TOL_MW
        else 0.0,
        "emissions_t": float((w * x.emission_t_per_mwh) @ sol.grid_import_mw),
        "costs": costs,
        "flexibility": {
            "deferrable_fraction": s.deferrable_fraction,
            "objective_without_deferral": rigid.objective if rigid is not None else sol.objective,
            "value_of_flexibility": (rigid.objective - sol.objective) if rigid is not None else 0.0,
        },
        "unknown_figures": list(s.unknowns),
    }


def dispatch_table(sizing: SiteSizing) -> pd.DataFrame:
    """Hourly dispatch, one row per model step, units in the column names."""
    x, sol, axis = sizing.inputs, sizing.solution, sizing.axis
    hour_start = year_index(sizing.site.year)[axis.hour_of_year]
    return pd.DataFrame(
        {
            "step": np.arange(x.n_steps),
            "day": axis.day,
            "hour_start": hour_start.strftime("%Y-%m-%dT%H:%M"),
            "weight_h": x.weight_h,
            "it_load_mw": x.it_load_mw,
            "served_it_mw": sol.served_it_mw,
            "unserved_it_mw": sol.unserved_it_mw,
            "pue": x.pue,
            "grid_import_mw": sol.grid_import_mw,
            "grid_export_mw": sol.grid_export_mw,
            "solar_used_mw": sol.solar_used_mw,
            "solar_curtailed_mw": sol.solar_curtailed_mw,
            "charge_mw": sol.charge_mw,
            "discharge_mw": sol.discharge_mw,
            "soc_mwh": sol.soc_mwh,
            "reserve_shortfall_mwh": sol.reserve_shortfall_mwh,
            "price_per_mwh": x.price_per_mwh,
            "marginal_cost_per_mwh": _per_step(sol.marginal_cost_per_mwh, x.n_steps),
        }
    )


def _per_step(values: np.ndarray, n_steps: int) -> np.ndarray:
    """A per-step result, or NaN (empty CSV cells) when the backend did not report it."""
    return values if values.shape == (n_steps,) else np.full(n_steps, np.nan)


def check_out_dir(out: Path, option: str = "out") -> Path:
    """The folder that will hold `out` (the parameter `option`); it must exist (checked before
    any solving)."""
    parent = Path(out).resolve().parent
    if not parent.is_dir():
        raise InputError.option(option, f"folder '{parent}' does not exist.", "create it first.")
    return parent


def write_site_mps(site: Site, hours: Hours, backend: Backend, path: Path) -> Path:
    """Write the site's LP, as the backend builds it, to an MPS file any solver can read."""
    from models.decompose import build_joint
    from models.mps import write_mps

    inputs, _ = site_inputs(site, hours)
    return write_mps(build_joint([inputs], backend), path)
