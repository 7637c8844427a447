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
    ConfigDict,
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
from planner.sites.schema import BatteryIn, EnergyPriceIn, LocationIn, SolarIn, province_problem
from planner.yamlio import read_yaml, validate

PeriodLabel = int | str
SLUG_NAME = re.compile(r"^[a-z0-9]+(?:[.-][a-z0-9]+)*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServingIn(_Strict):
    """How one demand workload is served: its workload profile, precision and request size.

    Input tokens per request follow from the demand's output share s:
    input = output x (1 - s) / s, so the serving model sees the same mix as the demand.
    A video workload (profile of kind video, demand `unit: video_s`) uses only `profile` and
    `precision`: its throughput is compute-bound (docs/serving.md, "Video generation").
    """

    workload: str  # name of a workload in `demand.workloads`
    profile: str  # workload profile id, e.g. qwen3-235b-a22b
    precision: str | None = None  # weights; None = the profile's default
    output_tokens_per_request: int = Field(default=500, ge=1)
    # CPU core-seconds one request needs besides its tokens (agents' tool calls, sandboxes,
    # retrieval), served by `cpu_servers` at the site serving its tokens; None = none
    cpu_core_s_per_request: FigureIn | None = None


class InstalledIn(_Strict):
    """Parts already in service before the horizon: where, how many, bought when."""

    site: str
    count: int = Field(ge=0)
    year: int  # year bought (delivered at its start)
    source: str | None = None
    confidence: Literal["datasheet", "press", "estimate"] | None = None
    note: str | None = None


class PartIn(_Strict):
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
    parts_per_server: int | None = Field(default=None, ge=1)  # None: the server's, else 8
    price_per_part: FigureIn | None = None
    price_by_year: dict[PeriodLabel, FigureIn] = {}
    price_decline_fraction_per_year: FigureIn | None = None
    supply_cap_parts: dict[PeriodLabel, FigureIn] = {}
    lead_time_years: FigureIn | None = None
    lifetime_years: FigureIn
    resale_value_fraction: FigureIn | None = None  # None = straight line over the lifetime
    installed: list[InstalledIn] = []


class CpuServerIn(_Strict):
    """A CPU server the plan may buy for workloads' CPU work (`serving[].cpu_core_s_per_request`).

    `price_per_server` (scenario currency) defaults to the server profile's platform price
    converted with `exchange_rates`; `price_decline_fraction_per_year` scales it by
    (1 - d)^(years from the start)."""

    server: str  # a server profile of kind cpu, e.g. yitian-710-server
    price_per_server: FigureIn | None = None
    price_decline_fraction_per_year: FigureIn | None = None
    lead_time_years: FigureIn | None = None
    lifetime_years: FigureIn
    resale_value_fraction: FigureIn | None = None  # None = straight line over the lifetime


class GridOptionIn(_Strict):
    """One connection a site may take (docs/capacity_model.md, eqs. 20-21): `cap` MW from the
    period `available_from` on; the grid may call up to `curtailment_hours_per_year` hours a
    year, during which the site imports at most `curtailed_to` (default 0 MW)."""

    name: str
    cap: FigureIn
    available_from: PeriodLabel
    curtailment_hours_per_year: FigureIn
    curtailed_to: FigureIn | None = None


class RegionalLoadIn(_Strict):
    """The regional grid's own load, whose peaks the curtailment events fall on: a YAML file
    (path relative to the scenario) of mean MW by month and local hour (`RegionalLoadFile`)."""

    file: str


class SiteGridIn(_Strict):
    """Grid connection and tariff. `available_from` gives the MW connected from each period on
    (time to power, ramping); periods before its first entry have none. Empty: `import_cap`
    throughout. With `options` the plan picks one connection (eq. 20); `import_cap` then bounds
    every option and `available_from` must be empty; a curtailable option needs
    `regional_load`."""

    import_cap: FigureIn
    available_from: dict[PeriodLabel, FigureIn] = {}
    energy_price: EnergyPriceIn
    demand_charge_per_mw_month: FigureIn
    emission_t_per_mwh: FigureIn
    options: list[GridOptionIn] = []
    regional_load: RegionalLoadIn | None = None


class SiteIn(_Strict):
    """One site: where, who funds it, how large it is and may grow, its power and its solar."""

    name: str
    country: str
    province: str
    timezone: str  # IANA name, e.g. Asia/Shanghai: the local time of tariffs and solar
    location: LocationIn
    state_funded: bool = False
    domestic_only: bool = False  # the operator runs domestic parts only (e.g. for a subsidy)
    it_existing: FigureIn
    it_max: FigureIn | None = None  # None = no limit
    build_capex_per_mw: FigureIn
    build_lead_time_years: FigureIn
    pue: FigureIn
    grid: SiteGridIn
    solar: SolarIn | None = None
    battery_max_energy: FigureIn | None = None  # None = no limit (when `battery:` is given)

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


class DomesticShareIn(_Strict):
    """Minimum share of installed parts (or of their TPP) made in the buyer's country."""

    basis: Literal["parts", "compute"] = "parts"
    min_fraction: dict[PeriodLabel, Annotated[float, Field(ge=0.0, le=1.0)]] = {}


class BuyerIn(_Strict):
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


class RulesIn(_Strict):
    """Buyer (a country code, or country, headquarters and group), export regime (by date, or
    one fixed snapshot), shares, budgets."""

    buyer: BuyerIn
    regime: str = "auto"  # "auto": the snapshots in force at each period's mid-date
    banned_parts: list[str] = []
    domestic_share: DomesticShareIn = DomesticShareIn()
    budget_per_year: dict[PeriodLabel, FigureIn] = {}
    revenue_share_pass_through_fraction: float = Field(default=1.0, ge=0.0, le=1.0)

    @field_validator("buyer", mode="before")
    @classmethod
    def _buyer(cls, value: object) -> object:
        return {"country": value} if isinstance(value, str) else value


class UncertainIn(_Strict):
    """One uncertain number of the scenario, for Monte Carlo sweeps (docs/sweeps.md).

    `parameter` is a sweep parameter (a knob such as `demand.growth`, or a dotted path to a
    number in this file). Distributions and their fields: uniform (low, high); normal (mean, sd;
    optional low/high truncate by clipping); lognormal (median, sigma: the standard deviation of
    the log); triangular (low, mode, high).
    """

    parameter: str
    distribution: Literal["uniform", "normal", "lognormal", "triangular"]
    low: float | None = None
    high: float | None = None
    mode: float | None = None
    mean: float | None = None
    sd: float | None = Field(default=None, gt=0)
    median: float | None = Field(default=None, gt=0)
    sigma: float | None = Field(default=None, gt=0)
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


class PowerCappingIn(_Strict):
    """Let the plan run busy parts under a power cap (docs/capacity_model.md, eq. 19): the caps
    it may choose, as fractions of each part's TDP (curves: docs/serving.md, S8)."""

    allowed: bool = True
    caps_fraction: list[Annotated[float, Field(ge=0.5, lt=1.0)]] = [0.5, 0.6, 0.7, 0.8, 0.9]


class ScenarioFile(_Strict):
    """The schema of one scenario file (docs/scenarios.md)."""

    name: str
    description: str = ""
    currency: str
    exchange_rates: dict[str, FigureIn] = {}  # scenario currency per unit of the key's currency
    discount_rate_fraction: FigureIn
    carbon_price_per_t: FigureIn
    unserved_penalty_per_mtok: FigureIn
    unserved_penalty_per_video_minute: FigureIn | None = None  # needed with a video workload
    weather_year: int = 2025
    representative_days: int = Field(default=4, ge=1, le=365)
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

    @property
    def name(self) -> str:
        return self.raw.name


def _problem(path: Path, field: str, problem: str, fix: str) -> Problem:
    return Problem(str(path), field, problem, fix)


def _names(items: list[str]) -> set[str]:
    return set(items)


def check_names(raw: ScenarioFile, path: Path) -> list[Problem]:
    """Unique part and site names; serving entries match demand workloads one to one."""
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
    demand_names = [w.name for w in raw.demand.workloads]
    served = _names([s.workload for s in raw.serving])
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
    raw = validate(ScenarioFile, data, path)
    problems = [*check_names(raw, path), *check_money(raw, path), *check_sources(raw, path)]
    demand: DemandProjection | None = None
    try:
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
