"""`planner runs list|show|query|export`: kept runs, queried with DuckDB, exported to Excel/CSV."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.options import FormatOpt
from cli.render import OutputFormat, cell_text, emit, err_console
from planner.errors import InputError
from planner.results.folders import DEFAULT_ROOT, find_run
from planner.results.integrity import DamagedRun
from planner.results.queries import damaged_row, query_runs, run_detail, run_row, scan_under

app = typer.Typer(help="Kept runs: list, show and query them.", no_args_is_help=True)

RootOpt = Annotated[
    Path, typer.Option("--root", help="Folder holding the run folders.", file_okay=False)
]


def _warn_damaged(damaged: list[DamagedRun], action: str) -> None:
    for bad in damaged:
        err_console().print(
            f"warning: {action} damaged run {bad.run_id}: {bad.field}: {bad.problem}",
            highlight=False,
        )


@app.command("list")
def list_(root: RootOpt = DEFAULT_ROOT, fmt: FormatOpt = OutputFormat.table) -> None:
    """Complete runs under --root, oldest first, with their headline numbers; damaged runs are
    listed with status `damaged` and the reason (sizes are checked; `show` checks checksums)."""
    runs, damaged = scan_under(root)
    rows = [run_row(r) for r in runs] + [damaged_row(d) for d in damaged]
    _warn_damaged(damaged, "listing")
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
    for key, value in detail["summary"].items():
        rows += readable_rows(str(key), value)
    rows += [
        {"field": f"table {t['table']}", "value": f"{t['rows']} rows: {', '.join(t['columns'])}"}
        for t in detail["tables"]
    ]
    rows += [
        {"field": f"input {i['path']}", "value": f"sha256 {i['sha256']}"} for i in detail["inputs"]
    ]
    emit(rows, fmt, title=f"run {detail['run']}")


def _text(value: Any) -> str:
    """A value inside a row of `runs show`: numbers as the tables print them, nested values as
    compact JSON (never a Python repr)."""
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    return cell_text(value)


def readable_rows(key: str, value: Any, depth: int = 0) -> list[dict[str, Any]]:
    """A summary entry as table rows: a scalar as one row; a mapping as its key, then one
    indented row per entry; a list of mappings as its key and length, then one indented row per
    item (`field value; field value`); a list of scalars joined by commas."""
    pad = "  " * depth
    if isinstance(value, Mapping):
        rows: list[dict[str, Any]] = [{"field": f"{pad}{key}", "value": ""}]
        for k, v in value.items():
            rows += readable_rows(str(k), v, depth + 1)
        return rows
    if isinstance(value, list | tuple) and value and all(isinstance(v, Mapping) for v in value):
        count = f"{len(value)} row{'s' if len(value) > 1 else ''}"
        rows = [{"field": f"{pad}{key}", "value": count}]
        for i, item in enumerate(value, 1):
            text = "; ".join(f"{k} {_text(v)}" for k, v in item.items())
            rows.append({"field": f"{pad}  {i}", "value": text})
        return rows
    if isinstance(value, list | tuple):
        return [{"field": f"{pad}{key}", "value": ", ".join(_text(v) for v in value) or "none"}]
    return [{"field": f"{pad}{key}", "value": value}]


@app.command("query")
def query(
    sql: Annotated[str, typer.Argument(help="One SELECT statement; views: runs and each table.")],
    root: RootOpt = DEFAULT_ROOT,
    fmt: FormatOpt = OutputFormat.table,
    skip_damaged: Annotated[
        bool,
        typer.Option(
            "--skip-damaged",
            help="Query the whole runs and leave damaged ones out (each named on stderr); "
            "without it a damaged run under --root stops the query (exit 2).",
        ),
    ] = False,
) -> None:
    """SQL over every complete run: one view per table (with a `run` column) and `runs`.
    Exactly one SELECT; it may read only files under --root (docs/results.md, Sandbox)."""
    frame, damaged = query_runs(sql, root, skip_damaged=skip_damaged)
    _warn_damaged(damaged, "skipped")
    rows = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    emit(rows, fmt, columns=[str(c) for c in frame.columns])


@app.command("export")
def export(
    run: Annotated[str, typer.Argument(help="Run folder, its folder name, or its name.")],
    xlsx: Annotated[
        Path | None, typer.Option("--xlsx", help="Write one Excel workbook (a sheet per table).")
    ] = None,
    csv: Annotated[
        Path | None,
        typer.Option("--csv", help="Write a folder of CSV files (one per table).", file_okay=False),
    ] = None,
    root: RootOpt = DEFAULT_ROOT,
) -> None:
    """A run's headline, tables (units in the headers) and assumptions with their sources, as an
    Excel workbook (`--xlsx plan.xlsx`) and/or a folder of CSV files (`--csv DIR`)."""
    from planner.results.workbook import write_csv_folder, write_workbook

    if xlsx is None and csv is None:
        raise InputError.one(
            "runs export", "--xlsx/--csv", "nothing to write.", "pass --xlsx FILE or --csv DIR."
        )
    folder = find_run(run, root)
    if xlsx is not None:
        if not xlsx.parent.is_dir():
            raise InputError.one(xlsx, "--xlsx", "its folder does not exist.", "create it first.")
        typer.echo(f"workbook written to {write_workbook(folder, xlsx)}", err=True)
    if csv is not None:
        files = write_csv_folder(folder, csv)
        typer.echo(f"{len(files)} CSV files written to {csv}", err=True)
