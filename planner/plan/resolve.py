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

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.capacity import (
    SECONDS_PER_HOUR,
    CapacityInputs,
)
from planner.catalogue.parts import Part
from planner.catalogue.tpp import total_processing_performance
from planner.demand.projection import DeferrableBatch, DemandProjection, LatencyClass
from planner.errors import InputError
from planner.plan.libraries import Libraries
from planner.plan.resolve_flex import (
    FlexTable,
    grid_option_fields,
    power_cap_fields,
    read_regional_loads,
)
from planner.plan.resolve_parts import (
    PartsTable,
    check_prices,
    resale_fractions,
    serving_rates,
)
from planner.plan.resolve_rules import RulesTable, read_rules
from planner.plan.resolve_servers import read_servers
from planner.plan.resolve_sites import SitesTable, read_battery, read_sites, time_axis
from planner.plan.resolver import (
    Resolver,
    mid_dates,
    plan_years,
    read_video_penalty,
)
from planner.plan.scenario import Scenario, ScenarioFile
from planner.plan.server_bills import ServerBills
from planner.rules import RegimeLibrary
from planner.serving.power_cap import power_caps_file
from planner.sites.reader import BatteryFigures
from planner.timeseries import HOURS_PER_DAY, TimeAxis, weekday_and_weekend

# --------------------------------------------------------------------------- resolved plan


@dataclass(frozen=True)
class PlanAxes:
    """Names along each model axis, in order."""

    workloads: tuple[str, ...]
    parts: tuple[str, ...]
    sites: tuple[str, ...]
    periods: tuple[str, ...]
    hour_of_day: np.ndarray  # (T,) local hour each representative step stands for
    part_kinds: tuple[str, ...] = ()  # (P,) gpu, npu (or cpu) of each part
    servers: ServerBills | None = None  # each part's server bill and the CPU servers (issue 15)


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
    profile_files: tuple[Path, ...] = ()  # part, workload, rule and demand files (run records)
    flex: FlexTable | None = None  # grid option names and power-cap curve basis (eqs. 19-21)

    @property
    def servers(self) -> ServerBills | None:
        """What each purchase unit holds (host CPUs, CPU servers); None without server bills."""
        return self.axes.servers


# --------------------------------------------------------------------------- parts


# --------------------------------------------------------------------------- serving


# --------------------------------------------------------------------------- rules


# --------------------------------------------------------------------------- sites


# --------------------------------------------------------------------------- assembly


def _installed_base(
    r: Resolver, parts: list[Part], start_year: float
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


def _foreign_in_service(
    rules: RulesTable, domestic: np.ndarray, purchase_alive: np.ndarray
) -> np.ndarray:
    """(S, Y) True where a foreign part bought in the plan could be in service at s in y: it is
    allowed at s in some period y' whose purchases are delivered and not retired in y."""
    foreign = rules.allowed & ~domestic[:, None, None]  # (P, S, Y')
    return np.einsum("psb,pby->sy", foreign.astype(float), purchase_alive) > 0


def _subsidies(
    rules: RulesTable, domestic: np.ndarray, alive: np.ndarray, purchase_alive: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The power subsidy per site and period, and where a site may choose it (domestic only)."""
    subsidy = _subsidy(rules, domestic, alive, purchase_alive)
    return subsidy, _subsidy_choice(rules, domestic, alive, subsidy)


def _subsidy(
    rules: RulesTable, domestic: np.ndarray, base_alive: np.ndarray, purchase_alive: np.ndarray
) -> np.ndarray:
    """(S, Y) power subsidy of sites that can hold only domestic parts in y: no foreign part
    bought in the plan can be in service there in y and no foreign base is (price cut, linear)."""
    foreign_bought = _foreign_in_service(rules, domestic, purchase_alive)
    foreign_base = (base_alive * ~domestic[:, None, None]).sum(axis=0) > 0
    best = rules.subsidy_by_part.max(axis=0)
    return np.where(foreign_bought | foreign_base, 0.0, best)


def _subsidy_choice(
    rules: RulesTable, domestic: np.ndarray, base_alive: np.ndarray, forced: np.ndarray
) -> np.ndarray:
    """(S, Y) subsidy a site may earn by choosing to run domestic parts only in y (eq. 18).

    Offered where the rules would grant it to a domestic-only site (its province, its domestic
    parts), the price is not already cut (`_subsidy`: foreign parts may be in service there) and
    no foreign part of the installed base is in service in y: such a base forces d = 0 (it
    cannot be retired early), so there is no choice to make."""
    foreign_base = (base_alive * ~domestic[:, None, None]).sum(axis=0) > 0
    best = rules.subsidy_by_part.max(axis=0)
    return np.where((forced > 0) | foreign_base, 0.0, best)


def _purchase_alive(parts: PartsTable, tau: np.ndarray) -> np.ndarray:
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
    r: Resolver, domestic: np.ndarray, base_alive: np.ndarray, share: np.ndarray
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


def deadline_h(latency: LatencyClass) -> float:
    """Hours a deferrable workload may wait (inf: anywhere within its day, or interactive)."""
    if isinstance(latency, DeferrableBatch) and latency.deadline_h is not None:
        return latency.deadline_h
    return math.inf


def weekly_steps(
    demand: DemandProjection, axis: TimeAxis, rep: dict[str, np.ndarray]
) -> tuple[TimeAxis, dict[str, np.ndarray], np.ndarray]:
    """The time axis, the site series on it and (W, T) the share of a mean day's demand in each
    step; with a weekly swing each representative day is taken as weekdays and weekend days."""
    weekend = np.zeros(axis.n_steps, dtype=bool)
    if demand.weekly:
        axis, weekend = weekday_and_weekend(axis)
        rep = {name: np.tile(series, 2) for name, series in rep.items()}
    hour = axis.hour_of_year % HOURS_PER_DAY
    assert demand.weekday_share_fraction is not None
    assert demand.weekend_share_fraction is not None
    share_h = np.where(
        weekend[None, :],
        demand.weekend_share_fraction[:, hour],
        demand.weekday_share_fraction[:, hour],
    )
    return axis, rep, share_h


def calendar_fields(tau: np.ndarray, duration: np.ndarray, rate: float, axis: TimeAxis) -> dict:
    """Periods, discounting (delta_y = (1 + r)^-tau_y) and the time steps."""
    return {
        "year_start_years": tau,
        "duration_years": duration,
        "discount_fraction": (1.0 + rate) ** -tau,
        "horizon_end_discount_fraction": float((1.0 + rate) ** -(tau[-1] + duration[-1])),
        "weight_h": axis.weight_h,
        "prev_step": axis.prev_step,
        "day": axis.day,
        "billing_period": axis.billing_period,
        "billing_period_months": axis.billing_period_months,
    }


def part_fields(
    parts: PartsTable, rules: RulesTable, busy_w: np.ndarray, domestic: np.ndarray, tau: np.ndarray,
    duration: np.ndarray, base: np.ndarray, vintages: np.ndarray,
) -> dict:  # fmt: skip
    """Each part's price with fees, watts idle and busy and its host's (W; from its server's
    bill, planner.plan.resolve_servers), lead, life, TPP and installed base; the CPU servers."""
    idle_w = np.array([p.idle_w or 0.0 for p in parts.parts])
    return {
        "parts_per_server": parts.per_server,
        "price_per_part": parts.price_per_part,
        "price_uplift_fraction": rules.uplift,
        "idle_w": idle_w,
        "active_w": np.maximum(busy_w, idle_w),
        "server_overhead_w": parts.server_overhead_w
        if parts.server_overhead_w is not None
        else np.array([p.server_overhead_w or 0.0 for p in parts.parts]),
        "cpu": parts.cpu,
        "lead_time_years": parts.lead,
        "lifetime_years": parts.life,
        "tpp_per_part": np.array(
            [total_processing_performance(p).tpp or 0.0 for p in parts.parts], dtype=float
        ),
        "domestic": domestic,
        "supply_cap_parts": parts.supply,
        "resale_value_fraction": resale_fractions(parts, tau, duration),
        "base_parts": base,
        "base_start_years": vintages,
    }


def workload_fields(
    demand: DemandProjection, rate_wp: np.ndarray, share_h: np.ndarray, penalty: float,
    video_penalty: float,
) -> dict:  # fmt: skip
    """Serving rates, demand per step (D x share / 3,600 s), latency classes and penalties."""
    return {
        "tokens_per_s_per_part": rate_wp,
        "demand_tokens_per_s": demand.per_day[:, :, None] * share_h[:, None, :] / SECONDS_PER_HOUR,
        "deferrable": np.array([isinstance(lat, DeferrableBatch) for lat in demand.latency]),
        "deadline_h": np.array([deadline_h(lat) for lat in demand.latency]),
        "unserved_penalty_per_mtok": penalty,
        "video": demand.is_video,
        "unserved_penalty_per_video_minute": video_penalty,
    }


def site_fields(
    sites: SitesTable, battery: BatteryFigures, rep: dict[str, np.ndarray], subsidy: np.ndarray,
    carbon: float, names: Sequence[str], n_y: int,
) -> dict:  # fmt: skip
    """Each site's data centre, grid, tariff after a forced subsidy, solar and battery."""
    v = sites.values
    n_s, n_t = len(names), next(iter(rep.values())).shape[0]
    price = np.array([rep[f"{name}:price_per_mwh"] for name in names])  # (S, T)
    return {
        "dc_existing_mw": v["it_existing"],
        "dc_max_mw": v["it_max"],
        "dc_build_lead_years": v["build_lead"],
        "dc_capex_per_mw": np.repeat(v["build_capex"][:, None], n_y, axis=1),
        "pue": np.repeat(v["pue"][:, None], n_t, axis=1),
        "grid_import_cap_mw": v["grid"],
        "price_per_mwh": price[:, None, :] * (1.0 - subsidy)[:, :, None],
        "demand_charge_per_mw_month": np.repeat(v["demand_charge"][:, None], n_y, axis=1),
        "emission_t_per_mwh": np.repeat(v["emission"][:, None], n_t, axis=1),
        "carbon_price_per_t": np.full(n_y, carbon),
        "solar_capacity_factor": np.array([rep[f"{n}:solar_capacity_factor"] for n in names]),
        "solar_capex_per_mw": np.repeat(v["solar_capex"][:, None], n_y, axis=1),
        "solar_max_mw": v["solar_max"],
        "battery_capex_per_mwh": np.full((n_s, n_y), battery.capex_per_mwh),
        "battery_capex_per_mw": np.full((n_s, n_y), battery.capex_per_mw),
        "battery_max_mwh": np.minimum(v["battery_max"], battery.max_mwh),
        "battery_calendar_cost_per_mwh_year": None
        if battery.calendar_cost_per_mwh_year == 0
        else np.full((n_s, n_y), battery.calendar_cost_per_mwh_year),
        "charge_efficiency_fraction": battery.charge_efficiency_fraction,
        "discharge_efficiency_fraction": battery.discharge_efficiency_fraction,
        "soc_min_fraction": battery.soc_min_fraction,
        "soc_max_fraction": battery.soc_max_fraction,
        "min_duration_h": battery.min_duration_h,
        "max_duration_h": battery.max_duration_h,
    }


def domestic_parts(
    r: Resolver, parts: PartsTable, base: np.ndarray, vintages: np.ndarray, tau: np.ndarray,
    share: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(P,) parts made by the buyer's country and (P, S, Y) the installed base alive; the
    domestic-share rule checked against that base."""
    raw = r.raw
    domestic = np.array([p.domestic_for(raw.rules.buyer.country) for p in parts.parts], bool)
    alive = _base_alive(base, vintages, parts.life, tau) if parts.parts else base
    check_domestic_share(r, domestic, alive, share)
    return domestic, alive


def rule_fields(
    r: Resolver, rules: RulesTable, share: np.ndarray, choice: np.ndarray, budget: np.ndarray
) -> dict:
    """What the rules allow, the buyer country's TPP cap, the budget, the domestic share and
    the sites' power-subsidy choices."""
    raw = r.raw
    return {
        "allowed": rules.allowed,
        "cap_group_sites": rules.cap_group_sites,  # one group per site country
        "tpp_cap": rules.tpp_cap,
        "tpp_cap_cumulative": rules.tpp_cap_cumulative,
        "budget": budget,
        "domestic_share_min_fraction": share,
        "domestic_share_basis": raw.rules.domestic_share.basis,
        "subsidy_choice_fraction": choice if np.any(choice > 0) else None,
    }


def plan_axes(
    demand: DemandProjection, parts: PartsTable, names: Sequence[str], axis: TimeAxis
) -> PlanAxes:
    """The names along each axis of the plan's arrays."""
    return PlanAxes(
        workloads=demand.workload_names,
        parts=tuple(p.id for p in parts.parts),
        sites=tuple(names),
        periods=demand.horizon.labels,
        hour_of_day=axis.hour_of_year % HOURS_PER_DAY,
        part_kinds=tuple(p.kind for p in parts.parts),
        servers=parts.servers,
    )


def resolve(
    scenario: Scenario,
    *,
    overlays: Sequence[Path] = (),
    regime: str | None = None,
    relax: bool = False,
    libraries: Libraries | None = None,
) -> ResolvedPlan:
    """Turn a validated scenario into `CapacityInputs`; every problem is reported at once.
    `libraries`: the profiles of `overlays` already loaded (None: read from their files)."""
    r, raw, demand = Resolver(scenario), scenario.raw, scenario.demand
    libs = Libraries.load(overlays) if libraries is None else libraries
    regimes, (tau, duration) = libs.regimes, plan_years(r)
    parts, rate_wp, busy_w = parts_and_rates(r, libs, tau, float(tau[-1] + duration[-1]))
    rules = read_rules(r, parts.parts, mid_dates(r, duration), regimes, regime or raw.rules.regime)
    check_prices(r, parts, rules)
    sites, battery = read_sites(r), read_battery(r)
    base, vintages = _installed_base(r, parts.parts, float(demand.horizon.start_years[0]))
    fixed = single_numbers(r, raw)
    share = fixed["domestic_share_min_fraction"]
    domestic, alive = domestic_parts(r, parts, base, vintages, tau, share)
    loads = read_regional_loads(r)
    if r.problems or rate_wp is None or busy_w is None:
        raise InputError(r.problems)
    axis, rep, share_h = weekly_steps(demand, *time_axis(r, sites, loads))
    grid_loads = {name: rep[f"{name}:grid_load_mw"] for name in loads}
    sites, option_fields, option_names = grid_option_fields(r, sites, grid_loads, axis.n_steps)
    parts_in = part_fields(parts, rules, busy_w, domestic, tau, duration, base, vintages)
    cap_fields, cap_basis = power_cap_fields(r, parts.parts, parts_in, overlays)
    subsidy, choice = _subsidies(rules, domestic, alive, _purchase_alive(parts, tau))
    names = [s.name for s in raw.sites]
    inputs = CapacityInputs(
        **calendar_fields(tau, duration, fixed["discount_rate_fraction"], axis),
        **parts_in,
        **workload_fields(
            demand, rate_wp, share_h, fixed["unserved_penalty_per_mtok"], fixed["video_penalty"]
        ),
        **site_fields(sites, battery, rep, subsidy, fixed["carbon_price_per_t"], names, len(tau)),
        **rule_fields(r, rules, share, choice, fixed["budget"]),
        **cap_fields,
        **option_fields,
        relax=relax,
    )
    if r.problems:
        raise InputError(r.problems)
    return ResolvedPlan(
        scenario=scenario,
        inputs=inputs,
        axes=plan_axes(demand, parts, names, axis),
        currency=raw.currency,
        price_confidence=tuple(parts.confidence),
        build_confidence=tuple(sites.build_conf),
        energy_confidence=tuple(sites.energy_conf),
        power_subsidy_fraction=subsidy,
        regimes=rules.rule_ids,
        notes=tuple(r.notes),
        profile_files=_profile_files(r, parts, libs, regimes, rules)
        + ((power_caps_file(overlays),) if raw.power_capping else ()),
        flex=FlexTable(option_names, cap_basis),
    )


def parts_and_rates(
    r: Resolver, libs: Libraries, tau: np.ndarray, end: float
) -> tuple[PartsTable, np.ndarray | None, np.ndarray | None]:
    """The scenario's parts in their servers (planner.plan.resolve_servers), with each workload's
    tokens/s per busy part (W, P) and the busy watts per part (P,); None without parts."""
    parts = read_servers(r, libs.catalogue, libs.servers, tau, end)
    if not parts.parts:
        return parts, None, None
    rate_wp, busy_w = serving_rates(r, parts.parts, libs.workloads, libs.stacks)
    return parts, rate_wp, busy_w


def single_numbers(r: Resolver, raw: ScenarioFile) -> dict[str, Any]:
    """The scenario's single numbers: discount rate, carbon price, unserved penalties (tokens and
    video), the budget per period (inf where none is set) and the minimum domestic share."""
    out: dict[str, Any] = {
        name: r.number(name, getattr(raw, name))
        for name in ("discount_rate_fraction", "carbon_price_per_t", "unserved_penalty_per_mtok")
    }
    out["video_penalty"] = read_video_penalty(r, raw)
    out["budget"] = r.by_period(raw.rules.budget_per_year, "rules.budget_per_year", math.inf)
    out["domestic_share_min_fraction"] = r.step_by_period(
        raw.rules.domestic_share.min_fraction, "rules.domestic_share.min_fraction"
    )
    return out


def _profile_files(
    r: Resolver,
    parts: PartsTable,
    libs: Libraries,
    regimes: RegimeLibrary,
    rules: RulesTable,
) -> tuple[Path, ...]:
    """The profile, server, workload, serving-table, rule, demand and regional-load files a
    plan rests on, so a run records their hashes (and a sweep solves a case again when one
    changes)."""
    files = [p.path for p in parts.parts] + list(parts.server_files)
    workloads = libs.workloads.workloads
    files += [workloads[s.profile].path for s in r.raw.serving if s.profile in workloads]
    files += list(libs.stacks.files)
    snapshots = {rule.split("/", 1)[0] for rule in rules.rule_ids}
    files += [regimes.regimes[i].path for i in sorted(snapshots) if i in regimes.regimes]
    return tuple(dict.fromkeys(files + list(r.scenario.demand.files) + r.files_read))
