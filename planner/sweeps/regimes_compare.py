"""One scenario under several export-control regimes, side by side (`planner compare-regimes`).

A regime comparison is a sweep whose only parameter is `regime` (each case fixes one rule
snapshot for the whole plan, as a plan with a fixed regime does), run by `sweep.run_sweep`
on Dask, so it resumes like any sweep. Each regime's column then reads its case's run folder:
headline results from the sweep table, the mix (parts installed in the final period, summed over
sites) from the run's `fleet` table, the parts the rules did not allow in the first period from
its `parts` table (`export_status` "not allowed"), and the rule ids that decided purchases.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypedDict, Unpack

import pandas as pd

from models.common import Backend
from planner.errors import InputError, UnknownName
from planner.results.folders import CASES, DEFAULT_ROOT, Run, is_complete_run, read_run
from planner.rules.regimes import RegimeLibrary
from planner.sweeps.sweep import Sweep, SweepOutcome, SweepSpec, read_sweep, run_sweep

REGIME = "regime"
HEADLINE_ROWS: tuple[tuple[str, str], ...] = (
    ("net_present_cost", "currency (present value)"),
    ("cost_per_million_served_tokens", "currency per million tokens"),
    ("it_mw", "MW (final period, all sites)"),
    ("battery_mwh", "MWh (final period, all sites)"),
    ("unserved_tokens", "tokens over the plan"),
)


@dataclass(frozen=True)
class RegimeResult:
    """One regime's case: its headline results, its final-period mix and what it forbade."""

    regime: str
    case: str
    status: str
    error: str | None = None
    run: Path | None = None
    currency: str | None = None
    net_present_cost: float | None = None
    cost_per_million_served_tokens: float | None = None
    it_mw: float | None = None
    battery_mwh: float | None = None
    unserved_tokens: float | None = None
    final_period: str | None = None
    parts_installed: dict[str, float] = field(default_factory=dict)  # final period, by part
    forbidden_parts: list[str] | None = None  # None: the run has no `parts` table
    rules: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RegimeComparison:
    """Every regime's result, in the order asked, and the sweep folder that holds the runs."""

    scenario: str
    folder: Path
    outcome: SweepOutcome | None
    results: list[RegimeResult]


def check_regimes(regimes: Sequence[str], overlays: Sequence[Path] = ()) -> list[str]:
    """At least two distinct, known regime ids (unknown ones with a did-you-mean)."""
    names = [str(r).strip() for r in regimes]
    if len(names) < 2:
        raise InputError.option(
            "regime",
            f"{len(names)} regime given; a comparison needs two or more.",
            "name two or more regimes, e.g. us-2025-04 and us-2025-08.",
        )
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError.option(
            "regime", f"{', '.join(twice)} is given twice.", "name each regime once."
        )
    known = RegimeLibrary.load(overlays).regimes
    for name in names:
        if name not in known:
            raise UnknownName("export regime", name, list(known))
    return names


def default_compare_dir(scenario: Path, regimes: Sequence[str], root: Path = DEFAULT_ROOT) -> Path:
    """`root/compare-<scenario file stem>-<regime>-<regime>...`: rerunning finds its folder."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", "-".join([scenario.stem, *regimes])).strip("-.")
    return root / f"compare-{slug[:120]}"


class RegimePlanOptions(TypedDict, total=False):
    """How each regime's plan is solved: `regime_spec`'s options, passed through by
    `compare_regimes`."""

    backend: Backend
    mip_gap: float | None
    time_limit_s: float | None
    relax: bool
    overlays: Sequence[Path]


def regime_spec(
    scenario: Path,
    regimes: Sequence[str],
    *,
    backend: Backend = "cvxpy",
    mip_gap: float | None = None,
    time_limit_s: float | None = None,
    relax: bool = False,
    overlays: Sequence[Path] = (),
) -> SweepSpec:
    """The sweep of a regime comparison: `regime` varied over the (checked) regime ids."""
    return SweepSpec(
        scenario=Path(scenario),
        vary={REGIME: check_regimes(regimes, overlays)},
        backend=backend,
        mip_gap=mip_gap,
        time_limit_s=time_limit_s,
        relax=relax,
        overlays=tuple(overlays),
    )


def compare_regimes(
    scenario: Path,
    regimes: Sequence[str],
    *,
    out: Path | None = None,
    scheduler: str = "local",
    workers: int = 2,
    on_progress: Callable[[int, int, int], None] | None = None,
    **plan: Unpack[RegimePlanOptions],
) -> RegimeComparison:
    """Plan the scenario once per regime (a sweep over `regime`, each plan solved as `plan`
    says) and read the results back."""
    spec = regime_spec(scenario, regimes, **plan)
    checked = [str(r) for r in spec.vary[REGIME]]
    folder = out if out is not None else default_compare_dir(spec.scenario, checked)
    outcome = run_sweep(spec, folder, scheduler=scheduler, workers=workers, on_progress=on_progress)
    return read_comparison(outcome.folder, checked, outcome)


def read_comparison(
    folder: Path, regimes: Sequence[str], outcome: SweepOutcome | None = None
) -> RegimeComparison:
    """A finished regime sweep read back, one result per regime in the order given."""
    sweep = read_sweep(folder)
    return RegimeComparison(
        scenario=str(sweep.meta.get("scenario")),
        folder=Path(folder),
        outcome=outcome,
        results=regime_results(sweep, regimes),
    )


# --------------------------------------------------------------------------- reading results


def _number(value: Any) -> float | None:
    if value is None or pd.isna(value):
        return None
    return float(value)


def final_period(run: Run) -> str | None:
    """The plan's last period, as its summary lists the periods (`served_mtok_by_year`)."""
    periods = list(run.summary.get("served_mtok_by_year") or {})
    return str(periods[-1]) if periods else None


def final_mix(run: Run, period: str | None) -> dict[str, float]:
    """Parts installed in `period`, summed over sites, by part (from the `fleet` table)."""
    if period is None or not run.has_table("fleet"):
        return {}
    fleet = run.table("fleet")
    last = fleet[fleet["year"].astype(str) == period]
    if "kind" in last.columns:  # accelerators only: CPUs are not the mix the rules move
        last = last[last["kind"] != "cpu"]
    totals = last.groupby("part", sort=True)["units_count"].sum()
    return {str(part): float(units) for part, units in totals.items() if units > 1e-6}


def forbidden_parts(run: Run) -> list[str] | None:
    """Candidate parts the rules did not allow at any site in the first period."""
    if not run.has_table("parts"):
        return None
    parts = run.table("parts")
    if "export_status" not in parts.columns:
        return None
    return sorted(str(p) for p in parts.loc[parts["export_status"] == "not allowed", "part"])


def regime_result(sweep: Sweep, row: dict[str, Any]) -> RegimeResult:
    """One regime's column: headline results from its sweep row, and (when its run folder is
    complete) the final-period mix, the parts not allowed and the rules applied."""
    result = RegimeResult(
        regime=str(row[REGIME]),
        case=str(row["case"]),
        status=str(row["status"]),
        error=None if row.get("error") is None or pd.isna(row["error"]) else str(row["error"]),
    )
    if result.status != "ok":
        return result
    currency = row.get("currency")
    result = replace(  # the fields of HEADLINE_ROWS, by name
        result,
        currency=None if currency is None or pd.isna(currency) else str(currency),
        net_present_cost=_number(row.get("net_present_cost")),
        cost_per_million_served_tokens=_number(row.get("cost_per_million_served_tokens")),
        it_mw=_number(row.get("it_mw")),
        battery_mwh=_number(row.get("battery_mwh")),
        unserved_tokens=_number(row.get("unserved_tokens")),
    )
    folder = sweep.folder / CASES / str(row.get("run") or row["case"])
    if not is_complete_run(folder):
        return result
    run = read_run(folder)
    period = final_period(run)
    return replace(
        result,
        run=folder,
        final_period=period,
        parts_installed=final_mix(run, period),
        forbidden_parts=forbidden_parts(run),
        rules=[str(r) for r in run.summary.get("rules") or []],
    )


def regime_results(sweep: Sweep, regimes: Sequence[str]) -> list[RegimeResult]:
    """Each regime's result in the order given; a regime with no case in the sweep is an error."""
    table = sweep.table
    out = []
    for name in regimes:
        rows = table[table[REGIME].astype(str) == name].to_dict(orient="records")
        if not rows:
            raise InputError.one(
                sweep.folder,
                REGIME,
                f"the sweep has no case for regime '{name}'.",
                "compare the regimes again into this folder (finished cases are kept).",
            )
        out.append(regime_result(sweep, rows[-1]))
    return out


# --------------------------------------------------------------------------- presenting


def side_by_side(results: Sequence[RegimeResult]) -> list[dict[str, Any]]:
    """Rows `metric`, `unit`, then one column per regime: status, headline results, parts
    installed by part in the final period, parts not allowed, rules applied, errors."""
    columns = [r.regime for r in results]

    def row(metric: str, unit: str, values: Sequence[Any]) -> dict[str, Any]:
        return {"metric": metric, "unit": unit, **dict(zip(columns, values, strict=True))}

    currency = next((r.currency for r in results if r.currency), "")
    rows = [row("status", "", [r.status for r in results])]
    for name, unit in HEADLINE_ROWS:
        unit = unit.replace("currency", currency) if currency else unit
        rows.append(row(name, unit, [getattr(r, name) for r in results]))
    parts = sorted({p for r in results for p in r.parts_installed})
    periods = sorted({r.final_period for r in results if r.final_period})
    where = f"accelerators in {', '.join(periods)}" if periods else "accelerators"
    for part in parts:
        values = [r.parts_installed.get(part, 0.0) if r.run is not None else None for r in results]
        rows.append(row(f"parts_installed: {part}", where, values))
    if any(r.forbidden_parts is not None for r in results):
        rows.append(
            row(
                "parts_not_allowed",
                "first period, all sites",
                [
                    None if r.forbidden_parts is None else ", ".join(r.forbidden_parts) or "none"
                    for r in results
                ],
            )
        )
    rows.append(row("rules_applied", "rule ids", [", ".join(r.rules) or None for r in results]))
    if any(r.error for r in results):
        rows.append(row("error", "", [r.error for r in results]))
    return rows


def comparison_json(comparison: RegimeComparison) -> dict[str, Any]:
    """The stable JSON of `planner compare-regimes` (docs/cli.md)."""
    outcome = comparison.outcome
    return {
        "scenario": comparison.scenario,
        "sweep": str(comparison.folder),
        "solved": None if outcome is None else outcome.done,
        "failed": None if outcome is None else outcome.failed,
        "skipped": None if outcome is None else outcome.skipped,
        "regimes": [
            {
                "regime": r.regime,
                "case": r.case,
                "status": r.status,
                "error": r.error,
                "run": None if r.run is None else str(r.run),
                "currency": r.currency,
                **{name: getattr(r, name) for name, _ in HEADLINE_ROWS},
                "final_period": r.final_period,
                "parts_installed": r.parts_installed,
                "parts_not_allowed": r.forbidden_parts,
                "rules": r.rules,
            }
            for r in comparison.results
        ],
    }
