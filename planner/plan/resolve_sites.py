"""Sites of a plan: grid, tariff, solar, build cost, battery, and the shared representative days."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from planner.plan.resolver import Resolver
from planner.plan.scenario import SiteIn
from planner.sites.reader import (
    BatteryFigures,
    FieldReader,
    Place,
    energy_price_per_mwh,
    read_solar,
)
from planner.sites.reader import read_battery as read_battery_figures
from planner.timeseries import (
    HOURS_PER_YEAR,
    representative_axis,
    representative_days,
)


@dataclass(frozen=True)
class SitesTable:
    """Every site's hourly price (per MWh) and solar capacity factor over the 8,760 h year, its
    scalar figures by name, and the confidence of its energy and build figures."""

    price_per_mwh: np.ndarray  # (S, 8760) before subsidies
    solar_cf: np.ndarray  # (S, 8760)
    values: dict[str, np.ndarray]  # per-site scalars and (S, Y) arrays
    energy_conf: list[str | None]
    build_conf: list[str | None]


CONFIDENCE_RANK = {"datasheet": 0, "measured": 0, "press": 1, "estimate": 2}


def weakest(confidences: Sequence[str | None]) -> str | None:
    """The least certain of some figures' confidences (datasheet, measured < press < estimate)."""
    known = [c for c in confidences if c is not None]
    return max(known, key=lambda c: CONFIDENCE_RANK.get(c, 2)) if known else None


def one_site(r: Resolver, i: int, site: SiteIn) -> dict[str, Any]:
    """Read one site with the shared site reader (planner.sites.reader), its problem fields
    prefixed `sites[i].`."""
    sub = FieldReader(r.path, r.raw.sources, r.raw.currency)
    g = site.grid
    solar = read_solar(sub, site.solar, Place(site.location, site.timezone, r.raw.weather_year))
    out: dict[str, Any] = {
        "price": energy_price_per_mwh(sub, g.energy_price, r.raw.weather_year),
        "import_cap": sub.quantity("grid.import_cap", g.import_cap, "power"),
        "available": {
            k: sub.quantity(f"grid.available_from.{k}", v, "power")
            for k, v in g.available_from.items()
        },
        "demand_charge": sub.number(
            "grid.demand_charge_per_mw_month", g.demand_charge_per_mw_month, 0.0
        ),
        "emission": sub.number("grid.emission_t_per_mwh", g.emission_t_per_mwh),
        "it_existing": sub.quantity("it_existing", site.it_existing, "power"),
        "it_max": sub.quantity("it_max", site.it_max, "power", math.inf),
        "build_capex": sub.number("build_capex_per_mw", site.build_capex_per_mw),
        "build_lead": sub.number("build_lead_time_years", site.build_lead_time_years),
        "pue": sub.number("pue", site.pue),
        "solar_cf": solar.capacity_factor,
        "solar_capex": solar.capex_per_mw,
        "solar_max": solar.max_mw,
        "battery_max": sub.quantity(
            "battery_max_energy", site.battery_max_energy, "energy", math.inf
        ),
    }
    if site.solar is not None and site.solar.fixed_om_per_mw_year is not None:
        ignored = "solar.fixed_om_per_mw_year is not modelled by the capacity plan (ignored)."
        r.notes.append(f"{site.name}: {ignored}")
    at = f"sites[{i}]."
    for prob in sub.problems:
        r.problems.append(replace(prob, field=at + prob.field))
    r.notes.extend(f"{site.name}: {u}" for u in sub.unknowns)
    tariff = [p.confidence for k, p in sub.provenance.items() if k.startswith("grid.energy_price")]
    out["energy_conf"] = weakest(tariff)
    build = sub.provenance.get("build_capex_per_mw")
    out["build_conf"] = build.confidence if build else None
    return out


def read_sites(r: Resolver) -> SitesTable:
    """Every site of the scenario read into one table (planner.sites.reader per site)."""
    per = [one_site(r, i, s) for i, s in enumerate(r.raw.sites)]
    n_y = len(r.horizon.labels)

    def col(key: str) -> np.ndarray:
        return np.array([math.nan if v[key] is None else v[key] for v in per], dtype=float)

    grid = np.zeros((len(per), n_y))
    for s, v in enumerate(per):
        cap = math.nan if v["import_cap"] is None else v["import_cap"]
        if not v["available"]:
            grid[s] = cap
            continue
        table = {k: (math.nan if mw is None else mw) for k, mw in v["available"].items()}
        grid[s] = r.step_by_period(table, f"sites[{s}].grid.available_from")
        grid[s] = np.minimum(grid[s], cap)

    def series(key: str) -> np.ndarray:
        return np.array(
            [np.full(HOURS_PER_YEAR, np.nan) if v[key] is None else v[key] for v in per]
        )

    return SitesTable(
        price_per_mwh=series("price"),
        solar_cf=series("solar_cf"),
        values={
            "grid": grid,
            "demand_charge": col("demand_charge"),
            "emission": col("emission"),
            "it_existing": col("it_existing"),
            "it_max": col("it_max"),
            "build_capex": col("build_capex"),
            "build_lead": col("build_lead"),
            "pue": col("pue"),
            "solar_capex": col("solar_capex"),
            "solar_max": col("solar_max"),
            "battery_max": col("battery_max"),
        },
        energy_conf=[v["energy_conf"] for v in per],
        build_conf=[v["build_conf"] for v in per],
    )


def read_battery(r: Resolver) -> BatteryFigures:
    """Battery technology and cost shared by every site (the shared site reader's figures);
    no battery at all when absent. Fixed O&M and the cycle limit are not in the plan's model."""
    b = r.raw.battery
    figures = read_battery_figures(r.reader, b)
    for name in ("fixed_om_per_mwh_year", "fixed_om_per_mw_year", "annual_cycle_limit"):
        if b is not None and getattr(b, name) is not None:
            r.notes.append(f"battery.{name} is not modelled by the capacity plan (ignored).")
    return figures


def time_axis(
    r: Resolver, sites: SitesTable, grid_loads: dict[str, np.ndarray] | None = None
) -> tuple[Any, dict[str, np.ndarray]]:
    """One set of representative days for every site and year: tsam over the stacked series.
    Regional grid loads (`{site}:grid_load_mw`, for curtailment events) go first, so the day of
    the first one's peak is kept as a day of its own."""
    series: dict[str, np.ndarray] = {
        f"{name}:grid_load_mw": load for name, load in (grid_loads or {}).items()
    }
    for s, site in enumerate(r.raw.sites):
        series[f"{site.name}:price_per_mwh"] = sites.price_per_mwh[s]
        series[f"{site.name}:solar_capacity_factor"] = sites.solar_cf[s]
    rep = representative_days(series, r.raw.representative_days)
    return representative_axis(rep), rep.series
