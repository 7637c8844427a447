"""Site files: one data-centre site's load, grid tariff, solar and battery, with provenance.

A site file (schema in docs/sites.md) is read once: pint parses quantities ("150 MW", "4 h",
"200 MWh"), money is a plain number in the file's one `currency` with the unit in the key
(`price_per_mwh`, `capex_per_mw`, `demand_charge_per_mw_month`), hourly series come from CSV
files beside the YAML (8,760 rows) or from compact forms (a flat MW with a daily profile, a
time-of-use table). `load_site` returns a `Site` of 8,760-hour arrays and annualised costs;
`site_inputs` turns it into the model's `SiteEnergyInputs` on the full year or on representative
days.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import numpy as np

from models.site_energy import SiteEnergyInputs, check_inputs
from planner.economics import annualised_cost
from planner.errors import InputError, Problem
from planner.provenance import Provenance
from planner.sites.reader import (
    FieldReader,
    Place,
    energy_price_per_mwh,
    read_battery,
    read_solar,
)
from planner.sites.schema import (
    GridIn,
    ItLoadIn,
    SiteFile,
)
from planner.sites.solar import known_timezone
from planner.timeseries import (
    HOURS_PER_DAY,
    HOURS_PER_YEAR,
    TimeAxis,
    full_year_axis,
    representative_axis,
    representative_days,
)
from planner.yamlio import read_yaml, reading_past, validate_collecting

# --------------------------------------------------------------------------- resolved site


@dataclass(frozen=True)
class Site:
    """One site resolved into hourly arrays (8,760) and scalars; money in `currency`."""

    name: str
    path: Path
    currency: str
    year: int
    timezone: str
    it_load_mw: np.ndarray
    pue: np.ndarray
    it_capacity_mw: float
    deferrable_fraction: float
    critical_load_mw: float
    grid_import_cap_mw: float
    price_per_mwh: np.ndarray
    grid_export_cap_mw: float
    export_price_per_mwh: np.ndarray
    demand_charge_per_mw_month: float
    emission_t_per_mwh: np.ndarray
    carbon_price_per_t: float
    solar_capacity_factor: np.ndarray
    solar_annual_cost_per_mw: float
    solar_max_mw: float
    battery_annual_cost_per_mwh: float
    battery_annual_cost_per_mw: float
    charge_efficiency_fraction: float
    discharge_efficiency_fraction: float
    soc_min_fraction: float
    soc_max_fraction: float
    min_duration_h: float
    max_duration_h: float
    battery_max_mwh: float
    annual_cycle_limit: float
    backup_hours: float
    unserved_penalty_per_mwh: float
    provenance: Mapping[str, Provenance] = field(default_factory=dict, compare=False, repr=False)
    unknowns: tuple[str, ...] = ()  # figures given as null, with what the model used instead

    @property
    def facility_load_mw(self) -> np.ndarray:
        """(8760,) facility power drawn for the IT load, MW: IT load x PUE."""
        return self.it_load_mw * self.pue


def _hourly(value: float | np.ndarray | None) -> np.ndarray:
    """A scalar or series as an (8760,) array; NaN where it failed to load."""
    if value is None:
        return np.full(HOURS_PER_YEAR, np.nan)
    return np.broadcast_to(np.asarray(value, dtype=float), (HOURS_PER_YEAR,)).copy()


def _it_load_mw(r: FieldReader, spec: ItLoadIn) -> np.ndarray:
    """IT load in MW per hour: the CSV, or flat MW x the 24-hour profile (1.0 if none)."""
    if spec.csv is not None:
        return _hourly(r.csv("load.it_load.csv", spec.csv))
    flat = r.quantity("load.it_load.flat", spec.flat, "power")
    profile = np.ones(HOURS_PER_DAY)
    if spec.daily_profile_fraction is not None:
        given = r.numbers(
            "load.it_load.daily_profile_fraction", spec.daily_profile_fraction, HOURS_PER_DAY
        )
        profile = given if given is not None else profile
    if flat is None:
        return _hourly(None)
    return flat * np.tile(profile, HOURS_PER_YEAR // HOURS_PER_DAY)


def _grid(r: FieldReader, grid: GridIn, year: int) -> dict[str, object]:
    price = _hourly(energy_price_per_mwh(r, grid.energy_price, year))
    if grid.emission_csv is not None:
        emission = _hourly(r.csv("grid.emission_csv", grid.emission_csv))
    else:
        emission = _hourly(r.number("grid.emission_t_per_mwh", grid.emission_t_per_mwh, 0.0))
    export = grid.export
    return {
        "grid_import_cap_mw": r.quantity("grid.import_cap", grid.import_cap, "power"),
        "price_per_mwh": price,
        "grid_export_cap_mw": (
            0.0 if export is None else r.quantity("grid.export.cap", export.cap, "power", 0.0)
        ),
        "export_price_per_mwh": _hourly(
            0.0
            if export is None
            else r.number("grid.export.price_per_mwh", export.price_per_mwh, 0.0)
        ),
        "demand_charge_per_mw_month": r.number(
            "grid.demand_charge_per_mw_month", grid.demand_charge_per_mw_month, 0.0
        ),
        "emission_t_per_mwh": emission,
        "carbon_price_per_t": r.number("grid.carbon_price_per_t", grid.carbon_price_per_t, 0.0),
    }


def _annual(capex: float, om: float, rate: float | None, life: float) -> float | None:
    """Capital cost per year over the lifetime at the discount rate, plus fixed O&M."""
    values = (capex, om, life)
    if rate is None or any(math.isnan(v) for v in values):
        return None
    return annualised_cost(capex, om, rate, life)  # life > 0 by the schema's range


def _solar(r: FieldReader, raw: SiteFile, rate: float | None) -> dict[str, object]:
    solar = read_solar(r, raw.solar, Place(raw.location, raw.timezone, raw.year))
    return {
        "solar_capacity_factor": _hourly(solar.capacity_factor),
        "solar_annual_cost_per_mw": (
            0.0
            if raw.solar is None
            else _annual(solar.capex_per_mw, solar.fixed_om_per_mw_year, rate, solar.lifetime_years)
        ),
        "solar_max_mw": solar.max_mw,
    }


def _battery(r: FieldReader, raw: SiteFile, rate: float | None) -> dict[str, object]:
    """The site model's battery fields: the shared figures, capital costs annualised."""
    b = read_battery(r, raw.battery)
    none, life = raw.battery is None, b.lifetime_years
    om_per_mwh_year = b.fixed_om_per_mwh_year + b.calendar_cost_per_mwh_year  # both per year
    return {
        "battery_annual_cost_per_mwh": (
            0.0 if none else _annual(b.capex_per_mwh, om_per_mwh_year, rate, life)
        ),
        "battery_annual_cost_per_mw": (
            0.0 if none else _annual(b.capex_per_mw, b.fixed_om_per_mw_year, rate, life)
        ),
        "charge_efficiency_fraction": b.charge_efficiency_fraction,
        "discharge_efficiency_fraction": b.discharge_efficiency_fraction,
        "soc_min_fraction": b.soc_min_fraction,
        "soc_max_fraction": b.soc_max_fraction,
        "min_duration_h": b.min_duration_h,
        "max_duration_h": b.max_duration_h,
        "battery_max_mwh": b.max_mwh,
        "annual_cycle_limit": b.annual_cycle_limit,
        "backup_hours": b.backup_hours,
    }


def _check_timezone(r: FieldReader, name: str) -> None:
    if not known_timezone(name):
        r.problem("timezone", f"'{name}' is not an IANA time zone.", "write e.g. 'Asia/Shanghai'.")


def check_site(site: Site) -> list[Problem]:
    """Cross-field rules of a resolved site; every broken rule is one problem."""
    p, f = str(site.path), []
    peak_it = float(site.it_load_mw.max())
    if peak_it > site.it_capacity_mw * (1 + 1e-9):
        f.append(
            Problem(
                p,
                "load.it_load",
                f"IT load peaks at {peak_it:g} MW, above the installed IT capacity "
                f"{site.it_capacity_mw:g} MW.",
                "raise load.it_capacity or lower the load.",
            )
        )
    if (site.pue < 1).any():
        f.append(
            Problem(
                p,
                "load.pue",
                f"PUE {site.pue.min():g} is below 1.",
                "a PUE is facility power / IT power, >= 1.",
            )
        )
    if site.soc_min_fraction >= site.soc_max_fraction:
        f.append(
            Problem(
                p,
                "battery.soc_min_fraction",
                "soc_min_fraction >= soc_max_fraction.",
                "make the minimum state of charge below the maximum.",
            )
        )
    if site.min_duration_h > site.max_duration_h:
        f.append(
            Problem(
                p,
                "battery.min_duration",
                "min_duration exceeds max_duration.",
                "make the minimum duration <= the maximum.",
            )
        )
    if site.critical_load_mw > float(site.facility_load_mw.max()) * (1 + 1e-9):
        f.append(
            Problem(
                p,
                "load.critical_load",
                "critical load exceeds the facility load peak.",
                "the critical load is the part of the facility load to back up.",
            )
        )
    return f


def _site_values(r: FieldReader, raw: SiteFile) -> dict[str, object]:
    """Every field of the resolved site but its name and calendar, read by `r`."""
    load = raw.load
    pue = (
        _hourly(r.csv("load.pue_csv", load.pue_csv))
        if load.pue_csv is not None
        else _hourly(r.number("load.pue", load.pue))
    )
    rate = r.number("economics.discount_rate_fraction", raw.economics.discount_rate_fraction)
    return {
        "it_load_mw": _it_load_mw(r, load.it_load),
        "pue": pue,
        "it_capacity_mw": r.quantity("load.it_capacity", load.it_capacity, "power"),
        "deferrable_fraction": r.number("load.deferrable_fraction", load.deferrable_fraction, 0),
        "critical_load_mw": r.quantity("load.critical_load", load.critical_load, "power", 0.0),
        **_grid(r, raw.grid, raw.year),
        **_solar(r, raw, rate),
        **_battery(r, raw, rate),
        "unserved_penalty_per_mwh": r.number(
            "economics.unserved_penalty_per_mwh", raw.economics.unserved_penalty_per_mwh, 10_000.0
        ),
    }


def load_site(path: Path) -> Site:
    """Read, validate and resolve one site file; every problem in it is reported at once."""
    path = Path(path)
    raw, refused = validate_collecting(SiteFile, read_yaml(path), path)
    r = FieldReader(path, raw.sources, raw.currency)
    r.problems.extend(refused)  # figures outside their ranges, reported with the rest
    _check_timezone(r, raw.timezone)
    with reading_past(refused):
        values = _site_values(r, raw)
    missing = [
        k
        for k, v in values.items()
        if v is None
        or (isinstance(v, float) and math.isnan(v))
        or (isinstance(v, np.ndarray) and np.isnan(v).any())
    ]
    if r.problems or missing:
        if not r.problems:  # a value failed without saying why: name it rather than guess
            r.problems.extend(Problem(str(path), k, "could not be resolved.") for k in missing)
        raise InputError(r.problems)
    site = Site(
        name=raw.name,
        path=path,
        currency=raw.currency,
        year=raw.year,
        timezone=raw.timezone,
        provenance=MappingProxyType(r.provenance),
        unknowns=tuple(r.unknowns),
        **values,  # type: ignore[arg-type]  # each field by name; check_site checks the values
    )
    problems = check_site(site)
    if problems:
        raise InputError(problems)
    return site


# --------------------------------------------------------------------------- model inputs

Hours = Literal["full"] | int


def parse_hours(text: str) -> Hours:
    """'full' -> 'full'; 'rep:N' -> N representative days (1 <= N <= 365)."""
    if text == "full":
        return "full"
    match = re.fullmatch(r"rep:(\d+)", text)
    if match and 1 <= int(match.group(1)) <= 365:
        return int(match.group(1))
    raise InputError.option(
        "hours", f"'{text}' is not a time resolution.", "write 'full' or 'rep:N', N in 1..365."
    )


def _series(site: Site) -> dict[str, np.ndarray]:
    """The hourly series representative days are chosen on; facility load first (its peak day
    is kept)."""
    return {
        "facility_mw": site.facility_load_mw,
        "it_load_mw": site.it_load_mw,
        "pue": site.pue,
        "price_per_mwh": site.price_per_mwh,
        "export_price_per_mwh": site.export_price_per_mwh,
        "emission_t_per_mwh": site.emission_t_per_mwh,
        "solar_capacity_factor": site.solar_capacity_factor,
    }


def time_axis_and_series(site: Site, hours: Hours) -> tuple[TimeAxis, dict[str, np.ndarray]]:
    """The model's time axis and the series on it: every hour, or N representative days."""
    series = _series(site)
    if hours == "full":
        return full_year_axis(site.year), series
    rep = representative_days(series, hours)
    return representative_axis(rep), rep.series


def site_inputs(
    site: Site, hours: Hours = "full", *, deferral: bool = True
) -> tuple[SiteEnergyInputs, TimeAxis]:
    """The site energy model's inputs; `deferral=False` pins every hour's load in place."""
    axis, s = time_axis_and_series(site, hours)
    inputs = SiteEnergyInputs(
        weight_h=axis.weight_h,
        prev_step=axis.prev_step,
        day=axis.day,
        billing_period=axis.billing_period,
        billing_period_months=axis.billing_period_months,
        it_load_mw=s["it_load_mw"],
        pue=s["pue"],
        deferrable_fraction=site.deferrable_fraction if deferral else 0.0,
        it_capacity_mw=site.it_capacity_mw,
        critical_load_mw=np.full(axis.n_steps, site.critical_load_mw),
        backup_hours=site.backup_hours,
        grid_import_cap_mw=site.grid_import_cap_mw,
        price_per_mwh=s["price_per_mwh"],
        grid_export_cap_mw=site.grid_export_cap_mw,
        export_price_per_mwh=s["export_price_per_mwh"],
        demand_charge_per_mw_month=site.demand_charge_per_mw_month,
        emission_t_per_mwh=s["emission_t_per_mwh"],
        carbon_price_per_t=site.carbon_price_per_t,
        solar_capacity_factor=s["solar_capacity_factor"],
        solar_annual_cost_per_mw=site.solar_annual_cost_per_mw,
        solar_max_mw=site.solar_max_mw,
        battery_annual_cost_per_mwh=site.battery_annual_cost_per_mwh,
        battery_annual_cost_per_mw=site.battery_annual_cost_per_mw,
        charge_efficiency_fraction=site.charge_efficiency_fraction,
        discharge_efficiency_fraction=site.discharge_efficiency_fraction,
        soc_min_fraction=site.soc_min_fraction,
        soc_max_fraction=site.soc_max_fraction,
        min_duration_h=site.min_duration_h,
        max_duration_h=site.max_duration_h,
        battery_max_mwh=site.battery_max_mwh,
        annual_cycle_limit=site.annual_cycle_limit,
        unserved_penalty_per_mwh=site.unserved_penalty_per_mwh,
        reserve_shortfall_penalty_per_mwh=site.unserved_penalty_per_mwh,
    )
    model_problems = check_inputs(inputs)
    if model_problems:  # the loader's checks should have caught these; name them, never crash
        raise InputError(
            [
                Problem(str(site.path), f"model input {p.field}", p.problem, p.fix)
                for p in model_problems
            ]
        )
    return inputs, axis


def without_deferral(inputs: SiteEnergyInputs) -> SiteEnergyInputs:
    """The same site with no deferrable load: the benchmark for the value of flexibility."""
    return replace(inputs, deferrable_fraction=0.0)
