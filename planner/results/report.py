"""The HTML report: one self-contained file (inline CSS and SVG, no script, no network).

Sections: the runs compared (headline numbers and differences against the first run), the cost
breakdown and sizes of every run side by side, then per run its charts (a site's week of hourly
dispatch and state of charge; a plan's fleet, site capacities, cost per million tokens, parts and
shadow prices, drawn from the tables documented in docs/results.md), and its assumptions with
their sources. Every string that comes from a run or a user is escaped.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from planner.errors import InputError
from planner.results.charts import (
    Point,
    bar_chart,
    bars_from_table,
    lines_from_table,
    scatter_chart,
)
from planner.results.dispatch_charts import (
    missing_columns_note,
    plan_dispatch_charts,
    site_dispatch_charts,
)
from planner.results.folders import Run, _current_umask
from planner.results.queries import compare_runs, unique_runs

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1060px;
color:#1d232b;padding:0 16px}
h1{font-size:1.6em;margin-bottom:4px}h2{margin-top:36px;border-bottom:2px solid #dde3ea}
h3{margin-top:26px}p.meta{color:#5b6672;margin-top:0}
p.verdict{padding:8px 12px;border-left:6px solid #2e7d32;background:#f1f8f1}
p.verdict.short{border-left-color:#c62828;background:#fdf0f0}
table{border-collapse:collapse;margin:8px 0 16px;font-size:.9em}
th,td{border:1px solid #dde3ea;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f6f9}td.num{text-align:right;font-variant-numeric:tabular-nums}
figure.chart{margin:12px 0 22px}figcaption{font-weight:600;margin-bottom:4px}
figcaption .note{font-weight:400;color:#5b6672}
svg text{font-size:11px;fill:#333}svg .axis-label{font-size:12px;fill:#555}
svg .grid{stroke:#e6eaef;stroke-width:1}svg .zero{stroke:#888;stroke-width:1}
.conf-datasheet{color:#1b7f3b}.conf-press{color:#9a6700}.conf-estimate{color:#b3261e}
.conf-measured{color:#1b5e7f}p.warning{color:#b3261e}td.note{max-width:420px;color:#444}
"""


# --------------------------------------------------------------------------- HTML helpers


def _cell(value: Any) -> str:
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
    body = "".join("<tr>" + "".join(_cell(r.get(c)) for c in cols) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def safe_link(url: Any, text: str) -> str:
    """An escaped link for http(s) URLs only; anything else is shown as text."""
    label = escape(text)
    if isinstance(url, str) and url.lower().startswith(("http://", "https://")):
        return f'<a href="{escape(url, quote=True)}">{label}</a>'
    return label


# --------------------------------------------------------------------------- plan charts


PLAN_CHART_COLUMNS: dict[str, tuple[str, ...]] = {
    "fleet": ("year", "part", "units_count"),
    "site_capacities": ("year", "site"),
    "yearly": ("year", "cost_per_million_tokens"),
    "parts": ("part", "tokens_per_joule", "cost_per_million_tokens", "export_status"),
    "shadow_prices": ("constraint", "shadow_price"),
}


def plan_charts(run: Run, prefix: str) -> list[str]:
    """The plan's charts from whichever of its tables exist (schemas in docs/results.md)."""
    charts: list[str] = []
    usable: set[str] = set()
    for table, columns in PLAN_CHART_COLUMNS.items():
        if run.has_table(table):
            note = missing_columns_note(run, table, run.table(table), columns)
            if note:
                charts.append(note)
            else:
                usable.add(table)
    if "fleet" in usable:
        charts.append(
            bars_from_table(
                run.table("fleet"),
                x="year",
                series="part",
                value="units_count",
                chart_id=f"{prefix}-fleet",
                title=f"{run.name}: fleet by part and year",
                y_label="accelerators",
            )
        )
    if "site_capacities" in usable:
        caps = run.table("site_capacities")
        for column, label in (("it_capacity_mw", "IT capacity"), ("battery_mwh", "battery")):
            if column in caps.columns:
                unit = "MWh" if column.endswith("mwh") else "MW"
                charts.append(
                    bars_from_table(
                        caps,
                        x="year",
                        series="site",
                        value=column,
                        chart_id=f"{prefix}-{column}",
                        title=f"{run.name}: {label} by site and year",
                        y_label=unit,
                        mode="group",
                    )
                )
    if "yearly" in usable:
        yearly = run.table("yearly").assign(series="cost per million tokens")
        charts.append(
            lines_from_table(
                yearly,
                x="year",
                series="series",
                value="cost_per_million_tokens",
                chart_id=f"{prefix}-cost-per-mtok",
                title=f"{run.name}: cost per million tokens by year",
                y_label=f"{run.summary.get('currency', '')} per million tokens",
            )
        )
    if "parts" in usable:
        parts = run.table("parts")
        points = [
            Point(
                float(r["tokens_per_joule"]),
                float(r["cost_per_million_tokens"]),
                str(r["part"]),
                str(r["export_status"]),
            )
            for r in parts.to_dict(orient="records")
            if r.get("tokens_per_joule") is not None
            and r.get("cost_per_million_tokens") is not None
        ]
        charts.append(
            scatter_chart(
                points,
                chart_id=f"{prefix}-parts",
                title=f"{run.name}: parts, energy efficiency against cost",
                x_label="tokens per joule",
                y_label=f"{run.summary.get('currency', '')} per million tokens",
                log_x=True,
                log_y=True,
                note="(coloured by export status)",
            )
        )
    if "shadow_prices" in usable and not run.table("shadow_prices").empty:
        prices = run.table("shadow_prices")
        binding = prices[prices["binding"]] if "binding" in prices.columns else prices
        binding = binding.reindex(binding["shadow_price"].abs().sort_values(ascending=False).index)
        top = binding.head(15)
        labels = [
            " ".join(str(v) for v in (r["constraint"], r.get("site"), r.get("year")) if _shown(v))
            for r in top.to_dict(orient="records")
        ]
        charts.append(
            bar_chart(
                labels,
                {"shadow price": top["shadow_price"].tolist()},
                chart_id=f"{prefix}-shadow-prices",
                title=f"{run.name}: binding constraints by shadow price",
                y_label="shadow price (see unit column)",
                note="(largest 15 by magnitude)",
            )
        )
        charts.append(html_table(top.to_dict(orient="records")))
    charts.extend(plan_dispatch_charts(run, prefix))
    return charts


def _shown(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


# --------------------------------------------------------------------------- across runs


def run_labels(runs: Sequence[Run]) -> dict[str, str]:
    """Short labels for charts and tables: 'A north-carolina', 'B guangdong', ... by run id."""
    labels = {}
    for i, run in enumerate(runs):
        letter = chr(ord("A") + i) if i < 26 else f"R{i + 1}"
        labels[run.run_id] = f"{letter} {run.name}"
    return labels


def _letter(label: str) -> str:
    return label.split(" ", 1)[0]


def comparison_html(runs: Sequence[Run]) -> str:
    """Headline numbers side by side, then each run's difference to the first (B - A, ...)."""
    labels = run_labels(runs)
    first = runs[0].run_id
    rows = []
    for row in compare_runs(runs):
        out = {"metric": row["metric"], "unit": row["unit"]}
        for run in runs:
            out[_letter(labels[run.run_id])] = row[run.run_id]
        for run in runs[1:]:
            out[f"{_letter(labels[run.run_id])} - A"] = row[f"{run.run_id} - {first}"]
        rows.append(out)
    key = html_table(
        [
            {"label": _letter(labels[r.run_id]), "name": r.name, "kind": r.kind, "run": r.run_id}
            for r in runs
        ]
    )
    return key + html_table(rows)


def _costs_by_item(run: Run) -> dict[str, float]:
    if not run.has_table("costs"):
        return {}
    costs = run.table("costs")
    column = "cost_per_year" if "cost_per_year" in costs.columns else "cost"
    if column not in costs.columns:
        return {}
    return {str(k): float(v) for k, v in costs.groupby("item", sort=False)[column].sum().items()}


def cost_charts(runs: Sequence[Run]) -> list[str]:
    """Cost items side by side, one bar per run; one chart per currency."""
    labels = run_labels(runs)
    currencies = list(dict.fromkeys(str(r.summary.get("currency", "")) for r in runs))
    charts = []
    for k, currency in enumerate(currencies):
        group = [r for r in runs if str(r.summary.get("currency", "")) == currency]
        by_run = {labels[r.run_id]: _costs_by_item(r) for r in group}
        items = list(dict.fromkeys(i for costs in by_run.values() for i in costs))
        if not items:
            continue
        charts.append(
            bar_chart(
                items,
                {label: [c.get(i) for i in items] for label, c in by_run.items()},
                chart_id=f"costs-{k}",
                title=f"cost breakdown ({currency})",
                y_label=f"{currency} per year (sites) or plan total (plans)",
                mode="group",
                note="(export revenue counts negative)",
            )
        )
    return charts


def sizes_chart(runs: Sequence[Run]) -> str:
    """Sizes per asset (power in MW, energy in MWh), one bar per run."""
    labels = run_labels(runs)
    rows: list[dict[str, Any]] = []
    for run in runs:
        if not run.has_table("sizes"):
            continue
        label = labels[run.run_id]
        for r in run.table("sizes").to_dict(orient="records"):
            rows.append({"run": label, "asset": f"{r['asset']} (MW)", "v": r["power_mw"]})
            if _shown(r.get("energy_mwh")):
                rows.append({"run": label, "asset": f"{r['asset']} (MWh)", "v": r["energy_mwh"]})
    frame = pd.DataFrame(rows, columns=["run", "asset", "v"])
    assets = list(dict.fromkeys(frame["asset"]))
    return bar_chart(
        assets,
        {
            run_id: [
                float(g.loc[g["asset"] == a, "v"].sum()) if (g["asset"] == a).any() else None
                for a in assets
            ]
            for run_id, g in frame.groupby("run", sort=False)
        },
        chart_id="sizes",
        title="sizes",
        y_label="MW or MWh",
        mode="group",
    )


# --------------------------------------------------------------------------- assumptions


def assumptions_html(run: Run) -> str:
    """The run's resolved assumptions: value as written, source (linked), confidence, note."""
    resolved = run.resolved_inputs()
    parts = []
    rows = resolved.get("assumptions") or []
    if rows:
        body = []
        for r in rows:
            confidence = str(r.get("confidence") or "unknown")
            value = r.get("value")
            body.append(
                "<tr>"
                f"<td>{escape(str(r.get('field', '')))}</td>"
                f"<td>{escape('null' if value is None else str(value))}</td>"
                f"<td>{safe_link(r.get('url'), str(r.get('source') or '-'))}</td>"
                f'<td class="conf-{escape(confidence)}">{escape(confidence)}</td>'
                f'<td class="note">{escape(str(r.get("note") or ""))}</td>'
                "</tr>"
            )
        parts.append(
            "<table><thead><tr><th>field</th><th>value as written</th><th>source</th>"
            "<th>confidence</th><th>note</th></tr></thead><tbody>"
            + "".join(body)
            + "</tbody></table>"
        )
    unknowns = resolved.get("unknowns") or []
    if unknowns:
        parts.append(
            "<p>Unknown figures:</p><ul>"
            + "".join(f"<li>{escape(str(u))}</li>" for u in unknowns)
            + "</ul>"
        )
    values = resolved.get("values")
    if isinstance(values, Mapping) and values:
        parts.append("<details><summary>resolved values</summary>")
        parts.append(html_table([{"name": k, "value": v} for k, v in values.items()]))
        parts.append("</details>")
    if run.inputs:
        parts.append(
            html_table(
                [{"input file": i.get("path"), "sha256": i.get("sha256")} for i in run.inputs]
            )
        )
    return "".join(parts) or "<p>(no resolved inputs recorded)</p>"


# --------------------------------------------------------------------------- the page


def _summary_rows(run: Run) -> list[dict[str, Any]]:
    return [
        {"quantity": k, "value": v}
        for k, v in run.summary.items()
        if isinstance(v, int | float | str) and not isinstance(v, bool)
    ]


def verdict_html(run: Run, label: str) -> str:
    """A plan run's verdict in words with what it spends, its served cost per million tokens
    and its unserved share; empty for runs without a verdict (sites, older plans)."""
    summary = run.summary
    if "verdict" not in summary:
        return ""
    cur = str(summary.get("currency", ""))
    per_mtok = summary.get("cost_per_million_served_tokens")
    served = "-" if per_mtok is None else f"{float(per_mtok):,.4f} {cur}"
    kind = "met" if summary.get("demand_met") else "short"
    return (
        f'<p class="verdict {kind}"><strong>{escape(label)}</strong>: '
        f"{escape(str(summary['verdict']))}.<br>spend (net present cost) "
        f"{float(summary.get('net_present_cost') or 0.0):,.0f} {escape(cur)}; "
        f"cost per million served tokens {escape(served)}; unserved share "
        f"{float(summary.get('unserved_share_fraction') or 0.0):.2%}; unserved penalty "
        f"(weighed, not spent) {float(summary.get('unserved_penalty') or 0.0):,.0f} "
        f"{escape(cur)}</p>"
    )


def run_section(run: Run, index: int) -> str:
    """One run: identity, summary, its own charts, assumptions."""
    prefix = f"r{index}"
    letter = chr(ord("A") + index) if index < 26 else f"R{index + 1}"
    parts = [
        f'<section class="run" id="run-{index}"><h2>{letter}: {escape(run.name)}</h2>',
        f'<p class="meta">{escape(run.kind)} run {escape(run.run_id)}, created '
        f"{escape(run.created)}, status {escape(run.status)}</p>",
    ]
    charts = site_dispatch_charts(run, prefix) if run.kind == "site" else plan_charts(run, prefix)
    parts += charts
    parts.append("<h3>summary</h3>" + html_table(_summary_rows(run)))
    parts += flex_html(run)
    parts.append("<h3>assumptions and their sources</h3>" + assumptions_html(run))
    parts.append("</section>")
    return "".join(parts)


FLEX_TABLES = (
    ("power_caps", "power cap chosen per part (busy-hour-weighted mean, 1.0 = full power)"),
    ("power_capping", "power capping: MWh a year saved at the meter and tokens lost, per site"),
    ("grid_options", "grid connection chosen, and how the dispatch met every curtailment event"),
)


def flex_html(run: Run) -> list[str]:
    """The plan's power-cap and grid-option tables (docs/capacity_model.md, eqs. 19-21)."""
    out = []
    for key, title in FLEX_TABLES:
        rows = run.summary.get(key)
        if isinstance(rows, list) and rows:
            out.append(f"<h3>{escape(title)}</h3>" + html_table(rows))
    return out


def verdicts_html(runs: Sequence[Run]) -> list[str]:
    """The report's first section: each plan's verdict, spend, served cost, unserved share."""
    labels = run_labels(runs)
    lines = [verdict_html(run, labels[run.run_id]) for run in runs]
    lines = [line for line in lines if line]
    return ['<section id="verdict"><h2>verdict</h2>', *lines, "</section>"] if lines else []


def build_report(runs: Sequence[Run], *, generated: dt.datetime | None = None) -> str:
    """The whole report as one HTML string."""
    runs = unique_runs(runs)
    if not runs:
        raise InputError.one("RUN", "", "no run given.", "name at least one run.")
    when = (generated or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    title = "report: " + ", ".join(r.name for r in runs)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">power-compute-planner, generated {escape(when)}; '
        f"{len(runs)} run{'s' if len(runs) > 1 else ''}</p>",
        *verdicts_html(runs),
        "<h2>headline numbers</h2>",
        comparison_html(runs),
    ]
    if len(runs) > 1:
        parts.append("<p>Columns <em>B - A</em> give each run's difference to the first run.</p>")
    parts += cost_charts(runs)
    if any(r.has_table("sizes") for r in runs):
        parts.append(sizes_chart(runs))
    parts += [run_section(run, i) for i, run in enumerate(runs)]
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(runs: Sequence[Run], out: Path) -> Path:
    """Write the report to `out` atomically (a temporary file beside it, then a rename)."""
    out = Path(out)
    if not out.resolve().parent.is_dir():
        raise InputError.one(
            "--out", "", f"folder '{out.resolve().parent}' does not exist.", "create it first."
        )
    return write_html(build_report(runs), out)


def write_html(html: str, out: Path) -> Path:
    """Write a page to `out` atomically (a temporary file beside it, then a rename)."""
    out = Path(out)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.resolve().parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(html)
        os.chmod(tmp, 0o666 & ~_current_umask())  # mkstemp makes it private
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out
