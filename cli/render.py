"""One renderer for every command's rows: a rich table, stable JSON, or CSV, on stdout.

rich loads when a table or a stderr message is printed, not for JSON or CSV, so the catalogue
commands answer quickly in scripts (benches/test_cli_startup.py).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from planner.errors import InputError

if TYPE_CHECKING:
    from rich.console import Console

UNLIMITED_WIDTH = 10_000  # piped output without COLUMNS: whole rows for a file or a pager
WRAP_WIDTH = 24  # a text column (rule ids, sentences) is given this much and wraps beyond it
CELL_PADDING = 3  # rich's border and padding per column


@dataclass
class TableChoice:
    """Which columns a table shows: `--columns a,b` picks, `--wide` shows all, else what fits."""

    columns: tuple[str, ...] = ()
    wide: bool = False


TABLES = TableChoice()  # set once per process by the top-level command (cli/app.py)


def table_width() -> int:
    """The terminal's width; for piped output COLUMNS if set, else no limit."""
    from rich.console import Console

    console = Console()
    if console.is_terminal:
        return console.width
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else UNLIMITED_WIDTH


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return _number_cell(value)
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    return str(value)


def _number_cell(value: float) -> str:
    """A float shortened to the digits a table needs; NaN and infinities as '-'."""
    if not math.isfinite(value):
        return "-"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e9:
        return f"{value:.3e}"
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 1:
        return f"{value:,.2f}"
    return f"{value:.3g}"


def cell_text(value: Any) -> str:
    """A value as a table cell shows it (numbers shortened, None as '-')."""
    return _cell(value)


def emit(
    rows: Sequence[Mapping[str, Any]] | Mapping[str, Any],
    fmt: OutputFormat,
    *,
    title: str | None = None,
    columns: Sequence[str] | None = None,
) -> None:
    """Print rows (or one object) as a table, JSON or CSV on stdout."""
    if fmt is OutputFormat.json:
        sys.stdout.write(json.dumps(_jsonable(rows), indent=2, ensure_ascii=False) + "\n")
        return
    records = [rows] if isinstance(rows, Mapping) else list(rows)
    cols = list(columns) if columns else list(dict.fromkeys(k for r in records for k in r))
    if fmt is OutputFormat.csv:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for r in records:
            writer.writerow({k: _csv_cell(r.get(k)) for k in cols})
        sys.stdout.write(buffer.getvalue())
        return
    from rich.console import Console
    from rich.table import Table

    width = UNLIMITED_WIDTH if TABLES.wide else table_width()
    shown, hidden = choose_columns(records, cols, width)
    table = Table(title=title, show_lines=False, header_style="bold")
    for c in shown:
        text = _is_text(records, c)
        table.add_column(
            c,
            overflow="fold",
            no_wrap=not text,  # numbers and ids are never cut
            min_width=len(c),  # no column narrower than its header
        )
    for r in records:
        table.add_row(*(_cell(r.get(c)) for c in shown))
    if hidden:
        table.caption = (
            f"{len(hidden)} more column{'s' if len(hidden) > 1 else ''} ({', '.join(hidden)}): "
            "--wide shows all, "
            "--columns a,b,c picks"
        )
    Console(width=width).print(table)


def _natural_width(records: Sequence[Mapping[str, Any]], column: str) -> int:
    return max([len(column), *(len(_cell(r.get(column))) for r in records)])


def _is_text(records: Sequence[Mapping[str, Any]], column: str) -> bool:
    """A column of words (sentences, rule ids) that may wrap, rather than numbers or ids."""
    return any(
        isinstance(r.get(column), str) and len(str(r.get(column))) > WRAP_WIDTH for r in records
    )


def _budget(records: Sequence[Mapping[str, Any]], column: str) -> int:
    natural = _natural_width(records, column)
    if _is_text(records, column):
        natural = max(len(column), min(natural, WRAP_WIDTH))
    return natural + CELL_PADDING


def choose_columns(
    records: Sequence[Mapping[str, Any]], columns: Sequence[str], width: int
) -> tuple[list[str], list[str]]:
    """(shown, hidden): the user's pick, or every column, or the leading columns that fit."""
    if TABLES.columns:
        unknown = [c for c in TABLES.columns if c not in columns]
        if unknown:
            raise InputError.one(
                "--columns",
                ", ".join(unknown),
                "no such column in this table.",
                f"choose from: {', '.join(columns)}.",
            )
        return list(TABLES.columns), []
    if TABLES.wide or width >= UNLIMITED_WIDTH:
        return list(columns), []
    shown: list[str] = []
    used = 1  # the table's left border
    for c in columns:
        need = _budget(records, c)
        if shown and used + need > width:
            continue  # a later, narrower column may still fit
        shown.append(c)
        used += need
    return shown, [c for c in columns if c not in shown]


def _csv_cell(value: Any) -> Any:
    if isinstance(value, list | tuple | Mapping):
        return json.dumps(_jsonable(value), ensure_ascii=False)
    return _jsonable(value)


def err_console() -> Console:
    """Progress, warnings and hints go to stderr; data goes to stdout."""
    from rich.console import Console

    return Console(stderr=True)
