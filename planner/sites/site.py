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
from planner.provenance import Confidence, FigureIn, Provenance, resolve_source
from planner.sites.schema import (
    BatteryIn,
    CsvIn,
    GridIn,
    ItLoadIn,
    ListFigureIn,
    PvlibIn,
    SiteFile,
    TouIn,
)
from planner.sites.solar import PvSystem, capacity_factor, known_timezone
from planner.timeseries import (
    HOURS_PER_DAY,
    HOURS_PER_YEAR,
    TimeAxis,
    full_year_axis,
    read_hourly_csv,
    representative_axis,
    representative_days,
    year_index,
)
from planner.units import Dimension, parse_quantity
from planner.yamlio import read_yaml, validate

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
        return self.it_load_mw * self.pue


_SCALE: dict[str, float] = {"power": 1e6, "energy": 3.6e9, "time_s": 3600.0}


class FieldReader:
    """Turns a validated `SiteFile` into numbers, collecting every problem and provenance."""

    def __init__(self, raw: SiteFile, path: Path):
        self.raw, self.path = raw, path
        self.problems: list[Problem] = []
        self.provenance: dict[str, Provenance] = {}
        self.unknowns: list[str] = []

    def problem(self, field: str, problem: str, fix: str) -> None:
        self.problems.append(Problem(str(self.path), field, problem, fix))

    def cite(
        self, field: str, source: str | None, confidence: Confidence | None, note: str | None
    ) -> None:
        if source is not None and not (source in self.raw.sources or source.startswith("http")):
            self.problem(
                f"{field}.source",
                f"'{source}' is neither a key of 'sources:' nor a URL.",
                "add it to the file's 'sources:' table or write the URL.",
            )
        self.provenance[field] = Provenance(
            resolve_source(source, self.raw.sources), confidence, note
        )

    def _unknown(self, field: str, figure: FigureIn, default: float | None) -> float | None:
        if default is None:
            self.problem(
                f"{field}.value",
                f"the model needs this figure but it is null ({figure.note}).",
                "give a value with its source.",
            )
        else:
            self.unknowns.append(f"{field} is unknown ({figure.note}); the model uses {default:g}.")
        return default

    def quantity(
        self, field: str, figure: FigureIn | None, dim: Dimension, default: float | None = None
    ) -> float | None:
        """A quantity with a unit, in MW, MWh or h (`default` when absent or null)."""
        if figure is None:
            return default
        self.cite(field, figure.source, figure.confidence, figure.note)
        if figure.value is None:
            return self._unknown(field, figure, default)
        try:
            return (
                parse_quantity(figure.value, dim, file=self.path, field=f"{field}.value")
                / (_SCALE[dim])
            )
        except InputError as exc:
            self.problems.extend(exc.problems)
            return None

    def number(
        self,
        field: str,
        figure: FigureIn | None,
        default: float | None = None,
        *,
        low: float = 0.0,
        high: float = math.inf,
        what: str = "a plain number >= 0",
    ) -> float | None:
        """A plain number (money in the site currency, a fraction, a ratio, years)."""
        if figure is None:
            return default
        self.cite(field, figure.source, figure.confidence, figure.note)
        value = figure.value
        if value is None:
            return self._unknown(field, figure, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(
                f"{field}.value",
                f"{value!r} is not a plain number.",
                f"write {what} without a unit; money is in the file's currency "
                f"({self.raw.currency}).",
            )
            return None
        if not low <= value <= high:
            self.problem(f"{field}.value", f"{value} is out of range.", f"write {what}.")
            return None
        return float(value)

    def numbers(self, field: str, figure: ListFigureIn, length: int) -> np.ndarray | None:
        self.cite(field, figure.source, figure.confidence, figure.note)
        if figure.value is None:
            self._unknown(field, figure, None)
            return None
        values = np.asarray(figure.value, dtype=float)
        if values.shape[0] != length or (values < 0).any():
            self.problem(
                f"{field}.value",
                f"expected {length} numbers >= 0, got {values.shape[0]}.",
                f"write a list of {length} numbers >= 0.",
            )
            return None
        return values

    def csv(self, field: str, spec: CsvIn) -> np.ndarray | None:
        self.cite(field, spec.source, spec.confidence, spec.note)
        try:
            return read_hourly_csv(
                self.path.parent / spec.file, spec.column, file=self.path, field=f"{field}.file"
            )
        except InputError as exc:
            self.problems.extend(exc.problems)
            return None


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


def tou_price_per_mwh(r: FieldReader, tou: TouIn, year: int) -> np.ndarray:
    """Hourly price from a time-of-use table: each hour's period, by month where overridden."""
    prices = {
        name: r.number(f"grid.energy_price.tou.prices_per_mwh.{name}", fig)
        for name, fig in tou.prices_per_mwh.items()
    }
    tables = {m: tou.hours for m in range(1, 13)}
    ok = True
    for month, hours in [(0, tou.hours), *tou.months.items()]:
        where = "grid.energy_price.tou." + ("hours" if month == 0 else f"months.{month}")
        if month and not 1 <= month <= 12:
            r.problem(where, f"month {month} is not in 1..12.", "use month numbers 1 to 12.")
            ok = False
            continue
        if len(hours) != HOURS_PER_DAY:
            r.problem(where, f"has {len(hours)} entries, not 24.", "name the period of each hour.")
            ok = False
        unknown = sorted(set(hours) - set(prices))
        if unknown:
            r.problem(
                where,
                f"period(s) {', '.join(unknown)} have no price.",
                f"use one of: {', '.join(prices)}, or add a price under 'prices_per_mwh'.",
            )
            ok = False
        if month:
            tables[month] = hours
    if not ok or any(v is None for v in prices.values()):
        return _hourly(None)
    index = year_index(year)
    table = np.array([[prices[p] for p in tables[m]] for m in range(1, 13)])
    return table[index.month.to_numpy() - 1, index.hour.to_numpy()]


def _grid(r: FieldReader, grid: GridIn, year: int) -> dict[str, object]:
    price = (
        _hourly(r.csv("grid.energy_price.csv", grid.energy_price.csv))
        if grid.energy_price.csv is not None
        else tou_price_per_mwh(r, grid.energy_price.tou, year)  # type: ignore[arg-type]
    )
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


def _annual(
    r: FieldReader, where: str, capex: float | None, om: float | None, life: float | None
) -> float | None:
    rate = r.number(
        "economics.discount_rate_fraction",
        r.raw.economics.discount_rate_fraction,
        high=1.0,
        what="a fraction in [0, 1], e.g. 0.07",
    )
    if capex is None or om is None or life is None or rate is None:
        return None
    if life <= 0:
        r.problem(f"{where}.lifetime_years.value", "a lifetime must be > 0.", "write years > 0.")
        return None
    return annualised_cost(capex, om, rate, life)


def _solar(r: FieldReader, raw: SiteFile) -> dict[str, object]:
    solar = raw.solar
    if solar is None:
        return {
            "solar_capacity_factor": np.zeros(HOURS_PER_YEAR),
            "solar_annual_cost_per_mw": 0.0,
            "solar_max_mw": 0.0,
        }
    if solar.csv is not None:
        cf = r.csv("solar.csv", solar.csv)
        if cf is not None and cf.max() > 1:
            r.problem("solar.csv.file", f"capacity factor reaches {cf.max()}.", "write fractions.")
    else:
        cf = pvlib_capacity_factor(r, raw, solar.pvlib)  # type: ignore[arg-type]
    annual = _annual(
        r,
        "solar",
        r.number("solar.capex_per_mw", solar.capex_per_mw),
        r.number("solar.fixed_om_per_mw_year", solar.fixed_om_per_mw_year, 0.0),
        r.number("solar.lifetime_years", solar.lifetime_years),
    )
    return {
        "solar_capacity_factor": _hourly(cf),
        "solar_annual_cost_per_mw": annual,
        "solar_max_mw": r.quantity("solar.max_capacity", solar.max_capacity, "power", math.inf),
    }


def pvlib_capacity_factor(r: FieldReader, raw: SiteFile, spec: PvlibIn) -> np.ndarray | None:
    ghi = r.numbers("solar.pvlib.monthly_ghi_kwh_per_m2_day", spec.monthly_ghi_kwh_per_m2_day, 12)
    dc_ac = r.number(
        "solar.pvlib.dc_ac_ratio",
        spec.dc_ac_ratio,
        low=0.5,
        high=3.0,
        what="a DC/AC ratio in [0.5, 3], e.g. 1.2",
    )
    loss = r.number(
        "solar.pvlib.system_loss_fraction",
        spec.system_loss_fraction,
        high=1.0,
        what="a fraction in [0, 1], e.g. 0.14",
    )
    inverter = r.number(
        "solar.pvlib.inverter_efficiency_fraction",
        spec.inverter_efficiency_fraction,
        low=0.5,
        high=1.0,
        what="a fraction in [0.5, 1], e.g. 0.96",
    )
    if ghi is None or dc_ac is None or loss is None or inverter is None:
        return None
    if not known_timezone(raw.timezone):  # reported as `timezone` by _check_timezone
        return None
    lat = raw.location.latitude_deg
    system = PvSystem(
        latitude_deg=lat,
        longitude_deg=raw.location.longitude_deg,
        altitude_m=raw.location.altitude_m,
        timezone=raw.timezone,
        tilt_deg=abs(lat) if spec.tilt_deg is None else spec.tilt_deg,
        azimuth_deg=(180.0 if lat >= 0 else 0.0) if spec.azimuth_deg is None else spec.azimuth_deg,
        monthly_ghi_kwh_per_m2_day=tuple(float(v) for v in ghi),
        dc_ac_ratio=dc_ac,
        system_loss_fraction=loss,
        inverter_efficiency_fraction=inverter,
    )
    return capacity_factor(system, raw.year)


def read_fraction(
    r: FieldReader, field: str, figure: FigureIn | None, default: float
) -> float | None:
    return r.number(field, figure, default, high=1.0, what="a fraction in [0, 1]")


def read_efficiency(r: FieldReader, field: str, figure: FigureIn | None) -> float | None:
    value = r.number(field, figure, high=1.0, what="an efficiency in (0, 1], e.g. 0.95")
    if value == 0:
        r.problem(f"{field}.value", "an efficiency of 0 stores nothing.", "write a value > 0.")
        return None
    return value


def _battery(r: FieldReader, battery: BatteryIn | None) -> dict[str, object]:
    if battery is None:
        return {
            "battery_annual_cost_per_mwh": 0.0,
            "battery_annual_cost_per_mw": 0.0,
            "charge_efficiency_fraction": 1.0,
            "discharge_efficiency_fraction": 1.0,
            "soc_min_fraction": 0.0,
            "soc_max_fraction": 1.0,
            "min_duration_h": 0.0,
            "max_duration_h": math.inf,
            "battery_max_mwh": 0.0,
            "annual_cycle_limit": math.inf,
            "backup_hours": 0.0,
        }
    b, w = battery, "battery"
    life = r.number(f"{w}.lifetime_years", b.lifetime_years)
    out: dict[str, object] = {
        "battery_annual_cost_per_mwh": _annual(
            r,
            w,
            r.number(f"{w}.capex_per_mwh", b.capex_per_mwh),
            r.number(f"{w}.fixed_om_per_mwh_year", b.fixed_om_per_mwh_year, 0.0),
            life,
        ),
        "battery_annual_cost_per_mw": _annual(
            r,
            w,
            r.number(f"{w}.capex_per_mw", b.capex_per_mw),
            r.number(f"{w}.fixed_om_per_mw_year", b.fixed_om_per_mw_year, 0.0),
            life,
        ),
        "charge_efficiency_fraction": read_efficiency(
            r, f"{w}.charge_efficiency_fraction", b.charge_efficiency_fraction
        ),
        "discharge_efficiency_fraction": read_efficiency(
            r, f"{w}.discharge_efficiency_fraction", b.discharge_efficiency_fraction
        ),
        "soc_min_fraction": read_fraction(r, f"{w}.soc_min_fraction", b.soc_min_fraction, 0.0),
        "soc_max_fraction": read_fraction(r, f"{w}.soc_max_fraction", b.soc_max_fraction, 1.0),
        "min_duration_h": r.quantity(f"{w}.min_duration", b.min_duration, "time_s", 0.0),
        "max_duration_h": r.quantity(f"{w}.max_duration", b.max_duration, "time_s", math.inf),
        "battery_max_mwh": r.quantity(f"{w}.max_energy", b.max_energy, "energy", math.inf),
        "annual_cycle_limit": r.number(f"{w}.annual_cycle_limit", b.annual_cycle_limit, math.inf),
        "backup_hours": r.quantity(f"{w}.backup_duration", b.backup_duration, "time_s", 0.0),
    }
    return out


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


def load_site(path: Path) -> Site:
    """Read, validate and resolve one site file; every problem in it is reported at once."""
    path = Path(path)
    raw = validate(SiteFile, read_yaml(path), path)
    r = FieldReader(raw, path)
    _check_timezone(r, raw.timezone)
    load = raw.load
    it_load = _it_load_mw(r, load.it_load)
    pue = (
        _hourly(r.csv("load.pue_csv", load.pue_csv))
        if load.pue_csv is not None
        else _hourly(r.number("load.pue", load.pue, low=1.0, high=5.0, what="a PUE in [1, 5]"))
    )
    values: dict[str, object] = {
        "it_load_mw": it_load,
        "pue": pue,
        "it_capacity_mw": r.quantity("load.it_capacity", load.it_capacity, "power"),
        "deferrable_fraction": read_fraction(
            r, "load.deferrable_fraction", load.deferrable_fraction, 0
        ),
        "critical_load_mw": r.quantity("load.critical_load", load.critical_load, "power", 0.0),
        **_grid(r, raw.grid, raw.year),
        **_solar(r, raw),
        **_battery(r, raw.battery),
        "unserved_penalty_per_mwh": r.number(
            "economics.unserved_penalty_per_mwh", raw.economics.unserved_penalty_per_mwh, 10_000.0
        ),
    }
    missing = [
        k
        for k, v in values.items()
        if v is None or (isinstance(v, np.ndarray) and np.isnan(v).any())
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
        **values,  # type: ignore[arg-type]
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
    raise InputError.one(
        "--hours",
        "",
        f"'{text}' is not a time resolution.",
        "write 'full' or 'rep:N', N in 1..365.",
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
