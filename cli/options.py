"""Option aliases shared by every command."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.completion import complete_scenario
from cli.render import OutputFormat
from planner.errors import InputError

if TYPE_CHECKING:  # the plan's modules load only with the commands that use them
    from planner.plan.overrides import ParamValue

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


class BackendChoice(StrEnum):
    cvxpy = "cvxpy"
    pyomo = "pyomo"


ScenarioArg = Annotated[
    Path,
    typer.Argument(
        help="Scenario YAML file, or a shipped name (cn_maas_2026).",
        autocompletion=complete_scenario,
    ),
]

# Solve options shared by `plan`, `sweep` and `compare-regimes`.
BackendOpt = Annotated[BackendChoice, typer.Option("--backend", help="Model backend.")]
SolverOpt = Annotated[str, typer.Option("--solver", help="Solver, e.g. highs.")]
RelaxOpt = Annotated[
    bool, typer.Option("--relax", help="Continuous purchases (the LP, with its duals).")
]
MipGapOpt = Annotated[float | None, typer.Option("--mip-gap", help="Relative MIP gap, e.g. 0.005.")]
TimeLimitOpt = Annotated[
    float | None, typer.Option("--time-limit", help="Solver time limit per plan, seconds.")
]


# Where the work runs: `sweep`, `compare-regimes` and `plan --method decompose`.
SchedulerOpt = Annotated[
    str,
    typer.Option(
        "--scheduler",
        help="'local' (a LocalCluster of --workers processes) or a scheduler address, "
        "e.g. tcp://127.0.0.1:8786.",
    ),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option("--workers", help="Worker processes of the local cluster (default: CPUs).", min=1),
]


def check_solve_options(mip_gap: float | None, time_limit: float | None) -> None:
    """A gap in [0, 1) and a positive time limit, or an input error naming the option."""
    if mip_gap is not None and not 0 <= mip_gap < 1:
        raise InputError.one("--mip-gap", "", f"{mip_gap} is not a gap.", "write e.g. 0.005.")
    if time_limit is not None and time_limit <= 0:
        raise InputError.one("--time-limit", "", "must be > 0 seconds.", "write e.g. 60.")


def parse_value(text: str) -> ParamValue:
    """A number when the text reads as one, otherwise the text (e.g. a regime id)."""
    try:
        value = float(text)
    except ValueError:
        return text.strip()
    return value


def parse_vary(texts: Sequence[str]) -> dict[str, list[ParamValue]]:
    """`--vary name=v1,v2,...` options as {name: [values]}; a name given twice is an error."""
    out: dict[str, list[ParamValue]] = {}
    for text in texts:
        name, sep, values = text.partition("=")
        name = name.strip()
        items = [v for v in values.split(",") if v.strip()]
        if not sep or not name or not items:
            raise InputError.one(
                "--vary",
                text,
                "is not 'name=value,value,...'.",
                "e.g. --vary demand.growth=0.5,1,2",
            )
        if name in out:
            raise InputError.one(
                "--vary", name, "is given twice.", "list all its values in one --vary."
            )
        out[name] = [parse_value(v) for v in items]
    return out
