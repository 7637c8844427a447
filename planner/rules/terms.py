"""Purchase terms for the capacity plan: may this buyer put this part in this site on this date,
and at what price uplift (duties, revenue shares) and power subsidy?"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from planner.catalogue.parts import Part
from planner.rules.buyer import Buyer, as_buyer
from planner.rules.classification import BuyerRule, Classification
from planner.rules.engine import classify
from planner.rules.regimes import Cap, RegimeLibrary
from planner.rules.schema import ReviewPolicy, Status

# Review policies under which a licence counts as obtainable (the purchase can go ahead).
BUYABLE_POLICIES: frozenset[ReviewPolicy] = frozenset({"case_by_case", "approval"})


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
    headquarters: str | None = None


def _export_allows(c: Classification, buyable: Collection[ReviewPolicy]) -> tuple[bool, str]:
    if c.status in ("no_licence", "notification"):
        return True, f"export: {c.status}"
    if c.review_policy in buyable:
        return True, f"export: licence obtainable ({c.review_policy})"
    return False, f"export: licence required under {c.review_policy or 'an unknown policy'}"


def _in_region(b: BuyerRule, site_region: str | None) -> bool:
    """A subsidy without regions applies anywhere; with regions, where the site's is one."""
    if not b.regions or site_region is None:
        return True
    return any(site_region.lower() == r.lower() for r in b.regions)


def _sold_to(part: Part, who: Buyer) -> str | None:
    """Why this buyer cannot buy the part at all (sold only within a corporate group), or None."""
    if part.sold_to(who.group):
        return None
    groups = "/".join(part.sold_to_groups or ())
    mine = f"the {who.group} group" if who.group else "no group named"
    return f"availability: {part.id} is sold only within the {groups} group ({mine} for the buyer)"


def purchase_terms(
    part: Part,
    buyer: str | Buyer,
    date: dt.date | None,
    *,
    state_funded_site: bool,
    library: RegimeLibrary,
    regime: str | None = None,
    site_region: str | None = None,
    buyable_policies: Collection[ReviewPolicy] = BUYABLE_POLICIES,
    revenue_share_pass_through: float = 1.0,
) -> PurchaseTerms:
    """May this buyer put this part in this site on this date, and at what uplift and subsidy?

    A part sold only within a corporate group (its profile's `sold_to`) is allowed only to a
    buyer of that group, whatever the export rules say.

    A licence under a review policy in `buyable_policies` (default: case_by_case, approval)
    counts as obtainable; presumption of denial does not. Buyer-side bans apply when their
    `state_funded_site` matches; a subsidy listing regions applies when `site_region` is one of
    them (or when `site_region` is None: the caller then reads `power_subsidy_regions`).
    """
    who = as_buyer(buyer)
    c = classify(part, who, date, library=library, regime=regime)
    allowed, why = _export_allows(c, buyable_policies)
    reasons, rules = [why, *c.reasons], [c.rule] if c.rule else []
    unavailable = _sold_to(part, who)
    if unavailable is not None:
        allowed = False
        reasons.insert(0, unavailable)
    subsidy, regions = 0.0, tuple[str, ...]()
    for b in c.buyer_rules:
        if b.state_funded_site is not None and b.state_funded_site != state_funded_site:
            continue
        if b.kind == "buyer_restriction" and b.allowed is False:
            allowed = False
            rules.append(b.rule)
            reasons.append(f"buyer side: {b.title} ({b.rule})")
        fraction = b.power_subsidy_fraction or 0.0
        if b.kind == "power_subsidy" and fraction > subsidy and _in_region(b, site_region):
            subsidy, regions = fraction, b.regions
            rules.append(b.rule)
    uplift = c.fees.duty_fraction + c.fees.revenue_share_fraction * revenue_share_pass_through
    return PurchaseTerms(
        part=part.id,
        buyer=c.buyer,
        headquarters=who.headquarters,
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
