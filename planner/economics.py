"""Turning capital into an annual cost: the capital recovery factor.

An asset bought for `capex` and kept `lifetime_years` at a discount rate `r` costs, in equal annual
payments, `capex x CRF(r, n)` with CRF(r, n) = r (1 + r)^n / ((1 + r)^n - 1); at r = 0 the
factor is 1 / n. Money is in the site's currency; the rate is real (net of inflation) when the
prices are real.
"""

from __future__ import annotations


def capital_recovery_factor(discount_rate_fraction: float, lifetime_years: float) -> float:
    """Annual payment per unit of capital repaid over `lifetime_years` at the discount rate."""
    if lifetime_years <= 0:
        raise ValueError("lifetime_years must be > 0")
    if discount_rate_fraction < 0:
        raise ValueError("discount_rate_fraction must be >= 0")
    if discount_rate_fraction == 0:
        return 1.0 / lifetime_years
    growth = (1.0 + discount_rate_fraction) ** lifetime_years
    return discount_rate_fraction * growth / (growth - 1.0)


def annualised_cost(
    capex: float, fixed_om_per_year: float, discount_rate_fraction: float, lifetime_years: float
) -> float:
    """Annual cost of one unit of an asset: capex x CRF + fixed O&M per year (site currency)."""
    return capex * capital_recovery_factor(discount_rate_fraction, lifetime_years) + (
        fixed_om_per_year
    )
