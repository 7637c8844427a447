"""Resolve a scenario into the capacity model's arrays (`resolve` -> `ResolvedPlan`).

Resolution (docs/scenarios.md, "From scenario to model"):

- serving: `planner.serving.model.estimate` gives each workload's tokens/s per part (input + output,
  at its latency targets and precision) and the busy watts per part; idle and host power come
  from the part profile;
- rules: `purchase_terms` per part, site (state funded, province) and period mid-date gives the
  allowed purchases, the price uplift, TPP caps and the domestic-chip power subsidy; the subsidy
  cuts the energy price of a site that can only hold domestic parts in that period (a state-funded
  site, or one marked `domestic_only`, with no foreign installed base still in service); where
  the site may hold foreign parts but none of its installed base is foreign, the subsidy is the
  model's choice instead (`subsidy_choice_fraction`, a binary per site and year, eq. 18);
- demand: tokens/s in each representative hour = tokens/day x the hour's diurnal share / 3,600;
- sites: one shared set of representative days (tsam over every site's price and solar series,
  stacked), with weights.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from models.capacity import (
    SECONDS_PER_HOUR,
    CapacityInputs,
)
from planner.catalogue.parts import Catalogue, Part
from planner.catalogue.tpp import total_processing_performance
from planner.demand.projection import DeferrableBatch, Interactive
from planner.errors import InputError, Problem, UnknownName
from planner.plan.scenario import PeriodLabel, Scenario, ScenarioFile, SiteIn
from planner.provenance import FigureIn
from planner.rules import PurchaseTerms, RegimeLibrary, purchase_terms
from planner.serving.efficiency import efficiency_for, load_stacks
from planner.serving.model import ServingRequest, estimate, estimate_video
from planner.serving.workloads import WorkloadLibrary
from planner.sites.site import (
    FieldReader,
    pvlib_capacity_factor,
    read_efficiency,
    read_fraction,
    tou_price_per_mwh,
)
from planner.timeseries import (
    HOURS_PER_DAY,
    HOURS_PER_YEAR,
    representative_axis,
    representative_days,
)

# --------------------------------------------------------------------------- resolved plan


@dataclass(frozen=True)
class PlanAxes:
    """Names along each model axis, in order."""

    workloads: tuple[str, ...]
    parts: tuple[str, ...]
    sites: tuple[str, ...]
    periods: tuple[str, ...]
    hour_of_day: np.ndarray  # (T,) local hour each representative step stands for


@dataclass(frozen=True)
class ResolvedPlan:
    """A scenario as model inputs, with the names and the confidence of what drives the cost."""

    scenario: Scenario
    inputs: CapacityInputs
    axes: PlanAxes
    currency: str
    price_confidence: tuple[str | None, ...]  # (P,) of each part's price
    build_confidence: tuple[str | None, ...]  # (S,) of each site's build cost
    energy_confidence: tuple[str | None, ...]  # (S,) weakest of each site's tariff figures
    power_subsidy_fraction: np.ndarray  # (S, Y) cut applied to the energy price (forced)
    regimes: tuple[str, ...]  # rule ids that decided purchases, for the record
    notes: tuple[str, ...]  # unknowns and simplifications, in words
    profile_files: tuple[Path, ...] = ()  # part, workload and rule files used (run records)


class _Resolver:
    """Collects problems and notes while turning the scenario into arrays."""

    def __init__(self, scenario: Scenario):
        self.scenario, self.raw, self.path = scenario, scenario.raw, scenario.path
        self.reader = FieldReader(scenario.raw, scenario.path)  # type: ignore[arg-type]
        self.notes: list[str] = []
        self.horizon = scenario.demand.horizon

    @property
    def problems(self) -> list[Problem]:
        return self.reader.problems

    def problem(self, field: str, problem: str, fix: str) -> None:
        self.reader.problem(field, problem, fix)

    def number(self, field: str, fig: FigureIn | None, default: float | None = None) -> float:
        value = self.reader.number(field, fig, default)
        return math.nan if value is None else value

    def period(self, label: PeriodLabel, field: str) -> int | None:
        try:
            return self.horizon.index(label if isinstance(label, str) else str(label))
        except KeyError:
            self.problem(
                field,
                f"period {label!r} is not in the horizon "
                f"{self.horizon.labels[0]}..{self.horizon.labels[-1]}.",
                "use a period of demand.horizon.",
            )
            return None

    def by_period(
        self, table: dict[PeriodLabel, FigureIn], field: str, default: float
    ) -> np.ndarray:
        """One value per period from a {period: figure} table; unlisted periods get `default`."""
        out = np.full(len(self.horizon.labels), default)
        for label, fig in table.items():
            y = self.period(label, f"{field}.{label}")
            if y is not None:
                out[y] = self.number(f"{field}.{label}", fig, default)
        return out

    def step_by_period(self, table: dict[PeriodLabel, Any], field: str) -> np.ndarray:
        """A step function: each listed period's value holds until the next listed one."""
        out = np.zeros(len(self.horizon.labels))
        for label in sorted(table, key=lambda k: self._start(k)):
            y = self.period(label, f"{field}.{label}")
            if y is not None:
                value = table[label]
                out[y:] = (
                    self.number(f"{field}.{label}", value)
                    if isinstance(value, FigureIn)
                    else float(value)
                )
        return out

    def _start(self, label: PeriodLabel) -> float:
        try:
            return float(self.horizon.start_years[self.horizon.index(str(label))])
        except KeyError:
            return math.inf


def _video_penalty(r: _Resolver, raw: ScenarioFile) -> float:
    """Price of a minute of video not generated; required when a workload counts video."""
    if not r.scenario.demand.is_video.any():
        return 0.0
    if raw.unserved_penalty_per_video_minute is None:
        r.problem(
            "unserved_penalty_per_video_minute",
            "missing: a video workload needs the price of a minute of video not generated.",
            "add unserved_penalty_per_video_minute: {value: ..., source: ..., confidence: ...}.",
        )
        return math.nan
    return r.number("unserved_penalty_per_video_minute", raw.unserved_penalty_per_video_minute)


def _years(r: _Resolver) -> tuple[np.ndarray, np.ndarray]:
    """(Y,) period starts in years from the horizon start, and (Y,) period durations."""
    starts = np.asarray(r.horizon.start_years, dtype=float)
    step = 1.0 if r.horizon.step == "year" else 0.25
    tau = starts - starts[0]
    return tau, np.append(np.diff(starts), step)


def _mid_dates(r: _Resolver, duration: np.ndarray) -> list[dt.date]:
    """Mid-date of each period, when the rules in force are read."""
    out = []
    for start, span in zip(r.horizon.start_years, duration, strict=True):
        mid = float(start) + float(span) / 2
        year = int(mid)
        out.append(dt.date(year, 1, 1) + dt.timedelta(days=round((mid - year) * 365)))
    return out


def _rate(r: _Resolver, currency: str | None, field: str) -> float:
    """Scenario currency per unit of `currency` (exchange rates are scenario data)."""
    if currency is None or currency == r.raw.currency:
        return 1.0
    fig = r.raw.exchange_rates.get(currency)
    if fig is None:
        r.problem(
            field,
            f"the price is in {currency} and the scenario in {r.raw.currency}, with no rate.",
            f"add exchange_rates.{currency} ({r.raw.currency} per {currency}) with its source.",
        )
        return math.nan
    return r.number(f"exchange_rates.{currency}", fig)


# --------------------------------------------------------------------------- parts


@dataclass(frozen=True)
class _Parts:
    parts: list[Part]
    price_per_part: np.ndarray  # (P, Y)
    confidence: list[str | None]
    per_server: np.ndarray
    lead: np.ndarray
    life: np.ndarray
    supply: np.ndarray  # (P, Y)
    resale: list[float | None]


def _part_price(r: _Resolver, i: int, part: Part, tau: np.ndarray) -> tuple[np.ndarray, str | None]:
    """(Y,) price per part in the scenario currency, and the confidence of the base price."""
    spec = r.raw.parts[i]
    at = f"parts[{i}]"
    if spec.price_per_part is not None:
        base = r.number(f"{at}.price_per_part", spec.price_per_part)
        conf = spec.price_per_part.confidence
    elif part.unit_price is not None:
        base = part.unit_price * _rate(r, part.price_currency, f"{at}.price_per_part")
        prov = part.provenance.get("unit_price")
        conf = prov.confidence if prov else None
    else:  # checked once the rules say whether the part can be bought at all
        return np.full(tau.shape, math.nan), None
    decline = r.number(
        f"{at}.price_decline_fraction_per_year", spec.price_decline_fraction_per_year, 0.0
    )
    price = base * (1.0 - decline) ** tau
    for label, fig in spec.price_by_year.items():
        y = r.period(label, f"{at}.price_by_year.{label}")
        if y is not None:
            price[y] = r.number(f"{at}.price_by_year.{label}", fig)
            conf = "estimate" if fig.confidence == "estimate" else conf
    return price, conf


def _parts(r: _Resolver, catalogue: Catalogue, tau: np.ndarray) -> _Parts:
    parts, prices, conf, per_server, lead, life, supply, resale = [], [], [], [], [], [], [], []
    for i, spec in enumerate(r.raw.parts):
        at = f"parts[{i}]"
        if spec.part not in catalogue.parts:
            from difflib import get_close_matches

            close = get_close_matches(spec.part, list(catalogue.parts), n=1)
            r.problem(
                f"{at}.part",
                f"'{spec.part}' is not in the hardware catalogue.",
                f"did you mean '{close[0]}'?" if close else "see `planner hardware list`.",
            )
            continue
        part = catalogue.parts[spec.part]
        price, c = _part_price(r, i, part, tau)
        parts.append(part)
        prices.append(price)
        conf.append(c)
        per_server.append(spec.parts_per_server)
        lead.append(r.number(f"{at}.lead_time_years", spec.lead_time_years, 0.0))
        life_years = r.number(f"{at}.lifetime_years", spec.lifetime_years)
        if not life_years > 0:
            r.problem(f"{at}.lifetime_years.value", "a lifetime must be > 0.", "write years > 0.")
        life.append(life_years)
        supply.append(r.by_period(spec.supply_cap_parts, f"{at}.supply_cap_parts", math.inf))
        resale.append(
            None
            if spec.resale_value_fraction is None
            else r.number(f"{at}.resale_value_fraction", spec.resale_value_fraction)
        )
    return _Parts(
        parts=parts,
        price_per_part=np.array(prices).reshape(len(parts), tau.shape[0]),
        confidence=conf,
        per_server=np.array(per_server, dtype=int),
        lead=np.array(lead, dtype=float),
        life=np.array(life, dtype=float),
        supply=np.array(supply).reshape(len(parts), tau.shape[0]),
        resale=resale,
    )


def _check_prices(r: _Resolver, x: _Parts, rules: _Rules) -> None:
    """A part with no price is fine only if it can never be bought (installed base only)."""
    for p, part in enumerate(x.parts):
        missing = np.isnan(x.price_per_part[p])
        if missing.any() and rules.allowed[p][:, missing].any():
            i = [q.part for q in r.raw.parts].index(part.id)
            r.problem(
                f"parts[{i}].price_per_part",
                f"'{part.id}' may be bought but has no price (its profile has none).",
                "give price_per_part with its source and confidence.",
            )
        x.price_per_part[p, missing] = 0.0


def _resale(x: _Parts, tau: np.ndarray, duration: np.ndarray) -> np.ndarray | None:
    """(P, Y) resale fractions: given ones constant, the rest straight line (as the model's)."""
    if all(v is None for v in x.resale):
        return None
    end = float(tau[-1] + duration[-1])
    straight = np.clip(
        (tau[None, :] + (x.lead + x.life)[:, None] - end) / x.life[:, None], 0.0, 1.0
    )
    for p, value in enumerate(x.resale):
        if value is not None:
            straight[p] = value
    return straight


# --------------------------------------------------------------------------- serving


def _serving(
    r: _Resolver, parts: list[Part], library: WorkloadLibrary, overlays: Sequence[Path]
) -> tuple[np.ndarray, np.ndarray]:
    """(W, P) tokens/s per busy part (input + output) and (P,) busy watts per part (no host)."""
    demand = r.scenario.demand
    stacks = load_stacks(overlays)
    by_name = {s.workload: (i, s) for i, s in enumerate(r.raw.serving)}
    rate = np.zeros((len(demand.workload_names), len(parts)))
    busy_w = np.zeros((len(demand.workload_names), len(parts)))
    for w, name in enumerate(demand.workload_names):
        i, spec = by_name[name]
        at = f"serving[{i}]"
        try:
            workload = library[spec.profile]
        except UnknownName as exc:  # carries the did-you-mean
            r.problem(f"{at}.profile", str(exc), "use an id from `planner workload list`.")
            continue
        video = bool(demand.is_video[w])
        if (workload.kind == "video") != video:
            unit = "video_s" if workload.kind == "video" else "tokens"
            r.problem(
                f"{at}.profile",
                f"'{spec.profile}' is a {workload.kind} workload but demand '{name}' counts "
                f"{demand.units[w]}.",
                f"set unit: {unit} on demand workload '{name}', or serve it with "
                f"{'an LLM' if video else 'a video'} profile.",
            )
            continue
        if video:
            _video_serving(r, (w, at), name, spec.precision, workload, parts, stacks, rate, busy_w)
            continue
        share = float(demand.output_share_fraction[w])
        out_tokens = spec.output_tokens_per_request
        in_tokens = max(1, round(out_tokens * (1.0 - share) / max(share, 1e-9)))
        latency = demand.latency[w]
        request = ServingRequest(
            input_tokens=in_tokens,
            output_tokens=out_tokens,
            ttft_s=latency.ttft_ms / 1e3 if isinstance(latency, Interactive) else None,
            tpot_s=latency.tpot_ms / 1e3 if isinstance(latency, Interactive) else None,
            precision=spec.precision,
        )
        _fill_serving_row(
            r, (w, at, name), parts, partial(_token_rate, workload, request, stacks), rate, busy_w,
            f"no candidate part can serve '{name}' at its latency targets.",
            "relax demand latency targets, lower the precision, or add a part.",
        )  # fmt: skip
    return rate, busy_w.max(axis=0)


def _token_rate(
    workload: Any, request: ServingRequest, stacks: Any, part: Part
) -> tuple[float, float]:
    """(tokens/s per busy part, input + output; watts per part with its host share)."""
    est = estimate(part, workload, request, efficiency_for(part, stacks))
    return est.total_tokens_per_s_per_part, est.watts_per_part


def _video_rate(
    workload: Any, precision: str | None, stacks: Any, part: Part
) -> tuple[float, float]:
    """(video seconds per second per busy part; watts per part with its host share)."""
    est = estimate_video(part, workload, efficiency_for(part, stacks), precision)
    return est.video_s_per_s_per_part, est.watts_per_part


def _fill_serving_row(
    r: _Resolver,
    row: tuple[int, str, str],
    parts: list[Part],
    serve: Callable[[Part], tuple[float, float]],
    rate: np.ndarray,
    busy_w: np.ndarray,
    problem: str,
    fix: str,
) -> None:
    """Fill row w of `rate` and `busy_w` from `serve(part)` -> (units/s per busy part, watts
    per part with its host share); a part that cannot serve is a note, no part at all a problem.
    `row` is (w, the serving entry's field path, the workload's name)."""
    w, at, name = row
    for p, part in enumerate(parts):
        try:
            rate[w, p], watts = serve(part)
        except InputError as exc:
            r.notes.append(f"{part.id} cannot serve {name}: {exc.problems[0].problem}")
            continue
        busy_w[w, p] = watts - (part.server_overhead_w or 0.0)
    if not rate[w].any():
        r.problem(f"{at}.profile", problem, fix)


def _video_serving(
    r: _Resolver,
    row: tuple[int, str],
    name: str,
    precision: str | None,
    workload: Any,
    parts: list[Part],
    stacks: Any,
    rate: np.ndarray,
    busy_w: np.ndarray,
) -> None:
    """Fill row w with video seconds per second per part and busy watts (serving (V1, V2));
    `row` is (w, the serving entry's field path)."""
    w, at = row
    if isinstance(r.scenario.demand.latency[w], Interactive):
        r.notes.append(
            f"{name}: video is served in the hour it is asked for; its TTFT/TPOT targets do not "
            "apply to video generation and are ignored."
        )
    _fill_serving_row(
        r, (w, at, name), parts, partial(_video_rate, workload, precision, stacks), rate, busy_w,
        f"no candidate part can generate '{name}' video.",
        "add a part with a dense peak at the serving precision and a known stack efficiency.",
    )  # fmt: skip


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class _Rules:
    allowed: np.ndarray  # (P, S, Y)
    uplift: np.ndarray  # (P, Y)
    subsidy_by_part: np.ndarray  # (P, S, Y) power subsidy a site would get for this part
    tpp_cap: np.ndarray  # (Y,)
    rule_ids: tuple[str, ...]


def _rules(
    r: _Resolver,
    parts: list[Part],
    dates: list[dt.date],
    library: RegimeLibrary,
    regime: str | None,
) -> _Rules:
    rules = r.raw.rules
    n_p, n_s, n_y = len(parts), len(r.raw.sites), len(dates)
    allowed = np.zeros((n_p, n_s, n_y), dtype=bool)
    uplift = np.zeros((n_p, n_y))
    subsidy = np.zeros((n_p, n_s, n_y))
    tpp_cap = np.full(n_y, math.inf)
    ids: set[str] = set()
    fixed = None if regime in (None, "auto") else regime
    cache: dict[tuple[str, bool, str, int], PurchaseTerms] = {}
    for p, part in enumerate(parts):
        for s, site in enumerate(r.raw.sites):
            for y, date in enumerate(dates):
                key = (part.id, site.state_funded, site.province, y)
                if key not in cache:
                    cache[key] = purchase_terms(
                        part,
                        rules.buyer,
                        date,
                        state_funded_site=site.state_funded,
                        library=library,
                        regime=fixed,
                        site_region=site.province,
                        revenue_share_pass_through=rules.revenue_share_pass_through_fraction,
                    )
                terms = cache[key]
                domestic = part.domestic_for(rules.buyer)
                allowed[p, s, y] = (
                    terms.allowed
                    and part.id not in rules.banned_parts
                    and (domestic or not site.domestic_only)
                )
                uplift[p, y] = max(uplift[p, y], terms.price_uplift_fraction)
                subsidy[p, s, y] = terms.power_subsidy_fraction if domestic else 0.0
                ids.update(terms.rules)
                for cap in terms.caps:
                    if cap.kind == "country_allocation_tpp" and cap.value is not None:
                        tpp_cap[y] = min(tpp_cap[y], cap.value)
    for i, name in enumerate(rules.banned_parts):
        if name not in {p.id for p in parts}:
            r.problem(
                f"rules.banned_parts[{i}]",
                f"'{name}' is not a candidate part.",
                "name a part listed under parts.",
            )
    return _Rules(allowed, uplift, subsidy, tpp_cap, tuple(sorted(ids)))


# --------------------------------------------------------------------------- sites


@dataclass(frozen=True)
class _Sites:
    price_per_mwh: np.ndarray  # (S, 8760) before subsidies
    solar_cf: np.ndarray  # (S, 8760)
    values: dict[str, np.ndarray]  # per-site scalars and (S, Y) arrays
    energy_conf: list[str | None]
    build_conf: list[str | None]


_RANK = {"datasheet": 0, "measured": 0, "press": 1, "estimate": 2}


def _weakest(confidences: Sequence[str | None]) -> str | None:
    known = [c for c in confidences if c is not None]
    return max(known, key=lambda c: _RANK.get(c, 2)) if known else None


def _one_site(r: _Resolver, i: int, site: SiteIn) -> dict[str, Any]:
    """Read one site with a reader of its own, its problem fields prefixed `sites[i].`."""
    sub = FieldReader(r.raw, r.path)  # type: ignore[arg-type]
    g = site.grid
    raw_ns = SimpleNamespace(
        location=site.location, timezone=site.timezone, year=r.raw.weather_year
    )
    if g.energy_price.csv is not None:
        price = sub.csv("grid.energy_price.csv", g.energy_price.csv)
    else:
        price = tou_price_per_mwh(sub, g.energy_price.tou, r.raw.weather_year)  # type: ignore[arg-type]
    cap = sub.quantity("grid.import_cap", g.import_cap, "power")
    out: dict[str, Any] = {
        "price": price,
        "import_cap": cap,
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
        "pue": sub.number("pue", site.pue, low=1.0, high=5.0, what="a PUE in [1, 5]"),
        "solar_cf": np.zeros(HOURS_PER_YEAR),
        "solar_capex": 0.0,
        "solar_max": 0.0,
        "battery_max": sub.quantity(
            "battery_max_energy", site.battery_max_energy, "energy", math.inf
        ),
    }
    if site.solar is not None:
        if site.solar.csv is not None:
            cf = sub.csv("solar.csv", site.solar.csv)
        else:
            cf = pvlib_capacity_factor(sub, raw_ns, site.solar.pvlib)  # type: ignore[arg-type]
        out["solar_cf"] = cf
        out["solar_capex"] = sub.number("solar.capex_per_mw", site.solar.capex_per_mw)
        out["solar_max"] = sub.quantity(
            "solar.max_capacity", site.solar.max_capacity, "power", math.inf
        )
        sub.number("solar.lifetime_years", site.solar.lifetime_years)
    at = f"sites[{i}]."
    for prob in sub.problems:
        r.problems.append(replace(prob, field=at + prob.field))
    r.notes.extend(f"{site.name}: {u}" for u in sub.unknowns)
    tariff = [p.confidence for k, p in sub.provenance.items() if k.startswith("grid.energy_price")]
    out["energy_conf"] = _weakest(tariff)
    build = sub.provenance.get("build_capex_per_mw")
    out["build_conf"] = build.confidence if build else None
    return out


def _sites(r: _Resolver) -> _Sites:
    per = [_one_site(r, i, s) for i, s in enumerate(r.raw.sites)]
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

    return _Sites(
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


def _battery(r: _Resolver) -> dict[str, float]:
    """Battery technology and cost shared by every site; no battery at all when absent."""
    b = r.raw.battery
    rd = r.reader
    if b is None:
        return {"capex_per_mwh": 0.0, "capex_per_mw": 0.0, "max_mwh": 0.0}
    rd.number("battery.lifetime_years", b.lifetime_years)
    out = {
        "capex_per_mwh": rd.number("battery.capex_per_mwh", b.capex_per_mwh),
        "capex_per_mw": rd.number("battery.capex_per_mw", b.capex_per_mw),
        "charge_efficiency_fraction": read_efficiency(
            rd, "battery.charge_efficiency_fraction", b.charge_efficiency_fraction
        ),
        "discharge_efficiency_fraction": read_efficiency(
            rd, "battery.discharge_efficiency_fraction", b.discharge_efficiency_fraction
        ),
        "soc_min_fraction": read_fraction(rd, "battery.soc_min_fraction", b.soc_min_fraction, 0.0),
        "soc_max_fraction": read_fraction(rd, "battery.soc_max_fraction", b.soc_max_fraction, 1.0),
        "min_duration_h": rd.quantity("battery.min_duration", b.min_duration, "time_s", 0.0),
        "max_duration_h": rd.quantity("battery.max_duration", b.max_duration, "time_s", math.inf),
        "max_mwh": rd.quantity("battery.max_energy", b.max_energy, "energy", math.inf),
    }
    for name in ("fixed_om_per_mwh_year", "fixed_om_per_mw_year", "annual_cycle_limit"):
        if getattr(b, name) is not None:
            r.notes.append(f"battery.{name} is not modelled by the capacity plan (ignored).")
    return {k: (math.nan if v is None else v) for k, v in out.items()}


# --------------------------------------------------------------------------- assembly


def _installed_base(
    r: _Resolver, parts: list[Part], start_year: float
) -> tuple[np.ndarray, np.ndarray]:
    """(P, S, V) installed parts by vintage and (V,) vintage delivery, years from the start."""
    site_index = {s.name: i for i, s in enumerate(r.raw.sites)}
    entries = [
        (p, site_index[b.site], b.year, b.count, f"parts[{p}].installed[{j}]")
        for p, spec in enumerate(r.raw.parts[: len(parts)])
        for j, b in enumerate(spec.installed)
        if b.site in site_index
    ]
    years = sorted({e[2] for e in entries}) or [int(start_year) - 1]
    base = np.zeros((len(parts), len(r.raw.sites), len(years)))
    for p, s, year, count, at in entries:
        if year > start_year:
            r.problem(
                f"{at}.year",
                f"{year} is after the horizon start {start_year:g}.",
                "list parts installed before the horizon; buy later ones in the plan.",
            )
            continue
        base[p, s, years.index(year)] += count
    return base, np.array(years, dtype=float) - start_year


def _time_axis(r: _Resolver, sites: _Sites) -> tuple[Any, dict[str, np.ndarray]]:
    """One set of representative days for every site and year: tsam over the stacked series."""
    series: dict[str, np.ndarray] = {}
    for s, site in enumerate(r.raw.sites):
        series[f"{site.name}:price_per_mwh"] = sites.price_per_mwh[s]
        series[f"{site.name}:solar_capacity_factor"] = sites.solar_cf[s]
    rep = representative_days(series, r.raw.representative_days)
    return representative_axis(rep), rep.series


def _foreign_in_service(
    rules: _Rules, domestic: np.ndarray, purchase_alive: np.ndarray
) -> np.ndarray:
    """(S, Y) True where a foreign part bought in the plan could be in service at s in y: it is
    allowed at s in some period y' whose purchases are delivered and not retired in y."""
    foreign = rules.allowed & ~domestic[:, None, None]  # (P, S, Y')
    return np.einsum("psb,pby->sy", foreign.astype(float), purchase_alive) > 0


def _subsidy(
    rules: _Rules, domestic: np.ndarray, base_alive: np.ndarray, purchase_alive: np.ndarray
) -> np.ndarray:
    """(S, Y) power subsidy of sites that can hold only domestic parts in y: no foreign part
    bought in the plan can be in service there in y and no foreign base is (price cut, linear)."""
    foreign_bought = _foreign_in_service(rules, domestic, purchase_alive)
    foreign_base = (base_alive * ~domestic[:, None, None]).sum(axis=0) > 0
    best = rules.subsidy_by_part.max(axis=0)
    return np.where(foreign_bought | foreign_base, 0.0, best)


def _subsidy_choice(
    rules: _Rules, domestic: np.ndarray, base_alive: np.ndarray, forced: np.ndarray
) -> np.ndarray:
    """(S, Y) subsidy a site may earn by choosing to run domestic parts only in y (eq. 18).

    Offered where the rules would grant it to a domestic-only site (its province, its domestic
    parts), the price is not already cut (`_subsidy`: foreign parts may be in service there) and
    no foreign part of the installed base is in service in y: such a base forces d = 0 (it
    cannot be retired early), so there is no choice to make."""
    foreign_base = (base_alive * ~domestic[:, None, None]).sum(axis=0) > 0
    best = rules.subsidy_by_part.max(axis=0)
    return np.where((forced > 0) | foreign_base, 0.0, best)


def _purchase_alive(parts: _Parts, tau: np.ndarray) -> np.ndarray:
    """(P, Y', Y) 1 where a part bought in y' is delivered and not retired in y (model eq. 3)."""
    age = tau[None, :] - tau[:, None]  # (Y', Y)
    lead, life = parts.lead[:, None, None], parts.life[:, None, None]
    return ((age[None] >= lead - 1e-9) & (age[None] < lead + life - 1e-9)).astype(float)


def _base_alive(
    base: np.ndarray, vintages: np.ndarray, life: np.ndarray, tau: np.ndarray
) -> np.ndarray:
    """(P, S, Y) installed base still within its lifetime."""
    age = tau[None, :] - vintages[:, None]
    alive = age[None] < life[:, None, None] - 1e-9
    return np.einsum("psv,pvy->psy", base, alive.astype(float))


def check_domestic_share(
    r: _Resolver, domestic: np.ndarray, base_alive: np.ndarray, share: np.ndarray
) -> None:
    """A 100 % domestic share cannot hold while foreign installed parts are still in service."""
    foreign = (base_alive * ~domestic[:, None, None]).sum(axis=(0, 1))
    for y, label in enumerate(r.horizon.labels):
        if share[y] >= 1.0 - 1e-12 and foreign[y] > 0:
            r.problem(
                "rules.domestic_share.min_fraction",
                f"a 100% domestic share in {label} is impossible: {foreign[y]:g} foreign parts of "
                "the installed base are still in service.",
                "lower the share for that period, or shorten those parts' lifetime_years.",
            )
            return


def resolve(
    scenario: Scenario,
    *,
    overlays: Sequence[Path] = (),
    regime: str | None = None,
    relax: bool = False,
) -> ResolvedPlan:
    """Turn a validated scenario into `CapacityInputs`; every problem is reported at once."""
    r = _Resolver(scenario)
    raw: ScenarioFile = scenario.raw
    demand = scenario.demand
    catalogue = Catalogue.load(overlays)
    library = WorkloadLibrary.load(overlays)
    regimes = RegimeLibrary.load(overlays)
    tau, duration = _years(r)
    dates = _mid_dates(r, duration)
    rate = r.number("discount_rate_fraction", raw.discount_rate_fraction)
    carbon = r.number("carbon_price_per_t", raw.carbon_price_per_t)
    penalty = r.number("unserved_penalty_per_mtok", raw.unserved_penalty_per_mtok)
    video_penalty = _video_penalty(r, raw)
    parts = _parts(r, catalogue, tau)
    rate_wp, busy_w = _serving(r, parts.parts, library, overlays) if parts.parts else (None, None)
    rules = _rules(r, parts.parts, dates, regimes, regime or raw.rules.regime)
    _check_prices(r, parts, rules)
    sites = _sites(r)
    battery = _battery(r)
    start_year = float(demand.horizon.start_years[0])
    base, vintages = _installed_base(r, parts.parts, start_year)
    budget = r.by_period(raw.rules.budget_per_year, "rules.budget_per_year", math.inf)
    share = r.step_by_period(
        raw.rules.domestic_share.min_fraction, "rules.domestic_share.min_fraction"
    )
    domestic = np.array([p.domestic_for(raw.rules.buyer) for p in parts.parts], dtype=bool)
    alive = _base_alive(base, vintages, parts.life, tau) if parts.parts else base
    check_domestic_share(r, domestic, alive, share)
    if r.problems or rate_wp is None:
        raise InputError(r.problems)
    axis, rep = _time_axis(r, sites)
    hour = axis.hour_of_year % HOURS_PER_DAY
    subsidy = _subsidy(rules, domestic, alive, _purchase_alive(parts, tau))
    choice = _subsidy_choice(rules, domestic, alive, subsidy)
    price = np.array([rep[f"{s.name}:price_per_mwh"] for s in raw.sites])  # (S, T)
    solar = np.array([rep[f"{s.name}:solar_capacity_factor"] for s in raw.sites])
    n_s, n_y, n_t = len(raw.sites), tau.shape[0], axis.weight_h.shape[0]
    v = sites.values
    share_h = demand.hourly_share_fraction[:, hour]  # (W, T)
    inputs = CapacityInputs(
        year_start_years=tau,
        duration_years=duration,
        discount_fraction=(1.0 + rate) ** -tau,
        horizon_end_discount_fraction=float((1.0 + rate) ** -(tau[-1] + duration[-1])),
        weight_h=axis.weight_h,
        prev_step=axis.prev_step,
        day=axis.day,
        billing_period=axis.billing_period,
        billing_period_months=axis.billing_period_months,
        parts_per_server=parts.per_server,
        price_per_part=parts.price_per_part,
        price_uplift_fraction=rules.uplift,
        idle_w=np.array([p.idle_w or 0.0 for p in parts.parts]),
        active_w=np.maximum(busy_w, [p.idle_w or 0.0 for p in parts.parts]),
        server_overhead_w=np.array([p.server_overhead_w or 0.0 for p in parts.parts]),
        lead_time_years=parts.lead,
        lifetime_years=parts.life,
        tpp_per_part=np.array(
            [total_processing_performance(p).tpp or 0.0 for p in parts.parts], dtype=float
        ),
        domestic=domestic,
        supply_cap_parts=parts.supply,
        resale_value_fraction=_resale(parts, tau, duration),
        base_parts=base,
        base_start_years=vintages,
        tokens_per_s_per_part=rate_wp,
        demand_tokens_per_s=demand.per_day[:, :, None] * share_h[:, None, :] / SECONDS_PER_HOUR,
        deferrable=np.array([isinstance(lat, DeferrableBatch) for lat in demand.latency]),
        unserved_penalty_per_mtok=penalty,
        video=demand.is_video,
        unserved_penalty_per_video_minute=video_penalty,
        allowed=rules.allowed,
        dc_existing_mw=v["it_existing"],
        dc_max_mw=v["it_max"],
        dc_build_lead_years=v["build_lead"],
        dc_capex_per_mw=np.repeat(v["build_capex"][:, None], n_y, axis=1),
        pue=np.repeat(v["pue"][:, None], n_t, axis=1),
        grid_import_cap_mw=v["grid"],
        price_per_mwh=price[:, None, :] * (1.0 - subsidy)[:, :, None],
        demand_charge_per_mw_month=np.repeat(v["demand_charge"][:, None], n_y, axis=1),
        emission_t_per_mwh=np.repeat(v["emission"][:, None], n_t, axis=1),
        carbon_price_per_t=np.full(n_y, carbon),
        solar_capacity_factor=solar,
        solar_capex_per_mw=np.repeat(v["solar_capex"][:, None], n_y, axis=1),
        solar_max_mw=v["solar_max"],
        battery_capex_per_mwh=np.full((n_s, n_y), battery["capex_per_mwh"]),
        battery_capex_per_mw=np.full((n_s, n_y), battery["capex_per_mw"]),
        battery_max_mwh=np.minimum(v["battery_max"], battery["max_mwh"]),
        charge_efficiency_fraction=battery.get("charge_efficiency_fraction", 0.95),
        discharge_efficiency_fraction=battery.get("discharge_efficiency_fraction", 0.95),
        soc_min_fraction=battery.get("soc_min_fraction", 0.0),
        soc_max_fraction=battery.get("soc_max_fraction", 1.0),
        min_duration_h=battery.get("min_duration_h", 0.0),
        max_duration_h=battery.get("max_duration_h", math.inf),
        cap_group_sites=np.array([[s.country == raw.rules.buyer for s in raw.sites]]),
        tpp_cap=rules.tpp_cap[None, :],
        budget=budget,
        domestic_share_min_fraction=share,
        domestic_share_basis=raw.rules.domestic_share.basis,
        subsidy_choice_fraction=choice if np.any(choice > 0) else None,
        relax=relax,
    )
    return ResolvedPlan(
        scenario=scenario,
        inputs=inputs,
        axes=PlanAxes(
            workloads=demand.workload_names,
            parts=tuple(p.id for p in parts.parts),
            sites=tuple(s.name for s in raw.sites),
            periods=demand.horizon.labels,
            hour_of_day=hour,
        ),
        currency=raw.currency,
        price_confidence=tuple(parts.confidence),
        build_confidence=tuple(sites.build_conf),
        energy_confidence=tuple(sites.energy_conf),
        power_subsidy_fraction=subsidy,
        regimes=rules.rule_ids,
        notes=tuple(r.notes),
        profile_files=_profile_files(parts.parts, demand.workload_names, library, regimes, rules),
    )


def _profile_files(
    parts: Sequence[Part],
    workloads: Sequence[str],
    library: WorkloadLibrary,
    regimes: RegimeLibrary,
    rules: _Rules,
) -> tuple[Path, ...]:
    """The profile and rule files a plan rests on, so a run records their content hashes."""
    files = [p.path for p in parts]
    files += [library.workloads[w].path for w in workloads if w in library.workloads]
    snapshots = {rule.split("/", 1)[0] for rule in rules.rule_ids}
    files += [regimes.regimes[i].path for i in sorted(snapshots) if i in regimes.regimes]
    return tuple(dict.fromkeys(files))
