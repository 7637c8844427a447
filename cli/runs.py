"""`planner runs list|show|query`: kept runs, queried with DuckDB."""

from __future__ import annotations

import typer

app = typer.Typer(help="Kept runs: list, show and query them.", no_args_is_help=True)
