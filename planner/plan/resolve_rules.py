"""The rules of a plan: what each site may buy in each period, at what price uplift and power
subsidy, and the country TPP caps, from the export-rules engine (planner.rules).

Each site's purchases are classified for the scenario's buyer taking delivery in the site's
country (`rules.buyer.at(site.country)`): the delivery country decides which controls reach the
purchase, the buyer's headquarters brings in the controls that follow headquarters (a
China-headquartered provider's Malaysian site), and its group decides parts sold only within a
group. Country TPP caps form one group per site country; a cumulative cap (one allowance over a
window of years) is one allowance over the plan periods inside the window.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from planner.catalogue.parts import Part
from planner.plan.resolver import Resolver
from planner.rules import Cap, PurchaseTerms, RegimeLibrary, purchase_terms


@dataclass(frozen=True)
class RulesTable:
    """What the rules allow: which part each site may buy in each period, the price uplift
    (duties, licence fees, as fractions) and power subsidy, and the country TPP caps."""

    allowed: np.ndarray  # (P, S, Y)
    uplift: np.ndarray  # (P, Y)
    subsidy_by_part: np.ndarray  # (P, S, Y) power subsidy a site would get for this part
    cap_group_sites: np.ndarray  # (G, S) bool: the sites of each capped country
    tpp_cap: np.ndarray  # (G, Y) TPP a country's sites may buy; inf = none
    tpp_cap_cumulative: np.ndarray  # (G,) bool: one allowance over the capped periods
    rule_ids: tuple[str, ...]
    countries: tuple[str, ...] = ()  # the country of each cap group


@dataclass
class _Caps:
    """Country TPP caps collected while reading purchase terms, one row per site country."""

    countries: tuple[str, ...]
    tpp: np.ndarray  # (G, Y)
    cumulative: np.ndarray  # (G,)

    @classmethod
    def empty(cls, countries: tuple[str, ...], n_y: int) -> _Caps:
        return cls(
            countries, np.full((len(countries), n_y), math.inf), np.zeros(len(countries), bool)
        )

    def add(self, country: str, y: int, year: int, caps: tuple[Cap, ...]) -> None:
        g = self.countries.index(country)
        for cap in caps:
            if cap.kind != "country_allocation_tpp" or cap.value is None or not cap.covers(year):
                continue
            self.tpp[g, y] = min(self.tpp[g, y], cap.value)
            self.cumulative[g] |= cap.cumulative


def _terms(
    r: Resolver, part: Part, s: int, date: dt.date, library: RegimeLibrary, regime: str | None,
    cache: dict,
) -> PurchaseTerms:  # fmt: skip
    """Purchase terms of a part for one site on one date (cached per distinct site kind)."""
    site, rules = r.raw.sites[s], r.raw.rules
    key = (part.id, site.country, site.state_funded, site.province, date)
    if key not in cache:
        cache[key] = purchase_terms(
            part,
            rules.buyer.at(site.country),
            date,
            state_funded_site=site.state_funded,
            library=library,
            regime=regime,
            site_region=site.province,
            revenue_share_pass_through=rules.revenue_share_pass_through_fraction,
        )
    return cache[key]


def _note_sold_to(r: Resolver, parts: list[Part]) -> None:
    """Say which candidate parts the buyer's group cannot buy (a part sold within a group)."""
    group = r.raw.rules.buyer.group
    for i, part in enumerate(parts):
        if not part.sold_to(group):
            groups = "/".join(part.sold_to_groups or ())
            r.notes.append(
                f"parts[{i}] {part.id}: sold only within the {groups} group, so not bought for "
                f"this buyer (rules.buyer.group: {group or 'none'}); installed units still count."
            )


def _check_banned(r: Resolver, parts: list[Part]) -> None:
    for i, name in enumerate(r.raw.rules.banned_parts):
        if name not in {p.id for p in parts}:
            r.problem(
                f"rules.banned_parts[{i}]",
                f"'{name}' is not a candidate part.",
                "name a part listed under parts.",
            )


def read_rules(
    r: Resolver,
    parts: list[Part],
    dates: list[dt.date],
    library: RegimeLibrary,
    regime: str | None,
) -> RulesTable:
    """(P, S, Y) what may be bought where and when, (P, Y) price uplift, (P, S, Y) power subsidy
    per part, and the country TPP caps (one group per site country)."""
    rules, sites = r.raw.rules, r.raw.sites
    n_p, n_s, n_y = len(parts), len(sites), len(dates)
    allowed, subsidy = np.zeros((n_p, n_s, n_y), dtype=bool), np.zeros((n_p, n_s, n_y))
    uplift = np.zeros((n_p, n_y))
    countries = tuple(dict.fromkeys(s.country for s in sites))
    caps = _Caps.empty(countries, n_y)
    ids: set[str] = set()
    cache: dict[tuple[Any, ...], Any] = {}
    fixed = None if regime in (None, "auto") else regime
    for p, part in enumerate(parts):
        for s, site in enumerate(sites):
            domestic = part.domestic_for(site.country)
            for y, date in enumerate(dates):
                terms = _terms(r, part, s, date, library, fixed, cache)
                allowed[p, s, y] = (
                    terms.allowed
                    and part.id not in rules.banned_parts
                    and (domestic or not site.domestic_only)
                )
                uplift[p, y] = max(uplift[p, y], terms.price_uplift_fraction)
                subsidy[p, s, y] = terms.power_subsidy_fraction if domestic else 0.0
                ids.update(terms.rules)
                caps.add(site.country, y, date.year, terms.caps)
    _check_banned(r, parts)
    _note_sold_to(r, parts)
    groups = np.array([[site.country == c for site in sites] for c in countries], dtype=bool)
    return RulesTable(
        allowed, uplift, subsidy, groups, caps.tpp, caps.cumulative, tuple(sorted(ids)), countries
    )
