"""Export-control rules engine: regimes are data (`export_regimes/*.yaml`), this package reads them.

Use `RegimeLibrary.load()` once, then `classify(part, buyer, date, library=...)` for the ECCN
bucket, licence status, review policy, fees and the deciding rule, or
`purchase_terms(part, buyer, date, state_funded_site=..., library=...)` for the capacity plan.
A buyer is a country code or a `Buyer` (delivery country, headquarters, corporate group).
"""

from planner.rules.buyer import Buyer, as_buyer, check_buyer, check_group
from planner.rules.classification import BuyerRule, Classification, Fees
from planner.rules.engine import (
    PartFigures,
    classify,
    classify_eccn,
    parse_date,
)
from planner.rules.regimes import Cap, Control, Regime, RegimeLibrary
from planner.rules.schema import ReviewPolicy, Status
from planner.rules.terms import BUYABLE_POLICIES, PurchaseTerms, purchase_terms

__all__ = [
    "BUYABLE_POLICIES",
    "Buyer",
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
    "as_buyer",
    "check_buyer",
    "check_group",
    "classify",
    "classify_eccn",
    "parse_date",
    "purchase_terms",
]
