"""Progress on stderr: a live line on a terminal, plain lines when asked for in a pipe.

Shown by default on a terminal for table output; `--progress` shows it anyway (also in JSON
mode, still on stderr), `--no-progress` hides it. Data on stdout is never touched.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console

from planner.progress import SILENT, ProgressSink

ProgressOpt = Annotated[
    bool | None,
    typer.Option(
        "--progress/--no-progress",
        help="Phases and the solver's gap on stderr (default: on a terminal, unless --format "
        "json).",
    ),
]
LINE_EVERY_S = 10.0  # in a pipe, a solving line at most this often


class LiveLine:
    """One rich spinner line on a terminal, rewritten in place; a new phase is drawn at once,
    so a phase shorter than the spinner's frame is still seen."""

    def __init__(self, console: Console) -> None:
        from rich.live import Live
        from rich.spinner import Spinner

        self.spinner = Spinner("dots", text="starting", style="status.spinner")
        self.status = Live(self.spinner, console=console, refresh_per_second=12.5, transient=True)

    def phase(self, name: str, detail: str = "") -> None:
        self.spinner.update(text=f"{name}: {detail}" if detail else name)
        self.status.refresh()


class PlainLines:
    """A line per phase (and per LINE_EVERY_S while solving), for logs and CI."""

    def __init__(self, console: Console) -> None:
        self.console, self.last, self.at = console, "", 0.0

    def phase(self, name: str, detail: str = "") -> None:
        now = time.monotonic()
        if name != self.last or now - self.at >= LINE_EVERY_S:
            self.console.print(f"{name}: {detail}" if detail else name, highlight=False)
            self.last, self.at = name, now


def wanted(flag: bool | None, json_output: bool) -> bool:
    """Whether to show progress: as asked, else on a terminal for table output."""
    if flag is not None:
        return flag
    return not json_output and sys.stderr.isatty()


@contextmanager
def progress(flag: bool | None, *, json_output: bool) -> Iterator[ProgressSink]:
    """A sink drawing on stderr while the block runs (or a silent one)."""
    if not wanted(flag, json_output):
        yield SILENT
        return
    console = Console(stderr=True)
    if not console.is_terminal:
        yield PlainLines(console)
        return
    line = LiveLine(console)
    with line.status:
        yield line
