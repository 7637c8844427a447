"""`planner sweep summary DIR`: tornado and distributions of a finished sweep, and its report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cli.options import FormatOpt
from cli.render import OutputFormat, emit, err_console
from planner.sweeps.summary import (
    DEFAULT_METRIC,
    check_metric,
    load_sweep,
    require_ok_cases,
    summary_json,
)

TORNADO_COLUMNS = (
    "parameter",
    "kind",
    "low_value",
    "high_value",
    "metric_at_low",
    "metric_at_high",
    "swing",
    "cases_at_low",
    "cases_at_high",
)
DISTRIBUTION_COLUMNS = (
    "metric",
    "count",
    "failed",
    "mean",
    "p5",
    "p25",
    "p50",
    "p75",
    "p95",
    "min",
    "max",
)


def summary_command(
    folder: Annotated[
        Path, typer.Argument(help="Sweep folder written by `planner sweep` (holds sweep.json).")
    ],
    fmt: FormatOpt = OutputFormat.table,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="HTML report to write; default DIR/report.html."),
    ] = None,
    metric: Annotated[
        str, typer.Option("--metric", help="Headline result the tornado ranks parameters by.")
    ] = DEFAULT_METRIC,
) -> None:
    """Which parameter moves cost per million tokens most (tornado), and distributions of cost,
    MW and unserved demand over the ok cases; writes the HTML report."""
    from planner.sweeps.report import write_sweep_report

    data = load_sweep(folder)
    require_ok_cases(data)
    check_metric(data, metric)
    result = summary_json(data, metric)
    page = write_sweep_report(
        data, report if report is not None else data.folder / "report.html", metric
    )
    err_console().print(f"report written to {page}", highlight=False)
    result["report"] = str(page)
    emit_summary(result, fmt)


def emit_summary(result: dict[str, Any], fmt: OutputFormat) -> None:
    """JSON: the whole summary; table: two tables; CSV: one table, a `table` column naming
    which rows are the tornado and which the distributions."""
    if fmt is OutputFormat.json:
        emit(result, fmt)
        return
    if fmt is OutputFormat.csv:
        rows = [{"table": "tornado", **r} for r in result["tornado"]]
        rows += [{"table": "distribution", **r} for r in result["distributions"]]
        columns = ["table", *dict.fromkeys([*TORNADO_COLUMNS, *DISTRIBUTION_COLUMNS])]
        emit(rows, fmt, columns=columns)
        return
    emit(
        result["tornado"],
        fmt,
        title=f"tornado on {result['metric']} ({result['ok']} ok of {result['cases']} cases)",
        columns=TORNADO_COLUMNS,
    )
    emit(
        result["distributions"],
        fmt,
        title=f"distributions over ok cases ({result['failed']} failed)",
        columns=DISTRIBUTION_COLUMNS,
    )
