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
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from planner.catalogue.parts import Part
from planner.catalogue.tpp import (
    IoResult,
    TppResult,
    aggregate_io_bandwidth,
    assessed_processing_performance,
)
from planner.errors import InputError
from planner.rules.regimes import Cap, Condition, Control, Regime, RegimeLibrary
from planner.rules.schema import ReviewPolicy, Status

_REL = 1e-9
# Review policies under which a licence counts as obtainable (the purchase can go ahead).
BUYABLE_POLICIES: frozenset[ReviewPolicy] = frozenset({"case_by_case", "approval"})


def parse_date(text: str | dt.date, *, field: str = "--date") -> dt.date:
    """A date written YYYY-MM-DD; anything else is an InputError naming the option."""
    if isinstance(text, dt.date):
        return text
    try:
        return dt.date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise InputError.one(
            "command line", field, f"'{text}' is not a date.", "write YYYY-MM-DD, e.g. 2025-06-01."
        ) from None


def _country_codes() -> frozenset[str] | None:
    try:
        import pytz
    except ImportError:  # pragma: no cover - pytz comes with pvlib; without it, shape only
        return None
    return frozenset(pytz.country_names)


def check_buyer(code: str, *, field: str = "--buyer") -> str:
    """A buyer is an ISO 3166 alpha-2 country code ('CN', 'US'); case is forgiven."""
    upper = code.strip().upper()
    known = _country_codes()
    if not re.fullmatch(r"[A-Z]{2}", upper) or (known is not None and upper not in known):
        raise InputError.one(
            "command line",
            field,
            f"'{code}' is not an ISO 3166 two-letter country code.",
            "write e.g. CN, US, AE or MY.",
        )
    return upper


@dataclass(frozen=True)
class PartFigures:
    """What the rules test, computed once per part."""

    part: Part
    tpp: TppResult
    io: IoResult

    @classmethod
    def of(cls, part: Part) -> PartFigures:
        return cls(part, assessed_processing_performance(part), aggregate_io_bandwidth(part))

    @property
    def arithmetic(self) -> str:
        return f"TPP = {self.tpp.arithmetic}; {self.io.arithmetic}"


def _at_least(value: float, threshold: float) -> bool:
    return value >= threshold * (1 - _REL)


_GB = 1e9


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


def reaches(control: Control, regime: Regime, buyer: str, headquarters: str | None = None) -> bool:
    """Whether a control's buyer scope includes this buyer: by the country it is in, or, for a
    control that reaches headquarters, by the country of its headquarters (or ultimate parent)
    wherever it is. Exceptions are by location."""
    b = control.buyers
    if b is None:
        return True

    def named(country: str) -> bool:
        return country in b.countries or any(country in regime.members(g) for g in b.groups)

    everyone = not b.countries and not b.groups
    by_home = b.headquarters and headquarters is not None and named(headquarters)
    excluded = buyer in b.except_countries or any(
        buyer in regime.members(g) for g in b.except_groups
    )
    return (everyone or named(buyer) or by_home) and not excluded


@dataclass(frozen=True)
class Fees:
    """Fees on a permitted sale: a revenue share paid by the vendor and an import/transit duty."""

    revenue_share_fraction: float = 0.0
    duty_fraction: float = 0.0


@dataclass(frozen=True)
class BuyerRule:
    """A non-licence control that matched: a ban, a subsidy or a note."""

    rule: str
    kind: str
    title: str
    allowed: bool | None
    state_funded_site: bool | None
    power_subsidy_fraction: float | None
    regions: tuple[str, ...]
    citation: str


@dataclass(frozen=True)
class Classification:
    """Where one part stands for one buyer on one date, and which rule decided each item."""

    part: str
    buyer: str
    date: dt.date | None
    regimes: tuple[str, ...]
    tpp: float | None
    tpp_precision: str | None
    performance_density: float | None
    aggregate_io_bytes_per_s: float | None
    arithmetic: str
    eccn: str | None
    eccn_regime: str | None
    subject: bool
    status: Status
    review_policy: ReviewPolicy | None
    fees: Fees
    caps: tuple[Cap, ...]
    rule: str | None
    reasons: tuple[str, ...]
    buyer_rules: tuple[BuyerRule, ...]

    def row(self) -> dict[str, Any]:
        """The stable JSON shape of `planner export classify` (docs/cli.md)."""
        return {
            "part": self.part,
            "buyer": self.buyer,
            "date": self.date,
            "regimes": list(self.regimes),
            "tpp": self.tpp,
            "tpp_precision": self.tpp_precision,
            "performance_density": self.performance_density,
            "aggregate_io_gb_per_s": None
            if self.aggregate_io_bytes_per_s is None
            else self.aggregate_io_bytes_per_s / _GB,
            "eccn": self.eccn,
            "subject": self.subject,
            "status": self.status,
            "review_policy": self.review_policy,
            "fees": {
                "revenue_share_fraction": self.fees.revenue_share_fraction,
                "duty_fraction": self.fees.duty_fraction,
            },
            "caps": [_cap_row(c) for c in self.caps],
            "rule": self.rule,
            "arithmetic": self.arithmetic,
            "reasons": list(self.reasons),
            "buyer_rules": [
                {
                    "rule": b.rule,
                    "kind": b.kind,
                    "title": b.title,
                    "allowed": b.allowed,
                    "state_funded_site": b.state_funded_site,
                    "power_subsidy_fraction": b.power_subsidy_fraction,
                    "regions": list(b.regions),
                }
                for b in self.buyer_rules
            ],
        }


def _cap_row(c: Cap) -> dict[str, Any]:
    return {"kind": c.kind, "value": c.value, "period": c.period, "note": c.note}


def _cite(control: Control) -> str:
    return "; ".join(s.title + (f" <{s.url}>" if s.url else "") for s in control.sources)


@dataclass
class _Walk:
    """State while walking the controls of the selected regimes."""

    status: Status = "no_licence"
    review_policy: ReviewPolicy | None = None
    fees: Fees = Fees()
    caps: tuple[Cap, ...] = ()
    rule: str | None = None
    decided: bool = False
    subject: bool = True
    reasons: list[str] = field(default_factory=list)
    buyer_rules: list[BuyerRule] = field(default_factory=list)


def _origin_excuses(control: Control, regime: Regime, part: Part, buyer: str) -> str | None:
    """Why an export control does not reach this purchase at all, or None if it does."""
    origin = control.origin if control.origin is not None else regime.origin
    if buyer == regime.jurisdiction:
        return f"buyer in {buyer}: a purchase at home is not an export under {regime.id}"
    if part.designed_in == buyer:
        return (
            f"{part.id} is designed in {buyer} and bought at home: not an export, "
            f"no {regime.jurisdiction} licence applies"
        )
    if origin is not None and part.designed_in not in origin:
        return (
            f"{part.id} is not of {'/'.join(origin)} origin (designed in "
            f"{part.designed_in}): not subject to {regime.id} licensing "
            f"(foreign-direct-product reach not modelled)"
        )
    return None


def _apply(control: Control, regime: Regime, walk: _Walk, part: Part, buyer: str) -> None:
    """Record the effect of one matching control."""
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
            walk.reasons.append(f"{control.rule_id}: {control.title} -> {control.status}{policy}")
        case "note":
            walk.reasons.append(f"{control.rule_id}: {control.title}")
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
            walk.reasons.append(f"{control.rule_id}: {control.title}")


def _walk_regime(
    regime: Regime,
    f: PartFigures,
    buyer: str,
    eccn: str | None,
    walk: _Walk,
    *,
    date: dt.date | None,
    enforce_compliance_dates: bool,
    headquarters: str | None = None,
) -> None:
    part = f.part
    excused_once = False
    for control in regime.controls:
        if not reaches(control, regime, buyer, headquarters):
            continue
        if control.kind == "export_licence":
            excuse = _origin_excuses(control, regime, part, buyer)
            if excuse is not None:
                if not excused_once and not walk.decided:
                    walk.reasons.append(excuse)
                    walk.subject = False
                excused_once = True
                continue
        verdict = holds(control.part, f, buyer=buyer, eccn=eccn)
        if verdict.holds is None:
            missing = ", ".join(dict.fromkeys(verdict.unknown))
            walk.reasons.append(f"{control.rule_id} may apply: {missing} unknown")
            continue
        if not verdict.holds:
            continue
        if (
            enforce_compliance_dates
            and control.compliance_from is not None
            and date is not None
            and date < control.compliance_from
        ):
            walk.reasons.append(
                f"{control.rule_id}: {control.title} - written but compliance not required "
                f"before {control.compliance_from}"
            )
            continue
        _apply(control, regime, walk, part, buyer)


def _eccn_bucket(
    chosen: Sequence[Regime], f: PartFigures, walk: _Walk
) -> tuple[str | None, str | None]:
    """The ECCN bucket under the first classifying regime, and that regime's id."""
    for r in chosen:
        if r.classification:
            eccn, notes = classify_eccn(r, f)
            walk.reasons.extend(notes)
            walk.reasons.append(f"{r.id}: {f.part.id} is {eccn or 'outside 3A090'}")
            return eccn, r.id
    return None, None


def classify(
    part: Part,
    buyer: str,
    date: dt.date | None,
    *,
    library: RegimeLibrary,
    regime: str | None = None,
    headquarters: str | None = None,
) -> Classification:
    """Classify a part for a buyer country on a date (or under one fixed regime, for a what-if).

    With `regime`, that snapshot stands for its jurisdiction and its compliance dates are
    ignored (the rules as written, fully in force); other jurisdictions follow `date`.
    `headquarters` is the country of the buyer's headquarters or ultimate parent when it differs
    from where it buys (a Chinese provider buying in Malaysia: buyer MY, headquarters CN).
    """
    buyer = check_buyer(buyer)
    if headquarters is not None:
        headquarters = check_buyer(headquarters, field="--headquarters")
    if date is None and regime is None:
        raise InputError.one(
            "arguments",
            "date",
            "neither a date nor a regime was given.",
            "give a date (YYYY-MM-DD) or fix a regime such as us-2023-10.",
        )
    f = PartFigures.of(part)
    # The regime that classifies (the exporter's) is walked first, buyer-side regimes after.
    chosen = sorted(library.select(date, regime), key=lambda r: not r.classification)
    walk = _Walk()
    eccn, eccn_regime = _eccn_bucket(chosen, f, walk)
    if not chosen:
        walk.reasons.append(f"no export regime in force on {date}")
    for r in chosen:
        own_eccn = eccn if r.id == eccn_regime else classify_eccn(r, f)[0]
        _walk_regime(
            r, f, buyer, own_eccn, walk, date=date, enforce_compliance_dates=r.id != regime,
            headquarters=headquarters,
        )  # fmt: skip
    if not walk.decided and walk.subject and chosen:
        walk.reasons.append(
            f"no licence control of {', '.join(r.id for r in chosen)} "
            f"reaches {part.id} for a buyer in {buyer}"
        )
    return Classification(
        part=part.id,
        buyer=buyer,
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


@dataclass(frozen=True)
class PurchaseTerms:
    """What the capacity plan needs to know about buying a part for a site.

    `price_uplift_fraction` multiplies the unit price: (1 + uplift) x price. It is the duty plus
    the vendor's revenue share times `revenue_share_pass_through` (how much of it reaches the
    buyer's price; 1.0 by default, an assumption). `power_subsidy_fraction` cuts the site's
    power price: (1 - subsidy) x price, where `power_subsidy_regions` (if any) hold.
    """

    part: str
    buyer: str
    allowed: bool
    status: Status
    review_policy: ReviewPolicy | None
    price_uplift_fraction: float
    power_subsidy_fraction: float
    power_subsidy_regions: tuple[str, ...]
    caps: tuple[Cap, ...]
    rules: tuple[str, ...]
    reasons: tuple[str, ...]


def _export_allows(c: Classification, buyable: Collection[ReviewPolicy]) -> tuple[bool, str]:
    if c.status in ("no_licence", "notification"):
        return True, f"export: {c.status}"
    if c.review_policy in buyable:
        return True, f"export: licence obtainable ({c.review_policy})"
    return False, f"export: licence required under {c.review_policy or 'an unknown policy'}"


def purchase_terms(
    part: Part,
    buyer: str,
    date: dt.date | None,
    *,
    state_funded_site: bool,
    library: RegimeLibrary,
    regime: str | None = None,
    site_region: str | None = None,
    buyable_policies: Collection[ReviewPolicy] = BUYABLE_POLICIES,
    revenue_share_pass_through: float = 1.0,
    headquarters: str | None = None,
) -> PurchaseTerms:
    """May this buyer put this part in this site on this date, and at what uplift and subsidy?

    A licence under a review policy in `buyable_policies` (default: case_by_case, approval)
    counts as obtainable; presumption of denial does not. Buyer-side bans apply when their
    `state_funded_site` matches; a subsidy listing regions applies when `site_region` is one of
    them (or when `site_region` is None: the caller then reads `power_subsidy_regions`).
    """
    c = classify(part, buyer, date, library=library, regime=regime, headquarters=headquarters)
    allowed, why = _export_allows(c, buyable_policies)
    reasons, rules = [why, *c.reasons], [c.rule] if c.rule else []
    subsidy, regions = 0.0, tuple[str, ...]()
    for b in c.buyer_rules:
        if b.state_funded_site is not None and b.state_funded_site != state_funded_site:
            continue
        if b.kind == "buyer_restriction" and b.allowed is False:
            allowed = False
            rules.append(b.rule)
            reasons.append(f"buyer side: {b.title} ({b.rule})")
        if b.kind == "power_subsidy" and b.power_subsidy_fraction is not None:
            in_region = (
                not b.regions
                or site_region is None
                or any(site_region.lower() == r.lower() for r in b.regions)
            )
            if in_region and b.power_subsidy_fraction > subsidy:
                subsidy, regions = b.power_subsidy_fraction, b.regions
                rules.append(b.rule)
    uplift = c.fees.duty_fraction + c.fees.revenue_share_fraction * revenue_share_pass_through
    return PurchaseTerms(
        part=part.id,
        buyer=c.buyer,
        allowed=allowed,
        status=c.status,
        review_policy=c.review_policy,
        price_uplift_fraction=uplift,
        power_subsidy_fraction=subsidy,
        power_subsidy_regions=regions,
        caps=c.caps,
        rules=tuple(rules),
        reasons=tuple(reasons),
    )
