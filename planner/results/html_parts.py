"""HTML pieces of the reports: escaped table cells and tables, and links made only for http(s)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any


def cell(value: Any) -> str:
    """An escaped table cell; numbers right-aligned and shortened."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "<td>-</td>"
    if isinstance(value, bool):
        return f"<td>{escape(str(value))}</td>"
    if isinstance(value, int | float):
        text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.4g}"
        return f'<td class="num">{escape(text)}</td>'
    return f"<td>{escape(str(value))}</td>"


def html_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Rows of dicts as an escaped HTML table."""
    if not rows:
        return "<p>(none)</p>"
    cols = list(columns) if columns else list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f"<th>{escape(str(c))}</th>" for c in cols)
    body = "".join("<tr>" + "".join(cell(r.get(c)) for c in cols) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def safe_link(url: Any, text: str) -> str:
    """An escaped link for http(s) URLs only; anything else is shown as text."""
    label = escape(text)
    if isinstance(url, str) and url.lower().startswith(("http://", "https://")):
        return f'<a href="{escape(url, quote=True)}">{label}</a>'
    return label
