"""A plan run in words, for the first lines of its report: one paragraph on what is bought,
where and when, the capacity it adds up to, what it spends and costs per million served tokens,
whether demand is met and what binds; and a sentence for each site that builds nothing, saying
what the run's data shows against the sites the plan uses (no grid yet, dearer energy, a higher
PUE, a higher build cost), never a reason the data does not hold.

Reads only the run folder (docs/results.md): summary.json and the tables purchases,
site_capacities, shadow_prices, dispatch (the energy price the plan pays) and the resolved
scenario (PUE and build cost as written).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeGuard

import pandas as pd

from planner.results.folders import Run

LIST_AT_MOST = 4  # parts or limits named before "and N more"


# --------------------------------------------------------------------------- words


def join_words(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def year_span(years: Iterable[Any]) -> str:
    """Years as runs: '2026', '2026-2028', '2026-2027 and 2030' (labels that are not whole
    years are listed as they are)."""
    labels = sorted({str(y) for y in years})
    if not all(y.isdigit() for y in labels):
        return join_words(labels)
    runs: list[list[int]] = []
    for year in sorted(int(y) for y in labels):
        if runs and year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    return join_words([f"{r[0]}" if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs])


def money(value: float, currency: str) -> str:
    """An amount a reader takes in at a glance: '33.1 billion CNY', '4.50 million USD',
    '229,298 USD'."""
    magnitude = abs(value)
    for limit, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        if magnitude >= limit:
            return f"{value / limit:.3g} {word} {currency}".replace("e+", "e")
    return f"{value:,.0f} {currency}"


def count(value: float) -> str:
    """A whole number of units with thousands separators."""
    return f"{value:,.0f}"


def shown(value: Any) -> TypeGuard[float | int | str]:
    """False for None and NaN: a figure the run holds."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def number(value: Any) -> float | None:
    """A summary value as a float; None when missing, NaN or not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value)


def _table(run: Run, name: str) -> pd.DataFrame | None:
    return run.table(name) if run.has_table(name) else None


# --------------------------------------------------------------------------- what is bought


def bought_sentence(purchases: pd.DataFrame) -> str:
    """Accelerators bought: the total, then per part (most first) its sites and years."""
    if purchases.empty:
        return "It buys no accelerators: the installed base serves the plan."
    total = float(purchases["units_count"].sum())
    by_part = purchases.groupby("part", sort=False)["units_count"].sum()
    by_part = by_part.sort_values(ascending=False)
    clauses = []
    for part in by_part.index[:LIST_AT_MOST]:
        rows = purchases[purchases["part"] == part]
        sites = rows.groupby("site", sort=False)["units_count"].sum().sort_values(ascending=False)
        clauses.append(
            f"{count(by_part[part])} {part} at {join_words([str(s) for s in sites.index])} "
            f"({year_span(rows['year'])})"
        )
    rest = by_part.iloc[LIST_AT_MOST:]
    if len(rest):
        clauses.append(f"{count(rest.sum())} of {len(rest)} more parts")
    years = {str(y) for y in purchases["year"]}
    when = f"in {year_span(years)}" if len(years) == 1 else f"over {year_span(years)}"
    return f"It buys {count(total)} accelerators {when}: {join_words(clauses)}."


def capacity_sentence(caps: pd.DataFrame) -> str:
    """What the sites hold in the last year: IT MW, battery and solar, and at how many sites."""
    last = caps[caps["year"].astype(str) == max(caps["year"].astype(str))]
    it_mw = float(last["it_capacity_mw"].sum()) if "it_capacity_mw" in last else 0.0
    used = last[last["it_capacity_mw"] > 1e-6] if "it_capacity_mw" in last else last.iloc[:0]
    extras = [
        f"{float(last[column].sum()):,.0f} {unit} of {what}"
        for column, unit, what in (("battery_mwh", "MWh", "battery"), ("solar_mw", "MW", "solar"))
        if column in last and float(last[column].sum()) > 0.5
    ]
    held = join_words([f"{it_mw:,.0f} MW of IT capacity", *extras])
    largest = ""
    if len(used) > 1:
        top = used.sort_values("it_capacity_mw", ascending=False).iloc[0]
        largest = f"; the largest is {top['site']} with {float(top['it_capacity_mw']):,.0f} MW"
    sites = "its one site holds" if len(used) == 1 else f"its {len(used)} sites hold"
    return f"In {last['year'].iloc[0]} {sites} {held}{largest}."


def cost_sentence(summary: Mapping[str, Any]) -> str:
    """What it spends and what a million served tokens (and a video minute) cost."""
    cur = str(summary.get("currency", ""))
    spend = number(summary.get("net_present_cost"))
    per_mtok = number(summary.get("cost_per_million_served_tokens"))
    video = number(summary.get("video_cost_per_minute"))
    parts = []
    if spend is not None:
        parts.append(f"It spends {money(spend, cur)} (net present cost)")
    if per_mtok is not None:
        parts.append(f"{per_mtok:,.4g} {cur} per million served tokens")
    if video is not None:
        parts.append(f"{video:,.4g} {cur} per minute of video")
    if not parts:
        return ""
    text = join_words([", ".join(parts[:2]), *parts[2:]])
    return text[0].upper() + text[1:] + "."


def demand_sentence(summary: Mapping[str, Any]) -> str:
    """Demand met in every year, or the verdict's account of what is short."""
    if "demand_met" not in summary:
        return ""
    if summary["demand_met"]:
        return "Demand is met: every workload serves at least 99.9% of its demand in every period."
    verdict = str(summary.get("verdict", "")).removeprefix("DEMAND NOT MET: ")
    share = number(summary.get("unserved_share_fraction"))
    overall = f" ({share:.1%} of all tokens unserved)" if share is not None else ""
    return f"Demand is not met{overall}: {verdict}."


# --------------------------------------------------------------------------- what binds


LIMIT_WORDS = {
    "grid_import_cap": "the grid connection at",
    "dc_max": "the buildable IT capacity at",
    "supply_cap": "the supply of",
    "budget": "the budget",
    "domestic_share": "the domestic-share rule",
    "tpp_cap": "the TPP country cap of",
}


def _where(row: dict[str, Any]) -> str:
    for key in ("site", "part", "country"):
        if shown(row.get(key)) and str(row.get(key)):
            return str(row[key])
    return ""


def binding_sentence(prices: pd.DataFrame) -> str:
    """The limits with a shadow price, by kind (largest price first), each with its years."""
    if "binding" in prices.columns:
        prices = prices[prices["binding"].astype(bool)]
    if prices.empty:
        return (
            "No limit has a shadow price: more grid, room, supply or budget would not lower "
            "the cost."
        )
    groups: dict[str, dict[str, list[Any]]] = {}
    for row in prices.sort_values("shadow_price", ascending=False).to_dict(orient="records"):
        years = groups.setdefault(str(row["constraint"]), {}).setdefault(_where(row), [])
        if shown(row.get("year")):
            years.append(row["year"])
    clauses = []
    for kind, places in groups.items():
        named = [
            f"{where} ({year_span(years)})" if years else where for where, years in places.items()
        ]
        named = [n.strip() for n in named if n.strip()]
        if len(named) > LIST_AT_MOST:
            named = [*named[:LIST_AT_MOST], f"{len(named) - LIST_AT_MOST} more"]
        words = LIMIT_WORDS.get(kind, kind.replace("_", " "))
        clauses.append(f"{words} {join_words(named)}".strip())
    return f"What binds (shadow prices): {'; '.join(clauses)}."


# --------------------------------------------------------------------------- idle sites


def built_sites(purchases: pd.DataFrame | None, caps: pd.DataFrame) -> set[str]:
    """Sites the plan builds at: parts bought there, IT capacity growing, or storage or solar."""
    built = set() if purchases is None else {str(s) for s in purchases["site"]}
    for site, rows in caps.groupby("site", sort=False):
        it_mw = rows["it_capacity_mw"] if "it_capacity_mw" in rows else pd.Series(dtype=float)
        grows = len(it_mw) > 0 and float(it_mw.max() - it_mw.iloc[0]) > 1e-6
        stores = any(float(rows[c].max()) > 1e-6 for c in ("battery_mwh", "solar_mw") if c in rows)
        if grows or stores:
            built.add(str(site))
    return built


def mean_price_per_mwh(dispatch: pd.DataFrame | None) -> dict[str, float]:
    """Each site's energy price as the plan pays it (after a forced power subsidy), the mean
    over its representative hours weighted by the hours each stands for."""
    if dispatch is None or not {"site", "price_per_mwh", "weight_h"} <= set(dispatch.columns):
        return {}
    weighted = dispatch.assign(w=dispatch["price_per_mwh"] * dispatch["weight_h"])
    sums = weighted.groupby("site")[["w", "weight_h"]].sum()
    return {str(s): float(r["w"] / r["weight_h"]) for s, r in sums.iterrows() if r["weight_h"]}


def site_figures(run: Run) -> dict[str, dict[str, Any]]:
    """Per site of the resolved scenario: PUE, build cost per MW (plain numbers as written)
    and whether it may hold domestic parts only."""
    scenario = run.resolved_inputs().get("scenario") or {}
    out = {}
    for site in scenario.get("sites") or []:
        if not isinstance(site, dict) or "name" not in site:
            continue

        def number(key: str, site: dict[str, Any] = site) -> float | None:
            figure = site.get(key)
            value = figure.get("value") if isinstance(figure, dict) else figure
            return float(value) if isinstance(value, int | float) else None

        out[str(site["name"])] = {
            "pue": number("pue"),
            "build": number("build_capex_per_mw"),
            "domestic_only": bool(site.get("state_funded") or site.get("domestic_only")),
        }
    return out


def grid_fact(rows: pd.DataFrame) -> str:
    """'no grid connection before Y' (or in any year) from the site's grid_import_cap_mw."""
    if "grid_import_cap_mw" not in rows.columns:
        return ""
    ordered = rows.assign(label=rows["year"].astype(str)).sort_values("label")
    open_years = ordered[ordered["grid_import_cap_mw"] > 1e-6]["label"].tolist()
    if not open_years:
        return "it has no grid connection in any year of the plan"
    if open_years[0] != ordered["label"].iloc[0]:
        return f"it has no grid connection before {open_years[0]}"
    return ""


def dearer_than(
    value: float | None, used: dict[str, float | None], describe: str, unit: str, then: str = ""
) -> str:
    """'<describe> X<unit><then>, above A (Y) and B (Z)' naming the sites used that do better,
    or '' when none does."""
    if value is None:
        return ""
    better = {s: v for s, v in used.items() if v is not None and v < value * (1 - 1e-3)}
    if not better:
        return ""
    named = [f"{s} ({v:,.4g}{unit})" for s, v in sorted(better.items(), key=lambda e: e[1])]
    return f"{describe} {value:,.4g}{unit}{then}, above {join_words(named)}"


def idle_site_facts(run: Run, site: str, used: Sequence[str]) -> list[str]:
    """What the run's data shows against building at `site`: grid not yet connected, dearer
    energy, higher PUE, higher build cost, domestic parts only when none is bought."""
    caps = run.table("site_capacities")
    rows = caps[caps["site"].astype(str) == site]
    cur = str(run.summary.get("currency", ""))
    prices = mean_price_per_mwh(_table(run, "dispatch"))
    figures = site_figures(run)
    subsidy = rows["power_subsidy_fraction"].max() if "power_subsidy_fraction" in rows else 0.0
    after = f" after its {subsidy:.0%} power subsidy" if subsidy and subsidy > 0 else ""

    def of(key: str) -> dict[str, float | None]:
        return {u: figures.get(u, {}).get(key) for u in used}

    facts = [
        grid_fact(rows),
        dearer_than(
            prices.get(site),
            {u: prices.get(u) for u in used},
            "its energy costs",
            f" {cur}/MWh",
            f" on average{after}",
        ),
        dearer_than(figures.get(site, {}).get("pue"), of("pue"), "its PUE is", ""),
        dearer_than(
            figures.get(site, {}).get("build"), of("build"), "building costs", f" {cur} per MW"
        ),
        _domestic_fact(run, site, figures),
    ]
    return [f for f in facts if f]


def _domestic_fact(run: Run, site: str, figures: dict[str, dict[str, Any]]) -> str:
    """'it may hold domestic parts only and the plan buys none' when that is what the data says."""
    if not figures.get(site, {}).get("domestic_only"):
        return ""
    parts, purchases = _table(run, "parts"), _table(run, "purchases")
    if parts is None or "domestic" not in parts.columns or purchases is None:
        return ""
    domestic = {str(p) for p in parts[parts["domestic"].astype(bool)]["part"]}
    if domestic & {str(p) for p in purchases["part"]}:
        return ""
    return "it may hold domestic parts only, and the plan buys none"


def idle_site_sentences(run: Run) -> list[str]:
    """A sentence per site that builds nothing, from the data (or saying the data shows no
    disadvantage)."""
    caps = _table(run, "site_capacities")
    if caps is None or "site" not in caps.columns:
        return []
    purchases = _table(run, "purchases")
    built = built_sites(purchases, caps)
    sites = [str(s) for s in dict.fromkeys(caps["site"])]
    used = [s for s in sites if s in built]
    sentences = []
    for site in (s for s in sites if s not in built):
        facts = idle_site_facts(run, site, used) if used else []
        if facts:
            why = "; ".join(facts)
        elif used:
            why = (
                "the run's tables show no grid, energy-price, PUE or build-cost disadvantage "
                f"against {join_words(used)}; at the optimum the plan needs no capacity there"
            )
        else:
            why = "the plan builds at no site"
        sentences.append(f"{site} builds nothing: {why}.")
    return sentences


def what_if_sentence(summary: Mapping[str, Any]) -> str:
    """The run's `--set` overrides, said first: a what-if is not the scenario as written."""
    settings = summary.get("settings")
    if not isinstance(settings, dict) or not settings:
        return ""
    named = ", ".join(
        f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in settings.items()
    )
    return f"A what-if of the scenario ({named})."


def plan_story(run: Run) -> str:
    """The one-paragraph account of a plan run (empty for runs that are not plans)."""
    if run.kind != "plan":
        return ""
    purchases, caps = _table(run, "purchases"), _table(run, "site_capacities")
    prices = _table(run, "shadow_prices")
    sentences = [
        what_if_sentence(run.summary),
        bought_sentence(purchases) if purchases is not None else "",
        capacity_sentence(caps) if caps is not None and "year" in caps.columns else "",
        cost_sentence(run.summary),
        demand_sentence(run.summary),
        binding_sentence(prices) if prices is not None and "shadow_price" in prices else "",
    ]
    return " ".join(s for s in sentences if s)
