"""`planner compare-regimes SCENARIO --regime A --regime B ...`: one plan per export regime, run
as a sweep on Dask (so it resumes), reported side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.completion import complete_regime
from cli.options import (
    BackendChoice,
    BackendOpt,
    FormatOpt,
    MipGapOpt,
    ProfilesOpt,
    RelaxOpt,
    ScenarioArg,
    SchedulerOpt,
    TimeLimitOpt,
    WorkersOpt,
    check_solve_options,
)
from cli.render import OutputFormat, emit, err_console
from cli.sweep import execute
from planner.plan.scenario import find_scenario
from planner.results.folders import DEFAULT_ROOT
from planner.sweeps.regimes_compare import (
    REGIME,
    comparison_json,
    default_compare_dir,
    read_comparison,
    regime_spec,
    side_by_side,
)
from planner.sweeps.sweep import SweepOutcome


def compare_regimes_command(
    scenario: ScenarioArg,
    regime: Annotated[
        list[str],
        typer.Option(
            "--regime",
            help="Export-regime id (`planner export regimes`); repeat, two or more.",
            autocompletion=complete_regime,
        ),
    ],
    scheduler: SchedulerOpt = "local",
    workers: WorkersOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Sweep folder; default runs/compare-<scenario>-<regimes> (or under "
            "PLANNER_RUNS); rerunning into it skips finished regimes.",
            file_okay=False,
        ),
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
    backend: BackendOpt = BackendChoice.cvxpy,
    mip_gap: MipGapOpt = None,
    time_limit: TimeLimitOpt = None,
    relax: RelaxOpt = False,
    profiles: ProfilesOpt = None,
) -> None:
    """Plan a scenario under each export regime and report cost, mix, power and unserved demand
    side by side, one column per regime."""
    check_solve_options(mip_gap, time_limit)
    overlays = tuple(p.resolve() for p in profiles or ())
    spec = regime_spec(
        find_scenario(scenario, overlays).resolve(),
        regime,
        backend=backend.value,
        mip_gap=mip_gap,
        time_limit_s=time_limit,
        relax=relax,
        overlays=overlays,
    )
    names = [str(name) for name in spec.vary[REGIME]]
    target = out if out is not None else default_compare_dir(spec.scenario, names, DEFAULT_ROOT)
    folder, counts = execute(spec, target, scheduler, workers, retries=2)
    comparison = read_comparison(folder, names, SweepOutcome(folder=folder, **counts))
    err_console().print(
        f"runs in {folder}: {counts['done']} solved, {counts['failed']} failed, "
        f"{counts['skipped']} already done",
        highlight=False,
    )
    if fmt is OutputFormat.json:
        emit(comparison_json(comparison), fmt)
        return
    emit(
        side_by_side(comparison.results),
        fmt,
        title=f"{comparison.scenario} under {len(comparison.results)} export regimes",
    )
