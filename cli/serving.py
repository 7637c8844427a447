"""`planner serving ...` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="serving commands.", no_args_is_help=True)
