"""What the rules engine returns for one part, one buyer and one date: the ECCN bucket, the
licence status and review policy, the fees and caps, the deciding rule, and every reason."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from planner.rules.regimes import Cap
from planner.rules.schema import ReviewPolicy, Status

_GB = 1e9


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
    """Where one part stands for one buyer on one date, and which rule decided each item.

    `buyer` is the delivery country, `headquarters` the buyer's (or its ultimate parent's)."""

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
    headquarters: str | None = None

    def row(self) -> dict[str, Any]:
        """The stable JSON shape of `planner export classify` (docs/cli.md)."""
        io = self.aggregate_io_bytes_per_s
        return {
            "part": self.part,
            "buyer": self.buyer,
            "headquarters": self.headquarters or self.buyer,
            "date": self.date,
            "regimes": list(self.regimes),
            "tpp": self.tpp,
            "tpp_precision": self.tpp_precision,
            "performance_density": self.performance_density,
            "aggregate_io_gb_per_s": None if io is None else io / _GB,
            "eccn": self.eccn,
            "subject": self.subject,
            "status": self.status,
            "review_policy": self.review_policy,
            "fees": {
                "revenue_share_fraction": self.fees.revenue_share_fraction,
                "duty_fraction": self.fees.duty_fraction,
            },
            "caps": [cap_row(c) for c in self.caps],
            "rule": self.rule,
            "arithmetic": self.arithmetic,
            "reasons": list(self.reasons),
            "buyer_rules": [buyer_rule_row(b) for b in self.buyer_rules],
        }


def buyer_rule_row(b: BuyerRule) -> dict[str, Any]:
    """One buyer-side rule that applies, as a table row."""
    return {
        "rule": b.rule,
        "kind": b.kind,
        "title": b.title,
        "allowed": b.allowed,
        "state_funded_site": b.state_funded_site,
        "power_subsidy_fraction": b.power_subsidy_fraction,
        "regions": list(b.regions),
    }


def cap_row(c: Cap) -> dict[str, Any]:
    """A cap as JSON: kind, value, period text, and the years it covers (cumulative or not)."""
    return {
        "kind": c.kind,
        "value": c.value,
        "period": c.period,
        "first_year": c.first_year,
        "last_year": c.last_year,
        "cumulative": c.cumulative,
        "note": c.note,
    }
