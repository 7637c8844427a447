"""Parts, serving rates and rules of a plan: prices, lifetimes, tokens/s per part, purchases.

The rules themselves are read in planner.plan.resolve_rules."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from models.capacity import CpuServerInputs
from planner.catalogue.parts import Catalogue, Part
from planner.demand.projection import Interactive
from planner.errors import InputError, UnknownName
from planner.plan.resolve_rules import RulesTable
from planner.plan.resolver import Resolver, exchange_rate
from planner.plan.server_bills import ServerBills
from planner.serving.efficiency import Stacks, efficiency_for
from planner.serving.fitted import band_families
from planner.serving.model import ServingRequest, estimate
from planner.serving.step import is_moe
from planner.serving.video import estimate_video
from planner.serving.workloads import WorkloadLibrary

DEFAULT_PARTS_PER_SERVER = 8  # parts per server without a server profile or a count


def input_tokens_per_request(output_tokens: int, output_share_fraction: float) -> int:
    """Input tokens of a request from its output tokens and the demand's output share s:
    output x (1 - s) / s, at least 1."""
    share = max(output_share_fraction, 1e-9)
    return max(1, round(output_tokens * (1.0 - output_share_fraction) / share))


@dataclass(frozen=True)
class PartsTable:
    """The scenario's candidate parts as arrays on the parts axis P: price per part by period
    (scenario currency), parts per server, lead time and lifetime (years), supply cap (parts
    per period), resale value, and the confidence of each price."""

    parts: list[Part]
    price_per_part: np.ndarray  # (P, Y)
    confidence: list[str | None]
    per_server: np.ndarray
    lead: np.ndarray
    life: np.ndarray
    supply: np.ndarray  # (P, Y)
    resale: list[float | None]
    # from the parts' servers (planner.plan.resolve_servers); None: each profile's overhead
    server_overhead_w: np.ndarray | None = None  # (P,) host W per part
    cpu: CpuServerInputs | None = None  # CPU servers and the workloads' CPU work
    servers: ServerBills | None = None  # what each purchase unit holds
    server_files: tuple[Path, ...] = ()  # server profiles read (run records)


def part_price(r: Resolver, i: int, part: Part, tau: np.ndarray) -> tuple[np.ndarray, str | None]:
    """(Y,) price per part in the scenario currency, and the confidence of the base price."""
    spec = r.raw.parts[i]
    at = f"parts[{i}]"
    if spec.price_per_part is not None:
        base = r.number(f"{at}.price_per_part", spec.price_per_part)
        conf = spec.price_per_part.confidence
    elif part.unit_price is not None:
        priced = (
            f"'{part.id}' has no price_per_part here, and its profile ({part.path}) prices it at "
            f"{part.unit_price:,.0f} {part.price_currency}: that price"
        )
        rate = exchange_rate(r, part.price_currency, f"{at}.price_per_part", priced)
        base = part.unit_price * rate
        prov = part.provenance.get("unit_price")
        conf = prov.confidence if prov else None
    else:  # checked once the rules say whether the part can be bought at all
        return np.full(tau.shape, math.nan), None
    decline = r.number(
        f"{at}.price_decline_fraction_per_year", spec.price_decline_fraction_per_year, 0.0
    )
    price = base * (1.0 - decline) ** tau
    for label, fig in spec.price_by_year.items():
        y = r.period(label, f"{at}.price_by_year.{label}")
        if y is not None:
            price[y] = r.number(f"{at}.price_by_year.{label}", fig)
            conf = "estimate" if fig.confidence == "estimate" else conf
    return price, conf


def read_parts(r: Resolver, catalogue: Catalogue, tau: np.ndarray) -> PartsTable:
    """Each candidate part from the catalogue with its price path over the periods at `tau`
    (years from the horizon start), server size, lead time, lifetime, supply cap and resale."""
    parts, prices, conf, per_server, lead, life, supply, resale = [], [], [], [], [], [], [], []
    for i, spec in enumerate(r.raw.parts):
        at = f"parts[{i}]"
        if spec.part not in catalogue.parts:
            from difflib import get_close_matches

            close = get_close_matches(spec.part, list(catalogue.parts), n=1)
            r.problem(
                f"{at}.part",
                f"'{spec.part}' is not in the hardware catalogue.",
                f"did you mean '{close[0]}'?" if close else "see `planner hardware list`.",
            )
            continue
        part = catalogue.parts[spec.part]
        price, c = part_price(r, i, part, tau)
        parts.append(part)
        prices.append(price)
        conf.append(c)
        per_server.append(spec.parts_per_server or DEFAULT_PARTS_PER_SERVER)
        lead.append(r.number(f"{at}.lead_time_years", spec.lead_time_years, 0.0))
        life.append(r.number(f"{at}.lifetime_years", spec.lifetime_years))  # > 0: its range
        supply.append(r.by_period(spec.supply_cap_parts, f"{at}.supply_cap_parts", math.inf))
        resale.append(
            None
            if spec.resale_value_fraction is None
            else r.number(f"{at}.resale_value_fraction", spec.resale_value_fraction)
        )
    return PartsTable(
        parts=parts,
        price_per_part=np.array(prices).reshape(len(parts), tau.shape[0]),
        confidence=conf,
        per_server=np.array(per_server, dtype=int),
        lead=np.array(lead, dtype=float),
        life=np.array(life, dtype=float),
        supply=np.array(supply).reshape(len(parts), tau.shape[0]),
        resale=resale,
    )


def check_prices(r: Resolver, x: PartsTable, rules: RulesTable) -> None:
    """A part with no price is fine only if it can never be bought (installed base only)."""
    for p, part in enumerate(x.parts):
        missing = np.isnan(x.price_per_part[p])
        i = [q.part for q in r.raw.parts].index(part.id)
        # Priced in its profile but not converted: the missing rate is reported where it is read.
        unpriced = part.unit_price is None or r.raw.parts[i].price_per_part is not None
        if unpriced and missing.any() and rules.allowed[p][:, missing].any():
            r.problem(
                f"parts[{i}].price_per_part",
                f"'{part.id}' may be bought but has no price (its profile has none).",
                "give price_per_part with its source and confidence.",
            )
        x.price_per_part[p, missing] = 0.0


def resale_fractions(x: PartsTable, tau: np.ndarray, duration: np.ndarray) -> np.ndarray | None:
    """(P, Y) resale fractions: given ones constant, the rest straight line (as the model's)."""
    if all(v is None for v in x.resale):
        return None
    end = float(tau[-1] + duration[-1])
    straight = np.clip(
        (tau[None, :] + (x.lead + x.life)[:, None] - end) / x.life[:, None], 0.0, 1.0
    )
    for p, value in enumerate(x.resale):
        if value is not None:
            straight[p] = value
    return straight


def serving_rates(
    r: Resolver, parts: list[Part], library: WorkloadLibrary, stacks: Stacks
) -> tuple[np.ndarray, np.ndarray]:
    """(W, P) tokens/s per busy part (input + output) and (P,) busy watts per part (no host),
    with the serving stacks' efficiencies (`planner.serving.efficiency.load_stacks`)."""
    demand = r.scenario.demand
    factors = band_factors(r, parts, stacks)
    by_name = {s.workload: (i, s) for i, s in enumerate(r.raw.serving)}
    rate = np.zeros((len(demand.workload_names), len(parts)))
    busy_w = np.zeros((len(demand.workload_names), len(parts)))
    for w, name in enumerate(demand.workload_names):
        i, spec = by_name[name]
        at = f"serving[{i}]"
        try:
            workload = library[spec.profile]
        except UnknownName as exc:  # carries the did-you-mean
            r.problem(f"{at}.profile", str(exc), "use an id from `planner workload list`.")
            continue
        video = bool(demand.is_video[w])
        if (workload.kind == "video") != video:
            unit = "video_s" if workload.kind == "video" else "tokens"
            r.problem(
                f"{at}.profile",
                f"'{spec.profile}' is a {workload.kind} workload but demand '{name}' counts "
                f"{demand.units[w]}.",
                f"set unit: {unit} on demand workload '{name}', or serve it with "
                f"{'an LLM' if video else 'a video'} profile.",
            )
            continue
        if video:
            video_serving_rates(
                r, (w, at, name), spec.precision, workload, parts, stacks, rate, busy_w
            )
            continue
        out_tokens = spec.output_tokens_per_request
        in_tokens = input_tokens_per_request(out_tokens, float(demand.output_share_fraction[w]))
        latency = demand.latency[w]
        request = ServingRequest(
            input_tokens=in_tokens,
            output_tokens=out_tokens,
            ttft_s=latency.ttft_ms / 1e3 if isinstance(latency, Interactive) else None,
            tpot_s=latency.tpot_ms / 1e3 if isinstance(latency, Interactive) else None,
            precision=spec.precision,
        )
        serve = partial(token_rate, workload, request, stacks, factors)
        fill_serving_row(
            r, (w, at, name), parts, serve, rate, busy_w,
            f"no candidate part can serve '{name}' at its latency targets.",
            "relax demand latency targets, lower the precision, or add a part.",
        )  # fmt: skip
    return rate, busy_w.max(axis=0)


BandFactors = dict[tuple[str, bool], float]  # (part id, mixture of experts) -> multiplier


def token_rate(
    workload: Any, request: ServingRequest, stacks: Any, factors: BandFactors, part: Part
) -> tuple[float, float]:
    """(tokens/s per busy part, input + output; watts per part with its host share), the rate
    times the part's `serving.band` factor for the workload's kind (`band_factors`)."""
    est = estimate(part, workload, request, efficiency_for(part, stacks))
    factor = factors.get((part.id, is_moe(workload)), 1.0)
    return est.total_tokens_per_s_per_part * factor, est.watts_per_part


def error_band_of(stacks: Any, part: Part, moe: bool) -> float:
    """The part family's error band for dense models or mixtures of experts: its held-out rows'
    largest miss factor less 1 (calibration table; 0 without a table)."""
    table = getattr(stacks, "calibration", None)
    band = None if table is None else table.error_band(part.id, moe)
    return 0.0 if band is None else band[0]


def band_factors(r: Resolver, parts: list[Part], stacks: Any) -> BandFactors:
    """Each part's modelled-rate multiplier for dense and MoE models at the scenario's k error
    bands (the `serving.band` knob, or `serving.band.<family>` for one part family): the
    family's held-out rows missed by up to a factor f = 1 + band either way, so k = -1 takes a
    rate at r / f, k = +1 at r f, r f^k between; the plan's notes say how far each part moved."""
    k = r.scenario.serving_band
    by_family = dict(r.scenario.serving_band_by_family)
    if k == 0.0 and not by_family:
        return {}
    family_of = family_lookup(r, stacks, by_family)
    ks = {part.id: by_family.get(family_of(part.id), k) for part in parts}
    factors: BandFactors = {
        (part.id, moe): (1.0 + error_band_of(stacks, part, moe)) ** ks[part.id]
        for part in parts
        for moe in (False, True)
    }
    moved = ", ".join(
        f"{part.id} x{factors[(part.id, False)]:.2f} (MoE x{factors[(part.id, True)]:.2f})"
        for part in parts
    )
    if not by_family:
        said = f"serving.band = {k:g}: every modelled token rate taken at {k:g} error bands"
    else:
        knobs = [f"serving.band.{f} = {v:g}" for f, v in sorted(by_family.items())]
        said = ", ".join(([f"serving.band = {k:g}"] if k else []) + knobs) + (
            ": each modelled token rate taken at its part family's k error bands"
            + ("" if k else " (0 for the other families)")
        )
    r.notes.append(f"{said} ({moved}); video rates carry no band and are as modelled.")
    return factors


def family_lookup(r: Resolver, stacks: Any, by_family: dict[str, float]) -> Callable[[str], str]:
    """Part id -> its calibration family ("default" for a part of none); a `serving.band.<f>`
    naming no family of the table is an input error."""
    table = getattr(stacks, "calibration", None)
    family_of = dict(getattr(table, "family_of", None) or {})
    known = band_families(table)
    unknown = sorted(set(by_family) - known)
    if unknown:
        raise InputError.one(
            str(r.scenario.path),
            f"serving.band.{unknown[0]}",
            "names no part family of the calibration table.",
            f"use one of {', '.join(sorted(known))} (serving.band moves every family).",
        )
    return lambda part_id: family_of.get(part_id, "default")


def video_rate(
    workload: Any, precision: str | None, stacks: Any, part: Part
) -> tuple[float, float]:
    """(video seconds per second per busy part; watts per part with its host share)."""
    est = estimate_video(part, workload, efficiency_for(part, stacks), precision)
    return est.video_s_per_s_per_part, est.watts_per_part


def fill_serving_row(
    r: Resolver,
    row: tuple[int, str, str],
    parts: list[Part],
    serve: Callable[[Part], tuple[float, float]],
    rate: np.ndarray,
    busy_w: np.ndarray,
    problem: str,
    fix: str,
) -> None:
    """Fill row w of `rate` and `busy_w` from `serve(part)` -> (units/s per busy part, watts
    per part with its host share); a part that cannot serve is a note, no part at all a problem.
    `row` is (w, the serving entry's field path, the workload's name)."""
    w, at, name = row
    for p, part in enumerate(parts):
        try:
            rate[w, p], watts = serve(part)
        except InputError as exc:
            r.notes.append(f"{part.id} cannot serve {name}: {exc.problems[0].problem}")
            continue
        busy_w[w, p] = watts - (part.server_overhead_w or 0.0)
    if not rate[w].any():
        r.problem(f"{at}.profile", problem, fix)


def video_serving_rates(
    r: Resolver,
    row: tuple[int, str, str],
    precision: str | None,
    workload: Any,
    parts: list[Part],
    stacks: Any,
    rate: np.ndarray,
    busy_w: np.ndarray,
) -> None:
    """Fill row w with video seconds per second per part and busy watts (serving (V1, V2));
    `row` is (w, the serving entry's field path, the workload's name)."""
    w, _, name = row
    if isinstance(r.scenario.demand.latency[w], Interactive):
        r.notes.append(
            f"{name}: video is served in the hour it is asked for; its TTFT/TPOT targets do not "
            "apply to video generation and are ignored."
        )
    fill_serving_row(
        r, row, parts, partial(video_rate, workload, precision, stacks), rate, busy_w,
        f"no candidate part can generate '{name}' video.",
        "add a part with a dense peak at the serving precision and a known stack efficiency.",
    )  # fmt: skip
