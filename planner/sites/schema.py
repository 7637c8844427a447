"""Site files' schema: the YAML of one data-centre site (docs/sites.md), validated by pydantic.

Quantities are strings with units ("150 MW", "4 h"), parsed once by planner.sites; money is a plain
number in the file's one `currency` with the unit in the key (`price_per_mwh`). Every figure is a
`FigureIn` with its source and confidence.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import field_validator, model_validator

from planner.provenance import Confidence, FigureIn, SourceIn
from planner.schema import Bounds, StrictModel

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


# --------------------------------------------------------------------------- ranges

# The ranges of a site's figures (planner.schema.Bounds), shared with scenarios' sites. Hard ends
# are definitions (a fraction is 0 to 1, a PUE at least 1) or physics (no site draws 100 GW: the
# largest power station, Three Gorges, is 22.5 GW); typical ends cover the shipped sites and
# scenarios with a wide margin (the largest announced campuses are about 5 GW). Money is in the
# file's currency: typical ends cover currencies of up to about 10 units per USD (USD, EUR, SGD,
# CNY, MYR); one with many more units (JPY, INR, KRW) may see warnings, never refusals.
Fraction = Annotated[FigureIn, Bounds("", hard=(0, 1), what="a fraction")]
SITE_MW = Bounds("MW", hard=(0, 100_000), typical=(0, 10_000), what="a site's power")
SiteMW = Annotated[FigureIn, SITE_MW]
PRICE_PER_MWH = Bounds("", hard=(0, 1e6), typical=(0, 3_000), what="an energy price per MWh")
PricePerMWh = Annotated[FigureIn, PRICE_PER_MWH]  # shipped: 40 to 1,465 (USD and CNY tariffs)
EmissionTPerMWh = Annotated[
    FigureIn, Bounds("", hard=(0, 2), typical=(0, 1.3), what="grid emissions in t CO2 per MWh")
]  # lignite plants emit about 1.2 t/MWh at most; shipped grids 0.27 to 0.73
CarbonPricePerT = Annotated[
    FigureIn, Bounds("", hard=(0, 1e5), typical=(0, 1_000), what="a carbon price per t CO2")
]
DemandChargePerMWMonth = Annotated[
    FigureIn,
    Bounds("", hard=(0, 1e9), typical=(0, 200_000), what="a demand charge per MW and month"),
]  # US charges of 10-20 USD/kW-month are 10,000-20,000 per MW-month; shipped 0 to 8,412
CapexPerMW = Annotated[
    FigureIn, Bounds("", hard=(0, 1e10), typical=(0, 1e8), what="a capital cost per MW")
]  # shipped: solar 0.8 to 4.2 million, data-centre builds 7 to 51 million per MW
OmPerYear = Annotated[
    FigureIn, Bounds("", hard=(0, 1e8), typical=(0, 1e6), what="a fixed O&M cost a year")
]
LifetimeYears = Annotated[
    FigureIn,
    Bounds("", hard=(0, 100), typical=(1, 50), low_open=True, what="a lifetime in years"),
]
Efficiency = Annotated[
    FigureIn,
    Bounds("", hard=(0, 1), typical=(0.5, 1), low_open=True, what="an efficiency"),
]
DurationH = Annotated[
    FigureIn, Bounds("h", hard=(0, 8_760), typical=(0, 200), what="a duration in hours")
]  # iron-air storage is built for about 100 h; shipped batteries 1 to 8 h
StorageMWh = Annotated[
    FigureIn, Bounds("MWh", hard=(0, 1e7), typical=(0, 100_000), what="an energy store")
]
Pue = Annotated[
    FigureIn, Bounds("", hard=(1, 5), typical=(1.02, 2.0), what="a PUE (facility / IT power)")
]  # the best hyperscale sites report about 1.08; shipped 1.2 to 1.3
CalendarYear = Annotated[
    int, Bounds("", hard=(1900, 2200), typical=(2000, 2100), what="a calendar year")
]


# --------------------------------------------------------------------------- schema


class ListFigureIn(FigureIn):
    """A figure that is a list of plain numbers (a daily profile, twelve monthly values)."""

    value: list[float] | None  # type: ignore[assignment]  # narrows FigureIn.value to a list


class CsvIn(StrictModel):
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


class LocationIn(StrictModel):
    """Where the site stands (WGS84 degrees, metres above sea level): for solar and time zone."""

    latitude_deg: Annotated[float, Bounds("", hard=(-90, 90), what="a latitude in degrees")]
    longitude_deg: Annotated[float, Bounds("", hard=(-180, 180), what="a longitude in degrees")]
    altitude_m: Annotated[
        float, Bounds("", hard=(-500, 9_000), typical=(-100, 5_000), what="an altitude in m")
    ] = 0.0  # the Dead Sea shore is at -430 m, Everest at 8,849 m


class ItLoadIn(StrictModel):
    """IT load: a CSV of MW per hour, or a flat MW times an optional 24-hour profile."""

    csv: CsvIn | None = None
    flat: SiteMW | None = None
    daily_profile_fraction: Annotated[
        ListFigureIn | None,
        Bounds("", hard=(0, 10), typical=(0, 2), what="an hour's load as a multiple of flat"),
    ] = None

    @model_validator(mode="after")
    def _one_form(self) -> ItLoadIn:
        if (self.csv is None) == (self.flat is None):
            raise ValueError("give exactly one of 'csv' or 'flat'")
        if self.csv is not None and self.daily_profile_fraction is not None:
            raise ValueError("'daily_profile_fraction' goes with 'flat', not with 'csv'")
        return self


class LoadIn(StrictModel):
    """The IT load: installed IT MW, hourly MW demanded, PUE (facility / IT power), the share
    of each hour's load that may move within its day, and the critical MW to back up."""

    it_capacity: SiteMW
    it_load: ItLoadIn
    pue: Pue | None = None
    pue_csv: CsvIn | None = None
    deferrable_fraction: Fraction
    critical_load: SiteMW | None = None

    @model_validator(mode="after")
    def _one_pue(self) -> LoadIn:
        if (self.pue is None) == (self.pue_csv is None):
            raise ValueError("give exactly one of 'pue' or 'pue_csv'")
        return self


class TouIn(StrictModel):
    """A time-of-use tariff: a price per period, the period of each hour, monthly overrides."""

    prices_per_mwh: Annotated[dict[str, FigureIn], PRICE_PER_MWH]
    hours: list[str]
    months: dict[int, list[str]] = {}


class EnergyPriceIn(StrictModel):
    """The energy price of imports per MWh: an hourly CSV or a time-of-use tariff."""

    csv: CsvIn | None = None
    tou: TouIn | None = None

    @model_validator(mode="after")
    def _one_form(self) -> EnergyPriceIn:
        if (self.csv is None) == (self.tou is None):
            raise ValueError("give exactly one of 'csv' or 'tou'")
        return self


class ExportIn(StrictModel):
    """Selling to the grid: at most `cap` MW, paid `price_per_mwh`."""

    cap: SiteMW
    price_per_mwh: PricePerMWh


class GridIn(StrictModel):
    """The grid connection: import cap (MW), energy price, optional export, demand charge per MW
    of each month's peak import, emission factor (t CO2 per MWh) and carbon price (per t)."""

    import_cap: SiteMW
    energy_price: EnergyPriceIn
    export: ExportIn | None = None
    demand_charge_per_mw_month: DemandChargePerMWMonth
    emission_t_per_mwh: EmissionTPerMWh | None = None
    emission_csv: CsvIn | None = None
    carbon_price_per_t: CarbonPricePerT

    @model_validator(mode="after")
    def _one_emission(self) -> GridIn:
        if (self.emission_t_per_mwh is None) == (self.emission_csv is None):
            raise ValueError("give exactly one of 'emission_t_per_mwh' or 'emission_csv'")
        return self


class PvlibIn(StrictModel):
    """Capacity factor computed by pvlib: clear sky x monthly clearness, fixed tilt."""

    tilt_deg: Annotated[float | None, Bounds("", hard=(0, 90), what="a panel tilt in degrees")] = (
        None  # default: |latitude|
    )
    azimuth_deg: Annotated[
        float | None, Bounds("", hard=(0, 360), what="a panel azimuth in degrees")
    ] = None  # default: facing the equator
    # Monthly mean global horizontal irradiance: about 12 kWh/m2/day reaches the top of the
    # atmosphere at most; the sunniest deserts see about 8. Shipped: 2.2 to 6.3.
    monthly_ghi_kwh_per_m2_day: Annotated[
        ListFigureIn, Bounds("", hard=(0, 12), typical=(0.2, 9), what="an irradiance")
    ]
    dc_ac_ratio: Annotated[
        FigureIn, Bounds("", hard=(0.5, 3), typical=(1, 1.6), what="a DC/AC ratio")
    ]  # shipped 1.2; utility plants are built at 1.1 to 1.5
    system_loss_fraction: Annotated[
        FigureIn, Bounds("", hard=(0, 1), typical=(0, 0.4), what="a loss fraction")
    ]
    inverter_efficiency_fraction: Annotated[
        FigureIn,
        Bounds("", hard=(0.5, 1), typical=(0.9, 0.995), what="an inverter efficiency"),
    ]


class SolarIn(StrictModel):
    """Solar the site may build: its capacity factor (pvlib or CSV), capital cost per MW, fixed
    O&M per MW-year, lifetime (years) and most MW the site can hold."""

    pvlib: PvlibIn | None = None
    csv: CsvIn | None = None
    capex_per_mw: CapexPerMW
    fixed_om_per_mw_year: OmPerYear | None = None
    lifetime_years: LifetimeYears
    max_capacity: SiteMW | None = None

    @model_validator(mode="after")
    def _one_form(self) -> SolarIn:
        if (self.pvlib is None) == (self.csv is None):
            raise ValueError("give exactly one of 'pvlib' or 'csv' for the capacity factor")
        return self


class BatteryIn(StrictModel):
    """The battery the site may build: capital cost per MWh and per MW, fixed O&M, lifetime,
    efficiencies, state-of-charge window, duration range (h), size cap (MWh), full cycles a
    year and the backup reserve it must hold (h of critical load)."""

    capex_per_mwh: Annotated[
        FigureIn, Bounds("", hard=(0, 1e9), typical=(0, 5e6), what="a capital cost per MWh")
    ]  # shipped 165,000 (USD) to 385,200 (CNY) per MWh
    capex_per_mw: CapexPerMW
    fixed_om_per_mwh_year: OmPerYear | None = None
    fixed_om_per_mw_year: OmPerYear | None = None
    # Calendar ageing: a lithium-ion battery loses capacity with time whether it cycles or not;
    # this is what keeping one MWh of it in service costs a year (augmentation, or the share of
    # a replacement), in the file's currency. Default 0. NREL's ATB prices all degradation as
    # fixed O&M at 2.5 % of the capital cost a year (ATB 2020, battery storage, O&M costs:
    # https://atb.nrel.gov/electricity/2020/index.php?t=st&s=om); 2.5 % of the shipped 165,000
    # USD per MWh is about 4,100 USD per MWh-year (an estimate). The site model adds it to fixed
    # O&M, the plan counts it alone (it ignores fixed O&M): give it in one of the two fields.
    calendar_cost_per_mwh_year: Annotated[
        FigureIn | None,
        Bounds("", hard=(0, 1e8), typical=(0, 1e5), what="a calendar ageing cost per MWh-year"),
    ] = None
    lifetime_years: LifetimeYears
    charge_efficiency_fraction: Efficiency
    discharge_efficiency_fraction: Efficiency
    soc_min_fraction: Fraction | None = None
    soc_max_fraction: Fraction | None = None
    min_duration: DurationH | None = None
    max_duration: DurationH | None = None
    max_energy: StorageMWh | None = None
    annual_cycle_limit: Annotated[
        FigureIn | None,
        Bounds("", hard=(0, 10_000), typical=(50, 1_500), what="full cycles a year"),
    ] = None  # shipped 365 (one a day)
    backup_duration: DurationH | None = None


DiscountRate = Annotated[
    FigureIn, Bounds("", hard=(0, 1), typical=(0, 0.2), what="a discount rate a year")
]


class EconomicsIn(StrictModel):
    """Money over time: the discount rate a year and the price of a MWh of IT load not served."""

    discount_rate_fraction: DiscountRate
    unserved_penalty_per_mwh: Annotated[
        FigureIn | None,
        Bounds("", hard=(0, 1e9), typical=(100, 1e6), what="the price of a MWh not served"),
    ] = None  # default 10,000


class SiteFile(StrictModel):
    """The schema of one site file (docs/sites.md)."""

    name: str
    description: str = ""
    currency: str
    timezone: str
    year: CalendarYear = 2025
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
