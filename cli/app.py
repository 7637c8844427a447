"""The `planner` command: one typer sub-app per noun; user errors become one paragraph, exit 2."""

from __future__ import annotations

import os
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from cli import (
    bench,
    compare_regimes,
    demand,
    export,
    hardware,
    plan,
    report,
    runs,
    serving,
    site,
    sweep,
    sweep_summary,
    workload,
)
from planner.errors import PlannerError


class PlannerGroup(TyperGroup):
    """Translates a user's mistake into a message on stderr and exit code 2 (no traceback)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except PlannerError as exc:
            if os.environ.get("PLANNER_DEBUG") == "1":
                raise
            typer.echo(f"error: {exc}", err=True)
            ctx.exit(2)


app = typer.Typer(
    cls=PlannerGroup,
    name="planner",
    help="GPU power-compute capacity planner: from token demand to chips, megawatts and batteries.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(hardware.app, name="hardware")
app.add_typer(export.app, name="export")
app.add_typer(workload.app, name="workload")
app.add_typer(serving.app, name="serving")
app.add_typer(site.app, name="site")
app.add_typer(runs.app, name="runs")
app.add_typer(demand.app, name="demand")
sweep.app.command("summary")(sweep_summary.summary_command)
app.add_typer(sweep.app, name="sweep")
app.command("plan")(plan.plan)
app.command("report")(report.report)
app.command("compare")(report.compare)
app.command("bench")(bench.bench)
app.command("compare-regimes")(compare_regimes.compare_regimes_command)


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())
