"""`planner runs list|show|query`: kept runs, queried with DuckDB."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.options import FormatOpt
from cli.render import OutputFormat, emit
from planner.results.folders import DEFAULT_ROOT, find_run
from planner.results.queries import query_runs, run_detail, run_row, runs_under

app = typer.Typer(help="Kept runs: list, show and query them.", no_args_is_help=True)

RootOpt = Annotated[
    Path, typer.Option("--root", help="Folder holding the run folders.", file_okay=False)
]


@app.command("list")
def list_(root: RootOpt = DEFAULT_ROOT, fmt: FormatOpt = OutputFormat.table) -> None:
    """Complete runs under --root, oldest first, with their headline numbers."""
    rows = [run_row(r) for r in runs_under(root)]
    if fmt is not OutputFormat.table:
        emit(rows, fmt)
        return
    if not rows:
        typer.echo(f"no complete runs under {root}", err=True)
        return
    shown = [c for c in rows[0] if any(r[c] is not None for r in rows)]  # drop empty metrics
    emit(rows, fmt, title=f"runs under {root}", columns=shown)


@app.command("show")
def show(
    run: Annotated[str, typer.Argument(help="Run folder, its folder name, or its name.")],
    root: RootOpt = DEFAULT_ROOT,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """One run: identity, summary numbers, tables and the input files used (with hashes)."""
    detail = run_detail(find_run(run, root))
    if fmt is OutputFormat.json:
        emit(detail, fmt)
        return
    rows = [{"field": k, "value": detail[k]} for k in ("run", "path", "kind", "name", "created")]
    rows += [{"field": k, "value": v} for k, v in detail["summary"].items()]
    rows += [
        {"field": f"table {t['table']}", "value": f"{t['rows']} rows: {', '.join(t['columns'])}"}
        for t in detail["tables"]
    ]
    rows += [
        {"field": f"input {i['path']}", "value": f"sha256 {i['sha256']}"} for i in detail["inputs"]
    ]
    emit(rows, fmt, title=f"run {detail['run']}")


@app.command("query")
def query(
    sql: Annotated[str, typer.Argument(help="One SQL statement; views: runs and each table.")],
    root: RootOpt = DEFAULT_ROOT,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """SQL over every complete run: one view per table (with a `run` column) and `runs`."""
    frame = query_runs(sql, root)
    rows = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    emit(rows, fmt, columns=[str(c) for c in frame.columns])
