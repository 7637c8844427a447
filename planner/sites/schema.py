"""Site files' schema: the YAML of one data-centre site (docs/sites.md), validated by pydantic.

Quantities are strings with units ("150 MW", "4 h"), parsed once by planner.sites; money is a plain
number in the file's one `currency` with the unit in the key (`price_per_mwh`). Every figure is a
`FigureIn` with its source and confidence.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from planner.provenance import Confidence, FigureIn, SourceIn

# --------------------------------------------------------------------------- provinces

# Provincial-level divisions of mainland China, as scenarios and export_regimes/ name them (the
# power subsidies of cn-2025-11 name Gansu, Guizhou and Inner Mongolia). Hong Kong, Macau and
# Taiwan are countries of their own here (HK, MO, TW), as the rules treat them.
CN_PROVINCES: tuple[str, ...] = (
    "Anhui", "Beijing", "Chongqing", "Fujian", "Gansu", "Guangdong", "Guangxi", "Guizhou",
    "Hainan", "Hebei", "Heilongjiang", "Henan", "Hubei", "Hunan", "Inner Mongolia", "Jiangsu",
    "Jiangxi", "Jilin", "Liaoning", "Ningxia", "Qinghai", "Shaanxi", "Shandong", "Shanghai",
    "Shanxi", "Sichuan", "Tianjin", "Tibet", "Xinjiang", "Yunnan", "Zhejiang",
)  # fmt: skip
# Other spellings (pinyin, full official names) -> the listed name, for did-you-mean only.
CN_PROVINCE_ALIASES: dict[str, str] = {
    "neimenggu": "Inner Mongolia",
    "nei menggu": "Inner Mongolia",
    "nei mongol": "Inner Mongolia",
    "inner mongolia autonomous region": "Inner Mongolia",
    "xizang": "Tibet",
    "guangxi zhuang": "Guangxi",
    "ningxia hui": "Ningxia",
    "xinjiang uygur": "Xinjiang",
    "xinjiang uyghur": "Xinjiang",
}
PROVINCES: dict[str, tuple[str, ...]] = {"CN": CN_PROVINCES}


def province_problem(country: str, name: str) -> str | None:
    """Why `name` is not a province of `country`, with a did-you-mean; None if it is one (or if
    the country has no list: names are then free text)."""
    known = PROVINCES.get(country)
    if known is None or name in known:
        return None
    from difflib import get_close_matches

    key = name.strip().lower().removesuffix(" province")
    match = CN_PROVINCE_ALIASES.get(key) if country == "CN" else None
    if match is None:
        lower = {k.lower(): k for k in known}
        close = get_close_matches(key, list(lower), n=1, cutoff=0.6)
        match = lower[close[0]] if close else None
    hint = f"did you mean '{match}'?" if match else f"use one of: {', '.join(known)}."
    return f"'{name}' is not a province of {country} as the rules name them; {hint}"


# --------------------------------------------------------------------------- schema


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ListFigureIn(FigureIn):
    """A figure that is a list of plain numbers (a daily profile, twelve monthly values)."""

    value: list[float] | None  # type: ignore[assignment]


class CsvIn(_Strict):
    """An hourly series: one column of an 8,760-row CSV beside the site file."""

    file: str
    column: str
    source: str
    confidence: Confidence
    note: str | None = None

    @model_validator(mode="after")
    def _estimate_has_note(self) -> CsvIn:
        if self.confidence == "estimate" and not self.note:
            raise ValueError("an estimate needs a note saying how it was made")
        return self


class LocationIn(_Strict):
    latitude_deg: float
    longitude_deg: float
    altitude_m: float = 0.0

    @field_validator("latitude_deg")
    @classmethod
    def _latitude(cls, value: float) -> float:
        if not -90 <= value <= 90:
            raise ValueError(f"latitude {value} is not in [-90, 90]")
        return value

    @field_validator("longitude_deg")
    @classmethod
    def _longitude(cls, value: float) -> float:
        if not -180 <= value <= 180:
            raise ValueError(f"longitude {value} is not in [-180, 180]")
        return value


class ItLoadIn(_Strict):
    """IT load: a CSV of MW per hour, or a flat MW times an optional 24-hour profile."""

    csv: CsvIn | None = None
    flat: FigureIn | None = None
    daily_profile_fraction: ListFigureIn | None = None

    @model_validator(mode="after")
    def _one_form(self) -> ItLoadIn:
        if (self.csv is None) == (self.flat is None):
            raise ValueError("give exactly one of 'csv' or 'flat'")
        if self.csv is not None and self.daily_profile_fraction is not None:
            raise ValueError("'daily_profile_fraction' goes with 'flat', not with 'csv'")
        return self


class LoadIn(_Strict):
    it_capacity: FigureIn
    it_load: ItLoadIn
    pue: FigureIn | None = None
    pue_csv: CsvIn | None = None
    deferrable_fraction: FigureIn
    critical_load: FigureIn | None = None

    @model_validator(mode="after")
    def _one_pue(self) -> LoadIn:
        if (self.pue is None) == (self.pue_csv is None):
            raise ValueError("give exactly one of 'pue' or 'pue_csv'")
        return self


class TouIn(_Strict):
    """A time-of-use tariff: a price per period, the period of each hour, monthly overrides."""

    prices_per_mwh: dict[str, FigureIn]
    hours: list[str]
    months: dict[int, list[str]] = {}


class EnergyPriceIn(_Strict):
    csv: CsvIn | None = None
    tou: TouIn | None = None

    @model_validator(mode="after")
    def _one_form(self) -> EnergyPriceIn:
        if (self.csv is None) == (self.tou is None):
            raise ValueError("give exactly one of 'csv' or 'tou'")
        return self


class ExportIn(_Strict):
    cap: FigureIn
    price_per_mwh: FigureIn


class GridIn(_Strict):
    import_cap: FigureIn
    energy_price: EnergyPriceIn
    export: ExportIn | None = None
    demand_charge_per_mw_month: FigureIn
    emission_t_per_mwh: FigureIn | None = None
    emission_csv: CsvIn | None = None
    carbon_price_per_t: FigureIn

    @model_validator(mode="after")
    def _one_emission(self) -> GridIn:
        if (self.emission_t_per_mwh is None) == (self.emission_csv is None):
            raise ValueError("give exactly one of 'emission_t_per_mwh' or 'emission_csv'")
        return self


class PvlibIn(_Strict):
    """Capacity factor computed by pvlib: clear sky x monthly clearness, fixed tilt."""

    tilt_deg: float | None = None  # default: |latitude|
    azimuth_deg: float | None = None  # default: facing the equator
    monthly_ghi_kwh_per_m2_day: ListFigureIn
    dc_ac_ratio: FigureIn
    system_loss_fraction: FigureIn
    inverter_efficiency_fraction: FigureIn


class SolarIn(_Strict):
    pvlib: PvlibIn | None = None
    csv: CsvIn | None = None
    capex_per_mw: FigureIn
    fixed_om_per_mw_year: FigureIn | None = None
    lifetime_years: FigureIn
    max_capacity: FigureIn | None = None

    @model_validator(mode="after")
    def _one_form(self) -> SolarIn:
        if (self.pvlib is None) == (self.csv is None):
            raise ValueError("give exactly one of 'pvlib' or 'csv' for the capacity factor")
        return self


class BatteryIn(_Strict):
    capex_per_mwh: FigureIn
    capex_per_mw: FigureIn
    fixed_om_per_mwh_year: FigureIn | None = None
    fixed_om_per_mw_year: FigureIn | None = None
    lifetime_years: FigureIn
    charge_efficiency_fraction: FigureIn
    discharge_efficiency_fraction: FigureIn
    soc_min_fraction: FigureIn | None = None
    soc_max_fraction: FigureIn | None = None
    min_duration: FigureIn | None = None
    max_duration: FigureIn | None = None
    max_energy: FigureIn | None = None
    annual_cycle_limit: FigureIn | None = None
    backup_duration: FigureIn | None = None


class EconomicsIn(_Strict):
    discount_rate_fraction: FigureIn
    unserved_penalty_per_mwh: FigureIn | None = None


class SiteFile(_Strict):
    """The schema of one site file (docs/sites.md)."""

    name: str
    description: str = ""
    currency: str
    timezone: str
    year: int = 2025
    location: LocationIn
    load: LoadIn
    grid: GridIn
    solar: SolarIn | None = None
    battery: BatteryIn | None = None
    economics: EconomicsIn
    sources: dict[str, SourceIn] = {}

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z]{3}", value):
            raise ValueError(f"'{value}' is not a three-letter ISO currency code like 'USD'")
        return value

    @field_validator("year")
    @classmethod
    def _non_leap(cls, value: int) -> int:
        if value % 4 == 0 and (value % 100 != 0 or value % 400 == 0):
            raise ValueError(f"{value} is a leap year; the model's year has 8,760 hours")
        return value
