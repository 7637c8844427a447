"""The HTML report: one self-contained file (inline CSS and SVG, no script, no network).

Sections: the runs compared (headline numbers and differences against the first run), the cost
breakdown and sizes of every run side by side, then per run its charts (a site's week of hourly
dispatch and state of charge; a plan's fleet, site capacities, cost per million tokens, parts and
shadow prices, drawn from the tables documented in docs/results.md), and its assumptions with
their sources. Every string that comes from a run or a user is escaped.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from planner.errors import InputError
from planner.results.charts import bar_chart
from planner.results.dispatch_charts import site_dispatch_charts
from planner.results.folders import Run, _current_umask
from planner.results.html_parts import html_table, safe_link
from planner.results.plan_charts import plan_charts, shown
from planner.results.plan_story import idle_site_sentences, money, plan_story
from planner.results.queries import compare_runs, unique_runs

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1060px;
color:#1d232b;padding:0 16px}
h1{font-size:1.6em;margin-bottom:4px}h2{margin-top:36px;border-bottom:2px solid #dde3ea}
h3{margin-top:26px}p.meta{color:#5b6672;margin-top:0}
p.verdict{padding:8px 12px;border-left:6px solid #2e7d32;background:#f1f8f1}
p.verdict.short{border-left-color:#c62828;background:#fdf0f0}
p.story{font-size:1.05em;line-height:1.5;max-width:900px}ul.idle-sites{color:#333}
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


def costs_by_item(run: Run) -> dict[str, float]:
    """What the run spends by item: a site's cost per year, a plan's present value over the plan.
    A plan's unserved penalty is left out (weighed, not spent), so its items sum to the net
    present cost."""
    if not run.has_table("costs"):
        return {}
    costs = run.table("costs")
    column = next((c for c in ("cost_per_year", "discounted_cost", "cost") if c in costs), None)
    if column is None or "item" not in costs.columns:
        return {}
    if run.kind == "plan":
        costs = costs[costs["item"] != "unserved_penalty"]
    by_item = costs.groupby("item", sort=False)[column].sum()
    return {str(k): float(v) for k, v in by_item.items() if run.kind != "plan" or v != 0}


def _costs_note(runs: Sequence[Run]) -> str:
    """What each run's bars add up to: a plan's net present cost, a site's cost per year."""
    labels = run_labels(runs)
    sums = []
    for run in runs:
        total = sum(costs_by_item(run).values())
        cur = str(run.summary.get("currency", ""))
        what = "net present cost" if run.kind == "plan" else "cost per year"
        sums.append(f"{_letter(labels[run.run_id])} {money(total, cur)} ({what})")
    plans = any(r.kind == "plan" for r in runs)
    penalty = "; a plan's unserved penalty is left out: weighed, not spent" if plans else ""
    return f"(credits count negative; the items sum to {', '.join(sums)}{penalty})"


def cost_charts(runs: Sequence[Run]) -> list[str]:
    """Cost items side by side, one bar per run; one chart per currency."""
    labels = run_labels(runs)
    currencies = list(dict.fromkeys(str(r.summary.get("currency", "")) for r in runs))
    charts = []
    for k, currency in enumerate(currencies):
        group = [r for r in runs if str(r.summary.get("currency", "")) == currency]
        by_run = {labels[r.run_id]: costs_by_item(r) for r in group}
        items = list(dict.fromkeys(i for costs in by_run.values() for i in costs))
        if not items:
            continue
        charts.append(
            bar_chart(
                items,
                {label: [c.get(i) for i in items] for label, c in by_run.items()},
                chart_id=f"costs-{k}",
                title=f"cost breakdown ({currency})",
                y_label=f"{currency} per year (sites) or present value (plans)",
                mode="group",
                note=_costs_note([r for r in group if costs_by_item(r)]),
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
            if shown(r.get("energy_mwh")):
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
    """A plan run's summary: a paragraph in words (planner.results.plan_story, the verdict
    included), the headline figures, and a sentence per site that builds nothing; empty for
    runs without a verdict (sites, older plans)."""
    summary = run.summary
    if "verdict" not in summary:
        return ""
    cur = str(summary.get("currency", ""))
    per_mtok = summary.get("cost_per_million_served_tokens")
    served = "-" if per_mtok is None else f"{float(per_mtok):,.4f} {cur}"
    kind = "met" if summary.get("demand_met") else "short"
    idle = idle_site_sentences(run)
    idle_html = (
        '<ul class="idle-sites">' + "".join(f"<li>{escape(t)}</li>" for t in idle) + "</ul>"
        if idle
        else ""
    )
    return (
        f'<div class="plan-summary"><p class="verdict story {kind}">'
        f"<strong>{escape(label)}</strong>. {escape(plan_story(run))}</p>"
        f'<p class="meta">spend (net present cost) '
        f"{float(summary.get('net_present_cost') or 0.0):,.0f} {escape(cur)}; "
        f"cost per million served tokens {escape(served)}; unserved share "
        f"{float(summary.get('unserved_share_fraction') or 0.0):.2%}; unserved penalty "
        f"(weighed, not spent) {float(summary.get('unserved_penalty') or 0.0):,.0f} "
        f"{escape(cur)}</p>{idle_html}</div>"
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
    """The report's first section: each plan in words (what is bought, where, when, what it
    costs, what binds), its verdict and headline figures, and why an idle site builds nothing."""
    labels = run_labels(runs)
    lines = [verdict_html(run, labels[run.run_id]) for run in runs]
    lines = [line for line in lines if line]
    return ['<section id="summary"><h2>summary</h2>', *lines, "</section>"] if lines else []


def build_report(runs: Sequence[Run], *, generated: dt.datetime | None = None) -> str:
    """The whole report as one HTML string."""
    runs = unique_runs(runs)
    if not runs:
        raise InputError.option("runs", "no run given.", "name at least one run.")
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
        raise InputError.option(
            "out", f"folder '{out.resolve().parent}' does not exist.", "create it first."
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
