"""The plan's headline: what it spends, what it serves, and a verdict in words.

The solver minimises spending plus a penalty on demand left unserved; the penalty is a price
that steers the plan, not money paid. The headline keeps them apart:

- spending (`net_present_cost`) = objective - unserved penalty: capex, energy, fees, carbon,
  less resale and subsidy credits, all present value;
- `cost_per_million_served_tokens` = spending x token share / present value of Mtok served;
- `unserved_share_fraction` = tokens not served / tokens demanded, over the horizon;
- `demand_met` is true when every workload, in every period, serves at least 99.9% of its demand.

When demand is not met, `verdict` says which workload, which periods, how much, and the binding
limits that period (from the LP's duals).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from models.capacity import (
    SECONDS_PER_HOUR,
    SECONDS_PER_MINUTE,
    TOKENS_PER_MTOK,
    CapacityInputs,
    CapacitySolution,
    video_rows,
)
from planner.plan.result import PlanResult

MET_FRACTION = 0.999  # a workload-period meets its demand when it serves at least this share


def spending(sol: CapacitySolution) -> float:
    """Net present cost the plan spends: the objective less the unserved-demand penalty."""
    penalty = sol.costs.unserved_penalty if sol.costs is not None else 0.0
    return float(sol.objective - penalty)


def unserved_penalty(sol: CapacitySolution) -> float:
    """Present value of the unserved-demand penalty: a steering price, not money spent."""
    return float(sol.costs.unserved_penalty) if sol.costs is not None else 0.0


def units_by_period(x: CapacityInputs, rate_per_s: np.ndarray) -> np.ndarray:
    """(W, Y) units over each period from a (W, Y, T) rate: sum_t rate x w_t x 3,600 x years."""
    per_year = np.einsum("wyt,t->wy", rate_per_s, x.weight_h) * SECONDS_PER_HOUR
    return per_year * x.duration_years[None, :]


def unserved_share_by_period(x: CapacityInputs, sol: CapacitySolution) -> np.ndarray:
    """(W, Y) share of each workload's demand in each period left unserved (0 with no demand)."""
    demand = units_by_period(x, x.demand_tokens_per_s)
    unserved = units_by_period(x, sol.unserved_tokens_per_s)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(demand > 0, unserved / demand, 0.0)


def unserved_share_fraction(x: CapacityInputs, sol: CapacitySolution, video: bool = False) -> float:
    """Tokens (or video seconds, `video=True`) not served / demanded over the horizon."""
    rows = video_rows(x) if video else ~video_rows(x)
    demand = float(units_by_period(x, x.demand_tokens_per_s)[rows].sum())
    unserved = float(units_by_period(x, sol.unserved_tokens_per_s)[rows].sum())
    return unserved / demand if demand > 0 else 0.0


def demand_met(x: CapacityInputs, sol: CapacitySolution) -> bool:
    """True when every workload serves at least 99.9% of its demand in every period."""
    return bool((unserved_share_by_period(x, sol) <= 1.0 - MET_FRACTION + 1e-12).all())


@dataclass(frozen=True)
class Shortfall:
    """One workload's unmet demand: the periods short, the units missed, the worst share."""

    workload: str
    unit: str
    periods: tuple[str, ...]
    units: float
    worst_share_fraction: float


def shortfalls(result: PlanResult) -> list[Shortfall]:
    """Workloads that miss 0.1% or more of their demand in some period, largest miss first."""
    res, sol = result.resolved, result.solution
    x, ax = res.inputs, res.axes
    share = unserved_share_by_period(x, sol)
    unserved = units_by_period(x, sol.unserved_tokens_per_s)
    units = res.scenario.demand.units
    rows = []
    for w, name in enumerate(ax.workloads):
        short = share[w] > 1.0 - MET_FRACTION + 1e-12
        if short.any():
            periods = tuple(p for p, s in zip(ax.periods, short, strict=True) if s)
            unit = "video seconds" if units[w] == "video_s" else "tokens"
            rows.append(
                Shortfall(name, unit, periods, float(unserved[w].sum()), float(share[w].max()))
            )
    return sorted(rows, key=lambda r: -r.worst_share_fraction)


def _span(periods: tuple[str, ...]) -> str:
    return periods[0] if len(periods) == 1 else f"{periods[0]}-{periods[-1]}"


def reasons(binding: list[dict[str, Any]], periods: tuple[str, ...], limit: int = 3) -> list[str]:
    """The binding limits that hold in the short periods (or hold throughout), largest first."""
    why = []
    for row in binding:
        period = row.get("period")
        if period is not None and period not in periods:
            continue
        where = row.get("site") or row.get("part") or ""
        label = {
            "grid_import_cap": f"grid at {where}",
            "dc_max": f"buildable IT capacity at {where}",
            "supply_cap": f"supply cap of {where}",
            "budget": "the budget",
            "domestic_share": "the domestic-share rule",
            "tpp_cap": f"the {row.get('country', 'buyer')} country TPP cap",
        }.get(row["constraint"], row["constraint"])
        text = f"{label} ({period})" if period else label
        if text not in why:
            why.append(text)
        if len(why) == limit:
            break
    return why


def share_text(fraction: float) -> str:
    """A share as a percent with two figures where it is small: a 0.12% shortfall must not
    read "0%" in a line that says demand is not met."""
    if fraction >= 0.1:
        return f"{fraction:.0%}"
    return f"{fraction:.1%}" if fraction >= 0.01 else f"{fraction:.2%}"


def verdict(result: PlanResult, binding: list[dict[str, Any]]) -> str:
    """One line a manager reads first: demand met, or what is short, when, and why."""
    short = shortfalls(result)
    if not short:
        return "demand met: every workload serves at least 99.9% of its demand in every period"
    parts = []
    for s in short:
        why = reasons(binding, s.periods)
        because = f"; binding: {', '.join(why)}" if why else ""
        parts.append(
            f"{s.workload} leaves up to {share_text(s.worst_share_fraction)} of its demand "
            f"unserved in "
            f"{_span(s.periods)} ({s.units:.3g} {s.unit} over the plan){because}"
        )
    return "DEMAND NOT MET: " + "; ".join(parts)


def penalty_per_unit_pv(x: CapacityInputs, w: int, y: int) -> float:
    """Present-value penalty of one unit (token, or video second) unserved in period y."""
    if video_rows(x)[w]:
        per_unit = x.unserved_penalty_per_video_minute / SECONDS_PER_MINUTE
    else:
        per_unit = x.unserved_penalty_per_mtok / TOKENS_PER_MTOK
    return float(per_unit * x.discount_fraction[y])


def served_instead(result: PlanResult, value: float, y: int | None) -> str | None:
    """When demand is short in period y (any period if None), a shadow price is the penalty's
    value of serving more: say how many more units it would serve, not what it would save.
    None when demand is met there, so the price is a real saving."""
    sol = result.dual_solution or result.solution
    x = result.resolved.inputs
    short = unserved_share_by_period(x, sol) > 1.0 - MET_FRACTION + 1e-12  # (W, Y)
    years = [y] if y is not None else list(range(short.shape[1]))
    cells = [(int(w), yy) for yy in years for w in np.nonzero(short[:, yy])[0]]
    if not cells:
        return None
    w, yy = max(cells, key=lambda c: penalty_per_unit_pv(x, *c))
    price = penalty_per_unit_pv(x, w, yy)
    if price <= 0:
        return None
    more = value / price
    short_units = float(units_by_period(x, sol.unserved_tokens_per_s)[w, yy])
    period = result.resolved.axes.periods[yy]
    if video_rows(x)[w]:
        minutes, left = more / SECONDS_PER_MINUTE, short_units / SECONDS_PER_MINUTE
        return (
            f"would generate about {minutes:,.3g} more minutes of video at the margin "
            f"({left:,.3g} minutes are short in {period})"
        )
    return (
        f"would serve about {more:,.3g} more tokens at the margin "
        f"({short_units:,.3g} tokens are short in {period})"
    )


def latency_label(x: CapacityInputs, w: int) -> str:
    """How a workload is served: every hour, within its day, or within H hours."""
    if not x.deferrable[w]:
        return "interactive (every hour)"
    h = None if x.deadline_h is None else float(x.deadline_h[w])
    return "batch (within its day)" if h is None or h >= 24 else f"batch (within {h:g} h)"


def peak_rows(result: PlanResult) -> list[dict[str, Any]]:
    """What each workload's peak costs in the last period: demand's busiest step against its
    weighted mean, and the parts the plan keeps busy on it at the busiest step against on
    average. `peak_idle_share_fraction` = 1 - mean/peak busy parts: the share of the capacity
    held for the workload's busiest hour that stands idle on average."""
    x, sol, ax = result.resolved.inputs, result.solution, result.resolved.axes
    y = len(ax.periods) - 1
    w_t = x.weight_h / x.weight_h.sum()
    busy = sol.parts_busy[:, :, :, y, :].sum(axis=(1, 2))  # (W, T)
    rows = []
    for w, name in enumerate(ax.workloads):
        demand = x.demand_tokens_per_s[w, y]
        mean_demand, mean_busy = float(demand @ w_t), float(busy[w] @ w_t)
        peak_busy = float(busy[w].max())
        rows.append(
            {
                "workload": name,
                "period": ax.periods[y],
                "latency": latency_label(x, w),
                "peak_to_mean_demand": float(demand.max() / mean_demand) if mean_demand else None,
                "busy_parts_peak": peak_busy,
                "busy_parts_mean": mean_busy,
                "peak_idle_share_fraction": 1.0 - mean_busy / peak_busy if peak_busy else None,
            }
        )
    return rows
