"""`planner report RUN [RUN...]` and `planner compare RUN RUN...`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.options import FormatOpt
from cli.render import OutputFormat, emit, err_console
from planner.results.folders import DEFAULT_ROOT, find_run
from planner.results.queries import compare_json, compare_runs

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

    found = [find_run(r, root) for r in runs]
    path = write_report(found, out)
    err_console().print(f"wrote {path}", highlight=False)


def compare(
    runs: RunsArg, root: RootOpt = DEFAULT_ROOT, fmt: FormatOpt = OutputFormat.table
) -> None:
    """Compare runs side by side: headline numbers and each run's difference to the first."""
    found = [find_run(r, root) for r in runs]
    if fmt is OutputFormat.json:
        emit(compare_json(found), fmt)
    else:
        emit(compare_runs(found), fmt, title="comparison (differences against the first run)")
