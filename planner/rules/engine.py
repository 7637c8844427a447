"""The export-control rules engine: classify a part for a buyer and a date, and price a purchase.

The engine knows no rule by name. It computes a part's figures (TPP, performance density,
aggregate I/O, memory and scale-up bandwidth), lands the part in the first ECCN bucket of the
regime's classification whose test holds, then walks the regime's controls in order: the first
`export_licence` control that reaches the buyer and the part decides the licence status, review
policy, fees and caps; `buyer_restriction`, `power_subsidy` and `note` controls add their effect.

Thresholds are compared with a relative tolerance of 1e-9, so float noise from unit conversion
(1979 TFLOPS x 8 bit) never decides a bucket; "4800 or more" still means >= 4800.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from planner.catalogue.parts import Part
from planner.catalogue.tpp import (
    IoResult,
    TppResult,
    aggregate_io_bandwidth,
    assessed_processing_performance,
)
from planner.errors import InputError
from planner.rules.buyer import Buyer, as_buyer
from planner.rules.classification import BuyerRule, Classification, Fees
from planner.rules.regimes import Buyers, Cap, Condition, Control, Regime, RegimeLibrary
from planner.rules.schema import ReviewPolicy, Status

_REL = 1e-9


def parse_date(text: str | dt.date, *, field: str = "date") -> dt.date:
    """A date written YYYY-MM-DD; anything else is an InputError naming the parameter."""
    if isinstance(text, dt.date):
        return text
    try:
        return dt.date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise InputError.option(
            field, f"'{text}' is not a date.", "write YYYY-MM-DD, e.g. 2025-06-01."
        ) from None


@dataclass(frozen=True)
class PartFigures:
    """What the rules test, computed once per part."""

    part: Part
    tpp: TppResult
    io: IoResult

    @classmethod
    def of(cls, part: Part) -> PartFigures:
        """The part's TPP and aggregate I/O bandwidth, the figures the rules test."""
        return cls(part, assessed_processing_performance(part), aggregate_io_bandwidth(part))

    @property
    def arithmetic(self) -> str:
        """How TPP and I/O bandwidth were computed from the datasheet figures, in words."""
        return f"TPP = {self.tpp.arithmetic}; {self.io.arithmetic}"


def _at_least(value: float, threshold: float) -> bool:
    return value >= threshold * (1 - _REL)


def _numeric_tests(c: Condition, f: PartFigures) -> list[tuple[str, float | None, float, bool]]:
    """(name, value, threshold, is_minimum) for every numeric test the condition sets."""
    p = f.part
    tests = [
        ("TPP", f.tpp.tpp, c.tpp_min, True),
        ("TPP", f.tpp.tpp, c.tpp_below, False),
        ("PD", f.tpp.performance_density, c.performance_density_min, True),
        ("PD", f.tpp.performance_density, c.performance_density_below, False),
        ("aggregate I/O", f.io.io_bytes_per_s, c.aggregate_io_min_bytes_per_s, True),
        (
            "memory bandwidth",
            p.memory_bandwidth_bytes_per_s,
            c.memory_bandwidth_min_bytes_per_s,
            True,
        ),
        (
            "memory bandwidth",
            p.memory_bandwidth_bytes_per_s,
            c.memory_bandwidth_below_bytes_per_s,
            False,
        ),
        (
            "scale-up bandwidth",
            p.scale_up_bandwidth_bytes_per_s,
            c.scale_up_bandwidth_min_bytes_per_s,
            True,
        ),
    ]
    return [(n, v, t, m) for n, v, t, m in tests if t is not None]


@dataclass
class _Verdict:
    """Tri-state test result: True, False, or None (a figure it needs is unknown)."""

    holds: bool | None
    unknown: list[str] = field(default_factory=list)


def _and(verdicts: Sequence[_Verdict]) -> _Verdict:
    unknown = [u for v in verdicts for u in v.unknown]
    if any(v.holds is False for v in verdicts):
        return _Verdict(False)
    if any(v.holds is None for v in verdicts):
        return _Verdict(None, unknown)
    return _Verdict(True)


def _or(verdicts: Sequence[_Verdict]) -> _Verdict:
    if any(v.holds is True for v in verdicts):
        return _Verdict(True)
    if any(v.holds is None for v in verdicts):
        return _Verdict(None, [u for v in verdicts for u in v.unknown])
    return _Verdict(False)


def holds(c: Condition, f: PartFigures, *, buyer: str, eccn: str | None) -> _Verdict:
    """Evaluate a condition on a part (for a buyer, given the part's ECCN bucket)."""
    p = f.part
    verdicts: list[_Verdict] = []
    for name, value, threshold, is_min in _numeric_tests(c, f):
        if value is None:
            verdicts.append(_Verdict(None, [name]))
        else:
            ok = _at_least(value, threshold) if is_min else not _at_least(value, threshold)
            verdicts.append(_Verdict(ok))
    flags = [
        (c.datacenter, p.datacenter),
        (c.hbm, (p.memory_type or "").upper().startswith("HBM")),
        (c.domestic, p.domestic_for(buyer)),
    ]
    verdicts += [_Verdict(want == have) for want, have in flags if want is not None]
    if c.eccn is not None:
        verdicts.append(_Verdict(eccn in c.eccn))
    if c.parts is not None:
        verdicts.append(_Verdict(p.id in c.parts))
    if c.not_parts is not None:
        verdicts.append(_Verdict(p.id not in c.not_parts))
    if c.designed_in is not None:
        verdicts.append(_Verdict(p.designed_in in c.designed_in))
    if c.any_of is not None:
        verdicts.append(_or([holds(sub, f, buyer=buyer, eccn=eccn) for sub in c.any_of]))
    return _and(verdicts)


def classify_eccn(regime: Regime, f: PartFigures) -> tuple[str | None, list[str]]:
    """The first bucket of the regime's classification whose test holds, and notes on unknowns."""
    notes: list[str] = []
    for bucket in regime.classification:
        verdict = holds(bucket.when, f, buyer="", eccn=None)
        if verdict.holds is True:
            return bucket.eccn, notes
        if verdict.holds is None:
            missing = ", ".join(dict.fromkeys(verdict.unknown))
            notes.append(f"could be {bucket.eccn} under {regime.id}: {missing} unknown")
    return None, notes


def _in_scope(b: Buyers, regime: Regime, country: str) -> bool:
    """Whether a country is among a control's buyer countries (named or by group, minus
    exceptions; no names at all means every country)."""
    everyone = not b.countries and not b.groups
    named = country in b.countries or any(country in regime.members(g) for g in b.groups)
    excluded = country in b.except_countries or any(
        country in regime.members(g) for g in b.except_groups
    )
    return (everyone or named) and not excluded


Reach = Literal["location", "headquarters"]


def reaches(control: Control, regime: Regime, buyer: Buyer) -> Reach | None:
    """How a control reaches the buyer: through the delivery country, through the headquarters
    (controls written with `headquarters: true`, for a buyer headquartered elsewhere), or not."""
    b = control.buyers
    if b is None or _in_scope(b, regime, buyer.country):
        return "location"
    if b.headquarters and buyer.abroad and _in_scope(b, regime, buyer.headquarters):
        return "headquarters"
    return None


def _cite(control: Control) -> str:
    return "; ".join(s.title + (f" <{s.url}>" if s.url else "") for s in control.sources)


@dataclass
class _Walk:
    """State while walking the controls of the selected regimes."""

    status: Status = "no_licence"
    review_policy: ReviewPolicy | None = None
    fees: Fees = field(default_factory=Fees)
    caps: tuple[Cap, ...] = ()
    rule: str | None = None
    decided: bool = False
    subject: bool = True
    reasons: list[str] = field(default_factory=list)
    buyer_rules: list[BuyerRule] = field(default_factory=list)


def _origin_excuses(control: Control, regime: Regime, part: Part, country: str) -> str | None:
    """Why an export control does not reach this purchase at all, or None if it does."""
    origin = control.origin if control.origin is not None else regime.origin
    if country == regime.jurisdiction:
        return f"buyer in {country}: a purchase at home is not an export under {regime.id}"
    if part.designed_in == country:
        return (
            f"{part.id} is designed in {country} and bought at home: not an export, "
            f"no {regime.jurisdiction} licence applies"
        )
    if origin is not None and part.designed_in not in origin:
        return (
            f"{part.id} is not of {'/'.join(origin)} origin (designed in "
            f"{part.designed_in}): not subject to {regime.id} licensing "
            f"(foreign-direct-product reach not modelled)"
        )
    return None


def _apply(control: Control, walk: _Walk, via: str) -> None:
    """Record the effect of one matching control (`via`: how it reaches the buyer, for the
    reason text)."""
    match control.kind:
        case "export_licence":
            if walk.decided:
                return
            walk.decided = True
            assert control.status is not None
            walk.status, walk.review_policy = control.status, control.review_policy
            walk.fees = Fees(control.revenue_share_fraction, control.duty_fraction)
            walk.caps, walk.rule = control.caps, control.rule_id
            policy = f" ({control.review_policy})" if control.review_policy else ""
            walk.reasons.append(
                f"{control.rule_id}: {control.title} -> {control.status}{policy}{via}"
            )
        case "note":
            walk.reasons.append(f"{control.rule_id}: {control.title}{via}")
        case _:
            walk.buyer_rules.append(
                BuyerRule(
                    control.rule_id,
                    control.kind,
                    control.title,
                    control.allowed,
                    control.state_funded_site,
                    control.power_subsidy_fraction,
                    control.regions,
                    _cite(control),
                )
            )
            walk.reasons.append(f"{control.rule_id}: {control.title}{via}")


def _deferred(control: Control, date: dt.date | None, enforce: bool) -> bool:
    """Written but not yet binding: compliance is due only from a later date."""
    due = control.compliance_from
    return enforce and due is not None and date is not None and date < due


def _walk_regime(
    regime: Regime,
    f: PartFigures,
    buyer: Buyer,
    eccn: str | None,
    walk: _Walk,
    *,
    date: dt.date | None,
    enforce_compliance_dates: bool,
) -> None:
    part = f.part
    excused_once = False
    for control in regime.controls:
        reach = reaches(control, regime, buyer)
        if reach is None:
            continue
        if control.kind == "export_licence":
            excuse = _origin_excuses(control, regime, part, buyer.country)
            if excuse is not None:
                if not excused_once and not walk.decided:
                    walk.reasons.append(excuse)
                    walk.subject = False
                excused_once = True
                continue
        verdict = holds(control.part, f, buyer=buyer.country, eccn=eccn)
        if verdict.holds is None:
            missing = ", ".join(dict.fromkeys(verdict.unknown))
            walk.reasons.append(f"{control.rule_id} may apply: {missing} unknown")
            continue
        if not verdict.holds:
            continue
        if _deferred(control, date, enforce_compliance_dates):
            walk.reasons.append(
                f"{control.rule_id}: {control.title} - written but compliance not required "
                f"before {control.compliance_from}"
            )
            continue
        via = "" if reach == "location" else f" (buyer headquartered in {buyer.headquarters})"
        _apply(control, walk, via)


def _classify_eccn(
    chosen: Sequence[Regime], f: PartFigures, walk: _Walk
) -> tuple[str | None, str | None]:
    """The ECCN bucket under the first regime that classifies (the exporter's), and its id."""
    for r in chosen:
        if r.classification:
            eccn, notes = classify_eccn(r, f)
            walk.reasons.extend(notes)
            walk.reasons.append(f"{r.id}: {f.part.id} is {eccn or 'outside 3A090'}")
            return eccn, r.id
    return None, None


def _need_date_or_regime(date: dt.date | None, regime: str | None) -> None:
    if date is None and regime is None:
        raise InputError.one(
            "arguments",
            "date",
            "neither a date nor a regime was given.",
            "give a date (YYYY-MM-DD) or fix a regime such as us-2023-10.",
        )


def classify(
    part: Part,
    buyer: str | Buyer,
    date: dt.date | None,
    *,
    library: RegimeLibrary,
    regime: str | None = None,
) -> Classification:
    """Classify a part for a buyer (a country code, or a Buyer with its headquarters) on a date,
    or under one fixed regime for a what-if.

    With `regime`, that snapshot stands for its jurisdiction and its compliance dates are
    ignored (the rules as written, fully in force); other jurisdictions follow `date`.
    """
    who = as_buyer(buyer)
    _need_date_or_regime(date, regime)
    f = PartFigures.of(part)
    # The regime that classifies (the exporter's) is walked first, buyer-side regimes after.
    chosen = sorted(library.select(date, regime), key=lambda r: not r.classification)
    walk = _Walk()
    eccn, eccn_regime = _classify_eccn(chosen, f, walk)
    if not chosen:
        walk.reasons.append(f"no export regime in force on {date}")
    for r in chosen:
        own_eccn = eccn if r.id == eccn_regime else classify_eccn(r, f)[0]
        enforce = r.id != regime
        _walk_regime(r, f, who, own_eccn, walk, date=date, enforce_compliance_dates=enforce)
    if not walk.decided and walk.subject and chosen:
        walk.reasons.append(
            f"no licence control of {', '.join(r.id for r in chosen)} "
            f"reaches {part.id} for a buyer in {who.label()}"
        )
    return Classification(
        part=part.id,
        buyer=who.country,
        headquarters=who.headquarters,
        date=date,
        regimes=tuple(r.id for r in chosen),
        tpp=f.tpp.tpp,
        tpp_precision=f.tpp.precision,
        performance_density=f.tpp.performance_density,
        aggregate_io_bytes_per_s=f.io.io_bytes_per_s,
        arithmetic=f.arithmetic,
        eccn=eccn,
        eccn_regime=eccn_regime,
        subject=walk.subject or walk.decided,
        status=walk.status,
        review_policy=walk.review_policy,
        fees=walk.fees,
        caps=walk.caps,
        rule=walk.rule,
        reasons=tuple(walk.reasons),
        buyer_rules=tuple(walk.buyer_rules),
    )
