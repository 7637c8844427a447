"""One renderer for every command's rows: a rich table, stable JSON, or CSV, on stdout."""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table


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
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    return str(value)


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
    table = Table(title=title, show_lines=False, header_style="bold")
    for c in cols:
        table.add_column(c, overflow="fold")
    for r in records:
        table.add_row(*(_cell(r.get(c)) for c in cols))
    console = Console()
    # Piped output is not wrapped: a reader of a file or a pager gets whole rows.
    Console(width=console.width if console.is_terminal else 10_000).print(table)


def _csv_cell(value: Any) -> Any:
    if isinstance(value, list | tuple | Mapping):
        return json.dumps(_jsonable(value), ensure_ascii=False)
    return _jsonable(value)


def err_console() -> Console:
    """Progress, warnings and hints go to stderr; data goes to stdout."""
    return Console(stderr=True)
