"""Watts as a lever, resolved: power caps per part and grid options per site (model eqs. 19-21).

- `power_capping:` in a scenario lets busy parts run at caps below full power; each part's curve
  comes from `workload_profiles/serving/power_caps.yaml` (planner.serving.power_cap) at the busy
  watts the serving model gives it.
- `sites[i].grid.options` lists the connections a site may take; `grid.regional_load` names a
  file of the regional grid's mean load by month and local hour, expanded to the weather year's
  8,760 hours and clustered with the tariffs, so each representative step carries the grid's load
  and the curtailment events fall on its peaks.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import Field

from planner.catalogue.parts import Part
from planner.errors import InputError
from planner.plan.resolve_sites import SitesTable
from planner.plan.resolver import Resolver
from planner.provenance import Confidence, SourceIn
from planner.schema import Bounds, StrictModel
from planner.serving.power_cap import load_power_caps
from planner.timeseries import HOURS_PER_YEAR
from planner.yamlio import read_yaml, validate


class RegionalLoadFile(StrictModel):
    """A regional grid's mean load (MW) by month (12 rows) and local hour (24 columns)."""

    name: str
    timezone: str
    source: str
    confidence: Confidence
    note: str | None = None
    # A balancing area's load: Duke Energy Carolinas 2024 is 8,570 to 18,644 MW; the largest
    # grids peak near 1.5 TW (China's), the largest US area (PJM) near 150 GW.
    monthly_hourly_mw: Annotated[
        list[list[float]],
        Bounds("", hard=(0, 5_000_000), typical=(0, 500_000), what="a regional load in MW"),
        Field(min_length=12, max_length=12),
    ]
    sources: dict[str, SourceIn] = {}


@dataclass(frozen=True)
class FlexTable:
    """What the summary needs to name the levers: option names per site, curve basis per part."""

    option_names: tuple[tuple[str, ...], ...]  # (S,) names of each site's options, in order
    cap_basis: tuple[str, ...]  # (P,) "own-series" or "transferred" per part ("" when off)


def hourly_load(table: list[list[float]], year: int) -> np.ndarray:
    """(8,760,) MW of each local hour of `year` from a (12, 24) month x hour table."""
    start = dt.datetime(year, 1, 1)
    hours = [start + dt.timedelta(hours=h) for h in range(HOURS_PER_YEAR)]
    return np.array([table[t.month - 1][t.hour] for t in hours], dtype=float)


def read_regional_loads(r: Resolver) -> dict[str, np.ndarray]:
    """Each site's regional load as 8,760 local hours, by site name (sites without one: none)."""
    out: dict[str, np.ndarray] = {}
    for i, site in enumerate(r.raw.sites):
        ref = site.grid.regional_load
        if ref is None:
            continue
        path = Path(r.path).parent / ref.file
        at = f"sites[{i}].grid.regional_load.file"
        if not path.is_file():
            r.problem(at, f"'{ref.file}' is not a file beside the scenario.", "fix the path.")
            continue
        try:
            raw = validate(RegionalLoadFile, read_yaml(path), path)
        except InputError as exc:
            r.problems.extend(exc.problems)
            continue
        if any(len(row) != 24 or min(row) < 0 for row in raw.monthly_hourly_mw):
            r.problem(at, f"{path.name}: monthly_hourly_mw needs 12 rows of 24 MW >= 0.",
                      "give one mean MW per local hour for each month.")  # fmt: skip
            continue
        out[site.name] = hourly_load(raw.monthly_hourly_mw, r.raw.weather_year)
        r.files_read.append(path.resolve())
    return out


def _option_row(r: Resolver, i: int, j: int, import_cap: float) -> tuple[np.ndarray, float, float]:
    """(Y,) MW of option j of site i by period (0 before it is available, at most the site's
    import cap), the MW it keeps during an event and its hours a year."""
    opt = r.raw.sites[i].grid.options[j]
    at = f"sites[{i}].grid.options[{j}]"
    cap = r.reader.quantity(f"{at}.cap", opt.cap, "power") or 0.0
    kept = 0.0 if opt.curtailed_to is None else r.reader.quantity(
        f"{at}.curtailed_to", opt.curtailed_to, "power") or 0.0  # fmt: skip
    hours = r.number(f"{at}.curtailment_hours_per_year", opt.curtailment_hours_per_year) or 0.0
    if not 0 <= hours <= HOURS_PER_YEAR:
        r.problem(f"{at}.curtailment_hours_per_year", f"{hours:g} is not in [0, 8760].",
                  "give the hours a year the grid may call.")  # fmt: skip
    by_year = r.step_by_period({opt.available_from: min(cap, import_cap)}, f"{at}.available_from")
    return by_year, min(kept, cap), hours


def grid_option_fields(
    r: Resolver, sites: SitesTable, load_rep: dict[str, np.ndarray], n_t: int
) -> tuple[SitesTable, dict[str, Any], tuple[tuple[str, ...], ...]]:
    """The sites table with each optioned site's cap at the largest option by period, and the
    model's option arrays (None without options); option names per site."""
    raw_sites = r.raw.sites
    n_o = max((len(s.grid.options) for s in raw_sites), default=0)
    names = tuple(tuple(o.name for o in s.grid.options) for s in raw_sites)
    if not n_o:
        return sites, {}, names
    n_s, n_y = len(raw_sites), len(r.horizon.labels)
    offered = np.zeros((n_s, n_o), dtype=bool)
    cap, kept, hours = np.zeros((n_s, n_o, n_y)), np.zeros((n_s, n_o)), np.zeros((n_s, n_o))
    grid = sites.values["grid"].copy()
    for i, site in enumerate(raw_sites):
        if not site.grid.options:
            continue
        if site.grid.available_from:
            r.problem(f"sites[{i}].grid.available_from", "is given beside grid options.",
                      "give each option its own available_from, and drop this table.")  # fmt: skip
        import_cap = float(np.nanmax(grid[i])) if np.isfinite(grid[i]).any() else math.inf
        for j in range(len(site.grid.options)):
            offered[i, j] = True
            cap[i, j], kept[i, j], hours[i, j] = _option_row(r, i, j, import_cap)
        grid[i] = cap[i].max(axis=0)
        if hours[i].max() > 0 and site.name not in load_rep:
            r.problem(f"sites[{i}].grid.regional_load", "is missing: a curtailable option's "
                      "events fall on the regional grid's peak hours.",
                      "add regional_load: {file: <month x hour load YAML>}.")  # fmt: skip
    load = np.array([load_rep.get(s.name, np.zeros(n_t)) for s in raw_sites])
    fields = {
        "grid_option_offered": offered,
        "grid_option_cap_mw": cap,
        "grid_option_curtailed_mw": kept,
        "grid_option_curtailment_h": hours,
        "grid_load_mw": load,
    }
    return replace(sites, values={**sites.values, "grid": grid}), fields, names


def power_cap_fields(
    r: Resolver, parts: Sequence[Part], part_in: dict[str, Any], overlays: Sequence[Path]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """(19) the caps below full power and each part's watts and throughput at them (none when
    the scenario does not allow capping), from the parts' `active_w` and `idle_w` model fields;
    the curve basis per part."""
    active_w, idle_w = part_in["active_w"], part_in["idle_w"]
    spec = r.raw.power_capping
    if spec is None or not spec.allowed or not parts:
        return {}, ()
    try:
        table = load_power_caps(overlays)
    except InputError as exc:
        r.problems.extend(exc.problems)
        return {}, ()
    caps = sorted(set(spec.caps_fraction))
    curves = []
    for p, part in enumerate(parts):
        try:
            curves.append(table.curve(part, float(active_w[p]), caps))
        except InputError as exc:
            r.problems.extend(exc.problems)
            return {}, ()
    watts = np.array([np.maximum(c.busy_w, idle_w[p]) for p, c in enumerate(curves)])
    fields = {
        "power_cap_fraction": np.array(caps),
        "capped_active_w": np.minimum(watts, active_w[:, None]),
        "capped_throughput_fraction": np.array([c.throughput_fraction for c in curves]),
    }
    return fields, tuple(c.basis for c in curves)
