"""`planner sweep SCENARIO --vary ... [--samples N]`: many plans on Dask; `sweep summary DIR`."""

from __future__ import annotations

import os
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from typer.core import TyperGroup

from cli.options import (
    BackendChoice,
    BackendOpt,
    FormatOpt,
    MipGapOpt,
    ProfilesOpt,
    RelaxOpt,
    ScenarioArg,
    SchedulerOpt,
    SolverOpt,
    TimeLimitOpt,
    WorkersOpt,
    check_solve_options,
    parse_vary,
)
from cli.render import OutputFormat, emit, err_console
from cli.sweep_summary import summary_command
from planner.errors import InputError
from planner.plan.scenario import find_scenario
from planner.results.folders import DEFAULT_ROOT
from planner.sweeps.sweep import SweepSpec, default_sweep_dir, read_sweep, run_sweep


class SweepGroup(TyperGroup):
    """`planner sweep SCENARIO ...` runs a sweep (the `run` command); `planner sweep summary DIR`
    summarises one. Anything that is not a subcommand name goes to `run`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=SweepGroup,
    help="Sweeps: a grid of overrides and/or Monte Carlo samples of a scenario, each a full "
    "plan, on Dask (local or any scheduler). `planner sweep SCENARIO --vary ...` runs one.",
    no_args_is_help=True,
)


def _check_options(mip_gap: float | None, time_limit: float | None, samples: int) -> None:
    check_solve_options(mip_gap, time_limit)
    if samples < 0:
        raise InputError.one("--samples", "", "must be 0 or more.", "write e.g. --samples 50.")


def execute(
    spec: SweepSpec, out: Path | None, scheduler: str, workers: int | None, retries: int
) -> tuple[Path, dict[str, int]]:
    """Run the sweep with a progress bar on a terminal; return its folder and counts."""
    folder = out if out is not None else default_sweep_dir(spec, DEFAULT_ROOT)
    console = err_console()
    progress = (
        Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("done {task.fields[done]} · failed {task.fields[failed]} · "
                       "remaining {task.fields[remaining]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
        )
        if console.is_terminal
        else None
    )  # fmt: skip
    task: Any = None

    def show(done: int, failed: int, remaining: int) -> None:
        if progress is not None:
            progress.update(task, completed=done + failed, total=done + failed + remaining,
                            done=done, failed=failed, remaining=remaining)  # fmt: skip

    with progress if progress is not None else nullcontext():
        if progress is not None:
            task = progress.add_task("sweep", total=None, done=0, failed=0, remaining="?")
        outcome = run_sweep(
            spec,
            folder,
            scheduler=scheduler,
            workers=workers or os.cpu_count() or 1,
            retries=retries,
            on_progress=show,
        )
    counts = {"done": outcome.done, "failed": outcome.failed, "skipped": outcome.skipped}
    return outcome.folder, counts


@app.command("run")
def run(
    scenario: ScenarioArg,
    vary: Annotated[
        list[str] | None,
        typer.Option(
            "--vary",
            help="name=v1,v2,...: a knob (demand.growth, demand.scale, regime) or a dotted path "
            "to a number in the scenario; repeatable, the grid is their cross product.",
        ),
    ] = None,
    samples: Annotated[
        int, typer.Option("--samples", help="Monte Carlo draws from the scenario's uncertainty.")
    ] = 0,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the draws.")] = None,
    scheduler: SchedulerOpt = "local",
    workers: WorkersOpt = None,
    retries: Annotated[
        int, typer.Option("--retries", help="Resubmissions of a case whose worker died.", min=0)
    ] = 2,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Sweep folder; rerunning into it skips finished cases. Default "
            "runs/sweep-<scenario>-<hash of the sweep> (or under PLANNER_RUNS).",
        ),
    ] = None,
    backend: BackendOpt = BackendChoice.cvxpy,
    solver: SolverOpt = "highs",
    relax: RelaxOpt = False,
    mip_gap: MipGapOpt = None,
    time_limit: TimeLimitOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    profiles: ProfilesOpt = None,
) -> None:
    """Run a sweep: every case a full plan, solved on Dask; finished cases are kept and skipped."""
    _check_options(mip_gap, time_limit, samples)
    spec = SweepSpec(
        scenario=find_scenario(scenario, profiles or ()).resolve(),
        vary=parse_vary(vary or []),
        samples=samples,
        seed=seed,
        backend=backend.value,
        solver=solver,
        mip_gap=mip_gap,
        time_limit_s=time_limit,
        relax=relax,
        overlays=tuple(p.resolve() for p in profiles or ()),
    )
    folder, counts = execute(spec, out, scheduler, workers, retries)
    sweep = read_sweep(folder)
    err_console().print(
        f"sweep written to {folder}: {counts['done']} solved, {counts['failed']} failed, "
        f"{counts['skipped']} already done",
        highlight=False,
    )
    table = sweep.table
    columns = ["case", "status", *sweep.parameters, "cost_per_million_served_tokens",
               "net_present_cost", "it_mw", "battery_mwh", "unserved_tokens", "error"]  # fmt: skip
    rows = table[columns].astype(object).where(table[columns].notna(), None)
    emit(rows.to_dict(orient="records"), fmt, title=f"sweep {folder.name}", columns=columns)
    exit_if_cases_failed(table, folder)


CASES_FAILED_EXIT = 3  # the sweep ran, but some cases failed (docs/cli.md, exit codes)


def exit_if_cases_failed(table: Any, folder: Path) -> None:
    """Exit 3 when any case of the sweep failed: its table is written and lists each error."""
    failed = int((table["status"] == "failed").sum())
    if failed:
        err_console().print(
            f"{failed} of {len(table)} case(s) failed; their errors are in the table above and in "
            f"{folder / 'sweep.parquet'}. Rerunning the same sweep retries them.",
            highlight=False,
        )
        raise typer.Exit(CASES_FAILED_EXIT)


# `planner sweep summary DIR` lives beside the sweep it reads.
app.command("summary")(summary_command)
