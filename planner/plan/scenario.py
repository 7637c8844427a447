"""Scenario files: the strict schema of a capacity plan's inputs (docs/scenarios.md).

A scenario names the horizon and money (currency, exchange rates, discount rate, carbon price),
the token demand per workload (the `demand:` fragment, planner.demand), how each workload is
served (workload profile, precision, request size), the candidate parts (prices by year, supply
caps, lead time, lifetime, resale, the installed base), the sites (location, province, state
funding, data-centre size and build cost, time to power, PUE, tariff, solar) and the rules (buyer
country, export regime by date or fixed, domestic share, budgets).

Every figure is written `{value, source, confidence, note}` (planner.provenance.FigureIn) and
cites a key of the file's `sources:` table or a URL. Validation reports every error at once;
cross-field rules are `check_*` functions that collect problems with file, field and fix.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from planner.demand.projection import DemandIn, DemandProjection, project_demand
from planner.errors import InputError, Problem
from planner.paths import search_dirs
from planner.provenance import FigureIn, SourceIn
from planner.rules.buyer import Buyer, is_country_code
from planner.schema import Bounds, StrictModel
from planner.sites.schema import (
    SITE_MW,
    BatteryIn,
    CalendarYear,
    CapexPerMW,
    CarbonPricePerT,
    DemandChargePerMWMonth,
    DiscountRate,
    EmissionTPerMWh,
    EnergyPriceIn,
    Fraction,
    LifetimeYears,
    LocationIn,
    Pue,
    SiteMW,
    SolarIn,
    StorageMWh,
    province_problem,
)
from planner.yamlio import read_yaml, validate_collecting

PeriodLabel = int | str

# A part's price in the scenario currency, as its profile's unit price (planner.catalogue.parts).
PRICE_PER_PART = Bounds("", hard=(0, 1e10), typical=(100, 10_000_000), what="a price per part")
PricePerPart = Annotated[FigureIn, PRICE_PER_PART]
LeadTimeYears = Annotated[
    FigureIn, Bounds("", hard=(0, 30), typical=(0, 5), what="a lead time in years")
]
PriceDecline = Annotated[
    FigureIn, Bounds("", hard=(0, 1), typical=(0, 0.5), what="a price decline a year")
]
ANY_NUMBER = Bounds("", hard=(-1e15, 1e15), what="a number")
POSITIVE = Bounds("", hard=(0, 1e15), low_open=True, what="a spread")
SLUG_NAME = re.compile(r"^[a-z0-9]+(?:[.-][a-z0-9]+)*$")


class ServingIn(StrictModel):
    """How one demand workload is served: its workload profile, precision and request size.

    Input tokens per request follow from the demand's output share s:
    input = output x (1 - s) / s, so the serving model sees the same mix as the demand.
    A video workload (profile of kind video, demand `unit: video_s`) uses only `profile` and
    `precision`: its throughput is compute-bound (docs/serving.md, "Video generation").
    """

    workload: str  # name of a workload in `demand.workloads`
    profile: str  # workload profile id, e.g. qwen3-235b-a22b
    precision: str | None = None  # weights; None = the profile's default
    output_tokens_per_request: Annotated[
        int, Bounds("", hard=(1, 1e7), typical=(1, 100_000), what="output tokens per request")
    ] = 500
    # CPU core-seconds one request needs besides its tokens (agents' tool calls, sandboxes,
    # retrieval), served by `cpu_servers` at the site serving its tokens; None = none. An hour
    # of a core per request is a typical ceiling, a day a hard one.
    cpu_core_s_per_request: Annotated[
        FigureIn | None,
        Bounds("", hard=(0, 86_400), typical=(0, 3_600), what="CPU core-seconds per request"),
    ] = None


class InstalledIn(StrictModel):
    """Parts already in service before the horizon: where, how many, bought when."""

    site: str
    count: Annotated[
        int, Bounds("", hard=(0, 1e9), typical=(0, 10_000_000), what="a number of parts")
    ]
    year: CalendarYear  # year bought (delivered at its start)
    source: str | None = None
    confidence: Literal["datasheet", "press", "estimate"] | None = None
    note: str | None = None


class PartIn(StrictModel):
    """One candidate part: prices, supply, delivery, lifetime, resale and installed base.

    `price_per_part` (scenario currency, includes the part's share of the server) defaults to the
    profile's unit price converted with `exchange_rates`; `price_by_year` overrides single
    periods; `price_decline_fraction_per_year` scales the base price by (1 - d)^(years from the
    start). `supply_cap_parts` caps parts bought per period (all sites; a period not listed has
    no cap). `server` names a server profile (hardware_profiles/servers) the part is bought in:
    its accelerator count is the parts per server, its host CPUs and other watts the host power,
    and its platform price is added to the part's price (which is then the accelerator alone).
    Without one, parts come in `parts_per_server` (default 8) with the profile's
    `server_overhead_power` and no host CPUs.
    """

    part: str
    server: str | None = None  # server profile id; None = the per-part overhead rule
    # A server holds 1 to 8 parts; a rack-scale system bought whole (GB200 NVL72) 72.
    parts_per_server: Annotated[
        int | None, Bounds("", hard=(1, 100_000), typical=(1, 576), what="parts per server")
    ] = None  # None: the server's, else 8
    price_per_part: PricePerPart | None = None
    price_by_year: Annotated[dict[PeriodLabel, FigureIn], PRICE_PER_PART] = {}
    price_decline_fraction_per_year: PriceDecline | None = None
    # Parts buyable per period (0: none); shipped caps 40 to 30,000.
    supply_cap_parts: Annotated[
        dict[PeriodLabel, FigureIn],
        Bounds("", hard=(0, 1e9), typical=(0, 10_000_000), what="a number of parts"),
    ] = {}
    lead_time_years: LeadTimeYears | None = None
    lifetime_years: LifetimeYears
    resale_value_fraction: Fraction | None = None  # None = straight line over the lifetime
    installed: list[InstalledIn] = []


class CpuServerIn(StrictModel):
    """A CPU server the plan may buy for workloads' CPU work (`serving[].cpu_core_s_per_request`).

    `price_per_server` (scenario currency) defaults to the server profile's platform price
    converted with `exchange_rates`; `price_decline_fraction_per_year` scales it by
    (1 - d)^(years from the start)."""

    server: str  # a server profile of kind cpu, e.g. yitian-710-server
    price_per_server: Annotated[
        FigureIn | None,
        Bounds("", hard=(0, 1e10), typical=(100, 10_000_000), what="a price per server"),
    ] = None
    price_decline_fraction_per_year: PriceDecline | None = None
    lead_time_years: LeadTimeYears | None = None
    lifetime_years: LifetimeYears
    resale_value_fraction: Fraction | None = None  # None = straight line over the lifetime


class GridOptionIn(StrictModel):
    """One connection a site may take (docs/capacity_model.md, eqs. 20-21): `cap` MW from the
    period `available_from` on; the grid may call up to `curtailment_hours_per_year` hours a
    year, during which the site imports at most `curtailed_to` (default 0 MW)."""

    name: str
    cap: SiteMW
    available_from: PeriodLabel
    # A year has 8,760 hours; flexible-connection studies curtail 0.25 % to 1 % of them (22 to
    # 88 h, Duke University 2025), so a typical end of 500 h leaves a wide margin.
    curtailment_hours_per_year: Annotated[
        FigureIn,
        Bounds("", hard=(0, 8_760), typical=(0, 500), what="curtailment hours a year"),
    ]
    curtailed_to: SiteMW | None = None


class RegionalLoadIn(StrictModel):
    """The regional grid's own load, whose peaks the curtailment events fall on: a YAML file
    (path relative to the scenario) of mean MW by month and local hour (`RegionalLoadFile`)."""

    file: str


class SiteGridIn(StrictModel):
    """Grid connection and tariff. `available_from` gives the MW connected from each period on
    (time to power, ramping); periods before its first entry have none. Empty: `import_cap`
    throughout. With `options` the plan picks one connection (eq. 20); `import_cap` then bounds
    every option and `available_from` must be empty; a curtailable option needs
    `regional_load`."""

    import_cap: SiteMW
    available_from: Annotated[dict[PeriodLabel, FigureIn], SITE_MW] = {}
    energy_price: EnergyPriceIn
    demand_charge_per_mw_month: DemandChargePerMWMonth
    emission_t_per_mwh: EmissionTPerMWh
    options: list[GridOptionIn] = []
    regional_load: RegionalLoadIn | None = None


class SiteIn(StrictModel):
    """One site: where, who funds it, how large it is and may grow, its power and its solar."""

    name: str
    country: str
    province: str
    timezone: str  # IANA name, e.g. Asia/Shanghai: the local time of tariffs and solar
    location: LocationIn
    state_funded: bool = False
    domestic_only: bool = False  # the operator runs domestic parts only (e.g. for a subsidy)
    it_existing: SiteMW
    it_max: SiteMW | None = None  # None = no limit
    build_capex_per_mw: CapexPerMW
    build_lead_time_years: LeadTimeYears
    pue: Pue
    grid: SiteGridIn
    solar: SolarIn | None = None
    battery_max_energy: StorageMWh | None = None  # None = no limit (when `battery:` is given)

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        return _check_country(value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{value}' is not an IANA time zone like 'Asia/Shanghai'") from None
        return value

    @field_validator("province")
    @classmethod
    def _province(cls, value: str, info: ValidationInfo) -> str:
        """Provinces come from a list (planner.sites.schema.PROVINCES): a misspelt one would
        silently miss a provincial power subsidy."""
        country = info.data.get("country")
        problem = None if country is None else province_problem(country, value)
        if problem is not None:
            raise ValueError(problem)
        return value


def _check_country(value: str) -> str:
    if len(value) != 2 or not value.isalpha() or not value.isupper():
        raise ValueError(f"'{value}' is not a two-letter ISO country code like 'CN'")
    return value


class DomesticShareIn(StrictModel):
    """Minimum share of installed parts (or of their TPP) made in the buyer's country."""

    basis: Literal["parts", "compute"] = "parts"
    min_fraction: Annotated[dict[PeriodLabel, float], Bounds("", hard=(0, 1), what="a share")] = {}


class BuyerIn(StrictModel):
    """Who buys: its country, the country it (or its ultimate parent) is headquartered in
    (default: its country) and its corporate group (for parts sold only within a group, e.g.
    `alibaba`). Each site's export rules follow the site's country and this headquarters."""

    country: str
    headquarters: str | None = None
    group: str | None = None

    @field_validator("country", "headquarters")
    @classmethod
    def _code(cls, value: str | None) -> str | None:
        if value is not None and not is_country_code(value):
            raise ValueError(
                f"'{value}' is not an ISO 3166 two-letter country code; write e.g. CN, MY or SG"
            )
        return value

    @field_validator("group")
    @classmethod
    def _group(cls, value: str | None) -> str | None:
        if value is not None and not SLUG_NAME.match(value):
            raise ValueError(f"'{value}' is not a group name; write a lowercase slug like alibaba")
        return value

    def at(self, country: str) -> Buyer:
        """This buyer taking delivery in `country` (a site's)."""
        return Buyer(country, self.headquarters or self.country, self.group)


class RulesIn(StrictModel):
    """Buyer (a country code, or country, headquarters and group), export regime (by date, or
    one fixed snapshot), shares, budgets."""

    buyer: BuyerIn
    regime: str = "auto"  # "auto": the snapshots in force at each period's mid-date
    banned_parts: list[str] = []
    domestic_share: DomesticShareIn = DomesticShareIn()
    budget_per_year: Annotated[
        dict[PeriodLabel, FigureIn],
        Bounds("", hard=(0, 1e15), typical=(0, 1e13), what="a budget a year"),
    ] = {}  # 1e13 is ten times the largest capital plans announced (about 1e12 USD)
    revenue_share_pass_through_fraction: Annotated[
        float, Bounds("", hard=(0, 1), what="a pass-through share")
    ] = 1.0

    @field_validator("buyer", mode="before")
    @classmethod
    def _buyer(cls, value: object) -> object:
        return {"country": value} if isinstance(value, str) else value


class UncertainIn(StrictModel):
    """One uncertain number of the scenario, for Monte Carlo sweeps (docs/sweeps.md).

    `parameter` is a sweep parameter (a knob such as `demand.growth`, or a dotted path to a
    number in this file). Distributions and their fields: uniform (low, high); normal (mean, sd;
    optional low/high truncate by clipping); lognormal (median, sigma: the standard deviation of
    the log); triangular (low, mode, high).
    """

    parameter: str
    distribution: Literal["uniform", "normal", "lognormal", "triangular"]
    # The numbers are the named parameter's own; only finiteness and sign are checked here,
    # the parameter's range applies to every sampled value when the case is built.
    low: Annotated[float | None, ANY_NUMBER] = None
    high: Annotated[float | None, ANY_NUMBER] = None
    mode: Annotated[float | None, ANY_NUMBER] = None
    mean: Annotated[float | None, ANY_NUMBER] = None
    sd: Annotated[float | None, POSITIVE] = None
    median: Annotated[float | None, POSITIVE] = None
    sigma: Annotated[float | None, POSITIVE] = None
    source: str | None = None
    confidence: Literal["datasheet", "press", "estimate"] | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _fields_of_distribution(self) -> UncertainIn:
        needed = {
            "uniform": ("low", "high"),
            "normal": ("mean", "sd"),
            "lognormal": ("median", "sigma"),
            "triangular": ("low", "mode", "high"),
        }[self.distribution]
        missing = [n for n in needed if getattr(self, n) is None]
        if missing:
            raise ValueError(f"a {self.distribution} distribution needs {', '.join(needed)}")
        lo, hi = self.low, self.high
        if lo is not None and hi is not None and not lo < hi:
            raise ValueError("low must be below high")
        mode = self.mode
        if mode is not None and lo is not None and hi is not None and not lo <= mode <= hi:
            raise ValueError("mode must lie between low and high")
        return self


class PowerCappingIn(StrictModel):
    """Let the plan run busy parts under a power cap (docs/capacity_model.md, eq. 19): the caps
    it may choose, as fractions of each part's TDP (curves: docs/serving.md, S8)."""

    allowed: bool = True
    # The curves are measured down to half the TDP; a cap of 1 is no cap.
    caps_fraction: Annotated[
        list[float], Bounds("", hard=(0.5, 1), high_open=True, what="a power cap of TDP")
    ] = [0.5, 0.6, 0.7, 0.8, 0.9]


class ScenarioFile(StrictModel):
    """The schema of one scenario file (docs/scenarios.md)."""

    name: str
    description: str = ""
    currency: str
    # Scenario currency per unit of the key's currency: 1e-5 to 1e5 spans the rates between
    # today's currencies (about 16,000 IDR or 1,400 KRW per USD, and their inverses).
    exchange_rates: Annotated[
        dict[str, FigureIn],
        Bounds("", hard=(0, 1e7), typical=(1e-5, 1e5), low_open=True, what="an exchange rate"),
    ] = {}
    discount_rate_fraction: DiscountRate
    carbon_price_per_t: CarbonPricePerT
    unserved_penalty_per_mtok: Annotated[
        FigureIn,
        Bounds("", hard=(0, 1e9), typical=(1, 100_000), what="the price of 1e6 tokens not served"),
    ]  # shipped 50 to 1,000; API prices are 0.1 to 100 per million tokens
    unserved_penalty_per_video_minute: Annotated[
        FigureIn | None,
        Bounds("", hard=(0, 1e12), typical=(1, 10_000_000), what="the price of a video minute"),
    ] = None  # needed with a video workload; shipped 1,000 to 100,000
    weather_year: CalendarYear = 2025
    representative_days: Annotated[
        int, Bounds("", hard=(1, 365), what="a number of representative days")
    ] = 4
    demand: DemandIn
    serving: list[ServingIn] = Field(min_length=1)
    parts: list[PartIn] = Field(min_length=1)
    cpu_servers: list[CpuServerIn] = []  # CPU servers for CPU work (issue 15)
    sites: list[SiteIn] = Field(min_length=1)
    battery: BatteryIn | None = None  # technology and cost shared by every site; None = none
    power_capping: PowerCappingIn | None = None  # None: parts run at full power only
    rules: RulesIn
    uncertainty: list[UncertainIn] = []  # distributions for `planner sweep --samples N`
    sources: dict[str, SourceIn] = {}


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: the raw schema, its file and its projected demand."""

    raw: ScenarioFile
    path: Path
    demand: DemandProjection
    # k of the `serving.band` knobs (planner/plan/overrides.py): modelled rates r at r f^k
    serving_band: float = 0.0
    serving_band_by_family: tuple[tuple[str, float], ...] = ()  # `serving.band.<family>`

    @property
    def name(self) -> str:
        """The scenario's name, as the file gives it."""
        return self.raw.name


def _problem(path: Path, field: str, problem: str, fix: str) -> Problem:
    return Problem(str(path), field, problem, fix)


def check_names(raw: ScenarioFile, path: Path) -> list[Problem]:
    """Unique part and site names; serving entries match demand workloads one to one."""
    return [
        *_repeated_names(raw, path),
        *_serving_matches_demand(raw, path),
        *_installed_sites_known(raw, path),
    ]


def _repeated_names(raw: ScenarioFile, path: Path) -> list[Problem]:
    """Each part, site and served workload is listed once."""
    out: list[Problem] = []
    for key, names in (
        ("parts", [p.part for p in raw.parts]),
        ("sites", [s.name for s in raw.sites]),
        ("serving", [s.workload for s in raw.serving]),
    ):
        for i, name in enumerate(names):
            if name in names[:i]:
                what = "workload" if key == "serving" else key[:-1]
                out.append(
                    _problem(
                        path, f"{key}[{i}]", f"{what} '{name}' repeats.", "list each one once."
                    )
                )
    return out


def _serving_matches_demand(raw: ScenarioFile, path: Path) -> list[Problem]:
    """Every serving entry names a demand workload, and every demand workload is served."""
    out: list[Problem] = []
    demand_names = [w.name for w in raw.demand.workloads]
    served = {s.workload for s in raw.serving}
    for i, s in enumerate(raw.serving):
        if s.workload not in demand_names:
            out.append(
                _problem(
                    path,
                    f"serving[{i}].workload",
                    f"'{s.workload}' is not a workload of demand.workloads.",
                    f"use one of: {', '.join(demand_names)}.",
                )
            )
    for i, name in enumerate(demand_names):
        if name not in served:
            out.append(
                _problem(
                    path,
                    f"demand.workloads[{i}].name",
                    f"workload '{name}' has no serving entry.",
                    f"add '- {{workload: {name}, profile: <workload profile id>}}' to serving.",
                )
            )
    return out


def _installed_sites_known(raw: ScenarioFile, path: Path) -> list[Problem]:
    """Parts installed before the horizon stand at sites of this scenario."""
    out: list[Problem] = []
    sites = [s.name for s in raw.sites]
    for i, part in enumerate(raw.parts):
        for j, base in enumerate(part.installed):
            if base.site not in sites:
                out.append(
                    _problem(
                        path,
                        f"parts[{i}].installed[{j}].site",
                        f"'{base.site}' is not a site of this scenario.",
                        f"use one of: {', '.join(sites)}.",
                    )
                )
    return out


def check_money(raw: ScenarioFile, path: Path) -> list[Problem]:
    """Exchange rates are keyed by three-letter currency codes other than the scenario's own."""
    out: list[Problem] = []
    for code in raw.exchange_rates:
        if len(code) != 3 or not code.isupper():
            out.append(
                _problem(
                    path,
                    f"exchange_rates.{code}",
                    f"'{code}' is not a currency code.",
                    "write a three-letter code such as USD.",
                )
            )
        if code == raw.currency:
            out.append(
                _problem(
                    path,
                    f"exchange_rates.{code}",
                    "the scenario currency needs no exchange rate.",
                    "remove it.",
                )
            )
    return out


def check_sources(raw: ScenarioFile, path: Path) -> list[Problem]:
    """Every cited source is a key of `sources:` or a URL."""
    out: list[Problem] = []

    def walk(node: object, where: str) -> None:
        if isinstance(node, FigureIn | InstalledIn):
            src = node.source
            if src is not None and not (src in raw.sources or src.startswith("http")):
                out.append(
                    _problem(
                        path,
                        f"{where}.source",
                        f"'{src}' is neither a key of 'sources:' nor a URL.",
                        "add it to the file's 'sources:' table or write the URL.",
                    )
                )
            return
        if isinstance(node, BaseModel):
            for name in type(node).model_fields:
                walk(getattr(node, name), f"{where}.{name}" if where else name)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{where}[{i}]")
        elif isinstance(node, dict):
            for key, item in node.items():
                walk(item, f"{where}.{key}")

    walk(raw, "")
    return out


def parse_scenario(data: object, path: Path) -> Scenario:
    """Validate a scenario mapping and project its demand; every problem is reported at once."""
    raw, refused = validate_collecting(ScenarioFile, data, path)
    problems = [
        *refused,
        *check_names(raw, path),
        *check_money(raw, path),
        *check_sources(raw, path),
    ]
    demand: DemandProjection | None = None
    try:
        if not any(p.field.startswith("demand.") for p in refused):  # never project from them
            demand = project_demand(raw.demand, path)
    except InputError as exc:
        problems.extend(exc.problems)
    if problems or demand is None:
        raise InputError(problems)
    return Scenario(raw=raw, path=path, demand=demand)


def find_scenario(ref: str | Path, overlays: Sequence[Path] = ()) -> Path:
    """A scenario file by path, or by name among the shipped and overlay scenarios
    (`cn_maas_2026` finds scenarios/cn_maas_2026.yaml)."""
    path = Path(ref)
    if path.is_file():
        return path
    names: dict[str, Path] = {}
    for folder in search_dirs("scenarios", overlays):
        for found in sorted(folder.glob("*.yaml")):
            names[found.stem] = found
    name = path.name.removesuffix(".yaml")
    if name in names and path.parent == Path("."):
        return names[name]
    known = ", ".join(sorted(names)) or "none"
    raise InputError.one(
        path, "", "scenario file not found.", f"check the path, or name a shipped one: {known}."
    )


def load_scenario(path: Path) -> Scenario:
    """Read, validate and project one scenario file."""
    path = Path(path)
    return parse_scenario(read_yaml(path), path)
