"""The one reader of site figures: site files (`planner site size`) and scenarios' sites (plans).

In: a validated site schema (planner.sites.schema: `SiteFile`, or a scenario's `SiteIn`, which
share `LocationIn`, `EnergyPriceIn`, `SolarIn` and `BatteryIn`) and the file's `sources:` table.
Out: numbers in MW, MWh, h and the file's currency, every figure's provenance, and every problem
with its file and field; nothing raises until the caller has read every field.

Both paths call the same functions here, so a new battery or solar field is one schema edit and
one reader edit: `read_battery` and `read_solar` hold the defaults of absent fields once. Ranges
are the schema's (planner.schema.Bounds); this reader checks kinds (a number, a unit) only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from planner.errors import InputError, Problem
from planner.provenance import Confidence, FigureIn, Provenance, SourceIn, resolve_source
from planner.sites.schema import (
    BatteryIn,
    CsvIn,
    EnergyPriceIn,
    ListFigureIn,
    LocationIn,
    SolarIn,
    TouIn,
)
from planner.sites.solar import PvSystem, capacity_factor, known_timezone
from planner.timeseries import HOURS_PER_DAY, HOURS_PER_YEAR, read_hourly_csv, year_index
from planner.units import Dimension, parse_quantity

_SCALE: dict[str, float] = {"power": 1e6, "energy": 3.6e9, "time_s": 3600.0}


class FieldReader:
    """Turns a site's validated figures into numbers, collecting every problem and provenance.

    `sources` is the file's `sources:` table; money is a plain number in `currency`."""

    def __init__(self, path: Path, sources: Mapping[str, SourceIn], currency: str):
        self.path, self.sources, self.currency = path, dict(sources), currency
        self.problems: list[Problem] = []
        self.provenance: dict[str, Provenance] = {}
        self.unknowns: list[str] = []

    def problem(self, field: str, problem: str, fix: str) -> None:
        """Record a problem at `field` of the site file, with its fix."""
        self.problems.append(Problem(str(self.path), field, problem, fix))

    def cite(
        self, field: str, source: str | None, confidence: Confidence | None, note: str | None
    ) -> None:
        """Keep a figure's provenance; a source neither in `sources:` nor a URL is a problem."""
        if source is not None and not (source in self.sources or source.startswith("http")):
            self.problem(
                f"{field}.source",
                f"'{source}' is neither a key of 'sources:' nor a URL.",
                "add it to the file's 'sources:' table or write the URL.",
            )
        self.provenance[field] = Provenance(resolve_source(source, self.sources), confidence, note)

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
            si = parse_quantity(figure.value, dim, file=self.path, field=f"{field}.value")
        except InputError as exc:
            self.problems.extend(exc.problems)
            return None
        return si / _SCALE[dim]

    def number(
        self, field: str, figure: FigureIn | None, default: float | None = None
    ) -> float | None:
        """A plain number: money in the file's currency, a fraction, a ratio, years."""
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
                "write a number without a unit; money is in the file's currency "
                f"({self.currency}).",
            )
            return None
        return float(value)

    def numbers(self, field: str, figure: ListFigureIn, length: int) -> np.ndarray | None:
        """A list of `length` plain numbers (e.g. 24 hourly fractions); None if null or the
        wrong length."""
        self.cite(field, figure.source, figure.confidence, figure.note)
        if figure.value is None:
            self._unknown(field, figure, None)
            return None
        values = np.asarray(figure.value, dtype=float)
        if values.shape[0] != length:
            self.problem(
                f"{field}.value",
                f"expected {length} numbers, got {values.shape[0]}.",
                f"write a list of {length} numbers.",
            )
            return None
        return values

    def csv(self, field: str, spec: CsvIn) -> np.ndarray | None:
        """An hourly series (8,760 values) from one column of a CSV beside the site file."""
        self.cite(field, spec.source, spec.confidence, spec.note)
        try:
            return read_hourly_csv(
                self.path.parent / spec.file, spec.column, file=self.path, field=f"{field}.file"
            )
        except InputError as exc:
            self.problems.extend(exc.problems)
            return None


# --------------------------------------------------------------------------- tariff


def tou_price_per_mwh(r: FieldReader, tou: TouIn, year: int, where: str) -> np.ndarray | None:
    """Hourly price from a time-of-use table: each hour's period, by month where overridden."""
    prices = {
        name: r.number(f"{where}.prices_per_mwh.{name}", fig)
        for name, fig in tou.prices_per_mwh.items()
    }
    tables = {m: tou.hours for m in range(1, 13)}
    ok = True
    for month, hours in [(0, tou.hours), *tou.months.items()]:
        at = f"{where}." + ("hours" if month == 0 else f"months.{month}")
        if month and not 1 <= month <= 12:
            r.problem(at, f"month {month} is not in 1..12.", "use month numbers 1 to 12.")
            ok = False
            continue
        if len(hours) != HOURS_PER_DAY:
            r.problem(at, f"has {len(hours)} entries, not 24.", "name the period of each hour.")
            ok = False
        unknown = sorted(set(hours) - set(prices))
        if unknown:
            r.problem(
                at,
                f"period(s) {', '.join(unknown)} have no price.",
                f"use one of: {', '.join(prices)}, or add a price under 'prices_per_mwh'.",
            )
            ok = False
        if month:
            tables[month] = hours
    if not ok or any(v is None for v in prices.values()):
        return None
    index = year_index(year)
    table = np.array([[prices[p] for p in tables[m]] for m in range(1, 13)])
    return table[index.month.to_numpy() - 1, index.hour.to_numpy()]


def energy_price_per_mwh(
    r: FieldReader, price: EnergyPriceIn, year: int, where: str = "grid.energy_price"
) -> np.ndarray | None:
    """(8760,) grid energy price in the file's currency per MWh: a CSV or a time-of-use table."""
    if price.csv is not None:
        return r.csv(f"{where}.csv", price.csv)
    assert price.tou is not None  # the schema requires exactly one of csv, tou
    return tou_price_per_mwh(r, price.tou, year, f"{where}.tou")


# --------------------------------------------------------------------------- solar


@dataclass(frozen=True)
class Place:
    """Where a site is and which year its hours follow: what the solar model needs."""

    location: LocationIn
    timezone: str
    year: int


@dataclass(frozen=True)
class SolarFigures:
    """A site's solar option; NaN (or a None capacity factor) where a figure failed to load."""

    capacity_factor: np.ndarray | None  # (8760,) fraction of nameplate, or None
    capex_per_mw: float
    fixed_om_per_mw_year: float
    lifetime_years: float
    max_mw: float


NO_SOLAR = SolarFigures(np.zeros(HOURS_PER_YEAR), 0.0, 0.0, 1.0, 0.0)


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


def pvlib_capacity_factor(r: FieldReader, solar: SolarIn, place: Place) -> np.ndarray | None:
    """Hourly capacity factor from pvlib: clear sky x monthly clearness, fixed tilt."""
    spec = solar.pvlib
    assert spec is not None
    ghi = r.numbers("solar.pvlib.monthly_ghi_kwh_per_m2_day", spec.monthly_ghi_kwh_per_m2_day, 12)
    dc_ac = r.number("solar.pvlib.dc_ac_ratio", spec.dc_ac_ratio)
    loss = r.number("solar.pvlib.system_loss_fraction", spec.system_loss_fraction)
    inverter = r.number(
        "solar.pvlib.inverter_efficiency_fraction", spec.inverter_efficiency_fraction
    )
    if ghi is None or dc_ac is None or loss is None or inverter is None or r.problems:
        return None  # the site is refused: no solar model on figures already found wrong
    if not known_timezone(place.timezone):  # the caller reports `timezone`
        return None
    lat = place.location.latitude_deg
    system = PvSystem(
        latitude_deg=lat,
        longitude_deg=place.location.longitude_deg,
        altitude_m=place.location.altitude_m,
        timezone=place.timezone,
        tilt_deg=abs(lat) if spec.tilt_deg is None else spec.tilt_deg,
        azimuth_deg=(180.0 if lat >= 0 else 0.0) if spec.azimuth_deg is None else spec.azimuth_deg,
        monthly_ghi_kwh_per_m2_day=tuple(float(v) for v in ghi),
        dc_ac_ratio=dc_ac,
        system_loss_fraction=loss,
        inverter_efficiency_fraction=inverter,
    )
    return capacity_factor(system, place.year)


def read_solar(r: FieldReader, solar: SolarIn | None, place: Place) -> SolarFigures:
    """A site's solar: capacity factor (CSV or pvlib), costs, lifetime and size limit."""
    if solar is None:
        return NO_SOLAR
    if solar.csv is not None:
        cf = r.csv("solar.csv", solar.csv)
        if cf is not None and cf.max() > 1:
            r.problem("solar.csv.file", f"capacity factor reaches {cf.max()}.", "write fractions.")
    else:
        cf = pvlib_capacity_factor(r, solar, place)
    return SolarFigures(
        capacity_factor=cf,
        capex_per_mw=_nan(r.number("solar.capex_per_mw", solar.capex_per_mw)),
        fixed_om_per_mw_year=_nan(
            r.number("solar.fixed_om_per_mw_year", solar.fixed_om_per_mw_year, 0.0)
        ),
        lifetime_years=_nan(r.number("solar.lifetime_years", solar.lifetime_years)),
        max_mw=_nan(r.quantity("solar.max_capacity", solar.max_capacity, "power", math.inf)),
    )


# --------------------------------------------------------------------------- battery


@dataclass(frozen=True)
class BatteryFigures:
    """A site's battery technology and limits; NaN where a figure failed to load.

    Money in the file's currency (capital costs whole, not annualised); durations in h."""

    capex_per_mwh: float
    capex_per_mw: float
    fixed_om_per_mwh_year: float
    fixed_om_per_mw_year: float
    lifetime_years: float
    charge_efficiency_fraction: float
    discharge_efficiency_fraction: float
    soc_min_fraction: float
    soc_max_fraction: float
    min_duration_h: float
    max_duration_h: float
    max_mwh: float
    annual_cycle_limit: float
    backup_hours: float
    calendar_cost_per_mwh_year: float = 0.0  # calendar ageing, per MWh in service and year


# No battery at all: nothing to build, nothing stored, lossless and unconstrained otherwise.
NO_BATTERY = BatteryFigures(
    capex_per_mwh=0.0,
    capex_per_mw=0.0,
    fixed_om_per_mwh_year=0.0,
    fixed_om_per_mw_year=0.0,
    lifetime_years=1.0,
    charge_efficiency_fraction=1.0,
    discharge_efficiency_fraction=1.0,
    soc_min_fraction=0.0,
    soc_max_fraction=1.0,
    min_duration_h=0.0,
    max_duration_h=math.inf,
    max_mwh=0.0,
    annual_cycle_limit=math.inf,
    backup_hours=0.0,
)


def read_battery(
    r: FieldReader, battery: BatteryIn | None, where: str = "battery"
) -> BatteryFigures:
    """A battery block; an absent optional field takes its default here, once: no O&M, the full
    state-of-charge range, any duration and size, no cycle limit, no backup reserve."""
    if battery is None:
        return NO_BATTERY
    b, w = battery, where

    def num(name: str, figure: FigureIn | None, default: float | None = None) -> float:
        return _nan(r.number(f"{w}.{name}", figure, default))

    def qty(name: str, figure: FigureIn | None, dim: Dimension, default: float) -> float:
        return _nan(r.quantity(f"{w}.{name}", figure, dim, default))

    return BatteryFigures(
        capex_per_mwh=num("capex_per_mwh", b.capex_per_mwh),
        capex_per_mw=num("capex_per_mw", b.capex_per_mw),
        fixed_om_per_mwh_year=num("fixed_om_per_mwh_year", b.fixed_om_per_mwh_year, 0.0),
        fixed_om_per_mw_year=num("fixed_om_per_mw_year", b.fixed_om_per_mw_year, 0.0),
        calendar_cost_per_mwh_year=num(
            "calendar_cost_per_mwh_year", b.calendar_cost_per_mwh_year, 0.0
        ),
        lifetime_years=num("lifetime_years", b.lifetime_years),
        charge_efficiency_fraction=num("charge_efficiency_fraction", b.charge_efficiency_fraction),
        discharge_efficiency_fraction=num(
            "discharge_efficiency_fraction", b.discharge_efficiency_fraction
        ),
        soc_min_fraction=num("soc_min_fraction", b.soc_min_fraction, 0.0),
        soc_max_fraction=num("soc_max_fraction", b.soc_max_fraction, 1.0),
        min_duration_h=qty("min_duration", b.min_duration, "time_s", 0.0),
        max_duration_h=qty("max_duration", b.max_duration, "time_s", math.inf),
        max_mwh=qty("max_energy", b.max_energy, "energy", math.inf),
        annual_cycle_limit=num("annual_cycle_limit", b.annual_cycle_limit, math.inf),
        backup_hours=qty("backup_duration", b.backup_duration, "time_s", 0.0),
    )
