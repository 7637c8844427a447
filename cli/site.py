"""`planner site ...` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="site commands.", no_args_is_help=True)
