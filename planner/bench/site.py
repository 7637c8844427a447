"""Benchmark harness: build, solve and total seconds of each backend against HiGHS alone.

Every case runs in fresh child processes (`python -m planner.bench.child <step> <case>`), so that
no import, cache or heap of one case colours another and each child's peak resident memory is its
own:

1. `model`: build the inputs (untimed), then build + solve + read back the solution (timed), and
   report the seconds, the objective and the child's peak RSS (`resource.getrusage`, self and
   its worker processes).
2. `mps`: build the same joint LP again and write it to an MPS file (`models.mps`).
3. `highs`: HiGHS alone reads that file and solves it with the same options; only the solve is
   the floor (reading the file is reported apart).

Inputs are the shipped example sites (scenarios/sites/) alternated, each further copy with its IT
load scaled up 5 % and its prices shifted by one hour per copy, so no two blocks are identical
(each keeps its own currency: a multi-site objective is a checksum, not money). A
size is either chronological hours from 1 January (`168`, `2190`, `8760`), each hour standing for
8,760 / H hours of the year, or representative days (`rep:12`, `rep:24`).

The capacity plan's cases (`model="plan"`, sizes `p5y5s5`, methods `lp`/`milp`) run through the
same three steps; `planner.bench.plan` builds their problems and measures them.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from models.common import Backend
from models.site_energy import SiteEnergyInputs
from planner.bench.common import (
    BACKENDS,
    BenchCase,
    Method,
    measure_highs_alone,
    peak_rss_mb,
)
from planner.errors import InputError

__all__ = ["BACKENDS", "BenchCase", "Method", "measure_highs_alone", "peak_rss_mb"]

METHODS: tuple[Method, ...] = ("joint", "apart")
Choice = TypeVar("Choice", bound=str)
HOURS_PER_YEAR = 8760
SITE_FILES = ("north_carolina_greensboro.yaml", "guangdong_zhongshan.yaml")
LOAD_STEP_FRACTION = 0.05  # each further copy of a shipped site carries 5 % more IT load
# Keys of every result row, in table order (docs/benchmarks.md documents each).
ROW_KEYS = (
    "model", "backend", "solver", "method", "size", "hours", "sites", "parts", "years", "build_s",
    "solve_s", "total_s", "highs_alone_s", "ratio_to_highs", "peak_rss_mb", "objective",
    "highs_objective", "status", "mip_gap", "iterations", "highs_iterations", "rows", "cols",
    "nonzeros", "highs_read_s", "mps_write_s", "repeats", "load_avg_1min",
)  # fmt: skip


# --- parsing the command line's lists ------------------------------------------------------------


def parse_sizes(text: str) -> list[str]:
    """'168,2190,rep:12' -> ['168', '2190', 'rep:12']; hours in 24..8760, days in 1..365."""
    sizes = []
    for token in _tokens(text, "sizes"):
        if token.startswith("rep:") and token[4:].isdigit() and 1 <= int(token[4:]) <= 365:
            sizes.append(f"rep:{int(token[4:])}")
        elif token.isdigit() and 24 <= int(token) <= HOURS_PER_YEAR:
            sizes.append(str(int(token)))
        else:
            raise InputError.option(
                "sizes", f"'{token}' is not a size.",
                "write hours from 1 January (24 to 8760) or representative days 'rep:N' "
                "(N in 1..365), comma-separated, e.g. 168,2190,8760,rep:12.",
            )  # fmt: skip
    return sizes


def parse_sites(text: str) -> list[int]:
    """'1,5,10' -> [1, 5, 10]; each a count from 1 to 50."""
    counts = []
    for token in _tokens(text, "sites"):
        if not (token.isdigit() and 1 <= int(token) <= 50):
            raise InputError.option(
                "sites", f"'{token}' is not a site count.",
                "write whole numbers from 1 to 50, comma-separated, e.g. 1,5,10.",
            )  # fmt: skip
        counts.append(int(token))
    return counts


def parse_choices(text: str, option: str, known: Sequence[Choice]) -> list[Choice]:
    """A comma-separated subset of `known`, e.g. 'cvxpy,pyomo' for the `backends` parameter;
    each choice comes back as the member of `known` it names (so typed as they are)."""
    chosen = _tokens(text, option)
    unknown = [t for t in chosen if t not in known]
    if unknown:
        raise InputError.option(
            option, f"'{unknown[0]}' is not one of {', '.join(known)}.",
            f"write a comma-separated subset of {', '.join(known)}.",
        )  # fmt: skip
    return [next(k for k in known if k == t) for t in chosen]


def _tokens(text: str, option: str) -> list[str]:
    tokens = [t.strip().lower() for t in text.split(",") if t.strip()]
    if not tokens:
        raise InputError.option(option, f"'{text}' lists nothing.", "give a value.")
    return tokens


def cases(
    sizes: Iterable[str],
    sites: Iterable[int],
    backends: Iterable[Backend],
    solvers: Iterable[str] = ("highs",),
    methods: Iterable[Method] = METHODS,
    options: dict[str, Any] | None = None,
) -> list[BenchCase]:
    """Every combination; `apart` only where there is more than one site to take apart."""
    return [
        BenchCase(backend, size, n, method, solver, options=dict(options or {}))
        for size in sizes
        for n in sites
        for backend in backends
        for solver in solvers
        for method in methods
        if method == "joint" or n > 1
    ]


# --- inputs --------------------------------------------------------------------------------------


def first_hours(x: SiteEnergyInputs, n_hours: int) -> SiteEnergyInputs:
    """The first `n_hours` of a full-year input, each hour weighted to stand for 8,760 / H hours.

    Storage wraps over the slice; demand-charge periods are renumbered to those present and
    charged so that the slice's peaks cover twelve months in all.
    """
    if n_hours == x.n_steps:
        return x
    keep = slice(0, n_hours)
    present, period = np.unique(x.billing_period[keep], return_inverse=True)
    months = x.billing_period_months[present]
    hourly: dict[str, Any] = {
        name: np.asarray(getattr(x, name))[keep]
        for name in (
            "day", "it_load_mw", "pue", "critical_load_mw", "price_per_mwh",
            "export_price_per_mwh", "emission_t_per_mwh", "solar_capacity_factor",
        )
    }  # fmt: skip
    return replace(
        x,
        weight_h=np.full(n_hours, HOURS_PER_YEAR / n_hours),
        prev_step=np.roll(np.arange(n_hours), 1),
        billing_period=period.astype(int),
        billing_period_months=months * (12.0 / months.sum()),
        **hourly,
    )


def site_variant(x: SiteEnergyInputs, copy: int) -> SiteEnergyInputs:
    """The `copy`-th variant of a site: IT load x (1 + 5 % x copy), prices shifted `copy` hours."""
    if copy == 0:
        return x
    scale = 1.0 + LOAD_STEP_FRACTION * copy
    return replace(
        x,
        it_load_mw=x.it_load_mw * scale,
        it_capacity_mw=x.it_capacity_mw * scale,
        critical_load_mw=x.critical_load_mw * scale,
        price_per_mwh=np.roll(x.price_per_mwh, copy),
        export_price_per_mwh=np.roll(x.export_price_per_mwh, copy),
    )


def bench_inputs(size: str, n_sites: int) -> list[SiteEnergyInputs]:
    """`n_sites` site inputs at `size`: the shipped sites alternated, copies varied."""
    from planner.paths import shipped_dir
    from planner.sites.site import load_site, site_inputs

    folder = shipped_dir("scenarios") / "sites"
    loaded = [load_site(folder / name) for name in SITE_FILES[: min(n_sites, len(SITE_FILES))]]
    base: list[SiteEnergyInputs] = []
    for site in loaded:
        if size.startswith("rep:"):
            base.append(site_inputs(site, int(size[4:]))[0])
        else:
            base.append(first_hours(site_inputs(site, "full")[0], int(size)))
    return [site_variant(base[i % len(base)], i // len(base)) for i in range(n_sites)]


# --- the child processes -------------------------------------------------------------------------


def measure_model(case: BenchCase) -> dict[str, Any]:
    """Child step 1: time build + solve + read back of the case; peak RSS right after."""
    from models.decompose import solve_apart, solve_joint
    from models.dispatch import solve_site_energy as solve

    inputs = bench_inputs(case.size, case.sites)
    worker_mb = 0.0
    start = time.perf_counter()
    if case.method == "apart":
        solved = solve_apart(inputs, case.backend, case.solver, case.options)
        build_s, solve_s, status = solved.stats.build_s, solved.stats.solve_s, solved.status
        objective, iterations = solved.objective, solved.stats.iterations
        worker_mb = solved.worker_peak_rss_mb or 0.0
    elif case.sites == 1:
        one = solve(inputs[0], case.backend, case.solver, case.options)
        build_s, solve_s, status = one.stats.build_s, one.stats.solve_s, one.status
        objective, iterations = one.objective, one.stats.iterations
    else:
        solved = solve_joint(inputs, case.backend, case.solver, case.options)
        build_s, solve_s, status = solved.stats.build_s, solved.stats.solve_s, solved.status
        objective, iterations = solved.objective, solved.stats.iterations
    total_s = time.perf_counter() - start
    return {
        "build_s": build_s,
        "solve_s": solve_s,
        "total_s": total_s,
        "objective": objective,
        "status": str(status),
        "iterations": iterations,
        "hours": inputs[0].n_steps,
        "peak_rss_mb": max(peak_rss_mb(), worker_mb),
    }


def write_case_mps(case: BenchCase, path: Path) -> dict[str, Any]:
    """Child step 2: build the case's joint LP in its backend and write it as MPS."""
    from models.decompose import build_joint
    from models.mps import write_mps

    inputs = bench_inputs(case.size, case.sites)
    start = time.perf_counter()
    write_mps(build_joint(inputs, case.backend), path)
    return {"mps_write_s": time.perf_counter() - start}


# --- the parent ----------------------------------------------------------------------------------


class ChildFailed(RuntimeError):
    """A benchmark child exited with an error or ran out of time."""


def run_child(step: str, case: BenchCase, *extra: str, timeout_s: float) -> dict[str, Any]:
    """Run one child step in a fresh interpreter and return the JSON it printed last."""
    command = [sys.executable, "-m", "planner.bench.child", step, json.dumps(asdict(case)), *extra]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ChildFailed(f"{step} step exceeded {timeout_s:.0f} s") from exc
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise ChildFailed(f"{step} step failed: {tail[0]}")
    return json.loads(lines[-1])


def floor_key(case: BenchCase) -> tuple[Any, ...]:
    """Cases that share an LP share its HiGHS-alone floor (joint and apart of one problem; a
    plan's LP and MILP are different problems)."""
    return (
        case.model,
        case.backend,
        case.size,
        case.sites,
        case.method if case.model == "plan" else "",
        json.dumps(case.options, sort_keys=True),
    )


def fastest(results: Sequence[dict[str, Any]], key: str) -> dict[str, Any]:
    """The repeat with the smallest `key`: the least disturbed by other work on the machine."""
    return min(results, key=lambda r: r[key])


def run_case(
    case: BenchCase,
    floors: dict[tuple[Any, ...], dict[str, Any]],
    workdir: Path,
    timeout_s: float = 3600.0,
    repeats: int = 1,
) -> dict[str, Any]:
    """Measure one case and its floor (reusing a floor already measured), each `repeats` times in
    fresh processes, keeping the fastest of each; one result row."""
    row: dict[str, Any] = {key: None for key in ROW_KEYS}
    row.update(
        model=case.model, backend=case.backend, solver=case.solver, method=case.method,
        size=case.size, sites=case.sites, repeats=repeats, load_avg_1min=os.getloadavg()[0],
    )  # fmt: skip
    try:
        runs = [run_child("model", case, timeout_s=timeout_s) for _ in range(repeats)]
        row.update(fastest(runs, "total_s"))
        row["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
        key = floor_key(case)
        if key not in floors and case.solver == "highs":
            name = f"{case.model}-{case.backend}-{case.size.replace(':', '')}-{case.sites}"
            path = workdir / f"{name}-{case.method}.mps"
            floor = run_child("mps", case, str(path), timeout_s=timeout_s)
            alone = [
                run_child("highs", case, str(path), timeout_s=timeout_s) for _ in range(repeats)
            ]
            floor.update(fastest(alone, "highs_alone_s"))
            path.unlink(missing_ok=True)
            path.with_suffix(".options.json").unlink(missing_ok=True)
            floors[key] = floor
        row.update(floors.get(key, {}))
    except ChildFailed as exc:
        row["status"] = f"failed: {exc}"
    if row.get("highs_alone_s") and row.get("total_s") is not None:
        row["ratio_to_highs"] = row["total_s"] / row["highs_alone_s"]
    row.pop("highs_status", None)
    return row


def run(
    bench_cases: Sequence[BenchCase],
    on_row: Callable[[dict[str, Any]], None] | None = None,
    timeout_s: float = 3600.0,
    repeats: int = 1,
) -> list[dict[str, Any]]:
    """Measure every case in order, fastest of `repeats`; `on_row` sees each row as it lands."""
    floors: dict[tuple[Any, ...], dict[str, Any]] = {}
    rows = []
    with tempfile.TemporaryDirectory(prefix="planner-bench-") as tmp:
        for case in bench_cases:
            row = run_case(case, floors, Path(tmp), timeout_s, repeats)
            rows.append(row)
            if on_row is not None:
                on_row(row)
    return rows


def machine() -> dict[str, Any]:
    """What the numbers were measured on: cores, memory, library versions."""
    import platform

    import cvxpy
    import highspy
    import pyomo.version

    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    return {
        "cpu_count": os.cpu_count(),
        "memory_gb": round(memory_gb, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cvxpy": cvxpy.__version__,
        "pyomo": pyomo.version.version,
        "highspy": _highs_version(highspy),
        "load_average_1min_at_start": round(os.getloadavg()[0], 2),
    }


def _highs_version(highspy: Any) -> str:
    h = highspy.Highs()
    return f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"


def is_finite_number(value: Any) -> bool:
    """True for a real number that is neither NaN nor infinite."""
    return isinstance(value, int | float) and math.isfinite(value)
