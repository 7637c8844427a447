"""A starter scenario to edit: `planner scenario new` writes it from a few answers (name, buyer,
parts, workload, tokens per day, years) as commented YAML.

What the answers give is written as given; the catalogue supplies part prices (each profile's
sourced unit price, so no `price_per_part` is written). Everything else a plan needs (money,
lifetimes, the site's size, build cost, PUE, grid and tariff) is a PLACEHOLDER: a round number
so the starter passes `planner scenario check` and solves, cited as `source: placeholder` with
`confidence: estimate` and a note saying it is not a fact about any part, site or market. The
site's time zone and coordinates come from the IANA time-zone table (zone.tab: the country's
first zone and its principal city), also marked as placeholders for the site's own.
"""

from __future__ import annotations

import datetime as dt
import importlib.resources
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from planner.errors import InputError

PLACEHOLDER_NOTE = (
    "PLACEHOLDER written by planner scenario new: a round number so the starter solves, not a "
    "fact about any part, site or market. Replace it with a sourced figure."
)
ZONE_TABLES = (Path("/usr/share/zoneinfo/zone.tab"),)


@dataclass(frozen=True)
class Zone:
    """A country's time zone as zone.tab lists it: its id and its principal city's position."""

    timezone: str
    latitude_deg: float
    longitude_deg: float

    @property
    def city(self) -> str:
        """The city of the site's time zone, e.g. 'Sao Paulo' from 'America/Sao_Paulo'."""
        return self.timezone.rsplit("/", 1)[-1].replace("_", " ")


@dataclass(frozen=True)
class StarterSpec:
    """The answers a starter is written from."""

    name: str
    buyer: str  # ISO country code of the buyer (and of the site, unless site_country is given)
    parts: tuple[str, ...]  # hardware profile ids
    workload: str  # workload profile id
    tokens_per_day: float  # in the first year
    start_year: int
    end_year: int
    currency: str = "USD"
    site_country: str | None = None
    province: str | None = None
    latency: Literal["interactive", "batch"] = "interactive"


def _degrees(text: str) -> float:
    """zone.tab's ±DDMM[SS] or ±DDDMM[SS] as decimal degrees."""
    sign = -1.0 if text[0] == "-" else 1.0
    digits = text[1:]
    head = 2 if len(digits) in (4, 6) else 3
    deg, rest = int(digits[:head]), digits[head:]
    minutes, seconds = int(rest[:2]), int(rest[2:4] or 0)
    return sign * (deg + minutes / 60 + seconds / 3600)


def _zone_lines() -> list[str]:
    try:
        table = importlib.resources.files("tzdata").joinpath("zoneinfo", "zone.tab")
        return table.read_text(encoding="utf-8").splitlines()
    except (ModuleNotFoundError, FileNotFoundError):
        for path in ZONE_TABLES:
            if path.is_file():
                return path.read_text(encoding="utf-8").splitlines()
    return []


def zone_of(country: str) -> Zone | None:
    """The first zone zone.tab lists for a country (its most populous region's), or None."""
    for line in _zone_lines():
        fields = line.split("\t")
        if line.startswith("#") or len(fields) < 3 or fields[0] != country:
            continue
        match = re.fullmatch(r"([+-]\d{4,7})([+-]\d{5,7})", fields[1])
        if match:
            return Zone(fields[2], _degrees(match.group(1)), _degrees(match.group(2)))
    return None


def parse_years(text: str) -> tuple[int, int]:
    """'2026-2028' or '2026' as (start, end); anything else is an input error on `years`."""
    match = re.fullmatch(r"\s*(\d{4})\s*(?:-\s*(\d{4}))?\s*", text)
    if not match or (match.group(2) and int(match.group(2)) < int(match.group(1))):
        raise InputError.option(
            "years", f"'{text}' is not a span of years.", "write e.g. 2026-2028."
        )
    start = int(match.group(1))
    return start, int(match.group(2) or start)


def _figure(value: str | float, indent: str = "") -> str:
    shown = f'"{value}"' if isinstance(value, str) else (f"{value:.1e}" if value >= 1e5 else value)
    shown = str(shown).replace("e+0", "e+")
    return f"{{value: {shown}, source: placeholder, confidence: estimate, note: *placeholder}}"


def _header(spec: StarterSpec, file: str) -> str:
    today = dt.date.today().isoformat()
    return f"""\
# Starter scenario '{spec.name}', written by `planner scenario new` on {today}.
#
# What you answered is written as given (buyer, parts, workload, tokens per day, years); part
# prices come from each part's profile (sourced there), so none is written here.
# Every figure citing `source: placeholder` is a PLACEHOLDER: a round number so this file passes
# `planner scenario check` and solves, NOT a fact about your parts, sites or market. Replace each
# with a sourced figure (source: a key of `sources:` below or a URL; confidence: datasheet,
# press or estimate, with a note saying how an estimate was made). `grep -n placeholder` finds
# them; `planner scenario check` counts those left.
#
#   check:  planner scenario check {file}
#   solve:  planner plan {file} --relax      (the LP; drop --relax for whole servers)
#   ids:    planner hardware list, planner workload list; schema: docs/scenarios.md
name: {spec.name}
description: Starter scenario for {spec.name} (edit me).
currency: {spec.currency}   # all money below is in this currency
discount_rate_fraction: {{value: 0.08, source: placeholder, confidence: estimate, note: &placeholder "{PLACEHOLDER_NOTE}"}}
carbon_price_per_t: {_figure(0)}
unserved_penalty_per_mtok: {_figure(10)}   # the price of a million tokens left unserved
representative_days: 4   # days chosen from each site's year; more is slower and closer
"""  # noqa: E501


def _demand(spec: StarterSpec) -> str:
    if spec.latency == "interactive":
        latency = "{kind: interactive, ttft_ms: 2000, tpot_ms: 50}   # your service targets"
    else:
        latency = "{kind: batch}   # served within its day"
    return f"""
demand:
  horizon: {{start: {spec.start_year}, end: {spec.end_year}}}
  workloads:
    - name: main
      tokens_per_day: {spec.tokens_per_day:.4e}   # {spec.start_year}, as you gave it
      growth: {{kind: exponential, annual_growth_fraction: 0.0}}   # PLACEHOLDER: flat demand
      output_share_fraction: 0.25   # PLACEHOLDER: share of tokens that are output
      latency: {latency}
serving:
  - {{workload: main, profile: {spec.workload}, output_tokens_per_request: 500}}   # PLACEHOLDER request size
"""  # noqa: E501


def _parts(spec: StarterSpec) -> str:
    lines = ["", "parts:   # prices: each profile's unit price (sourced there); supply: no cap"]
    for part in spec.parts:
        lines += [f"  - part: {part}", f"    lifetime_years: {_figure(5)}"]
    return "\n".join(lines) + "\n"


def _site(spec: StarterSpec, zone: Zone) -> str:
    country = spec.site_country or spec.buyer
    province = spec.province or zone.city
    return f"""
sites:
  - name: site-1
    country: {country}
    province: {province}   # PLACEHOLDER: the site's province or state
    timezone: {zone.timezone}   # the country's first zone in the IANA table (zone.tab)
    # PLACEHOLDER: the coordinates of {zone.city} (zone.tab's city for {zone.timezone}); write the site's
    location: {{latitude_deg: {zone.latitude_deg:.2f}, longitude_deg: {zone.longitude_deg:.2f}}}
    it_existing: {_figure("0 MW")}
    it_max: {_figure("100 MW")}
    build_capex_per_mw: {_figure(1.0e7)}
    build_lead_time_years: {_figure(0)}   # built in a year, serving that year
    pue: {_figure(1.3)}
    grid:
      import_cap: {_figure("100 MW")}
      energy_price:
        tou:
          prices_per_mwh:
            flat: {_figure(100)}
          hours: [flat, flat, flat, flat, flat, flat, flat, flat, flat, flat, flat, flat,
                  flat, flat, flat, flat, flat, flat, flat, flat, flat, flat, flat, flat]
      demand_charge_per_mw_month: {_figure(0)}
      emission_t_per_mwh: {_figure(0.5)}
"""  # noqa: E501


def _rules(spec: StarterSpec) -> str:
    return f"""
rules:
  buyer: {spec.buyer}
  regime: auto   # the export rules in force at each year's mid-date; or a snapshot id
sources:
  placeholder: {{title: "Placeholder written by planner scenario new: replace every figure citing it"}}
"""  # noqa: E501


def starter_yaml(spec: StarterSpec, file: str = "FILE") -> str:
    """The starter scenario as commented YAML; raises an input error naming the parameter when
    the site's country has no time zone in the IANA table."""
    country = spec.site_country or spec.buyer
    zone = zone_of(country)
    if zone is None:
        raise InputError.option(
            "site_country" if spec.site_country else "buyer",
            f"'{country}' has no time zone in the IANA table (zone.tab).",
            "give a two-letter country code such as CN, US or SG.",
        )
    return _header(spec, file) + _demand(spec) + _parts(spec) + _site(spec, zone) + _rules(spec)
