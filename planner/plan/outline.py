"""What a plan would hold, read from a resolved scenario without solving it (`planner scenario
check`): the years, the workloads and their demand, the parts each site may buy in each year
under the rules (with fees and supply caps), the sites, the rule snapshots used and the notes.

Also names list entries by their key in problems (`parts.h20.lifetime_years` rather than
`parts[3].lifetime_years`), so an error points at the entry a person wrote.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from planner.errors import InputError, Problem
from planner.plan.headline import latency_label
from planner.plan.resolve import ResolvedPlan

# list key -> the field that names its entries
ENTRY_NAMES = {"parts": "part", "sites": "name", "serving": "workload", "workloads": "name"}


def keyed_field(field: str, data: Any) -> str:
    """`parts[3].lifetime_years` -> `parts.h20.lifetime_years` where entry 3 of `parts` in
    `data` names itself (`part: h20`); indices into unnamed lists are kept."""
    out: list[str] = []
    node = data
    for token in re.findall(r"[^.\[\]]+|\[\d+\]", field):
        if token.startswith("["):
            index = int(token[1:-1])
            key = ENTRY_NAMES.get(out[-1] if out else "")
            item = node[index] if isinstance(node, list) and index < len(node) else None
            name = item.get(key) if isinstance(item, Mapping) and key else None
            out.append(str(name) if isinstance(name, str | int) and name != "" else token)
            node = item
        else:
            out.append(token)
            node = node.get(token) if isinstance(node, Mapping) else None
    return ".".join(out).replace(".[", "[")


def keyed_error(error: InputError, data: Any) -> InputError:
    """The same problems with list entries named by their key."""
    return InputError(
        [Problem(p.file, keyed_field(p.field, data), p.problem, p.fix) for p in error.problems]
    )


def placeholder_count(data: Any) -> int:
    """Figures still citing `source: placeholder` (written by `planner scenario new`)."""
    if isinstance(data, Mapping):
        own = 1 if data.get("source") == "placeholder" and "value" in data else 0
        return own + sum(placeholder_count(v) for k, v in data.items() if k != "sources")
    if isinstance(data, list):
        return sum(placeholder_count(v) for v in data)
    return 0


def _per_day(res: ResolvedPlan, w: int, y: int) -> float:
    """Demand of workload w in period y per day as projected (tokens, or video seconds)."""
    demand = res.scenario.demand
    units = demand.units or ("tokens",) * len(demand.workload_names)
    table = demand.video_s_per_day if units[w] == "video_s" else demand.tokens_per_day
    assert table is not None
    return float(table[w, y])


def workload_rows(res: ResolvedPlan) -> list[dict[str, Any]]:
    """One row per workload: how it is served and its demand in the first and last year."""
    x, ax = res.inputs, res.axes
    serving = {s.workload: s for s in res.scenario.raw.serving}
    units = res.scenario.demand.units or ("tokens",) * len(ax.workloads)
    rows = []
    for w, name in enumerate(ax.workloads):
        unit = "video_s" if units[w] == "video_s" else "tokens"
        rows.append(
            {
                "workload": name,
                "profile": serving[name].profile if name in serving else None,
                "latency": latency_label(x, w),
                f"{unit}_per_day_{ax.periods[0]}": _per_day(res, w, 0),
                f"{unit}_per_day_{ax.periods[-1]}": _per_day(res, w, len(ax.periods) - 1),
            }
        )
    return rows


def part_status(res: ResolvedPlan, p: int, y: int) -> dict[str, Any]:
    """Whether part p may be bought in period y, where, at what fee and up to what cap."""
    x, ax = res.inputs, res.axes
    sites = [ax.sites[s] for s in np.flatnonzero(x.allowed[p, :, y])]
    cap = float(x.supply_cap_parts[p, y])
    return {
        "sites": sites,
        "fee_fraction": float(x.price_uplift_fraction[p, y]),
        "supply_cap_parts": cap if np.isfinite(cap) else None,
    }


def status_text(status: dict[str, Any], n_sites: int) -> str:
    """'yes', 'no', '2/5 sites' and ', +25% fees', ', cap 20,000' as they apply."""
    n = len(status["sites"])
    text = "no" if n == 0 else ("yes" if n == n_sites else f"{n}/{n_sites} sites")
    if n and status["fee_fraction"] > 0:
        text += f", +{status['fee_fraction']:.0%} fees"
    if n and status["supply_cap_parts"] is not None:
        text += f", cap {status['supply_cap_parts']:,.0f}"
    return text


def part_rows(res: ResolvedPlan) -> list[dict[str, Any]]:
    """One row per candidate part: domestic or not, its status in each period, and the sites
    that may never buy it (when some may)."""
    x, ax = res.inputs, res.axes
    rows = []
    for p, part in enumerate(ax.parts):
        row: dict[str, Any] = {"part": part, "domestic": bool(x.domestic[p])}
        for y, period in enumerate(ax.periods):
            row[period] = status_text(part_status(res, p, y), len(ax.sites))
        never = [ax.sites[s] for s in np.flatnonzero(~x.allowed[p].any(axis=1))]
        row["never_at"] = ", ".join(never) if 0 < len(never) < len(ax.sites) else ""
        rows.append(row)
    return rows


def site_rows(res: ResolvedPlan) -> list[dict[str, Any]]:
    """One row per site: where, how large it is and may grow, its grid, PUE and energy price
    (mean over the representative hours, after a forced power subsidy)."""
    x, ax = res.inputs, res.axes
    raw = {s.name: s for s in res.scenario.raw.sites}
    rows = []
    for s, name in enumerate(ax.sites):
        grid = x.grid_import_cap_mw[s]
        first = next((ax.periods[y] for y in range(len(grid)) if grid[y] > 0), None)
        rows.append(
            {
                "site": name,
                "country": raw[name].country if name in raw else None,
                "province": raw[name].province if name in raw else None,
                "it_existing_mw": float(x.dc_existing_mw[s]),
                "it_max_mw": float(x.dc_max_mw[s]) if np.isfinite(x.dc_max_mw[s]) else None,
                "grid_import_cap_mw": float(grid.max()),
                "grid_from": first,
                "pue": round(float(x.pue[s] @ x.weight_h / x.weight_h.sum()), 4),
                "price_per_mwh": round(
                    float(x.price_per_mwh[s].mean(axis=0) @ x.weight_h) / float(x.weight_h.sum()),
                    2,
                ),
                "power_subsidy_fraction": float(res.power_subsidy_fraction[s].max()),
            }
        )
    return rows


def outline(res: ResolvedPlan, data: Any) -> dict[str, Any]:
    """The documented JSON of `planner scenario check` (docs/cli.md)."""
    ax = res.axes
    return {
        "scenario": res.scenario.name,
        "file": str(res.scenario.path),
        "currency": res.currency,
        "years": list(ax.periods),
        "representative_days": len(set(res.inputs.day.tolist())),
        "workloads": workload_rows(res),
        "parts": part_rows(res),
        "parts_detail": {
            part: {period: part_status(res, p, y) for y, period in enumerate(ax.periods)}
            for p, part in enumerate(ax.parts)
        },
        "sites": site_rows(res),
        "rules": list(res.regimes),
        "placeholders": placeholder_count(data),
        "notes": list(res.notes),
    }
