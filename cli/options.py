"""Option aliases shared by every command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.render import OutputFormat

FormatOpt = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="Output: table, json or csv.")
]
ProfilesOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--profiles",
        help="Overlay folder laid out like the repo (hardware_profiles/, workload_profiles/); "
        "repeatable; also PLANNER_PROFILES.",
        exists=True,
        file_okay=False,
    ),
]
