"""`planner report RUN [RUN...]` and `planner compare RUN RUN...`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.options import FormatOpt
from cli.render import OutputFormat, emit, err_console
from planner.results.folders import DEFAULT_ROOT, find_run
from planner.results.queries import compare_json, compare_rows

RunsArg = Annotated[
    list[str], typer.Argument(help="Runs: folder paths, folder names under --root, or names.")
]
RootOpt = Annotated[
    Path, typer.Option("--root", help="Folder holding the run folders.", file_okay=False)
]


def report(
    runs: RunsArg,
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path("report.html"),
    root: RootOpt = DEFAULT_ROOT,
) -> None:
    """Write one self-contained HTML report (inline SVG charts) of one or more runs."""
    from planner.results.report import write_report

    found = [find_run(r, root, "runs") for r in runs]
    path = write_report(found, out)
    err_console().print(f"wrote {path}", highlight=False)


def compare(
    runs: RunsArg, root: RootOpt = DEFAULT_ROOT, fmt: FormatOpt = OutputFormat.table
) -> None:
    """Compare runs side by side: headline numbers and each run's difference to the first.

    For plans also parts bought, IT capacity, battery, spend and unserved share by year."""
    found = [find_run(r, root, "runs") for r in runs]
    if fmt is OutputFormat.json:
        emit(compare_json(found), fmt)
        return
    rows = compare_rows(found)
    if fmt is OutputFormat.csv:
        emit(rows, fmt)
        return
    emit(_labelled(rows, found), fmt, title="comparison (differences against the first run)")


def _labelled(rows: list[dict], runs: list) -> list[dict]:
    """Columns named A, B, ... and B - A (the key under the table says which run is which),
    so two runs and their difference fit a terminal."""
    from planner.results.queries import unique_runs

    runs = unique_runs(runs)
    letters = {r.run_id: chr(ord("A") + i) if i < 26 else f"R{i + 1}" for i, r in enumerate(runs)}
    first = runs[0].run_id
    out = []
    for row in rows:
        new = {"metric": row["metric"], "unit": row["unit"]}
        new.update({letters[r.run_id]: row[r.run_id] for r in runs})
        new.update({f"{letters[r.run_id]} - A": row[f"{r.run_id} - {first}"] for r in runs[1:]})
        out.append(new)
    key = "; ".join(f"{letters[r.run_id]} = {r.run_id}" for r in runs)
    err_console().print(f"runs: {key}", highlight=False)
    return out
