"""Independent numpy checker for any capacity solution, whichever backend produced it.

It recomputes the equations of docs/capacity_model.md from the solution's arrays and the inputs
alone, with plain loops over years and vintages (no modelling library, none of the backends'
index algebra), and returns the violations in words; an empty list means the plan is feasible to
`tol` and its reported costs and objective are what its arrays imply.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from models import capacity_flex_check as flex
from models.capacity import (
    CapacityInputs,
    CapacitySolution,
    day_steps,
    deadline_hours,
    deadline_rows,
    foreign_parts_bound,
    may_still_wait,
    serve_scale,
    tpp_cap_windows,
)
from models.capacity_cpu_check import (
    check_cpu_servers,
    cpu_capex_by_year,
    cpu_costs,
    cpu_power_mw,
)

EPS_YEARS = 1e-9
Check = Callable[..., None]  # require(name, slack, scale) or equal(name, left, right)


def installed_parts(x: CapacityInputs, bought: np.ndarray) -> np.ndarray:
    """(3) (P, S, Y) base parts alive plus purchases delivered and not yet retired."""
    n_p, n_s, n_y = bought.shape
    tau = x.year_start_years
    out = np.zeros((n_p, n_s, n_y))
    for p in range(n_p):
        lead, life = x.lead_time_years[p], x.lifetime_years[p]
        for y in range(n_y):
            for v, start in enumerate(x.base_start_years):
                if tau[y] - start < life - EPS_YEARS:
                    out[p, :, y] += x.base_parts[p, :, v]
            for y_buy in range(n_y):
                age = tau[y] - tau[y_buy]
                if lead - EPS_YEARS <= age < lead + life - EPS_YEARS:
                    out[p, :, y] += bought[p, :, y_buy]
    return out


def it_capacity(x: CapacityInputs, built_mw: np.ndarray) -> np.ndarray:
    """(7) (S, Y) existing IT MW plus builds whose lead time has passed."""
    n_s, n_y = built_mw.shape
    out = np.tile(x.dc_existing_mw[:, None], (1, n_y)).astype(float)
    for s in range(n_s):
        for y in range(n_y):
            for y_build in range(n_y):
                if x.year_start_years[y] - x.year_start_years[y_build] >= (
                    x.dc_build_lead_years[s] - EPS_YEARS
                ):
                    out[s, y] += built_mw[s, y_build]
    return out


def present_costs(x: CapacityInputs, sol: CapacitySolution) -> dict[str, float]:
    """(15, 17) every present-value cost term recomputed from the solution's arrays."""
    paid = x.price_per_part * (1 + x.price_uplift_fraction)  # (P, Y)
    pv, pv_opex = x.discount_fraction, x.discount_fraction * x.duration_years
    end = x.year_start_years[-1] + x.duration_years[-1]
    if x.resale_value_fraction is None:
        left = x.year_start_years[None, :] + (x.lead_time_years + x.lifetime_years)[:, None] - end
        resale = np.clip(left / x.lifetime_years[:, None], 0, 1)
    else:
        resale = x.resale_value_fraction
    bought_py = sol.parts_bought.sum(axis=1)  # (P, Y)
    video = np.zeros(x.demand_tokens_per_s.shape[0], bool) if x.video is None else x.video
    # a year of one unit/s in step t: tokens count in millions, video seconds in minutes
    per_unit = np.where(
        video, x.unserved_penalty_per_video_minute / 60, x.unserved_penalty_per_mtok / 1e6
    )
    units = x.weight_h * 3_600
    return {
        "parts_capex": float(np.sum(pv * paid * bought_py)),
        "dc_capex": float(np.sum(pv * x.dc_capex_per_mw * sol.dc_built_mw)),
        "solar_capex": float(np.sum(pv * x.solar_capex_per_mw * sol.solar_built_mw)),
        "battery_capex": float(
            np.sum(pv * x.battery_capex_per_mwh * sol.battery_built_mwh)
            + np.sum(pv * x.battery_capex_per_mw * sol.battery_built_mw)
        ),
        "energy": float(
            np.einsum("y,t,syt,syt->", pv_opex, x.weight_h, x.price_per_mwh, sol.grid_import_mw)
        ),
        "demand_charges": float(
            np.einsum(
                "y,sy,b,syb->",
                pv_opex,
                x.demand_charge_per_mw_month,
                x.billing_period_months,
                sol.peak_import_mw,
            )
        ),
        "carbon": float(
            np.einsum(
                "y,t,st,y,syt->",
                pv_opex,
                x.weight_h,
                x.emission_t_per_mwh,
                x.carbon_price_per_t,
                sol.grid_import_mw,
            )
        ),
        "unserved_penalty": float(
            np.einsum("w,y,t,wyt->", per_unit, pv_opex, units, sol.unserved_tokens_per_s)
        ),
        "resale_credit": float(x.horizon_end_discount_fraction * np.sum(resale * paid * bought_py)),
        "power_subsidy_credit": subsidy_credit(x, sol),
        **cpu_costs(x, sol),
        **battery_calendar_cost(x, sol),
    }


def battery_calendar_cost(x: CapacityInputs, sol: CapacitySolution) -> dict[str, float]:
    """(17) Calendar ageing of the battery in service: the MWh built in y and every earlier
    year (nothing retires within the horizon) x cost per MWh-year x the period's years,
    discounted to the start of the period."""
    c = x.battery_calendar_cost_per_mwh_year
    if c is None:
        return {}
    in_service_mwh = np.cumsum(sol.battery_built_mwh, axis=1)  # (S, Y)
    pv_years = x.discount_fraction * x.duration_years  # (Y,)
    return {"battery_calendar": float(np.sum(pv_years * c * in_service_mwh))}


def choice_fraction(x: CapacityInputs) -> np.ndarray:
    """(S, Y) the subsidy a site may earn by running domestic parts only (0 = no choice)."""
    n_s, n_y = x.grid_import_cap_mw.shape
    f = x.subsidy_choice_fraction
    return np.zeros((n_s, n_y)) if f is None else np.asarray(f, dtype=float)


def subsidy_credit(x: CapacityInputs, sol: CapacitySolution) -> float:
    """(18) present value of the chosen subsidy: sum delta_y Delta_y w_t f price u."""
    if sol.subsidised_import_mw.size == 0:
        return 0.0
    pv_opex = x.discount_fraction * x.duration_years
    return float(
        np.einsum(
            "y,t,sy,syt,syt->",
            pv_opex,
            x.weight_h,
            choice_fraction(x),
            x.price_per_mwh,
            sol.subsidised_import_mw,
        )
    )


CREDITS = ("resale_credit", "power_subsidy_credit", "cpu_resale_credit")
Require = Callable[[str, "np.ndarray | float", float], None]
Equal = Callable[[str, "np.ndarray | float", "np.ndarray | float"], None]


def check_serving(x: CapacityInputs, sol: CapacitySolution, require: Require, equal: Equal) -> None:
    """(5) interactive: served + unserved = demand every step; (6) deferrable: the same within
    each day's weighted total; (6b) with a deadline: some carried backlog beta >= 0 keeps the
    backlog B_k = beta + C_k (C_k = sum_{j<=k} (D_j - h_j)) in [0, arrivals still within their
    deadline], i.e. max(0, max_k -C_k) <= min_k (room_k - C_k), and the day's totals are equal."""
    served = np.einsum("wp,wpsyt->wyt", x.tokens_per_s_per_part, sol.parts_busy)
    served = served + flex.capped_tokens(x, sol)  # eq. 19: parts busy at a power cap
    handled = served + sol.unserved_tokens_per_s
    due = deadline_rows(x)
    for w in range(x.shape[0]):
        if due[w]:
            waiting = may_still_wait(float(deadline_hours(x)[w]))
            for d, steps in enumerate(day_steps(x)):
                arrivals = x.demand_tokens_per_s[w][:, steps]  # (Y, 24)
                so_far = np.cumsum(arrivals - handled[w][:, steps], axis=1)
                scale = float(arrivals.sum(axis=1).max(initial=1.0))
                equal(f"(6b) day total of workload {w} day {d}", so_far[:, -1], 0.0 * so_far[:, -1])
                lowest = np.maximum(0.0, (-so_far).max(axis=1))
                highest = (arrivals @ waiting - so_far).min(axis=1)
                require(f"(6b) deadline of workload {w} day {d}", highest - lowest, scale)
        elif x.deferrable[w]:
            for d in np.unique(x.day):
                on = x.day == d
                equal(
                    f"(6) daily tokens of workload {w} day {d}",
                    handled[w][:, on] @ x.weight_h[on],
                    x.demand_tokens_per_s[w][:, on] @ x.weight_h[on],
                )
        else:
            equal(f"(5) hourly tokens of workload {w}", handled[w], x.demand_tokens_per_s[w])


def check_solution(x: CapacityInputs, sol: CapacitySolution, tol: float = 1e-6) -> list[str]:
    """Every violated equation, with where and by how much; `tol` is relative to each scale."""
    problems: list[str] = []

    def require(name: str, slack: np.ndarray | float, scale: float = 1.0) -> None:
        """`slack` must be >= 0 everywhere (to tolerance); report the worst entry if not."""
        slack = np.atleast_1d(np.asarray(slack, dtype=float))
        if slack.size and (np.isnan(slack).any() or slack.min() < -tol * max(1.0, scale)):
            worst = np.unravel_index(int(np.nanargmin(slack)), slack.shape)
            problems.append(f"{name}: violated by {-slack[worst]:.6g} at index {worst}")

    def equal(name: str, left: np.ndarray | float, right: np.ndarray | float) -> None:
        gap = np.asarray(left, dtype=float) - np.asarray(right, dtype=float)
        scale = float(np.max(np.abs(right), initial=1.0))
        require(name, -np.abs(gap), scale)

    check_nonnegative(x, sol, require)
    servers = sol.servers_bought
    if not x.relax:
        equal("(1) whole servers", servers, np.round(servers))
    equal(
        "(1) parts = servers x parts per server",
        sol.parts_bought,
        servers * x.parts_per_server[:, None, None],
    )
    require("(2) nothing bought where not allowed", -np.abs(servers[~x.allowed.astype(bool)]))
    installed = installed_parts(x, sol.parts_bought)
    equal("(3) installed parts", sol.parts_installed, installed)
    require(
        "(4) installed >= busy",
        installed[..., None] - sol.parts_busy.sum(axis=0) - flex.capped_parts(x, sol),
        float(installed.max(initial=1)),
    )
    check_serving(x, sol, require, equal)
    capacity = it_capacity(x, sol.dc_built_mw)
    equal("(7) IT capacity in service", sol.it_capacity_mw, capacity)
    require(
        "(8) IT MW within the site maximum",
        x.dc_max_mw - x.dc_existing_mw - sol.dc_built_mw.sum(axis=1),
    )
    standing = np.einsum("p,psy->sy", x.idle_w + x.server_overhead_w, installed)
    dynamic = np.einsum("p,wpsyt->syt", x.active_w - x.idle_w, sol.parts_busy) + (
        flex.capped_dynamic_w(x, sol)  # eq. 19: parts busy at a power cap
    )
    power = (standing[..., None] + dynamic) * 1e-6 + cpu_power_mw(x, sol)  # (9) + (26)
    equal("(9) IT power", sol.it_power_mw, power)
    require("(10) IT power within capacity", capacity[..., None] - power, float(capacity.max()))
    cumulative = np.cumsum  # (11) built capacity accumulates over the years
    built = ("solar_built_mw", "battery_built_mwh", "battery_built_mw")
    solar, energy_mwh, batt_mw = (cumulative(getattr(sol, n), axis=1) for n in built)
    equal("(11) solar in service", sol.solar_mw, solar)
    equal("(11) battery MWh in service", sol.battery_mwh, energy_mwh)
    equal("(11) battery MW in service", sol.battery_mw, batt_mw)
    check_operation(x, sol, power, solar, energy_mwh, batt_mw, require, equal)
    check_rules(x, sol, installed, require)
    check_subsidy_choice(x, sol, installed, require, equal)
    check_cpu_servers(x, sol, require, equal)  # eqs. 22-27
    flex.check_levers(x, sol, require, equal)  # eqs. 19-21
    check_costs(x, sol, equal)
    return problems


NONNEGATIVE = (
    "servers_bought",
    "parts_busy",
    "unserved_tokens_per_s",
    "dc_built_mw",
    "solar_built_mw",
    "battery_built_mwh",
    "battery_built_mw",
    "grid_import_mw",
    "solar_used_mw",
    "charge_mw",
    "discharge_mw",
    "soc_mwh",
)


def check_nonnegative(
    x: CapacityInputs, sol: CapacitySolution, require: Callable[..., None]
) -> None:
    """(0) every decision variable is >= 0. Unserved work is checked as both backends hold it,
    x sigma_w (`serve_scale`): a solver's tolerance on the scaled column is 1/sigma_w times
    larger in tokens/s (1e-7 of a 1e-3 scale is 1e-4 tokens/s)."""
    for name in NONNEGATIVE:
        values = np.asarray(getattr(sol, name), dtype=float)
        if name == "unserved_tokens_per_s" and values.size:
            values = values * serve_scale(x)[:, None, None]
        require(f"(0) {name} >= 0", values)


def check_costs(x: CapacityInputs, sol: CapacitySolution, equal: Callable[..., None]) -> None:
    """(17) each present cost term and the objective: spending less resale and subsidy credits."""
    costs = present_costs(x, sol)
    if sol.costs is not None:
        for name, value in costs.items():
            equal(f"(17) cost term {name}", getattr(sol.costs, name), value)
    total = sum(v for k, v in costs.items() if k not in CREDITS)
    equal("(17) objective", sol.objective, total - sum(costs[k] for k in CREDITS))


def check_operation(
    x: CapacityInputs,
    sol: CapacitySolution,
    power: np.ndarray,
    solar: np.ndarray,
    energy_mwh: np.ndarray,
    batt_mw: np.ndarray,
    require: Check,
    equal: Check,
) -> None:
    """(12) each site and year: power balance, grid cap, demand peaks, solar, battery."""
    facility = x.pue[:, None, :] * power
    supply = sol.grid_import_mw + sol.solar_used_mw + sol.discharge_mw
    equal("(12) power balance", supply, facility + sol.charge_mw)
    cap = x.grid_import_cap_mw[..., None]
    require("(12) grid import within cap", np.where(np.isinf(cap), 1.0, cap - sol.grid_import_mw))
    require(
        "(12) billing-period peak >= import",
        sol.peak_import_mw[:, :, x.billing_period] - sol.grid_import_mw,
    )
    require(
        "(12) solar used <= available",
        solar[..., None] * x.solar_capacity_factor[:, None, :] - sol.solar_used_mw,
    )
    require("(12) solar within site maximum", x.solar_max_mw[:, None] - solar)
    soc_prev = sol.soc_mwh[:, :, x.prev_step]
    equal(
        "(12) battery balance",
        sol.soc_mwh,
        soc_prev
        + x.charge_efficiency_fraction * sol.charge_mw
        - sol.discharge_mw / x.discharge_efficiency_fraction,
    )
    require("(12) charge within battery MW", batt_mw[..., None] - sol.charge_mw)
    require("(12) discharge within battery MW", batt_mw[..., None] - sol.discharge_mw)
    require("(12) SOC within battery MWh", x.soc_max_fraction * energy_mwh[..., None] - sol.soc_mwh)
    require("(12) SOC above its floor", sol.soc_mwh - x.soc_min_fraction * energy_mwh[..., None])
    require("(12) battery MWh within site maximum", x.battery_max_mwh[:, None] - energy_mwh)


def check_rules(
    x: CapacityInputs, sol: CapacitySolution, installed: np.ndarray, require: Check
) -> None:
    """(13) country TPP caps, (14) supply caps, (15) budgets, (16) domestic share."""
    bought = sol.parts_bought
    for g in range(x.cap_group_sites.shape[0]):
        sites = x.cap_group_sites[g].astype(bool)
        tpp = np.einsum("p,psy->y", x.tpp_per_part, bought[:, sites, :])
        counted = tpp_cap_windows(x)[g] @ tpp  # (Y,) TPP counted against each period's cap
        require(f"(13) TPP cap of group {g}", x.tpp_cap[g] - counted, float(tpp.max(initial=1)))
    require("(14) supply caps", x.supply_cap_parts - bought.sum(axis=1))
    paid = x.price_per_part * (1 + x.price_uplift_fraction)
    spent = (
        np.einsum("py,psy->y", paid, bought)
        + np.sum(x.dc_capex_per_mw * sol.dc_built_mw, axis=0)
        + np.sum(x.solar_capex_per_mw * sol.solar_built_mw, axis=0)
        + np.sum(x.battery_capex_per_mwh * sol.battery_built_mwh, axis=0)
        + np.sum(x.battery_capex_per_mw * sol.battery_built_mw, axis=0)
        + cpu_capex_by_year(x, sol)
    )
    require("(15) budget", x.budget - spent, float(spent.max(initial=1)))
    if sol.costs is not None:
        require(
            "(15) capex by year",
            -np.abs(sol.costs.capex_by_year - spent),
            float(spent.max(initial=1)),
        )
    weight = np.ones(x.tpp_per_part.shape) if x.domestic_share_basis == "parts" else x.tpp_per_part
    total = np.einsum("p,psy->y", weight, installed)
    domestic = np.einsum("p,psy->y", weight * x.domestic, installed)
    require(
        "(16) domestic share",
        domestic - x.domestic_share_min_fraction * total,
        float(total.max(initial=1)),
    )


def check_subsidy_choice(
    x: CapacityInputs, sol: CapacitySolution, installed: np.ndarray, require: Check, equal: Check
) -> None:
    """(18) a rebate only where the site chose domestic parts only: u <= import, u <= cap x d,
    u <= PUE x domestic IT power + charge, u = 0 and d = 0 where there is no choice; where d is
    1 (> 0.5 when the MILP rounds) no foreign part is installed; relaxed, foreign installed
    <= M (1 - d); f x d reported."""
    f = choice_fraction(x)
    n_s, n_y = f.shape
    d = sol.domestic_only if sol.domestic_only.size else np.zeros((n_s, n_y))
    u = (
        sol.subsidised_import_mw
        if sol.subsidised_import_mw.size
        else np.zeros_like(sol.grid_import_mw)
    )
    no_choice = f <= 0
    require("(18) d >= 0", d)
    require("(18) d <= 1", 1.0 - d)
    require("(18) no choice, no d", -np.abs(d[no_choice]))
    require("(18) no choice, no rebate", -np.abs(u[no_choice]))
    require("(18) rebate >= 0", u)
    scale = float(np.max(sol.grid_import_mw, initial=1.0))
    require("(18) rebate <= import", sol.grid_import_mw - u, scale)
    cap = np.where(np.isfinite(x.grid_import_cap_mw), x.grid_import_cap_mw, 0.0)
    require("(18) rebate <= grid cap x d", (cap * d)[..., None] - u, scale)
    dom = x.domestic.astype(float)
    domestic_mw = 1e-6 * (
        np.einsum("p,psy->sy", dom * (x.idle_w + x.server_overhead_w), installed)[..., None]
        + np.einsum("p,wpsyt->syt", dom * (x.active_w - x.idle_w), sol.parts_busy)
        + flex.capped_dynamic_w(x, sol, dom)
    )
    domestic_mw = domestic_mw + cpu_power_mw(x, sol)  # CPU servers may run there too
    require(
        "(18) rebate <= PUE x domestic IT power + charge",
        x.pue[:, None, :] * domestic_mw + sol.charge_mw - u,
        scale,
    )
    foreign = np.einsum("p,psy->sy", (~x.domestic.astype(bool)).astype(float), installed)
    if x.relax:
        bound = foreign_parts_bound(x)
        require(
            "(18) foreign parts <= M (1 - d)",
            bound * (1.0 - d) - foreign,
            float(bound.max(initial=1)),
        )
    else:
        equal("(18) d is 0 or 1", d, np.round(d))
        chosen = d > 0.5
        require("(18) no foreign part where d = 1", -foreign[chosen], 1.0)
    equal(
        "(18) realised subsidy f x d",
        sol.power_subsidy_fraction if sol.power_subsidy_fraction.size else np.zeros((n_s, n_y)),
        f * d,
    )
