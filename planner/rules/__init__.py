"""Export-control rules engine: regimes are data (`export_regimes/*.yaml`), this package reads them.

Use `RegimeLibrary.load()` once, then `classify(part, buyer, date, library=...)` for the ECCN
bucket, licence status, review policy, fees and the deciding rule, or
`purchase_terms(part, buyer, date, state_funded_site=..., library=...)` for the capacity plan.
"""

from planner.rules.engine import (
    BUYABLE_POLICIES,
    BuyerRule,
    Classification,
    Fees,
    PartFigures,
    PurchaseTerms,
    check_buyer,
    classify,
    classify_eccn,
    parse_date,
    purchase_terms,
)
from planner.rules.regimes import Cap, Control, Regime, RegimeLibrary
from planner.rules.schema import ReviewPolicy, Status

__all__ = [
    "BUYABLE_POLICIES",
    "BuyerRule",
    "Cap",
    "Classification",
    "Control",
    "Fees",
    "PartFigures",
    "PurchaseTerms",
    "Regime",
    "RegimeLibrary",
    "ReviewPolicy",
    "Status",
    "check_buyer",
    "classify",
    "classify_eccn",
    "parse_date",
    "purchase_terms",
]
