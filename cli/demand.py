"""`planner demand show SCENARIO`: projected tokens per day and peak tokens per second."""

from __future__ import annotations

import typer

app = typer.Typer(help="Token demand projected by a scenario.", no_args_is_help=True)
