"""A plan run's charts, from the tables of docs/results.md, drawn so their totals meet the
headline: fleet by part and year; IT capacity and battery by site and year (stacked, so a year's
bar is the plan's total); spend by year in present value (capex, operating cost and the resale
credit; the years sum to the net present cost); cost per million tokens (each year's cash cost
beside the levelised headline); parts on tokens per joule against cost, every point named; and
the binding limits ranked by shadow price, with their labels whole.
"""

from __future__ import annotations

import pandas as pd

from planner.results.charts import bar_chart, bars_from_table, line_chart
from planner.results.dispatch_charts import missing_columns_note, plan_dispatch_charts
from planner.results.folders import Run
from planner.results.html_parts import html_table
from planner.results.plan_story import money, number, shown
from planner.results.ranked_bars import ranked_bar_chart
from planner.results.scatter_chart import Point, scatter_chart

PLAN_CHART_COLUMNS: dict[str, tuple[str, ...]] = {
    "fleet": ("year", "part", "units_count"),
    "site_capacities": ("year", "site"),
    "yearly": ("year", "cost_per_million_tokens"),
    "parts": ("part", "tokens_per_joule", "cost_per_million_tokens", "export_status"),
    "shadow_prices": ("constraint", "shadow_price"),
}
SPEND_PARTS = {
    "discounted_capex": "capex (parts, data centre, solar, battery)",
    "discounted_opex": "operating cost (energy, demand charges, carbon)",
    "discounted_resale_credit": "resale value at the horizon end (credit)",
}
SHADOW_PRICES_SHOWN = 15


def usable_tables(run: Run) -> tuple[set[str], list[str]]:
    """The chart tables the run has with every column their chart needs, and a visible note for
    each table that lacks some."""
    usable, notes = set(), []
    for table, columns in PLAN_CHART_COLUMNS.items():
        if run.has_table(table):
            note = missing_columns_note(run, table, run.table(table), columns)
            if note:
                notes.append(note)
            else:
                usable.add(table)
    return usable, notes


def fleet_chart(run: Run, prefix: str) -> str:
    """Parts in service by part (stacked) and year: accelerators and, where the plan buys
    servers, their host CPUs and the CPU servers' CPUs (`kind` cpu in the fleet table)."""
    return bars_from_table(
        run.table("fleet"),
        x="year",
        series="part",
        value="units_count",
        chart_id=f"{prefix}-fleet",
        title=f"{run.name}: fleet by part and year (accelerators and CPUs)",
        y_label="parts in service",
    )


def capacity_charts(run: Run, prefix: str) -> list[str]:
    """IT capacity and battery by site, stacked, each caption giving the last year's total."""
    caps = run.table("site_capacities")
    charts = []
    for column, label in (("it_capacity_mw", "IT capacity"), ("battery_mwh", "battery")):
        if column not in caps.columns:
            continue
        unit = "MWh" if column.endswith("mwh") else "MW"
        last = max(caps["year"].astype(str))
        total = float(caps.loc[caps["year"].astype(str) == last, column].sum())
        charts.append(
            bars_from_table(
                caps,
                x="year",
                series="site",
                value=column,
                chart_id=f"{prefix}-{column}",
                title=f"{run.name}: {label} by site and year",
                y_label=unit,
                note=f"(stacked by site: {last} holds {total:,.0f} {unit} in all)",
            )
        )
    return charts


def spend_by_year(yearly: pd.DataFrame) -> dict[str, list[float]]:
    """The present-value parts of each year's spend (capex, operating cost, resale credit);
    with the net line they sum, year by year, to `discounted_spend`."""
    return {label: yearly[column].astype(float).tolist() for column, label in SPEND_PARTS.items()}


def spend_chart(run: Run, prefix: str) -> str:
    """Spend by year in present value, stacked by kind (the credit below zero), with the net
    spend as a line; the years sum to the net present cost of the headline."""
    yearly = run.table("yearly")
    if not set(SPEND_PARTS) | {"discounted_spend"} <= set(yearly.columns):
        return ""
    cur = str(run.summary.get("currency", ""))
    total = float(yearly["discounted_spend"].sum())
    return bar_chart(
        yearly["year"].astype(str).tolist(),
        spend_by_year(yearly),
        chart_id=f"{prefix}-spend",
        title=f"{run.name}: spend by year, present value",
        y_label=f"{cur}, present value",
        x_label="year",
        lines={"net spend": yearly["discounted_spend"].astype(float).tolist()},
        note=f"(the years sum to {money(total, cur)}, the net present cost)",
    )


def cost_per_mtok_chart(run: Run, prefix: str) -> str:
    """Each year's cash cost per million tokens beside the plan's levelised cost (the headline),
    named so the two are not confused."""
    yearly = run.table("yearly")
    cur = str(run.summary.get("currency", ""))
    series = {"cash cost that year": yearly["cost_per_million_tokens"].astype(float).tolist()}
    levelised = number(run.summary.get("cost_per_million_served_tokens"))
    if levelised is not None:
        series["levelised over the plan (headline)"] = [levelised] * len(yearly)
    return line_chart(
        yearly["year"].astype(str).tolist(),
        series,
        chart_id=f"{prefix}-cost-per-mtok",
        title=f"{run.name}: cost per million tokens",
        y_label=f"{cur} per million tokens",
        x_label="year",
        note="(cash: capex paid and energy bought that year, undiscounted, over the tokens it "
        "serves; levelised: net present cost / present value of tokens served)",
    )


def parts_chart(run: Run, prefix: str) -> str:
    """Parts on tokens per joule against cost per million tokens, each named on the chart."""
    points = [
        Point(
            float(r["tokens_per_joule"]),
            float(r["cost_per_million_tokens"]),
            str(r["part"]),
            str(r["export_status"]),
        )
        for r in run.table("parts").to_dict(orient="records")
        if shown(r.get("tokens_per_joule")) and shown(r.get("cost_per_million_tokens"))
    ]
    return scatter_chart(
        points,
        chart_id=f"{prefix}-parts",
        title=f"{run.name}: parts, energy efficiency against cost",
        x_label="tokens per joule",
        y_label=f"{run.summary.get('currency', '')} per million tokens",
        log_x=True,
        log_y=True,
        note="(coloured by export status)",
    )


def shadow_price_charts(run: Run, prefix: str) -> list[str]:
    """The binding limits with the largest shadow prices as ranked bars, and their table."""
    prices = run.table("shadow_prices")
    binding = prices[prices["binding"].astype(bool)] if "binding" in prices.columns else prices
    binding = binding.reindex(binding["shadow_price"].abs().sort_values(ascending=False).index)
    top = binding.head(SHADOW_PRICES_SHOWN)
    if top.empty:
        return []
    labels = [
        " ".join(str(v) for v in (r["constraint"], r.get("site"), r.get("part"), r.get("year"))
                 if shown(v))
        for r in top.to_dict(orient="records")
    ]  # fmt: skip
    unit = str(top["unit"].iloc[0]) if "unit" in top.columns else "per unit of the limit"
    chart = ranked_bar_chart(
        labels,
        top["shadow_price"].tolist(),
        chart_id=f"{prefix}-shadow-prices",
        title=f"{run.name}: binding constraints by shadow price",
        x_label=f"shadow price ({unit})",
        note=f"(largest {SHADOW_PRICES_SHOWN} by magnitude)",
    )
    return [chart, html_table(top.to_dict(orient="records"))]


def plan_charts(run: Run, prefix: str) -> list[str]:
    """The plan's charts from whichever of its tables exist (schemas in docs/results.md)."""
    usable, charts = usable_tables(run)
    if "fleet" in usable:
        charts.append(fleet_chart(run, prefix))
    if "site_capacities" in usable:
        charts += capacity_charts(run, prefix)
    if "yearly" in usable:
        charts += [c for c in (spend_chart(run, prefix), cost_per_mtok_chart(run, prefix)) if c]
    if "parts" in usable:
        charts.append(parts_chart(run, prefix))
    if "shadow_prices" in usable and not run.table("shadow_prices").empty:
        charts += shadow_price_charts(run, prefix)
    charts.extend(plan_dispatch_charts(run, prefix))
    return charts
