"""The `planner` command: one typer sub-app per noun; user errors become one paragraph, exit 2.

Sub-commands load on first use: `planner --help` lists them from the table below without
importing numpy, pandas or the solvers, so it answers at once (benches/test_cli_startup.py).
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import typer
import typer._click as click  # the click typer vendors (its commands and contexts)
import typer.main
from typer.core import TyperCommand, TyperGroup, TyperOption

from planner.errors import InputError, InputWarning, PlannerError


class Lazy(NamedTuple):
    """Where a sub-command lives (module and attribute), whether it is a typer sub-app or a
    function, and its one-line help (tests/test_cli_startup.py keeps it equal to the real one)."""

    module: str
    attribute: str
    kind: str  # "app" (a typer sub-app) or "command" (one function)
    short_help: str


COMMANDS: dict[str, Lazy] = {
    "plan": Lazy(
        "cli.plan", "plan", "command",
        "Solve a scenario's capacity plan: parts, sites, MW and storage by year.",
    ),
    "report": Lazy(
        "cli.report", "report", "command",
        "Write one self-contained HTML report (inline SVG charts) of one or more runs.",
    ),
    "compare": Lazy(
        "cli.report", "compare", "command",
        "Compare runs side by side: headline numbers and each run's difference to the first.",
    ),
    "bench": Lazy(
        "cli.bench", "bench", "command",
        "Benchmark the optimisation models: build, solve and total seconds, HiGHS alone on the "
        "same LP (from an MPS file), their ratio, peak memory.",
    ),
    "compare-regimes": Lazy(
        "cli.compare_regimes", "compare_regimes_command", "command",
        "Plan a scenario under each export regime and report cost, mix, power and unserved "
        "demand side by side, one column per regime.",
    ),
    "hardware": Lazy(
        "cli.hardware", "app", "app", "The hardware catalogue: parts, figures and their sources."
    ),
    "export": Lazy(
        "cli.export", "app", "app",
        "Export-control rules: classify parts (ECCN, licence, fees) for a buyer and a date.",
    ),
    "workload": Lazy(
        "cli.workload", "app", "app",
        "Workload cards: model architectures, parameter counts and KV-cache sizes.",
    ),
    "serving": Lazy(
        "cli.serving", "app", "app",
        "The serving model: tokens/s, watts and cost per part; validation and calibration.",
    ),
    "site": Lazy("cli.site", "app", "app", "Sites: size solar, battery and grid use for one site."),
    "runs": Lazy("cli.runs", "app", "app", "Kept runs: list, show and query them."),
    "demand": Lazy("cli.demand", "app", "app", "Token demand projected by a scenario."),
    "scenario": Lazy(
        "cli.scenario", "app", "app",
        "Scenario files: check one without solving, or write a commented starter.",
    ),
    "sweep": Lazy(
        "cli.sweep", "app", "app",
        "Sweeps: a grid of overrides and/or Monte Carlo samples of a scenario, each a full plan, "
        "on Dask (local or any scheduler).",
    ),
}  # fmt: skip


def load_command(name: str) -> click.Command:
    """Import a sub-command's module and build its click command."""
    entry = COMMANDS[name]
    target = getattr(importlib.import_module(entry.module), entry.attribute)
    if entry.kind == "app":
        command: click.Command = typer.main.get_group(target)
    else:
        single = typer.Typer(add_completion=False)
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return with_flag_names(command)


def flag_names(command: click.Command) -> dict[str, str]:
    """A command's parameters as the user writes them: `hours` and `fmt`/`format` -> `--hours`
    and `--format`; an argument by its metavar (`SCENARIO`)."""
    flags: dict[str, str] = {}
    for param in command.params:
        if not param.name:
            continue
        if isinstance(param, TyperOption) and param.opts:
            flag = param.opts[0]
            flags[flag.lstrip("-").replace("-", "_")] = flag
        else:  # an argument, as its usage line shows it
            flag = param.metavar or param.name.upper()
        flags[param.name] = flag
    return flags


def with_flag_names(command: click.Command) -> click.Command:
    """The domain names a bad option value by its parameter (`hours`); each command renames it
    to the flag its user typed (`--hours`), so only the CLI speaks of flags."""
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            with_flag_names(sub)
        return command
    callback = command.callback
    if callback is None or getattr(callback, "flag_names", None) is not None:
        return command  # nothing to run, or renamed already
    flags = flag_names(command)

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except InputError as exc:
            raise exc.with_flags(flags) from exc

    run.flag_names = flags  # type: ignore[attr-defined]  # marks the command as renamed
    command.callback = run
    return command


def input_warnings_to_stderr(show: Callable[..., None]) -> Callable[..., None]:
    """A `warnings.showwarning` that prints an input figure outside its typical range as one
    line on stderr, like an error, and hands every other warning to `show`."""

    def showwarning(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: Any = None,
        line: str | None = None,
    ) -> None:
        if issubclass(category, InputWarning):
            typer.echo(f"warning: {message}", err=True)
        else:
            show(message, category, filename, lineno, file, line)

    return showwarning


class PlannerGroup(TyperGroup):
    """A user's mistake becomes a message on stderr and exit code 2 (no traceback); a figure
    outside its typical range a warning line on stderr."""

    def invoke(self, ctx: Any) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("default", InputWarning)  # each warning once per command
            warnings.showwarning = input_warnings_to_stderr(warnings.showwarning)
            return self._invoke(ctx)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """The sub-command, with its errors naming its flags (`with_flag_names`)."""
        name, command, rest = super().resolve_command(ctx, args)
        return name, None if command is None else with_flag_names(command), rest

    def _invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except PlannerError as exc:
            if os.environ.get("PLANNER_DEBUG") == "1":
                raise
            typer.echo(f"error: {exc}", err=True)
            ctx.exit(2)


def take_table_options(args: list[str]) -> list[str]:
    """Take `--wide` and `--columns a,b` from anywhere before `--` (they apply to every table a
    command prints, cli/render.py) and return the other arguments in order."""
    from cli.render import TABLES

    rest: list[str] = []
    tokens = iter(args)
    for token in tokens:
        if token == "--":
            rest += [token, *tokens]
            break
        if token == "--wide":
            TABLES.wide = True
        elif token == "--columns" or token.startswith("--columns="):
            value = token.partition("=")[2] if "=" in token else next(tokens, "")
            TABLES.columns = tuple(c.strip() for c in value.split(",") if c.strip())
        else:
            rest.append(token)
    return rest


class LazyPlannerGroup(PlannerGroup):
    """The top level: sub-commands listed from `COMMANDS` and imported when they run."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        from cli.render import TABLES

        TABLES.columns, TABLES.wide = (), False  # one command per process, or per test
        return super().parse_args(ctx, take_table_options(args))

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """A stub with the one-line help, for listing; running a command resolves it below."""
        entry = COMMANDS.get(cmd_name)
        return None if entry is None else TyperCommand(cmd_name, short_help=entry.short_help)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """The named sub-command, imported now that it runs."""
        if args and args[0] in COMMANDS:
            return args[0], load_command(args[0]), args[1:]
        return super().resolve_command(ctx, args)


app = typer.Typer(
    cls=LazyPlannerGroup,
    name="planner",
    help="GPU power-compute capacity planner: from token demand to chips, megawatts and batteries.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback(
    epilog="Tables show the columns that fit the terminal (or COLUMNS); add --wide for all of "
    "them or --columns a,b,c to pick, before or after the sub-command."
)
def planner() -> None:
    """GPU power-compute capacity planner: from token demand to chips, megawatts and batteries."""


def main() -> None:
    """Console-script entry point."""
    if os.environ.get("_PLANNER_COMPLETE"):  # shell completion asked (cli/completion.py)
        from typer._completion_classes import completion_init

        completion_init()  # typer registers its bash/zsh/fish classes only when asked
    sys.exit(app())
