"""What the two watt levers did in a solved plan (docs/capacity_model.md, eqs. 19-21).

- `power_capping`: per site and year, the MWh a year saved at the meter by running busy parts
  under a cap (against the same parts busy at full power) and the million tokens a year that cost;
- `power_caps`: per part, site and year, the cap chosen (busy-hour-weighted mean of the caps the
  parts ran at, full power counted as 1.0) and the curve's basis;
- `grid_options`: per site with options, the connection chosen, the first period it imports,
  the curtailment hours asked and modelled, and how the dispatch rode through the events
  (import within the curtailed MW in every event step, battery discharge, unserved tokens).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.capacity import MW_PER_W, SECONDS_PER_HOUR, TOKENS_PER_MTOK
from models.capacity_flex import curtailed_hours, curtailment_steps
from planner.plan.result import PlanResult

_TOL = 1e-6


def power_capping_rows(result: PlanResult) -> list[dict[str, Any]]:
    """(19) per site and year: MWh a year saved at the meter and Mtok a year lost by capping."""
    x, sol, ax = result.resolved.inputs, result.solution, result.resolved.axes
    if x.power_cap_fraction is None or not sol.capped_busy.size:
        return []
    v = sol.capped_busy  # (W, P, S, Y, T, J)
    saved_w = x.active_w[:, None] - np.asarray(x.capped_active_w)  # (P, J)
    lost = x.tokens_per_s_per_part[:, :, None] * (1 - np.asarray(x.capped_throughput_fraction))
    saved_mwh = np.einsum("pj,st,t,wpsytj->sy", saved_w, x.pue, x.weight_h, v) * MW_PER_W
    lost_mtok = np.einsum("wpj,t,wpsytj->sy", lost, x.weight_h, v) * SECONDS_PER_HOUR
    return [
        {
            "site": site,
            "year": year,
            "mwh_saved_per_year": float(saved_mwh[s, y]),
            "mtok_lost_per_year": float(lost_mtok[s, y] / TOKENS_PER_MTOK),
        }
        for s, site in enumerate(ax.sites)
        for y, year in enumerate(ax.periods)
        if saved_mwh[s, y] > _TOL or lost_mtok[s, y] > _TOL
    ]


def power_cap_rows(result: PlanResult) -> list[dict[str, Any]]:
    """(19) per part, site and year with busy parts: the busy-hour-weighted mean cap chosen."""
    res, sol = result.resolved, result.solution
    x, ax = res.inputs, res.axes
    if x.power_cap_fraction is None or not sol.capped_busy.size:
        return []
    caps = np.asarray(x.power_cap_fraction)
    capped = np.einsum("t,wpsytj->psyj", x.weight_h, sol.capped_busy)  # busy part-hours
    full = np.einsum("t,wpsyt->psy", x.weight_h, sol.parts_busy)
    busy = full + capped.sum(axis=-1)
    mean = (full + capped @ caps) / np.where(busy > 0, busy, 1.0)
    basis = res.flex.cap_basis if res.flex else ()
    return [
        {
            "part": part,
            "site": site,
            "year": year,
            "cap_fraction_mean": float(mean[p, s, y]),
            "capped_share_fraction": float(capped[p, s, y].sum() / busy[p, s, y]),
            "lowest_cap_used_fraction": float(
                min([caps[j] for j in np.flatnonzero(capped[p, s, y] > _TOL)] or [1.0])
            ),
            "curve_basis": basis[p] if p < len(basis) else "",
        }
        for p, part in enumerate(ax.parts)
        for s, site in enumerate(ax.sites)
        for y, year in enumerate(ax.periods)
        if busy[p, s, y] > _TOL
    ]


def grid_option_rows(result: PlanResult) -> list[dict[str, Any]]:
    """(20-21) per site with options: the choice and how the dispatch met every event."""
    res, sol = result.resolved, result.solution
    x, ax = res.inputs, res.axes
    if x.grid_option_offered is None or not sol.grid_option_chosen.size:
        return []
    events = curtailment_steps(x)
    cap_mw = np.asarray(x.grid_option_cap_mw, dtype=float)
    kept_mw = np.asarray(x.grid_option_curtailed_mw, dtype=float)
    hours_h = np.asarray(x.grid_option_curtailment_h, dtype=float)
    modelled = curtailed_hours(x)
    names = res.flex.option_names if res.flex else ()
    rows = []
    for s in np.flatnonzero(np.asarray(x.grid_option_offered).any(axis=1)):
        o = int(np.argmax(sol.grid_option_chosen[s]))
        steps = np.flatnonzero(events[s, o])
        kept = float(kept_mw[s, o])
        imports = sol.grid_import_mw[s][:, steps]  # (Y, events)
        online = np.flatnonzero(sol.grid_import_mw[s].max(axis=1) > _TOL)
        rows.append(
            {
                "site": ax.sites[s],
                "option": names[s][o] if s < len(names) and o < len(names[s]) else str(o),
                "chosen_fraction": float(sol.grid_option_chosen[s, o]),
                "cap_mw": float(np.max(cap_mw[s, o])),
                "online_from": ax.periods[online[0]] if online.size else None,
                "curtailment_hours_per_year": float(hours_h[s, o]),
                "curtailment_hours_modelled": float(modelled[s, o]),
                "curtailed_to_mw": kept,
                "event_steps": len(steps),
                "event_import_max_mw": float(imports.max(initial=0.0)),
                "events_met": bool(np.all(imports <= kept + 1e-6)),
                "event_battery_mwh_per_year": float(
                    (sol.discharge_mw[s][:, steps] @ x.weight_h[steps]).max(initial=0.0)
                ),
                "event_unserved_mtok_per_year": float(
                    (sol.unserved_tokens_per_s[:, :, steps] @ x.weight_h[steps])
                    .sum(axis=0)
                    .max(initial=0.0)
                    * SECONDS_PER_HOUR
                    / TOKENS_PER_MTOK
                ),
            }
        )
    return rows


def flex_summary(result: PlanResult) -> dict[str, Any]:
    """The summary's keys for the watt levers (empty lists when a scenario uses neither)."""
    return {
        "power_capping": power_capping_rows(result),
        "power_caps": power_cap_rows(result),
        "grid_options": grid_option_rows(result),
    }
