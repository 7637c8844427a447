"""A solved plan in words and tables: tokens and video served, cost per million tokens and per
video minute, the subsidy earned, how much of the cost rests on estimates, the binding limits
with their shadow prices, and the documented JSON (`summary`, docs/cli.md)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np

from models.capacity import (
    SECONDS_PER_MINUTE,
    TOKENS_PER_MTOK,
    CapacityCosts,
    CapacityInputs,
    CapacitySolution,
    paid_per_part,
    video_rows,
)
from planner.plan.headline import (
    demand_met,
    peak_rows,
    served_instead,
    spending,
    units_by_period,
    unserved_penalty,
    unserved_share_fraction,
    verdict,
)
from planner.plan.result import PlanResult
from planner.plan.summary_flex import flex_summary
from planner.plan.summary_servers import cpu_power_mw, cpu_rows, server_rows

_TOL = 1e-6


# --------------------------------------------------------------------------- summary


def _token_rows(x: CapacityInputs) -> np.ndarray:
    """(W,) 1.0 for token workloads, 0.0 for video ones."""
    return (~video_rows(x)).astype(float)


def served_units_by_period(x: CapacityInputs, sol: CapacitySolution) -> np.ndarray:
    """(W, Y) units served per workload and period (tokens, or video seconds):
    (demand - unserved) x w_t x 3,600 x years."""
    return units_by_period(x, x.demand_tokens_per_s - sol.unserved_tokens_per_s)


def served_mtok_by_period(x: CapacityInputs, sol: CapacitySolution) -> np.ndarray:
    """(Y,) million tokens served in each period, token workloads only."""
    return _token_rows(x) @ served_units_by_period(x, sol) / TOKENS_PER_MTOK


def served_video_minutes_by_period(x: CapacityInputs, sol: CapacitySolution) -> np.ndarray:
    """(Y,) minutes of video generated in each period, video workloads only."""
    return video_rows(x).astype(float) @ served_units_by_period(x, sol) / SECONDS_PER_MINUTE


def _unserved_units(x: CapacityInputs, sol: CapacitySolution) -> np.ndarray:
    """(W,) units demanded but not served over the horizon, per workload."""
    return units_by_period(x, sol.unserved_tokens_per_s).sum(axis=1)


def unserved_tokens(x: CapacityInputs, sol: CapacitySolution) -> float:
    """Tokens demanded but not served over the horizon (token workloads)."""
    return float(_token_rows(x) @ _unserved_units(x, sol))


def unserved_video_s(x: CapacityInputs, sol: CapacitySolution) -> float:
    """Seconds of video demanded but not generated over the horizon (video workloads)."""
    return float(video_rows(x).astype(float) @ _unserved_units(x, sol))


def video_cost_share_fraction(x: CapacityInputs, sol: CapacitySolution) -> float:
    """Share of the net present cost carried by video workloads (0 without any).

    The plan's cost is joint; it is shared by discounted busy part-hours, each weighted by the
    part's mean purchase price paid (a proxy for what an hour of that part costs; 1 for all
    parts when none has a price): sum over (p, s, y, t) of delta_y x years_y x w_t x u x c_p."""
    video = video_rows(x)
    if not video.any():
        return 0.0
    price = paid_per_part(x).mean(axis=1)
    weight = price if np.any(price > 0) else np.ones_like(price)
    pv_hours = x.discount_fraction * x.duration_years  # (Y,)
    busy = np.einsum("wpsyt,p,y,t->w", sol.parts_busy, weight, pv_hours, x.weight_h)
    total = float(busy.sum())
    return float(busy[video].sum() / total) if total > 0 else 0.0


def cost_per_million_served_tokens(x: CapacityInputs, sol: CapacitySolution) -> float | None:
    """Levelised cost of the token workloads: their share of what the plan spends (no unserved
    penalty) / present value of million tokens served,
    spend x (1 - video share) / sum_y delta_y x served_y. None when no tokens are served."""
    discounted = float((x.discount_fraction * served_mtok_by_period(x, sol)).sum())
    share = 1.0 - video_cost_share_fraction(x, sol)
    return spending(sol) * share / discounted if discounted > 0 else None


def video_cost_per_minute(x: CapacityInputs, sol: CapacitySolution) -> float | None:
    """Levelised cost of the video workloads: spending x video share / present value of
    minutes of video generated. None when no video is generated."""
    discounted = float((x.discount_fraction * served_video_minutes_by_period(x, sol)).sum())
    share = video_cost_share_fraction(x, sol)
    return spending(sol) * share / discounted if discounted > _TOL else None


def energy_bill_per_year(x: CapacityInputs, sol: CapacitySolution) -> np.ndarray:
    """(S, Y) one year's grid energy bill of each site in y, undiscounted, after the chosen
    subsidy: sum_t w_t price (g - f u) (eq. 17-18; a forced subsidy is already in the price)."""
    bill = np.einsum("syt,syt,t->sy", x.price_per_mwh, sol.grid_import_mw, x.weight_h)
    if sol.subsidised_import_mw.size and x.subsidy_choice_fraction is not None:
        rebate = np.einsum("syt,syt,t->sy", x.price_per_mwh, sol.subsidised_import_mw, x.weight_h)
        bill = bill - np.asarray(x.subsidy_choice_fraction) * rebate
    return bill


def realised_power_subsidy(result: PlanResult) -> np.ndarray:
    """(S, Y) power subsidy each site earns in y: the forced one (a site that can hold domestic
    parts only) plus the chosen one, f x d (a site that chooses to run domestic parts only)."""
    chosen = result.solution.power_subsidy_fraction
    forced = result.resolved.power_subsidy_fraction
    return forced + chosen if chosen.size else forced.copy()


def subsidy_choice_rows(result: PlanResult) -> list[dict[str, Any]]:
    """Site-years where the plan chooses to run domestic parts only to earn the power subsidy and
    it saves something (a site with no import yet earns nothing): the fraction earned (f x d)
    and the present value saved, delta_y Delta_y sum_t w f price u."""
    res, sol = result.resolved, result.solution
    x, ax = res.inputs, res.axes
    if x.subsidy_choice_fraction is None or not sol.domestic_only.size:
        return []
    f = np.asarray(x.subsidy_choice_fraction)
    rebate = np.einsum("syt,syt,t->sy", x.price_per_mwh, sol.subsidised_import_mw, x.weight_h)
    saved = f * rebate * (x.discount_fraction * x.duration_years)[None, :]
    return [
        {
            "site": ax.sites[s],
            "year": ax.periods[y],
            "domestic_only": float(sol.domestic_only[s, y]),
            "power_subsidy_fraction": float(sol.power_subsidy_fraction[s, y]),
            "saving_present_value": float(saved[s, y]),
            "text": f"{ax.sites[s]} runs domestic parts only in {ax.periods[y]} to earn the "
            f"{sol.power_subsidy_fraction[s, y]:.0%} power subsidy (saves "
            f"{saved[s, y]:,.0f} {res.currency} present value)",
        }
        for s, y in zip(*np.nonzero((sol.domestic_only > _TOL) & (saved > _TOL)), strict=True)
    ]


def gross_spending(costs: CapacityCosts) -> float:
    """Present value of every cost term, before credits (resale, power subsidy) and without the
    unserved penalty."""
    credits_and_penalty = ("unserved_penalty", "resale_credit", "power_subsidy_credit")
    return float(
        sum(
            getattr(costs, f.name)
            for f in fields(costs)
            if f.name != "capex_by_year"
            and f.name not in credits_and_penalty
            and not f.name.endswith("_credit")
        )
    )


def estimate_share(result: PlanResult) -> dict[str, float]:
    """Shares of what the plan spends resting on estimate-grade figures, of its gross spending
    (every cost term before resale and subsidy credits, no unserved penalty), so they add to at
    most 1.

    Parts capex by each part's price confidence, data-centre capex by each site's build-cost
    confidence, energy by the weakest confidence of each site's tariff figures.
    """
    res, sol = result.resolved, result.solution
    x = res.inputs
    npc = gross_spending(sol.costs) if sol.costs is not None else 0.0
    if not npc or sol.costs is None:
        return {"parts_capex": 0.0, "dc_capex": 0.0, "energy": 0.0, "total": 0.0}
    paid = paid_per_part(x) * x.discount_fraction[None, :]  # (P, Y)
    by_part = np.einsum("py,psy->p", paid, sol.parts_bought)
    est_p = np.array([c == "estimate" for c in res.price_confidence])
    by_site_dc = np.einsum(
        "sy,sy->s", x.dc_capex_per_mw * x.discount_fraction[None, :], sol.dc_built_mw
    )
    est_dc = np.array([c == "estimate" for c in res.build_confidence])
    energy_pv = energy_bill_per_year(x, sol) @ (x.discount_fraction * x.duration_years)  # (S,)
    est_e = np.array([c == "estimate" for c in res.energy_confidence])
    parts_est = float(by_part[est_p].sum())
    dc_est = float(by_site_dc[est_dc].sum())
    energy_est = float(energy_pv[est_e].sum())
    return {
        "parts_capex": parts_est / npc,
        "dc_capex": dc_est / npc,
        "energy": energy_est / npc,
        "total": (parts_est + dc_est + energy_est) / npc,
    }


def _shadow_row(
    result: PlanResult, kind: str, value: float, what: str, y: int | None, size: float,
    **where: str,
) -> dict[str, Any] | None:  # fmt: skip
    """One binding limit, or None when its shadow price is round-off (`size`: the limit's own
    magnitude, so a price per TPP or per unit of currency is judged by the whole cap or budget,
    not against the objective alone). Where demand is short in
    its period the price is the penalty's worth of serving more, so the sentence says how much
    more it would serve; elsewhere it is a saving in currency."""
    lp = result.dual_solution
    assert lp is not None
    if value * size <= _TOL * max(1.0, abs(lp.objective)) * 1e-3:
        return None  # the limit's whole worth, price x size, is round-off beside the objective
    cur = result.resolved.currency
    serves = served_instead(result, value, y)
    shown = f"{value:,.2f}" if value >= 1 else f"{value:.3g}"  # a price per TPP is small
    worth = serves or f"would save {shown} {cur}"
    if y is not None:
        where["period"] = result.resolved.axes.periods[y]
    return {
        "constraint": kind,
        **where,
        "shadow_price": float(value),
        "rests_on_penalty": serves is not None,
        "text": f"{what} {worth}",
    }


Candidate = tuple[str, float, str, int | None, float, dict[str, str]]


def _size(limit: float) -> float:
    """A limit's magnitude for the round-off test: the limit itself, at least 1 (inf: 1)."""
    return max(1.0, float(limit)) if np.isfinite(limit) else 1.0


def _shadow_candidates(result: PlanResult) -> list[Candidate]:
    """Every limit with a dual: (kind, value, what one more unit is, period index, the limit's
    size, where)."""
    assert result.dual_solution is not None and result.dual_solution.duals is not None
    d = result.dual_solution.duals
    res = result.resolved
    ax = res.axes
    unit = "part" if res.inputs.domestic_share_basis == "parts" else "TPP"
    x = res.inputs
    out: list[Candidate] = []
    for s, site in enumerate(ax.sites):
        for y, year in enumerate(ax.periods):
            what = f"one more MW of grid at {site} in {year}"
            size = _size(x.grid_import_cap_mw[s, y])
            out.append(
                ("grid_import_cap", d.grid_import_cap_per_mw[s, y], what, y, size, {"site": site})
            )
        what = f"one more MW of buildable IT capacity at {site}"
        size = _size(x.dc_max_mw[s])
        out.append(("dc_max", d.dc_max_per_mw[s], what, None, size, {"site": site}))
    for p, part in enumerate(ax.parts):
        for y, year in enumerate(ax.periods):
            what = f"one more {part} available in {year}"
            size = _size(x.supply_cap_parts[p, y])
            out.append(("supply_cap", d.supply_cap_per_part[p, y], what, y, size, {"part": part}))
    for y, year in enumerate(ax.periods):
        what = f"one more {res.currency} of budget in {year}"
        out.append(("budget", d.budget_per_currency[y], what, y, _size(x.budget[y]), {}))
        what = f"one {unit} less of required domestic share in {year}"
        out.append(("domestic_share", d.domestic_share_per_unit[y], what, y, 1.0, {}))
        for g in range(d.tpp_cap_per_tpp.shape[0]):
            country = cap_country(result, g)
            what = f"one more TPP under the {country} country cap in {year}"
            size = _size(x.tpp_cap[g, y])
            out.append(("tpp_cap", d.tpp_cap_per_tpp[g, y], what, y, size, {"country": country}))
    return out


def cap_country(result: PlanResult, group: int) -> str:
    """The country of a TPP cap group: the country of the sites the group holds."""
    sites = result.resolved.scenario.raw.sites
    members = np.nonzero(np.asarray(result.resolved.inputs.cap_group_sites)[group])[0]
    countries = sorted({sites[s].country for s in members})
    return "/".join(countries) if countries else "buyer's"


def binding_constraints(result: PlanResult, limit: int = 8) -> list[dict[str, Any]]:
    """Shadow prices of binding limits from the LP, largest first, each with a sentence."""
    lp = result.dual_solution
    if lp is None or lp.duals is None:
        return []
    rows = [
        row
        for kind, value, what, y, size, where in _shadow_candidates(result)
        if (row := _shadow_row(result, kind, float(value), what, y, size, **where)) is not None
    ]
    rows.sort(key=lambda r: -r["shadow_price"])
    return rows[:limit]


def _part_row(result: PlanResult, p: int, s: int, y: int, count: float) -> dict[str, Any]:
    """One accelerator row: part, its kind (gpu/npu) and server profile, site, period, count."""
    res = result.resolved
    servers = res.servers.part_servers if res.servers is not None else ()
    return {
        "part": res.axes.parts[p],
        "kind": res.axes.part_kinds[p] if res.axes.part_kinds else None,
        "server": servers[p] if servers else None,
        "site": res.axes.sites[s],
        "year": res.axes.periods[y],
        "count": count,
    }


def parts_rows(result: PlanResult) -> list[dict[str, Any]]:
    """Parts bought: one row per (part, site, period) with a purchase, accelerators then the
    CPUs their servers and the CPU servers hold (`kind: cpu`)."""
    bought = result.solution.parts_bought
    rows = [
        _part_row(result, p, s, y, float(bought[p, s, y]))
        for p, s, y in zip(*np.nonzero(bought > 0.5 * _TOL), strict=True)
    ]
    return rows + cpu_rows(result)


def installed_rows(result: PlanResult) -> list[dict[str, Any]]:
    """Parts in service: one row per (part, site, period) with any; CPUs as in `parts_rows`."""
    installed = result.solution.parts_installed
    rows = [
        _part_row(result, p, s, y, float(installed[p, s, y]))
        for p, s, y in zip(*np.nonzero(installed > _TOL), strict=True)
    ]
    return rows + cpu_rows(result, installed=True)


def _snap(value: float) -> float:
    """A size with the solver's round-off (|x| < 1e-9) shown as 0."""
    return 0.0 if abs(value) < 1e-9 else float(value)


def site_rows(result: PlanResult) -> list[dict[str, Any]]:
    """Sizes per site and period: IT MW in service, solar, battery, peak grid import, and the
    power subsidy earned (forced or chosen; `domestic_only_for_subsidy` when chosen)."""
    sol, ax = result.solution, result.resolved.axes
    subsidy = realised_power_subsidy(result)
    chosen = sol.domestic_only if sol.domestic_only.size else np.zeros(subsidy.shape)
    cpu_mw = cpu_power_mw(result)
    return [
        {
            "site": site,
            "year": year,
            "it_mw": _snap(sol.it_capacity_mw[s, y]),
            "it_peak_mw": _snap(sol.it_power_mw[s, y].max()),
            "cpu_peak_mw": _snap(cpu_mw[s, y].max()),
            "grid_peak_mw": _snap(sol.grid_import_mw[s, y].max()),
            "solar_mw": _snap(sol.solar_mw[s, y]),
            "battery_mwh": _snap(sol.battery_mwh[s, y]),
            "battery_mw": _snap(sol.battery_mw[s, y]),
            "power_subsidy_fraction": float(subsidy[s, y]),
            "domestic_only_for_subsidy": bool(chosen[s, y] > 0.5),
        }
        for s, site in enumerate(ax.sites)
        for y, year in enumerate(ax.periods)
    ]


COST_TERMS = (
    "parts_capex", "dc_capex", "solar_capex", "battery_capex", "energy", "demand_charges",
    "carbon", "unserved_penalty", "resale_credit", "power_subsidy_credit", "cpu_servers_capex",
    "cpu_resale_credit",
)  # fmt: skip


def cost_breakdown(costs: CapacityCosts | None) -> dict[str, float] | None:
    """Each present-value cost term (eq. 17); credits and the penalty as positive numbers."""
    return None if costs is None else {k: float(getattr(costs, k)) for k in COST_TERMS}


def parts_left_out_notes(result: PlanResult) -> list[str]:
    """One note naming the parts left out before the model was built, and why (the optimum is
    the same with them: models/presolve.py)."""
    left = result.solution.parts_left_out
    if not left:
        return []
    names = result.resolved.axes.parts
    never = [names[p] for p, q in sorted(left.items()) if q is None]
    beaten = [f"{names[p]} (by {names[q]})" for p, q in sorted(left.items()) if q is not None]
    said = []
    if never:
        said.append(f"never held (no site may buy them, none installed): {', '.join(never)}")
    if beaten:
        said.append(
            "dominated (another part is as fast on every workload, no dearer, no hungrier and "
            f"allowed wherever they are): {', '.join(beaten)}"
        )
    return [f"left out before solving, the plan being the same without them: {'; '.join(said)}"]


def summary(result: PlanResult) -> dict[str, Any]:
    """The documented JSON of a plan (docs/cli.md)."""
    res, sol = result.resolved, result.solution
    x = res.inputs
    costs = sol.costs
    choices = subsidy_choice_rows(result)
    every_binding = binding_constraints(result, limit=1_000)
    return {
        "scenario": res.scenario.name,
        "verdict": verdict(result, every_binding),
        "demand_met": demand_met(x, sol),
        "status": str(sol.status),
        "currency": res.currency,
        "net_present_cost": spending(sol),
        "cost_per_million_served_tokens": cost_per_million_served_tokens(x, sol),
        "unserved_share_fraction": unserved_share_fraction(x, sol),
        "unserved_penalty": unserved_penalty(sol),
        "objective": sol.objective,
        "unserved_tokens": unserved_tokens(x, sol),
        "served_mtok_by_year": dict(
            zip(res.axes.periods, served_mtok_by_period(x, sol).tolist(), strict=True)
        ),
        "video_cost_per_minute": video_cost_per_minute(x, sol),
        "unserved_video_s": unserved_video_s(x, sol),
        "unserved_video_share_fraction": unserved_share_fraction(x, sol, video=True),
        "served_video_minutes_by_year": dict(
            zip(res.axes.periods, served_video_minutes_by_period(x, sol).tolist(), strict=True)
        ),
        "video_cost_share_fraction": video_cost_share_fraction(x, sol),
        "workload_units": dict(zip(res.axes.workloads, res.scenario.demand.units, strict=True)),
        "mip_gap": sol.stats.mip_gap,
        "relaxed": bool(x.relax),
        "backend": sol.backend,
        "solver": sol.solver,
        "build_s": sol.stats.build_s,
        "solve_s": sol.stats.solve_s,
        "costs": cost_breakdown(costs),
        "estimate_share": estimate_share(result),
        "parts": parts_rows(result),
        "installed": installed_rows(result),
        "servers": server_rows(result),
        "sites": site_rows(result),
        "binding": every_binding[:8],
        "workloads": peak_rows(result),
        "duals_from_lp_relaxation": result.duals_from_relaxation,
        "subsidy_choices": choices,
        **flex_summary(result),  # power caps and grid options (eqs. 19-21)
        "rules": list(res.regimes),
        "method": result.method,
        "notes": [
            *([result.method_note] if result.method_note else []),
            *parts_left_out_notes(result),
            *res.notes,
            *(c["text"] for c in choices),
        ],
    }
