"""The capacity plan's benchmark problems: flagship 1 resized by parts, years and sites.

Every problem is scenarios/cn_maas_2026.yaml (a Chinese MaaS provider: two workloads, six
candidate parts, five sites, 2026-2030, three representative days taken as weekdays and weekend
days) edited as YAML data and
resolved by `planner.plan.resolve`, so each carries the flagship's sourced figures and whatever
the resolver and the model add later. A size `pPyYsS` is built deterministically:

- **parts P**: the flagship's parts in file order, then the other catalogue parts alphabetically;
  the first P are candidates (P = 5 drops the H800 and its installed base; CPUs are never
  candidates: they serve no tokens). An added part takes the flagship's own lifetime and
  price-decline assumptions (those of its first part) and eight parts per server (the schema's
  default); an added part whose profile has no price is listed under `rules.banned_parts` (no
  price is invented; it stays in the model as a candidate the rules exclude, as export-banned
  parts do).
- **years Y**: the horizon 2026 .. 2026 + Y - 1; every table keyed by year (demand points, supply
  caps, grid connection dates) is cut to the horizon or holds its last listed value beyond 2030.
- **sites S**: the flagship's sites in file order, then copies: copy k of a site is named
  `<site>-copy<k>`, has its time-of-use hours shifted k hours later and no installed base. Demand
  scales with the sites: each flagship site carries a fifth of the flagship's demand and each
  copy k of one 5 % x k more, as in the site benchmark.

`method` `lp` solves the LP relaxation (continuous servers: the fair floor comparison); `milp`
solves the MILP to `MILP_GAP` (time limit `MILP_TIME_LIMIT_S`); `lp-decompose` and
`milp-decompose` solve the same problems by Benders decomposition (planner/plan/decompose.py, on
`DECOMPOSE_WORKERS` processes) against the same floor: HiGHS alone on the monolithic MPS file.
Both backends and HiGHS alone get the same options (the capacity model scales its token rows
itself, so none are needed for numerics).
"""

from __future__ import annotations

import copy
import functools
import json
import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planner.errors import InputError

if TYPE_CHECKING:
    from models.capacity import CapacityInputs
    from models.common import Backend
    from planner.bench.common import BenchCase, Method

PLAN_SCENARIO = "cn_maas_2026"
FLAGSHIP_SITES = 5
LOAD_STEP_FRACTION = 0.05  # each further copy of a site carries 5 % more demand
MILP_GAP = 0.005  # the flagship target's relative gap
MILP_TIME_LIMIT_S = 600.0
PLAN_METHODS: tuple[Method, ...] = ("lp", "milp", "lp-decompose", "milp-decompose")
DECOMPOSE_WORKERS = 2  # subproblem processes of a decomposed case (the 2-core target machine)
_SIZE = re.compile(r"^p(\d+)y(\d+)s(\d+)(?:d(\d+))?$")


@dataclass(frozen=True)
class PlanSize:
    """Candidate parts, plan years, sites and (when set) representative days of one benchmark
    problem; without days the flagship's own (3)."""

    parts: int
    years: int
    sites: int
    days: int | None = None

    @property
    def token(self) -> str:
        """The case's short name, e.g. p5y5s5 or p20y10s10d6."""
        days = "" if self.days is None else f"d{self.days}"
        return f"p{self.parts}y{self.years}s{self.sites}{days}"


# The grid varies one axis at a time around the middle case p5y5s5 (the flagship's years and
# sites with five parts), plus the largest corner: each axis's effect is read against one base.
GRID = (
    PlanSize(5, 5, 5),
    PlanSize(5, 1, 5),
    PlanSize(5, 10, 5),
    PlanSize(5, 5, 1),
    PlanSize(5, 5, 10),
    PlanSize(20, 5, 5),
    PlanSize(20, 10, 10),
)


def parse_plan_size(token: str) -> PlanSize:
    """'p5y5s5' -> PlanSize(5, 5, 5), 'p20y10s20d12' -> PlanSize(20, 10, 20, 12); parts 1..21
    (the catalogue), years 1..15, sites 1..50, representative days 1..28."""
    match = _SIZE.match(token.strip().lower())
    size = None
    if match:
        parts, years, sites, days = match.groups()
        size = PlanSize(int(parts), int(years), int(sites), None if days is None else int(days))
    if size is None or not (
        1 <= size.parts <= 21
        and 1 <= size.years <= 15
        and 1 <= size.sites <= 50
        and (size.days is None or 1 <= size.days <= 28)
    ):
        raise InputError.option(
            "sizes", f"'{token}' is not a plan size.",
            "write pPyYsS[dD] with parts 1..21, years 1..15, sites 1..50 and optionally "
            "representative days 1..28 (e.g. p5y5s5, p20y10s20d12), or 'grid' for the "
            "recorded grid.",
        )  # fmt: skip
    return size


def parse_plan_sizes(text: str) -> list[str]:
    """'grid' or 'p5y1s5,p20y10s10' -> size tokens, in order."""
    tokens = [t.strip().lower() for t in text.split(",") if t.strip()]
    if not tokens:
        raise InputError.option("sizes", f"'{text}' lists nothing.", "write e.g. p5y5s5.")
    out: list[str] = []
    for token in tokens:
        out += [s.token for s in GRID] if token == "grid" else [parse_plan_size(token).token]
    return list(dict.fromkeys(out))


# --- the scenario variants -------------------------------------------------------------------


def is_year_table(value: Any) -> bool:
    """A mapping keyed by calendar years (demand points, supply caps, connection dates)."""
    return (
        isinstance(value, dict)
        and bool(value)
        and all(isinstance(k, int) and 1900 < k < 2200 for k in value)
    )


def fit_year_tables(node: Any, end_year: int) -> Any:
    """Every year table cut to years <= end_year, or held at its last value up to end_year."""
    if is_year_table(node):
        kept = {k: fit_year_tables(v, end_year) for k, v in sorted(node.items()) if k <= end_year}
        if not kept:  # the first listed year lies past the horizon: nothing applies yet
            return {}
        last = max(kept)
        kept.update({y: copy.deepcopy(kept[last]) for y in range(last + 1, end_year + 1)})
        return kept
    if isinstance(node, dict):
        return {k: fit_year_tables(v, end_year) for k, v in node.items()}
    if isinstance(node, list):
        return [fit_year_tables(v, end_year) for v in node]
    return node


def candidate_parts(data: dict[str, Any], catalogue_ids: list[str]) -> list[str]:
    """The flagship's parts in file order, then the rest of the catalogue alphabetically."""
    own = [p["part"] for p in data["parts"]]
    return own + sorted(set(catalogue_ids) - set(own))


def choose_parts(data: dict[str, Any], n_parts: int) -> None:
    """Keep the first `n_parts` candidates (in place); added unpriced parts are banned."""
    from planner.catalogue.parts import Catalogue

    catalogue = Catalogue.load(())
    accelerators = [p.id for p in catalogue if p.kind != "cpu"]  # CPUs serve no tokens
    chosen = candidate_parts(data, accelerators)[:n_parts]
    template = data["parts"][0]
    specs = {p["part"]: p for p in data["parts"]}
    parts, banned = [], list(data["rules"].get("banned_parts", []))
    for part_id in chosen:
        if part_id in specs:
            parts.append(specs[part_id])
            continue
        parts.append(
            {
                "part": part_id,
                "lifetime_years": copy.deepcopy(template["lifetime_years"]),
                "price_decline_fraction_per_year": copy.deepcopy(
                    template.get("price_decline_fraction_per_year")
                ),
            }
        )
        if catalogue.parts[part_id].unit_price is None:
            banned.append(part_id)
    data["parts"] = parts
    data["rules"]["banned_parts"] = [b for b in banned if b in chosen]


def shift_hours(labels: list[Any], hours: int) -> list[Any]:
    """A 24-hour list of tariff labels shifted `hours` later: new[h] = old[h - hours]."""
    k = hours % len(labels)
    return labels[-k:] + labels[:-k] if k else list(labels)


def site_copy(site: dict[str, Any], k: int) -> dict[str, Any]:
    """Copy k >= 1 of a site: renamed, time-of-use hours shifted k hours later."""
    out = copy.deepcopy(site)
    out["name"] = f"{site['name']}-copy{k}"
    tou = out.get("grid", {}).get("energy_price", {}).get("tou")
    if isinstance(tou, dict):
        if isinstance(tou.get("hours"), list):
            tou["hours"] = shift_hours(tou["hours"], k)
        for month, labels in (tou.get("months") or {}).items():
            tou["months"][month] = shift_hours(labels, k)
    return out


def choose_sites(data: dict[str, Any], n_sites: int) -> float:
    """Keep or copy sites (in place); the demand multiple the chosen sites carry."""
    base = data["sites"]
    sites, multiple = [], 0.0
    for i in range(n_sites):
        k = i // len(base)
        sites.append(base[i % len(base)] if k == 0 else site_copy(base[i % len(base)], k))
        multiple += (1.0 + LOAD_STEP_FRACTION * k) / len(base)
    data["sites"] = sites
    names = {s["name"] for s in sites}
    for part in data["parts"]:
        if "installed" in part:
            part["installed"] = [e for e in part["installed"] if e["site"] in names]
    return multiple


def scale_demand(data: dict[str, Any], multiple: float) -> None:
    """Every workload's tokens (today's, its points, its ceiling) x `multiple`, in place."""
    for workload in data["demand"]["workloads"]:
        if isinstance(workload.get("tokens_per_day"), int | float):
            workload["tokens_per_day"] *= multiple
        growth = workload.get("growth", {})
        if isinstance(growth.get("points"), dict):
            growth["points"] = {k: v * multiple for k, v in growth["points"].items()}
        if isinstance(growth.get("ceiling_tokens_per_day"), int | float):
            growth["ceiling_tokens_per_day"] *= multiple


def variant_data(data: dict[str, Any], size: PlanSize) -> dict[str, Any]:
    """The flagship's YAML data resized to `size` (see the module docstring)."""
    out = copy.deepcopy(data)
    start = int(out["demand"]["horizon"]["start"])
    out["demand"]["horizon"]["end"] = start + size.years - 1
    out = fit_year_tables(out, start + size.years - 1)
    out["name"] = f"{out['name']}-{size.token}"
    choose_parts(out, size.parts)
    scale_demand(out, choose_sites(out, size.sites))
    if size.days is not None:
        out["representative_days"] = size.days
    return out


@functools.cache
def plan_inputs(token: str, relax: bool) -> CapacityInputs:
    """The resolved model inputs of the flagship resized to `token` (e.g. 'p5y5s5')."""
    from planner.plan.scenario import find_scenario, parse_scenario
    from planner.plan.solve import resolve
    from planner.yamlio import read_yaml

    path = find_scenario(PLAN_SCENARIO)
    scenario = parse_scenario(variant_data(read_yaml(path), parse_plan_size(token)), path)
    return resolve(scenario, relax=relax).inputs


# --- options, and the three child steps ------------------------------------------------------


def model_options(case: BenchCase) -> dict[str, Any]:
    """The case's options in our words; a MILP stops at `MILP_GAP` or `MILP_TIME_LIMIT_S`."""
    options = dict(case.options)
    if case.method.startswith("milp"):
        options.setdefault("mip_gap", MILP_GAP)
        options.setdefault("time_limit_s", MILP_TIME_LIMIT_S)
    return options


def highs_words(options: dict[str, Any]) -> dict[str, Any]:
    """Our option names (`mip_gap`, `time_limit_s`) as HiGHS's own, for HiGHS alone."""
    out = dict(options)
    if "mip_gap" in out:
        out["mip_rel_gap"] = out.pop("mip_gap")
    if "time_limit_s" in out:
        out["time_limit"] = float(out.pop("time_limit_s"))
    return out


def measure_plan(case: BenchCase) -> dict[str, Any]:
    """Child step 1: resolve (untimed), then build + solve + read back the plan (timed)."""
    from models.dispatch import solve_capacity as solve
    from planner.bench.common import peak_rss_mb

    x = plan_inputs(case.size, case.method.startswith("lp"))
    options = model_options(case)
    start = time.perf_counter()
    if case.method.endswith("-decompose"):
        from planner.plan.decompose import solve_decomposed

        sol, _ = solve_decomposed(
            x, mip_gap=options.get("mip_gap"), time_limit_s=options.get("time_limit_s"),
            workers=DECOMPOSE_WORKERS,
        )  # fmt: skip
    else:
        sol = solve(x, case.backend, case.solver, options)
    total_s = time.perf_counter() - start
    _, n_p, n_s, n_y, n_t = x.shape
    return {
        "build_s": sol.stats.build_s,
        "solve_s": sol.stats.solve_s,
        "total_s": total_s,
        "objective": sol.objective if math.isfinite(sol.objective) else None,
        "status": str(sol.status),
        "iterations": sol.stats.iterations,
        "mip_gap": sol.stats.mip_gap,
        "hours": n_t,
        "sites": n_s,
        "parts": n_p,
        "years": n_y,
        "peak_rss_mb": peak_rss_mb(),
    }


def write_plan_case_mps(case: BenchCase, path: Path) -> dict[str, Any]:
    """Child step 2: write the case's LP or MILP as MPS, and beside it the HiGHS options."""
    from planner.plan.mps import write_plan_mps

    x = plan_inputs(case.size, case.method.startswith("lp"))
    start = time.perf_counter()
    write_plan_mps(x, case.backend, path)
    seconds = time.perf_counter() - start
    options_path(path).write_text(json.dumps(highs_words(model_options(case))))
    return {"mps_write_s": seconds}


def options_path(mps: Path) -> Path:
    """The JSON file beside an MPS file that holds the HiGHS options the model used."""
    return Path(mps).with_suffix(".options.json")


def measure_plan_highs_alone(path: Path) -> dict[str, Any]:
    """Child step 3: HiGHS alone on the MPS file, with the options the model used."""
    from planner.bench.common import measure_highs_alone

    return measure_highs_alone(path, json.loads(options_path(path).read_text()))


def plan_cases(
    sizes: Iterable[str],
    backends: Iterable[Backend],
    solvers: Iterable[str] = ("highs",),
    methods: Iterable[Method] = ("lp",),
    options: dict[str, Any] | None = None,
) -> list[BenchCase]:
    """Every combination of plan size, backend, solver and method (`lp`, `milp`)."""
    from planner.bench.common import BenchCase

    return [
        BenchCase(
            backend,
            token,
            parse_plan_size(token).sites,
            method,
            solver,
            model="plan",
            options=dict(options or {}),
        )
        for token in sizes
        for method in methods
        for backend in backends
        for solver in solvers
    ]
